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
#include "headset.h"
#include "model.h"
#include "rec.h"
#include "util.h"

/* A record waiting in the batch: its own copy, unpacked. */
struct slot {
	msgpack_sbuffer	 sb;
	msgpack_unpacked up;
	int		*ids, *seg;
	int		 T;
	char		 where[600];	/* rec_where() and id, for messages */
};

static struct {
	int	 attn, attn_dtype, hidden, pooled, mode, verbose;
	size_t	 maxtok;
} opt = { .attn_dtype = DT_F32, .mode = BERT_UNIFORM, .maxtok = 2048 };

static const char *const drop[] = { "logits", "pred", "attn", "hidden",
    "pooled", NULL };

static void
usage(void)
{
	fprintf(stderr, "usage: encode -m model [-apvz] [-b tokens] "
	    "[--attn-dtype f32|f16] [--hidden | --hidden-all]\n"
	    "              [--disable heads] [--mode uniform|zero] "
	    "[--precision f32|bf16]\n"
	    "              [file ...]\n");
	exit(2);
}

/* "id 'MRPC/dev/17': " for messages, or "" when the record has no id. */
static const char *
idtext(const msgpack_object *rec)
{
	static char buf[80];
	const msgpack_object *o = rec_get(rec, "id");

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return "";
	snprintf(buf, sizeof(buf), "id '%.*s': ", o->via.str.size > 60 ? 60 :
	    (int)o->via.str.size, o->via.str.ptr);
	return buf;
}

