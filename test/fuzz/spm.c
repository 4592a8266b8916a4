/*
 * spm.c -- libFuzzer target: a SentencePiece model (ModelProto) on
 * arbitrary bytes, read by common/spm.c (or refused with a message); then
 * fixed texts segmented: every id inside the vocabulary, every span inside
 * the text, begins in order, each piece's text there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spm.h"

static const char *texts[] = {
	"The Cat sat, on the MAT. Caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9 3,000,",
	"\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80"
	    "\xe2\x80\x8d \x01\x7f\t  \xe2\x96\x81\xe2\x96\x81x \xef\xac\x81",
	"   leading, \xe3\x80\x80 and trailing   ",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaa <s> <unk> <0x41> [CLS] a\xcc\x81",
	"",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spm *m;
	char err[512];

	err[0] = '\0';
	if ((m = spm_load_proto(data, size, "fuzz", err, sizeof(err))) ==
	    NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		const struct spm_piece *p;
		size_t len = strlen(texts[k]);
		long n = spm_encode(m, k & 1, texts[k], len, &p);
		uint32_t last = 0;
		if (n < 0)
			abort();
		for (long i = 0; i < n; i++) {
			if (p[i].id < 0 || p[i].id >= spm_size(m) ||
			    p[i].beg > p[i].end || p[i].end > len ||
			    p[i].beg < last || p[i].s == NULL)
				abort();
			last = p[i].beg;
			/* touch the piece's bytes */
			for (size_t j = 0; j < p[i].len; j++)
				if (p[i].s[j] == '\0' && p[i].len > 64)
					break;
		}
	}
	spm_free(m);
	return 0;
}
