/*
 * ablate -- run a classifier on each token record with no head disabled
 * and then with each requested set of heads disabled, and write one record
 * per (example, set) with the logits, for score(1).
 *
 * Records go in batches, as encode packs them.  The layers below a set's
 * first disabled layer compute what the baseline's do, so the baseline
 * keeps each layer's input for the batch and every set starts from the
 * input of its first disabled layer; the sets that start at layer l share
 * its attention (see bert.h) and run on together, copies of the batch
 * packed into one.  A row's bits do not depend on what it is packed with,
 * so every logit is encode --disable's.
 */
#include <ctype.h>
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert.h"
#include "blas.h"
#include "headset.h"
#include "model.h"
#include "rec.h"
#include "tokrec.h"
#include "util.h"

#define USAGE	"usage: ablate -m model [-v] [-b tokens] [--heads spec] " \
		"[--layers spec]\n" \
		"              [--mode uniform|zero] [--no-reuse] " \
		"[--precision f32|bf16]\n" \
		"              [--sets file] [file ...]\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(2);
}

/* ---- head sets ---- */

struct set {
	char		*name;		/* "L3H7", "L3", or the file's name */
	struct headset	 hs;
	int		 first;		/* first layer with a disabled head */
};

static struct set	*sets;
static size_t		 nsets;

static void
set_add(char *name, struct headset *hs)
{
	struct set *s;
	int l, h;

	for (size_t i = 0; i < nsets; i++)
		if (strcmp(sets[i].name, name) == 0)
			errx(2, "head set '%s' is named twice", name);
	sets = xreallocarray(sets, nsets + 1, sizeof(*sets));
	s = &sets[nsets++];
	s->name = name;
	s->hs = *hs;
	s->first = 0;
	for (l = 1; l <= hs->L && s->first == 0; l++)
		for (h = 1; h <= hs->H; h++)
			if (headset_has(hs, l, h)) {
				s->first = l;
				break;
			}
}

/* One head, or a whole layer (h 0), as a set of its own. */
static void
set_one(int L, int H, int l, int h)
{
	struct headset hs;
	char name[32], err[128];

	if (h > 0)
		snprintf(name, sizeof(name), "%d:%d", l, h);
	else
		snprintf(name, sizeof(name), "%d:*", l);
	if (headset_parse(&hs, name, L, H, err, sizeof(err)) == -1)
		errx(2, "%s", err);
	if (h > 0)
		snprintf(name, sizeof(name), "L%dH%d", l, h);
	else
		snprintf(name, sizeof(name), "L%d", l);
	set_add(xstrdup(name), &hs);
}

/*
 * A layer spec: comma-separated "all", "3", "L3", "1-3" or "L1-3".
 * Marks on[l - 1] for each layer; -1 with a message in err.
 */
static int
layers_parse(const char *spec, int L, unsigned char *on, char *err,
    size_t errlen)
{
	char *s = xstrdup(spec), *item, *save = NULL;
	int rc = 0;

	if (*spec == '\0') {
		snprintf(err, errlen, "empty layer spec");
		free(s);
		return -1;
	}
	for (item = strtok_r(s, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *p = item, *end;
		long a, b;

		if (strcmp(item, "all") == 0) {
			for (int l = 0; l < L; l++)
				on[l] = 1;
			continue;
		}
		if (*p == 'L' || *p == 'l')
			p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		a = b = strtol(p, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			b = strtol(end + 1, &end, 10);
		}
		if (*end != '\0' || a > b)
			goto bad;
		if (L > 0 && (a < 1 || b > L)) {
			snprintf(err, errlen, "'%s': layer %ld is outside 1..%d",
			    item, a < 1 ? a : b, L);
			rc = -1;
			break;
		}
		for (long l = a; L > 0 && l <= b; l++)
			on[l - 1] = 1;
		continue;
bad:
		snprintf(err, errlen, "'%s' is not a layer, a range of layers "
		    "or all", item);
		rc = -1;
		break;
	}
	free(s);
	return rc;
}

/* NAME<TAB>SPEC lines; # comments and blank lines are skipped. */
static void
sets_file(const char *path, int L, int H)
{
	FILE *fp;
	char *line = NULL, *tab, *spec, msg[256];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	struct headset hs;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((tab = strchr(line, '\t')) == NULL || tab == line)
			errx(1, "%s:%zu: expected a name, a tab and a head "
			    "spec", path, lineno);
		*tab = '\0';
		for (spec = tab + 1; *spec == ' ' || *spec == '\t'; spec++)
			;
		if (headset_parse(&hs, spec, L, H, msg, sizeof(msg)) == -1)
			errx(1, "%s:%zu: %s", path, lineno, msg);
		if (headset_count(&hs) == 0)
			errx(1, "%s:%zu: set '%s' has no heads", path, lineno,
			    line);
		for (size_t i = 0; i < nsets; i++)
			if (strcmp(sets[i].name, line) == 0)
				errx(1, "%s:%zu: set '%s' is already defined",
				    path, lineno, line);
		set_add(xstrdup(line), &hs);
	}
	if (ferror(fp))
		err(1, "%s", path);
	free(line);
	fclose(fp);
}

