/*
 * pretrain -- pre-train a BERT from random initialisation on token
 * records with the masked-LM objective (and next-sentence prediction on
 * request), writing a BertForPreTraining checkpoint directory every N
 * steps, each with the state to resume from.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "pretrain.h"
#include "rec.h"
#include "stwrite.h"
#include "tensor.h"
#include "tensorfile.h"
#include "train.h"
#include "util.h"
#include "wordpiece.h"

/* What a run is: the model's sizes and the training's settings. */
struct hyper {
	long	 L, C, H, F, T, B, steps, warmup, every, seed;
	double	 lr, wd, dropout, maxnorm;
	int	 wwm, nsp;
};

/* The lines read: each one's tokens without [CLS] and [SEP], packed. */
struct corpus {
	size_t	 n, ntok;
	size_t	*off;		/* (n + 1) into ids */
	int	*ids;		/* (ntok) */
	uint64_t hash;		/* of every id, to match a state with */
};

enum {
	O_DROPOUT = 256, O_EVAL, O_EVERY, O_LR, O_MAXNORM, O_NSP, O_RESUME, O_SEED,
	O_STEPS, O_VERBOSE, O_WARMUP, O_WD, O_WWM
};

static const struct option longopts[] = {
	{ "dropout",		required_argument, NULL, O_DROPOUT },
	{ "eval",		no_argument,	   NULL, O_EVAL },
	{ "lr",			required_argument, NULL, O_LR },
	{ "max-grad-norm",	required_argument, NULL, O_MAXNORM },
	{ "nsp",		no_argument,	   NULL, O_NSP },
	{ "resume",		required_argument, NULL, O_RESUME },
	{ "save-every",		required_argument, NULL, O_EVERY },
	{ "seed",		required_argument, NULL, O_SEED },
	{ "steps",		required_argument, NULL, O_STEPS },
	{ "verbose",		no_argument,	   NULL, O_VERBOSE },
	{ "warmup",		required_argument, NULL, O_WARMUP },
	{ "weight-decay",	required_argument, NULL, O_WD },
	{ "wwm",		no_argument,	   NULL, O_WWM },
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: pretrain -o outdir [-v vocab.txt] [-L layers] "
	    "[-C hidden] [-H heads] [-F ffn]\n"
	    "\t[-T maxlen] [-B batch] [--steps n] [--lr rate] "
	    "[--warmup steps]\n"
	    "\t[--weight-decay w] [--dropout p] [--max-grad-norm x] "
	    "[--seed n]\n"
	    "\t[--save-every n] [--wwm] [--nsp] [--resume dir] [--verbose] "
	    "[file ...]\n"
	    "       pretrain --eval --resume dir [-B batch] [--seed n] "
	    "[file ...]\n");
	exit(2);
}

#define optnum(name, s, lo, hi)	opt_double(name, s, lo, hi, usage)
#define optint(name, s, lo, hi)	opt_long(name, s, lo, hi, usage)

/* ---- reading ---- */

static uint64_t
fnv(uint64_t h, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
	return h;
}

/*
 * Every record's ids, checked against the vocabulary (and its tokens,
 * when it has them), without the [CLS] that starts and the [SEP] that
 * ends it; empty lines are left out.
 */
