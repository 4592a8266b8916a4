/*
 * model.c -- BERT checkpoints in the Hugging Face layout: config.json and
 * the weights (tensorfile.c) to struct bert.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "util.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

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
		fail(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    n > 1 << 24 || fseek(fp, 0, SEEK_SET) == -1) {
		fclose(fp);
		fail(err, errlen, "%s: not a config file", path);
		return NULL;
	}
	text = xmalloc(n + 1);
	if (fread(text, 1, n, fp) != (size_t)n) {
		fclose(fp);
		free(text);
		fail(err, errlen, "%s: read error", path);
		return NULL;
	}
	fclose(fp);
	text[n] = '\0';
	j = cJSON_Parse(text);
	free(text);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		fail(err, errlen, "%s: not valid JSON", path);
		return NULL;
	}
	if ((d = tfile_dupkey(j, 1)) != NULL) {
		fail(err, errlen, "%s: key '%s' is there twice", path, d);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- config.json ---- */

static int
cfgint(cJSON *j, const char *key, int def, int lo, int *v, const char *path,
    char *err, size_t errlen)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);

	if (x == NULL) {
		if (def < 0)
			return fail(err, errlen, "%s: no '%s'", path, key);
		*v = def;
		return 0;
	}
	/* the range first: a cast of a double outside int's is undefined */
	if (!cJSON_IsNumber(x) || x->valuedouble < lo ||
	    x->valuedouble > 1 << 24 || x->valuedouble != (int)x->valuedouble)
		return fail(err, errlen, "%s: '%s' is not an integer in %d..%d",
		    path, key, lo, 1 << 24);
	*v = (int)x->valuedouble;
	return 0;
}

int
model_config(struct bert_config *c, const char *path, char *err,
    size_t errlen)
{
	cJSON *j, *x;
	int r = -1;

	memset(c, 0, sizeof(*c));
	c->lower = -1;
	if ((j = readjson(path, NULL, err, errlen)) == NULL)
		return -1;
	if (cfgint(j, "num_hidden_layers", -1, 1, &c->L, path, err, errlen) ||
	    cfgint(j, "num_attention_heads", -1, 1, &c->H, path, err, errlen) ||
	    cfgint(j, "hidden_size", -1, 1, &c->C, path, err, errlen) ||
	    cfgint(j, "intermediate_size", -1, 1, &c->F, path, err, errlen) ||
	    cfgint(j, "vocab_size", -1, 1, &c->V, path, err, errlen) ||
	    cfgint(j, "max_position_embeddings", 512, 1, &c->P, path, err,
	    errlen) ||
	    cfgint(j, "type_vocab_size", 2, 1, &c->S, path, err, errlen))
		goto out;
	if (c->C % c->H != 0) {
		fail(err, errlen, "%s: hidden_size %d is not a multiple of "
		    "num_attention_heads %d", path, c->C, c->H);
		goto out;
	}
	c->eps = 1e-12f;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps")) != NULL) {
		/* a float holds it: 1e-300 would be 0, 1e300 undefined */
		if (!cJSON_IsNumber(x) || !(x->valuedouble >= FLT_MIN) ||
		    x->valuedouble > FLT_MAX) {
			fail(err, errlen, "%s: 'layer_norm_eps' is not a "
			    "positive number in float's range (%g..%g)", path,
			    FLT_MIN, FLT_MAX);
			goto out;
		}
		c->eps = (float)x->valuedouble;
	}
	x = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
	if (x != NULL && (!cJSON_IsString(x) ||
	    (strcmp(x->valuestring, "gelu") != 0 &&
	    strcmp(x->valuestring, "gelu_python") != 0))) {
		fail(err, errlen, "%s: hidden_act '%s' is not supported "
		    "(gelu, with erf, is)", path, cJSON_IsString(x) ?
		    x->valuestring : "?");
		goto out;
	}
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

/* ---- the model ---- */

/*
 * The names a role has been written under: as is, with "bert.", and for
 * LayerNorm's weight and bias the older gamma and beta, with or without.
 */
