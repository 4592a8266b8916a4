/*
 * model.c -- encoder checkpoints in the Hugging Face layout: config.json and
 * the weights (tensorfile.c) to struct bert, through the family's table of
 * tensors.
 */
#include <err.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "util.h"

/* ---- JSON ---- */

/*
 * The JSON object in the regular file at path, at most 16 MB, with no key
 * twice; or NULL with err set.  *absent (when not NULL) is set when the
 * file does not exist, which the caller may take as "nothing said".
 */
static cJSON *
readjson(const char *path, int *absent, char *err, size_t errlen)
{
	const char *why, *d;
	char *text;
	cJSON *j;
	FILE *fp;
	long n;

	if (absent != NULL)
		*absent = 0;
	if ((fp = fopen_reg(path, &why)) == NULL) {
		if (absent != NULL && errno == ENOENT)
			*absent = 1;
		errf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    n > 1 << 24 || fseek(fp, 0, SEEK_SET) == -1) {
		fclose(fp);
		errf(err, errlen, "%s: not a config file", path);
		return NULL;
	}
	text = xmalloc(n + 1);
	if (fread(text, 1, n, fp) != (size_t)n) {
		fclose(fp);
		free(text);
		errf(err, errlen, "%s: read error", path);
		return NULL;
	}
	fclose(fp);
	text[n] = '\0';
	j = cJSON_Parse(text);
	free(text);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		errf(err, errlen, "%s: not valid JSON", path);
		return NULL;
	}
	if ((d = tfile_dupkey(j, 1)) != NULL) {
		errf(err, errlen, "%s: key '%s' is there twice", path, d);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- the families' tables ---- */

#define B(f)	offsetof(struct bert, f)
#define Y(f)	offsetof(struct bert_layer, f)

/*
 * A dense layer's two rows (weight, then bias: decayed, not decayed) and
 * a LayerNorm's (weight and bias, or gamma and beta), in fields w and b.
 */
#define DENSE(n, w, b, part, sw, sb, fl) \
	{ n ".weight", NULL, w, part, sw, (fl) | MT_DECAY }, \
	{ n ".bias", NULL, b, part, sb, (fl) }
#define NORM(n, g, b, s, fl) \
	{ n ".weight", n ".gamma", g, 0, s, (fl) | MT_GAIN }, \
	{ n ".bias", n ".beta", b, 0, s, (fl) }

/*
 * The rows the families share: the embeddings (word, position, token
 * type, LayerNorm: every family's names, DistilBERT without token types);
 * a layer's sixteen tensors, by the names of query, key, value, the
 * attention's output, its LayerNorm, the FFN's two dense layers and the
 * last LayerNorm; BERT's classifier, and the classification head of
 * RoBERTa, XLM-R and ELECTRA.
 */
#define EMB_WORDPOS \
	{ "embeddings.word_embeddings.weight", NULL, \
	    B(wte), 0, "VE", MT_DECAY }, \
	{ "embeddings.position_embeddings.weight", NULL, \
	    B(wpe), 0, "PE", MT_DECAY }
#define EMB_TYPES \
	{ "embeddings.token_type_embeddings.weight", NULL, \
	    B(tte), 0, "SE", MT_DECAY }
#define EMB_LN	NORM("embeddings.LayerNorm", B(elng), B(elnb), "E", 0)
#define LAYER(q, k, v, o, ln1, fi, fo, ln2) \
	DENSE(q, Y(qkvw), Y(qkvb), 0, "CC", "C", MT_LAYER), \
	DENSE(k, Y(qkvw), Y(qkvb), 1, "CC", "C", MT_LAYER), \
	DENSE(v, Y(qkvw), Y(qkvb), 2, "CC", "C", MT_LAYER), \
	DENSE(o, Y(aow), Y(aob), 0, "CC", "C", MT_LAYER), \
	NORM(ln1, Y(ln1g), Y(ln1b), "C", MT_LAYER), \
	DENSE(fi, Y(iw), Y(ib), 0, "FC", "F", MT_LAYER), \
	DENSE(fo, Y(ow), Y(ob), 0, "CF", "C", MT_LAYER), \
	NORM(ln2, Y(ln2g), Y(ln2b), "C", MT_LAYER)
#define BERT_LAYER \
	LAYER("attention.self.query", "attention.self.key", \
	    "attention.self.value", "attention.output.dense", \
	    "attention.output.LayerNorm", "intermediate.dense", \
	    "output.dense", "output.LayerNorm")
#define CLASSIFIER \
	DENSE("classifier", B(cw), B(cb), 0, "KC", "K", MT_HEAD)
/* RobertaClassificationHead, ElectraClassificationHead */
#define CLS_HEAD \
	DENSE("classifier.dense", B(pw), B(pb), 0, "CC", "C", MT_HEAD), \
	DENSE("classifier.out_proj", B(cw), B(cb), 0, "KC", "K", MT_HEAD)

/*
 * BERT (HF BertModel, BertForSequenceClassification): the embeddings, 16
 * tensors a layer, the pooler and the classifier.
 */
static const struct model_tensor bert_tensors[] = {
	EMB_WORDPOS, EMB_TYPES, EMB_LN,
	BERT_LAYER,
	DENSE("pooler.dense", B(pw), B(pb), 0, "CC", "C", MT_POOLER),
	CLASSIFIER,
	/* BertForPreTraining's heads; the decoder is wte */
	{ "cls.predictions.bias", NULL, B(mlmb), 0, "V", MT_MLM },
	DENSE("cls.predictions.transform.dense", B(mtw), B(mtb), 0, "CC", "C",
	    MT_MLM),
	NORM("cls.predictions.transform.LayerNorm", B(mlng), B(mlnb), "C",
	    MT_MLM),
	DENSE("cls.seq_relationship", B(nspw), B(nspb), 0, "2C", "2", MT_NSP)
};

/* RoBERTa, XLM-R: BERT's encoder under "roberta.", their head. */
static const struct model_tensor roberta_tensors[] = {
	EMB_WORDPOS, EMB_TYPES, EMB_LN,
	BERT_LAYER,
	CLS_HEAD
};

/*
 * DistilBERT: no token types, layers of its own names, the head
 * pre_classifier, ReLU, classifier.
 */
static const struct model_tensor distilbert_tensors[] = {
	EMB_WORDPOS, EMB_LN,
	LAYER("attention.q_lin", "attention.k_lin", "attention.v_lin",
	    "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2",
	    "output_layer_norm"),
	DENSE("pre_classifier", B(pw), B(pb), 0, "CC", "C", MT_HEAD),
	CLASSIFIER
};

/* ELECTRA: BERT's encoder, embeddings of E projected to C, its head. */
static const struct model_tensor electra_tensors[] = {
	EMB_WORDPOS, EMB_TYPES, EMB_LN,
	DENSE("embeddings_project", B(epw), B(epb), 0, "CE", "C", MT_PROJ),
	BERT_LAYER,
	CLS_HEAD
};

/*
 * ALBERT: embeddings of E mapped to C, a layer a group (inner_group_num
 * 1), the pooler and the classifier.
 */
static const struct model_tensor albert_tensors[] = {
	EMB_WORDPOS, EMB_TYPES, EMB_LN,
	DENSE("encoder.embedding_hidden_mapping_in", B(epw), B(epb), 0, "CE",
	    "C", MT_PROJ),
	LAYER("albert_layers.0.attention.query",
	    "albert_layers.0.attention.key", "albert_layers.0.attention.value",
	    "albert_layers.0.attention.dense",
	    "albert_layers.0.attention.LayerNorm", "albert_layers.0.ffn",
	    "albert_layers.0.ffn_output",
	    "albert_layers.0.full_layer_layer_norm"),
	DENSE("pooler", B(pw), B(pb), 0, "CC", "C", MT_POOLER),
	CLASSIFIER
};

#undef B
#undef Y

#define NROWS(t)	(sizeof(t) / sizeof((t)[0]))
#define TABLE(t)	t, NROWS(t)
#define BERT_KEYS	{ "num_hidden_layers", "num_attention_heads", \
	"hidden_size", "intermediate_size", "hidden_act" }

