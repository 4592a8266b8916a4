/*
 * attend-compare -- how much two models' heads differ on the same inputs:
 * per head, the cosine similarity of the flattened attention maps of the
 * two streams' records of one id, averaged over the ids (Kovaleva et al.
 * 2019, Figure 5), and optionally the Jensen-Shannon distance of the rows.
 *
 * The streams may come in different orders.  Both are read in step; a
 * record whose id has not yet come in the other stream waits in memory
 * (copied) until it does, up to a bound (-m).  Streams in the same order
 * hold one record of each at a time.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnstat.h"
#include "plot.h"
#include "rec.h"
#include "util.h"

/* One record's maps: heads (l0 .. l0+L-1, h0 .. h0+H-1), each (T, T). */
struct item {
	char		*key;		/* id, or "id L3H7" for per-head */
	char		*where;		/* "a.mp: record 17" */
	size_t		 recno;		/* 17 */
	int		 l0, h0, L, H;
	size_t		 T;
	int		 dtype;
	const void	*data;		/* (L, H, T, T) of dtype */
	void		*copy;		/* data when buffered */
	size_t		 bytes;
	struct item	*next;		/* hash chain */
};

/* A hash table of items by key (chained, grows). */
struct table {
	struct item	**b;
	size_t		  nb, n;
};

