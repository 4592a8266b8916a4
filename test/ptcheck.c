/*
 * ptcheck -- check pre-training's heads and loss (common/pretrain.c).
 *
 *	usage: ptcheck -r refdir
 *	       ptcheck [-n] [-d dropout] [-t tol] model
 *
 * With -r, against Hugging Face: refdir holds a BertForPreTraining, one
 * masked batch (batch.json) with HF's losses, and every parameter's
 * gradient (grads.safetensors); the losses must agree within 1e-5 and
 * every gradient within 1e-4 of the tensor's largest.
 *
 * Without, a gradient check of the model in model (a random one with the
 * pre-training heads, test/mkmodel.py --extra): for a few elements of
 * every parameter tensor, the analytic gradient against a central finite
 * difference of the loss in float32, both masked-LM and next-sentence
 * losses on (-n: masked-LM alone, the pooler's and next-sentence
 * head's gradients then 0), dropout on (its masks are fixed by the step).  The float
 * loss limits the difference's precision: tol (default 2e-2) is relative
 * to the largest gradient of the tensor.
 *
 * One line per tensor: name, max |difference| over the scale; exit 1 when
 * any is above the tolerance.
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "pretrain.h"
#include "tensor.h"
#include "tensorfile.h"
#include "util.h"

#define FLOOR	1e-3
#define FDFLOOR	1e-2

static int ids[256], seg[256], label[256], nsp[16], Ts[16];
static int B;

/* A list of lists of ints from batch.json's key into v, packed. */
static int
packed(cJSON *j, const char *key, int *v, int *T)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(j, key), *row, *x;
	int n = 0, b = 0;

	if (!cJSON_IsArray(o))
		errx(1, "batch.json: no '%s'", key);
	cJSON_ArrayForEach(row, o) {
		int t = 0;

		cJSON_ArrayForEach(x, row) {
			if (n == 256)
				errx(1, "batch.json: too large");
			v[n++] = (int)x->valuedouble;
			t++;
		}
		if (T != NULL)
			T[b] = t;
		b++;
	}
	return b;
}

static double
num(cJSON *j, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsNumber(o))
		errx(1, "batch.json: no '%s'", key);
	return o->valuedouble;
}