static void
readcorpus(struct corpus *c, int argc, char *argv[], const struct wp_vocab *v,
    const char *vdir)
{
	struct rec_reader *rr = rec_open(argc, argv);
	msgpack_object rec;
	size_t cap = 0, tcap = 0;
	char e[512];

	memset(c, 0, sizeof(*c));
	c->hash = 0xcbf29ce484222325ULL;
	c->off = xcalloc(1, sizeof(size_t));
	while (rec_next(rr, &rec)) {
		int *ids;
		size_t T = rec_ints(&rec, "ids", &ids), a = 0, z;

		for (size_t i = 0; i < T; i++)
			if (ids[i] < 0 || ids[i] >= v->n)
				rec_die("'ids' item %zu: %d is outside the "
				    "vocabulary (0..%d)", i, ids[i], v->n - 1);
		if (model_tokens(v, &rec, ids, T, vdir, e, sizeof(e)) == -1)
			rec_die("%s", e);
		z = T;
		if (a < z && ids[a] == v->cls)
			a++;
		if (a < z && ids[z - 1] == v->sep)
			z--;
		if (a == z) {
			free(ids);
			continue;
		}
		if (c->n + 2 > cap) {
			cap = cap ? 2 * cap : 1024;
			c->off = xreallocarray(c->off, cap, sizeof(size_t));
		}
		while (c->ntok + (z - a) > tcap) {
			tcap = tcap ? 2 * tcap : 1 << 16;
			c->ids = xreallocarray(c->ids, tcap, sizeof(int));
		}
		for (size_t i = a; i < z; i++) {
			c->ids[c->ntok++] = ids[i];
			c->hash = fnv(c->hash, (uint32_t)ids[i]);
		}
		c->hash = fnv(c->hash, 0xffffffffU);
		c->off[++c->n] = c->ntok;
		free(ids);
	}
	rec_close(rr);
	if (c->n == 0)
		errx(1, "no tokens to train on: every record is empty");
}

/* ---- the examples ---- */

struct batch {
	int	*T, *nsp;		/* (B) */
	int	*ids, *seg, *label;	/* (B * maxT) packed */
	int	*pos, *wstart;		/* (maxT) scratch */
	struct pt_batch pb;
};

static uint32_t
rnd(uint64_t *s, uint32_t n)
{
	return (uint32_t)((train_rand(s) >> 32) * n >> 32);
}

/*
 * BERT's masking of the T tokens at ids (lab: their labels): 15% of the
 * tokens but [CLS] and [SEP] (at least one) are chosen, a word at a time
 * with wwm (a word is a token and the ## pieces after it), in a random
 * order; of those 80% become [MASK], 10% a random token, 10% stay.
 */
static void
mask(int *ids, int *lab, int T, const struct wp_vocab *v, int mk, int wwm,
    uint64_t *s, struct batch *bb)
{
	int nw = 0, want, got = 0;

	for (int i = 0; i < T; i++) {
		lab[i] = PT_IGNORE;
		if (ids[i] == v->cls || ids[i] == v->sep)
			continue;
		if (wwm && nw > 0 && bb->pos[nw - 1] == i - 1 &&
		    v->len[ids[i]] > 2 && memcmp(v->word[ids[i]], "##", 2) == 0)
			;	/* continues the word before */
		else
			bb->wstart[nw++] = i;
		bb->pos[nw - 1] = i;	/* the word's last token */
	}
	int ncand = 0;
	for (int i = 0; i < T; i++)
		ncand += ids[i] != v->cls && ids[i] != v->sep;
	want = (int)lround(0.15 * ncand);
	if (want < 1)
		want = 1;
	/* Fisher-Yates over the words, taking those that still fit */
	for (int k = 0; k < nw && got < want; k++) {
		int j = k + (int)rnd(s, nw - k), a, z;

		a = bb->wstart[j], bb->wstart[j] = bb->wstart[k];
		bb->wstart[k] = a;
		z = bb->pos[j], bb->pos[j] = bb->pos[k], bb->pos[k] = z;
		if (got + (z - a + 1) > want)
			continue;
		for (int i = a; i <= z; i++) {
			uint32_t r = rnd(s, 10);

			lab[i] = ids[i];
			if (r < 8)
				ids[i] = mk;
			else if (r == 8)
				ids[i] = (int)rnd(s, v->n);
			got++;
		}
	}
}

/*
 * Step step's batch, a function of (seed, step) alone, so that a resumed
 * run draws what an uninterrupted one would.  Without nsp a sequence is
 * [CLS], the lines from a random one on to T - 2 tokens, [SEP]; with
 * nsp, [CLS] A [SEP] B [SEP], B the line after A or (half the time, and
 * where A is the last line) a random other one, the longer of the two cut
 * until they fit.
 */
