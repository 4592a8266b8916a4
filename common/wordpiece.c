/*
 * wordpiece.c -- BERT's basic tokenizer and WordPiece.
 *
 * The basic tokenizer: drop NUL, U+FFFD and control characters (category
 * C*, but tab, newline and return are whitespace); every whitespace
 * character (space, tab, newline, return, category Zs) is a space; a CJK
 * ideograph is a word of its own; split on whitespace; lower-case (as
 * Python's str.lower(), a capital sigma final by its context) and strip
 * accents (NFD, marks of category Mn dropped) for uncased vocabularies;
 * punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and category P*) is a
 * word of its own.  WordPiece: greedy longest match first, continuations
 * prefixed "##"; a word that cannot be split, or of more than 100
 * characters, is [UNK].  Unicode properties come from utf8proc.
 *
 * ASCII takes a short cut: its classes are in a table and its lower case
 * is arithmetic.  NFD reorders only runs of characters of non-zero
 * combining class, and every ASCII character has class zero, so each run
 * of non-ASCII characters can be normalised on its own; punctuation is
 * looked for after normalisation, as BERT does (U+2260 is "=" then).
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

/*
 * Words are hashed with FNV-1a (util.h), one byte at a time, so that every
 * prefix has its hash on the way.
 */

/*
 * The slot of the entry "##" s[0..n) (prefix set) or s[0..n), whose hash
 * is h, or the empty slot where it would go.  A slot whose tag matches is
 * nearly always the entry, and the entry (id, length, word) is one read
 * away from it.
 */
static inline size_t
probe(const struct wp_vocab *v, uint64_t h, const char *s, size_t n,
    int prefix)
{
	const struct wp_slot *e;
	uint32_t tag = h >> 32, hdr[2];
	size_t i = h & v->mask, k;

	for (; (e = &v->tab[i])->at != 0; i = (i + 1) & v->mask) {
		const char *w = (const char *)v->ent + 4 * (size_t)e->at;
		if (e->tag != tag)
			continue;
		memcpy(hdr, w, sizeof(hdr));
		if (hdr[1] != n + 2 * prefix)
			continue;
		w += sizeof(hdr);
		if (prefix) {
			if (w[0] != '#' || w[1] != '#')
				continue;
			w += 2;
		}
		for (k = 0; k < n && w[k] == s[k]; k++)
			;
		if (k == n)
			break;
	}
	return i;
}

/* The same, for the id, or -1. */
static inline int
lookup(const struct wp_vocab *v, uint64_t h, const char *s, size_t n,
    int prefix)
{
	uint32_t at = v->tab[probe(v, h, s, n, prefix)].at, id;

	if (at == 0)
		return -1;
	memcpy(&id, v->ent + 4 * (size_t)at, sizeof(id));
	return id;
}

int
wp_find(const struct wp_vocab *v, const char *s, size_t len)
{
	return lookup(v, fnv1a(FNV1A_BASIS, s, len), s, len, 0);
}

/* Put the entry at in the table; a word there already takes the later. */
static void
insert(struct wp_vocab *v, int id, uint32_t at)
{
	uint64_t h = fnv1a(FNV1A_BASIS, v->word[id], v->len[id]);
	size_t i = probe(v, h, v->word[id], v->len[id], 0);

	v->tab[i].tag = h >> 32;
	v->tab[i].at = at;
}

