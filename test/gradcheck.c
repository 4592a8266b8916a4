/*
 * gradcheck -- check finetune's backward pass (common/train.c) against
 * central finite differences of an independent forward pass written in
 * double precision with plain loops, on a tiny random model, for every
 * parameter tensor and for the head gates (head importance).  Dropout is
 * on, with the same masks (train_keep), so the dropout backward is checked
 * too.  Prints one line per tensor: name, max |analytic - numeric| over
 * max |numeric|, and exits 1 when any is above the tolerance.
 *
 *	usage: gradcheck [-brw] [-a act] [-d dropout] [-f family] [-t tol]
 *	-b: every product in bf16 (bert_precision), within a tolerance of
 *	    bf16's rounding (-t 5e-2); exits 77 without AVX512-BF16.
 *	-r: regression (one label, MSE) instead of three classes.
 *	-w: hidden 32 in 2 heads of 16, FFN 48 (else 8, 2 heads of 4, 12):
 *	    whole panels of gemm.c's kernel, each head's queries, keys and
 *	    values in a block of their own.
 *	-a: the FFN's activation, gelu (erf), gelu_new or relu.
 *	-f: a family of model.c's (roberta: positions after the padding
 *	    index, one token type, a pad id among the inputs, dropout on
 *	    [CLS] before the head; distilbert: no token types, the head's
 *	    ReLU; electra: embeddings of 6 projected to C, the head's GELU;
 *	    albert: the same projection, 3 layers in 2 groups, the first
 *	    group's weights shared by two layers, whose gradients add up).
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert.h"
#include "model.h"
#include "train.h"
#include "util.h"

#define B	3
static const int Ts[B] = { 5, 7, 4 };

static struct train tr;
static double FLOOR = 1e-3;	/* see main */
static double *P;		/* (nparams) double copy of the weights */
static double *gate;		/* (L, H) */
static const struct model_family *fam;
static int ids[32], seg[32];
static float labels[B];

#define W(f)	(P + ((f) - tr.m.params))

/* y (n) = LayerNorm of x (n). */
static void
ln(double *y, const double *x, const double *g, const double *b, int n,
    double eps)
{
	double m = 0, v = 0;

	for (int i = 0; i < n; i++)
		m += x[i];
	m /= n;
	for (int i = 0; i < n; i++)
		v += (x[i] - m) * (x[i] - m);
	v /= n;
	for (int i = 0; i < n; i++)
		y[i] = (x[i] - m) / sqrt(v + eps) * g[i] + b[i];
}

/* y (o) = w (o, n) x (n) + b (o) */
static void
lin(double *y, const double *w, const double *b, const double *x, int o,
    int n)
{
	for (int i = 0; i < o; i++) {
		double s = b[i];

		for (int j = 0; j < n; j++)
			s += w[i * n + j] * x[j];
		y[i] = s;
	}
}

static double
drop(double v, uint64_t key, size_t i, float p)
{
	if (p <= 0)
		return v;
	return train_keep(key, i, p) ? v / (1.0 - p) : 0.0;
}

/* act (ACT_*) of x */
static double
act(int a, double x)
{
	switch (a) {
	case ACT_GELU_TANH:
		return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 *
		    x * x * x)));
	case ACT_RELU:
		return x > 0 ? x : 0;
	case ACT_TANH:
		return tanh(x);
	}
	return 0.5 * x * (1 + erf(x / sqrt(2)));
}

