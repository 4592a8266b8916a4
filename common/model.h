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

/*
 * Activations: of the FFN (hidden_act, DistilBERT's activation) and of
 * the head's dense layer (the family's).  0, erf GELU, is BERT's.
 */
enum {
	ACT_GELU,		/* x Phi(x), with erf: "gelu", "gelu_python" */
	ACT_GELU_TANH,		/* the tanh approximation: "gelu_new", */
				/* "gelu_pytorch_tanh", "gelu_fast" */
	ACT_RELU,		/* "relu" */
	ACT_TANH		/* the pooler's */
};

/*
 * A configuration made by hand (the tests') may leave the fields after
 * S zero: BERT's, with E = C.
 */
struct bert_config {
	const struct model_family *fam;	/* model_type's; NULL: bert */
	int	L;		/* num_hidden_layers: layers applied */
	int	H;		/* num_attention_heads */
	int	C;		/* hidden_size */
	int	F;		/* intermediate_size */
	int	V;		/* vocab_size */
	int	P;		/* max_position_embeddings */
	int	S;		/* type_vocab_size; 0: none (DistilBERT) */
	int	nlabels;	/* classifier rows, K; 0 without a classifier */
	float	eps;		/* layer_norm_eps */
	int	lower;		/* do_lower_case, when the directory says */
	int	E;		/* embedding_size (ELECTRA, ALBERT); 0: C */
	int	G;		/* ALBERT's num_hidden_groups: layers stored */
	int	act;		/* the FFN's activation, ACT_* */
	char	actname[24];	/* as config.json names it; "": "gelu" */
	int	pad;		/* pad_token_id */
	int	pos0;		/* the first token's position: RoBERTa's */
				/* and XLM-R's pad + 1, else 0 */
};

/*
 * Per layer, as in HF: y = x W^T + b, W (out, in).  DistilBERT's and
 * ALBERT's have other names (model.c's tables), the same roles.
 */
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
	float	*elng, *elnb;	/* embeddings.LayerNorm (E), (E) */
	float	*epw, *epb;	/* the embeddings' projection to C (ELECTRA, */
				/* ALBERT): (C, E), (C); or NULL */
	struct bert_layer	*layer;		/* L of them; ALBERT's layers */
						/* of a group point alike */
	float	*pw, *pb;	/* pooler.dense (C, C), (C); NULL if absent */
				/* (the head's dense layer in RoBERTa's, */
				/* ELECTRA's, DistilBERT's pre_classifier) */
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
 * intermediate_size, E embedding_size, K the classifier's labels (the
 * checkpoint's), 2 the two classes of next-sentence prediction.
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
 * Every family is such a table and a prefix: RoBERTa and XLM-R are
 * BERT's rows under "roberta.", with the classification head's dense and
 * out_proj as MT_HEAD rows in pw's and cw's places; DistilBERT has its own
 * names ("transformer.layer.", "attention.q_lin.weight") and no
 * token-type row; ELECTRA adds embeddings_project (MT_PROJ: only where
 * embedding_size is not hidden_size); ALBERT maps its embeddings to C
 * always, and its per-layer rows are stored once a group (MF_SHARED):
 * the rows repeat for its G groups, named by the group, and every layer
 * of a group points at the group's tensors.
 */
