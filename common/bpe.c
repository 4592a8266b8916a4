/*
 * bpe.c -- byte-level BPE (GPT-2, RoBERTa).
 *
 * The text is split by GPT-2's pattern
 *
 *	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * written out as a scanner (\s is Unicode's White_Space, as in Python's
 * regex module; categories from utf8proc).  Each piece's bytes become one
 * printable character each (GPT-2's bytes_to_unicode), and the pair of
 * adjacent symbols with the lowest rank in merges.txt is merged, all its
 * occurrences left to right, until no pair has a rank.  The symbols are
 * strings, interned: a merge's result need not be in the vocabulary, and
 * a symbol that is not gets the id of <unk>, as in RobertaTokenizer.
 * Pieces seen before come from a cache.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "bpe.h"
#include "util.h"

/* Interned strings: index by string, string by index. */
struct strtab {
	char	**s;
	uint32_t *len;
	int	  n, cap;
	struct stslot {
		int32_t	 k;	/* index + 1; 0 empty */
		uint32_t tag;	/* the high half of its hash */
	} *slot;
	size_t	  mask;
};

static int
st_find(const struct strtab *t, const char *s, size_t n)
{
	uint64_t h;

	if (t->slot == NULL)
		return -1;
	h = fnv1a_fold(s, n);
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		int k = t->slot[i].k - 1;
		if (k < 0)
			return -1;
		if (t->slot[i].tag == (uint32_t)(h >> 32) && t->len[k] == n &&
		    memcmp(t->s[k], s, n) == 0)
			return k;
	}
}

static void
st_grow(struct strtab *t)
{
	size_t size = t->slot ? (t->mask + 1) * 2 : 1024;

	free(t->slot);
	t->slot = xcalloc(size, sizeof(*t->slot));
	t->mask = size - 1;
	for (int k = 0; k < t->n; k++) {
		uint64_t h = fnv1a_fold(t->s[k], t->len[k]);
		size_t i = h & t->mask;
		while (t->slot[i].k != 0)
			i = (i + 1) & t->mask;
		t->slot[i].k = k + 1;
		t->slot[i].tag = h >> 32;
	}
}

/* The index of s[0..n), added when new. */
static int
st_add(struct strtab *t, const char *s, size_t n)
{
	int k = st_find(t, s, n);
	size_t i;

	if (k >= 0)
		return k;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->s = xreallocarray(t->s, t->cap, sizeof(char *));
		t->len = xreallocarray(t->len, t->cap, sizeof(uint32_t));
	}
	if ((size_t)(t->n + 1) * 2 > (t->slot ? t->mask + 1 : 0))
		st_grow(t);
	k = t->n++;
	t->s[k] = xstrndup(s, n);
	t->len[k] = n;
	uint64_t h = fnv1a_fold(s, n);
	for (i = h & t->mask; t->slot[i].k != 0; i = (i + 1) & t->mask)
		;
	t->slot[i].k = k + 1;
	t->slot[i].tag = h >> 32;
	return k;
}

static void
st_clear(struct strtab *t)
{
	for (int k = 0; k < t->n; k++)
		free(t->s[k]);
	t->n = 0;
	if (t->slot)
		memset(t->slot, 0, (t->mask + 1) * sizeof(*t->slot));
}

static void
st_free(struct strtab *t)
{
	st_clear(t);
	free(t->s);
	free(t->len);
	free(t->slot);
}

/* Pieces longer than this are merged every time, not cached. */
#define CACHEMAX	128
/* The cache starts again when it holds this many pieces. */
#define CACHEN		(1 << 18)

struct bpe {
	struct strtab sym;	/* symbols: the vocabulary's, merges' */
	int	*symid;		/* by symbol: its id, -1 none */
	int	 nsymid;
	char	**word;		/* by id */
	size_t	*wlen;
	int	 nword, unk;
	/* merges: (a << 32 | b) + 1 -> rank and result, open addressing */
	uint64_t *mkey;
	int32_t	*mrank, *mres;
	size_t	 mmask, nmerge;
	int	 bytesym[256];
	/* the cache: piece -> its tokens (id, bytes) from cstart */
	struct strtab cache;
	uint32_t *cstart, *ccount;
	int	*cid;
	uint32_t *clen;
	size_t	 cn, ccap, cidcap;
	/* scratch */
	int32_t	*cp;
	uint32_t *off;
	size_t	 cpcap;
	int	*w;
	uint32_t *wl;
	size_t	 wcap;
};

