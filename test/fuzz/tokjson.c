/*
 * tokjson.c -- libFuzzer target: tokenizer.json on arbitrary bytes, read
 * (or refused with a message) as the family it describes; then a fixed
 * text tokenized, every id inside the vocabulary table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memfile.h"
#include "tokenizer.h"

static const char text[] =
    "The Cat sat, on the MAT. Café résumé naïve 你好世界 don't 3,000, "
    "\xf0\x9f\x98\x80 \x01\x7f   spaces\t``quoted'' end";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static struct tok_list out;
	struct tokenizer t;
	const char *path;
	char err[512];
	size_t bad;

	if ((path = memfile(&fd, "tokenizer.json", data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if (tok_open(&t, "json", path, -1, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	out.n = 0;
	if (tok_encode(&t, text, sizeof(text) - 1, &out, &bad) == -1)
		abort();
	for (size_t i = 0; i < out.n; i++)
		if (out.id[i] < -1 || out.id[i] >= t.n)
			abort();
	if (t.first < 0 || t.first >= t.n || t.last < 0 || t.last >= t.n)
		abort();
	tok_close(&t);
	return 0;
}
