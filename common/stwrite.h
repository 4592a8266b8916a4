/*
 * stwrite.h -- write a model directory in the Hugging Face layout that
 * model_load() and HF BertForSequenceClassification.from_pretrained() read:
 * config.json, model.safetensors (F32), vocab.txt.
 */
#ifndef STWRITE_H
#define STWRITE_H

#include <stddef.h>

#include "model.h"

struct stw_tensor {
	const char	*name;
	const float	*data;
	int		 ndim;
	size_t		 shape[2];
};

/*
 * Write the n tensors as a safetensors file at path, F32, in the order
 * given, through a temporary file renamed into place.  Returns 0, or -1
 * with a message naming the file in err.
 */
int	stw_safetensors(const char *path, const struct stw_tensor *t, size_t n,
	    char *err, size_t errlen);

/*
 * Write m into directory dir (made when missing): model.safetensors with
 * the names of BertForSequenceClassification ("bert.embeddings...",
 * "bert.encoder.layer.0.attention.self.query.weight", ..., "bert.pooler...",
 * "classifier.weight"); config.json, that of srcdir when it has one, with
 * m's sizes, num_labels, id2label and label2id (kept from srcdir when it
 * has as many labels), problem_type "regression" for one label; vocab.txt
 * and the tokenizer files of srcdir copied when present.  srcdir may be
 * NULL.  Returns 0, or -1 with a message naming the file in err.
 */
int	stw_write(const struct bert *m, const char *srcdir, const char *dir,
	    char *err, size_t errlen);

/*
 * Write every float tensor of tf (F32, F16, BF16; others are left out) as
 * a safetensors file at path, in tf's order and names, in dtype (DT_*) or,
 * when dtype is -1, each in its own.  Atomic: a temporary file beside path,
 * flushed to disk, then renamed into place; an existing path is replaced
 * only when force is set, and is never seen half-written.  Returns 0, or -1
 * with a message naming the file in err.
 */
int	stw_tfile(const char *path, const struct tfile *tf, int dtype,
	    int force, char *err, size_t errlen);

/*
 * Copy config.json, vocab.txt and the tokenizer files that srcdir has into
 * dir (made when missing).  Returns 0, or -1 with a message in err.
 */
int	stw_copymeta(const char *srcdir, const char *dir, char *err,
	    size_t errlen);

#endif