static int
reference(const char *dir)
{
	struct pretrain p;
	struct bert src;
	struct tfile tf;
	struct pt_batch pb;
	char path[4096], e[512], *text;
	size_t len;
	cJSON *j;
	FILE *fp;
	int bad = 0;

	if (model_load(&src, dir, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	snprintf(path, sizeof(path), "%s/batch.json", dir);
	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	text = xmalloc(1 << 20);
	len = fread(text, 1, (1 << 20) - 1, fp);
	fclose(fp);
	text[len] = '\0';
	if ((j = cJSON_Parse(text)) == NULL)
		errx(1, "%s: not JSON", path);
	B = packed(j, "input_ids", ids, Ts);
	packed(j, "token_type_ids", seg, NULL);
	packed(j, "mlm_labels", label, NULL);
	cJSON *o, *x = cJSON_GetObjectItemCaseSensitive(j,
	    "next_sentence_label");
	int k = 0;
	cJSON_ArrayForEach(o, x)
		nsp[k++] = (int)o->valuedouble;

	pt_init(&p, &src.cfg, &src, 0.0f, 1);
	pb = (struct pt_batch){ B, Ts, ids, seg, label, nsp };
	pt_forward(&p, &pb, 1);
	pt_backward(&p);
	double dm = fabs(p.mlm_loss - num(j, "mlm_loss"));
	double dn = fabs(p.nsp_loss - num(j, "nsp_loss"));
	printf("mlm_loss\t%.7f\t%.7f\t%.2g\n", p.mlm_loss,
	    num(j, "mlm_loss"), dm);
	printf("nsp_loss\t%.7f\t%.7f\t%.2g\n", p.nsp_loss,
	    num(j, "nsp_loss"), dn);
	bad += dm > 1e-5 || dn > 1e-5;

	snprintf(path, sizeof(path), "%s/grads.safetensors", dir);
	if (tfile_open(&tf, path, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	for (int i = 0; i < p.t.ntt; i++) {
		const struct train_tensor *t = &p.t.tt[i];
		const struct tfentry *f = tfile_find(&tf, t->name);
		double mx = 0, md = 0;

		if (f == NULL || f->n != t->n)
			errx(1, "%s: no gradient '%s' of %zu elements", path,
			    t->name, t->n);
		float *ref = xmalloc(f->n * sizeof(float));
		tensor_to_f32(ref, f->data, f->dtype, f->n);
		for (size_t k = 0; k < t->n; k++) {
			double d = fabs(p.t.grads[t->off + k] - ref[k]);

			if (fabs(ref[k]) > mx)
				mx = fabs(ref[k]);
			if (d > md)
				md = d;
		}
		/*
		 * The key bias has no gradient at all (softmax does not see
		 * a constant added to a row): HF's is rounding noise, about
		 * 1e-9.  Below FLOOR a tensor's differences are absolute.
		 */
		md /= mx > FLOOR ? mx : FLOOR;
		printf("%s\t%.2g\n", t->name, md);
		bad += md > 1e-4;
		free(ref);
	}
	tfile_release(&tf);
	cJSON_Delete(j);
	free(text);
	pt_release(&p);
	model_release(&src);
	return bad ? 1 : 0;
}

static float
loss_at(struct pretrain *p, const struct pt_batch *pb)
{
	p->t.stale = 1;
	return pt_forward(p, pb, 1);
}

static int
fdcheck(const char *dir, float drop, double tol, int nonsp)
{
	struct pretrain p;
	struct bert src;
	struct pt_batch pb;
	char e[512];
	uint64_t rng = 7;
	int N = 0, bad = 0;

	if (model_load(&src, dir, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	B = 3;
	Ts[0] = 9, Ts[1] = 6, Ts[2] = 11;
	for (int b = 0; b < B; b++)
		for (int i = 0; i < Ts[b]; i++, N++) {
			ids[N] = i == 0 ? 2 : 5 + (int)(train_rand(&rng) %
			    (src.cfg.V - 5));
			seg[N] = i > Ts[b] / 2;
			label[N] = i > 0 && train_rand(&rng) % 3 == 0 ?
			    (int)(train_rand(&rng) % src.cfg.V) : PT_IGNORE;
		}
	nsp[0] = 0, nsp[1] = 1, nsp[2] = 1;
	pt_init(&p, &src.cfg, &src, drop, 3);
	p.t.step = 5;
	pb = (struct pt_batch){ B, Ts, ids, seg, label, nonsp ? NULL : nsp };
	pt_forward(&p, &pb, 1);
	pt_backward(&p);
	float *g = xmalloc(p.t.m.nparams * sizeof(float));
	memcpy(g, p.t.grads, p.t.m.nparams * sizeof(float));

	for (int i = 0; i < p.t.ntt; i++) {
		const struct train_tensor *t = &p.t.tt[i];
		double mx = 0, md = 0;

		for (size_t k = 0; k < t->n; k++)
			if (fabs(g[t->off + k]) > mx)
				mx = fabs(g[t->off + k]);
		/* the largest element, and a few others */
		for (int s = 0; s < 6; s++) {
			size_t k = train_rand(&rng) % t->n;
			if (s == 0)
				for (size_t q = 0; q < t->n; q++)
					if (fabs(g[t->off + q]) == mx)
						k = q;
			float *w = p.t.m.params + t->off + k, w0 = *w;
			float h = 1e-2f * (fabsf(w0) > 1 ? fabsf(w0) : 1);
			*w = w0 + h;
			double lp = loss_at(&p, &pb);
			*w = w0 - h;
			double lm = loss_at(&p, &pb);
			*w = w0;
			double num = (lp - lm) / (2 * h);
			double d = fabs(num - g[t->off + k]);
			if (d > md)
				md = d;
		}
		/*
		 * The loss in float32 is good to about 5e-7, its difference
		 * quotient to 5e-5: tensors whose gradients are all below
		 * FDFLOOR (the key bias has none) are compared absolutely.
		 */
		md /= mx > FDFLOOR ? mx : FDFLOOR;
		printf("%s\t%.2g\n", t->name, md);
		bad += !(md <= tol);
	}
	free(g);
	pt_release(&p);
	model_release(&src);
	return bad ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	const char *ref = NULL;
	float drop = 0.1f;
	double tol = 2e-2;
	int ch, nonsp = 0;

	while ((ch = getopt(argc, argv, "d:nr:t:")) != -1) {
		switch (ch) {
		case 'd':
			drop = strtof(optarg, NULL);
			break;
		case 'n':
			nonsp = 1;
			break;
		case 'r':
			ref = optarg;
			break;
		case 't':
			tol = strtod(optarg, NULL);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (ref != NULL && argc == 0)
		return reference(ref);
	if (ref == NULL && argc == 1)
		return fdcheck(argv[0], drop, tol, nonsp);
usage:
	fprintf(stderr, "usage: ptcheck -r refdir\n"
	    "       ptcheck [-n] [-d dropout] [-t tol] model\n");
	return 2;
}