int
wp_read(struct wp_vocab *v, const char *path, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0, ncap = 0, size = 4, bcap = 0, tabsize;
	size_t *off = NULL;
	ssize_t len;
	FILE *fp;

	const char *why;

	memset(v, 0, sizeof(*v));
	if ((fp = fopen_reg(path, &why)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	/*
	 * The entries one after the other in ent, from byte 4 on: id and
	 * length (uint32_t), the word, NUL, padded to a multiple of 4 bytes.
	 */
	while ((len = getline(&line, &cap, fp)) != -1) {
		size_t esize;
		uint32_t hdr[2];
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		esize = (sizeof(hdr) + len + 1 + 3) & ~(size_t)3;
		if (v->n == INT32_MAX || (uint64_t)len >= UINT32_MAX ||
		    (uint64_t)(size + esize) / 4 >= UINT32_MAX) {
			snprintf(err, errlen, "%s: too large", path);
			free(line);
			free(off);
			fclose(fp);
			wp_release(v);
			return -1;
		}
		if ((size_t)v->n == ncap) {
			ncap = ncap ? ncap * 2 : 1024;
			off = xreallocarray(off, ncap, sizeof(size_t));
			v->len = xreallocarray(v->len, ncap, sizeof(size_t));
		}
		while (size + esize > bcap) {
			bcap = bcap ? bcap * 2 : 65536;
			v->ent = xreallocarray(v->ent, bcap, 1);
		}
		hdr[0] = v->n;
		hdr[1] = len;
		memset(v->ent + size, 0, esize);
		memcpy(v->ent + size, hdr, sizeof(hdr));
		memcpy(v->ent + size + sizeof(hdr), line, len);
		off[v->n] = size;
		v->len[v->n++] = len;
		size += esize;
		if ((size_t)len > v->maxlen)
			v->maxlen = len;
	}
	free(line);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		free(off);
		wp_release(v);
		return -1;
	}
	fclose(fp);
	v->word = xreallocarray(NULL, v->n, sizeof(char *));
	for (int id = 0; id < v->n; id++)
		v->word[id] = (char *)v->ent + off[id] + 8;
	/* at most half full: an absent word ends its probe soon */
	for (tabsize = 16; tabsize < 2 * (size_t)v->n + 1;)
		tabsize *= 2;
	v->mask = tabsize - 1;
	v->tab = xcalloc(tabsize, sizeof(*v->tab));
	for (int id = 0; id < v->n; id++)
		insert(v, id, off[id] / 4);
	free(off);
	v->unk = wp_find(v, "[UNK]", 5);
	v->cls = wp_find(v, "[CLS]", 5);
	v->sep = wp_find(v, "[SEP]", 5);
	return 0;
}

int
wp_load(struct wp_vocab *v, const char *path, char *err, size_t errlen)
{
	if (wp_read(v, path, err, errlen) == -1)
		return -1;
	if (v->unk < 0 || v->cls < 0 || v->sep < 0) {
		snprintf(err, errlen, "%s: the vocabulary has no %s", path,
		    v->unk < 0 ? "[UNK]" : v->cls < 0 ? "[CLS]" : "[SEP]");
		wp_release(v);
		return -1;
	}
	return 0;
}

int
wp_capital(const char *s, size_t len)
{
	if (len > 0 && s[0] == '[')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	return 0;
}

void
wp_release(struct wp_vocab *v)
{
	free(v->ent);
	free(v->word);
	free(v->len);
	free(v->tab);
	memset(v, 0, sizeof(*v));
}

static inline void
push(struct wp_toks *t, int id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->id = xreallocarray(t->id, t->cap, sizeof(int));
	}
	t->id[t->n++] = id;
}

void
wp_toks_push(struct wp_toks *t, int id)
{
	push(t, id);
}

/* ---- the basic tokenizer ---- */

/* ASCII: W word, S whitespace, D dropped (control), P punctuation */
enum { W, S, D, P };
static const unsigned char ascii[128] = {
	D, D, D, D, D, D, D, D, D, S, S, D, D, S, D, D,	/* NUL .. SI */
	D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,	/* DLE .. US */
	S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* space .. / */
	W, W, W, W, W, W, W, W, W, W, P, P, P, P, P, P,	/* 0 .. ? */
	P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W,	/* @ .. O */
	W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, P,	/* P .. _ */
	P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W,	/* ` .. o */
	W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, D,	/* p .. DEL */
};

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
		return ascii[c] == P;
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

/* The class of a non-ASCII character, as for ASCII, or C for CJK. */
enum { C = P + 1 };
static int
classify(int32_t c)
{
	if (c == 0xFFFD)
		return D;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CN:
		return D;
	case UTF8PROC_CATEGORY_ZS:
		return S;
	default:
		/* what Python's str.split() splits on, besides */
		if (c == 0x2028 || c == 0x2029)
			return S;
		return is_cjk(c) ? C : W;
	}
}

static int
charclass(int32_t c)
{
	return c < 128 ? ascii[c] : classify(c);
}

/*
 * Unicode's Final_Sigma context, which Python's str.lower() applies to each
 * word of BERT's basic tokenizer: a capital sigma is lower-cased to U+03C2
 * after a cased character and not before one, case-ignorable characters
 * skipped.  utf8proc's mapping has no context, so wp_tokenize asks here.
 * The properties are DerivedCoreProperties' Case_Ignorable and Cased:
 * categories, and the few characters of other categories that they list.
 */