/*
 * The families, the first the default (config.json without model_type):
 * type, name, architecture, prefix, layer, needpool, table, keys, default
 * activation, default embedding size, the head's activation, flags.
 */
static const struct model_family families[] = {
	{ "bert", "BERT", "BertForSequenceClassification", "bert.",
	    "encoder.layer.", 1, TABLE(bert_tensors), BERT_KEYS, "gelu", 0,
	    ACT_TANH, 0 },
	{ "roberta", "RoBERTa", "RobertaForSequenceClassification",
	    "roberta.", "encoder.layer.", 0, TABLE(roberta_tensors),
	    BERT_KEYS, "gelu", 0, ACT_TANH, MF_PADPOS | MF_CLSDROP },
	{ "xlm-roberta", "XLM-R", "XLMRobertaForSequenceClassification",
	    "roberta.", "encoder.layer.", 0, TABLE(roberta_tensors),
	    BERT_KEYS, "gelu", 0, ACT_TANH, MF_PADPOS | MF_CLSDROP },
	{ "distilbert", "DistilBERT", "DistilBertForSequenceClassification",
	    "distilbert.", "transformer.layer.", 0, TABLE(distilbert_tensors),
	    { "n_layers", "n_heads", "dim", "hidden_dim", "activation" },
	    "gelu", 0, ACT_RELU, MF_FIXEPS },
	{ "electra", "ELECTRA", "ElectraForSequenceClassification",
	    "electra.", "encoder.layer.", 0, TABLE(electra_tensors),
	    BERT_KEYS, "gelu", 128, ACT_GELU, MF_CLSDROP },
	{ "albert", "ALBERT", "AlbertForSequenceClassification", "albert.",
	    "encoder.albert_layer_groups.", 1, TABLE(albert_tensors),
	    BERT_KEYS, "gelu_new", 128, ACT_TANH, MF_PROJ | MF_SHARED },
};

