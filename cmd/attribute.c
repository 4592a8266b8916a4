/*
 * attribute -- attention attribution (Hao et al. 2021, "Self-Attention
 * Attribution"): for each layer, the attention scaled from 0 to itself in
 * m steps, the gradient of the model's probability of a label by the
 * scaled attention summed along the way, times the attention.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"
#include "blas.h"
#include "model.h"
#include "rec.h"
#include "tokrec.h"
#include "train.h"
#include "util.h"

static struct {
	int	 steps, pred, dtype, verbose;
	const char *imp;
} opt = { .steps = 20, .dtype = DT_F32 };

static const char *const drop[] = { "attr", "attr_max", "attr_label",
    NULL };

static void
usage(void)
{
	fprintf(stderr, "usage: attribute -m model [-pv] [-s steps] "
	    "[-I file] [--attn-dtype f32|f16|bf16] [file ...]\n");
	exit(2);
}

/*
 * The attribution of sequence (ids, seg, T) into attr (L, H, T, T), with
 * label y (-1: the prediction); returns the label used.
 */
static int
attribute(struct train *t, const int *ids, const int *seg, int T, int y,
    float *attr)
{
	const struct bert_config *k = &t->m.cfg;
	struct bert_run *r = &t->run;
	struct bert_train *tr = &t->bt;
	int m = opt.steps, L = k->L, H = k->H, nl = k->nlabels;
	size_t TT = (size_t)T * T;
	int *Tv = xreallocarray(NULL, m, sizeof(int));
	int *idv = xreallocarray(NULL, (size_t)m * T, sizeof(int));
	int *segv = xreallocarray(NULL, (size_t)m * T, sizeof(int));
	float *scale = xreallocarray(NULL, m, sizeof(float));
	float *dz = xreallocarray(NULL, (size_t)m * nl, sizeof(float));
	float *dprob = xreallocarray(NULL, (size_t)m * H * TT, sizeof(float));
	float *d = NULL;

	for (int i = 0; i < m; i++) {
		Tv[i] = T;
		memcpy(idv + (size_t)i * T, ids, T * sizeof(int));
		for (int j = 0; j < T; j++)
			segv[(size_t)i * T + j] = seg ? seg[j] : 0;
		scale[i] = (float)(i + 1) / m;
	}
	struct train_batch bt = { m, Tv, idv, segv, NULL };
	for (int l = 1; l <= L; l++) {
		tr->al = l;
		tr->ascale = scale;
		tr->dprob = NULL;
		train_forward(t, &bt, 0);
		/* the last copy is the model as it is: its prediction */
		if (y < 0 && nl > 1) {
			const float *z = t->logits + (size_t)(m - 1) * nl;

			y = (int)argmax(z, nl);
		} else if (nl == 1)
			y = 0;
		/* dF/dz: F = softmax(z)_y, or z itself for regression */
		for (int i = 0; i < m; i++) {
			const float *z = t->logits + (size_t)i * nl;
			float *g = dz + (size_t)i * nl;
			double mx = z[0], s = 0;

			if (nl == 1) {
				g[0] = 1;
				continue;
			}
			for (int j = 1; j < nl; j++)
				mx = fmax(mx, z[j]);
			for (int j = 0; j < nl; j++)
				s += exp(z[j] - mx);
			double py = exp(z[y] - mx) / s;
			for (int j = 0; j < nl; j++)
				g[j] = (float)(py * ((j == y) - exp(z[j] - mx) /
				    s));
		}
		d = xreallocarray(d, (size_t)r->Np, k->C * sizeof(float));
		tr->dprob = dprob;
		bert_head_backward(r, &t->g, d, dz);
		for (int ll = L; ll > l; ll--)
			bert_layer_backward(r, ll, &t->g, d);
		bert_out_backward(r, l, &t->g, d, tr->d1);
		bert_attend_backward(r, l, tr->dq, tr->d1);
		tr->dprob = NULL;

		/* A (the last copy's) times the mean of the gradients */
		const float *A = tr->a[l - 1].att + tr->poff[m - 1];
		float *o = attr + (size_t)(l - 1) * H * TT;
		for (size_t i = 0; i < H * TT; i++) {
			double s = 0;

			for (int c = 0; c < m; c++)
				s += dprob[tr->poff[c] + i];
			o[i] = (float)(A[i] * s / m);
		}
	}
	tr->ascale = NULL;
	free(d);
	free(dprob);
	free(dz);
	free(scale);
	free(segv);
	free(idv);
	free(Tv);
	return y;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "attn-dtype", required_argument, NULL, 'D' },
		{ "importance", required_argument, NULL, 'I' },
		{ "model", required_argument, NULL, 'm' },
		{ "pred", no_argument, NULL, 'p' },
		{ "steps", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mdir = NULL;
	struct rec_reader *rr;
	struct rec_writer *w;
	struct progress pg;
	struct bert m;
	struct train t;
	struct wp_vocab vocab;
	msgpack_object rec;
	double *imp;
	char ebuf[512];
	int ch;
	long v;

	blas_init(argv);
	while ((ch = getopt_long(argc, argv, "I:m:ps:v", lopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			if ((opt.dtype = tensor_dtype(optarg)) == -1)
				errx(2, "--attn-dtype: '%s' is not f32, f16 "
				    "or bf16", optarg);
			break;
		case 'I':
			opt.imp = optarg;
			break;
		case 'm':
			mdir = optarg;
			break;
		case 'p':
			opt.pred = 1;
			break;
		case 's':
			if (parse_long(optarg, 1, 1000, &v) == -1)
				errx(2, "-s: '%s' is not a number of steps "
				    "(1 to 1000)", optarg);
			opt.steps = v;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mdir == NULL)
		usage();
	if (model_load(&m, mdir, ebuf, sizeof(ebuf)) == -1 ||
	    model_vocab(&vocab, mdir, ebuf, sizeof(ebuf)) == -1)
		errx(1, "%s", ebuf);
	if (m.cw == NULL || m.cfg.nlabels < 1)
		errx(1, "%s: the model has no classifier: attribute needs "
		    "logits to take the gradient of", mdir);
	const struct bert_config *k = &m.cfg;
	int L = k->L, H = k->H, nl = k->nlabels;
	train_init(&t, &m, nl, 0, 0.0f, 1);
	imp = xcalloc((size_t)L * H, sizeof(double));

	rr = rec_open(argc, argv);
	w = rec_wopen(0);
	progress_init(&pg, "records", 0, opt.verbose);
	size_t nrec = 0;
	while (rec_next(rr, &rec)) {
		int *ids = NULL, *seg = NULL, y = -1;
		size_t T;

		T = tokrec_check(&rec, k, &vocab, mdir, &ids, &seg);
		if (!opt.pred && nl > 1 && rec_get(&rec, "label") != NULL) {
			double lb = rec_num(&rec, "label");

			if (!isclass(lb, nl))
				rec_die("'label' %g is not a class of 0..%d "
				    "(-p attributes the prediction)", lb,
				    nl - 1);
			y = (int)lb;
		}

		size_t TT = T * T;
		float *attr = xreallocarray(NULL, (size_t)L * H, TT *
		    sizeof(float));
		float *amax = xreallocarray(NULL, (size_t)L * H,
		    sizeof(float));
		y = attribute(&t, ids, seg, (int)T, y, attr);
		for (size_t i = 0; i < (size_t)L * H; i++) {
			float mx = attr[i * TT];

			for (size_t j = 1; j < TT; j++)
				mx = fmaxf(mx, attr[i * TT + j]);
			if (!isfinite(mx))
				rec_die("the attribution of L%zuH%zu is not "
				    "finite (the model's weights or inputs "
				    "overflow)", i / H + 1, i % H + 1);
			amax[i] = mx;
			imp[i] += mx;
		}
		rec_map_begin(w);
		rec_copy_except(w, &rec, drop);
		size_t s4[4] = { L, H, T, T }, s2[2] = { L, H };
		rec_put_tensor(w, "attr", opt.dtype, s4, 4, attr);
		rec_put_tensor(w, "attr_max", DT_F32, s2, 2, amax);
		rec_put_int(w, "attr_label", y);
		rec_map_end(w);
		rec_whole(w);
		free(attr);
		free(amax);
		free(ids);
		free(seg);
		nrec++;
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	rec_close(rr);
	rec_wclose(w);
	if (opt.imp != NULL) {
		FILE *fp = fopen(opt.imp, "w");

		if (fp == NULL)
			err(1, "%s", opt.imp);
		fprintf(fp, "layer\thead\timportance\n");
		for (int i = 0; i < L * H; i++)
			fprintf(fp, "%d\t%d\t%.9g\n", i / H + 1, i % H + 1,
			    imp[i]);
		closeout(fp, opt.imp);
	}
	free(imp);
	train_release(&t);
	model_release(&m);
	wp_release(&vocab);
	return 0;
}
