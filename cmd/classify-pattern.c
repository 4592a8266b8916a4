/*
 * classify-pattern -- name the attention pattern of each per-head map
 * (Kovaleva et al. 2019, section 4.1): vertical, diagonal,
 * vertical+diagonal, block or heterogeneous, with the features it was
 * decided from; fit and use a classifier of those features; summarise the
 * shares of the patterns per layer and head, as TSV and as stacked bars.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnstat.h"
#include "plot.h"
#include "rec.h"
#include "tensor.h"
#include "util.h"

#define NCLASS	5
#define NFEAT	9
#define MAGIC	"headcount-pattern-model"
#define VERSION	1
#define ROWTOL	1e-3

static const char *classes[NCLASS] = {
	"vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"
};

static const char *featname[NFEAT] = {
	"special", "offset", "block", "diag", "topk", "entropy",
	"prev", "self", "next"
};

/* The keys this filter writes (and so drops from its input). */
static const char *const outkeys[] = {
	"pattern", "diag_prev", "diag_self", "diag_next", "special", "topk",
	"block", "entropy", NULL
};

static struct {
	const char	*model, *train, *plot, *by;	/* -m, -t, -p, -b */
	const char	*key;				/* -K */
	int		 summary, verbose;
	long		 k;				/* -k */
} opt = { .k = 3 };

/* ---- features ---- */

struct feat {
	double	off[3];		/* mean row mass at j = i-1, i, i+1 */
	double	special;	/* mean row mass on [CLS]/[SEP] columns */
	double	topk;		/* mean row mass on the k most-attended cols */
	double	block;		/* mean row mass within the row's segment */
	double	entropy;	/* mean row entropy / log T */
	double	x[NFEAT];	/* the scores the rules and models use */
};

/* How far m is from u (uniform attention) towards 1: 0 uniform, 1 all. */
static double
lift(double m, double u)
{
	return u < 1 ? (m - u) / (1 - u) : 0;
}

static int
isspecial(const char *t)
{
	return strcmp(t, "[CLS]") == 0 || strcmp(t, "[SEP]") == 0;
}

/*
 * The features of map a (T, T).  tok and seg may be NULL.  Returns the
 * number of rows whose sum is off 1 by more than ROWTOL.
 */
static size_t
features(struct feat *f, const float *a, size_t T, char **tok,
    const int *seg, int k)
{
	unsigned char *spec = xcalloc(T, 1);
	double *colsum = xcalloc(T, sizeof(double));
	double nspec = 0, same = 0, ub, top = 0;
	size_t bad = 0;

	memset(f, 0, sizeof(*f));
	/* special columns: by token, or the first, last and segment ends */
	for (size_t j = 0; j < T; j++) {
		if (tok != NULL)
			spec[j] = isspecial(tok[j]);
		else
			spec[j] = j == 0 || j == T - 1 ||
			    (seg != NULL && seg[j] != seg[j + 1]);
		nspec += spec[j];
	}
	for (size_t i = 0; i < T; i++) {
		const float *r = a + i * T;
		double sum = 0, h = 0;

		for (size_t j = 0; j < T; j++) {
			double p = r[j];

			sum += p;
			colsum[j] += p;
			if (spec[j])
				f->special += p;
			if (seg == NULL || seg[i] == seg[j])
				f->block += p;
			if (p > 0)
				h -= p * log(p);
		}
		if (fabs(sum - 1) > ROWTOL)
			bad++;
		for (int o = -1; o <= 1; o++)
			if ((long)i + o >= 0 && (long)i + o < (long)T)
				f->off[o + 1] += r[i + o];
		f->entropy += T > 1 ? h / log((double)T) : 0;
	}
	for (size_t j = 0; j < T; j++)	/* segment sizes, squared */
		for (size_t i = 0; i < T; i++)
			same += seg == NULL || seg[i] == seg[j];
	ub = same / ((double)T * T);
	/* the k largest column sums */
	if ((size_t)k > T)
		k = T;
	for (int n = 0; n < k; n++) {
		size_t best = 0;
		for (size_t j = 1; j < T; j++)
			if (colsum[j] > colsum[best])
				best = j;
		top += colsum[best];
		colsum[best] = -1;
	}
	for (int o = 0; o < 3; o++)
		f->off[o] /= T;
	f->special /= T;
	f->block /= T;
	f->entropy /= T;
	if (f->entropy > 1)	/* rounding in float rows */
		f->entropy = 1;
	f->topk = top / T;

	/*
	 * Scores: each mass as a lift over what uniform attention would give,
	 * so that short and long maps are judged alike.  Uniform rows put
	 * (T - |o|) / T^2 on offset o, nspec / T on the special columns,
	 * sum(segment size^2) / T^2 within segments, k / T on k columns.
	 */
	{
		double u1 = (T - 1.0) / ((double)T * T), u0 = 1.0 / T;
		double lp = lift(f->off[0], u1), ls = lift(f->off[1], u0);
		double ln = lift(f->off[2], u1);

		f->x[0] = lift(f->special, nspec / T);
		f->x[1] = fmax(lp, fmax(ls, ln));
		f->x[2] = lift(f->block, ub);
		f->x[3] = lift(f->off[0] + f->off[1] + f->off[2],
		    (3.0 * T - 2) / ((double)T * T));
		f->x[4] = lift(f->topk, (double)k / T);
		f->x[5] = f->entropy;
		f->x[6] = lp;
		f->x[7] = ls;
		f->x[8] = ln;
	}
	free(spec);
	free(colsum);
	return bad;
}