static void
mkbatch(struct batch *bb, const struct corpus *c, const struct hyper *hp,
    const struct wp_vocab *v, int mk, long step)
{
	uint64_t s = train_key((uint64_t)hp->seed, step, 0, 99);
	size_t N = 0;

	for (int b = 0; b < hp->B; b++) {
		int *ids = bb->ids + N, *seg = bb->seg + N, T = 0;
		size_t i = rnd(&s, (uint32_t)c->n), j;

		ids[T] = v->cls, seg[T++] = 0;
		if (!hp->nsp) {
			for (j = i; j < c->n && T < hp->T - 1; j++)
				for (size_t k = c->off[j]; k < c->off[j + 1] &&
				    T < hp->T - 1; k++)
					ids[T] = c->ids[k], seg[T++] = 0;
			bb->nsp[b] = 0;
		} else {
			int next = rnd(&s, 2) == 0 && i + 1 < c->n;

			j = i + 1;
			if (!next)
				do
					j = rnd(&s, (uint32_t)c->n);
				while (j == i + 1 && c->n > 1);
			bb->nsp[b] = !next;
			size_t la = c->off[i + 1] - c->off[i];
			size_t lb = c->off[j + 1] - c->off[j];
			while (la + lb > (size_t)hp->T - 3) {
				if (la > lb)
					la--;
				else
					lb--;
			}
			for (size_t k = 0; k < la; k++)
				ids[T] = c->ids[c->off[i] + k], seg[T++] = 0;
			ids[T] = v->sep, seg[T++] = 0;
			for (size_t k = 0; k < lb; k++)
				ids[T] = c->ids[c->off[j] + k], seg[T++] = 1;
		}
		ids[T] = v->sep, seg[T] = hp->nsp, T++;
		mask(ids, bb->label + N, T, v, mk, hp->wwm, &s, bb);
		bb->T[b] = T;
		N += T;
	}
	bb->pb = (struct pt_batch){ (int)hp->B, bb->T, bb->ids, bb->seg,
	    bb->label, hp->nsp ? bb->nsp : NULL };
}

/* ---- checkpoints and their state ---- */

static void
jnum(cJSON *o, const char *k, double v)
{
	cJSON_AddNumberToObject(o, k, v);
}

/* The settings as trainer_state.json keeps them, with step and data. */
static cJSON *
hyperjson(const struct hyper *hp, long step, const struct corpus *c)
{
	cJSON *o = cJSON_CreateObject();
	char h[32];

	cJSON_AddStringToObject(o, "format", "headcount pretrain 1");
	jnum(o, "step", step);
	jnum(o, "steps", hp->steps);
	jnum(o, "batch", hp->B);
	jnum(o, "max_length", hp->T);
	jnum(o, "lr", hp->lr);
	jnum(o, "warmup", hp->warmup);
	jnum(o, "weight_decay", hp->wd);
	jnum(o, "dropout", hp->dropout);
	jnum(o, "max_grad_norm", hp->maxnorm);
	jnum(o, "seed", hp->seed);
	cJSON_AddBoolToObject(o, "wwm", hp->wwm);
	cJSON_AddBoolToObject(o, "nsp", hp->nsp);
	jnum(o, "lines", (double)c->n);
	jnum(o, "tokens", (double)c->ntok);
	snprintf(h, sizeof(h), "%016llx", (unsigned long long)c->hash);
	cJSON_AddStringToObject(o, "data_hash", h);
	return o;
}

static void
writetext(const char *path, const char *text)
{
	char e[512], *tmp;
	FILE *fp;

	if ((fp = tfile_create(path, &tmp, e, sizeof(e))) == NULL)
		errx(1, "%s", e);
	fputs(text, fp);
	if (tfile_commit(fp, &tmp, path, 1, e, sizeof(e)) == -1)
		errx(1, "%s", e);
}

