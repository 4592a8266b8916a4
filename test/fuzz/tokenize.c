/*
 * tokenize.c -- libFuzzer target: a GLUE file or a text file, as tokenize
 * reads it, through glue_open, glue_row and wp_tokenize, cased and
 * uncased.  Every sentence is also tokenized by ref() below, BERT's rules
 * read literally (whole words normalised at once, the vocabulary searched
 * one entry after the other), and the two must agree.
 *
 * The first byte chooses: bit 0 uncased, bits 1-4 the task (0-8 in the
 * order CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI; more: text
 * lines).  The rest is the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utf8proc.h>

#include "glue.h"
#include "memfile.h"
#include "util.h"
#include "wordpiece.h"

static const char vocabtext[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n.\n,\n"
    "!\n?\n'\n\"\n-\n=\n<\n`\n#\n##\n###\ndon\nt\ncan\ncafe\ncafé\n"
    "resume\nThe\nCat\nCafé\nÜBER\nuber\n你\n好\n世\n界\n1\n12\n##2\n"
    "##3\nhttp\n:\n/\nwww\nexample\ncom\n##s\nun\n##aff\n##able\na\n"
    "##a\n##b\n##é\n##e\nb\ne\né\nσ\nς\n##σ\nα\n##α\nι\nı\ni\n"
    "##i\n##̇\n한\n##ᄒ\nᄒ\n##ᅡ\n##ᆫ\n«\n»\n—\n…\nß\nss\n##ss\n"
    "ﬁ\nfi\n##fi\n##ﬁ\ncat\n";

static const char *const tasknames[] = {
	"CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI",
};

static struct wp_vocab vocab;
static struct wp_toks toks;
static size_t maxlen;		/* the longest entry, in bytes */

/* ---- the reference: slow and literal ---- */

struct cps {
	int32_t	*c;
	size_t	 n, cap;
};

static void
cps_push(struct cps *s, int32_t c)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->c = xreallocarray(s->c, s->cap, sizeof(int32_t));
	}
	s->c[s->n++] = c;
}