/*
 * The default rule, on the scores S (special), O (sharpest offset) and B
 * (block); documented in classify-pattern(1).
 */
static int
rule(const struct feat *f)
{
	double S = f->x[0], O = f->x[1], B = f->x[2];

	if (S >= 0.4 && O < 0.2)
		return 0;
	if (O >= 0.4 && S < 0.2)
		return 1;
	if (S >= 0.15 && O >= 0.15)
		return 2;
	if (B >= 0.5)
		return 3;
	return 4;
}

/* ---- the trained model: multinomial logistic regression ---- */

struct model {
	int	 k;			/* classes present */
	int	 cls[NCLASS];		/* their index in classes[] */
	double	 w[NCLASS][NFEAT + 1];	/* bias, then weights */
	double	 mean[NFEAT], scale[NFEAT];
};

static void
standard(const struct model *m, const double *x, double *z)
{
	for (int i = 0; i < NFEAT; i++)
		z[i] = (x[i] - m->mean[i]) / m->scale[i];
}

/* p[k] = softmax of the class scores of standardised z. */
static void
probs(const struct model *m, const double *z, double *p)
{
	double mx = -INFINITY, s = 0;

	for (int c = 0; c < m->k; c++) {
		p[c] = m->w[c][0];
		for (int i = 0; i < NFEAT; i++)
			p[c] += m->w[c][i + 1] * z[i];
		if (p[c] > mx)
			mx = p[c];
	}
	for (int c = 0; c < m->k; c++)
		s += p[c] = exp(p[c] - mx);
	for (int c = 0; c < m->k; c++)
		p[c] /= s;
}

static int
predict(const struct model *m, const struct feat *f)
{
	double z[NFEAT], p[NCLASS];
	int best = 0;

	standard(m, f->x, z);
	probs(m, z, p);
	for (int c = 1; c < m->k; c++)
		if (p[c] > p[best])
			best = c;
	return m->cls[best];
}

/*
 * Fit by full-batch gradient descent on the mean cross-entropy with a
 * small L2 penalty; x (n, NFEAT), y (n) indices into classes[].
 */