static int
symid(const struct bpe *b, int s)
{
	return s < b->nsymid ? b->symid[s] : -1;
}

static void
setsymid(struct bpe *b, int s, int id)
{
	if (s >= b->nsymid) {
		int n = b->nsymid ? b->nsymid : 1024;
		while (n <= s)
			n *= 2;
		b->symid = xreallocarray(b->symid, n, sizeof(int));
		for (int i = b->nsymid; i < n; i++)
			b->symid[i] = -1;
		b->nsymid = n;
	}
	b->symid[s] = id;
}

/* The rank of the pair (x, y) and in *res its result; -1 none. */
static inline int
mfind(const struct bpe *b, int x, int y, int *res)
{
	uint64_t k = ((uint64_t)x << 32 | (uint32_t)y) + 1;

	if (b->mkey == NULL)
		return -1;
	for (size_t i = fnv1a_fold(&k, 8) & b->mmask;; i = (i + 1) & b->mmask) {
		if (b->mkey[i] == 0)
			return -1;
		if (b->mkey[i] == k) {
			*res = b->mres[i];
			return b->mrank[i];
		}
	}
}

static void
madd(struct bpe *b, int x, int y, int rank, int res)
{
	uint64_t k = ((uint64_t)x << 32 | (uint32_t)y) + 1;
	size_t i;

	if ((b->nmerge + 1) * 2 > (b->mkey ? b->mmask + 1 : 0)) {
		size_t size = b->mkey ? (b->mmask + 1) * 2 : 4096;
		uint64_t *ok = b->mkey;
		int32_t *orank = b->mrank, *ores = b->mres;
		size_t osize = ok ? b->mmask + 1 : 0;
		b->mkey = xcalloc(size, sizeof(uint64_t));
		b->mrank = xcalloc(size, sizeof(int32_t));
		b->mres = xcalloc(size, sizeof(int32_t));
		b->mmask = size - 1;
		for (size_t j = 0; j < osize; j++) {
			if (ok[j] == 0)
				continue;
			for (i = fnv1a_fold(&ok[j], 8) & b->mmask;
			    b->mkey[i] != 0; i = (i + 1) & b->mmask)
				;
			b->mkey[i] = ok[j];
			b->mrank[i] = orank[j];
			b->mres[i] = ores[j];
		}
		free(ok);
		free(orank);
		free(ores);
	}
	for (i = fnv1a_fold(&k, 8) & b->mmask;
	    b->mkey[i] != 0 && b->mkey[i] != k; i = (i + 1) & b->mmask)
		;
	if (b->mkey[i] == 0)
		b->nmerge++;
	b->mkey[i] = k;
	b->mrank[i] = rank;	/* a pair listed twice: the later rank */
	b->mres[i] = res;
}

/* GPT-2's bytes_to_unicode: byte -> a code point, printable. */
static void
bytemap(struct bpe *b)
{
	int n = 0;

	for (int c = 0; c < 256; c++) {
		int cp;
		unsigned char u[4];
		if ((c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) ||
		    (c >= 0xae && c <= 0xff))
			cp = c;
		else
			cp = 256 + n++;
		utf8proc_ssize_t k = utf8proc_encode_char(cp, u);
		b->bytesym[c] = st_add(&b->sym, (char *)u, k);
	}
}

static struct bpe *
bpe_new(void)
{
	struct bpe *b = xcalloc(1, sizeof(*b));

	b->unk = -1;
	bytemap(b);
	return b;
}