/*
 * Write checkpoint ckpt-STEP in out: the model, and beside it in the same
 * directory the state to resume from (trainer_state.json; the AdamW
 * moments in optimizer.safetensors), all put in place at once by
 * stw_write from the staging directory out/.pretrain.
 */
static void
checkpoint(struct pretrain *p, const struct hyper *hp, const struct corpus *c,
    const char *out, const char *stage)
{
	struct train *t = &p->t;
	struct tfentry *v = xcalloc(2 * t->ntt, sizeof(*v));
	char path[4096], e[512], *js;
	struct bert m;
	cJSON *o;

	for (int i = 0; i < 2 * t->ntt; i++) {
		const struct train_tensor *tt = &t->tt[i / 2];

		v[i].name = xmalloc(strlen(tt->name) + 16);
		sprintf(v[i].name, "%s.%s", i % 2 ? "exp_avg_sq" : "exp_avg",
		    tt->name);
		v[i].dtype = DT_F32;
		v[i].ndim = tt->ndim;
		v[i].shape[0] = tt->shape[0];
		v[i].shape[1] = tt->shape[1];
		v[i].n = tt->n;
		v[i].data = (i % 2 ? t->av : t->am) + tt->off;
	}
	snprintf(path, sizeof(path), "%s/optimizer.safetensors", stage);
	if (tfile_write(path, v, 2 * t->ntt, -1, 1, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	for (int i = 0; i < 2 * t->ntt; i++)
		free(v[i].name);
	free(v);
	o = hyperjson(hp, t->step, c);
	js = cJSON_Print(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "%s/trainer_state.json", stage);
	writetext(path, js);
	free(js);

	pt_model(p, &m);
	snprintf(path, sizeof(path), "%s/ckpt-%ld", out, t->step);
	if (stw_write(&m, stage, path, e, sizeof(e)) == -1)
		errx(1, "%s", e);
}

/* The staging directory: vocab.txt and config.json's extra keys. */
static void
stage_init(const char *stage, const char *vocab, const struct hyper *hp)
{
	char path[4096], *text;
	size_t n = 0, cap = 0;
	FILE *fp;
	cJSON *o;

	if (mkdir(stage, 0777) == -1 && errno != EEXIST)
		err(1, "%s", stage);
	if ((fp = fopen(vocab, "rb")) == NULL)
		err(1, "%s", vocab);
	text = NULL;
	for (;;) {
		if (n + 65536 > cap)
			text = xreallocarray(text, cap = 2 * cap + 65536, 1);
		size_t r = fread(text + n, 1, cap - n - 1, fp);
		if (r == 0)
			break;
		n += r;
	}
	if (ferror(fp))
		err(1, "%s", vocab);
	fclose(fp);
	text[n] = '\0';
	snprintf(path, sizeof(path), "%s/vocab.txt", stage);
	writetext(path, text);
	free(text);

	o = cJSON_CreateObject();
	jnum(o, "hidden_dropout_prob", hp->dropout);
	jnum(o, "attention_probs_dropout_prob", hp->dropout);
	jnum(o, "pad_token_id", 0);
	cJSON_AddStringToObject(o, "position_embedding_type", "absolute");
	text = cJSON_Print(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "%s/config.json", stage);
	writetext(path, text);
	free(text);
}

/* A number of trainer_state.json, checked; dies naming the file. */
static double
stnum(cJSON *o, const char *key, const char *path, double lo, double hi)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(x) || !(x->valuedouble >= lo) ||
	    x->valuedouble > hi)
		errx(1, "%s: '%s' is missing or not a number in [%g, %g]",
		    path, key, lo, hi);
	return x->valuedouble;
}

static int
stbool(cJSON *o, const char *key, const char *path)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsBool(x))
		errx(1, "%s: '%s' is missing or not true or false", path, key);
	return cJSON_IsTrue(x);
}