const struct model_family *
model_family(const struct bert_config *c)
{
	return c->fam != NULL ? c->fam : &families[0];
}

const struct model_family *
model_family_named(const char *type)
{
	for (size_t i = 0; i < NROWS(families); i++)
		if (strcmp(type, families[i].type) == 0)
			return &families[i];
	return NULL;
}

int
model_emb(const struct bert_config *c)
{
	return c->E > 0 ? c->E : c->C;
}

int
model_proj(const struct bert_config *c)
{
	return (model_family(c)->flags & MF_PROJ) || model_emb(c) != c->C;
}

int
model_nstored(const struct bert_config *c)
{
	return model_family(c)->flags & MF_SHARED ? (c->G > 0 ? c->G : 1) :
	    c->L;
}

int
model_group(const struct bert_config *c, int l)
{
	/* as AlbertTransformer: int(i / (num_hidden_layers / groups)) */
	if (!(model_family(c)->flags & MF_SHARED))
		return l;
	return (int)((double)l / ((double)c->L / c->G));
}

int
model_first(const struct bert_config *c, int g)
{
	int l = 0;

	while (l + 1 < c->L && model_group(c, l) < g)
		l++;
	return l;
}

int
model_maxlen(const struct bert_config *c)
{
	return c->P - c->pos0;
}

/* ---- config.json ---- */

static int
cfgint(cJSON *j, const char *key, int def, int lo, int *v, const char *path,
    char *err, size_t errlen)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);

	if (x == NULL) {
		if (def < 0)
			return errf(err, errlen, "%s: no '%s'", path, key);
		*v = def;
		return 0;
	}
	/* the range first: a cast of a double outside int's is undefined */
	if (!cJSON_IsNumber(x) || x->valuedouble < lo ||
	    x->valuedouble > 1 << 24 || x->valuedouble != (int)x->valuedouble)
		return errf(err, errlen, "%s: '%s' is not an integer in %d..%d",
		    path, key, lo, 1 << 24);
	*v = (int)x->valuedouble;
	return 0;
}

/*
 * c->fam by model_type (absent: the first family); one without a table,
 * or positions other than absolute ones, is an error naming it.
 */
static int
family(struct bert_config *c, const cJSON *j, const char *path, char *err,
    size_t errlen)
{
	const cJSON *x;
	char known[256] = "";
	size_t i, k = 0;

	x = cJSON_GetObjectItemCaseSensitive(j, "model_type");
	c->fam = &families[0];
	if (x != NULL) {
		c->fam = NULL;
		for (i = 0; i < NROWS(families); i++) {
			if (cJSON_IsString(x) &&
			    strcmp(x->valuestring, families[i].type) == 0)
				c->fam = &families[i];
			k += snprintf(known + k, k < sizeof(known) ?
			    sizeof(known) - k : 0, "%s%s", i ? ", " : "",
			    families[i].type);
		}
		if (c->fam == NULL)
			return errf(err, errlen, "%s: model_type '%s' is not a "
			    "family headcount knows (%s)", path,
			    cJSON_IsString(x) ? x->valuestring : "?", known);
	}
	x = cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type");
	if (x != NULL && (!cJSON_IsString(x) ||
	    strcmp(x->valuestring, "absolute") != 0))
		return errf(err, errlen, "%s: position_embedding_type '%s' is "
		    "not supported (absolute is)", path, cJSON_IsString(x) ?
		    x->valuestring : "?");
	return 0;
}

/* The activations config.json may name, and what each is. */
static const struct {
	const char	*name;
	int		 act;
} acts[] = {
	{ "gelu", ACT_GELU }, { "gelu_python", ACT_GELU },
	{ "gelu_new", ACT_GELU_TANH }, { "gelu_pytorch_tanh", ACT_GELU_TANH },
	{ "relu", ACT_RELU }
};

/* c->act and c->actname from the family's key, or its default. */
static int
activation(struct bert_config *c, const cJSON *j, const char *path,
    char *err, size_t errlen)
{
	const struct model_family *f = model_family(c);
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, f->key[4]);
	const char *name = f->defact;

	if (x != NULL)
		name = cJSON_IsString(x) ? x->valuestring : "?";
	for (size_t i = 0; i < NROWS(acts); i++)
		if (strcmp(name, acts[i].name) == 0) {
			c->act = acts[i].act;
			snprintf(c->actname, sizeof(c->actname), "%s", name);
			return 0;
		}
	return errf(err, errlen, "%s: %s '%s' is not supported (gelu, "
	    "gelu_new, gelu_pytorch_tanh and relu are)", path, f->key[4],
	    name);
}

