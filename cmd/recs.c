/*
 * recs -- look into a record stream: records as JSON lines for people, a
 * count, chosen keys; and JSON lines back into records, so that input can
 * be written by hand.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "rec.h"
#include "util.h"

static int	 values;	/* -t: tensors with their values */
static char	**keys;		/* -k */
static size_t	 nkeys;

static const struct option lopts[] = {
	{ "values", no_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 }
};

static const char b64abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz0123456789+/";

static void
usage(void)
{
	fprintf(stderr, "usage: recs [-ct] [-k keys] [file ...]\n"
	    "       recs -r [-z] [file ...]\n"
	    "       recs -p [-z] [file ...]\n");
	exit(2);
}

/* ---- records to JSON ---- */

static void
jstr(FILE *fp, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', fp);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			putc('\\', fp);
			putc(c, fp);
		} else if (c == '\n') {
			fputs("\\n", fp);
		} else if (c == '\t') {
			fputs("\\t", fp);
		} else if (c == '\r') {
			fputs("\\r", fp);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(fp, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c >= 0x80) {
			/* JSON is UTF-8: a byte that is not, U+FFFD */
			utf8proc_int32_t u;
			utf8proc_ssize_t k = utf8proc_iterate(
			    (const utf8proc_uint8_t *)s + i, n - i, &u);
			if (k < 0) {
				fputs("\\ufffd", fp);
				continue;
			}
			fwrite(s + i, 1, k, fp);
			i += k - 1;
		} else {
			putc(c, fp);
		}
	}
	putc('"', fp);
}

static void
jnum(FILE *fp, double v, int single)
{
	if (isnan(v) || isinf(v))
		fputs("null", fp);	/* JSON has no NaN or infinity */
	else
		fprintf(fp, single && !values ? "%.9g" : "%.17g", v);
}

static void
b64(FILE *fp, const unsigned char *p, size_t n)
{
	const char *a = b64abc;

	putc('"', fp);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		putc(a[v >> 18], fp);
		putc(a[v >> 12 & 63], fp);
		putc(i + 1 < n ? a[v >> 6 & 63] : '=', fp);
		putc(i + 2 < n ? a[v & 63] : '=', fp);
	}
	putc('"', fp);
}

static void jval(FILE *, const msgpack_object *);

/*
 * A map's key.  JSON's keys are strings: a string key is written as it is,
 * any other as the string of its JSON (1 as "1", [1, 2] as "[1,2]"), so
 * that the line stays JSON whatever the map holds.
 */
static void
jkey_out(FILE *fp, const msgpack_object *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (k->type == MSGPACK_OBJECT_STR) {
		jval(fp, k);
		return;
	}
	if ((m = open_memstream(&buf, &len)) == NULL)
		err(1, "open_memstream");
	jval(m, k);
	if (fclose(m) == EOF)
		err(1, "open_memstream");
	jstr(fp, buf, len);
	free(buf);
}

static void
jtensor(FILE *fp, const struct tensor *t)
{
	double mn = INFINITY, mx = -INFINITY, sum = 0;
	size_t nan = 0;

	fprintf(fp, "{\"dtype\":\"%s\",\"shape\":[",
	    tensor_dtypename(t->dtype));
	for (int i = 0; i < t->ndim; i++)
		fprintf(fp, "%s%zu", i ? "," : "", t->shape[i]);
	putc(']', fp);
	if (values) {
		fputs(",\"data\":[", fp);
		for (size_t i = 0; i < t->n; i++) {
			if (i)
				putc(',', fp);
			jnum(fp, tensor_get(t, i), 0);	/* exact */
		}
		fputs("]}", fp);
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		float v = tensor_get(t, i);
		if (isnan(v)) {
			nan++;
			continue;
		}
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		sum += v;
	}
	if (t->n > nan) {
		fputs(",\"min\":", fp);
		jnum(fp, mn, 1);
		fputs(",\"max\":", fp);
		jnum(fp, mx, 1);
		fputs(",\"mean\":", fp);
		jnum(fp, sum / (t->n - nan), 0);
	}
	if (nan)
		fprintf(fp, ",\"nan\":%zu", nan);
	putc('}', fp);
}

