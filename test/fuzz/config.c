/*
 * config.c -- libFuzzer target: model_config on arbitrary bytes, then
 * model_load of a directory holding them as config.json beside a fixed
 * model.safetensors made here (all zeros, the shapes of samples/tiny-cls:
 * 2 layers, hidden 16, 2 heads, intermediate 32, vocabulary 40, 64
 * positions, 2 token types, 2 labels), so that the checks of the tensors'
 * shapes against config.json run.  Seeds: the config.json of samples/ and
 * test/golden/encode-model.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

enum { L = 2, C = 16, F = 32, V = 40, P = 64, S = 2, NL = 2 };

static char dir[64] = "/tmp/hcfuzz-config-XXXXXX";
static char cfgpath[128], stpath[128];

static void
cleanup(void)
{
	unlink(cfgpath);
	unlink(stpath);
	rmdir(dir);
}

/* One header entry of d0 x d1 (d1 0: a vector) at *off; its size added. */
static int
entry(char *h, size_t hl, int k, const char *name, int d0, int d1,
    size_t *off)
{
	size_t n = (size_t)d0 * (d1 ? d1 : 1) * 4;
	int r;

	if (d1)
		r = snprintf(h + k, hl - k, "%s\"%s\":{\"dtype\":\"F32\","
		    "\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
		    k > 1 ? "," : "", name, d0, d1, *off, *off + n);
	else
		r = snprintf(h + k, hl - k, "%s\"%s\":{\"dtype\":\"F32\","
		    "\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
		    k > 1 ? "," : "", name, d0, *off, *off + n);
	*off += n;
	return k + r;
}

static int
mkmodel(void)
{
	static const char *const lt[][2] = {
		{ "attention.self.query.weight", "CC" },
		{ "attention.self.query.bias", "C" },
		{ "attention.self.key.weight", "CC" },
		{ "attention.self.key.bias", "C" },
		{ "attention.self.value.weight", "CC" },
		{ "attention.self.value.bias", "C" },
		{ "attention.output.dense.weight", "CC" },
		{ "attention.output.dense.bias", "C" },
		{ "attention.output.LayerNorm.gamma", "C" },
		{ "attention.output.LayerNorm.beta", "C" },
		{ "intermediate.dense.weight", "FC" },
		{ "intermediate.dense.bias", "F" },
		{ "output.dense.weight", "CF" },
		{ "output.dense.bias", "C" },
		{ "output.LayerNorm.weight", "C" },
		{ "output.LayerNorm.bias", "C" },
	};
	static char h[8192];
	char nm[128];
	size_t off = 0;
	uint64_t hl;
	void *zero;
	FILE *fp;
	int k = 1;

	h[0] = '{';
	k = entry(h, sizeof(h), k, "bert.embeddings.word_embeddings.weight",
	    V, C, &off);
	k = entry(h, sizeof(h), k, "bert.embeddings.position_embeddings."
	    "weight", P, C, &off);
	k = entry(h, sizeof(h), k, "bert.embeddings.token_type_embeddings."
	    "weight", S, C, &off);
	k = entry(h, sizeof(h), k, "bert.embeddings.LayerNorm.weight", C, 0,
	    &off);
	k = entry(h, sizeof(h), k, "bert.embeddings.LayerNorm.bias", C, 0,
	    &off);
	for (int l = 0; l < L; l++)
		for (size_t i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
			const char *d = lt[i][1];
			snprintf(nm, sizeof(nm), "bert.encoder.layer.%d.%s", l,
			    lt[i][0]);
			k = entry(h, sizeof(h), k, nm, d[0] == 'F' ? F : C,
			    d[1] == '\0' ? 0 : d[1] == 'F' ? F : C, &off);
		}
	k = entry(h, sizeof(h), k, "bert.pooler.dense.weight", C, C, &off);
	k = entry(h, sizeof(h), k, "bert.pooler.dense.bias", C, 0, &off);
	k = entry(h, sizeof(h), k, "classifier.weight", NL, C, &off);
	k = entry(h, sizeof(h), k, "classifier.bias", NL, 0, &off);
	k += snprintf(h + k, sizeof(h) - k, ",\"__metadata__\":{}}");
	if ((zero = calloc(1, off)) == NULL ||
	    (fp = fopen(stpath, "wb")) == NULL)
		return -1;
	hl = k;
	for (int i = 0; i < 8; i++)
		fputc(hl >> 8 * i & 0xff, fp);
	fwrite(h, 1, k, fp);
	fwrite(zero, 1, off, fp);
	free(zero);
	return fclose(fp) == 0 ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct bert_config cfg;
	struct bert m;
	char err[512];
	FILE *fp;

	if (!ready) {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
		snprintf(stpath, sizeof(stpath), "%s/model.safetensors", dir);
		atexit(cleanup);
		if (mkmodel() == -1)
			abort();
		ready = 1;
	}
	if ((fp = fopen(cfgpath, "wb")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	if (fclose(fp) != 0)
		return 0;
	if (model_config(&cfg, cfgpath, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			__builtin_trap();	/* an error without a message */
		return 0;
	}
	if (cfg.L < 1 || cfg.H < 1 || cfg.C % cfg.H != 0 || !(cfg.eps > 0))
		__builtin_trap();	/* accepted, but not a model */
	if (model_load(&m, dir, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			__builtin_trap();
		return 0;
	}
	/* fewer layers than the file has load; other sizes must agree */
	if (m.cfg.L > L || m.cfg.C != C || m.cfg.F != F || m.cfg.V != V ||
	    m.cfg.P != P || m.cfg.S != S || m.cfg.nlabels != NL)
		__builtin_trap();
	model_release(&m);
	return 0;
}