enum {
	MT_LAYER	= 1 << 0,	/* one a layer, in struct bert_layer */
	MT_DECAY	= 1 << 1,	/* AdamW's weight decay applies */
	MT_GAIN		= 1 << 2,	/* a LayerNorm gain: starts at 1 */
	MT_POOLER	= 1 << 3,	/* optional: the pooler */
	MT_HEAD		= 1 << 4,	/* optional: classifier, no prefix */
	MT_MLM		= 1 << 5,	/* optional: masked-LM head, no prefix */
	MT_NSP		= 1 << 6,	/* optional: next-sentence head, same */
	MT_PROJ		= 1 << 7	/* there when model_proj() says */
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

/*
 * The few lines of forward pass that differ between the families, as
 * flags: MF_PADPOS, positions counted from pad_token_id + 1 over the
 * tokens that are not padding (HF's create_position_ids_from_input_ids);
 * MF_PROJ, the embeddings mapped to C even where E = C; MF_SHARED,
 * ALBERT's groups; MF_CLSDROP, dropout on the first token's vector before
 * the head's dense layer in training (RoBERTa's and ELECTRA's heads);
 * MF_FIXEPS, LayerNorm's eps 1e-12 whatever config.json says.
 */
enum {
	MF_PADPOS	= 1 << 0,
	MF_PROJ		= 1 << 1,
	MF_SHARED	= 1 << 2,
	MF_CLSDROP	= 1 << 3,
	MF_FIXEPS	= 1 << 4
};

struct model_family {
	const char	*type;		/* config.json's model_type: "bert" */
	const char	*name;		/* for people: "BERT" */
	const char	*arch;		/* stw_write's architecture */
	const char	*prefix;	/* the base model's, in arch: "bert." */
	const char	*layer;		/* before a layer's number: */
					/* "encoder.layer." */
	int		 needpool;	/* the classifier reads the pooler */
	const struct model_tensor *t;
	size_t		 nt;
	/*
	 * config.json's keys for L, H, C, F and the activation
	 * ("num_hidden_layers", ...; DistilBERT's "n_layers", ...)
	 */
	const char	*key[5];
	const char	*defact;	/* the activation without the key */
	int		 defE;		/* embedding_size without the key; 0: C */
	int		 headact;	/* after the head's dense layer, ACT_* */
	unsigned	 flags;		/* MF_* */
};

/* c's family: c->fam, or BERT's for a configuration made by hand. */
const struct model_family *model_family(const struct bert_config *c);

/* The family of model_type type, or NULL. */
const struct model_family *model_family_named(const char *type);

/* c->E, or C where it is 0. */
int	model_emb(const struct bert_config *c);

/* Whether c's embeddings are projected to C (epw, epb). */
int	model_proj(const struct bert_config *c);

/*
 * The layers whose weights c stores: c->G groups for ALBERT, else c->L;
 * the group (or layer) whose weights layer l uses, from 0 as HF counts
 * (ALBERT's int(l / (L / G))); and the first layer of group g.
 */
int	model_nstored(const struct bert_config *c);
int	model_group(const struct bert_config *c, int l);
int	model_first(const struct bert_config *c, int g);

/*
 * The tokens a record may have: max_position_embeddings, less pos0 (512
 * for roberta-base's 514 positions, as HF's model_max_length).
 */
int	model_maxlen(const struct bert_config *c);

/*
 * The tensors of a model of configuration c, one at a time in the order of
 * its family's table, the per-layer rows once for each of the
 * model_nstored(c) layers stored (layer is that index: the group's, for
 * ALBERT) and an optional group's rows only when groups has its flag:
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
	int		 layer;		/* its layer (group), or -1 */
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
 * model_type chooses the family (absent: bert): bert, roberta,
 * xlm-roberta, distilbert, electra, albert; another, a
 * position_embedding_type other than "absolute", an activation other than
 * the ACT_* ones, or an ALBERT with inner_group_num other than 1, is an
 * error that names it.  The sizes are read under the family's keys, with
 * HF's defaults for the family (ALBERT's hidden_act gelu_new, ELECTRA's
 * and ALBERT's embedding_size 128).
 */
int	model_config(struct bert_config *cfg, const char *path, char *err,
	    size_t errlen);

/*
 * The tokens a record of the model whose config.json is at path may have
 * (model_maxlen), from model_type, max_position_embeddings (512 when
 * absent) and pad_token_id alone, for a tokenizer's directory whose
 * config.json says no more: 0 when the file cannot be read or names no
 * family.  *pos0 (when not NULL) is set to the first position, RoBERTa's
 * pad_token_id + 1, else 0.
 */
int	model_config_maxlen(const char *path, int *pos0);

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