static void
fit(struct model *m, const double *x, const int *y, size_t n)
{
	double (*g)[NFEAT + 1] = xcalloc(NCLASS, sizeof(*g));
	double *z = xmalloc(n * NFEAT * sizeof(double));
	int map[NCLASS];
	const double lr = 0.5, l2 = 1e-4;

	memset(m, 0, sizeof(*m));
	for (int c = 0; c < NCLASS; c++)
		map[c] = -1;
	for (size_t i = 0; i < n; i++)
		if (map[y[i]] == -1)
			map[y[i]] = 0;
	for (int c = 0; c < NCLASS; c++)
		if (map[c] == 0) {
			map[c] = m->k;
			m->cls[m->k++] = c;
		}
	for (int j = 0; j < NFEAT; j++) {
		double s = 0, ss = 0;

		for (size_t i = 0; i < n; i++)
			s += x[i * NFEAT + j];
		m->mean[j] = s / n;
		for (size_t i = 0; i < n; i++)
			ss += pow(x[i * NFEAT + j] - m->mean[j], 2);
		m->scale[j] = sqrt(ss / n) > 1e-9 ? sqrt(ss / n) : 1;
	}
	for (size_t i = 0; i < n; i++)
		standard(m, x + i * NFEAT, z + i * NFEAT);
	for (int it = 0; it < 3000; it++) {
		memset(g, 0, NCLASS * sizeof(*g));
		for (size_t i = 0; i < n; i++) {
			double p[NCLASS];

			probs(m, z + i * NFEAT, p);
			p[map[y[i]]] -= 1;	/* d loss / d score */
			for (int c = 0; c < m->k; c++) {
				g[c][0] += p[c];
				for (int j = 0; j < NFEAT; j++)
					g[c][j + 1] += p[c] * z[i * NFEAT + j];
			}
		}
		for (int c = 0; c < m->k; c++)
			for (int j = 0; j <= NFEAT; j++)
				m->w[c][j] -= lr * (g[c][j] / n +
				    (j > 0 ? l2 * m->w[c][j] : 0));
	}
	free(g);
	free(z);
}

static void
model_save(const struct model *m, const char *path)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "%s %d\n", MAGIC, VERSION);
	fprintf(fp, "features %d", NFEAT);
	for (int j = 0; j < NFEAT; j++)
		fprintf(fp, " %s", featname[j]);
	fprintf(fp, "\nmean");
	for (int j = 0; j < NFEAT; j++)
		fprintf(fp, " %.9g", m->mean[j]);
	fprintf(fp, "\nscale");
	for (int j = 0; j < NFEAT; j++)
		fprintf(fp, " %.9g", m->scale[j]);
	fprintf(fp, "\nclasses %d\n", m->k);
	for (int c = 0; c < m->k; c++) {
		fprintf(fp, "class %s", classes[m->cls[c]]);
		for (int j = 0; j <= NFEAT; j++)
			fprintf(fp, " %.9g", m->w[c][j]);
		fprintf(fp, "\n");
	}
	closeout(fp, path);
}

