/*
 * encode -- run a BERT checkpoint over token records: logits and pred, and
 * on request every head's attention, the hidden states and the pooled
 * output; heads disabled on request.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "bert.h"
#include "blas.h"
#include "contrib.h"
#include "headset.h"
#include "model.h"
#include "rec.h"
#include "tokrec.h"
#include "util.h"

static struct {
	int		 attn, attn_dtype, hidden, pooled, mode, verbose;
	int		 gz, bf;	/* -z, --precision */
	size_t		 maxtok;
	const char	*mdir, *dis;	/* -m, --disable */
	int		 measures;	/* --measures: CONTRIB_* bits */
} opt = { .attn_dtype = DT_F32, .mode = BERT_UNIFORM, .maxtok = 2048 };

static struct contrib_model cmod;	/* with --measures */

static long	nonfinite(const float *, size_t);

static const char *const drop[] = { "logits", "pred", "attn", "hidden",
    "pooled", "norm", "norm_layer", "alti", "vz", NULL };

static void
usage(void)
{
	fprintf(stderr, "usage: encode -m model [-apvz] [-b tokens] "
	    "[--attn-dtype f32|f16] [--hidden | --hidden-all]\n"
	    "              [--disable heads] [--mode uniform|zero] "
	    "[--precision f32|bf16]\n"
	    "              [--measures norm,norm_layer,alti,vz|all] "
	    "              [file ...]\n");
	exit(2);
}

static void
put(struct rec_writer *w, struct bert_run *r, int b, struct tokrec *s)
{
	const struct bert_config *c = &r->m->cfg;
	const msgpack_object *rec = &s->up.data;
	size_t T = s->T, C = c->C;
	int nl = c->nlabels;

	rec_map_begin(w);
	rec_copy_except(w, rec, drop);
	if (nl > 0) {
		const float *lg = r->logits + (size_t)b * nl;
		rec_put_floats(w, "logits", lg, nl);
		if (nl == 1)
			rec_put_num(w, "pred", lg[0]);
		else
			rec_put_int(w, "pred", argmax(lg, nl));
	}
	if (opt.attn) {
		size_t shape[4] = { c->L, c->H, T, T };
		rec_put_tensor(w, "attn", opt.attn_dtype, shape, 4,
		    bert_run_attn(r, b));
	}
	if (opt.measures) {
		float *out[4] = { NULL };
		size_t TT = T * T, n = 0;

		for (int k = 0; k < 4; k++)
			n += (opt.measures >> k & 1) * (k == 0 ? c->H : 1);
		float *buf = xreallocarray(NULL, n * c->L, TT * sizeof(float));
		float *p = buf;
		for (int k = 0; k < 4; k++)
			if (opt.measures >> k & 1) {
				out[k] = p;
				p += (k == 0 ? c->H : 1) * c->L * TT;
			}
		contrib_run(&cmod, r, b, s->ids, s->seg, out);
		for (int k = 0; k < 4; k++) {
			size_t shape[4] = { c->L, k == 0 ? c->H : 1, T, T };
			long i;

			if (out[k] == NULL)
				continue;
			if ((i = nonfinite(out[k], shape[0] * shape[1] * TT))
			    != -1)
				errx(1, "%s: %s is not finite at layer %zu "
				    "(the model's weights or inputs overflow)",
				    s->where, contrib_keys[k], i / (shape[1] *
				    TT) + 1);
			rec_put_tensor(w, contrib_keys[k], opt.attn_dtype,
			    shape, 4, out[k]);
		}
		free(buf);
	}
	if (opt.hidden == 1) {
		size_t shape[2] = { T, C };
		rec_put_tensor(w, "hidden", DT_F32, shape, 2,
		    r->xs[c->L] + (size_t)r->off[b] * C);
	} else if (opt.hidden == 2) {
		/* [L + 1, T, C]: the embeddings' output, then each layer's */
		size_t shape[3] = { c->L + 1, T, C };
		float *h = xreallocarray(NULL, (c->L + 1) * T, C * sizeof(float));
		for (int l = 0; l <= c->L; l++)
			memcpy(h + l * T * C, r->xs[l] + (size_t)r->off[b] * C,
			    T * C * sizeof(float));
		rec_put_tensor(w, "hidden", DT_F32, shape, 3, h);
		free(h);
	}
	if (opt.pooled) {
		size_t shape[1] = { C };
		rec_put_tensor(w, "pooled", DT_F32, shape, 1,
		    r->pooled + (size_t)b * C);
	}
	rec_map_end(w);
}

/*
 * The first of v[0..n-1] that is not a finite number, or -1.  A weight of
 * NaN or one so large that a product overflows makes NaN or infinity
 * anywhere downstream: an error, never a made-up pred.
 */
