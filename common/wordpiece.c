/*
 * wordpiece.c -- BERT's basic tokenizer and WordPiece.
 *
 * The basic tokenizer: drop NUL, U+FFFD and control characters (category
 * C*, but tab, newline and return are whitespace); every whitespace
 * character (space, tab, newline, return, category Zs) is a space; a CJK
 * ideograph is a word of its own; split on whitespace; lower-case and strip
 * accents (NFD, marks of category Mn dropped) for uncased vocabularies;
 * punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and category P*) is a
 * word of its own.  WordPiece: greedy longest match first, continuations
 * prefixed "##"; a word that cannot be split, or of more than 100
 * characters, is [UNK].  Unicode properties come from utf8proc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "util.h"
#include "wordpiece.h"

#define MAXCHARS	100	/* max_input_chars_per_word */

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

int
wp_find(const struct wp_vocab *v, const char *s, size_t len)
{
	uint64_t h = hash(s, len);
	size_t i = h & (v->tabsize - 1);
	uint32_t tag = h >> 32;
	int id;

	while ((id = v->tab[i]) != 0) {
		if (v->tag[i] == tag && v->len[id - 1] == len &&
		    memcmp(v->word[id - 1], s, len) == 0)
			return id - 1;
		i = (i + 1) & (v->tabsize - 1);
	}
	return -1;
}

int
wp_load(struct wp_vocab *v, const char *path, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0, ncap = 0;
	ssize_t len;
	FILE *fp;

	memset(v, 0, sizeof(*v));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if ((size_t)v->n == ncap) {
			ncap = ncap ? ncap * 2 : 1024;
			v->word = xreallocarray(v->word, ncap, sizeof(char *));
			v->len = xreallocarray(v->len, ncap, sizeof(size_t));
		}
		v->len[v->n] = len;
		v->word[v->n++] = xstrndup(line, len);
	}
	free(line);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		wp_release(v);
		return -1;
	}
	fclose(fp);
	for (v->tabsize = 16; v->tabsize < 2 * (size_t)v->n + 1;)
		v->tabsize *= 2;
	v->tab = xcalloc(v->tabsize, sizeof(int));
	v->tag = xcalloc(v->tabsize, sizeof(uint32_t));
	for (int id = 0; id < v->n; id++) {
		const char *w = v->word[id];
		uint64_t h = hash(w, v->len[id]);
		size_t i = h & (v->tabsize - 1);
		if (wp_find(v, w, v->len[id]) != -1)
			continue;	/* a duplicate: the first id wins */
		while (v->tab[i] != 0)
			i = (i + 1) & (v->tabsize - 1);
		v->tab[i] = id + 1;
		v->tag[i] = h >> 32;
	}
	v->unk = wp_find(v, "[UNK]", 5);
	v->cls = wp_find(v, "[CLS]", 5);
	v->sep = wp_find(v, "[SEP]", 5);
	if (v->unk < 0 || v->cls < 0 || v->sep < 0) {
		snprintf(err, errlen, "%s: the vocabulary has no %s", path,
		    v->unk < 0 ? "[UNK]" : v->cls < 0 ? "[CLS]" : "[SEP]");
		wp_release(v);
		return -1;
	}
	return 0;
}

void
wp_release(struct wp_vocab *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->word[i]);
	free(v->word);
	free(v->len);
	free(v->tab);
	free(v->tag);
	memset(v, 0, sizeof(*v));
}

void
wp_toks_push(struct wp_toks *t, int id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->id = xreallocarray(t->id, t->cap, sizeof(int));
	}
	t->id[t->n++] = id;
}