/* Whether family f's table has token types. */
static int
hastypes(const struct model_family *f)
{
	for (size_t i = 0; i < f->nt; i++)
		if (strchr(f->t[i].shape, 'S') != NULL)
			return 1;
	return 0;
}

int
model_config(struct bert_config *c, const char *path, char *err,
    size_t errlen)
{
	const struct model_family *f;
	const char *const *k;
	cJSON *j, *x;
	int r = -1, inner;

	memset(c, 0, sizeof(*c));
	c->lower = -1;
	if ((j = readjson(path, NULL, err, errlen)) == NULL)
		return -1;
	/* the family first: another's keys would be misread as BERT's */
	if (family(c, j, path, err, errlen) == -1)
		goto out;
	f = model_family(c);
	k = f->key;
	if (cfgint(j, k[0], -1, 1, &c->L, path, err, errlen) ||
	    cfgint(j, k[1], -1, 1, &c->H, path, err, errlen) ||
	    cfgint(j, k[2], -1, 1, &c->C, path, err, errlen) ||
	    cfgint(j, k[3], -1, 1, &c->F, path, err, errlen) ||
	    cfgint(j, "vocab_size", -1, 1, &c->V, path, err, errlen) ||
	    cfgint(j, "max_position_embeddings", 512, 1, &c->P, path, err,
	    errlen))
		goto out;
	/* where positions count from it, it must be right; else a hint */
	x = cJSON_GetObjectItemCaseSensitive(j, "pad_token_id");
	if (f->flags & MF_PADPOS) {
		if (cfgint(j, "pad_token_id", 1, 0, &c->pad, path, err,
		    errlen))
			goto out;
	} else if (cJSON_IsNumber(x) && x->valuedouble >= 0 &&
	    x->valuedouble < c->V)
		c->pad = (int)x->valuedouble;
	if (hastypes(f) && cfgint(j, "type_vocab_size", 2, 1, &c->S, path,
	    err, errlen))
		goto out;
	if (f->defE > 0 && cfgint(j, "embedding_size", f->defE, 1, &c->E,
	    path, err, errlen))
		goto out;
	if (c->C % c->H != 0) {
		errf(err, errlen, "%s: %s %d is not a multiple of %s %d", path,
		    k[2], c->C, k[1], c->H);
		goto out;
	}
	if (f->flags & MF_PADPOS) {
		/* positions pad + 1 .. P - 1 */
		c->pos0 = c->pad + 1;
		if (c->pos0 >= c->P) {
			errf(err, errlen, "%s: pad_token_id %d leaves no "
			    "position of max_position_embeddings %d", path,
			    c->pad, c->P);
			goto out;
		}
	}
	if (f->flags & MF_SHARED) {
		if (cfgint(j, "num_hidden_groups", 1, 1, &c->G, path, err,
		    errlen) || cfgint(j, "inner_group_num", 1, 1, &inner,
		    path, err, errlen))
			goto out;
		if (inner != 1) {
			errf(err, errlen, "%s: inner_group_num %d is not "
			    "supported (1, a layer a group, is)", path, inner);
			goto out;
		}
		if (c->G > c->L) {
			errf(err, errlen, "%s: num_hidden_groups %d is more "
			    "than num_hidden_layers %d", path, c->G, c->L);
			goto out;
		}
	}
	c->eps = 1e-12f;
	x = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
	if (x != NULL && !(f->flags & MF_FIXEPS)) {
		/* a float holds it: 1e-300 would be 0, 1e300 undefined */
		if (!cJSON_IsNumber(x) || !(x->valuedouble >= FLT_MIN) ||
		    x->valuedouble > FLT_MAX) {
			errf(err, errlen, "%s: 'layer_norm_eps' is not a "
			    "positive number in float's range (%g..%g)", path,
			    FLT_MIN, FLT_MAX);
			goto out;
		}
		c->eps = (float)x->valuedouble;
	}
	if (activation(c, j, path, err, errlen) == -1)
		goto out;
	x = cJSON_GetObjectItemCaseSensitive(j, "num_labels");
	if (x != NULL) {
		if (cfgint(j, "num_labels", 0, 0, &c->nlabels, path, err,
		    errlen))
			goto out;
	} else if ((x = cJSON_GetObjectItemCaseSensitive(j, "id2label")) &&
	    cJSON_IsObject(x))
		c->nlabels = cJSON_GetArraySize(x);
	x = cJSON_GetObjectItemCaseSensitive(j, "do_lower_case");
	if (cJSON_IsBool(x))
		c->lower = cJSON_IsTrue(x);
	r = 0;
out:
	cJSON_Delete(j);
	return r;
}