/* Read the next line into buf; die naming the file and line at EOF. */
static char *
mline(FILE *fp, const char *path, int *ln, char *buf, size_t len)
{
	(*ln)++;
	if (fgets(buf, len, fp) == NULL)
		errx(1, "%s: line %d: unexpected end of file; HINT: write a "
		    "model with classify-pattern --train", path, *ln);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* n numbers after the word at the start of s into v. */
static void
mnums(const char *s, const char *word, double *v, int n, const char *path,
    int ln)
{
	size_t wl = strlen(word);
	char *end;

	if (strncmp(s, word, wl) != 0 || s[wl] != ' ')
		errx(1, "%s: line %d: expected '%s'", path, ln, word);
	s += wl;
	for (int i = 0; i < n; i++) {
		v[i] = strtod(s, &end);
		if (end == s || !isfinite(v[i]))
			errx(1, "%s: line %d: expected %d numbers after '%s'",
			    path, ln, n, word);
		s = end;
	}
	while (*s == ' ')
		s++;
	if (*s != '\0')
		errx(1, "%s: line %d: junk after %d numbers", path, ln, n);
}

static void
model_read(struct model *m, const char *path)
{
	char buf[4096], want[512];
	FILE *fp;
	int ln = 0, v, k;
	size_t off;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	memset(m, 0, sizeof(*m));
	if (sscanf(mline(fp, path, &ln, buf, sizeof(buf)), MAGIC " %d", &v)
	    != 1 || strncmp(buf, MAGIC " ", strlen(MAGIC) + 1) != 0)
		errx(1, "%s: not a pattern model (no '%s' line); HINT: write "
		    "one with classify-pattern --train", path, MAGIC);
	if (v != VERSION)
		errx(1, "%s: model version %d, expected %d; HINT: retrain "
		    "with classify-pattern --train", path, v, VERSION);
	off = snprintf(want, sizeof(want), "features %d", NFEAT);
	for (int j = 0; j < NFEAT; j++)
		off += snprintf(want + off, sizeof(want) - off, " %s",
		    featname[j]);
	if (strcmp(mline(fp, path, &ln, buf, sizeof(buf)), want) != 0)
		errx(1, "%s: line %d: expected '%s'", path, ln, want);
	/* mline() first: ln as an argument beside it could be read before */
	mline(fp, path, &ln, buf, sizeof(buf));
	mnums(buf, "mean", m->mean, NFEAT, path, ln);
	mline(fp, path, &ln, buf, sizeof(buf));
	mnums(buf, "scale", m->scale, NFEAT, path, ln);
	for (int j = 0; j < NFEAT; j++)
		if (!(m->scale[j] > 0))
			errx(1, "%s: line %d: scale %d is not positive", path,
			    ln, j + 1);
	if (sscanf(mline(fp, path, &ln, buf, sizeof(buf)), "classes %d", &k)
	    != 1 || k < 1 || k > NCLASS)
		errx(1, "%s: line %d: expected 'classes N' with N in 1..%d",
		    path, ln, NCLASS);
	m->k = k;
	for (int c = 0; c < k; c++) {
		char *s = mline(fp, path, &ln, buf, sizeof(buf)), *name;
		int found = -1;

		if (strncmp(s, "class ", 6) != 0)
			errx(1, "%s: line %d: expected 'class NAME ...'", path,
			    ln);
		name = s + 6;
		for (int i = 0; i < NCLASS; i++) {
			size_t l = strlen(classes[i]);
			if (strncmp(name, classes[i], l) == 0 && name[l] == ' ')
				found = i;
		}
		if (found == -1)
			errx(1, "%s: line %d: unknown pattern '%.*s'", path, ln,
			    (int)strcspn(name, " "), name);
		m->cls[c] = found;
		mnums(name, classes[found], m->w[c], NFEAT + 1, path, ln);
	}
	if (fgets(buf, sizeof(buf), fp) != NULL)
		errx(1, "%s: line %d: junk after the last class", path, ln + 1);
	fclose(fp);
}

/* ---- reading maps ---- */

static int
classidx(const char *s)
{
	for (int c = 0; c < NCLASS; c++)
		if (strcmp(s, classes[c]) == 0)
			return c;
	return -1;
}

static struct astat_check chk;	/* of every map read */

/*
 * The tokens and seg of a record whose maps are T x T (when it has them;
 * *tok and *seg are NULL otherwise), what the maps are called in messages.
 * Without seg, the segments are those the [SEP]s end.
 */
static void
context(const msgpack_object *o, size_t T, const char *what, char ***tok,
    int **seg)
{
	size_t n;

	*tok = NULL;
	*seg = NULL;
	if (rec_get(o, "tokens") != NULL &&
	    (n = rec_strs(o, "tokens", tok)) != T)
		rec_die("'tokens' has %zu entries, '%s' is %zu x %zu", n, what,
		    T, T);
	if (rec_get(o, "seg") != NULL && (n = rec_ints(o, "seg", seg)) != T)
		rec_die("'seg' has %zu entries, '%s' is %zu x %zu", n, what, T,
		    T);
	if (*seg == NULL && *tok != NULL) {
		int s = 0;

		*seg = xmalloc(T * sizeof(int));
		for (size_t j = 0; j < T; j++) {
			(*seg)[j] = s;
			if (strcmp((*tok)[j], "[SEP]") == 0)
				s++;
		}
	}
}

/*
 * The features of map data (T, T) of dtype; dies naming the record, and
 * the head where (unless NULL), when the map has a value that is not
 * finite.  a is scratch (T, T).
 */
static void
mapfeat(struct feat *f, float *a, const void *data, int dtype, size_t T,
    char **tok, const int *seg, const char *where)
{
	char err[128];

	tensor_to_f32(a, data, dtype, T * T);
	if (astat_check(&chk, a, T, err, sizeof(err)) == -1) {
		if (where != NULL)
			rec_die("%s: %s", where, err);
		rec_die("%s", err);
	}
	features(f, a, T, tok, seg, (int)opt.k);
}

/*
 * The features of the current record's map; dies naming the record when
 * it has no map, or one that is not square or not finite, or tokens/seg of
 * another length.
 */
static void
recfeat(const msgpack_object *o, struct feat *f)
{
	struct tensor t;
	char **tok;
	int *seg;
	float *a;
	size_t T;

	if (rec_get(o, "map") == NULL && opt.train != NULL)
		rec_die("no key 'map' (--train reads per-head records; run "
		    "attend-dump first)");
	if (rec_get(o, "map") == NULL)
		rec_die("no key 'map' or 'attn' (run attend-dump or encode -a "
		    "first)");
	rec_tensor(o, "map", &t);
	if (t.ndim != 2 || t.shape[0] != t.shape[1]) {
		if (t.ndim == 2)
			rec_die("'map' is %zu x %zu, expected a square map",
			    t.shape[0], t.shape[1]);
		rec_die("'map' has %d dimensions, expected 2", t.ndim);
	}
	T = t.shape[0];
	if (T == 0)
		rec_die("'map' is empty");
	context(o, T, "map", &tok, &seg);
	a = xmalloc(T * T * sizeof(float));
	mapfeat(f, a, t.data, t.dtype, T, tok, seg, NULL);
	free(a);
	if (tok != NULL)
		rec_strs_free(tok, T);
	free(seg);
}

/* ---- summary ---- */

struct counts {
	size_t	n[NCLASS];
	double	special;	/* the maps' 'special' summed, when they */
	size_t	nspecial;	/* have it (classify-pattern's own) */
};

static void
count(struct counts *c, int k, double special)
{
	c->n[k]++;
	if (isfinite(special)) {
		c->special += special;
		c->nspecial++;
	}
}

static void
row(const char *scope, const char *l, const char *h, const struct counts *c)
{
	size_t n = 0;

	for (int k = 0; k < NCLASS; k++)
		n += c->n[k];
	printf("%s\t%s\t%s\t%zu", scope, l, h, n);
	for (int k = 0; k < NCLASS; k++)
		printf("\t%.4f", n ? (double)c->n[k] / n : 0.0);
	printf("\n");
}

static void
summary(struct rec_reader *rr, const char *plotfile, const char *by)
{
	struct counts all = { .n = { 0 } }, *lay = NULL, *hd = NULL, *grp = NULL;
	char **gname = NULL, buf[64], buf2[64], err[512];
	int L = 0, H = 0, ng = 0;
	msgpack_object o;

	while (rec_next(rr, &o)) {
		char *p = rec_str(&o, "pattern");
		long long l, h;
		double sp;
		int c = classidx(p);

		if (c == -1)
			rec_die("unknown pattern '%s'", p);
		free(p);
		l = rec_int(&o, "layer");
		h = rec_int(&o, "head");
		if (l < 1 || h < 1 || l > 1000 || h > 1000)
			rec_die("layer %lld head %lld is outside 1..1000", l, h);
		if (!astat_tablefits(l > L ? l : L, h > H ? h : H,
		    rec_count(rr)))
			rec_die("layer %lld, head %lld: a table of %lld layers "
			    "x %lld heads for %zu maps is out of all "
			    "proportion (layers and heads are numbered from 1)",
			    l, h, l > L ? l : L, h > H ? h : H, rec_count(rr));
		if (l > L) {
			lay = xreallocarray(lay, l, sizeof(*lay));
			memset(lay + L, 0, (l - L) * sizeof(*lay));
		}
		if (l > L || h > H) {
			int nl = l > L ? l : L, nh = h > H ? h : H;
			struct counts *n = xcalloc((size_t)nl * nh, sizeof(*n));

			for (int i = 0; i < L; i++)
				for (int j = 0; j < H; j++)
					n[i * nh + j] = hd[i * H + j];
			free(hd);
			hd = n;
			L = nl;
			H = nh;
		}
		sp = rec_get(&o, "special") != NULL ? rec_num(&o, "special") :
		    NAN;
		count(&all, c, sp);
		count(&lay[l - 1], c, sp);
		count(&hd[(l - 1) * H + h - 1], c, sp);
		if (by != NULL) {
			const msgpack_object *v = rec_get(&o, by);
			char *g;
			int i;

			if (v == NULL)
				rec_die("no key '%s' (--by)", by);
			if (v->type == MSGPACK_OBJECT_STR)
				g = xstrndup(v->via.str.ptr, v->via.str.size);
			else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
				snprintf(buf, sizeof(buf), "%lld",
				    (long long)rec_int(&o, by));
				g = xstrdup(buf);
			} else
				rec_die("'%s' is %s, expected a string or an "
				    "integer", by, rec_typename(v));
			for (i = 0; i < ng; i++)
				if (strcmp(gname[i], g) == 0)
					break;
			if (i == ng) {
				gname = xreallocarray(gname, ng + 1,
				    sizeof(*gname));
				grp = xreallocarray(grp, ng + 1, sizeof(*grp));
				memset(&grp[ng], 0, sizeof(*grp));
				gname[ng++] = g;
			} else
				free(g);
			count(&grp[i], c, sp);
		}
	}
	printf("scope\tlayer\thead\tn");
	for (int k = 0; k < NCLASS; k++)
		printf("\t%s", classes[k]);
	printf("\n");
	row("all", "-", "-", &all);
	for (int i = 0; i < ng; i++)
		row(by, gname[i], "-", &grp[i]);
	for (int l = 0; l < L; l++) {
		snprintf(buf, sizeof(buf), "%d", l + 1);
		row("layer", buf, "-", &lay[l]);
	}
	for (int l = 0; l < L; l++)
		for (int h = 0; h < H; h++) {
			snprintf(buf, sizeof(buf), "%d", l + 1);
			snprintf(buf2, sizeof(buf2), "%d", h + 1);
			row("head", buf, buf2, &hd[l * H + h]);
		}
	if (plotfile != NULL && L > 0) {
		/* one bar per group (--by) or per layer, then "all" */
		int nb = (ng > 0 ? ng : L) + 1;
		float *v = xcalloc((size_t)nb * NCLASS, sizeof(float));
		float *line = xcalloc(nb, sizeof(float));
		char **lab = xcalloc(nb, sizeof(char *));
		int haveline = 0;
		struct plot_bars b = { 0 };

		for (int i = 0; i < nb; i++) {
			const struct counts *c = i == nb - 1 ? &all :
			    ng > 0 ? &grp[i] : &lay[i];
			size_t n = 0;

			for (int k = 0; k < NCLASS; k++)
				n += c->n[k];
			for (int k = 0; k < NCLASS; k++)
				v[i * NCLASS + k] = n ? (float)c->n[k] / n : 0;
			/* the trend over the groups; "all" is no point of it */
			line[i] = c->nspecial && i < nb - 1 ? (float)(c->special /
			    c->nspecial) : NAN;
			haveline |= c->nspecial > 0;
			if (i == nb - 1)
				lab[i] = xstrdup("all");
			else if (ng > 0)
				lab[i] = xstrdup(gname[i]);
			else {
				snprintf(buf, sizeof(buf), "L%d", i + 1);
				lab[i] = xstrdup(buf);
			}
		}
		b.v = v;
		b.nbars = nb;
		b.nseries = NCLASS;
		b.blab = lab;
		b.slab = (char *const *)classes;
		b.title = "Attention patterns";
		b.xlab = ng > 0 ? by : "layer";
		b.ylab = "share of maps";
		b.ymax = 1;
		b.percent = 1;
		if (haveline) {
			b.line = line;
			b.linelab = "mass on [CLS], [SEP]";
		}
		if (plot_bars(plotfile, &b, 0, 0, err, sizeof(err)) == -1)
			errx(1, "%s", err);
		for (int i = 0; i < nb; i++)
			free(lab[i]);
		free(lab);
		free(line);
		free(v);
	}
	for (int i = 0; i < ng; i++)
		free(gname[i]);
	free(gname);
	free(grp);
	free(lay);
	free(hd);
}