static int
is_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	    (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
	    (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
	    (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int
is_punct(int32_t c)
{
	if (c < 128)
		return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
		    (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		return 1;
	default:
		return 0;
	}
}

/* Whitespace after clean-up: what Python's str.split() splits on. */
static int
is_space(int32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    utf8proc_category(c) == UTF8PROC_CATEGORY_ZS ||
	    c == 0x2028 || c == 0x2029;
}

static int
is_control(int32_t c)
{
	if (c == '\t' || c == '\n' || c == '\r')
		return 0;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CN:
		return 1;
	default:
		return 0;
	}
}

/* A word of code points, as UTF-8 in buf. */
struct word {
	char	*buf;
	size_t	 len, cap;
	int	 nchars;
};

static void
putcp(struct word *w, int32_t c)
{
	if (c < 128 && w->len < w->cap) {
		w->buf[w->len++] = c;
		w->nchars++;
		return;
	}
	if (w->len + 4 > w->cap) {
		w->cap = (w->cap + 4) * 2;
		w->buf = xreallocarray(w->buf, w->cap, 1);
	}
	w->len += utf8proc_encode_char(c, (utf8proc_uint8_t *)w->buf + w->len);
	w->nchars++;
}

/* WordPiece on one word (buf, len bytes, nchars code points). */
static void
wordpiece(const struct wp_vocab *v, const struct word *w, struct wp_toks *out)
{
	char tmp[4 * MAXCHARS + 3];
	size_t start = 0, first = out->n;

	if (w->len == 0)
		return;
	if (w->nchars > MAXCHARS) {
		wp_toks_push(out, v->unk);
		return;
	}
	while (start < w->len) {
		size_t end = w->len;
		int id = -1;
		while (end > start) {
			if (start == 0) {
				id = wp_find(v, w->buf, end);
			} else {
				tmp[0] = tmp[1] = '#';
				memcpy(tmp + 2, w->buf + start, end - start);
				id = wp_find(v, tmp, 2 + end - start);
			}
			if (id != -1)
				break;
			/* back off one code point */
			do
				end--;
			while (end > start &&
			    ((unsigned char)w->buf[end] & 0xc0) == 0x80);
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

/* Append code point c of the cleaned, cased text to the current word. */
static void
addchar(struct word *w, int32_t c, int lower)
{
	int32_t buf[8];
	utf8proc_ssize_t n;

	if (!lower) {
		putcp(w, c);
		return;
	}
	if (c < 128) {
		putcp(w, c >= 'A' && c <= 'Z' ? c + 32 : c);
		return;
	}
	c = utf8proc_tolower(c);
	/* NFD, then drop the nonspacing marks: the accents */
	n = utf8proc_decompose_char(c, buf, 8, UTF8PROC_DECOMPOSE, NULL);
	for (utf8proc_ssize_t i = 0; i < n && i < 8; i++)
		if (utf8proc_category(buf[i]) != UTF8PROC_CATEGORY_MN)
			putcp(w, buf[i]);
}

int
wp_tokenize(const struct wp_vocab *v, const char *text, size_t len, int lower,
    struct wp_toks *out, size_t *bad)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
	struct word w = { 0 };
	size_t i = 0;
	int32_t c;

	while (i < len) {
		utf8proc_ssize_t k;
		if (p[i] < 128) {
			c = p[i];
			k = 1;
		} else if ((k = utf8proc_iterate(p + i, len - i, &c)) < 0) {
			*bad = i;
			free(w.buf);
			return -1;
		}
		i += k;
		if (c < 128) {		/* ASCII: no tables needed */
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				wordpiece(v, &w, out);
				w.len = w.nchars = 0;
			} else if (c < 32 || c == 127) {
				;	/* control characters, NUL */
			} else if (is_punct(c)) {
				wordpiece(v, &w, out);
				w.len = w.nchars = 0;
				putcp(&w, c);
				wordpiece(v, &w, out);
				w.len = w.nchars = 0;
			} else {
				putcp(&w, lower && c >= 'A' && c <= 'Z' ?
				    c + 32 : c);
			}
			continue;
		}
		if (c == 0xFFFD || is_control(c))
			continue;
		if (is_space(c)) {
			wordpiece(v, &w, out);
			w.len = w.nchars = 0;
			continue;
		}
		if (is_cjk(c) || is_punct(c)) {
			/* a word of its own: punctuation is checked after
			 * lower-casing and accent stripping in BERT, and
			 * neither changes whether a character is punctuation
			 * for the characters that matter */
			wordpiece(v, &w, out);
			w.len = w.nchars = 0;
			addchar(&w, c, lower);
			wordpiece(v, &w, out);
			w.len = w.nchars = 0;
			continue;
		}
		addchar(&w, c, lower);
	}
	wordpiece(v, &w, out);
	free(w.buf);
	return 0;
}
