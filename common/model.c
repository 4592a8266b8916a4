/*
 * model.c -- BERT checkpoints in the Hugging Face layout: config.json,
 * model.safetensors (memory-mapped) or pytorch_model.bin, to struct bert.
 *
 * safetensors: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data; offsets are relative to the end of the header.
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
#include "ptbin.h"
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

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A key that an object of j (j itself or, with deep, one nested in it)
 * holds twice, or NULL.  cJSON keeps both and its look-ups return the
 * first, where Python's json takes the last: a file with a key twice means
 * two things.  The keys of an object are sorted, so that a header of n
 * tensors costs n log n.
 */
static const char *
dupkey(const cJSON *j, int deep)
{
	const cJSON *x;
	const char *d = NULL, **k;
	int n = 0, i;

	for (x = j->child; x != NULL; x = x->next, n++)
		if (deep && (cJSON_IsObject(x) || cJSON_IsArray(x)) &&
		    (d = dupkey(x, 1)) != NULL)
			return d;
	if (!cJSON_IsObject(j) || n < 2)
		return NULL;
	k = xcalloc(n, sizeof(*k));
	for (x = j->child, i = 0; x != NULL; x = x->next)
		k[i++] = x->string != NULL ? x->string : "";
	qsort(k, n, sizeof(*k), keycmp);
	for (i = 1; i < n && d == NULL; i++)
		if (strcmp(k[i - 1], k[i]) == 0)
			d = k[i];
	free(k);
	return d;
}

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
	if ((d = dupkey(j, 1)) != NULL) {
		fail(err, errlen, "%s: key '%s' is there twice", path, d);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- tensor files ---- */

/*
 * The one way a tensor file is opened.  stat first: a FIFO would block
 * open(2) and a directory would fail at mmap with "No such device".  The
 * open is non-blocking too, in case the name changed in between.
 */
int
tfile_map(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(tf, 0, sizeof(*tf));
	tf->path = xstrdup(path);
	if (stat(path, &st) == -1)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, "%s: not a regular file", path);
	if ((fd = open(path, O_RDONLY | O_NONBLOCK)) == -1)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	tf->maplen = st.st_size;
	if (tf->maplen > 0) {
		tf->map = mmap(NULL, tf->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
		if (tf->map == MAP_FAILED) {
			tf->map = NULL;
			close(fd);
			return fail(err, errlen, "%s: mmap: %s", path,
			    strerror(errno));
		}
	}
	close(fd);
	return 0;
}

/*
 * The header's numbers are sizes and offsets: whole, not negative, written
 * as digits alone (the Rust reader's usize; 1e3 and 12.0 are not), and at
 * most 2^53, past which a double (cJSON's number) no longer holds every
 * integer.  s[0..n) is the header, already parsed as JSON; the entry
 * "__metadata__" is free text.  Returns 0, or -1 with err naming the tensor.
 */
static int
numbers(const char *s, size_t n, const char *path, char *err, size_t errlen)
{
	const char *key = "", *str = NULL;
	size_t i = 0, k, keylen = 0, strlen_ = 0;
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			str = s + ++i;
			for (; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			strlen_ = s + i - str;
			i++;
			continue;
		}
		if (c == ':' && depth == 1 && str != NULL) {
			key = str;
			keylen = strlen_;
		} else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if (c != '-' && (c < '0' || c > '9')) {
			i++;
			continue;
		}
		for (k = i; k < n && strchr("0123456789+-.eE", s[k]) != NULL;
		    k++)
			;
		if (!(keylen == 12 && memcmp(key, "__metadata__", 12) == 0)) {
			int ok = k - i <= 16;
			for (size_t m = i; m < k && ok; m++)
				ok = s[m] >= '0' && s[m] <= '9';
			if (ok && strtod(s + i, NULL) > 9007199254740992.0)
				ok = 0;
			if (!ok)
				return fail(err, errlen, "%s: tensor '%.*s' "
				    "has %.*s, not a whole number from 0 to "
				    "2^53",
				    path, (int)(keylen > 200 ? 200 : keylen),
				    key, (int)(k - i > 40 ? 40 : k - i), s + i);
		}
		i = k;
	}
	return 0;
}

/* A data offset of the header, or UINT64_MAX when it is not one. */
static uint64_t
offset(const cJSON *x)
{
	return cJSON_IsNumber(x) && x->valuedouble >= 0 &&
	    x->valuedouble <= 9007199254740992.0 &&
	    x->valuedouble == floor(x->valuedouble) ?
	    (uint64_t)x->valuedouble : UINT64_MAX;
}