/* The loss of example b alone: the reference forward pass. */
static double
ref_loss(int b, float p, long step)
{
	const struct bert_config *k = &tr.m.cfg;
	const struct bert *m = &tr.m;
	int C = k->C, F = k->F, H = k->H, D = C / H, T = Ts[b], nl = k->nlabels;
	int E = model_emb(k), off = 0, npad = 0;
	size_t poff = 0;
	double x[16][32], y[16][32], qkv[16][96], ctx[16][32], f[64];
	double s[16], pool[32], z[8] = { 0 }, cls[32], loss;
	uint64_t seed = tr.seed;

	for (int i = 0; i < b; i++) {
		off += Ts[i];
		poff += (size_t)H * Ts[i] * Ts[i];
	}
	for (int i = 0; i < T; i++) {
		int n = off + i, pos = i;
		double e[32], o[32];

		/* RoBERTa: pad + 1 + the tokens so far that are not padding */
		if (k->pos0 > 0 && ids[n] == k->pad) {
			pos = k->pad;
			npad++;
		} else if (k->pos0 > 0)
			pos = k->pad + 1 + i - npad;
		for (int c = 0; c < E; c++)
			e[c] = W(m->wte)[ids[n] * E + c] +
			    W(m->wpe)[pos * E + c] + (m->tte ?
			    W(m->tte)[seg[n] * E + c] : 0);
		ln(o, e, W(m->elng), W(m->elnb), E, k->eps);
		for (int c = 0; c < E; c++)
			o[c] = drop(o[c], train_key(seed, step, 0,
			    TRAIN_DROP_EMB), (size_t)n * E + c, p);
		if (m->epw)
			lin(x[i], W(m->epw), W(m->epb), o, C, E);
		else
			memcpy(x[i], o, sizeof(x[i]));
	}
	for (int l = 0; l < k->L; l++) {
		const struct bert_layer *w = &m->layer[l];
		uint64_t ka = train_key(seed, step, l, TRAIN_DROP_ATT);
		uint64_t ko = train_key(seed, step, l, TRAIN_DROP_AO);
		uint64_t kf = train_key(seed, step, l, TRAIN_DROP_FO);

		for (int i = 0; i < T; i++)
			lin(qkv[i], W(w->qkvw), W(w->qkvb), x[i], 3 * C, C);
		for (int h = 0; h < H; h++)
			for (int i = 0; i < T; i++) {
				double mx = -1e300, sum = 0;

				for (int j = 0; j < T; j++) {
					double d = 0;

					for (int c = 0; c < D; c++)
						d += qkv[i][h * D + c] *
						    qkv[j][C + h * D + c];
					s[j] = d / sqrt(D);
					if (s[j] > mx)
						mx = s[j];
				}
				for (int j = 0; j < T; j++)
					sum += (s[j] = exp(s[j] - mx));
				for (int j = 0; j < T; j++)
					s[j] = drop(s[j] / sum, ka, poff +
					    ((size_t)h * T + i) * T + j, p);
				for (int c = 0; c < D; c++) {
					double a = 0;

					for (int j = 0; j < T; j++)
						a += s[j] *
						    qkv[j][2 * C + h * D + c];
					ctx[i][h * D + c] = gate[l * H + h] * a;
				}
			}
		for (int i = 0; i < T; i++) {
			double r[32], o[32];
			int n = off + i;

			lin(o, W(w->aow), W(w->aob), ctx[i], C, C);
			for (int c = 0; c < C; c++)
				r[c] = x[i][c] + drop(o[c], ko,
				    (size_t)n * C + c, p);
			ln(y[i], r, W(w->ln1g), W(w->ln1b), C, k->eps);
			lin(f, W(w->iw), W(w->ib), y[i], F, C);
			for (int j = 0; j < F; j++)
				f[j] = act(k->act, f[j]);
			lin(o, W(w->ow), W(w->ob), f, C, F);
			for (int c = 0; c < C; c++)
				r[c] = y[i][c] + drop(o[c], kf,
				    (size_t)n * C + c, p);
			ln(x[i], r, W(w->ln2g), W(w->ln2b), C, k->eps);
		}
	}
	for (int c = 0; c < C; c++)
		cls[c] = fam->flags & MF_CLSDROP ? drop(x[0][c], train_key(seed,
		    step, 0, TRAIN_DROP_CLS), (size_t)b * C + c, p) : x[0][c];
	lin(pool, W(m->pw), W(m->pb), cls, C, C);
	for (int c = 0; c < C; c++)
		pool[c] = drop(act(fam->headact, pool[c]), train_key(seed,
		    step, 0, TRAIN_DROP_POOL), (size_t)b * C + c, p);
	lin(z, W(m->cw), W(m->cb), pool, nl, C);
	if (nl == 1)
		return (z[0] - labels[b]) * (z[0] - labels[b]);
	double mx = z[0], sum = 0;
	for (int j = 1; j < nl; j++)
		if (z[j] > mx)
			mx = z[j];
	for (int j = 0; j < nl; j++)
		sum += exp(z[j] - mx);
	loss = log(sum) + mx - z[(int)labels[b]];
	return loss;
}

static double
ref_batch(float p, long step)
{
	double s = 0;

	for (int b = 0; b < B; b++)
		s += ref_loss(b, p, step);
	return s / B;
}