static long
nonfinite(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return (long)i;
	return -1;
}

/* Dies naming the record when anything it would get is not finite. */
static void
checkfinite(struct bert_run *r, int b, const struct tokrec *s)
{
	const struct bert_config *c = &r->m->cfg;
	size_t T = s->T, C = c->C;
	long i;

	if (opt.attn && (i = nonfinite(bert_run_attn(r, b),
	    (size_t)c->L * c->H * T * T)) != -1)
		errx(1, "%s: attention of L%zuH%zu at row %zu, column %zu is "
		    "not finite (the model's weights or inputs overflow)",
		    s->where, i / (c->H * T * T) + 1, i / (T * T) % c->H + 1,
		    i / T % T + 1, i % T + 1);
	if (c->nlabels > 0 &&
	    (i = nonfinite(r->logits + (size_t)b * c->nlabels,
	    c->nlabels)) != -1)
		errx(1, "%s: logit %ld is %s (the model's weights or inputs "
		    "overflow)", s->where, i + 1,
		    isnan(r->logits[(size_t)b * c->nlabels + i]) ? "NaN" :
		    "infinite");
	if (opt.hidden && nonfinite(r->xs[c->L] + (size_t)r->off[b] * C,
	    T * C) != -1)
		errx(1, "%s: the hidden state is not finite (the model's "
		    "weights or inputs overflow)", s->where);
	if (opt.pooled && nonfinite(r->pooled + (size_t)b * C, C) != -1)
		errx(1, "%s: the pooled output is not finite (the model's "
		    "weights or inputs overflow)", s->where);
}

static void
flush(struct rec_writer *w, struct bert_run *r, struct tokrec *s, int n,
    const struct headset *off)
{
	const int *ids[64] = { 0 }, *seg[64] = { 0 };
	int T[64] = { 0 };
	char err[256];

	if (n == 0)
		return;
	for (int i = 0; i < n; i++) {
		ids[i] = s[i].ids;
		seg[i] = s[i].seg;
		T[i] = s[i].T;
	}
	if (bert_run_batch(r, n, ids, seg, T, err, sizeof(err)) == -1)
		errx(1, "%s", err);	/* checked per record before */
	bert_run_layers(r, 1, off, opt.mode, opt.hidden == 2 ||
	    opt.measures);
	bert_run_head(r, NULL);
	for (int i = 0; i < n; i++) {
		checkfinite(r, i, &s[i]);
		put(w, r, i, &s[i]);
		rec_whole(w);	/* and a reader gone is noticed here */
		tokrec_done(&s[i]);
	}
}

/* Before an error exit: the records read so far go out. */
struct pending {
	struct rec_writer	*w;
	struct bert_run		*r;
	struct tokrec		*s;
	int			*n;
	const struct headset	*off;
};

static void
drain(void *arg)
{
	struct pending *p = arg;

	flush(p->w, p->r, p->s, *p->n, p->off);
	*p->n = 0;
	rec_wclose(p->w);
}