static int
names(char nm[4][300], const char *role)
{
	size_t n = strlen(role);
	int k = 0;

	snprintf(nm[k++], 300, "%s", role);
	snprintf(nm[k++], 300, "bert.%s", role);
	if (strstr(role, "LayerNorm.") != NULL && n >= 7 && n < 280) {
		const char *alt = NULL;
		size_t cut = 0;
		if (strcmp(role + n - 7, ".weight") == 0)
			alt = ".gamma", cut = n - 7;
		else if (strcmp(role + n - 5, ".bias") == 0)
			alt = ".beta", cut = n - 5;
		if (alt != NULL) {
			snprintf(nm[k++], 300, "%.*s%s", (int)cut, role, alt);
			snprintf(nm[k++], 300, "bert.%.*s%s", (int)cut, role,
			    alt);
		}
	}
	return k;
}

int
model_find(const struct tfile *tf, const char *role,
    const struct tfentry **ep, char *err, size_t errlen)
{
	char nm[4][300];
	int k = names(nm, role);

	*ep = NULL;
	for (size_t i = 0; i < tf->n; i++)
		for (int j = 0; j < k; j++) {
			if (strcmp(tf->e[i].name, nm[j]) != 0)
				continue;
			if (*ep != NULL)
				return fail(err, errlen, "%s: tensors '%s' and "
				    "'%s' are both '%s': keep one", tf->path,
				    (*ep)->name, tf->e[i].name, role);
			*ep = &tf->e[i];
		}
	return *ep != NULL;
}

/* Tensor name, checked to have shape (d0, d1) (d1 0: a vector); or NULL. */
static const struct tfentry *
look(const struct tfile *tf, const char *name, size_t d0, size_t d1,
    char *err, size_t errlen)
{
	const struct tfentry *e;
	int nd = d1 ? 2 : 1;

	if (model_find(tf, name, &e, err, errlen) == -1)
		return NULL;
	if (e == NULL) {
		fail(err, errlen, "%s: no tensor '%s'", tf->path, name);
		return NULL;
	}
	if (e->dtype == -1) {
		fail(err, errlen, "%s: tensor '%s' has a dtype other than F32, "
		    "F16 or BF16", tf->path, e->name);
		return NULL;
	}
	if (e->ndim != nd || e->shape[0] != d0 || (nd == 2 &&
	    e->shape[1] != d1)) {
		char got[128] = "";
		size_t k = 0;
		for (int i = 0; i < e->ndim && k < 100; i++)
			k += snprintf(got + k, sizeof(got) - k, "%s%zu",
			    i ? ", " : "", e->shape[i]);
		if (nd == 2)
			fail(err, errlen, "%s: tensor '%s' has shape [%s], "
			    "config.json says [%zu, %zu]", tf->path, e->name,
			    got, d0, d1);
		else
			fail(err, errlen, "%s: tensor '%s' has shape [%s], "
			    "config.json says [%zu]", tf->path, e->name, got,
			    d0);
		return NULL;
	}
	return e;
}

