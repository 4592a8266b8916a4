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

uint64_t
train_rand(uint64_t *s)
{
	return splitmix64(s);
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

	k = splitmix64_mix(seed + 0x9e3779b97f4a7c15ULL);
	k = splitmix64_mix(k ^ ((uint64_t)step * 0xd1342543de82ef95ULL));
	return splitmix64_mix(k ^ ((uint64_t)layer << 8 | (uint64_t)kind));
}

/*
 * Element i of the mask is the (i + 1)th number of a splitmix64 stream that
 * starts at key: kept when its top 24 bits are at least p * 2^24.
 */
int
train_keep(uint64_t key, size_t i, float p)
{
	unsigned char m;

	train_mask(&m, key, i, 1, p);
	return m;
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * the masks, the gradients' norm and AdamW in AVX-512 (HEADCOUNT_NOAVX2:
 * scalar, for tests)
 */
static int
wide512(void)
{
	static int ok = -1;

	if (ok == -1) {
		__builtin_cpu_init();
		ok = __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512dq") &&
		    __builtin_cpu_supports("bmi2") &&
		    getenv("HEADCOUNT_NOAVX2") == NULL;
	}
	return ok;
}

/* train_mask's first n / 8 * 8 elements, 8 at a time: the same numbers */
__attribute__((target("avx512f,avx512dq,bmi2"))) static size_t
mask_512(unsigned char *m, uint64_t key, size_t i0, size_t n, uint64_t lim)
{
	const __m512i g = _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL);
	const __m512i m1 = _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL);
	const __m512i m2 = _mm512_set1_epi64((long long)0x94d049bb133111ebULL);
	const __m512i l = _mm512_set1_epi64((long long)lim);
	__m512i k = _mm512_add_epi64(_mm512_set1_epi64((long long)key),
	    _mm512_mullo_epi64(_mm512_add_epi64(_mm512_set1_epi64((long long)
	    (i0 + 1)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)), g));
	const __m512i step = _mm512_mullo_epi64(_mm512_set1_epi64(8), g);
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m512i z = k;

		z = _mm512_mullo_epi64(_mm512_xor_si512(z,
		    _mm512_srli_epi64(z, 30)), m1);
		z = _mm512_mullo_epi64(_mm512_xor_si512(z,
		    _mm512_srli_epi64(z, 27)), m2);
		z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
		__mmask8 keep = _mm512_cmpge_epu64_mask(_mm512_srli_epi64(z,
		    40), l);
		uint64_t bytes = _pdep_u64(keep, 0x0101010101010101ULL);
		memcpy(m + i, &bytes, 8);
		k = _mm512_add_epi64(k, step);
	}
	return i;
}
#endif

#if defined(__x86_64__)
/*
 * train_drop's first n / 16 * 16 elements, 16 at a time: the masks of
 * mask_512, the same products
 */
__attribute__((target("avx512f,avx512dq"))) static size_t
drop_512(float *y, const float *x, uint64_t key, size_t i0, size_t n,
    uint64_t lim, float s)
{
	const __m512i g = _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL);
	const __m512i m1 = _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL);
	const __m512i m2 = _mm512_set1_epi64((long long)0x94d049bb133111ebULL);
	const __m512i l = _mm512_set1_epi64((long long)lim);
	const __m512 vs = _mm512_set1_ps(s);
	__m512i k = _mm512_add_epi64(_mm512_set1_epi64((long long)key),
	    _mm512_mullo_epi64(_mm512_add_epi64(_mm512_set1_epi64((long long)
	    (i0 + 1)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)), g));
	const __m512i step = _mm512_mullo_epi64(_mm512_set1_epi64(8), g);
	size_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		__mmask8 keep[2];

		for (int h = 0; h < 2; h++) {
			__m512i z = k;

			z = _mm512_mullo_epi64(_mm512_xor_si512(z,
			    _mm512_srli_epi64(z, 30)), m1);
			z = _mm512_mullo_epi64(_mm512_xor_si512(z,
			    _mm512_srli_epi64(z, 27)), m2);
			z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
			keep[h] = _mm512_cmpge_epu64_mask(_mm512_srli_epi64(z,
			    40), l);
			k = _mm512_add_epi64(k, step);
		}
		__mmask16 kk = (__mmask16)(keep[0] | keep[1] << 8);

		_mm512_storeu_ps(y + i, _mm512_maskz_mul_ps(kk,
		    _mm512_loadu_ps(x + i), vs));
	}
	return i;
}
#endif

