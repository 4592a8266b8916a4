/*
 * attend-stats -- where the heads look: per head, averaged over the examples
 * of a stream, the attention received by [CLS], [SEP], punctuation and
 * classes of words (Kovaleva et al. 2019, section 4.4), attention to the
 * previous, next and same token and row entropy (Clark et al. 2019),
 * attention from [CLS] in one layer (Kovaleva et al., Figure 7), and the
 * max attention over annotated span pairs (relation heads, section 4.2).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnstat.h"
#include "plot.h"
#include "rec.h"
#include "util.h"

/* The built-in token classes; user classes (-c) follow them. */
enum { K_CLS, K_SEP, K_PUNCT, K_USER };

/* Statistics averaged per head over the layers, in output order. */
enum { S_PREV, S_NEXT, S_SELF, S_ENTROPY, S_SPAN, S_TO };

/*
 * One statistic: sum and count per head, (Lcap, Hcap) row-major.  The
 * token-class statistics are S_TO + k ("to_NAME") for class k, then
 * fromcls_NAME for class k at index S_TO + nclass + k.
 */
struct acc {
	char	*name;
	double	*sum;	/* (Lcap, Hcap) */
	size_t	*n;	/* (Lcap, Hcap) */
};

static struct acc	*stats;
static size_t		 nstats;
static int		 Lcap, Hcap;	/* accumulator dimensions */
static unsigned char	*seen;		/* (Lcap, Hcap): a map was read */
static int		 Lseen, Hseen;	/* the largest layer and head seen */
static int		 Lattn, Hattn;	/* shape of the first stack */
static const char	*key = "attn";	/* -k: the stacks' key */

static char		**kname;	/* class names, K_CLS .. */
static struct astat_class *uclass;	/* user classes, K_USER .. */
static size_t		 nclass;

static int		 wordlevel, zipspans, verbose;
static int		 shares;	/* -n: each row divided by its sum */

enum { O_CLSLAYER = 256, O_ZIP };

static const struct option longopts[] = {
	{ "class",	required_argument,	NULL,	'c' },
	{ "cls-layer",	required_argument,	NULL,	'l' },
	{ "key",	required_argument,	NULL,	'k' },
	{ "rows",	no_argument,		NULL,	'n' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "word",	no_argument,		NULL,	'w' },
	{ "zip",	no_argument,		NULL,	O_ZIP },
	{ NULL,		0,			NULL,	0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: attend-stats [-nvw] [-c name=file] [-k key] "
	    "[-l layer] [-o dir] [--zip]\n"
	    "                    [file ...]\n");
	exit(2);
}

/* ---- accumulators ---- */

static void
grow(int L, int H)
{
	int nL = L > Lcap ? L : Lcap, nH = H > Hcap ? H : Hcap;

	if (nL == Lcap && nH == Hcap)
		return;
	unsigned char *ns = xcalloc((size_t)nL * nH, 1);

	for (int l = 0; l < Lcap; l++)
		for (int h = 0; h < Hcap; h++)
			ns[l * nH + h] = seen[l * Hcap + h];
	free(seen);
	seen = ns;
	for (size_t s = 0; s < nstats; s++) {
		double *sum = xcalloc((size_t)nL * nH, sizeof(*sum));
		size_t *n = xcalloc((size_t)nL * nH, sizeof(*n));

		for (int l = 0; l < Lcap; l++)
			for (int h = 0; h < Hcap; h++) {
				sum[l * nH + h] = stats[s].sum[l * Hcap + h];
				n[l * nH + h] = stats[s].n[l * Hcap + h];
			}
		free(stats[s].sum);
		free(stats[s].n);
		stats[s].sum = sum;
		stats[s].n = n;
	}
	Lcap = nL;
	Hcap = nH;
}

/* Add v to statistic s of head (l, h), numbered from 0; NaN is skipped. */
static void
add(size_t s, int l, int h, double v)
{
	if (isnan(v))
		return;
	stats[s].sum[l * Hcap + h] += v;
	stats[s].n[l * Hcap + h]++;
}

