/*
 * finetune -- fine-tune a BERT checkpoint for sequence classification or
 * regression on token records, write the model directory; rank the heads
 * by importance (Michel et al. 2019) and prune them step by step.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert.h"
#include "model.h"
#include "rec.h"
#include "stwrite.h"
#include "train.h"
#include "util.h"

/* A data set in memory: token ids only, packed. */
struct set {
	size_t	 n, ntok;
	int	*T;		/* (n) */
	size_t	*off;		/* (n) into ids and seg */
	int	*ids, *seg;	/* (ntok) */
	double	*label;		/* (n) */
	int	 anyfloat;	/* some label is not an integer */
	long	 maxlab;
};

enum {
	O_BATCH = 256, O_DEV, O_DEVLOGITS, O_DROPOUT, O_EPOCHS, O_IMPORTANCE,
	O_LABELS, O_LR, O_MAXNORM, O_PRECISION, O_PRUNE, O_RANDOM, O_SEED,
	O_WARMUP, O_WD
};

static const struct option longopts[] = {
	{ "batch",		required_argument, NULL, O_BATCH },
	{ "dev",		required_argument, NULL, O_DEV },
	{ "dev-logits",		required_argument, NULL, O_DEVLOGITS },
	{ "dropout",		required_argument, NULL, O_DROPOUT },
	{ "epochs",		required_argument, NULL, O_EPOCHS },
	{ "force",		no_argument,	   NULL, 'f' },
	{ "importance",		required_argument, NULL, O_IMPORTANCE },
	{ "labels",		required_argument, NULL, O_LABELS },
	{ "lr",			required_argument, NULL, O_LR },
	{ "max-grad-norm",	required_argument, NULL, O_MAXNORM },
	{ "precision",		required_argument, NULL, O_PRECISION },
	{ "prune",		required_argument, NULL, O_PRUNE },
	{ "random-init",	no_argument,	   NULL, O_RANDOM },
	{ "seed",		required_argument, NULL, O_SEED },
	{ "warmup",		required_argument, NULL, O_WARMUP },
	{ "weight-decay",	required_argument, NULL, O_WD },
	{ NULL, 0, NULL, 0 }
};

static int verbose;

static void
usage(void)
{
	fprintf(stderr, "usage: finetune [-fv] -m model [-o outdir] "
	    "[--batch n] [--epochs n] [--lr rate]\n"
	    "\t[--warmup fraction] [--weight-decay w] [--dropout p] "
	    "[--max-grad-norm x]\n"
	    "\t[--seed n] [--dev file] [--dev-logits file] [--random-init] "
	    "[--labels n]\n"
	    "\t[--importance file] [--precision f32 | bf16] [--prune steps] "
	    "[file ...]\n");
	exit(2);
}

#define optnum(name, s, lo, hi)	opt_double(name, s, lo, hi, usage)
#define optint(name, s, lo, hi)	opt_long(name, s, lo, hi, usage)

/* ---- reading ---- */

/*
 * Read every record of the files into s: ids, seg (zeros when absent) and
 * label.  nl > 0 is the number of labels known before reading, which the
 * labels are checked against.
 */
static struct wp_vocab vocab;	/* the model's: records' tokens checked */
static const char *vdir;	/* its directory */