static int
case_ignorable(int32_t c)
{
	switch (c) {
	case '\'': case '.': case ':': case 0xB7: case 0x387: case 0x55F:
	case 0x5F4: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
	case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E:
	case 0xFF1A:
		return 1;
	}
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_SK:
		return 1;
	default:
		return 0;
	}
}

static int
cased(int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
		return 1;
	default:
		/* ª º, Roman numerals, circled and squared Latin letters */
		return c == 0xAA || c == 0xBA || (c >= 0x2160 && c <= 0x217F) ||
		    (c >= 0x24B6 && c <= 0x24E9) ||
		    (c >= 0x1F130 && c <= 0x1F149) ||
		    (c >= 0x1F150 && c <= 0x1F169) ||
		    (c >= 0x1F170 && c <= 0x1F189);
	}
}

/*
 * Whether the capital sigma at p[i] (2 bytes) of the text p (len bytes) is
 * final.  The word is the text between whitespace or CJK characters, less
 * the characters the basic tokenizer drops.  Each scan stops at the first
 * character that is not case-ignorable, so that all the scans of a text
 * together read each character at most twice.
 */
static int
final_sigma(const unsigned char *p, size_t len, size_t i)
{
	int32_t c;
	size_t j;
	int cl, seen = 0;

	for (j = i; j > 0 && !seen;) {
		do
			j--;
		while (j > 0 && (p[j] & 0xC0) == 0x80);
		if (utf8proc_iterate(p + j, len - j, &c) < 0)
			return 0;
		cl = charclass(c);
		if (cl == D || (cl != S && cl != C && case_ignorable(c)))
			continue;
		if (cl == S || cl == C || !cased(c))
			return 0;
		seen = 1;
	}
	if (!seen)
		return 0;
	for (j = i + 2; j < len;) {
		utf8proc_ssize_t k = utf8proc_iterate(p + j, len - j, &c);
		if (k < 0)
			return 1;	/* the text is refused anyway */
		cl = charclass(c);
		if (cl == S || cl == C)
			return 1;
		if (cl == D || case_ignorable(c)) {
			j += k;
			continue;
		}
		return !cased(c);
	}
	return 1;
}

/*
 * The word being built, as UTF-8.  Only the first MAXCHARS + 1 characters
 * are kept: a longer word is [UNK] whatever they are.
 */
struct word {
	char	buf[4 * (MAXCHARS + 1)];
	size_t	len, nchars;
};

static inline void
putcp(struct word *w, int32_t c)
{
	if (w->nchars++ > MAXCHARS)
		return;
	if (c < 128)
		w->buf[w->len++] = c;
	else
		w->len += utf8proc_encode_char(c,
		    (utf8proc_uint8_t *)w->buf + w->len);
}

/*
 * WordPiece on the word w, then w emptied.  For each piece, the hashes of
 * every prefix come in one pass, and the longest prefix in the vocabulary
 * is the piece: none is longer than the longest entry.
 */
static void
wordpiece(const struct wp_vocab *v, struct word *w, struct wp_toks *out)
{
	static const uint64_t hashhash =
	    FNV1A_STEP(FNV1A_STEP(FNV1A_BASIS, '#'), '#');
	uint64_t hs[sizeof(w->buf) + 1];
	const char *b = w->buf;
	size_t start = 0, first = out->n, n = w->len;

	if (n == 0)
		return;
	w->len = 0;
	if (w->nchars > MAXCHARS) {
		w->nchars = 0;
		push(out, v->unk);
		return;
	}
	w->nchars = 0;
	while (start < n) {
		size_t end, lim = n - start, max = v->maxlen;
		uint64_t h = FNV1A_BASIS;
		int id = -1;
		if (start > 0) {
			h = hashhash;
			max = max >= 2 ? max - 2 : 0;
		}
		if (lim > max)
			lim = max;
		for (end = 0; end < lim; end++)
			hs[end + 1] = h = FNV1A_STEP(h, b[start + end]);
		for (end = lim; end > 0; end--) {
			/* only whole characters */
			if (start + end < n &&
			    ((unsigned char)b[start + end] & 0xc0) == 0x80)
				continue;
			if ((id = lookup(v, hs[end], b + start, end,
			    start > 0)) != -1)
				break;
		}
		if (id == -1) {
			out->n = first;
			push(out, v->unk);
			return;
		}
		push(out, id);
		start += end;
	}
}

/* A punctuation character: a word of its own. */
static void
punct(const struct wp_vocab *v, struct word *w, int32_t c,
    struct wp_toks *out)
{
	wordpiece(v, w, out);
	putcp(w, c);
	wordpiece(v, w, out);
}