static void
addstat(const char *prefix, const char *name)
{
	stats = xreallocarray(stats, nstats + 1, sizeof(*stats));
	stats[nstats].name = xmalloc(strlen(prefix) + strlen(name) + 1);
	strcpy(stats[nstats].name, prefix);
	strcat(stats[nstats].name, name);
	stats[nstats].sum = NULL;
	stats[nstats].n = NULL;
	nstats++;
}

/* ---- one record ---- */

/* A record's units (tokens or words) and which classes they belong to. */
struct unit {
	size_t	  T;		/* tokens */
	size_t	  U;		/* units: T, or words with -w */
	size_t	 *wordof;	/* (T) word of each token, with -w */
	char	**text;		/* (U) the unit's text */
	unsigned char *in;	/* (nclass, U) unit u is in class k */
	int	  cls;		/* the unit of the first [CLS], or -1 */
	size_t	 *span;		/* (npairs, 2, U) unit lists, counted below */
	size_t	 *spanlen;	/* (npairs, 2) */
	size_t	  npairs;
};

static void
unit_release(struct unit *u)
{
	for (size_t i = 0; i < u->U; i++)
		free(u->text[i]);
	free(u->text);
	free(u->wordof);
	free(u->in);
	free(u->span);
	free(u->spanlen);
	memset(u, 0, sizeof(*u));
}

/* A side of a span pair: token indices, stored as units; returns count. */
static size_t
spanside(const msgpack_object *o, const struct unit *u, size_t *out,
    size_t pair, int side)
{
	size_t k = 0;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		rec_die("'spans' pair %zu: side %d is %s, expected an array "
		    "of token indices", pair + 1, side + 1, rec_typename(o));
	for (size_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		size_t t;

		if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    e->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
			rec_die("'spans' pair %zu: side %d has %s, expected "
			    "token indices", pair + 1, side + 1,
			    rec_typename(e));
		if (e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
		    e->via.u64 >= u->T)
			rec_die("'spans' pair %zu: token index %lld outside "
			    "0..%zu", pair + 1, (long long)e->via.i64,
			    u->T - 1);
		t = (size_t)e->via.u64;
		out[k++] = u->wordof ? u->wordof[t] : t;
	}
	if (k == 0)
		rec_die("'spans' pair %zu: side %d is empty", pair + 1,
		    side + 1);
	return k;
}

static void
unit_spans(struct unit *u, const msgpack_object *rec)
{
	const msgpack_object *sp = rec_get(rec, "spans");
	size_t n;

	if (sp == NULL || sp->type == MSGPACK_OBJECT_NIL)
		return;
	if (sp->type != MSGPACK_OBJECT_ARRAY)
		rec_die("'spans' is %s, expected an array of "
		    "[[from...], [to...]] pairs", rec_typename(sp));
	n = sp->via.array.size;
	u->npairs = n;
	u->span = xcalloc(n * 2 * (u->T + 1), sizeof(*u->span));
	u->spanlen = xcalloc(n * 2, sizeof(*u->spanlen));
	for (size_t p = 0; p < n; p++) {
		const msgpack_object *pr = &sp->via.array.ptr[p];

		if (pr->type != MSGPACK_OBJECT_ARRAY ||
		    pr->via.array.size != 2)
			rec_die("'spans' pair %zu is not a [from, to] pair",
			    p + 1);
		for (int s = 0; s < 2; s++)
			u->spanlen[2 * p + s] = spanside(&pr->via.array.ptr[s],
			    u, u->span + (2 * p + s) * (u->T + 1), p, s);
	}
}

/*
 * -w with the record's words (tokenize --offsets): a token starts a new
 * word unless it has the word of the token before it; a special token
 * (nil) is a word of its own.  Returns the number of words, or 0 when the
 * record has no words.
 */