/* ---- output ---- */

static const char *const passkeys[] = { "id", "label", "task" };

static void
put(struct rec_writer *w, const msgpack_object *rec, const char *name,
    const float *logits, int nl)
{
	const msgpack_object *o;

	rec_map_begin(w);
	for (int i = 0; i < 3; i++)
		if ((o = rec_get(rec, passkeys[i])) != NULL)
			rec_put_obj(w, passkeys[i], o);
	rec_put_floats(w, "logits", logits, nl);
	if (nl == 1)
		rec_put_num(w, "pred", logits[0]);
	else
		rec_put_int(w, "pred", argmax(logits, nl));
	rec_put_str(w, "ablation", name);
	rec_map_end(w);
	rec_whole(w);	/* a reader gone is noticed here */
}

/* Records in the files, for the time left; 0 when unknown (stdin). */
static size_t
count_records(int argc, char *argv[])
{
	struct rec_reader *rr;
	msgpack_object rec;
	struct stat st;
	size_t n = 0;

	if (argc == 0)
		return 0;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-") == 0 || stat(argv[i], &st) == -1 ||
		    !S_ISREG(st.st_mode))
			return 0;
	rr = rec_open(argc, argv);
	while (rec_read(rr, &rec) == 1)
		n++;
	rec_close(rr);
	return n;
}

/* ---- the sweep, a batch of records at a time ---- */

#define MAXSLOTS	64	/* records of a batch at most */
#define STACKROWS	2048	/* rows of a batch of set copies, where more */

static struct {
	struct bert_run	 run;		/* the batch, the baseline */
	struct bert_run	 st;		/* copies of it, one per set */
	struct headset	 all;		/* every head */
	struct rec_writer *w;
	struct progress	 pg;
	struct tokrec	*s;
	int		 n, mode, reuse;
	float		*out;		/* (1 + nsets, B, nlabels) */
	float		*cbase, *cdis;	/* (Np, C): a layer's context */
	float		*x0, *x1, *ctx;	/* (K Np, C): the copies' rows */
	size_t		 capx, capc, capk;
	const int	**ids, **seg;	/* (K B) */
	int		*T;
	const struct headset **off;	/* (K B) */
} sw;

/* Grow *p to n floats. */
static void
grow(float **p, size_t n)
{
	*p = xreallocarray(*p, n, sizeof(float));
}

/*
 * The k sets idx[0..k - 1], which start at layer l, on copies of the
 * batch packed one after another: each copy's context of layer l is the
 * baseline's (cbase), with the context of its disabled heads of layer l
 * from cdis; from there each copy runs with its own heads disabled.
 * Their logits go to sw.out.
 */