static void
readset(struct set *s, int argc, char *argv[], const struct bert_config *k,
    int nl)
{
	char err[512];
	struct rec_reader *rr;
	msgpack_object rec;
	size_t cap = 0, tcap = 0;

	memset(s, 0, sizeof(*s));
	s->maxlab = -1;
	rr = rec_open(argc, argv);
	while (rec_next(rr, &rec)) {
		const msgpack_object *lo;
		int *ids, *seg = NULL;
		size_t T, ns;
		double y;

		T = rec_ints(&rec, "ids", &ids);
		if (T == 0)
			rec_die("'ids' is empty");
		if (T > (size_t)model_maxlen(k))
			rec_die("%zu tokens, over the model's "
			    "max_position_embeddings %d%s", T, k->P, k->pos0 ?
			    " less pad_token_id + 1" : "");
		if (rec_get(&rec, "seg") != NULL &&
		    (ns = rec_ints(&rec, "seg", &seg)) != T)
			rec_die("'seg' has %zu values, 'ids' %zu", ns, T);
		for (size_t i = 0; i < T; i++) {
			if (ids[i] < 0 || ids[i] >= k->V)
				rec_die("'ids' item %zu: %d is outside the "
				    "vocabulary (0..%d)", i, ids[i], k->V - 1);
			if (seg && k->S > 0 && (seg[i] < 0 || seg[i] >= k->S))
				rec_die("'seg' item %zu: %d is outside "
				    "0..%d", i, seg[i], k->S - 1);
		}
		if (model_tokens(&vocab, &rec, ids, T, vdir, err,
		    sizeof(err)) == -1)
			rec_die("%s", err);
		lo = rec_need(&rec, "label");
		switch (lo->type) {
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			y = rec_num(&rec, "label");
			break;
		default:
			rec_die("'label' is %s, expected a number",
			    rec_typename(lo));
		}
		if (!isfinite(y))
			rec_die("'label' is not finite");
		if (y != floor(y) || fabs(y) > 1e9)
			s->anyfloat = 1;
		else if (y < 0 && nl != 1)
			rec_die("'label' %g is negative", y);
		else if (nl == 0 && y >= 65536)
			rec_die("'label' %g: too many classes; --labels 1 for "
			    "regression", y);
		else if ((long)y > s->maxlab)
			s->maxlab = (long)y;
		if (nl > 1 && !isclass(y, nl))
			rec_die("'label' %g is not a class of 0..%d", y,
			    nl - 1);

		if (s->n == cap) {
			cap = cap ? 2 * cap : 256;
			s->T = xreallocarray(s->T, cap, sizeof(int));
			s->off = xreallocarray(s->off, cap, sizeof(size_t));
			s->label = xreallocarray(s->label, cap,
			    sizeof(double));
		}
		while (s->ntok + T > tcap) {
			tcap = tcap ? 2 * tcap : 4096;
			s->ids = xreallocarray(s->ids, tcap, sizeof(int));
			s->seg = xreallocarray(s->seg, tcap, sizeof(int));
		}
		s->T[s->n] = T;
		s->off[s->n] = s->ntok;
		s->label[s->n] = y;
		memcpy(s->ids + s->ntok, ids, T * sizeof(int));
		for (size_t i = 0; i < T; i++)
			s->seg[s->ntok + i] = seg ? seg[i] : 0;
		s->ntok += T;
		s->n++;
		free(ids);
		free(seg);
	}
	rec_close(rr);
}

static void
freeset(struct set *s)
{
	free(s->T);
	free(s->off);
	free(s->ids);
	free(s->seg);
	free(s->label);
}

/* ---- batches ---- */

struct batchbuf {
	struct train_batch b;
	int	*T, *ids, *seg;
	float	*label;
};

/* Examples idx[0..n-1] of s into bb. */
static void
gather(struct batchbuf *bb, const struct set *s, const size_t *idx,
    size_t n)
{
	size_t N = 0;

	bb->T = xreallocarray(bb->T, n, sizeof(int));
	bb->label = xreallocarray(bb->label, n, sizeof(float));
	for (size_t i = 0; i < n; i++)
		N += s->T[idx[i]];
	bb->ids = xreallocarray(bb->ids, N, sizeof(int));
	bb->seg = xreallocarray(bb->seg, N, sizeof(int));
	N = 0;
	for (size_t i = 0; i < n; i++) {
		size_t e = idx[i], T = s->T[e];

		bb->T[i] = T;
		bb->label[i] = (float)s->label[e];
		memcpy(bb->ids + N, s->ids + s->off[e], T * sizeof(int));
		memcpy(bb->seg + N, s->seg + s->off[e], T * sizeof(int));
		N += T;
	}
	bb->b = (struct train_batch){ n, bb->T, bb->ids, bb->seg, bb->label };
}

static void
freebatch(struct batchbuf *bb)
{
	free(bb->T);
	free(bb->ids);
	free(bb->seg);
	free(bb->label);
}

static size_t *
iota(size_t n)
{
	size_t *v = xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = i;
	return v;
}

/* ---- evaluation ---- */

/*
 * Accuracy over s, or Pearson's r of prediction and label for regression;
 * no dropout.  With fp, each example's logits to it as a JSON line, as
 * recs -k logits writes encode's.
 */