static size_t
words_key(size_t *wordof, size_t T, const msgpack_object *rec)
{
	const msgpack_object *w = rec_get(rec, "words");
	size_t W = 0;

	if (w == NULL)
		return 0;
	if (w->type != MSGPACK_OBJECT_ARRAY || w->via.array.size != T)
		rec_die("'words' is not an array of %zu word numbers", T);
	for (size_t t = 0; t < T; t++) {
		const msgpack_object *e = &w->via.array.ptr[t], *p = e - 1;
		if (e->type != MSGPACK_OBJECT_NIL &&
		    e->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			rec_die("'words' item %zu is not a word number or nil",
			    t + 1);
		if (t > 0 && e->type != MSGPACK_OBJECT_NIL &&
		    p->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    p->via.u64 == e->via.u64)
			wordof[t] = wordof[t - 1];
		else
			wordof[t] = W++;
	}
	return W;
}

/* A word's text without the ▁ or Ġ its first piece has in front. */
static char *
wordtext(char **tokens, const size_t *wordof, size_t T, size_t w)
{
	char *s = astat_wordtext(tokens, wordof, T, w);
	size_t n = strlen(s);

	if (n > 3 && memcmp(s, "\342\226\201", 3) == 0)
		memmove(s, s + 3, n - 2);
	else if (n > 2 && memcmp(s, "\304\240", 2) == 0)
		memmove(s, s + 2, n - 1);
	return s;
}

static void
unit_init(struct unit *u, char **tokens, size_t T, const msgpack_object *rec)
{
	memset(u, 0, sizeof(*u));
	u->T = T;
	if (wordlevel) {
		u->wordof = xmalloc(T * sizeof(*u->wordof));
		if ((u->U = words_key(u->wordof, T, rec)) == 0)
			u->U = astat_words(u->wordof, tokens, T);
		u->text = xmalloc(u->U * sizeof(*u->text));
		for (size_t w = 0; w < u->U; w++)
			u->text[w] = wordtext(tokens, u->wordof, T, w);
	} else {
		u->U = T;
		u->text = xmalloc(T * sizeof(*u->text));
		for (size_t t = 0; t < T; t++)
			u->text[t] = xstrdup(tokens[t]);
	}
	u->in = xcalloc(nclass * u->U, 1);
	u->cls = -1;
	for (size_t i = 0; i < u->U; i++) {
		const char *s = u->text[i];

		if (strcmp(s, "[CLS]") == 0) {
			u->in[K_CLS * u->U + i] = 1;
			if (u->cls == -1)
				u->cls = (int)i;
		}
		u->in[K_SEP * u->U + i] = strcmp(s, "[SEP]") == 0;
		u->in[K_PUNCT * u->U + i] = astat_ispunct(s);
		for (size_t k = K_USER; k < nclass; k++)
			u->in[k * u->U + i] =
			    astat_class_has(&uclass[k - K_USER], s);
	}
	unit_spans(u, rec);
}

/*
 * The statistics of one head's map a (U, U) at units u; col is scratch (U).
 */
static void
head(const struct unit *u, const float *a, double *col, int l, int h)
{
	size_t U = u->U;

	add(S_PREV, l, h, astat_offset(a, U, -1));
	add(S_NEXT, l, h, astat_offset(a, U, 1));
	add(S_SELF, l, h, astat_offset(a, U, 0));
	add(S_ENTROPY, l, h, astat_entropy(a, U));

	/*
	 * Attention received by a class: the column mean of each of its
	 * units, the max over them; records without the class add nothing.
	 */
	for (size_t j = 0; j < U; j++)
		col[j] = astat_received(a, U, j);
	for (size_t k = 0; k < nclass; k++) {
		const unsigned char *in = u->in + k * U;
		double mx = NAN, fx = NAN;

		for (size_t j = 0; j < U; j++) {
			if (!in[j])
				continue;
			if (isnan(mx) || col[j] > mx)
				mx = col[j];
			/* Figure 7: the row of [CLS], max over the class */
			if (u->cls >= 0 && (isnan(fx) ||
			    a[(size_t)u->cls * U + j] > fx))
				fx = a[(size_t)u->cls * U + j];
		}
		add(S_TO + k, l, h, mx);
		add(S_TO + nclass + k, l, h, fx);
	}

	/* Relation heads: per pair, the max over its (from, to) unit pairs. */
	for (size_t p = 0; p < u->npairs; p++) {
		const size_t *fr = u->span + 2 * p * (u->T + 1);
		const size_t *to = fr + u->T + 1;
		size_t nf = u->spanlen[2 * p], nt = u->spanlen[2 * p + 1];
		double mx = -1;

		for (size_t i = 0; i < nf; i++) {
			if (zipspans) {	/* the authors' code: zip(from, to) */
				if (i < nt && a[fr[i] * U + to[i]] > mx)
					mx = a[fr[i] * U + to[i]];
				continue;
			}
			for (size_t j = 0; j < nt; j++)
				if (a[fr[i] * U + to[j]] > mx)
					mx = a[fr[i] * U + to[j]];
		}
		add(S_SPAN, l, h, mx);
	}
}

static struct astat_check chk;	/* of every map read */
static size_t nmaps;		/* read, for astat_tablefits() */

/* Convert head (l, h) of t at offset off to f32 in m (T, T), checked. */
static void
getmap(float *m, const struct tensor *t, size_t off, size_t T, int l, int h)
{
	char err[128];

	tensor_to_f32(m, (const char *)t->data + off * tensor_dtsize(t->dtype),
	    t->dtype, T * T);
	for (size_t i = 0; shares && i < T; i++) {
		double s = 0;

		for (size_t j = 0; j < T; j++)
			s += m[i * T + j];
		for (size_t j = 0; s > 0 && j < T; j++)
			m[i * T + j] = (float)(m[i * T + j] / s);
	}
	if (astat_check(&chk, m, T, err, sizeof(err)) == -1)
		rec_die("L%dH%d: %s", l + 1, h + 1, err);
}

static void
record(const msgpack_object *rec)
{
	struct tensor t;
	struct unit u;
	char **tokens;
	size_t T;
	int L, H, l0, h0, per;
	float *m, *w;
	double *col;

	if (rec_get(rec, key) != NULL) {
		rec_maps(rec, key, &t);
		L = (int)t.shape[0];
		H = (int)t.shape[1];
		if (Lattn == 0) {
			Lattn = L;
			Hattn = H;
		} else if (L != Lattn || H != Hattn)
			rec_die("'%s' has %d layers x %d heads, earlier "
			    "records %d x %d", key, L, H, Lattn, Hattn);
		l0 = h0 = 0;
		per = 0;
	} else if (rec_get(rec, "map") != NULL) {
		long long ll = rec_int(rec, "layer"), hh = rec_int(rec, "head");

		if (ll < 1 || ll > 4096 || hh < 1 || hh > 4096)
			rec_die("layer %lld, head %lld: outside 1..4096",
			    ll, hh);
		rec_tensor(rec, "map", &t);
		if (t.ndim != 2 || t.shape[0] != t.shape[1])
			rec_die("'map' must have shape [T, T]");
		l0 = (int)ll - 1;
		h0 = (int)hh - 1;
		L = H = 1;
		per = 1;
	} else
		rec_die("no key '%s' or 'map'", key);
	T = t.shape[per ? 0 : 2];
	if (rec_strs(rec, "tokens", &tokens) != T)
		rec_die("'tokens' has a length other than the %zu of '%s'",
		    T, per ? "map" : key);
	if (T == 0)
		rec_die("no tokens");
	nmaps += (size_t)L * H;
	if (!astat_tablefits(l0 + L > Lseen ? l0 + L : Lseen,
	    h0 + H > Hseen ? h0 + H : Hseen, nmaps))
		rec_die("layer %d, head %d: a table of %d layers x %d heads "
		    "for %zu maps is out of all proportion (layers and heads "
		    "are numbered from 1)", l0 + 1, h0 + 1,
		    l0 + L > Lseen ? l0 + L : Lseen,
		    h0 + H > Hseen ? h0 + H : Hseen, nmaps);
	grow(l0 + L, h0 + H);
	if (l0 + L > Lseen)
		Lseen = l0 + L;
	if (h0 + H > Hseen)
		Hseen = h0 + H;

	unit_init(&u, tokens, T, rec);
	m = xmalloc(T * T * sizeof(*m));
	w = wordlevel ? xmalloc(u.U * u.U * sizeof(*w)) : NULL;
	col = xmalloc(u.U * sizeof(*col));
	for (int l = 0; l < L; l++)
		for (int h = 0; h < H; h++) {
			getmap(m, &t, ((size_t)l * H + h) * T * T, T,
			    l0 + l, h0 + h);
			seen[(l0 + l) * Hcap + h0 + h] = 1;
			if (wordlevel)
				astat_wordmap(w, m, u.wordof, T, u.U);
			head(&u, wordlevel ? w : m, col, l0 + l, h0 + h);
		}
	free(col);
	free(w);
	free(m);
	unit_release(&u);
	rec_strs_free(tokens, T);
}

/* ---- output ---- */

static double
value(size_t s, int l, int h)
{
	size_t n = stats[s].n[l * Hcap + h];

	return n ? stats[s].sum[l * Hcap + h] / (double)n : NAN;
}

/* Rows of statistic s for layers l0..l1-1, to fp; stat column if wide. */
static void
rows(FILE *fp, size_t s, int l0, int l1, int wide)
{
	for (int l = l0; l < l1; l++)
		for (int h = 0; h < Hseen; h++) {
			double v = value(s, l, h);

			if (!seen[l * Hcap + h])
				continue;	/* rows for maps read only */
			if (wide)
				fprintf(fp, "%s\t", stats[s].name);
			if (isnan(v))
				fprintf(fp, "%d\t%d\tnan\t0\n", l + 1, h + 1);
			else
				fprintf(fp, "%d\t%d\t%.6f\t%zu\n", l + 1,
				    h + 1, v, stats[s].n[l * Hcap + h]);
		}
}

/* A heat map of v (rows, Hseen) to dir/name.png and .svg. */
static void
heat(const char *dir, const char *name, const float *v, int rows,
    char *const *rlab, const char *title, const char *ylab)
{
	static const char *const sfx[] = { ".png", ".svg" };
	char **hl = plot_numlabels(Hseen), errbuf[512];
	struct plot_heat ph;

	memset(&ph, 0, sizeof(ph));
	ph.v = v;
	ph.rows = rows;
	ph.cols = Hseen;
	ph.rlab = rlab;
	ph.clab = hl;
	ph.title = title;
	ph.scale = PLOT_SEQ;
	ph.numbers = rows * Hseen <= 256;
	ph.xlab = "head";
	ph.ylab = ylab;
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s%s", dir, name, sfx[i]);

		if (plot_heatmap(p, &ph, 0, 0, NULL, errbuf,
		    sizeof(errbuf)) == -1)
			errx(1, "%s", errbuf);
		free(p);
	}
	plot_freelabels(hl, Hseen);
}