/* ---- classifying and training ---- */


/* The keys a record of a head of a stack does not copy (dropkeys()). */
static const char *stackdrop[32];

/*
 * outkeys, then the keys of a head's record of a stack: its place, map
 * (a per-head record's own), and every stack of the record, -K's too.
 */
static void
dropkeys(void)
{
	size_t n = 0;

	for (int i = 0; outkeys[i] != NULL; i++)
		stackdrop[n++] = outkeys[i];
	stackdrop[n++] = "layer";
	stackdrop[n++] = "head";
	stackdrop[n++] = "map";
	for (int i = 0; rec_mapkeys[i] != NULL; i++)
		stackdrop[n++] = rec_mapkeys[i];
	stackdrop[n++] = opt.key;
}

/* A record out: rec's keys but drop, then where, the pattern and f. */
static void
put(struct rec_writer *w, const msgpack_object *rec, const char *const *drop,
    size_t l, size_t h, int c, const struct feat *f)
{
	rec_map_begin(w);
	rec_copy_except(w, rec, drop);
	if (l > 0) {
		rec_put_int(w, "layer", l);
		rec_put_int(w, "head", h);
	}
	rec_put_str(w, "pattern", classes[c]);
	rec_put_num(w, "diag_prev", f->off[0]);
	rec_put_num(w, "diag_self", f->off[1]);
	rec_put_num(w, "diag_next", f->off[2]);
	rec_put_num(w, "special", f->special);
	rec_put_num(w, "topk", f->topk);
	rec_put_num(w, "block", f->block);
	rec_put_num(w, "entropy", f->entropy);
	rec_map_end(w);
}