int
model_config_maxlen(const char *path, int *pos0)
{
	struct bert_config c;
	char err[512];
	cJSON *j;
	int r = 0;

	memset(&c, 0, sizeof(c));
	if ((j = readjson(path, NULL, err, sizeof(err))) == NULL)
		return 0;
	if (family(&c, j, path, err, sizeof(err)) == 0 &&
	    cfgint(j, "max_position_embeddings", 512, 1, &c.P, path, err,
	    sizeof(err)) == 0 &&
	    cfgint(j, "pad_token_id", model_family(&c)->flags & MF_PADPOS ?
	    1 : 0, 0, &c.pad, path, err, sizeof(err)) == 0) {
		c.pos0 = model_family(&c)->flags & MF_PADPOS ? c.pad + 1 : 0;
		r = model_maxlen(&c) > 0 ? model_maxlen(&c) : 0;
		if (pos0 != NULL)
			*pos0 = c.pos0;
	}
	cJSON_Delete(j);
	return r;
}

/* ---- the table's tensors ---- */

/*
 * Tensor t's name in layer l (alias: its older name; NULL when it has
 * none), without the family's prefix, in b.
 */
static const char *
rowname(char *b, size_t len, const struct model_family *f,
    const struct model_tensor *t, int l, int alias)
{
	const char *n = alias ? t->alias : t->name;

	if (n == NULL)
		return NULL;
	if (t->flags & MT_LAYER)
		snprintf(b, len, "%s%d.%s", f->layer, l, n);
	else
		snprintf(b, len, "%s", n);
	return b;
}

/* A dimension in config letters, in c's numbers. */
static size_t
dim(const struct bert_config *c, char d)
{
	switch (d) {
	case 'V': return (size_t)c->V;
	case 'P': return (size_t)c->P;
	case 'S': return (size_t)c->S;
	case 'C': return (size_t)c->C;
	case 'F': return (size_t)c->F;
	case 'E': return (size_t)model_emb(c);
	case 'K': return (size_t)c->nlabels;
	case '2': return 2;
	}
	errx(1, "internal error: shape letter '%c'", d);
}

void
model_it_init(struct model_it *it, const struct bert_config *c,
    unsigned groups)
{
	memset(it, 0, sizeof(*it));
	it->f = model_family(c);
	it->c = c;
	it->groups = groups;
	it->layer = -1;
}

int
model_it_next(struct model_it *it)
{
	const struct model_family *f = it->f;
	const struct model_tensor *t;
	int nl = model_nstored(it->c);

	for (;;) {
		/* past a layer's last row: the next layer, or on */
		if (it->layer >= 0 && (it->i == f->nt ||
		    !(f->t[it->i].flags & MT_LAYER))) {
			if (it->layer + 1 < nl) {
				it->i = it->first;
				it->layer++;
			} else
				it->layer = -1;
		}
		if (it->i == f->nt)
			return 0;
		t = &f->t[it->i];
		if ((t->flags & MT_PROJ) && !model_proj(it->c)) {
			it->i++;
			continue;
		}
		if ((t->flags & MT_LAYER) && it->layer < 0) {
			if (nl < 1) {
				while (it->i < f->nt &&
				    (f->t[it->i].flags & MT_LAYER))
					it->i++;
				continue;
			}
			it->first = it->i;
			it->layer = 0;
		}
		it->i++;
		if (!(t->flags & MT_GROUPS) || (t->flags & it->groups))
			break;
	}
	it->t = t;
	rowname(it->name, sizeof(it->name), f, t, it->layer, 0);
	it->ndim = (int)strlen(t->shape);
	it->n = 1;
	for (int d = 0; d < it->ndim; d++)
		it->n *= it->shape[d] = dim(it->c, t->shape[d]);
	return 1;
}

const char *
model_prefix(const struct model_it *it)
{
	return it->t->flags & (MT_HEAD | MT_PRETRAIN) ? "" : it->f->prefix;
}

/* The field of tensor it in m: a struct bert's, or a layer's. */
static float **
field(const struct bert *m, const struct model_it *it)
{
	const char *s = (const char *)m;

	if (it->t->flags & MT_LAYER) {
		if (m->layer == NULL)
			return NULL;
		/* a group's tensors: its first layer's fields */
		s = (const char *)&m->layer[model_first(it->c, it->layer)];
	}
	return (float **)(s + it->t->field);
}

float *
model_ptr(const struct bert *m, const struct model_it *it)
{
	float **p = field(m, it);

	return p != NULL && *p != NULL ? *p + (size_t)it->t->part * it->n :
	    NULL;
}

/* The rows that share t's field: its blocks. */
static size_t
nparts(const struct model_family *f, const struct model_tensor *t)
{
	size_t k = 0;

	for (size_t i = 0; i < f->nt; i++)
		k += f->t[i].field == t->field &&
		    (f->t[i].flags & MT_LAYER) == (t->flags & MT_LAYER);
	return k;
}