/* Copy tensor name of shape (d0, d1) (d1 0: a vector) to dst as f32. */
static int
take(float *dst, const struct tfile *tf, const char *name, size_t d0,
    size_t d1, char *err, size_t errlen)
{
	const struct tfentry *e;

	if ((e = look(tf, name, d0, d1, err, errlen)) == NULL)
		return -1;
	tensor_to_f32(dst, e->data, e->dtype, e->n);
	for (size_t i = 0; i < e->n; i++)
		if (!isfinite(dst[i]))
			return fail(err, errlen, "%s: tensor '%s' element "
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
		return fail(err, errlen, "%s: 'do_lower_case' is not true or "
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
		return fail(err, errlen, "%s: %s", path, why);
	}
	lower = 1;
	while (lower && (len = getline(&line, &cap, fp)) != -1)
		lower = !wp_capital(line, len);
	free(line);
	if (ferror(fp)) {
		fclose(fp);
		return fail(err, errlen, "%s: %s", path, strerror(errno));
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
		return fail(err, errlen, "'tokens' is not an array");
	if (t->via.array.size != T)
		return fail(err, errlen, "'tokens' has %u values, 'ids' %zu",
		    t->via.array.size, T);
	for (size_t i = 0; i < T; i++) {
		const msgpack_object *o = &t->via.array.ptr[i];
		int id = ids[i];

		if (o->type != MSGPACK_OBJECT_STR)
			return fail(err, errlen, "'tokens'[%zu] is not a "
			    "string", i);
		if (id >= 0 && id < v->n && v->len[id] == o->via.str.size &&
		    memcmp(v->word[id], o->via.str.ptr, v->len[id]) == 0)
			continue;
		shown(b1, sizeof(b1), o->via.str.ptr, o->via.str.size);
		if (id < 0 || id >= v->n)
			return fail(err, errlen, "'tokens'[%zu] '%s' has id "
			    "%d, which %s/vocab.txt (%d tokens) does not "
			    "have: the record was made with another "
			    "vocabulary (tokenize -m %s)", i, b1, id, dir,
			    v->n, dir);
		return fail(err, errlen, "'tokens'[%zu] is '%s', but id %d "
		    "is '%s' in %s/vocab.txt: the record was made with "
		    "another vocabulary (tokenize -m %s)", i, b1, id,
		    shown(b2, sizeof(b2), v->word[id], v->len[id]), dir, dir);
	}
	return 0;
}

int
model_load(struct bert *m, const char *dir, char *err, size_t errlen)
{
	struct bert_config *c = &m->cfg;
	struct tfile tf;
	char path[4096], nm[300];
	size_t C, F, V, P, S, n, off = 0;
	const struct tfentry *e;
	const char *src;
	int nl, r;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (model_config(c, path, err, errlen) == -1)
		return -1;
	if ((c->lower = model_casing(dir, NULL, &src, err, errlen)) == -1)
		return -1;
	if (tfile_opendir(&tf, dir, err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s", tf.path);

	C = c->C; F = c->F; V = c->V; P = c->P; S = c->S;
	/* the classifier decides the number of labels */
	if (model_find(&tf, "classifier.weight", &e, err, errlen) == -1)
		goto bad;
	nl = e != NULL && e->ndim == 2 ? (int)e->shape[0] : 0;
	if (e != NULL && (e->ndim != 2 || e->shape[1] != C)) {
		fail(err, errlen, "%s: tensor 'classifier.weight' does not "
		    "have %zu columns (hidden_size)", path, C);
		goto bad;
	}
	c->nlabels = nl;
	/*
	 * The sizes the block is allocated by, against the file first: a
	 * config.json that says more than the file holds is a missing or
	 * misshapen tensor, not an allocation of terabytes.
	 */
	if (!look(&tf, "embeddings.word_embeddings.weight", V, C, err,
	    errlen) || !look(&tf, "embeddings.position_embeddings.weight", P,
	    C, err, errlen) || !look(&tf, "embeddings.token_type_embeddings."
	    "weight", S, C, err, errlen) || (nl > 0 && !look(&tf,
	    "classifier.weight", nl, C, err, errlen)))
		goto bad;
	for (int l = 0; l < c->L; l++) {
		snprintf(nm, sizeof(nm), "encoder.layer.%d.attention.self."
		    "query.weight", l);
		if (!look(&tf, nm, C, C, err, errlen))
			goto bad;
		snprintf(nm, sizeof(nm), "encoder.layer.%d.intermediate.dense."
		    "weight", l);
		if (!look(&tf, nm, F, C, err, errlen))
			goto bad;
	}
	n = V * C + P * C + S * C + 2 * C +
	    c->L * (3 * C * C + 3 * C + C * C + C + 2 * C + F * C + F +
	    C * F + C + 2 * C) + C * C + C + (size_t)nl * C + nl;
	/*
	 * Every tensor starts on 64 bytes, a cache line: the dense kernel
	 * (gemm.c) reads the weights a line at a time.
	 */
	n += 16 * (9 + 12 * (size_t)c->L);
	if (n > SIZE_MAX / sizeof(float) ||
	    posix_memalign((void **)&m->params, 64, n * sizeof(float)) != 0)
		errx(1, "%s: out of memory for %zu weights", path, n);
	m->nparams = n;
	m->layer = xcalloc(c->L, sizeof(*m->layer));
#define PTR(p, k)	\
	((p) = m->params + (off = (off + 15) / 16 * 16), off += (k))
#define TAKE(p, name, d0, d1) \
	do { PTR(p, (d0) * ((d1) ? (d1) : 1)); \
	    if (take(p, &tf, name, d0, d1, err, errlen) == -1) goto bad; \
	} while (0)
	TAKE(m->wte, "embeddings.word_embeddings.weight", V, C);
	TAKE(m->wpe, "embeddings.position_embeddings.weight", P, C);
	TAKE(m->tte, "embeddings.token_type_embeddings.weight", S, C);
	TAKE(m->elng, "embeddings.LayerNorm.weight", C, 0);
	TAKE(m->elnb, "embeddings.LayerNorm.bias", C, 0);
	for (int l = 0; l < c->L; l++) {
		struct bert_layer *ly = &m->layer[l];
		static const char *const qkv[] = { "query", "key", "value" };
		PTR(ly->qkvw, 3 * C * C);
		PTR(ly->qkvb, 3 * C);
		for (int i = 0; i < 3; i++) {
			snprintf(nm, sizeof(nm), "encoder.layer.%d.attention."
			    "self.%s.weight", l, qkv[i]);
			if (take(ly->qkvw + i * C * C, &tf, nm, C, C, err,
			    errlen) == -1)
				goto bad;
			snprintf(nm, sizeof(nm), "encoder.layer.%d.attention."
			    "self.%s.bias", l, qkv[i]);
			if (take(ly->qkvb + i * C, &tf, nm, C, 0, err,
			    errlen) == -1)
				goto bad;
		}
#define LT(p, what, d0, d1) \
	do { snprintf(nm, sizeof(nm), "encoder.layer.%d.%s", l, what); \
	    TAKE(p, nm, d0, d1); } while (0)
		LT(ly->aow, "attention.output.dense.weight", C, C);
		LT(ly->aob, "attention.output.dense.bias", C, 0);
		LT(ly->ln1g, "attention.output.LayerNorm.weight", C, 0);
		LT(ly->ln1b, "attention.output.LayerNorm.bias", C, 0);
		LT(ly->iw, "intermediate.dense.weight", F, C);
		LT(ly->ib, "intermediate.dense.bias", F, 0);
		LT(ly->ow, "output.dense.weight", C, F);
		LT(ly->ob, "output.dense.bias", C, 0);
		LT(ly->ln2g, "output.LayerNorm.weight", C, 0);
		LT(ly->ln2b, "output.LayerNorm.bias", C, 0);
#undef LT
	}
	if ((r = model_find(&tf, "pooler.dense.weight", &e, err, errlen)) ==
	    -1)
		goto bad;
	if (r == 1) {
		TAKE(m->pw, "pooler.dense.weight", C, C);
		TAKE(m->pb, "pooler.dense.bias", C, 0);
	}
	if (nl > 0) {
		PTR(m->cw, (size_t)nl * C);
		if (take(m->cw, &tf, "classifier.weight", nl, C, err,
		    errlen) == -1)
			goto bad;
		PTR(m->cb, nl);
		if (take(m->cb, &tf, "classifier.bias", nl, 0, err,
		    errlen) == -1)
			goto bad;
		if (m->pw == NULL) {
			fail(err, errlen, "%s: a classifier without "
			    "'pooler.dense.weight'", path);
			goto bad;
		}
	}
#undef TAKE
#undef PTR
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