/*
 * Each head of the stack of maps of record o under key (a stack of attn's
 * shape) classified, by the rule or by model m (unless NULL), as a record
 * of its own.  Returns the number of maps.
 */
static size_t
classify_stack(struct rec_writer *w, const msgpack_object *o,
    const char *key, const struct model *m)
{
	struct tensor t;
	struct feat f;
	char **tok, where[64];
	int *seg;
	size_t L, H, T, ds;
	float *a;

	rec_maps(o, key, &t);
	L = t.shape[0];
	H = t.shape[1];
	T = t.shape[2];
	ds = tensor_dtsize(t.dtype);
	context(o, T, key, &tok, &seg);
	a = xmalloc(T * T * sizeof(float));
	for (size_t l = 1; l <= L; l++)
		for (size_t h = 1; h <= H; h++) {
			snprintf(where, sizeof(where), "L%zuH%zu", l, h);
			mapfeat(&f, a, (const char *)t.data +
			    ((l - 1) * H + h - 1) * T * T * ds, t.dtype, T,
			    tok, seg, where);
			put(w, o, stackdrop, l, h, m != NULL ? predict(m, &f) :
			    rule(&f), &f);
		}
	free(a);
	if (tok != NULL)
		rec_strs_free(tok, T);
	free(seg);
	return L * H;
}

