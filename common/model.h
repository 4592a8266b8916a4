/*
 * model.h -- encoder checkpoints in the Hugging Face layout (DESIGN.md
 * section 3): a directory with config.json, model.safetensors (or
 * pytorch_model.bin) and vocab.txt.
 *
 * Three layers: a tensor file (struct tfile, tensorfile.h), the named
 * tensors of one safetensors or pytorch_model.bin file as they are on disk;
 * a family's table (struct model_family), what those names mean; and a
 * model (struct bert), the weights of an encoder converted to float32 in
 * one block, with pointers into it by role.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "tensorfile.h"
#include "wordpiece.h"

/* ---- the model ---- */

struct model_family;

struct bert_config {
	const struct model_family *fam;	/* model_type's; NULL: bert */
	int	L;		/* num_hidden_layers */
	int	H;		/* num_attention_heads */
	int	C;		/* hidden_size */
	int	F;		/* intermediate_size */
	int	V;		/* vocab_size */
	int	P;		/* max_position_embeddings */
	int	S;		/* type_vocab_size */
	int	nlabels;	/* classifier rows, K; 0 without a classifier */
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
	/* BertForPreTraining's heads (MT_MLM, MT_NSP); NULL if absent */
	float	*mtw, *mtb;	/* cls.predictions.transform.dense (C, C), (C) */
	float	*mlng, *mlnb;	/* its LayerNorm (C), (C) */
	float	*mlmb;		/* cls.predictions.bias (V); decoder: wte */
	float	*nspw, *nspb;	/* cls.seq_relationship (2, C), (2) */
	int	 packed;	/* the layers' dense weights are gemm_pack()ed */
	uint16_t **bfw;		/* (4L) the same in bf16, gemmbf_pack()ed: */
				/* qkv, attention output, FFN in, out; or NULL */
};

/* ---- a family's tensors: one table ---- */

/*
 * Every tensor of a family's checkpoints is a row of the family's table,
 * as llm.c keeps one parameter table.  Loading (model_load), the one block
 * the weights live in and its offsets (model_layout), fine-tuning's list of
 * parameters (train.c), the safetensors that stw_write writes and hcmodel
 * check's report are all derived from it: nothing else lists a tensor.
 *
 * name: the tensor as Hugging Face's state dict names it now, without the
 * family's prefix and, in a per-layer row, without the layer's part
 * ("attention.self.query.weight" of
 * "bert.encoder.layer.3.attention.self.query.weight").  alias: an older
 * name of the same tensor (LayerNorm's gamma and beta), or NULL.  A
 * checkpoint may use either, with or without the prefix; stw_write writes
 * name, with the prefix but for MT_HEAD rows, which sit outside the base
 * model in HF's ...ForSequenceClassification.
 *
 * field: where the tensor goes, offsetof(struct bert, wte), or with
 * MT_LAYER offsetof(struct bert_layer, qkvw).  Rows that share a field
 * are its blocks in the order of part, all of one shape: query, key and
 * value are parts 0, 1 and 2 of qkvw.
 *
 * shape: a config letter a dimension (at most two): V vocab_size, P
 * max_position_embeddings, S type_vocab_size, C hidden_size, F
 * intermediate_size, K the classifier's labels (the checkpoint's), 2
 * the two classes of next-sentence prediction.
 *
 * BertForPreTraining's heads are the groups MT_MLM and MT_NSP, outside
 * MT_OPTIONAL so that fine-tuning neither trains nor writes them; the
 * loader reads them when a checkpoint has them and stw_write writes them
 * when the model has them; a checkpoint whose heads are incomplete is
 * read without them.  The masked-LM decoder is tied to the word
 * embeddings and has no row: a checkpoint's cls.predictions.decoder.*
 * copy is ignored.
 *
 * A table lists its rows in the order of HF's state dict: those before
 * the layers, the per-layer ones (repeated for every layer), the rest; an
 * optional group's rows together, its first row deciding whether a
 * checkpoint has the group.
 *
 * The families to come fit as a table each and a prefix: RoBERTa and XLM-R
 * are BERT's rows under "roberta.", with the classification head's dense
 * and out_proj as MT_HEAD rows in pw's and cw's places; DistilBERT has its
 * own names ("transformer.layer.", "attention.q_lin.weight") and no
 * token-type row; ELECTRA adds embeddings_project; ALBERT's shared layer
 * wants one more flag, for per-layer rows stored once, every layer's
 * field pointing at the same tensor.
 */