static void
run_copies(int l, const size_t *idx, int k)
{
	struct bert_run *r = &sw.run, *st = &sw.st;
	const struct bert_config *c = &r->m->cfg;
	int B = r->B, Np = r->Np, C = c->C, H = c->H, D = C / H, nl =
	    c->nlabels;
	size_t rows = (size_t)Np * C;
	char err[256];
	float *x, *y;

	for (int j = 0; j < k; j++)
		for (int b = 0; b < B; b++) {
			sw.ids[j * B + b] = sw.s[b].ids;
			sw.seg[j * B + b] = sw.s[b].seg;
			sw.T[j * B + b] = sw.s[b].T;
			sw.off[j * B + b] = &sets[idx[j]].hs;
		}
	/* copy j's rows are j * Np.. (Np is a multiple of the unit) */
	if (bert_run_pack(st, k * B, sw.ids, sw.seg, sw.T, err,
	    sizeof(err)) == -1)
		errx(1, "%s", err);	/* checked per record before */
	if (st->Np != k * Np)
		errx(1, "internal error: copies packed in %d rows, not %d",
		    st->Np, k * Np);
	for (int j = 0; j < k; j++) {
		const struct headset *hs = &sets[idx[j]].hs;
		float *cj = sw.ctx + j * rows;

		memcpy(sw.x0 + j * rows, r->xs[l - 1], rows * sizeof(float));
		memcpy(cj, sw.cbase, rows * sizeof(float));
		for (int h = 0; h < H; h++)
			if (headset_has(hs, l, h + 1))
				for (int i = 0; i < Np; i++)
					memcpy(cj + (size_t)i * C + h * D,
					    sw.cdis + (size_t)i * C + h * D,
					    D * sizeof(float));
	}
	bert_out(st, l, sw.x1, sw.ctx, sw.x0);
	x = sw.x1;
	y = sw.x0;
	for (int m = l + 1; m <= c->L; m++) {
		float *t;

		bert_layer(st, m, y, x, sw.off, sw.mode);
		t = x;
		x = y;
		y = t;
	}
	bert_head(st, x, st->pooled, st->logits);
	for (int j = 0; j < k; j++)
		memcpy(sw.out + (1 + idx[j]) * B * nl, st->logits + (size_t)j *
		    B * nl, (size_t)B * nl * sizeof(float));
	progress_add(&sw.pg, (size_t)k * B);
}

/* The baseline and every set on the batch, then its records out. */
static void
sweep(void)
{
	struct bert_run *r = &sw.run;
	const struct bert_config *c = &r->m->cfg;
	int B = sw.n, nl = c->nlabels, K;
	const int *ids[MAXSLOTS], *seg[MAXSLOTS];
	int T[MAXSLOTS];
	size_t *idx, ni;
	char err[256];
	struct { int rec, set, logit; } bad = { -1, -1, -1 };

	if (B == 0)
		return;
	for (int b = 0; b < B; b++) {
		ids[b] = sw.s[b].ids;
		seg[b] = sw.s[b].seg;
		T[b] = sw.s[b].T;
	}
	if (bert_run_batch(r, B, ids, seg, T, err, sizeof(err)) == -1)
		errx(1, "%s", err);	/* checked per record before */
	/* the baseline, keeping every layer's input */
	bert_run_layers(r, 1, NULL, sw.mode, 1);
	bert_run_head(r, sw.out);
	progress_add(&sw.pg, B);

	/* copies of the batch at once: STACKROWS rows, at least one copy */
	K = STACKROWS / r->Np > 1 ? STACKROWS / r->Np : 1;
	if ((size_t)K > nsets)
		K = nsets > 0 ? (int)nsets : 1;
	if ((size_t)K * r->Np * c->C > sw.capx) {
		sw.capx = (size_t)K * r->Np * c->C;
		grow(&sw.x0, sw.capx);
		grow(&sw.x1, sw.capx);
		grow(&sw.ctx, sw.capx);
	}
	if ((size_t)K * B > sw.capk) {
		sw.capk = (size_t)K * B;
		sw.ids = xreallocarray(sw.ids, K * B, sizeof(*sw.ids));
		sw.seg = xreallocarray(sw.seg, K * B, sizeof(*sw.seg));
		sw.T = xreallocarray(sw.T, K * B, sizeof(*sw.T));
		sw.off = xreallocarray(sw.off, K * B, sizeof(*sw.off));
	}
	if ((size_t)r->Np * c->C > sw.capc) {
		sw.capc = (size_t)r->Np * c->C;
		grow(&sw.cbase, sw.capc);
		grow(&sw.cdis, sw.capc);
	}
	idx = xreallocarray(NULL, nsets > 0 ? nsets : 1, sizeof(*idx));
	for (int l = 1; l <= c->L; l++) {
		const struct headset *alloff[MAXSLOTS];

		/* the sets that start at layer l */
		ni = 0;
		for (size_t i = 0; i < nsets; i++)
			if ((sw.reuse ? sets[i].first : 1) == l)
				idx[ni++] = i;
		if (ni == 0)
			continue;
		/* layer l's attention, once with no head and once with every
		 * head disabled */
		for (int b = 0; b < B; b++)
			alloff[b] = &sw.all;
		bert_qkv(r, l, r->xs[l - 1]);
		bert_attend(r, l, sw.cbase, NULL, sw.mode);
		bert_attend(r, l, sw.cdis, alloff, sw.mode);
		/* in even parts of K copies at most */
		size_t parts = (ni + K - 1) / K, k = (ni + parts - 1) / parts;
		for (size_t i = 0; i < ni; i += k)
			run_copies(l, idx + i, ni - i < k ? (int)(ni - i) :
			    (int)k);
	}
	free(idx);

	/*
	 * A logit that is not finite: the records before its record go out
	 * whole, then the error names it.
	 */
	for (int b = 0; b < B && bad.set < 0; b++)
		for (size_t i = 0; i <= nsets && bad.set < 0; i++)
			for (int j = 0; j < nl; j++)
				if (!isfinite(sw.out[(i * B + b) * nl + j])) {
					bad.rec = b;
					bad.set = (int)i;
					bad.logit = j;
					break;
				}
	for (int b = 0; b < B; b++) {
		const msgpack_object *rec = &sw.s[b].up.data;

		if (b == bad.rec) {
			sw.n = 0;
			rec_atdie(NULL, NULL);
			rec_wclose(sw.w);
			errx(1, "%s: ablation '%s': logit %d is not finite "
			    "(the model's weights or inputs overflow)",
			    sw.s[b].where, bad.set == 0 ? "base" :
			    sets[bad.set - 1].name, bad.logit + 1);
		}

		put(sw.w, rec, "base", sw.out + (size_t)b * nl, nl);
		for (size_t i = 0; i < nsets; i++)
			put(sw.w, rec, sets[i].name, sw.out + ((1 + i) * B + b) *
			    nl, nl);
		tokrec_done(&sw.s[b]);
	}
	sw.n = 0;
}

