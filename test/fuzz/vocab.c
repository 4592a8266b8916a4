/*
 * vocab.c -- libFuzzer target: wp_load on arbitrary bytes, then a fixed
 * text tokenized with the vocabulary, cased and uncased.  Checked: every
 * entry is found under the id of its last line, and the text's words
 * (ASCII letters, split at spaces by BERT's basic tokenizer) come out as a
 * literal WordPiece makes them with a search through every entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memfile.h"
#include "wordpiece.h"

/* Letters only: the basic tokenizer splits them at the spaces alone. */
static const char plain[] =
    "the cat sat on the mat unaffable cats http www example com a aa aaa "
    "aaaa ab abc b ba bab the thethe caaaaaat x y z unk cls sep pad mask "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/* Everything else, for the sanitizers. */
static const char mixed[] =
    "The Cat sat, on the MAT. Café résumé naïve 你好世界 don't ## ### "
    "[UNK] [CLS] http://www.example.com cat\xe2\x80\x8bsat «sat» — "
    "\xf0\x9f"
    "\x98\x80 cat\xe2\x89\xa0" "cat \xef\xbf\xbd\x01\x7f \xc3\x9c""BER";

/* The id of s[0..n) by the last line that has it, or -1. */
static int
find(const struct wp_vocab *v, const char *s, size_t n)
{
	for (int id = v->n - 1; id >= 0; id--)
		if (v->len[id] == n && memcmp(v->word[id], s, n) == 0)
			return id;
	return -1;
}

/*
 * WordPiece on the ASCII word s[0..n), literally (but nothing longer than
 * the longest entry, maxlen, is looked for).
 */
static void
ref(const struct wp_vocab *v, size_t maxlen, const char *s, size_t n,
    struct wp_toks *out)
{
	char buf[256];
	size_t start = 0, first = out->n;

	if (n > 100) {
		wp_toks_push(out, v->unk);
		return;
	}
	while (start < n) {
		size_t end;
		int id = -1;
		for (end = n; end > start; end--) {
			size_t k = 0;
			if (start > 0) {
				buf[0] = buf[1] = '#';
				k = 2;
			}
			if (k + end - start > maxlen)
				continue;
			memcpy(buf + k, s + start, end - start);
			if ((id = find(v, buf, k + end - start)) != -1)
				break;
		}
		if (id == -1) {
			out->n = first;
			wp_toks_push(out, v->unk);
			return;
		}
		wp_toks_push(out, id);
		start = end;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	const char *path;
	static struct wp_toks got, want;
	struct wp_vocab v;
	char err[512];
	size_t bad, maxlen = 0;

	if ((path = memfile(&fd, "vocab", data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if (wp_load(&v, path, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (v.unk < 0 || v.unk >= v.n || v.cls < 0 || v.cls >= v.n ||
	    v.sep < 0 || v.sep >= v.n)
		abort();
	/* every entry under its last line's id (all of them, if few) */
	for (int id = 0; id < v.n; id++) {
		if (v.len[id] > maxlen)
			maxlen = v.len[id];
		int k = wp_find(&v, v.word[id], v.len[id]);
		if (k < id || v.len[k] != v.len[id] ||
		    memcmp(v.word[k], v.word[id], v.len[id]) != 0)
			abort();
		if (v.n <= 512 && k != find(&v, v.word[id], v.len[id]))
			abort();
	}
	for (int lower = 0; lower <= 1; lower++) {
		const char *s = plain, *sp;
		got.n = want.n = 0;
		if (wp_tokenize(&v, plain, sizeof(plain) - 1, lower, &got,
		    &bad) == -1)
			abort();
		for (; *s; s = *sp ? sp + 1 : sp) {
			sp = strchr(s, ' ');
			if (sp == NULL)
				sp = s + strlen(s);
			ref(&v, maxlen, s, sp - s, &want);
		}
		if (got.n != want.n || (got.n > 0 &&
		    memcmp(got.id, want.id, got.n * sizeof(int)) != 0))
			abort();
		got.n = 0;
		if (wp_tokenize(&v, mixed, sizeof(mixed) - 1, lower, &got,
		    &bad) == -1)
			abort();
		for (size_t i = 0; i < got.n; i++)
			if (got.id[i] < 0 || got.id[i] >= v.n)
				abort();
	}
	wp_release(&v);
	return 0;
}
