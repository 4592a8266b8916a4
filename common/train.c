/*
 * train.c -- BERT fine-tuning: forward with saved activations, backward by
 * hand, AdamW.  Letters as in llm.c: L layers, H heads, C hidden, D = C/H,
 * F intermediate, V vocabulary, N packed token rows, B examples, T tokens
 * of one example.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bert.h"
#include "model.h"
#include "train.h"
#include "util.h"

/* ---- random numbers and dropout masks ---- */

/* The splitmix64 finaliser: a good 64-bit mix of z. */
static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
train_rand(uint64_t *s)
{
	return mix64(*s += 0x9e3779b97f4a7c15ULL);
}

/* Box-Muller; one of the pair is thrown away, for a simple state. */
double
train_normal(uint64_t *s)
{
	double u1, u2;

	u1 = ((train_rand(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	u2 = (train_rand(s) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t
train_key(uint64_t seed, long step, int layer, int kind)
{
	uint64_t k;

	k = mix64(seed + 0x9e3779b97f4a7c15ULL);
	k = mix64(k ^ ((uint64_t)step * 0xd1342543de82ef95ULL));
	return mix64(k ^ ((uint64_t)layer << 8 | (uint64_t)kind));
}

/*
 * Element i of the mask is the (i + 1)th number of a splitmix64 stream that
 * starts at key: kept when its top 24 bits are at least p * 2^24.
 */
int
train_keep(uint64_t key, size_t i, float p)
{
	uint64_t z = mix64(key + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);

	return (z >> 40) >= (uint64_t)(p * 16777216.0f + 0.5f);
}

/* y[i] = x[i] kept / (1 - p), or 0; i counts from i0 in the mask. */
static void
dropout(float *y, const float *x, size_t n, uint64_t key, size_t i0, float p)
{
	float scale = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++)
		y[i] = train_keep(key, i0 + i, p) ? x[i] * scale : 0.0f;
}

/* ---- the parameter layout ---- */

static void
addt(struct train *t, const struct model_it *it, const float *p,
    const float *base)
{
	struct train_tensor *e = &t->tt[t->ntt++];
	size_t len = strlen(it->name);

	if (len >= sizeof(e->name)) {
		/* a table's name that struct train_tensor cannot hold */
		fprintf(stderr, "internal error: tensor name '%s' is too "
		    "long\n", it->name);
		abort();
	}
	memcpy(e->name, it->name, len + 1);
	e->off = p - base;
	e->n = it->n;
	e->ndim = it->ndim;
	e->shape[0] = it->shape[0];
	e->shape[1] = it->ndim > 1 ? it->shape[1] : 0;
	e->decay = (it->t->flags & MT_DECAY) != 0;
}

static size_t
nparams(const struct bert_config *k)
{
	struct bert m = { .cfg = *k };

	return model_layout(&m, NULL, MT_OPTIONAL);
}

/*
 * Point the fields of m into base as the table lays them out, pooler and
 * classifier included; with t, also list the tensors by their HF names
 * (query, key and value are row blocks of qkv), t->tt sized by the table.
 */
static void
point(struct bert *m, float *base, struct train *t)
{
	struct model_it it;
	size_t n = 0;

	model_layout(m, base, MT_OPTIONAL);
	if (t == NULL)
		return;
	model_it_init(&it, &m->cfg, MT_OPTIONAL);
	while (model_it_next(&it))
		n++;
	t->tt = xreallocarray(t->tt, n, sizeof(*t->tt));
	t->ntt = 0;
	model_it_init(&it, &m->cfg, MT_OPTIONAL);
	while (model_it_next(&it))
		addt(t, &it, model_ptr(m, &it), base);
}

/*
 * HF _init_weights for one tensor of the list: LayerNorm gains 1, other
 * vectors 0, matrices and embeddings N(0, 0.02).
 */
static void
init_tensor(struct train *t, const struct train_tensor *e, uint64_t *rng)
{
	float *p = t->m.params + e->off;
	struct model_it it;
	unsigned flags = 0;

	model_it_init(&it, &t->m.cfg, MT_OPTIONAL);
	while (model_it_next(&it))
		if (strcmp(it.name, e->name) == 0)
			flags = it.t->flags;
	if (flags & MT_GAIN) {
		for (size_t i = 0; i < e->n; i++)
			p[i] = 1.0f;
	} else if (e->ndim == 1) {
		memset(p, 0, e->n * sizeof(*p));
	} else {
		for (size_t i = 0; i < e->n; i++)
			p[i] = (float)(0.02 * train_normal(rng));
	}
}

static void
copyw(float *dst, const float *src, size_t n)
{
	if (src)
		memcpy(dst, src, n * sizeof(*dst));
}

void
train_init(struct train *t, const struct bert *src, int nlabels,
    int random_init, float dropout, uint64_t seed)
{
	const struct bert_config *k;
	size_t C, F, np;
	uint64_t rng = seed ^ 0x5eed5eed5eed5eedULL;
	int keepcls;

	memset(t, 0, sizeof(*t));
	t->m.cfg = src->cfg;
	t->m.cfg.nlabels = nlabels;
	k = &t->m.cfg;
	C = k->C;
	F = k->F;
	np = nparams(k);
	t->m.nparams = t->g.nparams = np;
	t->m.params = xcalloc(np, sizeof(float));
	t->grads = t->g.params = xcalloc(np, sizeof(float));
	t->am = xcalloc(np, sizeof(float));
	t->av = xcalloc(np, sizeof(float));
	t->m.layer = xcalloc(k->L, sizeof(*t->m.layer));
	t->g.layer = xcalloc(k->L, sizeof(*t->g.layer));
	t->g.cfg = t->m.cfg;
	if (src->dir)
		t->m.dir = xstrdup(src->dir);
	t->tt = xcalloc(5 + 16 * (size_t)k->L + 4, sizeof(*t->tt));
	point(&t->m, t->m.params, t);
	point(&t->g, t->g.params, NULL);
	t->dropout = dropout;
	t->seed = seed;
	t->gate = xmalloc(k->L * k->H * sizeof(*t->gate));
	for (int i = 0; i < k->L * k->H; i++)
		t->gate[i] = 1.0f;
	t->imp = xcalloc(k->L * k->H, sizeof(*t->imp));

	if (random_init) {
		for (int i = 0; i < t->ntt; i++)
			init_tensor(t, &t->tt[i], &rng);
		memset(t->m.wte, 0, C * sizeof(float));	/* [PAD], row 0 */
		return;
	}
	copyw(t->m.wte, src->wte, (size_t)k->V * C);
	copyw(t->m.wpe, src->wpe, (size_t)k->P * C);
	copyw(t->m.tte, src->tte, (size_t)k->S * C);
	copyw(t->m.elng, src->elng, C);
	copyw(t->m.elnb, src->elnb, C);
	for (int l = 0; l < k->L; l++) {
		struct bert_layer *d = &t->m.layer[l];
		const struct bert_layer *s = &src->layer[l];

		copyw(d->qkvw, s->qkvw, 3 * C * C);
		copyw(d->qkvb, s->qkvb, 3 * C);
		copyw(d->aow, s->aow, C * C);
		copyw(d->aob, s->aob, C);
		copyw(d->ln1g, s->ln1g, C);
		copyw(d->ln1b, s->ln1b, C);
		copyw(d->iw, s->iw, F * C);
		copyw(d->ib, s->ib, F);
		copyw(d->ow, s->ow, C * F);
		copyw(d->ob, s->ob, C);
		copyw(d->ln2g, s->ln2g, C);
		copyw(d->ln2b, s->ln2b, C);
	}
	/* The last four tensors: pooler weight and bias, classifier's. */
	if (src->pw && src->pb) {
		copyw(t->m.pw, src->pw, C * C);
		copyw(t->m.pb, src->pb, C);
	} else {
		init_tensor(t, &t->tt[t->ntt - 4], &rng);
		init_tensor(t, &t->tt[t->ntt - 3], &rng);
	}
	keepcls = src->cw && src->cb && src->cfg.nlabels == nlabels;
	if (keepcls) {
		copyw(t->m.cw, src->cw, (size_t)nlabels * C);
		copyw(t->m.cb, src->cb, nlabels);
	} else {
		init_tensor(t, &t->tt[t->ntt - 2], &rng);
		init_tensor(t, &t->tt[t->ntt - 1], &rng);
	}
}

void
train_release(struct train *t)
{
	free(t->m.params);
	free(t->m.layer);
	free(t->m.dir);
	free(t->g.layer);
	free(t->grads);
	free(t->am);
	free(t->av);
	free(t->tt);
	free(t->gate);
	free(t->imp);
	free(t->T);
	free(t->off);
	free(t->poff);
	free(t->ids);
	free(t->seg);
	free(t->label);
	free(t->logits);
	free(t->probs);
	free(t->act);
	free(t->x);
	free(t->scratch);
	memset(t, 0, sizeof(*t));
}

/* ---- activations ---- */

/* Room for a batch of B examples, N rows, P probs, T tokens at most. */
static void
reserve(struct train *t, int B, size_t N, size_t P, int T)
{
	const struct bert_config *k = &t->m.cfg;
	size_t C = k->C, F = k->F, L = k->L, n, per;
	float *a;

	if ((size_t)B <= t->capB && N <= t->capN && P <= t->capP &&
	    T <= t->capT)
		return;
	if ((size_t)B > t->capB) {
		t->capB = B;
		t->T = xreallocarray(t->T, B, sizeof(int));
		t->off = xreallocarray(t->off, B + 1, sizeof(int));
		t->poff = xreallocarray(t->poff, B + 1, sizeof(size_t));
		t->label = xreallocarray(t->label, B, sizeof(float));
		t->logits = xreallocarray(t->logits, (size_t)B * k->nlabels,
		    sizeof(float));
		t->probs = xreallocarray(t->probs, (size_t)B * k->nlabels,
		    sizeof(float));
	}
	if (N > t->capN) {
		t->capN = N;
		t->ids = xreallocarray(t->ids, N, sizeof(int));
		t->seg = xreallocarray(t->seg, N, sizeof(int));
	}
	if (P > t->capP)
		t->capP = P;
	if (T > t->capT)
		t->capT = T;
	N = t->capN;
	P = t->capP;
	B = t->capB;
	T = t->capT;

	per = 3 * N * C + P + N * C + N * C + 2 * N + N * C + 2 * N * F +
	    N * C + 2 * N;
	n = N * C + 2 * N + (L + 1) * N * C + L * per + 3 * (size_t)B * C;
	free(t->act);
	free(t->x);
	t->act = a = xmalloc(n * sizeof(float));
	t->x = xmalloc((14 * L + 1) * sizeof(float *));
	t->qkv = t->x + L + 1;
	t->att = t->qkv + L;
	t->ctx = t->att + L;
	t->r1 = t->ctx + L;
	t->m1 = t->r1 + L;
	t->s1 = t->m1 + L;
	t->x1 = t->s1 + L;
	t->fc = t->x1 + L;
	t->ge = t->fc + L;
	t->r2 = t->ge + L;
	t->m2 = t->r2 + L;
	t->s2 = t->m2 + L;
#define TAKE(f, m)	do { (f) = a; a += (m); } while (0)
	TAKE(t->emb, N * C);
	TAKE(t->emean, N);
	TAKE(t->erstd, N);
	for (size_t l = 0; l <= L; l++)
		TAKE(t->x[l], N * C);
	for (size_t l = 0; l < L; l++) {
		TAKE(t->qkv[l], 3 * N * C);
		TAKE(t->att[l], P);
		TAKE(t->ctx[l], N * C);
		TAKE(t->r1[l], N * C);
		TAKE(t->m1[l], N);
		TAKE(t->s1[l], N);
		TAKE(t->x1[l], N * C);
		TAKE(t->fc[l], N * F);
		TAKE(t->ge[l], N * F);
		TAKE(t->r2[l], N * C);
		TAKE(t->m2[l], N);
		TAKE(t->s2[l], N);
	}
	TAKE(t->cls, (size_t)B * C);
	TAKE(t->pool, (size_t)B * C);
	TAKE(t->poold, (size_t)B * C);
#undef TAKE
	/* Backward: three (N, C), one (N, F), one (N, 3C), two (T, T), two (B, C). */
	free(t->scratch);
	t->scratch = xmalloc((3 * N * C + N * F + 3 * N * C +
	    2 * (size_t)T * T + 2 * (size_t)B * C) * sizeof(float));
}

/* ---- forward pieces ---- */

/* y (N, M) = x (N, K) . w (M, K)^T + b (M); b may be NULL. */
static void
linear(float *y, const float *x, const float *w, const float *b, size_t N,
    size_t K, size_t M)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, M, K, 1.0f,
	    x, K, w, K, 0.0f, y, M);
	if (b)
		for (size_t i = 0; i < N; i++)
			for (size_t j = 0; j < M; j++)
				y[i * M + j] += b[j];
}

/*
 * y (N, C) = LayerNorm of x (N, C) with gain g and bias b; keeps each row's
 * mean and 1/sqrt(var + eps) (biased variance, as torch).
 */
static void
layernorm(float *y, float *mean, float *rstd, const float *x,
    const float *g, const float *b, size_t N, size_t C, float eps)
{
	for (size_t i = 0; i < N; i++) {
		const float *xi = x + i * C;
		float *yi = y + i * C;
		double m = 0, v = 0;

		for (size_t c = 0; c < C; c++)	/* pass 1: mean */
			m += xi[c];
		m /= C;
		for (size_t c = 0; c < C; c++)	/* pass 2: variance */
			v += (xi[c] - m) * (xi[c] - m);
		v /= C;
		float s = (float)(1.0 / sqrt(v + eps)), mf = (float)m;
		for (size_t c = 0; c < C; c++)	/* pass 3: normalise */
			yi[c] = (xi[c] - mf) * s * g[c] + b[c];
		mean[i] = mf;
		rstd[i] = s;
	}
}

/* Rows of p (n, T) in place: softmax, the row max subtracted first. */
static void
softmax_rows(float *p, size_t n, size_t T)
{
	for (size_t i = 0; i < n; i++) {
		float *r = p + i * T, mx = r[0], sum = 0;

		for (size_t j = 1; j < T; j++)
			if (r[j] > mx)
				mx = r[j];
		for (size_t j = 0; j < T; j++)
			sum += (r[j] = expf(r[j] - mx));
		for (size_t j = 0; j < T; j++)
			r[j] /= sum;
	}
}

float
train_forward(struct train *t, const struct train_batch *bt, int train)
{
	const struct bert_config *k = &t->m.cfg;
	const struct bert *m = &t->m;
	size_t C = k->C, F = k->F, H = k->H, D = C / H, C3 = 3 * C;
	size_t N = 0, P = 0, B = bt->B, nl = k->nlabels;
	float p = train ? t->dropout : 0.0f, scale = 1.0f / sqrtf((float)D);
	int maxT = 1;
	double loss = 0;

	for (size_t b = 0; b < B; b++) {
		N += bt->T[b];
		P += H * (size_t)bt->T[b] * bt->T[b];
		if (bt->T[b] > maxT)
			maxT = bt->T[b];
	}
	reserve(t, B, N, P, maxT);
	t->B = B;
	t->N = N;
	t->train = train;
	t->off[0] = 0;
	t->poff[0] = 0;
	for (size_t b = 0; b < B; b++) {
		t->T[b] = bt->T[b];
		t->off[b + 1] = t->off[b] + bt->T[b];
		t->poff[b + 1] = t->poff[b] + H * (size_t)bt->T[b] * bt->T[b];
		t->label[b] = bt->label ? bt->label[b] : 0.0f;
	}
	memcpy(t->ids, bt->ids, N * sizeof(int));
	memcpy(t->seg, bt->seg, N * sizeof(int));

	/* Embeddings: word + position + token type, LayerNorm, dropout. */
	for (size_t b = 0; b < B; b++)
		for (int i = 0; i < t->T[b]; i++) {
			size_t n = t->off[b] + i;
			const float *we = m->wte + (size_t)t->ids[n] * C;
			const float *pe = m->wpe + (size_t)i * C;
			const float *te = m->tte + (size_t)t->seg[n] * C;

			for (size_t c = 0; c < C; c++)
				t->emb[n * C + c] = we[c] + pe[c] + te[c];
		}
	layernorm(t->x[0], t->emean, t->erstd, t->emb, m->elng, m->elnb, N, C,
	    k->eps);
	if (p > 0)
		dropout(t->x[0], t->x[0], N * C,
		    train_key(t->seed, t->step, 0, TRAIN_DROP_EMB), 0, p);

	for (int l = 0; l < k->L; l++) {
		const struct bert_layer *w = &m->layer[l];
		float *x = t->x[l], *qkv = t->qkv[l], *att = t->att[l];
		float *ctx = t->ctx[l], *r1 = t->r1[l], *x1 = t->x1[l];
		float *fc = t->fc[l], *ge = t->ge[l], *r2 = t->r2[l];
		float *pd = t->scratch;		/* (T, T) dropped probs */
		uint64_t ka = train_key(t->seed, t->step, l, TRAIN_DROP_ATT);
		uint64_t ko = train_key(t->seed, t->step, l, TRAIN_DROP_AO);
		uint64_t kf = train_key(t->seed, t->step, l, TRAIN_DROP_FO);

		/* qkv (N, 3C) = x . qkvw^T + qkvb */
		linear(qkv, x, w->qkvw, w->qkvb, N, C, C3);

		/*
		 * Per example b and head h: s (T, T) = q k^T / sqrt(D),
		 * row softmax (kept), dropout, ctx_h (T, D) = gate p v.
		 */
		for (size_t b = 0; b < B; b++) {
			size_t T = t->T[b];
			const float *qb = qkv + t->off[b] * C3;

			for (size_t h = 0; h < H; h++) {
				size_t po = t->poff[b] + h * T * T;
				const float *q = qb + h * D, *kk = q + C;
				const float *v = q + 2 * C;
				float *s = att + po, *pp = s;

				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasTrans, T, T, D, scale, q, C3, kk, C3,
				    0.0f, s, T);
				softmax_rows(s, T, T);
				if (p > 0) {
					dropout(pd, s, T * T, ka, po, p);
					pp = pd;
				}
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasNoTrans, T, D, T, t->gate[l * H + h],
				    pp, T, v, C3, 0.0f,
				    ctx + t->off[b] * C + h * D, C);
			}
		}

		/* r1 = x + dropout(ctx . aow^T + aob); x1 = LN1(r1) */
		linear(r1, ctx, w->aow, w->aob, N, C, C);
		if (p > 0)
			dropout(r1, r1, N * C, ko, 0, p);
		for (size_t i = 0; i < N * C; i++)
			r1[i] += x[i];
		layernorm(x1, t->m1[l], t->s1[l], r1, w->ln1g, w->ln1b, N, C,
		    k->eps);

		/* ge = GELU(x1 . iw^T + ib); r2 = x1 + dropout(ge . ow^T + ob) */
		linear(fc, x1, w->iw, w->ib, N, C, F);
		memcpy(ge, fc, N * F * sizeof(float));
		bert_gelu(ge, N * F);	/* encode's GELU, bit for bit */
		linear(r2, ge, w->ow, w->ob, N, F, C);
		if (p > 0)
			dropout(r2, r2, N * C, kf, 0, p);
		for (size_t i = 0; i < N * C; i++)
			r2[i] += x1[i];
		layernorm(t->x[l + 1], t->m2[l], t->s2[l], r2, w->ln2g,
		    w->ln2b, N, C, k->eps);
	}

	/* Pooler: tanh(W x_[CLS] + b), dropout; classifier on top. */
	for (size_t b = 0; b < B; b++)
		memcpy(t->cls + b * C, t->x[k->L] + t->off[b] * C,
		    C * sizeof(float));
	linear(t->pool, t->cls, m->pw, m->pb, B, C, C);
	for (size_t i = 0; i < B * C; i++)
		t->pool[i] = tanhf(t->pool[i]);
	if (p > 0)
		dropout(t->poold, t->pool, B * C,
		    train_key(t->seed, t->step, 0, TRAIN_DROP_POOL), 0, p);
	else
		memcpy(t->poold, t->pool, B * C * sizeof(float));
	linear(t->logits, t->poold, m->cw, m->cb, B, C, nl);

	/* Loss: mean cross-entropy, or mean squared error when nl is 1. */
	for (size_t b = 0; b < B; b++) {
		float *z = t->logits + b * nl, *pr = t->probs + b * nl;

		if (nl == 1) {
			double d = z[0] - t->label[b];

			pr[0] = z[0];
			loss += d * d;
			continue;
		}
		memcpy(pr, z, nl * sizeof(float));
		softmax_rows(pr, 1, nl);
		int y = (int)t->label[b];
		if (y >= 0 && (size_t)y < nl)
			loss -= log(pr[y] > 1e-30f ? pr[y] : 1e-30f);
	}
	t->loss = bt->label ? (float)(loss / B) : 0.0f;
	return t->loss;
}