size_t
model_layout(struct bert *m, float *base, unsigned groups)
{
	struct model_it it;
	size_t off = 0;

	model_it_init(&it, &m->cfg, groups);
	while (model_it_next(&it)) {
		if (it.t->part != 0)
			continue;	/* a later block of a field placed */
		off = (off + 15) / 16 * 16;
		if (base != NULL)
			*field(m, &it) = base + off;
		off += nparts(it.f, it.t) * it.n;
	}
	/* ALBERT: every layer of a group points at the group's tensors */
	for (int l = 0; base != NULL && m->layer != NULL && l < m->cfg.L; l++)
		m->layer[l] = m->layer[model_first(&m->cfg,
		    model_group(&m->cfg, l))];
	return off;
}

unsigned
model_groups(const struct bert *m)
{
	struct model_it it;
	unsigned g = MT_GROUPS;

	model_it_init(&it, &m->cfg, MT_GROUPS);
	while (model_it_next(&it))
		if ((it.t->flags & MT_GROUPS) && (it.n == 0 ||
		    model_ptr(m, &it) == NULL))
			g &= ~(it.t->flags & MT_GROUPS);
	return g;
}

int
model_find(const struct tfile *tf, const struct model_it *it,
    const struct tfentry **ep, char *err, size_t errlen)
{
	char alt[sizeof(it->name)];
	const char *nm[2], *s, *pfx = it->f->prefix;
	size_t pl = strlen(pfx);

	nm[0] = it->name;
	nm[1] = rowname(alt, sizeof(alt), it->f, it->t, it->layer, 1);
	*ep = NULL;
	for (size_t i = 0; i < tf->n; i++)
		for (int j = 0; j < 2; j++) {
			s = tf->e[i].name;
			if (nm[j] == NULL || (strcmp(s, nm[j]) != 0 &&
			    (strncmp(s, pfx, pl) != 0 ||
			    strcmp(s + pl, nm[j]) != 0)))
				continue;
			if (*ep != NULL)
				return errf(err, errlen, "%s: tensors '%s' and "
				    "'%s' are both '%s': keep one", tf->path,
				    (*ep)->name, s, it->name);
			*ep = &tf->e[i];
		}
	return *ep != NULL;
}

/* Point it at row i of its family's table, in the first layer. */
static void
atrow(struct model_it *it, size_t i)
{
	it->t = &it->f->t[i];
	it->layer = it->t->flags & MT_LAYER ? 0 : -1;
	rowname(it->name, sizeof(it->name), it->f, it->t, it->layer, 0);
}

int
model_filegroups(const struct tfile *tf, struct bert_config *c,
    unsigned *groups, char *err, size_t errlen)
{
	const struct tfentry *e;
	struct model_it it;
	unsigned seen = 0, o;
	const char *k;
	char scratch[512];
	size_t i, K;
	int r, rc = 0;

	*groups = 0;
	c->nlabels = 0;
	model_it_init(&it, c, 0);
	/* a group's first row decides; err keeps the first error */
	for (i = 0; i < it.f->nt; i++) {
		if ((o = it.f->t[i].flags & MT_GROUPS) == 0 || (seen & o))
			continue;
		seen |= o;
		atrow(&it, i);
		r = rc == 0 ? model_find(tf, &it, &e, err, errlen) :
		    model_find(tf, &it, &e, scratch, sizeof(scratch));
		if (r == -1)
			rc = -1;
		else if (r == 1)
			*groups |= o;
	}
	/*
	 * The pre-training heads are no part of an encoder's work: a
	 * checkpoint whose heads are incomplete is read without them.
	 */
	for (i = 0; i < it.f->nt; i++) {
		if (!(it.f->t[i].flags & *groups & MT_PRETRAIN))
			continue;
		atrow(&it, i);
		if (model_find(tf, &it, &e, scratch, sizeof(scratch)) != 1)
			*groups &= ~(it.t->flags & MT_PRETRAIN);
	}
	/* the first row of a group there with a dimension K, the labels */
	for (i = 0; i < it.f->nt && c->nlabels == 0; i++) {
		if (!(it.f->t[i].flags & *groups) ||
		    (k = strchr(it.f->t[i].shape, 'K')) == NULL)
			continue;
		atrow(&it, i);
		r = rc == 0 ? model_find(tf, &it, &e, err, errlen) :
		    model_find(tf, &it, &e, scratch, sizeof(scratch));
		if (r == -1)
			rc = -1;
		if (r != 1)
			continue;
		K = k - it.t->shape < e->ndim ? e->shape[k - it.t->shape] : 0;
		/* past int's range it fails the shape check that follows */
		c->nlabels = K > INT_MAX ? INT_MAX : (int)K;
	}
	return rc;
}

/* ---- loading ---- */