/* Room for n bytes in t->run. */
static void
runroom(struct wp_toks *t, size_t n)
{
	if (n <= t->runcap)
		return;
	while (t->runcap < n)
		t->runcap = t->runcap ? 2 * t->runcap : 256;
	t->run = xreallocarray(t->run, t->runcap, 1);
}

static int32_t
tolower_cb(int32_t c, void *data)
{
	(void)data;
	return utf8proc_tolower(c);
}

/*
 * The run of non-ASCII characters in out->run (n bytes) into the word:
 * lower case, NFD and the nonspacing marks dropped when lower is set, then
 * punctuation split off.  Returns -1 if utf8proc fails (it does not on
 * valid UTF-8).
 */
static int
flushrun(const struct wp_vocab *v, struct word *w, size_t n, int lower,
    struct wp_toks *out)
{
	utf8proc_ssize_t k;

	if (n == 0)
		return 0;
	if (out->cpcap < n + 16) {
		/* as many as the bytes, usually enough; else retried */
		out->cpcap = 2 * n + 16;
		out->cp = xreallocarray(out->cp, out->cpcap, sizeof(int32_t));
	}
	for (;;) {
		k = utf8proc_decompose_custom((utf8proc_uint8_t *)out->run, n,
		    out->cp, out->cpcap, lower ? UTF8PROC_DECOMPOSE : 0,
		    lower ? tolower_cb : NULL, NULL);
		if (k < 0)
			return -1;
		if ((size_t)k <= out->cpcap)
			break;
		out->cpcap = k + 16;
		out->cp = xreallocarray(out->cp, out->cpcap, sizeof(int32_t));
	}
	for (utf8proc_ssize_t i = 0; i < k; i++) {
		int32_t c = out->cp[i];
		if (lower && utf8proc_category(c) == UTF8PROC_CATEGORY_MN)
			continue;
		if (is_punct(c))
			punct(v, w, c, out);
		else
			putcp(w, c);
	}
	return 0;
}

int
wp_tokenize(const struct wp_vocab *v, const char *text, size_t len, int lower,
    struct wp_toks *out, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)text;
	struct word w;
	size_t i = 0, nrun = 0, runat = 0;

	w.len = w.nchars = 0;
	while (i < len) {
		int32_t c = p[i];
		utf8proc_ssize_t k;
		int cl;

		if (c < 128) {
			if (ascii[c] == D) {
				i++;
				continue;
			}
			if (nrun > 0 &&
			    flushrun(v, &w, nrun, lower, out) == -1)
				goto fail;
			nrun = 0;
			switch (ascii[c]) {
			case S:
				wordpiece(v, &w, out);
				i++;
				break;
			case P:
				punct(v, &w, c, out);
				i++;
				break;
			default:
				/* a run of letters and digits */
				do {
					if (lower && (uint32_t)(c - 'A') < 26)
						c += 'a' - 'A';
					if (w.nchars++ <= MAXCHARS)
						w.buf[w.len++] = c;
				} while (++i < len && (c = p[i]) < 128 &&
				    ascii[c] == W);
			}
			continue;
		}
		if ((k = utf8proc_iterate(p + i, len - i, &c)) < 0) {
			*bad = i;
			return -1;
		}
		if ((cl = classify(c)) == D) {
			i += k;
			continue;
		}
		if (cl == S || cl == C) {
			if (nrun > 0 &&
			    flushrun(v, &w, nrun, lower, out) == -1)
				goto fail;
			nrun = 0;
			wordpiece(v, &w, out);
			if (cl == C) {
				/* a word of its own */
				runat = i;
				runroom(out, k);
				memcpy(out->run, p + i, k);
				if (flushrun(v, &w, k, lower, out) == -1)
					goto fail;
				wordpiece(v, &w, out);
			}
			i += k;
			continue;
		}
		/* a word character or punctuation: normalised with its run */
		if (nrun == 0)
			runat = i;
		runroom(out, nrun + k);
		memcpy(out->run + nrun, p + i, k);
		if (lower && c == 0x3A3 && final_sigma(p, len, i))
			memcpy(out->run + nrun, "\xcf\x82", 2);	/* U+03C2 */
		nrun += k;
		i += k;
	}
	if (nrun > 0 && flushrun(v, &w, nrun, lower, out) == -1)
		goto fail;
	wordpiece(v, &w, out);
	return 0;
fail:
	*bad = runat;
	return -1;
}