/* A tensor's bytes in the file, for the overlap check. */
struct range {
	const unsigned char	*b, *e;
	size_t			 i;
};

static int
rangecmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->b < y->b ? -1 : x->b > y->b;
}

int
safetensors_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *p;
	const char *end, *d;
	uint64_t hlen = 0;
	cJSON *j = NULL, *e;
	struct range *r;
	size_t k = 0, nr = 0, far = 0;

	if (tfile_map(tf, path, err, errlen) == -1)
		goto bad;
	p = tf->map;
	if (tf->maplen < 8) {
		fail(err, errlen, "%s: %zu bytes, too short for a safetensors "
		    "header", path, tf->maplen);
		goto bad;
	}
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > tf->maplen - 8) {
		fail(err, errlen, "%s: header length %llu is past the end of "
		    "the file (%zu bytes)", path, (unsigned long long)hlen,
		    tf->maplen);
		goto bad;
	}
	j = cJSON_ParseWithLengthOpts((const char *)p + 8, hlen, &end, 0);
	if (j == NULL || !cJSON_IsObject(j)) {
		fail(err, errlen, "%s: the header is not a JSON object", path);
		goto bad;
	}
	/* the writers pad the header with spaces; anything else is not ours */
	for (const char *q = end; q < (const char *)p + 8 + hlen; q++)
		if (*q != ' ') {
			fail(err, errlen, "%s: %zu bytes after the header's "
			    "JSON, at byte %zu, are not spaces", path,
			    (size_t)((const char *)p + 8 + hlen - q),
			    (size_t)(q - (const char *)p));
			goto bad;
		}
	if (numbers((const char *)p + 8, end - (const char *)p - 8, path, err,
	    errlen) == -1)
		goto bad;
	/* a tensor twice: cJSON keeps both, and which one is loaded? */
	if ((d = dupkey(j, 0)) != NULL) {
		fail(err, errlen, "%s: tensor '%s' is in the header twice", path,
		    d);
		goto bad;
	}
	tf->e = xcalloc(cJSON_GetArraySize(j) + 1, sizeof(*tf->e));
	cJSON_ArrayForEach(e, j) {
		struct tfentry *te = &tf->e[k];
		cJSON *dt, *sh, *off, *x;
		uint64_t b, en, n = 1, es;

		if (strcmp(e->string, "__metadata__") == 0)
			continue;
		if ((d = dupkey(e, 1)) != NULL) {
			fail(err, errlen, "%s: tensor '%s': key '%s' is there "
			    "twice", path, e->string, d);
			goto bad;
		}
		dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
		sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
		off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
		if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
		    !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2) {
			fail(err, errlen, "%s: tensor '%s': header entry lacks "
			    "dtype, shape or data_offsets", path, e->string);
			goto bad;
		}
		if (strcmp(dt->valuestring, "F32") == 0)
			te->dtype = DT_F32;
		else if (strcmp(dt->valuestring, "F16") == 0)
			te->dtype = DT_F16;
		else if (strcmp(dt->valuestring, "BF16") == 0)
			te->dtype = DT_BF16;
		else
			te->dtype = -1;	/* another dtype: kept, never loaded */
		es = te->dtype == -1 ? 0 : tensor_dtsize(te->dtype);
		if (cJSON_GetArraySize(sh) > TENSOR_MAXDIM) {
			fail(err, errlen, "%s: tensor '%s' has %d dimensions",
			    path, e->string, cJSON_GetArraySize(sh));
			goto bad;
		}
		te->ndim = 0;
		cJSON_ArrayForEach(x, sh) {
			if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
			    x->valuedouble > 1e12 ||
			    x->valuedouble != floor(x->valuedouble)) {
				fail(err, errlen, "%s: tensor '%s' has a bad "
				    "shape", path, e->string);
				goto bad;
			}
			te->shape[te->ndim++] = (size_t)x->valuedouble;
			/* before the product: [2^39, 2^25] wrapped to 0 */
			if (x->valuedouble > 0 && n > ((uint64_t)1 << 40) /
			    (uint64_t)x->valuedouble) {
				fail(err, errlen, "%s: tensor '%s' is too "
				    "large", path, e->string);
				goto bad;
			}
			n *= (uint64_t)x->valuedouble;
		}
		b = offset(cJSON_GetArrayItem(off, 0));
		en = offset(cJSON_GetArrayItem(off, 1));
		if (b > en || en > tf->maplen - 8 - hlen) {
			fail(err, errlen, "%s: tensor '%s' has data_offsets "
			    "outside the data (%llu bytes)", path, e->string,
			    (unsigned long long)(tf->maplen - 8 - hlen));
			goto bad;
		}
		if (es != 0 && en - b != n * es) {
			fail(err, errlen, "%s: tensor '%s': %llu bytes of "
			    "data for %llu elements of %s", path, e->string,
			    (unsigned long long)(en - b),
			    (unsigned long long)n, dt->valuestring);
			goto bad;
		}
		te->name = xstrdup(e->string);
		te->n = n;
		te->data = p + 8 + hlen + b;
		k++;
		tf->n = k;
	}
	/*
	 * Tensors must not overlap: sorted by where they begin, each must
	 * begin at or after the furthest end before it (n log n, every one).
	 */
	r = xcalloc(k + 1, sizeof(*r));
	for (size_t a = 0; a < k; a++) {
		const struct tfentry *te = &tf->e[a];
		size_t len = te->dtype == -1 ? 0 : te->n *
		    tensor_dtsize(te->dtype);
		if (len == 0)
			continue;
		r[nr].b = te->data;
		r[nr].e = r[nr].b + len;
		r[nr++].i = a;
	}
	qsort(r, nr, sizeof(*r), rangecmp);
	for (size_t a = 1; a < nr; a++) {
		if (r[a].b < r[far].e) {
			fail(err, errlen, "%s: tensors '%s' and '%s' overlap",
			    path, tf->e[r[far].i].name, tf->e[r[a].i].name);
			free(r);
			goto bad;
		}
		if (r[a].e > r[far].e)
			far = a;
	}
	free(r);
	cJSON_Delete(j);
	return 0;