static void
jval(FILE *fp, const msgpack_object *o)
{
	struct tensor t;
	char err[256];

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", fp);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", fp);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(fp, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(fp, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
		jnum(fp, o->via.f64, 1);
		break;
	case MSGPACK_OBJECT_FLOAT64:
		jnum(fp, o->via.f64, 0);
		break;
	case MSGPACK_OBJECT_STR:
		jstr(fp, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		fputs("{\"$bin\":", fp);
		b64(fp, (const unsigned char *)o->via.bin.ptr,
		    o->via.bin.size);
		putc('}', fp);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putc('[', fp);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putc(',', fp);
			jval(fp, &o->via.array.ptr[i]);
		}
		putc(']', fp);
		break;
	case MSGPACK_OBJECT_MAP:
		if (rec_get(o, "data") != NULL &&
		    rec_obj_tensor(o, &t, err, sizeof(err)) == 0) {
			jtensor(fp, &t);
			break;
		}
		putc('{', fp);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i)
				putc(',', fp);
			jkey_out(fp, k);
			putc(':', fp);
			jval(fp, &o->via.map.ptr[i].val);
		}
		putc('}', fp);
		break;
	default:
		fputs("null", fp);
	}
}

static int
wanted(const msgpack_object *k)
{
	if (nkeys == 0)
		return 1;
	for (size_t i = 0; i < nkeys; i++)
		if (rec_obj_streq(k, keys[i]))
			return 1;
	return 0;
}

static void
tojson(struct rec_reader *rr, int count)
{
	msgpack_object rec;
	size_t n = 0;

	while (rec_next(rr, &rec)) {
		n++;
		if (count)
			continue;
		putchar('{');
		for (uint32_t i = 0, first = 1; i < rec.via.map.size; i++) {
			const msgpack_object_kv *kv = &rec.via.map.ptr[i];
			if (!wanted(&kv->key))
				continue;
			if (!first)
				putchar(',');
			first = 0;
			jkey_out(stdout, &kv->key);
			putchar(':');
			jval(stdout, &kv->val);
		}
		puts("}");
		outcheck(stdout, "stdout");	/* a reader gone ends it */
	}
	if (count)
		printf("%zu\n", n);
}

/* ---- JSON to records ---- */

/*
 * A small JSON parser that keeps what msgpack needs and cJSON drops: an
 * integer ("3") stays an integer, a number with a fraction or exponent
 * ("3.0") is a float.
 */
enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_UINT, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	int		 type;
	long long	 i;
	unsigned long long u;	/* J_UINT: above INT64_MAX */
	const char	*at;		/* where it starts in the line */
	double		 d;
	char		*s;		/* J_STR */
	size_t		 len;
	char		*key;		/* a member of an object: its key */
	size_t		 klen;
	struct jv	*kid;		/* J_ARR, J_OBJ: n of them */
	size_t		 n;
};

struct jp {
	const char	*p, *end;
	const char	*file;
	size_t		 line;
	int		 depth;
};

static void __attribute__((noreturn))
jfail(struct jp *j, const char *what)
{
	if (j->p >= j->end)
		errx(1, "%s:%zu: %s (at the end of the line)", j->file,
		    j->line, what);
	errx(1, "%s:%zu: %s (at '%.*s')", j->file, j->line, what,
	    j->end - j->p < 12 ? (int)(j->end - j->p) : 12, j->p);
}

/* jfail() with a message made as printf(3) makes one. */
static void __attribute__((noreturn, format(printf, 2, 3)))
jfailf(struct jp *j, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jfail(j, msg);
}

static void
ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static void jparse(struct jp *, struct jv *);

static void
utf8(char **b, size_t *n, size_t *cap, unsigned long c)
{
	char u[4];
	int k;

	if (c < 0x80) {
		u[0] = c;
		k = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | c >> 6;
		u[1] = 0x80 | (c & 63);
		k = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | c >> 12;
		u[1] = 0x80 | (c >> 6 & 63);
		u[2] = 0x80 | (c & 63);
		k = 3;
	} else {
		u[0] = 0xf0 | c >> 18;
		u[1] = 0x80 | (c >> 12 & 63);
		u[2] = 0x80 | (c >> 6 & 63);
		u[3] = 0x80 | (c & 63);
		k = 4;
	}
	if (*n + k + 1 > *cap) {
		*cap = (*cap + k + 1) * 2;
		*b = xreallocarray(*b, *cap, 1);
	}
	memcpy(*b + *n, u, k);
	*n += k;
}

static unsigned long
hex4(struct jp *j)
{
	unsigned long c = 0;

	for (int i = 0; i < 4; i++, j->p++) {
		int h = j->p < j->end ? *j->p : 0;
		c <<= 4;
		if (h >= '0' && h <= '9')
			c |= h - '0';
		else if (h >= 'a' && h <= 'f')
			c |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			c |= h - 'A' + 10;
		else
			jfail(j, "bad \\u escape");
	}
	return c;
}