/* Tensor it in tf, checked to have its shape in c's numbers; or NULL. */
static const struct tfentry *
look(const struct tfile *tf, const struct model_it *it, char *err,
    size_t errlen)
{
	const struct tfentry *e;
	char got[128] = "", want[128] = "";
	size_t k = 0;
	int same;

	if (model_find(tf, it, &e, err, errlen) == -1)
		return NULL;
	if (e == NULL) {
		errf(err, errlen, "%s: no tensor '%s'", tf->path, it->name);
		return NULL;
	}
	if (e->dtype == -1) {
		errf(err, errlen, "%s: tensor '%s' has a dtype other than F32, "
		    "F16 or BF16", tf->path, e->name);
		return NULL;
	}
	same = e->ndim == it->ndim;
	for (int i = 0; i < it->ndim && same; i++)
		same = e->shape[i] == it->shape[i];
	if (same)
		return e;
	for (int i = 0; i < e->ndim && k < 100; i++)
		k += snprintf(got + k, sizeof(got) - k, "%s%zu", i ? ", " : "",
		    e->shape[i]);
	for (int i = 0, k = 0; i < it->ndim; i++)
		k += snprintf(want + k, sizeof(want) - k, "%s%zu",
		    i ? ", " : "", it->shape[i]);
	errf(err, errlen, "%s: tensor '%s' has shape [%s], config.json says "
	    "[%s]", tf->path, e->name, got, want);
	return NULL;
}

/* Copy tensor it of tf, checked by look(), to dst as f32. */
static int
take(float *dst, const struct tfile *tf, const struct model_it *it,
    char *err, size_t errlen)
{
	const struct tfentry *e;

	if ((e = look(tf, it, err, errlen)) == NULL)
		return -1;
	tensor_to_f32(dst, e->data, e->dtype, e->n);
	for (size_t i = 0; i < e->n; i++)
		if (!isfinite(dst[i]))
			return errf(err, errlen, "%s: tensor '%s' element "
			    "%zu is %g, not a finite number", tf->path,
			    e->name, i, dst[i]);
	/*
	 * The file's pages are read once: let them go, so that the peak
	 * memory is the f32 weights, not the weights and the file.
	 */
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)e->data + pg - 1) & ~(pg - 1);
	uintptr_t z = ((uintptr_t)e->data + e->n * tensor_dtsize(e->dtype)) &
	    ~(pg - 1);
	for (size_t i = 0; i <= tf->nsub; i++) {
		const struct tfile *f = i < tf->nsub ? &tf->sub[i] : tf;

		if (f->map != NULL && z > a && a >= (uintptr_t)f->map &&
		    z <= (uintptr_t)f->map + f->maplen)
			madvise((void *)a, z - a, MADV_DONTNEED);
	}
	return 0;
}

int
model_load(struct bert *m, const char *dir, char *err, size_t errlen)
{
	struct bert_config *c = &m->cfg;
	const struct model_family *f;
	struct model_it it;
	struct tfile tf;
	char path[4096];
	const char *src;
	unsigned groups;
	size_t n;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (model_config(c, path, err, errlen) == -1)
		return -1;
	if ((c->lower = model_casing(dir, NULL, &src, err, errlen)) == -1)
		return -1;
	if (tfile_opendir(&tf, dir, err, errlen) == -1)
		return -1;
	f = model_family(c);
	/* the pooler and classifier the file has; the classifier, K */
	if (model_filegroups(&tf, c, &groups, err, errlen) == -1)
		goto bad;
	/*
	 * Every tensor against the file before the block is allocated: a
	 * config.json that says more than the file holds is a missing or
	 * misshapen tensor, not an allocation of terabytes.
	 */
	model_it_init(&it, c, groups);
	while (model_it_next(&it))
		if (look(&tf, &it, err, errlen) == NULL)
			goto bad;
	if (f->needpool && (groups & MT_HEAD) && !(groups & MT_POOLER)) {
		model_it_init(&it, c, MT_POOLER);
		while (model_it_next(&it) && !(it.t->flags & MT_POOLER))
			;
		errf(err, errlen, "%s: a classifier without '%s'", tf.path,
		    it.name);
		goto bad;
	}
	n = model_layout(m, NULL, groups);
	if (n > SIZE_MAX / sizeof(float) ||
	    (m->params = hugealloc(n * sizeof(float))) == NULL)
		errx(1, "%s: out of memory for %zu weights", tf.path, n);
	m->nparams = n;
	m->layer = xcalloc(c->L, sizeof(*m->layer));
	model_layout(m, m->params, groups);
	model_it_init(&it, c, groups);
	while (model_it_next(&it))
		if (take(model_ptr(m, &it), &tf, &it, err, errlen) == -1)
			goto bad;
	m->dir = xstrdup(dir);
	tfile_release(&tf);
	return 0;
bad:
	tfile_release(&tf);
	model_release(m);
	return -1;
}