static double
evaluate(struct train *t, const struct set *s, int batch, FILE *fp)
{
	struct batchbuf bb = { 0 };
	size_t *idx = iota(s->n), right = 0;
	int nl = t->m.cfg.nlabels;
	double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = s->n, r;

	for (size_t i = 0; i < s->n; i += batch) {
		size_t nb = s->n - i < (size_t)batch ? s->n - i : (size_t)batch;

		gather(&bb, s, idx + i, nb);
		train_forward(t, &bb.b, 0);
		for (size_t b = 0; b < nb; b++) {
			const float *z = t->logits + b * nl;
			double y = s->label[i + b];

			for (int j = 0; fp != NULL && j < nl; j++)
				fprintf(fp, "%s%.9g%s", j ? "," :
				    "{\"logits\":[", z[j], j < nl - 1 ? "" :
				    "]}\n");

			if (nl == 1) {
				sx += z[0];
				sy += y;
				sxx += (double)z[0] * z[0];
				syy += y * y;
				sxy += z[0] * y;
				continue;
			}
			right += argmax(z, nl) == (size_t)y;
		}
	}
	free(idx);
	freebatch(&bb);
	if (nl > 1)
		return s->n ? (double)right / s->n : 0;
	r = (n * sxx - sx * sx) * (n * syy - sy * sy);
	return r > 0 ? (n * sxy - sx * sy) / sqrt(r) : 0;
}

/* ---- training ---- */

struct hyper {
	int	 batch, epochs;
	double	 lr, warmup, wd, maxnorm;
};

static void
train(struct train *t, const struct set *s, const struct set *dev,
    const struct hyper *hp)
{
	struct batchbuf bb = { 0 };
	size_t *idx = iota(s->n), seen = 0;
	long spe = (s->n + hp->batch - 1) / hp->batch;
	long total = spe * hp->epochs, warm = (long)ceil(hp->warmup * total);
	double lsum = 0;
	int lcount = 0;
	int nl = t->m.cfg.nlabels;
	struct progress pg;

	progress_init(&pg, "steps", total, verbose);

	for (int ep = 0; ep < hp->epochs; ep++) {
		uint64_t rng = t->seed ^ (0x9e3779b97f4a7c15ULL * (ep + 1));
		double esum = 0;

		/* Fisher-Yates, seeded by the seed and the epoch. */
		for (size_t i = s->n - 1; i > 0; i--) {
			size_t j = train_rand(&rng) % (i + 1), x = idx[i];

			idx[i] = idx[j];
			idx[j] = x;
		}
		for (long st = 0; st < spe; st++) {
			size_t i = st * hp->batch;
			size_t nb = s->n - i < (size_t)hp->batch ? s->n - i :
			    (size_t)hp->batch;
			float lr = train_lr(hp->lr, t->step, warm, total);

			gather(&bb, s, idx + i, nb);
			float loss = train_forward(t, &bb.b, 1);
			double gnorm;

			/*
			 * A loss or gradient that is not finite would turn
			 * every weight into NaN: stop before the update, so
			 * that no model is written (-o is left as it was).
			 */
			if (!isfinite(loss))
				errx(1, "step %ld (epoch %d): the loss is %s; "
				    "no model written (a learning rate of %g "
				    "too high, or labels out of range?)",
				    t->step + 1, ep + 1, isnan(loss) ? "NaN" :
				    "infinite", hp->lr);
			lsum += loss;
			esum += loss;
			lcount++;
			train_backward(t);
			gnorm = train_clip(t, hp->maxnorm);
			if (!isfinite(gnorm))
				errx(1, "step %ld (epoch %d): the gradient is "
				    "not finite; no model written (a learning "
				    "rate of %g too high?)", t->step + 1,
				    ep + 1, hp->lr);
			train_adamw(t, lr, hp->wd);
			seen += nb;

			pg.done = t->step;
			if (pg.on && (t->step == total || progress_due(&pg))) {
				char left[32];

				progress_say(&pg, "step %ld/%ld, epoch %d/%d, "
				    "loss %.4f, %.1f examples/s, %s left",
				    t->step, total, ep + 1, hp->epochs,
				    lsum / lcount, seen / (now() - pg.start),
				    progress_left(&pg, left, sizeof(left)));
				lsum = 0;
				lcount = 0;
			}
		}
		/* The epoch's mean training loss, and the dev score. */
		if (pg.on || dev) {
			if (pg.tty)
				fprintf(stderr, "\r\033[K");
			fprintf(stderr, "finetune: epoch %d/%d: loss %.4f",
			    ep + 1, hp->epochs, esum / spe);
			if (dev)
				fprintf(stderr, ", dev %s %.4f (%zu examples)",
				    nl == 1 ? "pearson" : "accuracy",
				    evaluate(t, dev, hp->batch, NULL), dev->n);
			fputc('\n', stderr);
		}
	}
	free(idx);
	freebatch(&bb);
}

/* ---- head importance and pruning ---- */

/*
 * Michel et al.: I_h, the mean over examples of |dL/dgate_h| at gates of
 * 1 (no dropout), then divided by the L2 norm of its layer.
 */
