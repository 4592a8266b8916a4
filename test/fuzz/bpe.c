/*
 * bpe.c -- libFuzzer target: RoBERTa's tokenizer files on arbitrary bytes.
 * The input is vocab.json, a NUL, merges.txt, a NUL and a text; the files
 * loaded (or refused with a message), the text is tokenized: every id in
 * the vocabulary or <unk>'s, every span inside the text and in order, the
 * pieces' bytes the whole text when nothing is unknown.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "memfile.h"
#include "tokenizer.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fv = -1, fm = -1;
	static struct tok_list out;
	const uint8_t *z1, *z2, *text;
	char vpath[64], err[512];
	const char *p;
	size_t tlen, bad;
	struct bpe *b;
	long w;

	if ((z1 = memchr(data, 0, size)) == NULL ||
	    (z2 = memchr(z1 + 1, 0, data + size - z1 - 1)) == NULL)
		return 0;
	text = z2 + 1;
	tlen = data + size - text;
	if ((p = memfile(&fv, "vocab.json", data, z1 - data)) == NULL)
		return 0;
	strcpy(vpath, p);
	if ((p = memfile(&fm, "merges.txt", z1 + 1, z2 - z1 - 1)) == NULL)
		return 0;
	err[0] = '\0';
	if ((b = bpe_load(vpath, p, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	out.n = 0;
	w = bpe_encode(b, (const char *)text, tlen, &out, 0, &bad);
	if (w < 0 && bad >= tlen)
		abort();
	for (size_t i = 0; w >= 0 && i < out.n; i++) {
		if (out.id[i] < 0 || out.id[i] >= bpe_size(b))
			abort();
		if (out.beg[i] > out.end[i] || out.end[i] > tlen ||
		    (i > 0 && out.beg[i] < out.end[i - 1]))
			abort();
		if (out.word[i] >= (uint32_t)w)
			abort();
	}
	/* a second time from the cache: the same tokens */
	if (w >= 0) {
		size_t n = out.n;
		if (bpe_encode(b, (const char *)text, tlen, &out, 0, &bad) != w ||
		    out.n != 2 * n ||
		    memcmp(out.id, out.id + n, n * sizeof(int)) != 0)
			abort();
	}
	bpe_free(b);
	return 0;
}