/*
 * Read the state of checkpoint dir: the settings into hp (but steps,
 * when given), the step into *step; its data hash into hash.
 */
static void
readstate(const char *dir, struct hyper *hp, long *step, char *hash,
    size_t hlen, int keepsteps)
{
	char path[4096], *text;
	cJSON *o, *x;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/trainer_state.json", dir);
	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    n > 1 << 20 || fseek(fp, 0, SEEK_SET) == -1)
		errx(1, "%s: not a trainer state", path);
	text = xmalloc(n + 1);
	if (fread(text, 1, n, fp) != (size_t)n)
		errx(1, "%s: read error", path);
	fclose(fp);
	text[n] = '\0';
	if ((o = cJSON_Parse(text)) == NULL || !cJSON_IsObject(o))
		errx(1, "%s: not valid JSON", path);
	free(text);
	x = cJSON_GetObjectItemCaseSensitive(o, "format");
	if (!cJSON_IsString(x) || strcmp(x->valuestring,
	    "headcount pretrain 1") != 0)
		errx(1, "%s: 'format' is not \"headcount pretrain 1\"", path);
	*step = (long)stnum(o, "step", path, 0, 1 << 30);
	if (!keepsteps)
		hp->steps = (long)stnum(o, "steps", path, 1, 1 << 30);
	hp->B = (long)stnum(o, "batch", path, 1, 1 << 16);
	hp->T = (long)stnum(o, "max_length", path, 4, 1 << 16);
	hp->lr = stnum(o, "lr", path, 0, 10);
	hp->warmup = (long)stnum(o, "warmup", path, 0, 1 << 30);
	hp->wd = stnum(o, "weight_decay", path, 0, 1);
	hp->dropout = stnum(o, "dropout", path, 0, 0.99);
	hp->maxnorm = stnum(o, "max_grad_norm", path, 0, 1e30);
	hp->seed = (long)stnum(o, "seed", path, 0, 0x7fffffffL);
	hp->wwm = stbool(o, "wwm", path);
	hp->nsp = stbool(o, "nsp", path);
	x = cJSON_GetObjectItemCaseSensitive(o, "data_hash");
	if (!cJSON_IsString(x) || strlen(x->valuestring) != 16)
		errx(1, "%s: 'data_hash' is missing or not 16 hex digits",
		    path);
	snprintf(hash, hlen, "%s", x->valuestring);
	cJSON_Delete(o);
}