/*
 * Each record's pattern, by the rule or by model m (unless NULL): of its
 * map (a per-head record), or of each head of its stack of maps (-K, or
 * attn when it has no map).
 */
static void
classify(struct rec_reader *rr, const struct model *m)
{
	struct rec_writer *w = rec_wopen(0);
	struct progress pr;
	msgpack_object o;
	struct feat f;

	dropkeys();
	progress_init(&pr, "maps", 0, opt.verbose);
	while (rec_next(rr, &o)) {
		if (opt.key != NULL || (rec_get(&o, "map") == NULL &&
		    rec_get(&o, "attn") != NULL)) {
			progress_add(&pr, classify_stack(w, &o, opt.key ?
			    opt.key : "attn", m));
			continue;
		}
		recfeat(&o, &f);
		put(w, &o, outkeys, 0, 0, m != NULL ? predict(m, &f) :
		    rule(&f), &f);
		progress_add(&pr, 1);
	}
	progress_done(&pr);
	astat_check_report(&chk);
	rec_wclose(w);
}

/* The class of a hand-labelled record's pattern. */
static int
label(const msgpack_object *o)
{
	char *p;
	int c;

	if (rec_get(o, "pattern") == NULL)
		rec_die("no key 'pattern' (--train needs hand-labelled maps)");
	p = rec_str(o, "pattern");
	if ((c = classidx(p)) == -1)
		rec_die("unknown pattern '%s', expected vertical, diagonal, "
		    "vertical+diagonal, block or heterogeneous", p);
	free(p);
	return c;
}