void
train_drop(float *y, const float *x, size_t n, uint64_t key, size_t i0,
    float p)
{
	unsigned char m[256];
	float s = 1.0f / (1.0f - p);
	size_t i = 0;

#if defined(__x86_64__)
	if (wide512())
		i = drop_512(y, x, key, i0, n,
		    (uint64_t)(p * 16777216.0f + 0.5f), s);
#endif
	for (; i < n; i += sizeof(m)) {
		size_t k = n - i < sizeof(m) ? n - i : sizeof(m);

		train_mask(m, key, i0 + i, k, p);
		for (size_t j = 0; j < k; j++)
			y[i + j] = m[j] ? x[i + j] * s : 0.0f;
	}
}

void
train_mask(unsigned char *m, uint64_t key, size_t i0, size_t n, float p)
{
	uint64_t lim = (uint64_t)(p * 16777216.0f + 0.5f);
	size_t i = 0;

#if defined(__x86_64__)
	if (wide512())
		i = mask_512(m, key, i0, n, lim);
#endif
	for (; i < n; i++)
		m[i] = splitmix64_mix(key + (uint64_t)(i0 + i + 1) *
		    0x9e3779b97f4a7c15ULL) >> 40 >= lim;
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

void
train_init(struct train *t, const struct bert *src, int nlabels,
    int random_init, float dropout, uint64_t seed)
{
	const struct bert_config *k;
	struct model_it it;
	size_t E, np;
	uint64_t rng = seed ^ 0x5eed5eed5eed5eedULL;
	int keepcls, e;

	memset(t, 0, sizeof(*t));
	t->m.cfg = src->cfg;
	t->m.cfg.nlabels = nlabels;
	k = &t->m.cfg;
	E = model_emb(k);
	np = nparams(k);
	t->m.nparams = t->g.nparams = np;
	t->m.params = xcalloc_huge(np, sizeof(float));
	t->grads = t->g.params = xcalloc_huge(np, sizeof(float));
	t->am = xcalloc_huge(np, sizeof(float));
	t->av = xcalloc_huge(np, sizeof(float));
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
		/* the padding's rows, as HF's nn.Embedding(padding_idx) */
		memset(t->m.wte + (size_t)k->pad * E, 0, E * sizeof(float));
		if (k->pos0 > 0)	/* RoBERTa's positions have one too */
			memset(t->m.wpe + (size_t)k->pad * E, 0,
			    E * sizeof(float));
		return;
	}
	/*
	 * Every tensor of src, in the table's order (t->tt's); a pooler (or
	 * head's dense layer) that src lacks is drawn, and so is the
	 * classifier unless src has one of nlabels rows.
	 */
	keepcls = src->cw && src->cb && src->cfg.nlabels == nlabels;
	model_it_init(&it, k, MT_OPTIONAL);
	for (e = 0; model_it_next(&it); e++) {
		const float *from = model_ptr(src, &it);

		if (from == NULL || (strchr(it.t->shape, 'K') && !keepcls))
			init_tensor(t, &t->tt[e], &rng);
		else
			memcpy(t->m.params + t->tt[e].off, from,
			    it.n * sizeof(float));
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
	free(t->label);
	free(t->logits);
	free(t->probs);
	free(t->idp);
	free(t->segp);
	free(t->d);
	if (t->run.m != NULL)
		bert_run_release(&t->run);
	bert_train_release(&t->bt);
	memset(t, 0, sizeof(*t));
}

/* ---- forward and backward ---- */

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

void
train_pack(struct train *t)
{
	struct bert_run *r = &t->run;

	if (!t->stale && r->m != NULL)
		return;
	bert_train_pack(&t->bt, &t->m);
	if (r->m == NULL) {
		bert_run_init(r, &t->bt.pm);
		r->tr = &t->bt;
	}
	t->stale = 0;
}

float
train_forward(struct train *t, const struct train_batch *bt, int train)
{
	const struct bert_config *k = &t->m.cfg;
	struct bert_run *r = &t->run;
	size_t B = bt->B, nl = k->nlabels, N = 0;
	double loss = 0;
	char err[256];

	train_pack(t);
	if (B > t->capB) {
		t->label = xreallocarray(t->label, B, sizeof(float));
		t->logits = xreallocarray(t->logits, B * nl, sizeof(float));
		t->probs = xreallocarray(t->probs, B * nl, sizeof(float));
		t->idp = xreallocarray(t->idp, B, sizeof(*t->idp));
		t->segp = xreallocarray(t->segp, B, sizeof(*t->segp));
		t->capB = B;
	}
	for (size_t b = 0; b < B; b++) {
		t->idp[b] = bt->ids + N;
		t->segp[b] = bt->seg + N;
		t->label[b] = bt->label ? bt->label[b] : 0.0f;
		N += bt->T[b];
	}
	t->B = B;
	t->train = train;
	t->bt.p = train ? t->dropout : 0.0f;
	t->bt.seed = t->seed;
	t->bt.step = t->step;
	t->bt.gate = t->gate;
	t->bt.imp = NULL;

	/* bert.c's pass, every layer's activations kept */
	if (bert_run_batch(r, B, t->idp, t->segp, bt->T, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "train_forward: %s\n", err);
		abort();	/* the caller checks its batches */
	}
	/* the loss reads [CLS] alone; attribution every row's attention */
	r->cls_only = t->bt.ascale == NULL;
	bert_run_layers(r, 1, NULL, BERT_UNIFORM, 1);
	bert_run_head(r, t->logits);

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

void
train_backward(struct train *t)
{
	const struct bert_config *k = &t->m.cfg;
	struct bert_run *r = &t->run;
	size_t B = t->B, nl = k->nlabels, n = (size_t)r->Np * k->C;

	if (n > t->capd) {
		t->d = xreallocarray(t->d, n, sizeof(float));
		t->capd = n;
	}
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
	/*
	 * Head importance: |dL/dgate| of each example's own loss, B times
	 * its share of the batch's mean.
	 */
	t->bt.imp = t->want_imp ? t->imp : NULL;
	t->bt.impscale = (double)B;

	/* bert.c's twins, in the reverse order of the forward pass */
	bert_head_backward(r, &t->g, t->d, dz);
	for (int l = k->L; l >= 1; l--)
		bert_layer_backward(r, l, &t->g, t->d);
	bert_embed_backward(r, &t->g, t->d);
	t->bt.imp = NULL;
	if (t->want_imp)
		t->nimp += B;
}

/* ---- optimizer ---- */

/*
 * The optimizer's passes over every parameter, as tasks of bert.c's
 * pool: chunks of CHUNK elements of one tensor, in the table's order.
 * Each chunk's result depends only on the chunk, so the bits do not
 * depend on the threads.
 */
#define CHUNK	(1 << 16)

struct optpass {
	struct train	*t;
	int		*te;		/* (ntask) each task's tensor */
	size_t		*at;		/* (ntask) first element */
	double		*ss;		/* (ntask) sum of squares */
	float		 lr, wd, step, rbc2;
};

/* The tasks of every tensor's chunks into p; returns their number. */
static int
optpass_init(struct optpass *p, struct train *t)
{
	int n = 0;

	for (int e = 0; e < t->ntt; e++)
		n += (int)((t->tt[e].n + CHUNK - 1) / CHUNK);
	p->t = t;
	p->te = xreallocarray(NULL, n, sizeof(int));
	p->at = xreallocarray(NULL, n, sizeof(size_t));
	p->ss = xreallocarray(NULL, n, sizeof(double));
	n = 0;
	for (int e = 0; e < t->ntt; e++)
		for (size_t i = 0; i < t->tt[e].n; i += CHUNK) {
			p->te[n] = e;
			p->at[n++] = i;
		}
	return n;
}

static void
optpass_release(struct optpass *p)
{
	free(p->te);
	free(p->at);
	free(p->ss);
}

#if defined(__x86_64__)
/*
 * sumsq_task()'s 8 running sums as the 8 doubles of a vector: each lane
 * the same products and additions (no FMA), so the same bits.
 */
__attribute__((target("avx512f"))) static size_t
sumsq_512(const float *g, size_t n, double s[8])
{
	__m512d a = _mm512_setzero_pd();
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
		a = _mm512_add_pd(a, _mm512_mul_pd(x, x));
	}
	_mm512_storeu_pd(s, a);
	return i;
}
#endif

static void
sumsq_task(void *arg, int k)
{
	struct optpass *p = arg;
	const struct train_tensor *te = &p->t->tt[p->te[k]];
	const float *g = p->t->grads + te->off + p->at[k];
	size_t n = te->n - p->at[k] < CHUNK ? te->n - p->at[k] : CHUNK;
	double s[8] = { 0 };
	size_t i = 0;

	/* in 8 running sums, then added in their order */
#if defined(__x86_64__)
	if (wide512())
		i = sumsq_512(g, n, s);
#endif
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			s[j] += (double)g[i + j] * g[i + j];
	for (; i < n; i++)
		s[0] += (double)g[i] * g[i];
	p->ss[k] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) +
	    (s[6] + s[7]));
}

