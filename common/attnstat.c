/* attnstat.c -- per-head attention statistics; see attnstat.h. */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "attnstat.h"
#include "util.h"

double
astat_received(const float *a, size_t T, size_t j)
{
	double s = 0;

	/* column j, summed down the T query rows, then / T */
	for (size_t i = 0; i < T; i++)
		s += a[i * T + j];
	return T ? s / (double)T : NAN;
}

double
astat_offset(const float *a, size_t T, long k)
{
	double s = 0;
	size_t n = 0;

	for (size_t i = 0; i < T; i++) {
		long j = (long)i + k;

		if (j < 0 || j >= (long)T)
			continue;	/* no token at that offset */
		s += a[i * T + (size_t)j];
		n++;
	}
	return n ? s / (double)n : NAN;
}

double
astat_entropy(const float *a, size_t T)
{
	double s = 0;

	for (size_t i = 0; i < T; i++) {
		double h = 0;

		for (size_t j = 0; j < T; j++) {
			double p = a[i * T + j];

			if (p > 0)
				h -= p * log(p);
		}
		s += h;
	}
	return T ? s / (double)T : NAN;
}

double
astat_cosine(const float *a, const float *b, size_t n)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa == 0 || bb == 0)
		return NAN;
	return ab / (sqrt(aa) * sqrt(bb));
}

/* p ln(p / m) with 0 ln 0 = 0. */
static double
kl_term(double p, double m)
{
	return p > 0 && m > 0 ? p * log(p / m) : 0;
}

double
astat_js(const float *a, const float *b, size_t T)
{
	double s = 0;

	for (size_t i = 0; i < T; i++) {
		const float *p = a + i * T, *q = b + i * T;
		double d = 0;

		/* JSD = (KL(p || m) + KL(q || m)) / 2, m = (p + q) / 2 */
		for (size_t j = 0; j < T; j++) {
			double m = 0.5 * ((double)p[j] + q[j]);

			d += 0.5 * (kl_term(p[j], m) + kl_term(q[j], m));
		}
		d /= log(2.0);		/* nats to bits: 0 <= d <= 1 */
		s += d > 0 ? sqrt(d) : 0;
	}
	return T ? s / (double)T : NAN;
}

static int
isspecial(const char *t)
{
	size_t n = strlen(t);

	return n > 2 && t[0] == '[' && t[n - 1] == ']';
}

size_t
astat_words(size_t *wordof, char *const *tokens, size_t T)
{
	size_t W = 0;

	for (size_t t = 0; t < T; t++) {
		if (t > 0 && strncmp(tokens[t], "##", 2) == 0 &&
		    !isspecial(tokens[t - 1]) && !isspecial(tokens[t]))
			wordof[t] = wordof[t - 1];
		else
			wordof[t] = W++;
	}
	return W;
}

void
astat_wordmap(float *w, const float *a, const size_t *wordof, size_t T,
    size_t W)
{
	size_t *len = xcalloc(W, sizeof(*len));

	for (size_t t = 0; t < T; t++)
		len[wordof[t]]++;
	memset(w, 0, W * W * sizeof(*w));
	/* to a word: sum its pieces' columns; from: mean of their rows */
	for (size_t i = 0; i < T; i++) {
		float *row = w + wordof[i] * W;
		float f = 1.0f / (float)len[wordof[i]];

		for (size_t j = 0; j < T; j++)
			row[wordof[j]] += f * a[i * T + j];
	}
	free(len);
}

char *
astat_wordtext(char *const *tokens, const size_t *wordof, size_t T, size_t k)
{
	size_t n = 1;
	char *s;

	for (size_t t = 0; t < T; t++)
		if (wordof[t] == k)
			n += strlen(tokens[t]);
	s = xmalloc(n);
	s[0] = '\0';
	for (size_t t = 0; t < T; t++) {
		const char *p = tokens[t];

		if (wordof[t] != k)
			continue;
		if (t > 0 && wordof[t - 1] == k && strncmp(p, "##", 2) == 0)
			p += 2;
		strcat(s, p);
	}
	return s;
}

int
astat_ispunct(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t c;
	utf8proc_ssize_t k;

	if (*p == '\0')
		return 0;
	while (*p != '\0') {
		if ((k = utf8proc_iterate(p, -1, &c)) < 0)
			return 0;
		switch (utf8proc_category(c)) {
		case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD:
		case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
		case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
		case UTF8PROC_CATEGORY_PO:
			break;
		default:
			return 0;
		}
		p += k;
	}
	return 1;
}

/* NFC and case-folded copy of s (xmalloc'd), or NULL if not UTF-8. */
static char *
fold(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	char *r;

	if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
	    UTF8PROC_CASEFOLD) < 0)
		return NULL;
	r = xstrdup((char *)out);
	free(out);
	return r;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
astat_class_load(struct astat_class *c, const char *name, const char *path,
    char *err, size_t errlen)
{
	FILE *fp;
	char *line = NULL, *p, *e;
	size_t cap = 0, alloc = 0, lineno = 0;
	ssize_t len;

	memset(c, 0, sizeof(*c));
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (c->n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			c->words = xreallocarray(c->words, alloc,
			    sizeof(*c->words));
		}
		if ((c->words[c->n] = fold(p)) == NULL) {
			snprintf(err, errlen, "line %zu: not UTF-8", lineno);
			free(line);
			fclose(fp);
			astat_class_release(c);
			errno = 0;
			return -1;
		}
		c->n++;
	}
	free(line);
	if (ferror(fp)) {
		int e2 = errno;

		fclose(fp);
		astat_class_release(c);
		errno = e2;
		return -1;
	}
	fclose(fp);
	qsort(c->words, c->n, sizeof(*c->words), cmpstr);
	c->name = xstrdup(name);
	return 0;
}

void
astat_class_release(struct astat_class *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->words[i]);
	free(c->words);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

int
astat_class_has(const struct astat_class *c, const char *tok)
{
	char *f;
	int r;

	if (c->n == 0 || (f = fold(tok)) == NULL)
		return 0;
	r = bsearch(&f, c->words, c->n, sizeof(*c->words), cmpstr) != NULL;
	free(f);
	return r;
}

/* ---- checks ---- */

int
astat_check(struct astat_check *c, const float *a, size_t T, char *err,
    size_t errlen)
{
	size_t bad = 0, neg = 0;

	for (size_t i = 0; i < T; i++) {
		const float *r = a + i * T;
		double sum = 0;

		for (size_t j = 0; j < T; j++) {
			if (!isfinite(r[j])) {
				snprintf(err, errlen, "non-finite attention "
				    "at row %zu, column %zu", i + 1, j + 1);
				return -1;
			}
			neg += r[j] < 0;
			sum += r[j];
		}
		bad += fabs(sum - 1) > ASTAT_ROWTOL;
	}
	c->maps++;
	c->badrows += bad;
	c->badmaps += bad > 0;
	c->neg += neg;
	c->negmaps += neg > 0;
	return 0;
}

void
astat_check_report(const struct astat_check *c)
{
	if (c->badrows > 0)
		warnx("%zu rows in %zu maps do not sum to 1 (tolerance %g)",
		    c->badrows, c->badmaps, ASTAT_ROWTOL);
	if (c->neg > 0)
		warnx("%zu negative values in %zu maps", c->neg, c->negmaps);
}

int
astat_tablefits(size_t L, size_t H, size_t nmaps)
{
	return L <= 4096 && H <= 4096 && L * H <= 4 * nmaps + 4096;
}