/* The AdamW moments of checkpoint dir into p, every one checked. */
static void
readmoments(struct pretrain *p, const char *dir)
{
	struct train *t = &p->t;
	struct tfile tf;
	char path[4096], e[512], nm[128];

	snprintf(path, sizeof(path), "%s/optimizer.safetensors", dir);
	if (tfile_open(&tf, path, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	for (int i = 0; i < 2 * t->ntt; i++) {
		const struct train_tensor *tt = &t->tt[i / 2];
		const struct tfentry *f;
		float *d = (i % 2 ? t->av : t->am) + tt->off;

		snprintf(nm, sizeof(nm), "%s.%s", i % 2 ? "exp_avg_sq" :
		    "exp_avg", tt->name);
		if ((f = tfile_find(&tf, nm)) == NULL)
			errx(1, "%s: no tensor '%s'", path, nm);
		if (f->n != tt->n || f->dtype != DT_F32)
			errx(1, "%s: tensor '%s' is not F32 of %zu elements",
			    path, nm, tt->n);
		tensor_to_f32(d, f->data, f->dtype, f->n);
		for (size_t k = 0; k < tt->n; k++)
			if (!isfinite(d[k]) || (i % 2 && d[k] < 0))
				errx(1, "%s: tensor '%s' element %zu is %g",
				    path, nm, k, d[k]);
	}
	tfile_release(&tf);
}

/* ---- progress ---- */

/* util.h's progress, and the loss and accuracy since the last line */
struct prog {
	struct progress	 pg;		/* done, total: steps of this run */
	double		 loss;
	long		 nloss, hit, nmask, tok;
};

static void
prog_line(struct prog *g, long step, long steps, long step0)
{
	struct progress *pg = &g->pg;
	double el = now() - pg->start;
	char left[32];

	pg->done = (size_t)(step - step0);
	if (!pg->on || (step < steps && !progress_due(pg)))
		return;
	progress_say(pg, "step %ld/%ld, loss %.4f, masked acc %.4f, %.0f "
	    "tokens/s, %s left", step, steps, g->nloss ? g->loss / g->nloss :
	    0.0, g->nmask ? (double)g->hit / g->nmask : 0.0,
	    el > 0 ? g->tok / el : 0.0, progress_left(pg, left, sizeof(left)));
	if (step == steps && pg->tty)
		fputc('\n', stderr);	/* the last line stays */
	g->loss = 0;
	g->nloss = g->hit = g->nmask = 0;
}

/* ---- evaluation ---- */

/*
 * Masked-token loss and accuracy of the model in p on every line of c,
 * each one sequence ([CLS] line [SEP], cut to T tokens), masked as in
 * training from (seed, line), without dropout: one line on stdout, the
 * checkpoint, its step, the tokens predicted, the mean loss, accuracy.
 */
static void
evaluate(struct pretrain *p, const struct corpus *c, const struct hyper *hp,
    const struct wp_vocab *v, int mk, const char *dir)
{
	struct batch bb;
	double loss = 0;
	long hit = 0, nm = 0;
	int T = p->t.m.cfg.P;

	bb.T = xcalloc(hp->B, sizeof(int));
	bb.ids = xcalloc(hp->B * (size_t)T, sizeof(int));
	bb.seg = xcalloc(hp->B * (size_t)T, sizeof(int));
	bb.label = xcalloc(hp->B * (size_t)T, sizeof(int));
	bb.pos = xcalloc(T, sizeof(int));
	bb.wstart = xcalloc(T, sizeof(int));
	for (size_t i = 0; i < c->n; i += hp->B) {
		int B = c->n - i < (size_t)hp->B ? (int)(c->n - i) :
		    (int)hp->B;
		size_t N = 0;

		for (int b = 0; b < B; b++) {
			size_t a = c->off[i + b], z = c->off[i + b + 1];
			uint64_t s = train_key((uint64_t)hp->seed,
			    (long)(i + b), 1, 98);
			int *ids = bb.ids + N, n = 0;

			ids[n++] = v->cls;
			for (size_t k = a; k < z && n < T - 1; k++)
				ids[n++] = c->ids[k];
			ids[n++] = v->sep;
			memset(bb.seg + N, 0, n * sizeof(int));
			mask(ids, bb.label + N, n, v, mk, hp->wwm, &s, &bb);
			bb.T[b] = n;
			N += n;
		}
		bb.pb = (struct pt_batch){ B, bb.T, bb.ids, bb.seg, bb.label,
		    NULL };
		pt_forward(p, &bb.pb, 0);
		loss += (double)p->mlm_loss * p->M;
		hit += p->correct;
		nm += p->M;
	}
	printf("%s\t", dir);
	if (p->t.step >= 0)
		printf("%ld", p->t.step);
	else
		putchar('-');	/* no trainer_state.json */
	printf("\t%ld\t%.4f\t%.4f\n", nm, nm ? loss / nm : 0.0,
	    nm ? (double)hit / nm : 0.0);
	free(bb.T);
	free(bb.ids);
	free(bb.seg);
	free(bb.label);
	free(bb.pos);
	free(bb.wstart);
}

/* ---- main ---- */

int
main(int argc, char *argv[])
{
	struct hyper hp = { 2, 128, 2, 0, 128, 32, 1000, -1, 0, 42,
	    1e-3, 0.01, 0.1, 1.0, 0, 0 };
	struct bert_config k = { 0 };
	struct wp_vocab v;
	struct corpus c;
	struct pretrain p;
	struct batch bb;
	struct prog g = { 0 };
	const char *out = NULL, *vocab = NULL, *resume = NULL;
	char e[512], stage[2048], vpath[2048], hash[32], mine[32];
	char spath[4096];
	int nostate = 0;
	int ch, verbose = 0, keepsteps = 0, mk, eval = 0;
	long step0 = 0;

	outinit();
	while ((ch = getopt_long(argc, argv, "B:C:F:H:L:T:o:v:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			hp.B = optint("-B", optarg, 1, 1 << 16);
			break;
		case 'C':
			hp.C = optint("-C", optarg, 1, 1 << 14);
			break;
		case 'F':
			hp.F = optint("-F", optarg, 1, 1 << 16);
			break;
		case 'H':
			hp.H = optint("-H", optarg, 1, 1 << 10);
			break;
		case 'L':
			hp.L = optint("-L", optarg, 1, 1 << 10);
			break;
		case 'T':
			hp.T = optint("-T", optarg, 4, 1 << 16);
			break;
		case 'o':
			out = optarg;
			break;
		case 'v':
			vocab = optarg;
			break;
		case O_DROPOUT:
			hp.dropout = optnum("--dropout", optarg, 0, 0.99);
			break;
		case O_EVAL:
			eval = 1;
			break;
		case O_EVERY:
			hp.every = optint("--save-every", optarg, 1, 1L << 30);
			break;
		case O_LR:
			hp.lr = optnum("--lr", optarg, 0, 10);
			break;
		case O_MAXNORM:
			hp.maxnorm = optnum("--max-grad-norm", optarg, 0,
			    1e30);
			break;
		case O_NSP:
			hp.nsp = 1;
			break;
		case O_RESUME:
			resume = optarg;
			break;
		case O_SEED:
			hp.seed = optint("--seed", optarg, 0, 0x7fffffffL);
			break;
		case O_STEPS:
			hp.steps = optint("--steps", optarg, 1, 1L << 30);
			keepsteps = 1;
			break;
		case O_VERBOSE:
			verbose = 1;
			break;
		case O_WARMUP:
			hp.warmup = optint("--warmup", optarg, 0, 1L << 30);
			break;
		case O_WD:
			hp.wd = optnum("--weight-decay", optarg, 0, 1);
			break;
		case O_WWM:
			hp.wwm = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (eval ? resume == NULL : out == NULL || (vocab == NULL &&
	    resume == NULL))
		usage();
	if (hp.C % hp.H != 0) {
		warnx("-C %ld is not a multiple of -H %ld", hp.C, hp.H);
		usage();
	}
	if (hp.F == 0)
		hp.F = 4 * hp.C;
	snprintf(spath, sizeof(spath), "%s/trainer_state.json",
	    resume ? resume : ".");
	if (eval && access(spath, F_OK) == -1 && errno == ENOENT)
		nostate = 1;	/* a model alone: the flags, no step */
	if (resume != NULL && nostate)
		step0 = -1;
	else if (resume != NULL) {
		struct hyper keep = hp;

		readstate(resume, &hp, &step0, hash, sizeof(hash), keepsteps);
		if (eval)
			hp.B = keep.B, hp.seed = keep.seed;
	}
	if (resume != NULL) {
		if (vocab == NULL) {
			snprintf(vpath, sizeof(vpath), "%s/vocab.txt", resume);
			vocab = vpath;
		}
	}
	if (hp.warmup < 0)
		hp.warmup = hp.steps / 10;
	if (hp.every == 0)
		hp.every = hp.steps;
	if (!eval && mkdirp(out) == -1)
		err(1, "%s", out);

	if (wp_load(&v, vocab, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	if ((mk = wp_find(&v, "[MASK]", 6)) < 0)
		errx(1, "%s: no [MASK] token", vocab);
	char *vdir = xstrdup(vocab), *sl = strrchr(vdir, '/');
	if (sl != NULL)
		*sl = '\0';
	else
		strcpy(vdir, ".");
	readcorpus(&c, argc, argv, &v, vdir);

	if (resume != NULL) {
		struct bert src;

		snprintf(mine, sizeof(mine), "%016llx",
		    (unsigned long long)c.hash);
		if (!eval && strcmp(mine, hash) != 0)
			errx(1, "%s/trainer_state.json: trained on other "
			    "records (data_hash %s, these are %s)", resume,
			    hash, mine);
		if (model_load(&src, resume, e, sizeof(e)) == -1)
			errx(1, "%s", e);
		if (!(model_groups(&src) & MT_MLM) || src.cfg.V != v.n)
			errx(1, "%s: not a pre-training checkpoint of %s's "
			    "%d tokens", resume, vocab, v.n);
		k = src.cfg;
		k.nlabels = 0;
		pt_init(&p, &k, &src, (float)hp.dropout, (uint64_t)hp.seed);
		model_release(&src);
		if (!eval)
			readmoments(&p, resume);
		p.t.step = step0;
		if (!nostate && hp.T > k.P)
			errx(1, "%s: max_length %ld over the model's %d "
			    "positions", resume, hp.T, k.P);
	} else {
		k.L = (int)hp.L, k.H = (int)hp.H, k.C = (int)hp.C;
		k.F = (int)hp.F, k.V = v.n, k.P = (int)hp.T, k.S = 2;
		k.eps = 1e-12f;
		k.lower = -1;
		pt_init(&p, &k, NULL, (float)hp.dropout, (uint64_t)hp.seed);
	}
	if (eval) {
		evaluate(&p, &c, &hp, &v, mk, resume);
		closeout(stdout, "stdout");
		free(c.off);
		free(c.ids);
		free(vdir);
		pt_release(&p);
		wp_release(&v);
		return 0;
	}
	snprintf(stage, sizeof(stage), "%s/.pretrain", out);
	stage_init(stage, vocab, &hp);

	bb.T = xcalloc(hp.B, sizeof(int));
	bb.nsp = xcalloc(hp.B, sizeof(int));
	bb.ids = xcalloc(hp.B * hp.T, sizeof(int));
	bb.seg = xcalloc(hp.B * hp.T, sizeof(int));
	bb.label = xcalloc(hp.B * hp.T, sizeof(int));
	bb.pos = xcalloc(hp.T, sizeof(int));
	bb.wstart = xcalloc(hp.T, sizeof(int));

	progress_init(&g.pg, "steps", (size_t)(hp.steps - step0), verbose);
	for (long s = step0; s < hp.steps; s++) {
		mkbatch(&bb, &c, &hp, &v, mk, s);
		pt_forward(&p, &bb.pb, 1);
		pt_backward(&p);
		train_clip(&p.t, hp.maxnorm);
		train_adamw(&p.t, train_lr((float)hp.lr, s, hp.warmup,
		    hp.steps), (float)hp.wd);
		g.loss += p.loss;
		g.nloss++;
		g.hit += p.correct;
		g.nmask += p.M;
		for (int b = 0; b < hp.B; b++)
			g.tok += bb.T[b];
		if (!isfinite(p.loss))
			errx(1, "step %ld: the loss is %g; a lower --lr may "
			    "help", s + 1, p.loss);
		if ((s + 1) % hp.every == 0 || s + 1 == hp.steps)
			checkpoint(&p, &hp, &c, out, stage);
		prog_line(&g, s + 1, hp.steps, step0);
	}
	free(bb.T);
	free(bb.nsp);
	free(bb.ids);
	free(bb.seg);
	free(bb.label);
	free(bb.pos);
	free(bb.wstart);
	free(c.off);
	free(c.ids);
	free(vdir);
	pt_release(&p);
	wp_release(&v);
	return 0;
}