enum {
	MT_LAYER	= 1 << 0,	/* one a layer, in struct bert_layer */
	MT_DECAY	= 1 << 1,	/* AdamW's weight decay applies */
	MT_GAIN		= 1 << 2,	/* a LayerNorm gain: starts at 1 */
	MT_POOLER	= 1 << 3,	/* optional: the pooler */
	MT_HEAD		= 1 << 4,	/* optional: classifier, no prefix */
	MT_MLM		= 1 << 5,	/* optional: masked-LM head, no prefix */
	MT_NSP		= 1 << 6	/* optional: next-sentence head, same */
};
/* The groups fine-tuning trains; MT_GROUPS: every optional group. */
#define MT_OPTIONAL	(MT_POOLER | MT_HEAD)
#define MT_PRETRAIN	(MT_MLM | MT_NSP)
#define MT_GROUPS	(MT_OPTIONAL | MT_PRETRAIN)

struct model_tensor {
	const char	*name;
	const char	*alias;
	size_t		 field;
	int		 part;
	const char	*shape;
	unsigned	 flags;
};

struct model_family {
	const char	*type;		/* config.json's model_type: "bert" */
	const char	*arch;		/* stw_write's architecture */
	const char	*prefix;	/* the base model's, in arch: "bert." */
	const char	*layer;		/* before a layer's number: */
					/* "encoder.layer." */
	int		 needpool;	/* the classifier reads the pooler */
	const struct model_tensor *t;
	size_t		 nt;
};

/* c's family: c->fam, or BERT's for a configuration made by hand. */
const struct model_family *model_family(const struct bert_config *c);

/*
 * The tensors of a model of configuration c, one at a time in the order of
 * its family's table, the per-layer rows once for each of c->L layers and
 * an optional group's rows only when groups has its flag:
 *
 *	model_it_init(&it, &m->cfg, MT_OPTIONAL);
 *	while (model_it_next(&it))
 *		printf("%s%s\n", model_prefix(&it), it.name);
 */
struct model_it {
	const struct model_family *f;
	const struct bert_config *c;
	unsigned	 groups;
	const struct model_tensor *t;	/* the row */
	int		 layer;		/* its layer, or -1 */
	char		 name[128];	/* its name, without the prefix */
	int		 ndim;
	size_t		 shape[2], n;	/* in c's numbers; n elements */
	size_t		 i, first;	/* the next row, the first layer row */
};

void	model_it_init(struct model_it *it, const struct bert_config *c,
	    unsigned groups);
int	model_it_next(struct model_it *it);

/* The prefix of the tensor's name as stw_write writes it: "bert.", or "". */
const char *model_prefix(const struct model_it *it);

/*
 * Where the tensor is in m (of m->cfg, laid out by model_layout), or NULL
 * when m lacks its field.
 */
float	*model_ptr(const struct bert *m, const struct model_it *it);

/*
 * Lay the tensors of m->cfg, the optional groups in groups among them, out
 * in one block: each field starts on 16 floats, a 64-byte cache line, as
 * the dense kernel (gemm.c) reads the weights a line at a time.  Returns
 * the number of floats the block takes; with base, points m's fields into
 * it (m->layer holds m->cfg.L layers).  m->layer and base may be NULL
 * for the count alone.
 */
size_t	model_layout(struct bert *m, float *base, unsigned groups);

/*
 * The optional groups that m has every tensor of (and a classifier only
 * with m->cfg.nlabels > 0): the groups to write.
 */
unsigned model_groups(const struct bert *m);

/*
 * Look the tensor up in tf under every name a checkpoint may give it:
 * name or alias, with or without the family's prefix.  Returns 1 with *e
 * set, 0 when the file has none, or -1 when it has the tensor twice (two
 * of those names, or one name twice), with err naming both: which of them
 * is the weight is not ours to guess.  model_load and hcmodel check both
 * look tensors up here, so that they check what is loaded.
 */
int	model_find(const struct tfile *tf, const struct model_it *it,
	    const struct tfentry **e, char *err, size_t errlen);

/*
 * The optional groups tf has, each decided by its first row as model_load
 * decides, in *groups; with a classifier, c->nlabels is its number of
 * labels (K), else 0.  Returns 0, or -1 with err set when a row it looks
 * at is in the file twice (model_find): the groups are decided all the
 * same, as if that row were absent.
 */
int	model_filegroups(const struct tfile *tf, struct bert_config *c,
	    unsigned *groups, char *err, size_t errlen);

/* ---- loading ---- */

/*
 * Load the model in directory dir: config.json, then the weights that
 * tfile_opendir chooses, every tensor of the family's table (model_find's
 * names; extra tensors are ignored) checked against the file before the
 * one block is allocated (model_layout).  Returns 0, or -1 with a message
 * naming the file and tensor.
 */
int	model_load(struct bert *m, const char *dir, char *err, size_t errlen);
void	model_release(struct bert *m);

/*
 * Read config.json alone.  Like every JSON file of a model (config.json,
 * tokenizer_config.json, the safetensors header), it must be a regular
 * file and hold no key twice: cJSON would take the first, Python the last.
 * model_type chooses the family (absent: bert); one without a table here,
 * or a position_embedding_type other than "absolute", is an error that
 * names it.
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