static char *
jstring(struct jp *j, size_t *len)
{
	size_t n = 0, cap = 16;
	char *b = xmalloc(cap);

	j->p++;		/* the quote */
	for (;;) {
		if (j->p >= j->end)
			jfail(j, "unterminated string");
		unsigned char c = *j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			jfail(j, "control character in a string");
		if (c >= 0x80) {
			const char *q = j->p - 1;
			utf8proc_int32_t u;
			utf8proc_ssize_t k = utf8proc_iterate(
			    (const utf8proc_uint8_t *)q, j->end - q, &u);
			if (k < 0) {
				j->p = q;
				jfail(j, "invalid UTF-8 in a string");
			}
			if (n + k + 1 > cap) {
				cap = (cap + k + 1) * 2;
				b = xreallocarray(b, cap, 1);
			}
			memcpy(b + n, q, k);
			n += k;
			j->p = q + k;
			continue;
		}
		if (c == '\\') {
			if (j->p >= j->end)
				jfail(j, "unterminated string");
			c = *j->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '/': case '\\': case '"': break;
			case 'u': {
				unsigned long u = hex4(j);
				/*
				 * A surrogate is half of a pair, not a
				 * character: UTF-8 has no bytes for one
				 * alone.
				 */
				if (u >= 0xd800 && u < 0xdc00 &&
				    j->end - j->p >= 6 &&
				    j->p[0] == '\\' && j->p[1] == 'u') {
					j->p += 2;
					unsigned long lo = hex4(j);
					if (lo < 0xdc00 || lo > 0xdfff) {
						j->p -= 12;
						jfail(j, "a high surrogate "
						    "not followed by a low "
						    "one in a string");
					}
					u = 0x10000 + ((u - 0xd800) << 10) +
					    (lo - 0xdc00);
				} else if (u >= 0xd800 && u < 0xe000) {
					j->p -= 6;
					jfail(j, "a lone surrogate in a "
					    "string (UTF-8 has none)");
				}
				utf8(&b, &n, &cap, u);
				continue;
			}
			default:
				jfail(j, "bad escape");
			}
		}
		if (n + 2 > cap) {
			cap *= 2;
			b = xreallocarray(b, cap, 1);
		}
		b[n++] = c;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static void
jparse(struct jp *j, struct jv *v)
{
	memset(v, 0, sizeof(*v));	/* the caller sets key after */
	ws(j);
	v->at = j->p;
	if (j->p >= j->end)
		jfail(j, "unexpected end of line");
	if (++j->depth > 64)
		jfail(j, "nested too deeply");
	switch (*j->p) {
	case '{':
	case '[': {
		char close = *j->p == '{' ? '}' : ']';
		size_t cap = 0;
		v->type = close == '}' ? J_OBJ : J_ARR;
		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		for (;;) {
			char *key = NULL;
			size_t klen = 0;
			ws(j);
			if (v->type == J_OBJ) {
				if (j->p >= j->end || *j->p != '"')
					jfail(j, "expected a key");
				key = jstring(j, &klen);
				ws(j);
				if (j->p >= j->end || *j->p != ':')
					jfail(j, "expected ':'");
				j->p++;
			}
			if (v->n == cap) {
				cap = cap ? cap * 2 : 8;
				v->kid = xreallocarray(v->kid, cap,
				    sizeof(*v->kid));
			}
			jparse(j, &v->kid[v->n]);
			v->kid[v->n].key = key;
			v->kid[v->n].klen = klen;
			v->n++;
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				break;
			}
			jfail(j, close == '}' ? "expected ',' or '}'" :
			    "expected ',' or ']'");
		}
		break;
	}
	case '"':
		v->type = J_STR;
		v->s = jstring(j, &v->len);
		break;
	default:
		if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
			v->type = J_NULL;
			j->p += 4;
		} else if (j->end - j->p >= 4 &&
		    memcmp(j->p, "true", 4) == 0) {
			v->type = J_TRUE;
			j->p += 4;
		} else if (j->end - j->p >= 5 &&
		    memcmp(j->p, "false", 5) == 0) {
			v->type = J_FALSE;
			j->p += 5;
		} else {
			char *e;
			const char *s = j->p;
			int isf = 0;
			for (const char *q = s; q < j->end &&
			    strchr("+-0123456789.eE", *q); q++)
				isf |= *q == '.' || *q == 'e' || *q == 'E';
			errno = 0;
			if (isf) {
				v->type = J_NUM;
				v->d = strtod(s, &e);
			} else {
				v->type = J_INT;
				v->i = strtoll(s, &e, 10);
				if (errno == ERANGE && *s != '-') {
					/* up to UINT64_MAX, as recs shows */
					errno = 0;
					v->type = J_UINT;
					v->u = strtoull(s, &e, 10);
				}
				if (errno == ERANGE) {
					v->type = J_NUM;
					v->d = strtod(s, &e);
				}
			}
			if (e == s)
				jfail(j, "not JSON");
			j->p = e;
		}
	}
	j->depth--;
}