static void
output(const char *dir, int clslayer)
{
	size_t nper = S_TO + nclass;	/* statistics over every layer */
	char **ll = plot_numlabels(Lseen), **fl, title[64];
	float *v, *fv;

	/* the combined table on stdout */
	printf("stat\tlayer\thead\tvalue\tn\n");
	for (size_t s = 0; s < nstats; s++)
		if (s < nper)
			rows(stdout, s, 0, Lseen, 1);
		else
			rows(stdout, s, clslayer - 1, clslayer, 1);
	if (dir == NULL) {
		plot_freelabels(ll, Lseen);
		return;
	}

	v = xmalloc((size_t)Lseen * Hseen * sizeof(*v));
	fv = xmalloc(nclass * (size_t)Hseen * sizeof(*fv));
	fl = xmalloc(nclass * sizeof(*fl));
	for (size_t s = 0; s < nstats; s++) {
		char *p = xasprintf("%s/%s.tsv", dir, stats[s].name);
		FILE *fp;
		int fc = s >= nper;

		if ((fp = fopen(p, "w")) == NULL)
			err(1, "%s", p);
		fprintf(fp, "layer\thead\tvalue\tn\n");
		rows(fp, s, fc ? clslayer - 1 : 0, fc ? clslayer : Lseen, 0);
		closeout(fp, p);
		free(p);
		for (int l = 0; l < Lseen; l++)
			for (int h = 0; h < Hseen; h++) {
				if (fc && l == clslayer - 1)
					fv[(s - nper) * Hseen + h] =
					    (float)value(s, l, h);
				v[l * Hseen + h] = (float)value(s, l, h);
			}
		if (!fc)
			heat(dir, stats[s].name, v, Lseen, ll,
			    stats[s].name, "layer");
	}
	/* Figure 7: one row per class, from [CLS] in one layer */
	for (size_t k = 0; k < nclass; k++)
		fl[k] = kname[k];
	snprintf(title, sizeof(title), "from [CLS], layer %d", clslayer);
	heat(dir, "fromcls", fv, (int)nclass, fl, title, NULL);
	free(fl);
	free(fv);
	free(v);
	plot_freelabels(ll, Lseen);
}