double
train_clip(struct train *t, double maxnorm)
{
	struct optpass p;
	int n = optpass_init(&p, t);
	double ss = 0, norm;

	bert_parallel(n, sumsq_task, &p);
	for (int k = 0; k < n; k++)
		ss += p.ss[k];
	optpass_release(&p);
	norm = sqrt(ss);
	t->gscale = 1.0f;
	if (maxnorm > 0 && norm > maxnorm)
		t->gscale = (float)(maxnorm / (norm + 1e-6));
	return norm;
}

/*
 * AdamW on n elements from i: w, its gradient g (times gs when gs is not
 * 1: the clipping) and the moments m, v.  The AVX-512 version does the
 * same operations, each rounded alike, 16 elements at a time: the same
 * bits.
 */
static size_t
adamw_any(float *w, const float *g, float *m, float *v, size_t i, size_t n,
    float gs, float decay, float step, float rbc2)
{
	const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;

	for (; i < n; i++) {
		float gi = gs != 1.0f ? g[i] * gs : g[i];

		m[i] = b1 * m[i] + (1.0f - b1) * gi;
		v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
		w[i] = w[i] * decay - step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
	}
	return i;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static size_t
adamw_512(float *w, const float *g, float *m, float *v, size_t n, float gs,
    float decay, float step, float rbc2)
{
	const __m512 b1 = _mm512_set1_ps(0.9f);
	const __m512 c1 = _mm512_set1_ps(1.0f - 0.9f);
	const __m512 b2 = _mm512_set1_ps(0.999f);
	const __m512 c2 = _mm512_set1_ps(1.0f - 0.999f);
	const __m512 eps = _mm512_set1_ps(1e-8f), vs = _mm512_set1_ps(gs);
	const __m512 vd = _mm512_set1_ps(decay), vst = _mm512_set1_ps(step);
	const __m512 vr = _mm512_set1_ps(rbc2);
	size_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		__m512 gi = _mm512_loadu_ps(g + i), mi, vi, wi;

		if (gs != 1.0f)
			gi = _mm512_mul_ps(gi, vs);
		mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)),
		    _mm512_mul_ps(c1, gi));
		vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)),
		    _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
		wi = _mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(w + i), vd),
		    _mm512_div_ps(_mm512_mul_ps(vst, mi), _mm512_add_ps(
		    _mm512_mul_ps(_mm512_sqrt_ps(vi), vr), eps)));
		_mm512_storeu_ps(m + i, mi);
		_mm512_storeu_ps(v + i, vi);
		_mm512_storeu_ps(w + i, wi);
	}
	return i;
}