static const char *
jkey(const struct jv *v, size_t *len)
{
	*len = v->klen;
	return v->key;
}

static void
jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++)
		jfree(&v->kid[i]);
	free(v->kid);
	free(v->s);
	free(v->key);
}

static const struct jv *
jget(const struct jv *o, const char *key)
{
	size_t len;

	for (size_t i = 0; i < o->n; i++) {
		const char *k = jkey(&o->kid[i], &len);
		if (len == strlen(key) && memcmp(k, key, len) == 0)
			return &o->kid[i];
	}
	return NULL;
}

static void jemit(struct rec_writer *, struct jp *, const struct jv *);

/* {"dtype", "shape", "data": [numbers]}: a tensor; 1 if it was one. */
static int
jtensorout(struct rec_writer *w, struct jp *j, const struct jv *v)
{
	const struct jv *dt = jget(v, "dtype"), *sh = jget(v, "shape"),
	    *da = jget(v, "data");
	size_t shape[TENSOR_MAXDIM], n = 1;
	float *f;
	int dtype;

	if (v->n != 3 || dt == NULL || sh == NULL || da == NULL ||
	    dt->type != J_STR || sh->type != J_ARR || da->type != J_ARR)
		return 0;
	if ((dtype = tensor_dtype(dt->s)) == -1)
		jfail(j, "a tensor's dtype is not f32, f16 or bf16");
	j->p = sh->at;		/* messages below point at the shape */
	if (sh->n > TENSOR_MAXDIM)
		jfailf(j, "a tensor's shape has %zu dimensions, more than %d",
		    sh->n, TENSOR_MAXDIM);
	/* Each size checked, and the product, which must not wrap. */
	for (size_t i = 0; i < sh->n; i++) {
		const struct jv *d = &sh->kid[i];

		if (d->type == J_UINT)
			jfailf(j, "a tensor's shape: size %zu is %llu, more "
			    "than 2^30", i + 1, d->u);
		if (d->type != J_INT)
			jfailf(j, "a tensor's shape: size %zu is not an "
			    "integer", i + 1);
		if (d->i < 0)
			jfailf(j, "a tensor's shape: size %zu is negative "
			    "(%lld)", i + 1, d->i);
		if (d->i > 1 << 30)
			jfailf(j, "a tensor's shape: size %zu is %lld, more "
			    "than 2^30", i + 1, d->i);
		shape[i] = d->i;
		if (__builtin_mul_overflow(n, shape[i], &n) ||
		    n > SIZE_MAX / sizeof(float))
			jfailf(j, "a tensor's shape holds more values than "
			    "memory can (the product of its %zu sizes "
			    "overflows)", sh->n);
	}
	j->p = da->at;
	if (n != da->n)
		jfailf(j, "a tensor's data does not fit its shape (%zu values "
		    "for %zu)", da->n, n);
	for (size_t i = 0; i < n; i++)
		if (da->kid[i].type != J_INT && da->kid[i].type != J_UINT &&
		    da->kid[i].type != J_NUM && da->kid[i].type != J_NULL) {
			j->p = da->kid[i].at;
			jfail(j, "a tensor's data is not numbers");
		}
	f = xreallocarray(NULL, n, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		const struct jv *x = &da->kid[i];
		if (x->type == J_INT)
			f[i] = (float)x->i;
		else if (x->type == J_UINT)
			f[i] = (float)x->u;
		else if (x->type == J_NUM)
			f[i] = (float)x->d;
		else
			f[i] = NAN;
	}
	/* the value alone: the key was written by the map around it */
	rec_put_tensor(w, NULL, dtype, shape, (int)sh->n, f);
	free(f);
	return 1;
}

static int
b64val(int c)
{
	const char *a = b64abc, *p = c ? strchr(a, c) : NULL;

	return p ? p - a : -1;
}