static struct item *
tab_find(struct table *t, const char *key, struct item ***link)
{
	struct item **pp;

	if (t->nb == 0)
		return NULL;
	for (pp = &t->b[fnv1a_str(key) % t->nb]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	if (link)
		*link = pp;
	return *pp;
}

static void
tab_add(struct table *t, struct item *it)
{
	struct item **pp;

	if (t->n >= t->nb) {	/* rehash into twice the buckets */
		struct table nt = { NULL, t->nb ? 2 * t->nb : 64, 0 };

		nt.b = xcalloc(nt.nb, sizeof(*nt.b));
		for (size_t i = 0; i < t->nb; i++)
			for (struct item *e = t->b[i], *nx; e; e = nx) {
				nx = e->next;
				e->next = NULL;
				tab_add(&nt, e);
			}
		free(t->b);
		*t = nt;
	}
	tab_find(t, it->key, &pp);
	it->next = NULL;
	*pp = it;
	t->n++;
}

static struct item *
tab_take(struct table *t, const char *key)
{
	struct item **pp, *it;

	if ((it = tab_find(t, key, &pp)) != NULL) {
		*pp = it->next;
		t->n--;
	}
	return it;
}

static void
item_free(struct item *it)
{
	free(it->key);
	free(it->where);
	free(it->copy);
	free(it);
}

/* ---- the two streams ---- */

struct unmatched {
	char	*key;
	size_t	 recno;
};

struct side {
	const char		*name;
	struct rec_reader	*rr;
	int			 done;
	struct table		 seen;	/* every key read (data not kept) */
	struct table		 wait;	/* buffered, not yet matched */
	size_t			 only;	/* keys never matched */
	struct unmatched	*onlyk;	/* them, with their records */
	size_t			 nrec;
};

#define SHOWN	10		/* unmatched ids named on stderr */

static struct side	 S[2];
static size_t		 waiting, maxwait;	/* buffered bytes, bound */
static int		 dojs, verbose;
static const char	*key = "attn";		/* -k */
static size_t		 matched;

/* Per head: sums of cosine and JS, count; (Lcap, Hcap). */
static double		*cs, *js;
static size_t		*cn;
static int		 Lcap, Hcap, Lseen, Hseen;

static void
usage(void)
{
	fprintf(stderr, "usage: attend-compare [-jv] [-k key] [-m mbytes] "
	    "[-o dir] a b\n");
	exit(2);
}

static void
grow(int L, int H)
{
	int nL = L > Lcap ? L : Lcap, nH = H > Hcap ? H : Hcap;
	double *ncs, *njs;
	size_t *ncn;

	if (nL == Lcap && nH == Hcap)
		return;
	ncs = xcalloc((size_t)nL * nH, sizeof(*ncs));
	njs = xcalloc((size_t)nL * nH, sizeof(*njs));
	ncn = xcalloc((size_t)nL * nH, sizeof(*ncn));
	for (int l = 0; l < Lcap; l++)
		for (int h = 0; h < Hcap; h++) {
			ncs[l * nH + h] = cs[l * Hcap + h];
			njs[l * nH + h] = js[l * Hcap + h];
			ncn[l * nH + h] = cn[l * Hcap + h];
		}
	free(cs);
	free(js);
	free(cn);
	cs = ncs;
	js = njs;
	cn = ncn;
	Lcap = nL;
	Hcap = nH;
}

/* The item of the record just read from side s; data still in the reader. */
static struct item *
parse(struct side *s, const msgpack_object *rec)
{
	struct item *it = xcalloc(1, sizeof(*it));
	struct tensor t;
	char *id, where[512];
	int per = 0;

	id = rec_str(rec, "id");
	if (rec_get(rec, key) != NULL) {
		rec_maps(rec, key, &t);
		it->L = (int)t.shape[0];
		it->H = (int)t.shape[1];
		it->T = t.shape[2];
		it->key = id;
	} else if (rec_get(rec, "map") != NULL) {
		long long l = rec_int(rec, "layer"), h = rec_int(rec, "head");
		size_t n;

		if (l < 1 || l > 4096 || h < 1 || h > 4096)
			rec_die("layer %lld, head %lld: outside 1..4096", l, h);
		rec_tensor(rec, "map", &t);
		if (t.ndim != 2 || t.shape[0] != t.shape[1])
			rec_die("'map' must have shape [T, T]");
		it->l0 = (int)l - 1;
		it->h0 = (int)h - 1;
		it->L = it->H = 1;
		it->T = t.shape[0];
		n = strlen(id) + 32;
		it->key = xmalloc(n);
		snprintf(it->key, n, "%s L%lldH%lld", id, l, h);
		free(id);
		per = 1;
	} else
		rec_die("no key '%s' or 'map'", key);
	if (it->T == 0)
		rec_die("'%s' has no tokens", per ? "map" : key);
	it->dtype = t.dtype;
	it->data = t.data;
	it->bytes = t.n * tensor_dtsize(t.dtype);
	snprintf(where, sizeof(where), "%s: record %zu", s->name,
	    rec_count(s->rr));
	it->where = xstrdup(where);
	it->recno = rec_count(s->rr);
	return it;
}

static void
shape(char *buf, size_t len, const struct item *it)
{
	if (it->l0 || it->h0 || it->L * it->H == 1)
		snprintf(buf, len, "L%dH%d [%zu, %zu]", it->l0 + 1,
		    it->h0 + 1, it->T, it->T);
	else
		snprintf(buf, len, "[%d, %d, %zu, %zu]", it->L, it->H,
		    it->T, it->T);
}

static struct astat_check chk;	/* of every map read, both sides */
static size_t nmaps;		/* compared, for astat_tablefits() */

/* Compare the maps of a (from the first stream) and b (the second). */
static void
compare(const struct item *a, const struct item *b)
{
	size_t T = a->T, TT = T * T;
	float *p, *q;
	char err[128];

	if (a->L != b->L || a->H != b->H || a->T != b->T) {
		char sa[96], sb[96];

		shape(sa, sizeof(sa), a);
		shape(sb, sizeof(sb), b);
		errx(1, "%s: id '%s': maps %s, but %s has %s", b->where,
		    b->key, sb, a->where, sa);
	}
	nmaps += (size_t)a->L * a->H;
	if (!astat_tablefits(a->l0 + a->L > Lseen ? a->l0 + a->L : Lseen,
	    a->h0 + a->H > Hseen ? a->h0 + a->H : Hseen, nmaps))
		errx(1, "%s: id '%s': a table of %d layers x %d heads for %zu "
		    "maps is out of all proportion (layers and heads are "
		    "numbered from 1)", a->where, a->key,
		    a->l0 + a->L > Lseen ? a->l0 + a->L : Lseen,
		    a->h0 + a->H > Hseen ? a->h0 + a->H : Hseen, nmaps);
	grow(a->l0 + a->L, a->h0 + a->H);
	if (a->l0 + a->L > Lseen)
		Lseen = a->l0 + a->L;
	if (a->h0 + a->H > Hseen)
		Hseen = a->h0 + a->H;
	p = xmalloc(TT * sizeof(*p));
	q = xmalloc(TT * sizeof(*q));
	for (int l = 0; l < a->L; l++)
		for (int h = 0; h < a->H; h++) {
			size_t off = ((size_t)l * a->H + h) * TT;
			size_t k = (size_t)(a->l0 + l) * Hcap + a->h0 + h;
			double c;

			tensor_to_f32(p, (const char *)a->data +
			    off * tensor_dtsize(a->dtype), a->dtype, TT);
			tensor_to_f32(q, (const char *)b->data +
			    off * tensor_dtsize(b->dtype), b->dtype, TT);
			if (astat_check(&chk, p, T, err, sizeof(err)) == -1)
				errx(1, "%s: id '%s': L%dH%d: %s", a->where,
				    a->key, a->l0 + l + 1, a->h0 + h + 1, err);
			if (astat_check(&chk, q, T, err, sizeof(err)) == -1)
				errx(1, "%s: id '%s': L%dH%d: %s", b->where,
				    b->key, b->l0 + l + 1, b->h0 + h + 1, err);
			c = astat_cosine(p, q, TT);
			if (!isfinite(c))	/* a zero or non-finite map */
				errx(1, "id '%s': L%dH%d: no cosine: a map of "
				    "zeros or non-finite values (%s, %s)",
				    a->key, a->l0 + l + 1, a->h0 + h + 1,
				    a->where, b->where);
			cs[k] += c;
			if (dojs)
				js[k] += astat_js(p, q, T);
			cn[k]++;
		}
	free(q);
	free(p);
	matched++;
}

static void
only(struct side *s, const struct item *it)
{
	if ((s->only & (s->only - 1)) == 0)	/* 0, 1, 2, 4, ...: grow */
		s->onlyk = xreallocarray(s->onlyk, s->only ? 2 * s->only : 1,
		    sizeof(*s->onlyk));
	s->onlyk[s->only].key = xstrdup(it->key);
	s->onlyk[s->only].recno = it->recno;
	s->only++;
}

static int
byrecno(const void *a, const void *b)
{
	const struct unmatched *x = a, *y = b;

	return x->recno < y->recno ? -1 : x->recno > y->recno;
}

/*
 * A record it from side i: match it with the other side's waiting record
 * of the same key, or wait for one, or count it as unmatched when the
 * other stream has ended.
 */
static void
mark_seen(int i, const struct item *it)
{
	struct item *seen;

	if ((seen = tab_find(&S[i].seen, it->key, NULL)) != NULL)
		errx(1, "%s: duplicate id '%s' (first at %s)", it->where,
		    it->key, seen->where);
	seen = xcalloc(1, sizeof(*seen));
	seen->key = xstrdup(it->key);
	seen->where = xstrdup(it->where);
	tab_add(&S[i].seen, seen);
}

static void
handle(int i, struct item *it)
{
	struct side *s = &S[i], *o = &S[!i];
	struct item *m;

	mark_seen(i, it);

	if ((m = tab_take(&o->wait, it->key)) != NULL) {
		if (i == 0)
			compare(it, m);
		else
			compare(m, it);
		waiting -= m->bytes;
		item_free(m);
		item_free(it);
		return;
	}
	if (o->done) {
		only(s, it);
		item_free(it);
		return;
	}
	/* wait for the other stream: copy the maps out of the reader */
	if (waiting + it->bytes > maxwait)
		errx(1, "%s: id '%s': more than %zu MB of records wait for "
		    "their id in the other stream; put both in the same "
		    "order or raise -m", it->where, it->key, maxwait >> 20);
	it->copy = xmalloc(it->bytes ? it->bytes : 1);
	memcpy(it->copy, it->data, it->bytes);
	it->data = it->copy;
	waiting += it->bytes;
	tab_add(&s->wait, it);
}

/* Read the next record of side i into *it; 0 at its end. */
static int
next(int i, struct item **it)
{
	msgpack_object rec;

	if (S[i].done)
		return 0;
	if (!rec_next(S[i].rr, &rec)) {
		S[i].done = 1;
		return 0;
	}
	S[i].nrec++;
	*it = parse(&S[i], &rec);
	return 1;
}

/* The other side ended: what waits on side i can no longer match. */
static void
flush(int i)
{
	struct table *t = &S[i].wait;

	for (size_t b = 0; b < t->nb; b++)
		for (struct item *e = t->b[b], *nx; e; e = nx) {
			nx = e->next;
			only(&S[i], e);
			waiting -= e->bytes;
			item_free(e);
		}
	if (t->nb)
		memset(t->b, 0, t->nb * sizeof(*t->b));
	t->n = 0;
}

/* ---- output ---- */

static void
table(FILE *fp)
{
	fprintf(fp, "layer\thead\tcosine\t%sn\n", dojs ? "js\t" : "");
	for (int l = 0; l < Lseen; l++)
		for (int h = 0; h < Hseen; h++) {
			size_t k = (size_t)l * Hcap + h, n = cn[k];

			fprintf(fp, "%d\t%d\t", l + 1, h + 1);
			if (n == 0)
				fprintf(fp, "nan\t%s", dojs ? "nan\t" : "");
			else {
				fprintf(fp, "%.6f\t", cs[k] / (double)n);
				if (dojs)
					fprintf(fp, "%.6f\t", js[k] / (double)n);
			}
			fprintf(fp, "%zu\n", n);
		}
}

static void
heat(const char *dir, const char *name, const double *sum, const char *title,
    const char *barlab)
{
	static const char *const sfx[] = { ".png", ".svg" };
	char **ll = plot_numlabels(Lseen), **hl = plot_numlabels(Hseen);
	char errbuf[512];
	float *v = xmalloc((size_t)Lseen * Hseen * sizeof(*v));
	struct plot_heat ph;

	for (int l = 0; l < Lseen; l++)
		for (int h = 0; h < Hseen; h++) {
			size_t k = (size_t)l * Hcap + h;

			v[l * Hseen + h] = cn[k] ? (float)(sum[k] / cn[k]) :
			    NAN;
		}
	memset(&ph, 0, sizeof(ph));
	ph.v = v;
	ph.rows = Lseen;
	ph.cols = Hseen;
	ph.rlab = ll;
	ph.clab = hl;
	ph.title = title;
	ph.scale = PLOT_SEQ;
	ph.vmax = 1;
	ph.numbers = Lseen * Hseen <= 256;
	ph.barlab = barlab;
	ph.xlab = "head";
	ph.ylab = "layer";
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s%s", dir, name, sfx[i]);

		if (plot_heatmap(p, &ph, 0, 0, NULL, errbuf,
		    sizeof(errbuf)) == -1)
			errx(1, "%s", errbuf);
		free(p);
	}
	plot_freelabels(ll, Lseen);
	plot_freelabels(hl, Hseen);
	free(v);
}