static int
set_vocab(struct bpe *b, const cJSON *v, const char *what, char *err,
    size_t errlen)
{
	const cJSON *e;
	int max = -1;

	if (!cJSON_IsObject(v)) {
		snprintf(err, errlen, "%s: the vocabulary is not a JSON object",
		    what);
		return -1;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
		    e->valuedouble >= 1 << 24 ||
		    e->valuedouble != (int)e->valuedouble) {
			snprintf(err, errlen, "%s: the id of '%.40s' is not "
			    "an id from 0 to 2^24", what, e->string);
			return -1;
		}
		if (e->valueint > max)
			max = e->valueint;
	}
	if (max < 0) {
		snprintf(err, errlen, "%s: the vocabulary is empty", what);
		return -1;
	}
	b->nword = max + 1;
	b->word = xcalloc(b->nword, sizeof(char *));
	b->wlen = xcalloc(b->nword, sizeof(size_t));
	cJSON_ArrayForEach(e, v) {
		size_t n = strlen(e->string);
		int s = st_add(&b->sym, e->string, n);
		setsymid(b, s, e->valueint);
		b->word[e->valueint] = b->sym.s[s];
		b->wlen[e->valueint] = n;
	}
	for (int i = 0; i < b->nword; i++)
		if (b->word[i] == NULL)
			b->word[i] = "";
	b->unk = bpe_id(b, "<unk>");
	return 0;
}

/* A merge of a[0..la) and c[0..lc), of the given rank. */
static void
add_merge(struct bpe *b, const char *a, size_t la, const char *c, size_t lc,
    int rank)
{
	char buf[512], *cat = la + lc <= sizeof(buf) ? buf : xmalloc(la + lc);
	int x = st_add(&b->sym, a, la);
	int y = st_add(&b->sym, c, lc);
	int r;

	memcpy(cat, a, la);
	memcpy(cat + la, c, lc);
	r = st_add(&b->sym, cat, la + lc);
	if (cat != buf)
		free(cat);
	madd(b, x, y, rank, r);
}

static int
ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/*
 * One line of merges, s[0..n): two tokens.  Returns the number of tokens
 * split out, up to 3.
 */
static int
split2(const char *s, size_t n, const char **t, size_t *tl)
{
	int k = 0;
	size_t i = 0;

	while (k < 3) {
		while (i < n && ws(s[i]))
			i++;
		if (i == n)
			break;
		t[k] = s + i;
		while (i < n && !ws(s[i]))
			i++;
		tl[k] = s + i - t[k];
		k++;
	}
	return k;
}

struct bpe *
bpe_load(const char *vocab, const char *merges, char *err, size_t errlen)
{
	struct bpe *b;
	char *text;
	size_t n, line = 0, rank = 0;
	cJSON *j;

	if ((text = slurp(vocab, &n, err, errlen)) == NULL)
		return NULL;
	j = cJSON_ParseWithLength(text, n);
	free(text);
	if (j == NULL) {
		snprintf(err, errlen, "%s: not JSON", vocab);
		return NULL;
	}
	b = bpe_new();
	if (set_vocab(b, j, vocab, err, errlen) == -1) {
		cJSON_Delete(j);
		bpe_free(b);
		return NULL;
	}
	cJSON_Delete(j);
	if ((text = slurp(merges, &n, err, errlen)) == NULL) {
		bpe_free(b);
		return NULL;
	}
	for (char *s = text, *e; s < text + n; s = e + 1) {
		const char *t[3];
		size_t tl[3];
		int k;
		if ((e = memchr(s, '\n', text + n - s)) == NULL)
			e = text + n;
		line++;
		if (line == 1 && strncmp(s, "#version", 8) == 0)
			continue;
		if ((k = split2(s, e - s, t, tl)) == 0)
			continue;
		if (k != 2) {
			snprintf(err, errlen, "%s:%zu: a merge is two tokens, "
			    "not %s", merges, line, k == 1 ? "one" : "more");
			free(text);
			bpe_free(b);
			return NULL;
		}
		add_merge(b, t[0], tl[0], t[1], tl[1], rank++);
	}
	free(text);
	return b;
}