void
model_release(struct bert *m)
{
	for (int i = 0; m->bfw != NULL && i < 4 * m->cfg.L; i++)
		free(m->bfw[i]);
	free(m->bfw);
	free(m->params);
	free(m->layer);
	free(m->dir);
	memset(m, 0, sizeof(*m));
}

/* ---- casing and vocabulary ---- */

/*
 * do_lower_case of the JSON file at path in *lower: 1, 0, or -1 when the
 * file does not say or is absent.  Returns 0, or -1 with err set.
 */
static int
jsonlower(const char *path, int *lower, char *err, size_t errlen)
{
	cJSON *j, *x;
	int absent;

	*lower = -1;
	if ((j = readjson(path, &absent, err, errlen)) == NULL)
		return absent ? 0 : -1;
	x = cJSON_GetObjectItemCaseSensitive(j, "do_lower_case");
	if (x != NULL && !cJSON_IsBool(x)) {
		cJSON_Delete(j);
		return errf(err, errlen, "%s: 'do_lower_case' is not true or "
		    "false", path);
	}
	if (x != NULL)
		*lower = cJSON_IsTrue(x);
	cJSON_Delete(j);
	return 0;
}

int
model_casing(const char *dir, const struct wp_vocab *v, const char **src,
    char *err, size_t errlen)
{
	static const char *const js[] = { "tokenizer_config.json",
	    "config.json" };
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	const char *why;
	FILE *fp;
	int lower = -1;

	for (int i = 0; dir != NULL && i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, js[i]);
		if (jsonlower(path, &lower, err, errlen) == -1)
			return -1;
		if (lower != -1) {
			*src = js[i];
			return lower;
		}
	}
	*src = "vocab.txt";
	if (v != NULL) {
		for (int id = 0; id < v->n; id++)
			if (wp_capital(v->word[id], v->len[id]))
				return 0;
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vocab.txt", dir);
	if ((fp = fopen_reg(path, &why)) == NULL) {
		if (errno == ENOENT)
			return 1;
		return errf(err, errlen, "%s: %s", path, why);
	}
	lower = 1;
	while (lower && (len = getline(&line, &cap, fp)) != -1)
		lower = !wp_capital(line, len);
	free(line);
	if (ferror(fp)) {
		fclose(fp);
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	fclose(fp);
	return lower;
}

int
model_vocab(struct wp_vocab *v, const char *dir, char *err, size_t errlen)
{
	char path[4096];

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/vocab.txt", dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	return wp_read(v, path, err, errlen) == -1 ? -1 : 1;
}

/* s[0..n) for a message: at most 60 bytes, control characters as '?'. */
static const char *
shown(char *b, size_t blen, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 4 < blen && k < 60; i++)
		b[k++] = (unsigned char)s[i] < 32 ? '?' : s[i];
	if (k < n && k + 4 < blen)
		b[k++] = '.', b[k++] = '.', b[k++] = '.';
	b[k] = '\0';
	return b;
}

int
model_tokens(const struct wp_vocab *v, const msgpack_object *rec,
    const int *ids, size_t T, const char *dir, char *err, size_t errlen)
{
	const msgpack_object *t = NULL;
	char b1[80], b2[80];

	if (v->n == 0 || rec->type != MSGPACK_OBJECT_MAP)
		return 0;
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object *k = &rec->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 6 &&
		    memcmp(k->via.str.ptr, "tokens", 6) == 0)
			t = &rec->via.map.ptr[i].val;
	}
	if (t == NULL)
		return 0;
	if (t->type != MSGPACK_OBJECT_ARRAY)
		return errf(err, errlen, "'tokens' is not an array");
	if (t->via.array.size != T)
		return errf(err, errlen, "'tokens' has %u values, 'ids' %zu",
		    t->via.array.size, T);
	for (size_t i = 0; i < T; i++) {
		const msgpack_object *o = &t->via.array.ptr[i];
		int id = ids[i];

		if (o->type != MSGPACK_OBJECT_STR)
			return errf(err, errlen, "'tokens'[%zu] is not a "
			    "string", i);
		if (id >= 0 && id < v->n && v->len[id] == o->via.str.size &&
		    memcmp(v->word[id], o->via.str.ptr, v->len[id]) == 0)
			continue;
		shown(b1, sizeof(b1), o->via.str.ptr, o->via.str.size);
		if (id < 0 || id >= v->n)
			return errf(err, errlen, "'tokens'[%zu] '%s' has id "
			    "%d, which %s/vocab.txt (%d tokens) does not "
			    "have: the record was made with another "
			    "vocabulary (tokenize -m %s)", i, b1, id, dir,
			    v->n, dir);
		return errf(err, errlen, "'tokens'[%zu] is '%s', but id %d "
		    "is '%s' in %s/vocab.txt: the record was made with "
		    "another vocabulary (tokenize -m %s)", i, b1, id,
		    shown(b2, sizeof(b2), v->word[id], v->len[id]), dir, dir);
	}
	return 0;
}