static void
report(const char *dir)
{
	char *p;
	FILE *fp;

	for (int i = 0; i < 2; i++) {
		struct side *s = &S[i];

		if (s->only > 0)
			qsort(s->onlyk, s->only, sizeof(*s->onlyk), byrecno);
		for (size_t k = 0; k < s->only && k < SHOWN; k++)
			warnx("%s: record %zu: id '%s' is not in %s", s->name,
			    s->onlyk[k].recno, s->onlyk[k].key, S[!i].name);
		if (s->only > SHOWN)
			warnx("... and %zu more only in %s", s->only - SHOWN,
			    s->name);
	}
	if (S[0].only || S[1].only || verbose)
		warnx("%zu matched, %zu only in %s, %zu only in %s", matched,
		    S[0].only, S[0].name, S[1].only, S[1].name);
	if (dir == NULL)
		return;
	p = pathjoin(dir, "summary.tsv");
	if ((fp = fopen(p, "w")) == NULL)
		err(1, "%s", p);
	fprintf(fp, "matched\tonly_a\tonly_b\n%zu\t%zu\t%zu\n", matched,
	    S[0].only, S[1].only);
	closeout(fp, p);
	free(p);
	p = pathjoin(dir, "unmatched.tsv");
	if ((fp = fopen(p, "w")) == NULL)
		err(1, "%s", p);
	fprintf(fp, "stream\trecord\tid\n");
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < S[i].only; k++)
			fprintf(fp, "%s\t%zu\t%s\n", i ? "b" : "a",
			    S[i].onlyk[k].recno, S[i].onlyk[k].key);
	closeout(fp, p);
	free(p);
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	struct item *a, *b;
	struct progress pg;
	long mb = 1024;
	int ch, ra, rb;

	while ((ch = getopt_long(argc, argv, "jk:m:o:v", lopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			dojs = 1;
			break;
		case 'k':
			key = optarg;
			break;
		case 'm':
			if (parse_long(optarg, 0, 1L << 30, &mb) == -1) {
				warnx("-m '%s': expected megabytes", optarg);
				usage();
			}
			break;
		case 'o':
			dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	outinit();
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	maxwait = (size_t)mb << 20;
	if (dir != NULL && mkdirp(dir) == -1)
		err(1, "%s", dir);
	for (int i = 0; i < 2; i++) {
		S[i].name = strcmp(argv[i], "-") == 0 ? "<stdin>" : argv[i];
		S[i].rr = rec_open(1, &argv[i]);
	}

	progress_init(&pg, "pairs", 0, verbose);
	for (;;) {
		ra = next(0, &a);
		rb = next(1, &b);
		if (!ra && !rb) {
			flush(0);	/* both ended: what waits is unmatched */
			flush(1);
			break;
		}
		if (ra && rb && strcmp(a->key, b->key) == 0) {
			/* in step: compare straight from the readers */
			mark_seen(0, a);
			mark_seen(1, b);
			compare(a, b);
			item_free(a);
			item_free(b);
		} else {
			if (ra)
				handle(0, a);
			if (rb)
				handle(1, b);
		}
		/* a stream that ended strands what waits on the other side */
		for (int i = 0; i < 2; i++)
			if (S[!i].done && S[i].wait.n > 0)
				flush(i);
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	for (int i = 0; i < 2; i++)
		rec_close(S[i].rr);
	report(dir);
	astat_check_report(&chk);
	if (matched == 0)
		errx(1, "no id is in both %s and %s", S[0].name, S[1].name);

	table(stdout);
	if (dir != NULL) {
		char *p = pathjoin(dir, "compare.tsv");
		FILE *fp;

		if ((fp = fopen(p, "w")) == NULL)
			err(1, "%s", p);
		table(fp);
		closeout(fp, p);
		free(p);
		heat(dir, "cosine", cs, "cosine similarity", "cosine");
		if (dojs)
			heat(dir, "js", js, "Jensen-Shannon distance", "JS");
	}
	closeout(stdout, "stdout");	/* after the files: -d is kept */
	return 0;
}
