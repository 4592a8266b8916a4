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
	unsigned char m;

	train_mask(&m, key, i, 1, p);
	return m;
}

void
train_mask(unsigned char *m, uint64_t key, size_t i0, size_t n, float p)
{
	uint64_t lim = (uint64_t)(p * 16777216.0f + 0.5f);

	for (size_t i = 0; i < n; i++)
		m[i] = mix64(key + (uint64_t)(i0 + i + 1) *
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

float
train_forward(struct train *t, const struct train_batch *bt, int train)
{
	const struct bert_config *k = &t->m.cfg;
	struct bert_run *r = &t->run;
	size_t B = bt->B, nl = k->nlabels, N = 0;
	double loss = 0;
	char err[256];

	/* the weights packed for the kernel, again after each step */
	if (t->stale || r->m == NULL) {
		bert_train_pack(&t->bt, &t->m);
		if (r->m == NULL) {
			bert_run_init(r, &t->bt.pm);
			r->tr = &t->bt;
		}
		t->stale = 0;
	}
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