static int
r_punct(int32_t c)
{
	int k;

	if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
	    (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
		return 1;
	k = utf8proc_category(c);
	return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static int
r_control(int32_t c)
{
	int k = utf8proc_category(c);

	if (c == '\t' || c == '\n' || c == '\r')
		return 0;
	return k == UTF8PROC_CATEGORY_CN ||
	    (k >= UTF8PROC_CATEGORY_CC && k <= UTF8PROC_CATEGORY_CO);
}

static int
r_space(int32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    utf8proc_category(c) == UTF8PROC_CATEGORY_ZS ||
	    c == 0x2028 || c == 0x2029;
}

static int
r_cjk(int32_t c)
{
	static const int32_t r[][2] = {
		{ 0x4E00, 0x9FFF }, { 0x3400, 0x4DBF }, { 0x20000, 0x2A6DF },
		{ 0x2A700, 0x2B73F }, { 0x2B740, 0x2B81F },
		{ 0x2B820, 0x2CEAF }, { 0xF900, 0xFAFF }, { 0x2F800, 0x2FA1F },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(*r); i++)
		if (c >= r[i][0] && c <= r[i][1])
			return 1;
	return 0;
}

/* The id of s (the last line that has it), or -1. */
static int
r_find(const char *s, size_t n)
{
	for (int id = vocab.n - 1; id >= 0; id--)
		if (vocab.len[id] == n && memcmp(vocab.word[id], s, n) == 0)
			return id;
	return -1;
}

static size_t
r_utf8(char *buf, const int32_t *c, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += utf8proc_encode_char(c[i], (uint8_t *)buf + len);
	return len;
}

static void
r_wordpiece(const int32_t *c, size_t n, struct wp_toks *out)
{
	char *buf = xmalloc(4 * n + 3);
	size_t start = 0, first = out->n;

	if (n > 100) {
		wp_toks_push(out, vocab.unk);
		free(buf);
		return;
	}
	while (start < n) {
		size_t end;
		int id = -1;
		for (end = n; end > start; end--) {
			size_t len = 0;
			if (start > 0) {
				buf[0] = buf[1] = '#';
				len = 2;
			}
			/* none longer than the longest entry (for speed) */
			if (end - start > maxlen)
				continue;
			len += r_utf8(buf + len, c + start, end - start);
			if ((id = r_find(buf, len)) != -1)
				break;
		}
		if (id == -1) {
			out->n = first;
			wp_toks_push(out, vocab.unk);
			break;
		}
		wp_toks_push(out, id);
		start = end;
	}
	free(buf);
}

/*
 * Python's lower() of a capital sigma at c[i] of the token c (n): final
 * after a cased character and not before one, case-ignorable ones skipped
 * (Unicode's Final_Sigma, DerivedCoreProperties' Cased and Case_Ignorable).
 */
static int
r_ignorable(int32_t c)
{
	static const int32_t wb[] = { 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F,
	    0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55,
	    0xFF07, 0xFF0E, 0xFF1A };
	int cat = utf8proc_category(c);

	for (size_t i = 0; i < sizeof(wb) / sizeof(wb[0]); i++)
		if (c == wb[i])
			return 1;
	return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME ||
	    cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_LM ||
	    cat == UTF8PROC_CATEGORY_SK;
}

static int
r_cased(int32_t c)
{
	static const int32_t other[][2] = { { 0xAA, 0xAA }, { 0xBA, 0xBA },
	    { 0x2160, 0x217F }, { 0x24B6, 0x24E9 }, { 0x1F130, 0x1F149 },
	    { 0x1F150, 0x1F169 }, { 0x1F170, 0x1F189 } };
	int cat = utf8proc_category(c);

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (c >= other[i][0] && c <= other[i][1])
			return 1;
	return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
	    cat == UTF8PROC_CATEGORY_LT;
}

static int32_t
r_sigma(const int32_t *c, size_t n, size_t i)
{
	size_t j = i;

	while (j > 0 && r_ignorable(c[j - 1]))
		j--;
	if (j == 0 || !r_cased(c[j - 1]))
		return 0x3C3;
	for (j = i + 1; j < n && r_ignorable(c[j]); j++)
		;
	return j < n && r_cased(c[j]) ? 0x3C3 : 0x3C2;
}

/* One whitespace-separated token of the cleaned text. */
static void
r_token(const int32_t *c, size_t n, int lower, struct wp_toks *out)
{
	struct cps t = { 0 };
	size_t w;

	if (lower) {
		/* Python: token.lower(), NFD, category Mn dropped */
		char *buf = xmalloc(4 * n + 1);
		size_t len = 0;
		utf8proc_ssize_t k;
		int32_t *d;
		for (size_t i = 0; i < n; i++)
			len += utf8proc_encode_char(c[i] == 0x3A3 ?
			    r_sigma(c, n, i) : utf8proc_tolower(c[i]),
			    (uint8_t *)buf + len);
		k = utf8proc_decompose((uint8_t *)buf, len, NULL, 0,
		    UTF8PROC_DECOMPOSE);
		if (k < 0)
			abort();
		d = xreallocarray(NULL, k + 1, sizeof(int32_t));
		if (utf8proc_decompose((uint8_t *)buf, len, d, k,
		    UTF8PROC_DECOMPOSE) != k)
			abort();
		for (utf8proc_ssize_t i = 0; i < k; i++)
			if (utf8proc_category(d[i]) != UTF8PROC_CATEGORY_MN)
				cps_push(&t, d[i]);
		free(d);
		free(buf);
	} else {
		for (size_t i = 0; i < n; i++)
			cps_push(&t, c[i]);
	}
	/* punctuation split off */
	w = 0;
	for (size_t i = 0; i < t.n; i++)
		if (r_punct(t.c[i])) {
			if (i > w)
				r_wordpiece(t.c + w, i - w, out);
			r_wordpiece(t.c + i, 1, out);
			w = i + 1;
		}
	if (t.n > w)
		r_wordpiece(t.c + w, t.n - w, out);
	free(t.c);
}

/* Returns 0, or -1 with *bad set for invalid UTF-8. */
static int
ref(const char *text, size_t len, int lower, struct wp_toks *out, size_t *bad)
{
	struct cps s = { 0 };
	size_t i = 0, w;
	int32_t c;

	while (i < len) {
		utf8proc_ssize_t k;
		if ((unsigned char)text[i] < 128) {
			c = (unsigned char)text[i];
			k = 1;
		} else if ((k = utf8proc_iterate((const uint8_t *)text + i,
		    len - i, &c)) < 0) {
			*bad = i;
			free(s.c);
			return -1;
		}
		i += k;
		/* clean-up, then CJK ideographs set apart by spaces */
		if (c == 0 || c == 0xFFFD || r_control(c))
			continue;
		if (r_space(c)) {
			cps_push(&s, ' ');
		} else if (r_cjk(c)) {
			cps_push(&s, ' ');
			cps_push(&s, c);
			cps_push(&s, ' ');
		} else {
			cps_push(&s, c);
		}
	}
	w = 0;
	for (i = 0; i <= s.n; i++)
		if (i == s.n || s.c[i] == ' ') {
			if (i > w)
				r_token(s.c + w, i - w, lower, out);
			w = i + 1;
		}
	free(s.c);
	return 0;
}

/* ---- the target ---- */

static void
check(const char *s, size_t len, int lower)
{
	static struct wp_toks want;
	size_t bad1 = 0, bad2 = 0;
	int r1, r2;

	toks.n = want.n = 0;
	r1 = wp_tokenize(&vocab, s, len, lower, &toks, &bad1);
	r2 = ref(s, len, lower, &want, &bad2);
	if (r1 != r2 || (r1 == -1 && bad1 != bad2)) {
		fprintf(stderr, "wp_tokenize %d at %zu, reference %d at %zu\n",
		    r1, bad1, r2, bad2);
		abort();
	}
	if (r1 == -1)
		return;
	if (toks.n != want.n || (toks.n > 0 &&
	    memcmp(toks.id, want.id, toks.n * sizeof(int)) != 0)) {
		fprintf(stderr, "lower %d: %zu tokens, reference %zu:", lower,
		    toks.n, want.n);
		for (size_t i = 0; i < toks.n || i < want.n; i++)
			fprintf(stderr, " %s/%s",
			    i < toks.n ? vocab.word[toks.id[i]] : "-",
			    i < want.n ? vocab.word[want.id[i]] : "-");
		fprintf(stderr, "\n");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct glue_task *t = NULL;
	struct glue_file gf;
	char *buf, *line, *end, err[2048];
	size_t lineno = 0;
	int lower, test = 0, h;

	if (vocab.n == 0) {
		int fd = -1;
		const char *path = memfile(&fd, "vocab", vocabtext,
		    sizeof(vocabtext) - 1);
		if (path == NULL)
			abort();
		if (wp_load(&vocab, path, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		close(fd);
		for (int i = 0; i < vocab.n; i++)
			if (vocab.len[i] > maxlen)
				maxlen = vocab.len[i];
	}
	if (size == 0)
		return 0;
	lower = data[0] & 1;
	if ((data[0] >> 1 & 15) < 9 &&
	    (t = glue_task(tasknames[data[0] >> 1 & 15])) == NULL)
		abort();
	/* the lines as getline(3) and tokenize see them */
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	end = buf + size - 1;
	for (line = buf; line < end; lineno++) {
		char *nl = memchr(line, '\n', end - line), *s = line;
		size_t n = (nl ? nl : end) - line;
		struct glue_row r;
		char *next = nl ? nl + 1 : end;
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
			n--;
		s[n] = '\0';	/* on the newline, or on spare room */
		line = next;
		if (lineno == 0 && n >= 3 &&
		    memcmp(s, "\357\273\277", 3) == 0) {
			s += 3;
			n -= 3;
		}
		if (t == NULL) {
			char *tab = memchr(s, '\t', n);
			size_t la = tab ? (size_t)(tab - s) : n;
			check(s, la, lower);
			if (tab != NULL)
				check(tab + 1, n - la - 1, lower);
			continue;
		}
		/* a line 1 that is no header of t: as with --no-header */
		if (lineno == 0 && (h = glue_open(&gf, t, s, n, 0, err,
		    sizeof(err))) == -1 && (h = glue_open(&gf, t, s, n, 1, err,
		    sizeof(err))) == -1) {
			if (err[0] == '\0')
				abort();
			break;
		}
		test = gf.l->label == NULL;
		if (lineno == 0 && h == 1)
			continue;
		if (glue_row(&gf, s, n, &r, err, sizeof(err)) == -1) {
			if (err[0] == '\0')
				abort();
			continue;
		}
		if (r.a < s || r.a + r.alen > s + n || (r.b != NULL &&
		    (r.b < s || r.b + r.blen > s + n)) ||
		    (test && r.haslabel) || (!test && !r.haslabel))
			abort();
		check(r.a, r.alen, lower);
		if (r.b != NULL)
			check(r.b, r.blen, lower);
	}
	free(buf);
	return 0;
}