bad:
	cJSON_Delete(j);
	tfile_release(tf);
	return -1;
}

void
tfile_release(struct tfile *tf)
{
	for (size_t i = 0; i < tf->n; i++)
		free(tf->e[i].name);
	free(tf->e);
	if (tf->map != NULL)
		munmap(tf->map, tf->maplen);
	for (size_t i = 0; i < tf->nsub; i++)
		tfile_release(&tf->sub[i]);
	free(tf->sub);
	free(tf->buf);
	free(tf->path);
	free(tf->priv);
	memset(tf, 0, sizeof(*tf));
}

const struct tfentry *
tfile_find(const struct tfile *tf, const char *name)
{
	for (size_t i = 0; i < tf->n; i++)
		if (strcmp(tf->e[i].name, name) == 0)
			return &tf->e[i];
	return NULL;
}

/* ---- choosing a tensor file, and sharded checkpoints ---- */

static int
endswith(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A file that is not an index: safetensors or pytorch_model.bin. */
static int
openone(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *m;
	int pt;

	if (endswith(path, ".bin"))
		pt = 1;
	else if (endswith(path, ".safetensors"))
		pt = 0;
	else {
		/* by content: zip, tar or pickle is torch.save's */
		if (tfile_map(tf, path, err, errlen) == -1) {
			tfile_release(tf);
			return -1;
		}
		m = tf->map;
		pt = tf->maplen >= 4 && (memcmp(m, "PK\3\4", 4) == 0 ||
		    m[0] == 0x80 || (tf->maplen >= 512 &&
		    memcmp(m + 257, "ustar", 5) == 0));
		tfile_release(tf);
	}
	if (pt)
		return ptbin_open(tf, path, err, errlen);
	if (safetensors_open(tf, path, err, errlen) == -1)
		return -1;
	tf->format = "safetensors";
	return 0;
}

/* The text of a small file, NUL-terminated; NULL with err set. */
static char *
slurp(const char *path, size_t max, char *err, size_t errlen)
{
	struct tfile tf;
	char *s;

	if (tfile_map(&tf, path, err, errlen) == -1) {
		tfile_release(&tf);
		return NULL;
	}
	if (tf.maplen > max) {
		fail(err, errlen, "%s: %zu bytes, too large for an index",
		    path, tf.maplen);
		tfile_release(&tf);
		return NULL;
	}
	s = xmalloc(tf.maplen + 1);
	if (tf.maplen > 0)
		memcpy(s, tf.map, tf.maplen);
	s[tf.maplen] = '\0';
	tfile_release(&tf);
	return s;
}

/*
 * A sharded checkpoint: {"weight_map": {tensor: shard file}} names the
 * shards, files beside the index.  Each is opened once; the entries, in
 * the order of the weight map, point into them.
 */
static int
openindex(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	cJSON *j = NULL, *wm, *x;
	char *text, *dir, *sp;
	const char *slash;
	size_t nmap, i, cap = 0;
	int r = -1;

	memset(tf, 0, sizeof(*tf));
	tf->path = xstrdup(path);
	if ((text = slurp(path, (size_t)1 << 26, err, errlen)) == NULL)
		goto out;
	j = cJSON_Parse(text);
	free(text);
	wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
	if (j == NULL || !cJSON_IsObject(j)) {
		fail(err, errlen, "%s: not valid JSON", path);
		goto out;
	}
	if (!cJSON_IsObject(wm)) {
		fail(err, errlen, "%s: no weight_map object", path);
		goto out;
	}
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup("");
	nmap = (size_t)cJSON_GetArraySize(wm);
	tf->e = xcalloc(nmap + 1, sizeof(*tf->e));
	cJSON_ArrayForEach(x, wm) {
		const struct tfentry *e = NULL;
		struct tfile *sh = NULL;

		if (!cJSON_IsString(x) || x->valuestring[0] == '\0' ||
		    strchr(x->valuestring, '/') != NULL ||
		    strcmp(x->valuestring, "..") == 0 ||
		    endswith(x->valuestring, ".json")) {
			fail(err, errlen, "%s: tensor '%s' is mapped to %s, "
			    "not a file name beside the index", path,
			    x->string, cJSON_IsString(x) ? "a bad name" :
			    "a non-string");
			break;
		}
		for (i = 0; i < tf->nsub; i++)
			if (strcmp(strrchr(tf->sub[i].path, '/') ?
			    strrchr(tf->sub[i].path, '/') + 1 :
			    tf->sub[i].path, x->valuestring) == 0)
				sh = &tf->sub[i];
		if (sh == NULL) {
			if (tf->nsub == cap) {
				cap = cap ? 2 * cap : 4;
				tf->sub = xreallocarray(tf->sub, cap,
				    sizeof(*tf->sub));
			}
			sp = xmalloc(strlen(dir) + strlen(x->valuestring) + 1);
			sprintf(sp, "%s%s", dir, x->valuestring);
			sh = &tf->sub[tf->nsub];
			if (openone(sh, sp, err, errlen) == -1) {
				free(sp);
				break;
			}
			free(sp);
			tf->nsub++;
		}
		if ((e = tfile_find(sh, x->string)) == NULL) {
			fail(err, errlen, "%s: tensor '%s' is mapped to %s, "
			    "which lacks it", path, x->string, sh->path);
			break;
		}
		tf->e[tf->n] = *e;
		tf->e[tf->n].name = xstrdup(e->name);
		tf->n++;
	}
	free(dir);
	if (tf->n < nmap)
		goto out;
	if (tf->nsub == 0) {
		fail(err, errlen, "%s: the weight_map is empty", path);
		goto out;
	}
	snprintf(tf->fmtbuf, sizeof(tf->fmtbuf), "%zu shard%s, %s", tf->nsub,
	    tf->nsub == 1 ? "" : "s", tf->sub[0].format);
	tf->format = tf->fmtbuf;
	if (strncmp(tf->sub[0].format, "PyTorch", 7) == 0)
		tf->priv = ptbin_joinskipped(tf->sub, tf->nsub);
	r = 0;
out:
	cJSON_Delete(j);
	if (r == -1)
		tfile_release(tf);
	return r;
}

int
tfile_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	if (endswith(path, ".index.json"))
		return openindex(tf, path, err, errlen);
	return openone(tf, path, err, errlen);
}

int
tfile_opendir(struct tfile *tf, const char *dir, char *err, size_t errlen)
{
	static const char *const names[] = { "model.safetensors",
	    "model.safetensors.index.json", "pytorch_model.bin",
	    "pytorch_model.bin.index.json" };
	struct stat st;
	char path[4096];
	size_t i;

	memset(tf, 0, sizeof(*tf));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		/* a FIFO or directory by that name is an error, not absent */
		if (stat(path, &st) == 0)
			return tfile_open(tf, path, err, errlen);
	}
	return fail(err, errlen, "%s: no model.safetensors or "
	    "pytorch_model.bin", dir);
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
