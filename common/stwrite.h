/*
 * stwrite.h -- write a model directory in the Hugging Face layout that
 * model_load() and HF's ...ForSequenceClassification.from_pretrained() of
 * the model's family (model.h) read:
 * config.json, model.safetensors (F32, by tfile_write), vocab.txt.
 */
#ifndef STWRITE_H
#define STWRITE_H

#include <stddef.h>

#include "model.h"

/*
 * Check, before the work that makes a model, that stw_write() can put one
 * at dir: dir's parent is a directory where this process can make entries;
 * dir is missing, an empty directory, or a model directory (config.json and
 * nothing but regular files) that it may replace; a symbolic link counts
 * as the directory it names.  Returns 0; -1 with a message naming the
 * directory in err; -2 when dir is srcdir (the same directory by any name)
 * and force is 0, which a caller takes for a usage error.
 */
int	stw_check(const char *dir, const char *srcdir, int force, char *err,
	    size_t errlen);

/*
 * Write m as the model directory dir: model.safetensors with the names of
 * its family's table in HF's ...ForSequenceClassification
 * ("bert.embeddings...", "bert.encoder.layer.0.attention.self.query.weight",
 * ..., "bert.pooler...", "classifier.weight"); config.json, that of srcdir
 * when it has one, with the family's architecture and model_type, m's
 * sizes under the family's keys (DistilBERT's dim, n_layers, n_heads,
 * hidden_dim, activation; ELECTRA's and ALBERT's embedding_size,
 * ALBERT's num_hidden_groups), its activation, num_labels, id2label and
 * label2id (kept from srcdir when it has as many labels), problem_type
 * "regression" for one label; vocab.txt, the tokenizer files and a
 * trainer's state (trainer_state.json, optimizer.safetensors) of srcdir
 * copied when present.  A model with the masked-LM head and no classifier
 * is a BertForPreTraining.  srcdir may be
 * NULL, and may be dir.
 *
 * The directory is written whole under a new unique name beside dir
 * (.NAME.new-XXXXXX, every file flushed to the disk) and then takes dir's
 * place: renamed to dir when there is none, else swapped with it in one
 * step (renameat2 RENAME_EXCHANGE) or, where the file system cannot, in
 * two (the old one renamed to .NAME.old-XXXXXX, the new one to dir); the
 * old one is then removed.  A reader of dir sees the old model or the new
 * one, whole; of several writers at once the last wins.  SIGHUP, SIGINT,
 * SIGQUIT and SIGTERM wait (blocked) until this returns.  An existing dir
 * that is not replaceable (see stw_check) is not touched.  Returns 0, or
 * -1 with a message naming the file in err; when the new model is whole
 * but could not take dir's place, err says where it is.
 */
int	stw_write(const struct bert *m, const char *srcdir, const char *dir,
	    char *err, size_t errlen);

/*
 * Copy config.json, vocab.txt and the tokenizer files that srcdir has into
 * dir (made when missing).  Returns 0, or -1 with a message in err.
 */
int	stw_copymeta(const char *srcdir, const char *dir, char *err,
	    size_t errlen);

#endif
