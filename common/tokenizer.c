/*
 * tokenizer.c -- the families' tokenizers behind one interface, with what
 * Hugging Face's slow tokenizers add around the models: nothing for a
 * text that is only white space, ALBERT's preprocess_text and its split
 * of pieces that end in a digit and a comma, XLM-R's fairseq ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "bpe.h"
#include "spm.h"
#include "tokenizer.h"
#include "tokjson.h"
#include "util.h"
#include "wordpiece.h"

void
tok_list_push(struct tok_list *t, int id, size_t beg, size_t end,
    size_t word)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->id = xreallocarray(t->id, t->cap, sizeof(int));
		t->beg = xreallocarray(t->beg, t->cap, sizeof(uint32_t));
		t->end = xreallocarray(t->end, t->cap, sizeof(uint32_t));
		t->word = xreallocarray(t->word, t->cap, sizeof(uint32_t));
	}
	t->id[t->n] = id;
	t->beg[t->n] = beg;
	t->end[t->n] = end;
	t->word[t->n++] = word;
}

int
tok_pyspace(int32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') ||
	    (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static int
exists(const char *dir, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* tokenizer_config.json's boolean key, or def. */
static int
tcbool(const char *dir, const char *key, int def)
{
	char path[4096], buf[65536];
	FILE *fp;
	size_t n;
	cJSON *j, *x;

	snprintf(path, sizeof(path), "%s/tokenizer_config.json", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return def;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((j = cJSON_Parse(buf)) == NULL)
		return def;
	x = cJSON_GetObjectItemCaseSensitive(j, key);
	if (cJSON_IsBool(x))
		def = cJSON_IsTrue(x);
	cJSON_Delete(j);
	return def;
}

/* The vocabulary table from a SentencePiece model, shifted by off. */
static void
spm_table(struct tokenizer *t, int off, int extra)
{
	int n = spm_size(t->spm);

	t->n = n + off + extra;
	t->word = xcalloc(t->n, sizeof(char *));
	t->len = xcalloc(t->n, sizeof(size_t));
	for (int i = 0; i < n; i++) {
		size_t k;
		const char *s = spm_piece(t->spm, i, &k);
		t->word[i + off] = xstrndup(s, k);
		t->len[i + off] = k;
	}
}

static void
setword(struct tokenizer *t, int id, const char *s)
{
	free(t->word[id]);
	t->word[id] = xstrdup(s);
	t->len[id] = strlen(s);
}

static int
open_roberta(struct tokenizer *t, const char *vocab, const char *merges,
    char *err, size_t errlen)
{
	const char *need[] = { "<s>", "</s>" };

	if ((t->bpe = bpe_load(vocab, merges, err, errlen)) == NULL)
		return -1;
	for (int i = 0; i < 2; i++)
		if (bpe_id(t->bpe, need[i]) < 0) {
			snprintf(err, errlen, "%s: no %s in the vocabulary",
			    vocab, need[i]);
			return -1;
		}
	t->first = bpe_id(t->bpe, "<s>");
	t->last = t->sep2 = bpe_id(t->bpe, "</s>");
	t->segb = 0;
	t->n = bpe_size(t->bpe);
	t->word = bpe_words(t->bpe, &t->len);
	return 0;
}

static int
open_albert(struct tokenizer *t, const char *file, char *err, size_t errlen)
{
	if ((t->spm = spm_load(file, err, errlen)) == NULL)
		return -1;
	t->first = spm_id(t->spm, "[CLS]", 5);
	t->last = spm_id(t->spm, "[SEP]", 5);
	if (t->first == spm_unk(t->spm) || t->last == spm_unk(t->spm)) {
		snprintf(err, errlen, "%s: no [CLS] or [SEP] piece", file);
		return -1;
	}
	t->sep2 = -1;
	t->segb = 1;
	spm_table(t, 0, 0);
	return 0;
}

static int
open_xlmr(struct tokenizer *t, const char *file, char *err, size_t errlen)
{
	const char *fairseq[] = { "<s>", "<pad>", "</s>", "<unk>" };

	if ((t->spm = spm_load(file, err, errlen)) == NULL)
		return -1;
	/* fairseq's ids: the four, then piece i as i + 1, <mask> last */
	spm_table(t, 1, 1);
	t->fairseq = 1;
	t->word[0] = xstrdup("");
	for (int i = 0; i < 4; i++)
		setword(t, i, fairseq[i]);
	setword(t, t->n - 1, "<mask>");
	t->first = 0;
	t->last = t->sep2 = 2;
	t->segb = 0;
	return 0;
}

static int
open_bert(struct tokenizer *t, const char *file, char *err, size_t errlen)
{
	t->wp = xcalloc(1, sizeof(*t->wp));
	if (wp_load(t->wp, file, err, errlen) == -1)
		return -1;
	t->n = t->wp->n;
	t->word = t->wp->word;
	t->len = t->wp->len;
	t->first = t->wp->cls;
	t->last = t->wp->sep;
	t->sep2 = -1;
	t->segb = 1;
	return 0;
}

int
tok_open(struct tokenizer *t, const char *family, const char *file,
    int lower, char *err, size_t errlen)
{
	char merges[4096];
	const char *slash;
	int r;

	memset(t, 0, sizeof(*t));
	t->path = file;
	t->lower = lower;
	if (strcmp(family, "bert") == 0) {
		t->family = TOK_BERT;
		r = open_bert(t, file, err, errlen);
	} else if (strcmp(family, "roberta") == 0) {
		t->family = TOK_ROBERTA;
		slash = strrchr(file, '/');
		snprintf(merges, sizeof(merges), "%.*smerges.txt",
		    slash ? (int)(slash - file + 1) : 0, file);
		r = open_roberta(t, file, merges, err, errlen);
	} else if (strcmp(family, "albert") == 0) {
		t->family = TOK_ALBERT;
		t->lower = lower == -1 ? 1 : lower;
		r = open_albert(t, file, err, errlen);
	} else if (strcmp(family, "xlmr") == 0) {
		t->family = TOK_XLMR;
		r = open_xlmr(t, file, err, errlen);
	} else if (strcmp(family, "json") == 0) {
		if ((r = tokjson_open(t, file, err, errlen)) == 0) {
			if (t->bpe != NULL) {
				t->n = bpe_size(t->bpe);
				t->word = bpe_words(t->bpe, &t->len);
			} else if (t->spm != NULL)
				spm_table(t, 0, 0);
			else {
				t->n = t->wp->n;
				t->word = t->wp->word;
				t->len = t->wp->len;
			}
			/* the template's ids must be in the vocabulary */
			if (t->first >= t->n || t->last >= t->n ||
			    t->sep2 >= t->n) {
				snprintf(err, errlen, "%s: the post_processor's "
				    "special token id %d is outside the "
				    "vocabulary of %d", file, t->first >= t->n ?
				    t->first : t->last >= t->n ? t->last :
				    t->sep2, t->n);
				r = -1;
			}
		}
	} else {
		snprintf(err, errlen, "'%s' is not a tokenizer (bert, roberta, "
		    "albert, xlmr, json)", family);
		return -1;
	}
	if (r == -1)
		tok_close(t);
	return r;
}

int
tok_dir_family(const char *dir)
{
	char path[4096];

	if (exists(dir, "tokenizer.json", path, sizeof(path)))
		return exists(dir, "vocab.txt", path, sizeof(path)) &&
		    tokjson_wordpiece(path) ? TOK_BERT : TOK_JSON;
	if (exists(dir, "vocab.json", path, sizeof(path)) &&
	    exists(dir, "merges.txt", path, sizeof(path)))
		return TOK_ROBERTA;
	if (exists(dir, "spiece.model", path, sizeof(path)))
		return TOK_ALBERT;
	if (exists(dir, "sentencepiece.bpe.model", path, sizeof(path)))
		return TOK_XLMR;
	return TOK_BERT;
}

int
tok_open_dir(struct tokenizer *t, const char *dir, int lower, char *err,
    size_t errlen)
{
	static char path[4096];
	char merges[4096];

	if (exists(dir, "tokenizer.json", path, sizeof(path)))
		return tok_open(t, "json", path, lower, err, errlen);
	if (exists(dir, "vocab.json", path, sizeof(path)) &&
	    exists(dir, "merges.txt", merges, sizeof(merges)))
		return tok_open(t, "roberta", path, lower, err, errlen);
	if (exists(dir, "spiece.model", path, sizeof(path))) {
		if (lower == -1)
			lower = tcbool(dir, "do_lower_case", 1);
		if (tok_open(t, "albert", path, lower, err, errlen) == -1)
			return -1;
		t->keep_accents = tcbool(dir, "keep_accents", 0);
		return 0;
	}
	if (exists(dir, "sentencepiece.bpe.model", path, sizeof(path)))
		return tok_open(t, "xlmr", path, lower, err, errlen);
	exists(dir, "vocab.txt", path, sizeof(path));
	return tok_open(t, "bert", path, lower, err, errlen);
}

void
tok_close(struct tokenizer *t)
{
	if (t->spm != NULL) {
		for (int i = 0; i < t->n; i++)
			free(t->word[i]);
		free(t->word);
		free(t->len);
		spm_free(t->spm);
	}
	if (t->wp != NULL) {
		wp_release(t->wp);
		free(t->wp);
	}
	bpe_free(t->bpe);
	free(t->buf);
	free(t->org);
	memset(t, 0, sizeof(*t));
}

/* Is text[0..len) valid UTF-8 (offset of the first bad byte in *bad),
 * and is it only white space (*blank)? */
static int
check(const char *text, size_t len, size_t *bad, int *blank)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;

	*blank = 1;
	for (size_t i = 0; i < len;) {
		int32_t c;
		utf8proc_ssize_t k;
		uint64_t w;
		if (!*blank && i + 8 <= len) {
			/* eight bytes of ASCII at a time */
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			c = s[i];
			k = 1;
		} else if ((k = utf8proc_iterate(s + i, len - i, &c)) < 0) {
			*bad = i;
			return -1;
		}
		if (*blank && !tok_pyspace(c))
			*blank = 0;
		i += k;
	}
	return 0;
}