/* ---- options ---- */

static void
addclass(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name, errbuf[256];
	struct astat_class *c;

	if (eq == NULL || eq == arg || eq[1] == '\0') {
		warnx("-c '%s': expected name=file", arg);
		usage();
	}
	name = xstrndup(arg, (size_t)(eq - arg));
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-') {
			warnx("-c '%s': a class name is letters, digits, "
			    "'_' and '-'", arg);
			free(name);
			usage();
		}
	for (size_t k = 0; k < nclass; k++)
		if (strcmp(kname[k], name) == 0) {
			warnx("-c '%s': class '%s' given twice", arg, name);
			free(name);
			usage();
		}
	uclass = xreallocarray(uclass, nclass - K_USER + 1, sizeof(*uclass));
	c = &uclass[nclass - K_USER];
	if (astat_class_load(c, name, eq + 1, errbuf, sizeof(errbuf)) == -1) {
		int e = errno;

		free(name);
		if (e)
			errx(1, "%s: %s", eq + 1, strerror(e));
		errx(1, "%s: %s", eq + 1, errbuf);
	}
	kname = xreallocarray(kname, nclass + 1, sizeof(*kname));
	kname[nclass++] = name;
}

int
main(int argc, char *argv[])
{
	struct rec_reader *rr;
	struct progress pg;
	msgpack_object rec;
	const char *dir = NULL;
	long clslayer = 0;
	int ch;
	size_t nrec = 0;

	kname = xmalloc(K_USER * sizeof(*kname));
	kname[K_CLS] = xstrdup("cls");
	kname[K_SEP] = xstrdup("sep");
	kname[K_PUNCT] = xstrdup("punct");
	nclass = K_USER;
	while ((ch = getopt_long(argc, argv, "c:k:l:no:vw", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			addclass(optarg);
			break;
		case 'k':
			key = optarg;
			break;
		case 'l':
			if (parse_long(optarg, 1, 4096, &clslayer) == -1) {
				warnx("-l '%s': expected a layer number",
				    optarg);
				usage();
			}
			break;
		case 'n':
			shares = 1;
			break;
		case 'o':
			dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			wordlevel = 1;
			break;
		case O_ZIP:
			zipspans = 1;
			break;
		default:
			usage();
		}
	}
	outinit();
	argc -= optind;
	argv += optind;
	if (dir != NULL && mkdirp(dir) == -1)
		err(1, "%s", dir);

	addstat("", "prev");
	addstat("", "next");
	addstat("", "self");
	addstat("", "entropy");
	addstat("", "span");
	for (size_t k = 0; k < nclass; k++)
		addstat("to_", kname[k]);
	for (size_t k = 0; k < nclass; k++)
		addstat("fromcls_", kname[k]);

	rr = rec_open(argc, argv);
	progress_init(&pg, "records", 0, verbose);
	while (rec_next(rr, &rec)) {
		record(&rec);
		nrec++;
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	rec_close(rr);
	if (nrec == 0)
		errx(1, "%s: no records", argc ? argv[0] : "<stdin>");
	if (clslayer == 0)
		clslayer = Lseen;
	else if (clslayer > Lseen)
		errx(1, "-l %ld: the records have %d layers", clslayer, Lseen);
	astat_check_report(&chk);
	output(dir, (int)clslayer);
	closeout(stdout, "stdout");	/* after the files: -d is kept */
	return 0;
}