/* ---- backward pieces ---- */

/* dw (M, K) += dy (N, M)^T . x (N, K); db (M) += column sums of dy. */
static void
linear_back_w(float *dw, float *db, const float *dy, const float *x,
    size_t N, size_t K, size_t M)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0f,
	    dy, M, x, K, 1.0f, dw, K);
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < M; j++)
			db[j] += dy[i * M + j];
}

/* dx (N, K) = beta dx + dy (N, M) . w (M, K) */
static void
linear_back_x(float *dx, const float *dy, const float *w, size_t N,
    size_t K, size_t M, float beta)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, M, 1.0f,
	    dy, M, w, K, beta, dx, K);
}

/*
 * LayerNorm backward: dx (N, C) = gradient of the input x from dy of the
 * output; dg, db accumulate.  With xh = (x - mean) rstd and u = g dy,
 * dx = rstd (u - mean(u) - xh mean(u xh)).
 */
static void
layernorm_back(float *dx, float *dg, float *db, const float *dy,
    const float *x, const float *mean, const float *rstd, const float *g,
    size_t N, size_t C)
{
	for (size_t i = 0; i < N; i++) {
		const float *dyi = dy + i * C, *xi = x + i * C;
		float *dxi = dx + i * C, m = mean[i], s = rstd[i];
		float mu = 0, muxh = 0;

		for (size_t c = 0; c < C; c++) {	/* pass 1: the means */
			float xh = (xi[c] - m) * s, u = g[c] * dyi[c];

			mu += u;
			muxh += u * xh;
		}
		mu /= C;
		muxh /= C;
		for (size_t c = 0; c < C; c++) {	/* pass 2: dx, dg, db */
			float xh = (xi[c] - m) * s;

			dxi[c] = s * (g[c] * dyi[c] - mu - xh * muxh);
			dg[c] += dyi[c] * xh;
			db[c] += dyi[c];
		}
	}
}