int
main(int argc, char *argv[])
{
	struct bert src;
	struct train_batch bt;
	double tol = 1e-3, worst = 0, h = 1e-4;
	float p = 0.1f;
	int ch, regress = 0, wide = 0, bf = 0, N = 0, bad = 0, L, H;
	int a = ACT_GELU;
	char err[256];
	uint64_t rng = 42;
	long step = 3;

	fam = model_family_named("bert");
	while ((ch = getopt(argc, argv, "a:bd:f:rt:w")) != -1) {
		switch (ch) {
		case 'a':
			a = strcmp(optarg, "gelu_new") == 0 ? ACT_GELU_TANH :
			    strcmp(optarg, "relu") == 0 ? ACT_RELU : ACT_GELU;
			break;
		case 'b':
			bf = 1;
			break;
		case 'f':
			if ((fam = model_family_named(optarg)) == NULL)
				errx(2, "-f %s: no such family", optarg);
			break;
		case 'd':
			p = atof(optarg);
			break;
		case 'r':
			regress = 1;
			break;
		case 't':
			tol = atof(optarg);
			break;
		case 'w':
			wide = 1;
			break;
		default:
			fprintf(stderr, "usage: gradcheck [-brw] [-a act] "
			    "[-d dropout] [-f family] [-t tol]\n");
			return 2;
		}
	}
	if (bert_precision(bf, err, sizeof(err)) == -1) {
		printf("%s\n", err);
		return 77;
	}
	/*
	 * bf16 rounds every product's inputs to 8 bits: a gradient that is 0
	 * (the key bias's) comes out at a few 1e-3, that much of the
	 * gradients' scale here, and is measured against that scale.
	 */
	if (bf)
		FLOOR = 0.1;
	memset(&src, 0, sizeof(src));
	src.cfg = (struct bert_config){ .L = 2, .H = 2, .C = wide ? 32 : 8,
	    .F = wide ? 48 : 12, .V = 20, .P = 16, .S = 2, .nlabels = 0,
	    .eps = 1e-12f, .fam = fam, .act = a };
	if (fam->flags & MF_PADPOS) {
		src.cfg.S = 1;
		src.cfg.pad = 1;
		src.cfg.pos0 = 2;
	}
	if (strcmp(fam->type, "distilbert") == 0)
		src.cfg.S = 0;
	if (fam->defE > 0)
		src.cfg.E = 6;
	if (fam->flags & MF_SHARED) {
		src.cfg.L = 3;
		src.cfg.G = 2;
	}
	L = src.cfg.L;
	H = src.cfg.H;
	train_init(&tr, &src, regress ? 1 : 3, 1, p, 7);
	tr.step = step;
	tr.want_imp = 1;

	/* Every weight random, so that no gradient is trivially zero. */
	for (int e = 0; e < tr.ntt; e++) {
		const struct train_tensor *te = &tr.tt[e];
		float *w = tr.m.params + te->off;
		int lnw = strstr(te->name, "LayerNorm.weight") != NULL;

		for (size_t i = 0; i < te->n; i++)
			w[i] = (float)((lnw ? 1.0 : 0.0) + (te->ndim == 1 ?
			    0.2 : 0.4) * train_normal(&rng));
	}
	P = xmalloc(tr.m.nparams * sizeof(*P));
	for (size_t i = 0; i < tr.m.nparams; i++)
		P[i] = tr.m.params[i];
	gate = xmalloc(L * H * sizeof(*gate));
	for (int i = 0; i < L * H; i++)
		gate[i] = tr.gate[i] = 0.5f + 0.25f * (i % 4);
	for (int b = 0; b < B; b++) {
		for (int i = 0; i < Ts[b]; i++, N++) {
			ids[N] = train_rand(&rng) % 20;
			seg[N] = src.cfg.S > 1 && i > Ts[b] / 2;
		}
		labels[b] = regress ? (float)train_normal(&rng) :
		    (float)(train_rand(&rng) % 3);
	}
	bt = (struct train_batch){ B, Ts, ids, seg, labels };
	float loss = train_forward(&tr, &bt, 1);
	train_backward(&tr);
	double rl = ref_batch(p, step);
	printf("loss\tfloat %.7f\tdouble %.7f\trel %.2e\n", loss, rl,
	    fabs(loss - rl) / fabs(rl));

	for (int e = 0; e < tr.ntt; e++) {
		const struct train_tensor *te = &tr.tt[e];
		double maxd = 0, maxn = 0, rel;

		for (size_t i = 0; i < te->n; i++) {
			double *w = P + te->off + i, w0 = *w, lp, lm, num;

			*w = w0 + h;
			lp = ref_batch(p, step);
			*w = w0 - h;
			lm = ref_batch(p, step);
			*w = w0;
			num = (lp - lm) / (2 * h);
			if (fabs(num) > maxn)
				maxn = fabs(num);
			if (fabs(num - tr.grads[te->off + i]) > maxd)
				maxd = fabs(num - tr.grads[te->off + i]);
		}
		/*
		 * Relative to the largest numeric gradient, with a floor:
		 * the key bias has none at all (softmax does not see a
		 * shift of all its inputs), only float rounding.
		 */
		rel = maxd / (maxn > FLOOR ? maxn : FLOOR);
		if (rel > worst)
			worst = rel;
		if (rel > tol)
			bad++;
		printf("%s\t%.2e\t(max |grad| %.2e)\n", te->name, rel, maxn);
	}

	/* Head gates: sum over examples of |d loss_b / d gate|. */
	for (int l = 0; l < L; l++) {
		double maxd = 0, maxn = 0, rel;

		for (int hh = 0; hh < H; hh++) {
			double *gg = gate + l * H + hh, g0 = *gg, num = 0;

			for (int b = 0; b < B; b++) {
				double lp, lm;

				*gg = g0 + h;
				lp = ref_loss(b, p, step);
				*gg = g0 - h;
				lm = ref_loss(b, p, step);
				*gg = g0;
				num += fabs((lp - lm) / (2 * h));
			}
			if (num > maxn)
				maxn = num;
			if (fabs(num - tr.imp[l * H + hh]) > maxd)
				maxd = fabs(num - tr.imp[l * H + hh]);
		}
		rel = maxd / (maxn > FLOOR ? maxn : FLOOR);
		if (rel > worst)
			worst = rel;
		if (rel > tol)
			bad++;
		printf("gate.layer.%d\t%.2e\t(max |grad| %.2e)\n", l, rel, maxn);
	}
	printf("worst\t%.2e\t%s\n", worst, bad ? "FAIL" : "ok");
	train_release(&tr);
	free(P);
	free(gate);
	return bad ? 1 : 0;
}