static void
jemit(struct rec_writer *w, struct jp *j, const struct jv *v)
{
	msgpack_packer *pk = rec_packer(w);
	const struct jv *b;
	size_t len;

	switch (v->type) {
	case J_NULL: msgpack_pack_nil(pk); break;
	case J_TRUE: msgpack_pack_true(pk); break;
	case J_FALSE: msgpack_pack_false(pk); break;
	case J_INT: msgpack_pack_long_long(pk, v->i); break;
	case J_UINT: msgpack_pack_unsigned_long_long(pk, v->u); break;
	case J_NUM: msgpack_pack_double(pk, v->d); break;
	case J_STR:
		msgpack_pack_str(pk, v->len);
		msgpack_pack_str_body(pk, v->s, v->len);
		break;
	case J_ARR:
		msgpack_pack_array(pk, v->n);
		for (size_t i = 0; i < v->n; i++)
			jemit(w, j, &v->kid[i]);
		break;
	case J_OBJ:
		if (jtensorout(w, j, v))
			break;
		if (v->n == 1 && (b = jget(v, "$bin")) != NULL &&
		    b->type == J_STR) {	/* {"$bin": base64} */
			unsigned char *out = xmalloc(b->len + 1);
			size_t n = 0;
			uint32_t acc = 0;
			int bits = 0;
			for (size_t i = 0; i < b->len && b->s[i] != '='; i++) {
				int x = b64val((unsigned char)b->s[i]);
				if (x < 0)
					jfail(j, "bad base64 in $bin");
				acc = acc << 6 | x;
				if ((bits += 6) >= 8) {
					bits -= 8;
					out[n++] = acc >> bits & 0xff;
				}
			}
			msgpack_pack_bin(pk, n);
			msgpack_pack_bin_body(pk, out, n);
			free(out);
			break;
		}
		msgpack_pack_map(pk, v->n);
		for (size_t i = 0; i < v->n; i++) {
			const char *k = jkey(&v->kid[i], &len);
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, k, len);
			jemit(w, j, &v->kid[i]);
		}
		break;
	}
}

static void
fromjson(int argc, char *argv[], struct rec_writer *w)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (int f = 0; f < (argc ? argc : 1); f++) {
		const char *name = argc ? argv[f] : "<stdin>";
		FILE *fp = stdin;
		struct jp j = { .file = name };

		if (argc && strcmp(argv[f], "-") != 0 &&
		    (fp = fopen(argv[f], "r")) == NULL)
			err(1, "%s", argv[f]);
		while ((n = getline(&line, &cap, fp)) != -1) {
			struct jv v;
			j.line++;
			j.p = line;
			j.end = line + n;
			if (n > 0 && line[n - 1] == '\n')
				j.end--;	/* not shown in messages */
			j.depth = 0;
			ws(&j);
			if (j.p == j.end)
				continue;	/* blank line */
			if (*j.p != '{')
				jfail(&j, "a record must be a JSON object");
			jparse(&j, &v);
			ws(&j);
			if (j.p != j.end)
				jfail(&j, "junk after the record");
			jemit(w, &j, &v);
			rec_whole(w);	/* whole: it goes out on a later error */
			jfree(&v);
		}
		if (ferror(fp))
			err(1, "%s", name);
		if (fp != stdin)
			fclose(fp);
	}
	free(line);
}

int
main(int argc, char *argv[])
{
	int ch, count = 0, rev = 0, pass = 0, gz = 0;
	struct rec_reader *rr;
	struct rec_writer *w;
	msgpack_object rec;
	char *s, *k;

	while ((ch = getopt_long(argc, argv, "ck:prtz", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			count = 1;
			break;
		case 'k':
			s = xstrdup(optarg);
			for (k = strtok(s, ","); k; k = strtok(NULL, ",")) {
				keys = xreallocarray(keys, nkeys + 1,
				    sizeof(*keys));
				keys[nkeys++] = k;
			}
			break;
		case 'p':
			pass = 1;
			break;
		case 'r':
			rev = 1;
			break;
		case 't':
			values = 1;
			break;
		case 'z':
			gz = 1;
			break;
		default:
			usage();
		}
	}
	outinit();
	argc -= optind;
	argv += optind;
	if (rev + pass + count > 1 || ((rev || pass) && (nkeys || values)))
		usage();
	if (rev || pass) {
		w = rec_wopen(gz);
		if (rev) {
			fromjson(argc, argv, w);
		} else {
			rr = rec_open(argc, argv);
			while (rec_next(rr, &rec))
				rec_copy(w, &rec);
			rec_close(rr);
		}
		rec_wclose(w);
		return 0;
	}
	if (gz)
		usage();
	rr = rec_open(argc, argv);
	tojson(rr, count);
	rec_close(rr);
	closeout(stdout, "stdout");
	return 0;
}