void
train_backward(struct train *t)
{
	const struct bert_config *k = &t->m.cfg;
	const struct bert *m = &t->m;
	struct bert *g = &t->g;
	size_t C = k->C, F = k->F, H = k->H, D = C / H, C3 = 3 * C;
	size_t N = t->N, B = t->B, nl = k->nlabels;
	size_t T2 = (size_t)t->capT * t->capT;
	float p = t->train ? t->dropout : 0.0f, scale = 1.0f / sqrtf((float)D);
	float *d0, *d1, *dt, *dh, *dq, *a1, *a2, *dpool, *dcls;

	d0 = t->scratch;		/* (N, C) the gradient of x[l + 1] */
	d1 = d0 + N * C;		/* (N, C) */
	dt = d1 + N * C;		/* (N, C) after dropout backward */
	dh = dt + N * C;		/* (N, F) */
	dq = dh + N * F;		/* (N, 3C) */
	a1 = dq + N * C3;		/* (T, T) */
	a2 = a1 + T2;			/* (T, T) */
	dpool = a2 + T2;		/* (B, C) */
	dcls = dpool + B * C;		/* (B, C) */
	memset(t->grads, 0, t->m.nparams * sizeof(float));

	/* dlogits (B, nl) into the probs: (softmax - onehot) / B, or 2 (z - y) / B. */
	float *dz = t->probs;
	for (size_t b = 0; b < B; b++) {
		float *d = dz + b * nl;

		if (nl == 1) {
			d[0] = 2.0f * (t->logits[b] - t->label[b]) / B;
			continue;
		}
		d[(int)t->label[b]] -= 1.0f;
		for (size_t j = 0; j < nl; j++)
			d[j] /= B;
	}

	/* Classifier, pooler dropout, tanh, pooler. */
	linear_back_w(g->cw, g->cb, dz, t->poold, B, C, nl);
	linear_back_x(dpool, dz, m->cw, B, C, nl, 0.0f);
	if (p > 0)
		dropout(dpool, dpool, B * C,
		    train_key(t->seed, t->step, 0, TRAIN_DROP_POOL), 0, p);
	for (size_t i = 0; i < B * C; i++)
		dpool[i] *= 1.0f - t->pool[i] * t->pool[i];
	linear_back_w(g->pw, g->pb, dpool, t->cls, B, C, C);
	linear_back_x(dcls, dpool, m->pw, B, C, C, 0.0f);
	memset(d0, 0, N * C * sizeof(float));
	for (size_t b = 0; b < B; b++)
		memcpy(d0 + t->off[b] * C, dcls + b * C, C * sizeof(float));

	for (int l = k->L - 1; l >= 0; l--) {
		const struct bert_layer *w = &m->layer[l];
		struct bert_layer *gw = &g->layer[l];
		float *x = t->x[l], *qkv = t->qkv[l], *att = t->att[l];
		float *ctx = t->ctx[l], *x1 = t->x1[l], *fc = t->fc[l];
		float *ge = t->ge[l];
		float *dfo = d1, *dao = d0;
		uint64_t ka = train_key(t->seed, t->step, l, TRAIN_DROP_ATT);
		uint64_t ko = train_key(t->seed, t->step, l, TRAIN_DROP_AO);
		uint64_t kf = train_key(t->seed, t->step, l, TRAIN_DROP_FO);

		/* LN2: d1 = d r2; it reaches x1 directly and through the FFN. */
		layernorm_back(d1, gw->ln2g, gw->ln2b, d0, t->r2[l], t->m2[l],
		    t->s2[l], w->ln2g, N, C);
		if (p > 0) {
			dropout(dt, d1, N * C, kf, 0, p);
			dfo = dt;
		}
		/* FFN out: dow, dob; dh = dfo . ow; through GELU. */
		linear_back_w(gw->ow, gw->ob, dfo, ge, N, F, C);
		linear_back_x(dh, dfo, w->ow, N, F, C, 0.0f);
		bert_gelu_grad(dh, fc, N * F);	/* Phi(x) + x phi(x) */
		/* FFN in: diw, dib; d1 (= d x1) += dh . iw */
		linear_back_w(gw->iw, gw->ib, dh, x1, N, C, F);
		linear_back_x(d1, dh, w->iw, N, C, F, 1.0f);

		/* LN1: d0 = d r1; it reaches x directly and through attention. */
		layernorm_back(d0, gw->ln1g, gw->ln1b, d1, t->r1[l], t->m1[l],
		    t->s1[l], w->ln1g, N, C);
		if (p > 0) {
			dropout(dt, d0, N * C, ko, 0, p);
			dao = dt;
		}
		/* Attention output dense: daow, daob; d1 = d ctx. */
		linear_back_w(gw->aow, gw->aob, dao, ctx, N, C, C);
		linear_back_x(d1, dao, w->aow, N, C, C, 0.0f);

		for (size_t b = 0; b < B; b++) {
			size_t T = t->T[b];
			const float *qb = qkv + t->off[b] * C3;
			float *dqb = dq + t->off[b] * C3;

			for (size_t h = 0; h < H; h++) {
				size_t po = t->poff[b] + h * T * T;
				const float *q = qb + h * D, *kk = q + C;
				const float *v = q + 2 * C, *s = att + po;
				const float *pp = s;
				float *dc = d1 + t->off[b] * C + h * D;
				float gt = t->gate[l * H + h];

				/*
				 * d gate = <p v, d ctx_h>; ctx_h holds
				 * gate p v.  Times B: the loss of this
				 * example alone, not the batch mean.
				 */
				if (t->want_imp && gt != 0.0f) {
					const float *cc = ctx + t->off[b] * C +
					    h * D;
					double s2 = 0;

					for (size_t i = 0; i < T; i++)
						for (size_t j = 0; j < D; j++)
							s2 += (double)cc[i * C + j] *
							    dc[i * C + j];
					t->imp[l * H + h] += fabs(s2 / gt * B);
				}
				if (p > 0) {
					dropout(a2, s, T * T, ka, po, p);
					pp = a2;
				}
				/* a1 (T, T) = d pdrop = gate dc v^T */
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasTrans, T, T, D, gt, dc, C, v, C3,
				    0.0f, a1, T);
				/* dv (T, D) = gate pdrop^T dc */
				cblas_sgemm(CblasRowMajor, CblasTrans,
				    CblasNoTrans, T, D, T, gt, pp, T, dc, C,
				    0.0f, dqb + h * D + 2 * C, C3);
				if (p > 0)
					dropout(a1, a1, T * T, ka, po, p);
				/* softmax: ds_ij = p_ij (dp_ij - sum_k p_ik dp_ik) */
				for (size_t i = 0; i < T; i++) {
					const float *pi = s + i * T;
					float *di = a1 + i * T, dot = 0;

					for (size_t j = 0; j < T; j++)
						dot += pi[j] * di[j];
					for (size_t j = 0; j < T; j++)
						di[j] = pi[j] * (di[j] - dot);
				}
				/* dq = scale ds k; dk = scale ds^T q */
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasNoTrans, T, D, T, scale, a1, T, kk,
				    C3, 0.0f, dqb + h * D, C3);
				cblas_sgemm(CblasRowMajor, CblasTrans,
				    CblasNoTrans, T, D, T, scale, a1, T, q,
				    C3, 0.0f, dqb + h * D + C, C3);
			}
		}
		/* qkv: dqkvw, dqkvb; d0 (= d x, residual already there) += dq . qkvw */
		linear_back_w(gw->qkvw, gw->qkvb, dq, x, N, C, C3);
		linear_back_x(d0, dq, w->qkvw, N, C, C3, 1.0f);
	}

	/* Embeddings: dropout, LayerNorm, then scatter into the three tables. */
	if (p > 0)
		dropout(d0, d0, N * C,
		    train_key(t->seed, t->step, 0, TRAIN_DROP_EMB), 0, p);
	layernorm_back(d1, g->elng, g->elnb, d0, t->emb, t->emean, t->erstd,
	    m->elng, N, C);
	for (size_t b = 0; b < B; b++)
		for (int i = 0; i < t->T[b]; i++) {
			size_t n = t->off[b] + i;
			const float *de = d1 + n * C;
			float *we = g->wte + (size_t)t->ids[n] * C;
			float *pe = g->wpe + (size_t)i * C;
			float *te = g->tte + (size_t)t->seg[n] * C;

			for (size_t c = 0; c < C; c++) {
				we[c] += de[c];
				pe[c] += de[c];
				te[c] += de[c];
			}
		}
	if (t->want_imp)
		t->nimp += B;
}