static void
room(struct tokenizer *t)
{
	t->bufcap = t->bufcap ? t->bufcap * 2 : 1024;
	t->buf = xreallocarray(t->buf, t->bufcap, 1);
	t->org = xreallocarray(t->org, t->bufcap + 1, sizeof(uint32_t));
}

/* Append code point c, from the original text's byte o, to t->buf. */
static void
emit(struct tokenizer *t, int32_t c, uint32_t o)
{
	if (t->nbuf + 4 >= t->bufcap)
		room(t);
	if (c < 0x80) {
		t->buf[t->nbuf] = c;
		t->org[t->nbuf++] = o;
		return;
	}
	utf8proc_ssize_t k = utf8proc_encode_char(c,
	    (utf8proc_uint8_t *)t->buf + t->nbuf);
	for (utf8proc_ssize_t i = 0; i < k; i++)
		t->org[t->nbuf++] = o;
}

/* Python's str.lower() of one character, into emit(). */
static void
lower1(struct tokenizer *t, int32_t c, uint32_t o, int strip)
{
	int32_t d[8];
	utf8proc_ssize_t k;
	int last = 0;

	if (c == 0x130) {		/* İ: i and a combining dot */
		emit(t, 'i', o);
		if (!strip)
			emit(t, 0x307, o);
		return;
	}
	c = utf8proc_tolower(c);
	if (!strip) {
		emit(t, c, o);
		return;
	}
	k = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE |
	    UTF8PROC_COMPAT, &last);
	if (k < 0 || k > 8) {
		emit(t, c, o);
		return;
	}
	for (utf8proc_ssize_t i = 0; i < k; i++)
		if (utf8proc_get_property(d[i])->combining_class == 0)
			emit(t, utf8proc_tolower(d[i]), o);
}