struct bpe *
bpe_from_json(const cJSON *vocab, const cJSON *merges, const char *what,
    char *err, size_t errlen)
{
	struct bpe *b = bpe_new();
	const cJSON *e;
	int rank = 0;

	if (set_vocab(b, vocab, what, err, errlen) == -1)
		goto bad;
	if (!cJSON_IsArray(merges)) {
		snprintf(err, errlen, "%s: the merges are not an array", what);
		goto bad;
	}
	cJSON_ArrayForEach(e, merges) {
		const char *t[3];
		size_t tl[3];
		if (cJSON_IsString(e)) {
			if (split2(e->valuestring, strlen(e->valuestring), t,
			    tl) != 2)
				goto badmerge;
		} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
		    cJSON_IsString(e->child) && cJSON_IsString(e->child->next)) {
			t[0] = e->child->valuestring;
			t[1] = e->child->next->valuestring;
			tl[0] = strlen(t[0]);
			tl[1] = strlen(t[1]);
		} else
			goto badmerge;
		add_merge(b, t[0], tl[0], t[1], tl[1], rank++);
	}
	return b;
badmerge:
	snprintf(err, errlen, "%s: merge %d is not two tokens", what, rank + 1);
bad:
	bpe_free(b);
	return NULL;
}

void
bpe_free(struct bpe *b)
{
	if (b == NULL)
		return;
	st_free(&b->sym);
	st_free(&b->cache);
	free(b->symid);
	free(b->word);
	free(b->wlen);
	free(b->mkey);
	free(b->mrank);
	free(b->mres);
	free(b->cstart);
	free(b->ccount);
	free(b->cid);
	free(b->clen);
	free(b->cp);
	free(b->off);
	free(b->w);
	free(b->wl);
	free(b);
}

int
bpe_size(const struct bpe *b)
{
	return b->nword;
}

char **
bpe_words(const struct bpe *b, size_t **len)
{
	*len = b->wlen;
	return b->word;
}

int
bpe_id(const struct bpe *b, const char *s)
{
	int k = st_find(&b->sym, s, strlen(s));

	return k < 0 ? -1 : symid(b, k);
}

void
bpe_set_unk(struct bpe *b, int unk)
{
	b->unk = unk;
}

/* Classes of GPT-2's pattern. */
enum { C_L, C_N, C_S, C_O };

static inline int
klass(int32_t c)
{
	if (c < 128) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return C_L;
		if (c >= '0' && c <= '9')
			return C_N;
		if (c == ' ' || (c >= '\t' && c <= '\r'))
			return C_S;
		return C_O;
	}
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return C_L;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return C_N;
	default:
		break;
	}
	/* White_Space */
	if (c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000)
		return C_S;
	return C_O;
}