/* The options into opt; returns optind. */
static int
options(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "attn", no_argument, NULL, 'a' },
		{ "attn-dtype", required_argument, NULL, 'D' },
		{ "batch", required_argument, NULL, 'b' },
		{ "disable", required_argument, NULL, 'd' },
		{ "hidden", no_argument, NULL, 'h' },
		{ "hidden-all", no_argument, NULL, 'H' },
		{ "measures", required_argument, NULL, 'X' },
		{ "mode", required_argument, NULL, 'M' },
		{ "model", required_argument, NULL, 'm' },
		{ "pooled", no_argument, NULL, 'p' },
		{ "precision", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int ch;
	long v;

	while ((ch = getopt_long(argc, argv, "ab:m:pvz", lopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			opt.attn = 1;
			break;
		case 'b':
			if (parse_long(optarg, 1, 1 << 20, &v) == -1)
				errx(2, "-b: '%s' is not a number of tokens",
				    optarg);
			opt.maxtok = v;
			break;
		case 'D':
			if ((opt.attn_dtype = tensor_dtype(optarg)) == -1)
				errx(2, "--attn-dtype: '%s' is not f32, f16 "
				    "or bf16", optarg);
			break;
		case 'd':
			if (headset_syntax(optarg, err, sizeof(err)) == -1)
				errx(2, "--disable: %s", err);
			opt.dis = optarg;
			break;
		case 'h':
			opt.hidden = 1;
			break;
		case 'H':
			opt.hidden = 2;
			break;
		case 'M':
			if ((opt.mode = tokrec_mode(optarg, err,
			    sizeof(err))) == -1)
				errx(2, "--mode: %s", err);
			break;
		case 'm':
			opt.mdir = optarg;
			break;
		case 'X':
			if (contrib_parse(optarg, &opt.measures, err,
			    sizeof(err)) == -1)
				errx(2, "--measures: %s", err);
			break;
		case 'p':
			opt.pooled = 1;
			break;
		case 'P':
			if ((opt.bf = bert_precision_name(optarg)) == -1)
				errx(2, "--precision: '%s' is not f32 or bf16",
				    optarg);
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'z':
			opt.gz = 1;
			break;
		default:
			usage();
		}
	}
	if (opt.mdir == NULL)
		usage();
	return optind;
}

/*
 * The model of -m into m, its vocabulary (the records' tokens are checked
 * with it) into vocab, and --disable's heads into hs; returns hs, or NULL
 * when no head is disabled.
 */
static struct headset *
load(struct bert *m, struct wp_vocab *vocab, struct headset *hs)
{
	const char *mdir = opt.mdir;
	char err[512];

	if (bert_precision(opt.bf, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (model_load(m, mdir, err, sizeof(err)) == -1 ||
	    model_vocab(vocab, mdir, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (opt.dis != NULL && headset_parse(hs, opt.dis, m->cfg.L, m->cfg.H,
	    err, sizeof(err)) == -1)
		errx(2, "--disable: %s", err);
	if (opt.pooled && m->pw == NULL)
		errx(1, "%s: --pooled: the model has no pooler", mdir);
	if (opt.verbose)
		fprintf(stderr, "encode: %s: %d layers x %d heads, hidden %d; "
		    "OpenBLAS kernels %s (%s), dense layers on %s, %d threads, "
		    "batches in rows of %d\n", mdir, m->cfg.L, m->cfg.H,
		    m->cfg.C, blas_kernel(), blas_why(), bert_dense(),
		    bert_threads(), bert_rowunit());
	return opt.dis != NULL ? hs : NULL;
}

/*
 * The records of the files through model m, in batches: a batch is run
 * before it outgrows its token budget (-b) or, with attention, 64 MB of
 * maps (one long record may exceed it alone: memory is bounded by one
 * record's maps, not more).
 */
static void
encode(struct bert *m, const struct wp_vocab *vocab, const struct headset *off,
    int argc, char *argv[])
{
	struct rec_reader *rr;
	struct rec_writer *w;
	struct bert_run run;
	struct progress pg;
	struct tokrec *slots;
	msgpack_object rec;
	int n = 0, maxslots = 64;	/* flush()'s arrays */
	size_t ntok = 0, natt = 0;

	if (opt.measures)
		contrib_init(&cmod, m, opt.measures);
	bert_run_init(&run, m);
	bert_drop_dense(m);	/* contrib has its copies */
	run.want_attn = opt.attn || opt.measures;
	run.cls_only = opt.hidden == 0 && !opt.measures;
	slots = xcalloc(maxslots, sizeof(*slots));
	for (int i = 0; i < maxslots; i++)
		tokrec_init(&slots[i]);
	rr = rec_open(argc, argv);
	w = rec_wopen(opt.gz);
	progress_init(&pg, "records", 0, opt.verbose);
	struct pending pend = { w, &run, slots, &n, off };
	rec_atdie(drain, &pend);
	while (rec_next(rr, &rec)) {
		int *ids, *seg;
		size_t T, att;

		/* check the record on its own, so errors name it */
		T = tokrec_check(&rec, &m->cfg, vocab, opt.mdir, &ids, &seg);
		att = opt.attn || opt.measures ? (size_t)m->cfg.L * m->cfg.H *
		    T * T * 4 * (1 + !!(opt.measures & CONTRIB_NORM)) : 0;
		if (n > 0 && (n == maxslots || ntok + T > opt.maxtok ||
		    natt + att > (64 << 20))) {
			flush(w, &run, slots, n, off);
			progress_add(&pg, n);
			n = 0;
			ntok = natt = 0;
		}
		tokrec_keep(&slots[n++], &rec, ids, seg, T);
		ntok += T;
		natt += att;
	}
	rec_atdie(NULL, NULL);
	flush(w, &run, slots, n, off);
	progress_add(&pg, n);
	progress_done(&pg);
	rec_close(rr);
	rec_wclose(w);
	for (int i = 0; i < maxslots; i++)
		tokrec_release(&slots[i]);
	free(slots);
	bert_run_release(&run);
	if (opt.measures)
		contrib_release(&cmod);
}

int
main(int argc, char *argv[])
{
	struct headset hs, *off;
	struct bert m;
	struct wp_vocab vocab;
	int n;

	blas_init(argv);
	n = options(argc, argv);
	argc -= n;
	argv += n;
	off = load(&m, &vocab, &hs);
	encode(&m, &vocab, off, argc, argv);
	if (off)
		headset_release(off);
	model_release(&m);
	wp_release(&vocab);
	return 0;
}