static double *
importance(struct train *t, const struct set *s, int batch)
{
	const struct bert_config *k = &t->m.cfg;
	struct batchbuf bb = { 0 };
	size_t *idx = iota(s->n), nh = (size_t)k->L * k->H;
	double *imp = xcalloc(nh, sizeof(*imp));
	struct progress pg;

	progress_init(&pg, "examples", s->n, verbose);
	memset(t->imp, 0, nh * sizeof(*t->imp));
	t->nimp = 0;
	t->want_imp = 1;
	for (size_t i = 0; i < s->n; i += batch) {
		size_t nb = s->n - i < (size_t)batch ? s->n - i : (size_t)batch;

		gather(&bb, s, idx + i, nb);
		train_forward(t, &bb.b, 0);
		train_backward(t);
		progress_add(&pg, nb);
	}
	progress_done(&pg);
	t->want_imp = 0;
	for (int l = 0; l < k->L; l++) {
		double ss = 0;

		for (int h = 0; h < k->H; h++) {
			double v = t->imp[l * k->H + h] / (t->nimp ? t->nimp : 1);

			imp[l * k->H + h] = v;
			ss += v * v;
		}
		ss = sqrt(ss);
		for (int h = 0; h < k->H && ss > 0; h++)
			imp[l * k->H + h] /= ss;
	}
	free(idx);
	freebatch(&bb);
	return imp;
}

static const double *sortkey;

static int
byimp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (sortkey[i] != sortkey[j])
		return sortkey[i] < sortkey[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

/*
 * Mask the least important heads, steps of nh / steps heads at a time,
 * and print the dev score after each step (the first line: none masked).
 */
static void
prune(struct train *t, const double *imp, const struct set *dev, int steps,
    int batch)
{
	const struct bert_config *k = &t->m.cfg;
	size_t nh = (size_t)k->L * k->H, *ord = iota(nh);

	sortkey = imp;
	qsort(ord, nh, sizeof(*ord), byimp);
	printf("step\tpruned\tfraction\t%s\tlast\n",
	    k->nlabels == 1 ? "pearson" : "accuracy");
	for (int s = 0; s <= steps; s++) {
		size_t np = (size_t)((double)s * nh / steps + 0.5), last;

		for (size_t i = 0; i < nh; i++)
			t->gate[ord[i]] = i < np ? 0.0f : 1.0f;
		last = np ? ord[np - 1] : 0;
		printf("%d\t%zu\t%.4f\t%.4f\t", s, np, (double)np / nh,
		    evaluate(t, dev, batch, NULL));
		if (np)
			printf("L%zuH%zu\n", last / k->H + 1, last % k->H + 1);
		else
			printf("-\n");
		fflush(stdout);		/* a line a step */
		outcheck(stdout, "stdout");
	}
	for (size_t i = 0; i < nh; i++)
		t->gate[i] = 1.0f;
	free(ord);
}

static void
writeimp(const char *path, const double *imp, const struct bert_config *k)
{
	FILE *fp;

	if (strcmp(path, "-") == 0)
		fp = stdout;
	else if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "layer\thead\timportance\n");
	for (int l = 0; l < k->L; l++)
		for (int h = 0; h < k->H; h++)
			fprintf(fp, "%d\t%d\t%.6f\n", l + 1, h + 1,
			    imp[l * k->H + h]);
	closeout(fp, fp == stdout ? "stdout" : path);
}