/* Before an error exit: the records read so far go out. */
static void
drain(void *arg)
{
	(void)arg;
	sweep();
	rec_wclose(sw.w);
}

/* ---- options ---- */

static struct {
	const char	*mdir, *heads, *layers, *setsf;	/* -m, --heads ... */
	int		 mode, reuse, verbose, bf;
	size_t		 maxtok;
} opt = { .mode = BERT_UNIFORM, .reuse = 1, .maxtok = 1024 };

/* The options into opt; returns optind. */
static int
options(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "heads", required_argument, NULL, 'H' },
		{ "layers", required_argument, NULL, 'Y' },
		{ "mode", required_argument, NULL, 'o' },
		{ "no-reuse", no_argument, NULL, 'R' },
		{ "precision", required_argument, NULL, 'P' },
		{ "sets", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char dummy[1];
	char err[512];
	int ch;
	long v;

	while ((ch = getopt_long(argc, argv, "b:m:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (parse_long(optarg, 1, 1 << 20, &v) == -1)
				errx(2, "-b: '%s' is not a number of tokens",
				    optarg);
			opt.maxtok = v;
			break;
		case 'P':
			if ((opt.bf = bert_precision_name(optarg)) == -1)
				errx(2, "--precision: '%s' is not f32 or bf16",
				    optarg);
			break;
		case 'H':
			/* checked against the model once it is loaded */
			opt.heads = optarg;
			break;
		case 'm':
			opt.mdir = optarg;
			break;
		case 'o':
			if ((opt.mode = tokrec_mode(optarg, err,
			    sizeof(err))) == -1)
				errx(2, "--mode: %s", err);
			break;
		case 'R':
			opt.reuse = 0;
			break;
		case 'S':
			opt.setsf = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'Y':
			if (layers_parse(optarg, 0, dummy, err,
			    sizeof(err)) == -1)
				errx(2, "--layers: %s", err);
			opt.layers = optarg;
			break;
		default:
			usage();
		}
	}
	if (opt.mdir == NULL)
		usage();
	return optind;
}

/* The sets of --heads, --layers and --sets, in that order. */
static void
makesets(int L, int H)
{
	char err[512];

	if (opt.heads != NULL) {
		struct headset hs;

		if (headset_parse(&hs, opt.heads, L, H, err,
		    sizeof(err)) == -1)
			errx(2, "--heads: %s", err);
		for (int l = 1; l <= L; l++)
			for (int h = 1; h <= H; h++)
				if (headset_has(&hs, l, h))
					set_one(L, H, l, h);
		headset_release(&hs);
	}
	if (opt.layers != NULL) {
		unsigned char *on = xcalloc(L, 1);

		if (layers_parse(opt.layers, L, on, err, sizeof(err)) == -1)
			errx(2, "--layers: %s", err);
		for (int l = 1; l <= L; l++)
			if (on[l - 1])
				set_one(L, H, l, 0);
		free(on);
	}
	if (opt.setsf != NULL)
		sets_file(opt.setsf, L, H);
}

static void
freesets(void)
{
	for (size_t i = 0; i < nsets; i++) {
		headset_release(&sets[i].hs);
		free(sets[i].name);
	}
	free(sets);
}

/* ---- main ---- */

/* The sweep's state for model m; its progress counts total runs. */
static void
sw_init(struct bert *m, size_t total)
{
	char err[512];

	progress_init(&sw.pg, "runs (records x sets)", total, opt.verbose);
	if (headset_parse(&sw.all, "all", m->cfg.L, m->cfg.H, err,
	    sizeof(err)) == -1)
		errx(1, "%s", err);
	sw.mode = opt.mode;
	sw.reuse = opt.reuse;
	sw.out = xreallocarray(NULL, (nsets + 1) * MAXSLOTS, m->cfg.nlabels *
	    sizeof(float));
	bert_run_init(&sw.run, m);
	bert_run_init(&sw.st, m);
	bert_drop_dense(m);
	sw.run.cls_only = sw.st.cls_only = 1;
	sw.s = xcalloc(MAXSLOTS, sizeof(*sw.s));
	for (int i = 0; i < MAXSLOTS; i++)
		tokrec_init(&sw.s[i]);
}

static void
sw_release(void)
{
	for (int i = 0; i < MAXSLOTS; i++)
		tokrec_release(&sw.s[i]);
	free(sw.s);
	bert_run_release(&sw.run);
	bert_run_release(&sw.st);
	headset_release(&sw.all);
	free(sw.out);
	free(sw.cbase);
	free(sw.cdis);
	free(sw.x0);
	free(sw.x1);
	free(sw.ctx);
	free(sw.ids);
	free(sw.seg);
	free(sw.T);
	free(sw.off);
}

/*
 * The records of the files, each checked against model m (with its
 * vocabulary) on its own, swept a batch at a time: a batch is run before
 * it outgrows its token budget (-b).
 */
static void
ablate(struct bert *m, const struct wp_vocab *vocab, int argc, char *argv[])
{
	struct rec_reader *rr;
	msgpack_object rec;
	size_t ntok = 0;

	rr = rec_open(argc, argv);
	sw.w = rec_wopen(0);
	rec_atdie(drain, NULL);
	while (rec_next(rr, &rec)) {
		int *ids, *seg;
		size_t T;

		/* check the record on its own, so that errors name it */
		T = tokrec_check(&rec, &m->cfg, vocab, opt.mdir, &ids, &seg);
		if (sw.n > 0 && (sw.n == MAXSLOTS || ntok + T > opt.maxtok)) {
			sweep();
			ntok = 0;
		}
		tokrec_keep(&sw.s[sw.n++], &rec, ids, seg, T);
		ntok += T;
	}
	rec_atdie(NULL, NULL);
	sweep();
	progress_done(&sw.pg);
	rec_close(rr);
	rec_wclose(sw.w);
}

int
main(int argc, char *argv[])
{
	struct bert m;
	struct wp_vocab vocab;	/* the records' tokens are checked with it */
	char err[512];
	int n;

	blas_init(argv);
	n = options(argc, argv);
	argc -= n;
	argv += n;
	if (bert_precision(opt.bf, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (model_load(&m, opt.mdir, err, sizeof(err)) == -1 ||
	    model_vocab(&vocab, opt.mdir, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (m.cfg.nlabels == 0)
		errx(1, "%s: the model has no classifier", opt.mdir);
	makesets(m.cfg.L, m.cfg.H);
	sw_init(&m, opt.verbose || isatty(2) ?
	    count_records(argc, argv) * (nsets + 1) : 0);
	ablate(&m, &vocab, argc, argv);
	sw_release();
	freesets();
	model_release(&m);
	wp_release(&vocab);
	return 0;
}