/*
 * ALBERT's preprocess_text (and the lower-casing of tokenize() before
 * it): white space runs to one space and stripped, `` and '' to ",
 * NFKD without combining marks unless keep_accents, lower case.  Into
 * t->buf, with each byte's origin in t->org.
 */
static void
albert_text(struct tokenizer *t, const char *text, size_t len)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
	int space = 0;

	t->nbuf = 0;
	for (size_t i = 0; i < len;) {
		int32_t c, d;
		if (s[i] < 0x80) {
			/*
			 * A run of ASCII: no accents, its own lower case,
			 * at most a byte out for a byte in.
			 */
			size_t n;
			char *buf;
			uint32_t *org;
			while (t->nbuf + (len - i) + 2 >= t->bufcap)
				room(t);
			n = t->nbuf;
			buf = t->buf;
			org = t->org;
			for (; i < len && s[i] < 0x80; i++) {
				c = s[i];
				if (c == ' ' || (c >= '\t' && c <= '\r') ||
				    (c >= 0x1c && c <= 0x1f)) {
					space = 1;
					continue;
				}
				if (space && n > 0) {
					buf[n] = ' ';
					org[n++] = i - 1;
				}
				space = 0;
				if ((c == '`' || c == '\'') && i + 1 < len &&
				    s[i + 1] == c) {
					buf[n] = '"';
					org[n++] = i++;
					continue;
				}
				if (t->lower && c >= 'A' && c <= 'Z')
					c += 'a' - 'A';
				buf[n] = c;
				org[n++] = i;
			}
			t->nbuf = n;
			continue;
		}
		utf8proc_ssize_t k = utf8proc_iterate(s + i, len - i, &c);
		if (tok_pyspace(c)) {
			space = 1;
			i += k;
			continue;
		}
		if (space && t->nbuf > 0)
			emit(t, ' ', i - 1);
		space = 0;
		if ((c == '`' || c == '\'') && i + 1 < len && s[i + 1] == c) {
			emit(t, '"', i);
			i += 2;
			continue;
		}
		d = c;
		if (t->lower)
			lower1(t, d, i, !t->keep_accents);
		else if (!t->keep_accents) {
			int32_t e[8];
			int last = 0;
			utf8proc_ssize_t m = utf8proc_decompose_char(d, e, 8,
			    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last);
			if (m < 0 || m > 8)
				emit(t, d, i);
			else
				for (utf8proc_ssize_t j = 0; j < m; j++)
					if (utf8proc_get_property(e[j])->
					    combining_class == 0)
						emit(t, e[j], i);
		} else
			emit(t, d, i);
		i += k;
	}
	if (t->org != NULL)
		t->org[t->nbuf] = len;
}