int
main(int argc, char *argv[])
{
	struct hyper hp = { 32, 3, 2e-5, 0.1, 0.01, 1.0 };
	struct bert m;
	struct train t;
	struct set trs = { 0 }, devs = { 0 };
	const char *mdir = NULL, *odir = NULL, *devf = NULL, *impf = NULL;
	const char *logf = NULL;
	double dropout = 0.1, *imp = NULL;
	long seed = 42, nl = 0, steps = 0;
	int ch, rinit = 0, needdata, force = 0, bf = 0;
	char errbuf[512];

	while ((ch = getopt_long(argc, argv, "fm:o:v", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		case 'm':
			mdir = optarg;
			break;
		case 'o':
			odir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case O_BATCH:
			hp.batch = optint("--batch", optarg, 1, 1 << 20);
			break;
		case O_DEV:
			devf = optarg;
			break;
		case O_DEVLOGITS:
			logf = optarg;
			break;
		case O_DROPOUT:
			dropout = optnum("--dropout", optarg, 0, 0.99);
			break;
		case O_EPOCHS:
			hp.epochs = optint("--epochs", optarg, 0, 1 << 20);
			break;
		case O_IMPORTANCE:
			impf = optarg;
			break;
		case O_LABELS:
			nl = optint("--labels", optarg, 1, 1 << 16);
			break;
		case O_LR:
			hp.lr = optnum("--lr", optarg, 0, 10);
			break;
		case O_MAXNORM:
			hp.maxnorm = optnum("--max-grad-norm", optarg, 0, 1e30);
			break;
		case O_PRECISION:
			if ((bf = bert_precision_name(optarg)) == -1) {
				warnx("--precision: '%s' is not f32 or bf16",
				    optarg);
				usage();
			}
			break;
		case O_PRUNE:
			steps = optint("--prune", optarg, 1, 1 << 20);
			break;
		case O_RANDOM:
			rinit = 1;
			break;
		case O_SEED:
			seed = optint("--seed", optarg, 0, 0x7fffffffL);
			break;
		case O_WARMUP:
			hp.warmup = optnum("--warmup", optarg, 0, 1);
			break;
		case O_WD:
			hp.wd = optnum("--weight-decay", optarg, 0, 10);
			break;
		default:
			usage();
		}
	}
	outinit();
	argc -= optind;
	argv += optind;
	if (mdir == NULL)
		usage();
	if (odir == NULL && hp.epochs > 0) {
		warnx("-o is needed to train (or --epochs 0)");
		usage();
	}
	if (steps && devf == NULL) {
		warnx("--prune needs --dev");
		usage();
	}
	if (logf && devf == NULL) {
		warnx("--dev-logits needs --dev");
		usage();
	}
	if (odir == NULL && impf == NULL && steps == 0 && logf == NULL) {
		warnx("nothing to do: no -o, --importance, --prune or "
		    "--dev-logits");
		usage();
	}
	if (bert_precision(bf, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	/* Before the hours of training, not after them. */
	if (odir) {
		switch (stw_check(odir, mdir, force, errbuf, sizeof(errbuf))) {
		case -2:
			warnx("-o %s: names the model read (-m %s); another "
			    "directory, or -f to replace it", odir, mdir);
			usage();
			break;
		case -1:
			errx(1, "%s", errbuf);
		}
	}

	if (model_load(&m, mdir, errbuf, sizeof(errbuf)) == -1 ||
	    model_vocab(&vocab, vdir = mdir, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	if (nl == 0 && m.cw != NULL && m.cfg.nlabels > 0)
		nl = m.cfg.nlabels;
	needdata = hp.epochs > 0 || impf || steps;
	if (needdata) {
		readset(&trs, argc, argv, &m.cfg, nl);
		if (trs.n == 0)
			errx(1, "%s: no records", argc ? argv[0] : "<stdin>");
	}
	if (nl == 0)	/* from the data: floats mean regression */
		nl = trs.anyfloat ? 1 : (trs.maxlab + 1 > 2 ?
		    trs.maxlab + 1 : 2);
	if (nl > 1 && trs.anyfloat)
		errx(1, "%s: labels are not all integers, but the model has "
		    "%ld classes; --labels 1 for regression",
		    argc ? argv[0] : "<stdin>", nl);
	if (devf) {
		char *dv[1] = { (char *)devf };

		readset(&devs, 1, dv, &m.cfg, nl);
	}
	train_init(&t, &m, nl, rinit, dropout, (uint64_t)seed);
	model_release(&m);
	if (verbose)
		fprintf(stderr, "finetune: %zu examples, %d labels, %zu "
		    "parameters, %d layers x %d heads; products on %s, %d "
		    "threads\n", trs.n, (int)nl, t.m.nparams, t.m.cfg.L,
		    t.m.cfg.H, bert_dense(), bert_threads());

	if (hp.epochs > 0)
		train(&t, &trs, devf ? &devs : NULL, &hp);
	if (odir && stw_write(&t.m, mdir, odir, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	if (logf) {
		FILE *fp = strcmp(logf, "-") == 0 ? stdout : fopen(logf, "w");

		if (fp == NULL)
			err(1, "%s", logf);
		evaluate(&t, &devs, hp.batch, fp);
		closeout(fp, fp == stdout ? "stdout" : logf);
	}
	if (impf || steps)
		imp = importance(&t, &trs, hp.batch);
	if (impf)
		writeimp(impf, imp, &t.m.cfg);
	if (steps)
		prune(&t, imp, &devs, steps, hp.batch);

	free(imp);
	freeset(&trs);
	freeset(&devs);
	train_release(&t);
	closeout(stdout, "stdout");
	return 0;
}
