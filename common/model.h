/*
 * model.h -- BERT checkpoints in the Hugging Face layout (DESIGN.md section
 * 3): a directory with config.json, model.safetensors (or pytorch_model.bin)
 * and vocab.txt.
 *
 * Two layers: a tensor file (struct tfile, tensorfile.h), the named tensors
 * of one safetensors or pytorch_model.bin file as they are on disk; and a
 * model (struct bert), the weights of a BERT encoder converted to float32
 * in one block, with pointers into it by role.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "tensorfile.h"
#include "wordpiece.h"

/*
 * The tensor of a role, named as Hugging Face names it now without the
 * "bert." prefix ("encoder.layer.0.attention.output.LayerNorm.weight"),
 * under every name a checkpoint may give it: with or without "bert.", and
 * LayerNorm's weight and bias also as gamma and beta.  Returns 1 with *e
 * set, 0 when the file has none, or -1 when it has the role twice (two of
 * those names, or one name twice), with err naming both tensors: which
 * of them is the weight is not ours to guess.  model_load and hcmodel
 * check both look tensors up here, so that they check what is loaded.
 */
int	model_find(const struct tfile *tf, const char *role,
	    const struct tfentry **e, char *err, size_t errlen);

/* ---- the model ---- */

struct bert_config {
	int	L;		/* num_hidden_layers */
	int	H;		/* num_attention_heads */
	int	C;		/* hidden_size */
	int	F;		/* intermediate_size */
	int	V;		/* vocab_size */
	int	P;		/* max_position_embeddings */
	int	S;		/* type_vocab_size */
	int	nlabels;	/* classifier rows; 0 without a classifier */
	float	eps;		/* layer_norm_eps */
	int	lower;		/* do_lower_case, when the directory says */
};

/* Per layer, as in HF: y = x W^T + b, W (out, in). */
struct bert_layer {
	float	*qkvw;		/* (3C, C): query, key, value rows stacked */
	float	*qkvb;		/* (3C) */
	float	*aow, *aob;	/* attention.output.dense (C, C), (C) */
	float	*ln1g, *ln1b;	/* attention.output.LayerNorm (C), (C) */
	float	*iw, *ib;	/* intermediate.dense (F, C), (F) */
	float	*ow, *ob;	/* output.dense (C, F), (C) */
	float	*ln2g, *ln2b;	/* output.LayerNorm (C), (C) */
};

struct bert {
	struct bert_config	 cfg;
	char			*dir;
	float			*params;	/* every weight, one block */
	size_t			 nparams;
	float	*wte;		/* word_embeddings (V, C) */
	float	*wpe;		/* position_embeddings (P, C) */
	float	*tte;		/* token_type_embeddings (S, C) */
	float	*elng, *elnb;	/* embeddings.LayerNorm (C), (C) */
	struct bert_layer	*layer;		/* L of them */
	float	*pw, *pb;	/* pooler.dense (C, C), (C); NULL if absent */
	float	*cw, *cb;	/* classifier (nlabels, C), (nlabels); or NULL */
	int	 packed;	/* the layers' dense weights are gemm_pack()ed */
	uint16_t **bfw;		/* (4L) the same in bf16, gemmbf_pack()ed: */
				/* qkv, attention output, FFN in, out; or NULL */
};

/*
 * Load the model in directory dir: config.json, then the weights that
 * tfile_opendir chooses.  Names with or
 * without "bert.", LayerNorm weight/bias or gamma/beta; extra tensors are
 * ignored.  Returns 0, or -1 with a message naming the file and tensor.
 */
int	model_load(struct bert *m, const char *dir, char *err, size_t errlen);
void	model_release(struct bert *m);

/*
 * Read config.json alone.  Like every JSON file of a model (config.json,
 * tokenizer_config.json, the safetensors header), it must be a regular
 * file and hold no key twice: cJSON would take the first, Python the last.
 */
int	model_config(struct bert_config *cfg, const char *path, char *err,
	    size_t errlen);

/*
 * Whether the model in dir lower-cases its text (1, uncased) or not (0),
 * decided for every filter here, with *src set to the file that decided:
 *   1. do_lower_case in tokenizer_config.json, which Hugging Face's
 *      AutoTokenizer builds the tokenizer from;
 *   2. do_lower_case in config.json, where older checkpoints kept it;
 *   3. the vocabulary (v, or dir/vocab.txt when v is NULL): cased when a
 *      token has an ASCII capital (wp_capital), as bert-base-cased's do,
 *      else uncased, BertTokenizer's default (so too without vocab.txt).
 * dir NULL: a bare vocabulary, step 3 alone.  A file that is absent says
 * nothing; one that is there but not a regular file, not JSON, has a key
 * twice or a do_lower_case that is not a boolean is an error: -1 with err
 * set.
 */
int	model_casing(const char *dir, const struct wp_vocab *v,
	    const char **src, char *err, size_t errlen);

/*
 * The model's vocabulary, dir/vocab.txt, to check records' tokens with
 * model_tokens: 1, 0 when the directory has none (v is empty and every
 * check passes), or -1 with err set.
 */
int	model_vocab(struct wp_vocab *v, const char *dir, char *err,
	    size_t errlen);

/*
 * Check that a record's ids (T of them) are its 'tokens' in the model's
 * vocabulary v (from dir): 0 when they agree or either is absent, or -1
 * with err naming the first token that differs, what the vocabulary has
 * at its id, and the fix (tokenize -m dir).  A compare per token.
 */
int	model_tokens(const struct wp_vocab *v, const msgpack_object *rec,
	    const int *ids, size_t T, const char *dir, char *err,
	    size_t errlen);

#endif