static int
isword(const char *s, size_t len)
{
	return len >= 3 && memcmp(s, "\342\226\201", 3) == 0;
}

/* Original byte offsets of the pieces' spans in t->buf. */
static uint32_t
orig(const struct tokenizer *t, uint32_t b, size_t len)
{
	if (b >= t->nbuf)
		return len;
	return t->org[b];
}

static int
encode_albert(struct tokenizer *t, const char *text, size_t len,
    struct tok_list *out)
{
	const struct spm_piece *p;
	long n;
	size_t word = 0, first = out->n;

	albert_text(t, text, len);
	if ((n = spm_encode(t->spm, 0, t->buf, t->nbuf, &p)) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		uint32_t b = orig(t, p[i].beg, len);
		uint32_t e = p[i].end > p[i].beg ?
		    orig(t, p[i].end - 1, len) : b;
		/* the end: past the last byte's character */
		const unsigned char *u = (const unsigned char *)text;
		if (p[i].end > p[i].beg && e < len) {
			e++;
			while (e < len && (u[e] & 0xc0) == 0x80)
				e++;
		}
		if (isword(p[i].s, p[i].len) && out->n > first)
			word++;
		if (p[i].len > 1 && p[i].s[p[i].len - 1] == ',' &&
		    p[i].s[p[i].len - 2] >= '0' && p[i].s[p[i].len - 2] <= '9') {
			/*
			 * AlbertTokenizer: the piece less its comma again,
			 * without ▁, the ▁ that starts it dropped unless the
			 * piece had one, and the comma apart.
			 */
			char *q = xmalloc(p[i].len), *pc = xstrndup(p[i].s,
			    p[i].len);
			size_t m = 0, pl = p[i].len;
			int had = isword(pc, pl);
			for (size_t j = 0; j + 1 < pl;) {
				if (isword(pc + j, pl - 1 - j)) {
					j += 3;
					continue;
				}
				q[m++] = pc[j++];
			}
			const struct spm_piece *r;
			long nr = spm_encode(t->spm, 1, q, m, &r);
			if (nr < 0) {
				free(q);
				free(pc);
				return -1;
			}
			for (long j = 0; j < nr; j++) {
				const char *s = r[j].s;
				size_t sl = r[j].len;
				if (j == 0 && !had && isword(s, sl)) {
					if (sl == 3)
						continue;
					s += 3;
					sl -= 3;
				}
				tok_list_push(out, spm_id(t->spm, s, sl), b, e,
				    word);
			}
			tok_list_push(out, spm_id(t->spm, ",", 1), b, e, word);
			free(q);
			free(pc);
			continue;
		}
		tok_list_push(out, p[i].id, b, e, word);
	}
	return 0;
}