/* The tokens of one piece, p[0..n), from the cache or merged. */
static void
piece(struct bpe *b, const unsigned char *p, size_t n, size_t at,
    size_t word, struct tok_list *out)
{
	int k = n <= CACHEMAX ? st_find(&b->cache, (const char *)p, n) : -1;
	size_t m;

	if (k >= 0) {
		const int *id = b->cid + b->cstart[k];
		const uint32_t *l = b->clen + b->cstart[k];
		for (uint32_t i = 0; i < b->ccount[k]; i++) {
			if (id[i] >= 0)
				tok_list_push(out, id[i], at, at + l[i], word);
			at += l[i];
		}
		return;
	}
	if (n > b->wcap) {
		b->wcap = n * 2;
		b->w = xreallocarray(b->w, b->wcap, sizeof(int));
		b->wl = xreallocarray(b->wl, b->wcap, sizeof(uint32_t));
	}
	for (size_t i = 0; i < n; i++) {
		b->w[i] = b->bytesym[p[i]];
		b->wl[i] = 1;
	}
	m = n;
	while (m > 1) {
		int best = INT_MAX, bi = -1, res = 0, r, x;
		for (size_t i = 0; i + 1 < m; i++)
			if ((r = mfind(b, b->w[i], b->w[i + 1], &x)) >= 0 &&
			    r < best) {
				best = r;
				bi = i;
				res = x;
			}
		if (bi < 0)
			break;
		int x0 = b->w[bi], y0 = b->w[bi + 1];
		size_t j = bi, o = bi;
		while (j < m) {
			if (j + 1 < m && b->w[j] == x0 && b->w[j + 1] == y0) {
				b->w[o] = res;
				b->wl[o++] = b->wl[j] + b->wl[j + 1];
				j += 2;
			} else {
				b->w[o] = b->w[j];
				b->wl[o++] = b->wl[j++];
			}
		}
		m = o;
	}
	if (n <= CACHEMAX) {
		if (b->cache.n >= CACHEN) {
			st_clear(&b->cache);
			b->cn = 0;
		}
		k = st_add(&b->cache, (const char *)p, n);
		if ((size_t)b->cache.cap > b->ccap) {
			b->ccap = b->cache.cap;
			b->cstart = xreallocarray(b->cstart, b->ccap,
			    sizeof(uint32_t));
			b->ccount = xreallocarray(b->ccount, b->ccap,
			    sizeof(uint32_t));
		}
		b->cstart[k] = b->cn;
		b->ccount[k] = m;
		if (b->cn + m > b->cidcap) {
			b->cidcap = (b->cn + m) * 2;
			b->cid = xreallocarray(b->cid, b->cidcap, sizeof(int));
			b->clen = xreallocarray(b->clen, b->cidcap,
			    sizeof(uint32_t));
		}
	}
	for (size_t i = 0; i < m; i++) {
		int id = symid(b, b->w[i]);
		if (id < 0)
			id = b->unk;
		if (id >= 0)
			tok_list_push(out, id, at, at + b->wl[i], word);
		if (n <= CACHEMAX) {
			b->cid[b->cn + i] = id;
			b->clen[b->cn + i] = b->wl[i];
		}
		at += b->wl[i];
	}
	if (n <= CACHEMAX)
		b->cn += m;
}

long
bpe_encode(struct bpe *b, const char *text, size_t len, struct tok_list *out,
    size_t word0, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0, i, word = word0;
	int blank = 1;

	if (len + 1 > b->cpcap) {
		b->cpcap = (len + 1) * 2;
		b->cp = xreallocarray(b->cp, b->cpcap, sizeof(int32_t));
		b->off = xreallocarray(b->off, b->cpcap, sizeof(uint32_t));
	}
	for (i = 0; i < len;) {
		int32_t c;
		utf8proc_ssize_t k;
		if (s[i] < 0x80) {
			c = s[i];
			k = 1;
		} else if ((k = utf8proc_iterate(s + i, len - i, &c)) < 0) {
			*bad = i;
			return -1;
		}
		if (blank && !tok_pyspace(c))
			blank = 0;
		b->off[n] = i;
		b->cp[n++] = c;
		i += k;
	}
	b->off[n] = len;
	if (blank)
		return word0;	/* as Hugging Face's tokenize(): nothing */
	const int32_t *cp = b->cp;
	for (i = 0; i < n;) {
		size_t j = i, e;
		int c = cp[i];
		if (c == '\'' && i + 1 < n) {
			int x = cp[i + 1], y = i + 2 < n ? cp[i + 2] : 0;
			if (x == 's' || x == 't' || x == 'm' || x == 'd')
				j = i + 2;
			else if ((x == 'r' && y == 'e') ||
			    (x == 'v' && y == 'e') || (x == 'l' && y == 'l'))
				j = i + 3;
		}
		if (j == i) {
			size_t h = i + (c == ' ');
			int k = h < n ? klass(cp[h]) : C_S;
			if (k != C_S) {
				for (j = h + 1; j < n && klass(cp[j]) == k; j++)
					;
			} else if (klass(c) == C_S) {
				for (e = i + 1; e < n && klass(cp[e]) == C_S;
				    e++)
					;
				/* \s+(?!\S), else \s+ */
				j = e == n || e - i == 1 ? e : e - 1;
			} else {
				j = i + 1;	/* not reached */
			}
		}
		piece(b, s + b->off[i], b->off[j] - b->off[i], b->off[i],
		    word++, out);
		i = j;
	}
	return word;
}