#endif

static void
adamw_task(void *arg, int k)
{
	struct optpass *p = arg;
	struct train *t = p->t;
	const struct train_tensor *te = &t->tt[p->te[k]];
	size_t o = te->off + p->at[k], i = 0;
	size_t n = te->n - p->at[k] < CHUNK ? te->n - p->at[k] : CHUNK;
	float *w = t->m.params + o, *g = t->grads + o;
	float *m = t->am + o, *v = t->av + o;
	float decay = te->decay ? 1.0f - p->lr * p->wd : 1.0f;

#if defined(__x86_64__)
	if (wide512())
		i = adamw_512(w, g, m, v, n, t->gscale, decay, p->step,
		    p->rbc2);
#endif
	adamw_any(w, g, m, v, i, n, t->gscale, decay, p->step, p->rbc2);
}

void
train_adamw(struct train *t, float lr, float wd)
{
	const float b1 = 0.9f, b2 = 0.999f;
	long s = ++t->step;
	float bc1 = 1.0f - powf(b1, s), bc2 = 1.0f - powf(b2, s);
	struct optpass p;
	int n = optpass_init(&p, t);

	p.lr = lr;
	p.wd = wd;
	p.step = lr / bc1;
	p.rbc2 = 1.0f / sqrtf(bc2);
	if (t->gscale == 0.0f)		/* no train_clip() before */
		t->gscale = 1.0f;
	bert_parallel(n, adamw_task, &p);
	optpass_release(&p);
	t->gscale = 1.0f;
	t->stale = 1;
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