/* A model fitted to the labelled records, written to -t's file. */
static void
train(struct rec_reader *rr, const char *input)
{
	struct progress pr;
	struct model m;
	msgpack_object o;
	struct feat f;
	double *tx = NULL;
	int *ty = NULL, c;
	size_t n = 0, cap = 0, right = 0;

	progress_init(&pr, "maps", 0, opt.verbose);
	while (rec_next(rr, &o)) {
		/* the label first: a bad one is named before the map */
		c = label(&o);
		recfeat(&o, &f);
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			tx = xreallocarray(tx, cap, sizeof(double) * NFEAT);
			ty = xreallocarray(ty, cap, sizeof(int));
		}
		memcpy(tx + n * NFEAT, f.x, sizeof(f.x));
		ty[n++] = c;
		progress_add(&pr, 1);
	}
	progress_done(&pr);
	astat_check_report(&chk);
	if (n == 0)
		errx(1, "%s: no records to train on", input);
	fit(&m, tx, ty, n);
	for (size_t i = 0; i < n; i++) {
		memcpy(f.x, tx + i * NFEAT, sizeof(f.x));
		right += predict(&m, &f) == ty[i];
	}
	if (opt.verbose)
		fprintf(stderr, "classify-pattern: %zu maps, %d classes, "
		    "%.1f%% right on the training set\n", n, m.k,
		    100.0 * right / n);
	model_save(&m, opt.train);
	free(tx);
	free(ty);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: classify-pattern [-v] [-K key] [-k cols] [-m model] "
	    "[file ...]\n"
	    "       classify-pattern -t model [-v] [-k cols] [file ...]\n"
	    "       classify-pattern -s [-b key] [-p plot] [file ...]\n");
	exit(2);
}

/* The options into opt; returns optind. */
static int
options(int argc, char *argv[])
{
	static const struct option lopt[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "key", required_argument, NULL, 'K' },
		{ "model", required_argument, NULL, 'm' },
		{ "plot", required_argument, NULL, 'p' },
		{ "summary", no_argument, NULL, 's' },
		{ "train", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "K:b:k:m:p:st:v", lopt, NULL))
	    != -1) {
		switch (ch) {
		case 'K':
			opt.key = optarg;
			break;
		case 'b':
			opt.by = optarg;
			break;
		case 'k':
			if (parse_long(optarg, 1, 1000000, &opt.k) == -1)
				errx(2, "-k: '%s' is not a count of columns",
				    optarg);
			break;
		case 'm':
			opt.model = optarg;
			break;
		case 'p':
			opt.plot = optarg;
			break;
		case 's':
			opt.summary = 1;
			break;
		case 't':
			opt.train = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if ((opt.summary && (opt.model || opt.train)) ||
	    (opt.key && (opt.summary || opt.train)) ||
	    (opt.model && opt.train) ||
	    ((opt.plot || opt.by) && !opt.summary))
		usage();
	return optind;
}

int
main(int argc, char *argv[])
{
	struct rec_reader *rr;
	struct model m;
	int n;

	n = options(argc, argv);
	argc -= n;
	argv += n;
	outinit();
	rr = rec_open(argc, argv);
	if (opt.summary) {
		summary(rr, opt.plot, opt.by);
		closeout(stdout, "stdout");
	} else if (opt.train != NULL) {
		train(rr, argc ? argv[0] : "<stdin>");
	} else {
		if (opt.model != NULL)
			model_read(&m, opt.model);
		classify(rr, opt.model != NULL ? &m : NULL);
	}
	rec_close(rr);
	return 0;
}