/* ---- optimizer ---- */

double
train_clip(struct train *t, double maxnorm)
{
	double ss = 0, norm;

	for (size_t i = 0; i < t->m.nparams; i++)
		ss += (double)t->grads[i] * t->grads[i];
	norm = sqrt(ss);
	if (maxnorm > 0 && norm > maxnorm) {
		float c = (float)(maxnorm / (norm + 1e-6));

		for (size_t i = 0; i < t->m.nparams; i++)
			t->grads[i] *= c;
	}
	return norm;
}

void
train_adamw(struct train *t, float lr, float wd)
{
	const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
	long s = ++t->step;
	float bc1 = 1.0f - powf(b1, s), bc2 = 1.0f - powf(b2, s);
	float step = lr / bc1, rbc2 = 1.0f / sqrtf(bc2);

	for (int e = 0; e < t->ntt; e++) {
		const struct train_tensor *te = &t->tt[e];
		float *w = t->m.params + te->off, *gr = t->grads + te->off;
		float *mm = t->am + te->off, *vv = t->av + te->off;
		float decay = te->decay ? 1.0f - lr * wd : 1.0f;

		for (size_t i = 0; i < te->n; i++) {
			float gi = gr[i];

			mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
			vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
			w[i] = w[i] * decay -
			    step * mm[i] / (sqrtf(vv[i]) * rbc2 + eps);
		}
	}
}

float
train_lr(float lr, long step, long warm, long total)
{
	if (step < warm)
		return lr * (float)step / (float)(warm > 1 ? warm : 1);
	if (step >= total)
		return 0.0f;
	return lr * (float)(total - step) /
	    (float)(total - warm > 1 ? total - warm : 1);
}