static void
put(struct rec_writer *w, struct bert_run *r, int b, struct slot *s)
{
	const struct bert_config *c = &r->m->cfg;
	const msgpack_object *rec = &s->up.data;
	size_t nk = rec_count_except(rec, drop), T = s->T, C = c->C;
	int nl = c->nlabels;

	nk += (nl > 0) * 2 + opt.attn + (opt.hidden > 0) + opt.pooled;
	rec_map(w, nk);
	rec_copy_except(w, rec, drop);
	if (nl > 0) {
		const float *lg = r->logits + (size_t)b * nl;
		rec_put_floats(w, "logits", lg, nl);
		if (nl == 1) {
			rec_put_num(w, "pred", lg[0]);
		} else {
			int best = 0;
			for (int i = 1; i < nl; i++)
				if (lg[i] > lg[best])
					best = i;
			rec_put_int(w, "pred", best);
		}
	}
	if (opt.attn) {
		size_t shape[4] = { c->L, c->H, T, T };
		rec_put_tensor(w, "attn", opt.attn_dtype, shape, 4,
		    bert_run_attn(r, b));
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
checkfinite(struct bert_run *r, int b, const struct slot *s)
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
flush(struct rec_writer *w, struct bert_run *r, struct slot *s, int n,
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
	bert_run_layers(r, 1, off, opt.mode, opt.hidden == 2);
	bert_run_head(r, NULL);
	for (int i = 0; i < n; i++) {
		checkfinite(r, i, &s[i]);
		put(w, r, i, &s[i]);
		rec_end(w);	/* and a reader gone is noticed here */
		free(s[i].ids);
		free(s[i].seg);
		s[i].ids = s[i].seg = NULL;
	}
}

/* Before an error exit: the records read so far go out. */
struct pending {
	struct rec_writer	*w;
	struct bert_run		*r;
	struct slot		*s;
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

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "attn", no_argument, NULL, 'a' },
		{ "attn-dtype", required_argument, NULL, 'D' },
		{ "batch", required_argument, NULL, 'b' },
		{ "disable", required_argument, NULL, 'd' },
		{ "hidden", no_argument, NULL, 'h' },
		{ "hidden-all", no_argument, NULL, 'H' },
		{ "mode", required_argument, NULL, 'M' },
		{ "model", required_argument, NULL, 'm' },
		{ "pooled", no_argument, NULL, 'p' },
		{ "precision", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mdir = NULL, *dis = NULL;
	struct headset hs, *off = NULL;
	struct rec_reader *rr;
	struct rec_writer *w;
	struct bert_run run;
	struct progress pg;
	struct bert m;
	struct wp_vocab vocab;	/* the records' tokens are checked with it */
	struct slot *slots;
	msgpack_object rec;
	char err[512];
	int ch, gz = 0, n = 0, maxslots = 64;	/* flush()'s arrays */
	int bf = 0;
	size_t ntok = 0, natt = 0;
	long v;

	blas_init(argv);
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
			dis = optarg;
			break;
		case 'h':
			opt.hidden = 1;
			break;
		case 'H':
			opt.hidden = 2;
			break;
		case 'M':
			if (strcmp(optarg, "uniform") == 0)
				opt.mode = BERT_UNIFORM;
			else if (strcmp(optarg, "zero") == 0)
				opt.mode = BERT_ZERO;
			else
				errx(2, "--mode: '%s' is not uniform or zero",
				    optarg);
			break;
		case 'm':
			mdir = optarg;
			break;
		case 'p':
			opt.pooled = 1;
			break;
		case 'P':
			if ((bf = bert_precision_name(optarg)) == -1)
				errx(2, "--precision: '%s' is not f32 or bf16",
				    optarg);
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'z':
			gz = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mdir == NULL)
		usage();
	if (bert_precision(bf, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (model_load(&m, mdir, err, sizeof(err)) == -1 ||
	    model_vocab(&vocab, mdir, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (dis != NULL) {
		if (headset_parse(&hs, dis, m.cfg.L, m.cfg.H, err,
		    sizeof(err)) == -1)
			errx(2, "--disable: %s", err);
		off = &hs;
	}
	if (opt.pooled && m.pw == NULL)
		errx(1, "%s: --pooled: the model has no pooler", mdir);
	if (opt.verbose)
		fprintf(stderr, "encode: %s: %d layers x %d heads, hidden %d; "
		    "OpenBLAS kernels %s (%s), dense layers on %s, %d threads, "
		    "batches in rows of %d\n", mdir, m.cfg.L, m.cfg.H, m.cfg.C,
		    blas_kernel(), blas_why(), bert_dense(), bert_threads(),
		    bert_rowunit());

	bert_run_init(&run, &m);
	run.want_attn = opt.attn;
	run.cls_only = opt.hidden == 0;
	slots = xcalloc(maxslots, sizeof(*slots));
	for (int i = 0; i < maxslots; i++)
		msgpack_unpacked_init(&slots[i].up);
	rr = rec_open(argc, argv);
	w = rec_wopen(gz);
	progress_init(&pg, "records", 0, opt.verbose);
	struct pending pend = { w, &run, slots, &n, off };
	rec_atdie(drain, &pend);
	while (rec_next(rr, &rec)) {
		struct slot *s;
		size_t T, Ts, att;
		msgpack_packer pk;
		size_t o = 0;

		/* check the record on its own, so errors name it */
		int *ids = NULL, *seg = NULL;
		T = rec_ints(&rec, "ids", &ids);
		if (rec_get(&rec, "seg") != NULL &&
		    (Ts = rec_ints(&rec, "seg", &seg)) != T)
			rec_die("'seg' has %zu values, 'ids' %zu", Ts, T);
		if (T == 0)
			rec_die("'ids' is empty");
		if (T > (size_t)model_maxlen(&m.cfg))
			rec_die("%s%zu tokens, longer than the %d positions "
			    "of %s (max_position_embeddings%s); tokenize -m "
			    "%s truncates to fit", idtext(&rec), T,
			    model_maxlen(&m.cfg), mdir, m.cfg.pos0 ?
			    " less pad_token_id + 1" : "", mdir);
		for (size_t i = 0; i < T; i++) {
			if (ids[i] < 0 || ids[i] >= m.cfg.V)
				rec_die("'ids'[%zu] is %d, outside the "
				    "vocabulary of %d", i, ids[i], m.cfg.V);
			if (seg && m.cfg.S > 0 && (seg[i] < 0 ||
			    seg[i] >= m.cfg.S))
				rec_die("'seg'[%zu] is %d, outside the %d "
				    "token types", i, seg[i], m.cfg.S);
		}
		if (model_tokens(&vocab, &rec, ids, T, mdir, err,
		    sizeof(err)) == -1)
			rec_die("%s", err);
		/*
		 * Flush before the batch outgrows its token budget, or, with
		 * attention, 64 MB of maps (one long record may exceed it
		 * alone: memory is bounded by one record's maps, not more).
		 */
		att = opt.attn ? (size_t)m.cfg.L * m.cfg.H * T * T * 4 : 0;
		if (n > 0 && (n == maxslots || ntok + T > opt.maxtok ||
		    natt + att > (64 << 20))) {
			flush(w, &run, slots, n, off);
			progress_add(&pg, n);
			n = 0;
			ntok = natt = 0;
		}
		s = &slots[n++];
		msgpack_sbuffer_destroy(&s->sb);
		msgpack_sbuffer_init(&s->sb);
		msgpack_packer_init(&pk, &s->sb, msgpack_sbuffer_write);
		msgpack_pack_object(&pk, rec);
		if (msgpack_unpack_next(&s->up, s->sb.data, s->sb.size, &o) !=
		    MSGPACK_UNPACK_SUCCESS)
			rec_die("cannot copy the record");
		s->ids = ids;
		s->seg = seg;
		s->T = T;
		snprintf(s->where, sizeof(s->where), "%s: %s", rec_where(),
		    idtext(&rec));
		if (s->where[strlen(s->where) - 2] == ':')
			s->where[strlen(s->where) - 2] = '\0';
		ntok += T;
		natt += att;
	}
	rec_atdie(NULL, NULL);
	flush(w, &run, slots, n, off);
	progress_add(&pg, n);
	progress_done(&pg);
	rec_close(rr);
	rec_wclose(w);
	for (int i = 0; i < maxslots; i++) {
		msgpack_unpacked_destroy(&slots[i].up);
		msgpack_sbuffer_destroy(&slots[i].sb);
	}
	free(slots);
	bert_run_release(&run);
	if (off)
		headset_release(off);
	model_release(&m);
	wp_release(&vocab);
	return 0;
}