static int
encode_xlmr(struct tokenizer *t, const char *text, size_t len,
    struct tok_list *out)
{
	const struct spm_piece *p;
	long n;
	size_t word = 0, first = out->n;

	if ((n = spm_encode(t->spm, 0, text, len, &p)) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		if (isword(p[i].s, p[i].len) && out->n > first)
			word++;
		/* XLMRobertaTokenizer: spm id + 1, the unknown's is 3 */
		tok_list_push(out, !t->fairseq ? p[i].id : p[i].id ?
		    p[i].id + 1 : 3, p[i].beg, p[i].end, word);
	}
	return 0;
}

static int
encode_bert(struct tokenizer *t, const char *text, size_t len,
    struct tok_list *out, size_t *bad)
{
	static struct wp_toks w;

	w.n = 0;
	if (wp_tokenize(t->wp, text, len, t->lower, &w, bad) == -1)
		return -1;
	for (size_t i = 0; i < w.n; i++)
		tok_list_push(out, w.id[i], 0, 0, i);
	return 0;
}

int
tok_encode(struct tokenizer *t, const char *text, size_t len,
    struct tok_list *out, size_t *bad)
{
	int blank;

	if (t->family == TOK_BERT)
		return encode_bert(t, text, len, out, bad);
	if (check(text, len, bad, &blank) == -1)
		return -1;
	if (blank)
		return 0;	/* as Hugging Face's tokenize(): nothing */
	switch (t->family) {
	case TOK_ROBERTA:
		return bpe_encode(t->bpe, text, len, out, 0, bad) < 0 ? -1 : 0;
	case TOK_ALBERT:
		if (encode_albert(t, text, len, out) == -1) {
			*bad = 0;
			return -1;
		}
		return 0;
	case TOK_XLMR:
		if (encode_xlmr(t, text, len, out) == -1) {
			*bad = 0;
			return -1;
		}
		return 0;
	}
	return 0;
}
