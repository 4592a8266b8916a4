/*
 * spm.c -- SentencePiece models read and applied as libsentencepiece
 * 0.1.97 (Debian 12's, the one python3-sentencepiece and so Hugging
 * Face's slow tokenizers call) applies them, id for id, without it.
 *
 * The file is a protocol buffer (ModelProto): the pieces with their scores
 * and types, the trainer's settings (model type, white space as a suffix,
 * byte fallback) and the normaliser's (a precompiled character map, the
 * dummy prefix, extra white space, escaping).  A text goes through three
 * stages, each as the library's:
 *
 *   1. Normalise: at each position the longest rule of the character map
 *	(a double-array trie of darts-clone's layout, its values offsets of
 *	NUL-terminated replacements) or, with none, the character as it is;
 *	user-defined pieces pass unchanged.  Leading, trailing and repeated
 *	spaces go, a space starts the text, spaces become U+2581 (written _
 *	below).  Each output byte keeps the offset of the input character it
 *	came from.
 *   2. Segment, by the model type:
 *	unigram	the best path through the pieces that spell the text, by the
 *		sum of their scores, a character no piece starts with being
 *		unknown (the lowest score less 10).  One pass left to right
 *		as the library's optimised encoder, with its arithmetic: a
 *		candidate's sum in double, the best in float, the first of
 *		equals kept.  Words are cached, but a word's path is taken
 *		from the cache only where no rounding of those sums can
 *		change it (unigram_word()).
 *	bpe	characters (user-defined pieces whole) merged pairwise, the
 *		pair that spells the piece of the highest score first, the
 *		leftmost of equals; an unused piece split again into the pair
 *		that made it.  A word's pieces are those it has alone, and
 *		are cached.

 *	word	the text split before each _.
 *	char	one piece per character.
 *	When no piece holds _ past its first byte, no piece (and no merge)
 *	crosses the _ that starts a word, and a text's pieces are its
 *	words' (word_cuts()); a model with such pieces (split_by_whitespace
 *	false) is segmented a whole text at a time.
 *   3. Report: runs of unknown pieces as one, or as byte pieces <0xXX>
 *	with byte fallback; each piece's span in the input.
 */
#include <err.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm.h"
#include "util.h"

enum { P_NORMAL = 1, P_UNKNOWN, P_CONTROL, P_USER, P_UNUSED, P_BYTE };
enum { M_UNIGRAM = 1, M_BPE, M_WORD, M_CHAR };

#define WS	"\342\226\201"		/* U+2581, the escaped space */
#define MAXPIECE 8000		/* bytes: newer libraries refuse longer */

/*
 * A cell of the pieces' double-array trie: the child of cell s by byte c
 * is cell base[s] + c when its check is s.  A piece that ends in a cell
 * is there with its score, and its type in the id's high bits.
 */
struct cell {
	int32_t	 base;
	int32_t	 check;		/* the parent; -1 free, -2 the root */
	int32_t	 id;		/* the piece that ends here, -1 none */
	float	 sc;
};

#define ID_MASK		0x7ffffff
#define ID_USER		(1 << 27)
#define ID_UNUSED	(1 << 28)

/* A piece of the segmentation: its span in the normalised text, its id. */
struct seg {
	uint32_t beg, len;
	int32_t	 id;
};

/* The best path that ends at a byte of the normalised text. */
struct best {
	float	 score;
	int32_t	 start;		/* where its last piece starts; -1 none */
	int32_t	 id;
};

/* BPE: a symbol (a span of the text) and a pair of neighbours. */
struct sym {
	int32_t	 prev, next;
	uint32_t beg, len;
	int	 freeze;
};

struct pair {
	float	 score;
	int32_t	 left, right;
	uint32_t size;
};

/* The same in exact terms, for unigram_word(). */
struct vbest {
	double	 v, gap;
	int32_t	 start;
	int32_t	 id;
};

/*
 * The pieces of each word seen (BPE, unigram), while there are not too
 * many; for unigram with the gap and magnitude that say when they hold.
 */
#define CACHEN	(1 << 17)
#define CACHEB	(1 << 26)	/* bytes of entries */
struct went {
	double	 gap, vmax;
	uint32_t klen;		/* the word, after the entry */
	uint32_t rn;		/* its segments, after the word */
};

/*
 * An entry is a went, the word padded to 8 bytes, then its segments, all
 * in one pool: a word found costs its slot and its entry, two lines of
 * memory where four arrays cost four.
 */
struct wcache {
	struct wslot {
		uint32_t off;	/* the entry's offset / 8 + 1; 0 empty */
		uint32_t tag;	/* the high half of its hash */
	}	 *slot;
	size_t	  mask;
	size_t	  n;		/* entries */
	uint64_t *pool;		/* 8-byte units */
	size_t	  np, pcap;
};

#define WKEY(e)		((const char *)((e) + 1))
#define WSEGS(e)	((const struct seg *)((const char *)((e) + 1) + \
			    (((e)->klen + 7) & ~7u)))

struct spm {
	/* the pieces by id */
	int	  n;
	char	**piece;
	uint32_t *plen;
	float	 *score;
	unsigned char *type;
	int	  unk, model, nuser, nunused;
	float	  minsc, maxsc, unksc;
	int	  suffix, bytefb;
	int	  bytepiece[256];
	/* control, unknown and byte pieces: string -> id + 1 */
	int32_t	 *rslot;
	size_t	  rmask;
	/* normal, user-defined and unused pieces */
	struct cell *da;
	size_t	  nda;
	int	  nowsinside;	/* no piece holds _ past its first byte */
	/* the normaliser */
	int	  dummy, extra, escape;
	uint32_t *cm;		/* the character map's trie */
	size_t	  ncm;
	char	 *cmrep;	/* its replacements */
	size_t	  ncmrep;
	unsigned char cmfirst[256];	/* is there a rule starting so */
	/* ASCII: a rule of the byte alone, the bytes a rule goes on with */
	unsigned char cmleaf[128];
	uint64_t  cmnext[128][4];
	/* per slot: the normalised text, each byte's origin, the output */
	char	 *norm[2];
	uint32_t *n2o[2];
	size_t	  normcap[2];
	struct spm_piece *out[2];
	size_t	  outcap[2];
	/* scratch */
	struct seg *res;
	size_t	  nres, rescap;
	struct best *best;
	struct vbest *vbest;
	size_t	  bestcap;
	struct sym *sym;
	size_t	  symcap;
	struct pair *heap;
	size_t	  nheap, heapcap;
	uint32_t *revgen, gen;	/* BPE: unused pieces' last pair */
	uint32_t (*rev)[3];	/* left beg, left len, right len */
	struct wcache wc;
};

/* ---- the model file: a protocol buffer ---- */

struct pbr {
	const unsigned char *p, *end;
};

static int
pb_varint(struct pbr *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int sh = 0; sh < 70; sh += 7) {
		if (r->p == r->end)
			return -1;
		unsigned c = *r->p++;
		x |= (uint64_t)(c & 0x7f) << sh;
		if (c < 0x80) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/*
 * The next field of a message: its number and wire type, the value of a
 * number in *v, of bytes in *d and *len.  1, 0 at the end, -1 when it
 * does not parse.
 */
static int
pb_next(struct pbr *r, int *field, int *wt, uint64_t *v,
    const unsigned char **d, size_t *len)
{
	uint64_t key;

	if (r->p == r->end)
		return 0;
	if (pb_varint(r, &key) == -1 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return -1;
	*field = key >> 3;
	*wt = key & 7;
	switch (*wt) {
	case 0:
		return pb_varint(r, v) == -1 ? -1 : 1;
	case 1:
	case 5: {
		size_t k = *wt == 1 ? 8 : 4;
		if ((size_t)(r->end - r->p) < k)
			return -1;
		*v = 0;
		for (size_t i = 0; i < k; i++)
			*v |= (uint64_t)r->p[i] << (8 * i);
		r->p += k;
		return 1;
	}
	case 2:
		if (pb_varint(r, v) == -1 || *v > (uint64_t)(r->end - r->p))
			return -1;
		*d = r->p;
		*len = *v;
		r->p += *v;
		return 1;
	}
	return -1;		/* groups, and wire types that do not exist */
}

static float
pb_float(uint64_t v)
{
	uint32_t u = v;
	float f;

	memcpy(&f, &u, 4);
	return f;
}

/* A piece as the file has it. */
struct rawpiece {
	const unsigned char *s;
	size_t	 len;
	float	 score;
	int	 type;
};

static int
parse_piece(const unsigned char *d, size_t len, struct rawpiece *p)
{
	struct pbr r = { d, d + len };
	const unsigned char *b;
	size_t bl;
	uint64_t v;
	int f, wt, k;

	p->s = (const unsigned char *)"";
	p->len = 0;
	p->score = 0;
	p->type = P_NORMAL;
	while ((k = pb_next(&r, &f, &wt, &v, &b, &bl)) == 1) {
		if (f == 1 && wt == 2) {
			p->s = b;
			p->len = bl;
		} else if (f == 2 && wt == 5)
			p->score = pb_float(v);
		else if (f == 3 && wt == 0 && v >= P_NORMAL && v <= P_BYTE)
			p->type = v;	/* another value: unknown, the default */
	}
	return k;
}

/* TrainerSpec: the model type and the settings that segmenting reads. */
static int
parse_trainer(struct spm *m, const unsigned char *d, size_t len)
{
	struct pbr r = { d, d + len };
	const unsigned char *b;
	size_t bl;
	uint64_t v;
	int f, wt, k;

	while ((k = pb_next(&r, &f, &wt, &v, &b, &bl)) == 1) {
		if (wt != 0)
			continue;
		if (f == 3 && v >= M_UNIGRAM && v <= M_CHAR)
			m->model = v;
		else if (f == 24)
			m->suffix = v != 0;	/* treat_whitespace_as_suffix */
		else if (f == 35)
			m->bytefb = v != 0;	/* byte_fallback */
	}
	return k;
}

/* NormalizerSpec: the character map, the white space settings. */
static int
parse_normalizer(struct spm *m, const unsigned char *d, size_t len,
    const unsigned char **map, size_t *nmap)
{
	struct pbr r = { d, d + len };
	const unsigned char *b;
	size_t bl;
	uint64_t v;
	int f, wt, k;

	while ((k = pb_next(&r, &f, &wt, &v, &b, &bl)) == 1) {
		if (f == 2 && wt == 2) {
			*map = b;
			*nmap = bl;
		} else if (f == 3 && wt == 0)
			m->dummy = v != 0;
		else if (f == 4 && wt == 0)
			m->extra = v != 0;
		else if (f == 5 && wt == 0)
			m->escape = v != 0;
	}
	return k;
}

/* ---- hash of the control, unknown and byte pieces ---- */

static int
rfind(const struct spm *m, const char *s, size_t len)
{
	if (m->rslot == NULL)
		return -1;
	for (size_t i = fnv1a_fold(s, len) & m->rmask;;
	    i = (i + 1) & m->rmask) {
		int k = m->rslot[i] - 1;
		if (k < 0)
			return -1;
		if (m->plen[k] == len && memcmp(m->piece[k], s, len) == 0)
			return k;
	}
}

/* Add piece id to the table; -1 when its string is there already. */
static int
radd(struct spm *m, int id)
{
	size_t i;

	if (rfind(m, m->piece[id], m->plen[id]) >= 0)
		return -1;
	for (i = fnv1a_fold(m->piece[id], m->plen[id]) & m->rmask; m->rslot[i];
	    i = (i + 1) & m->rmask)
		;
	m->rslot[i] = id + 1;
	return 0;
}

/* ---- the pieces' trie ---- */

/*
 * Building it: the free cells are a list in order (next, prev), so that a
 * node's base is looked for among free cells only; a cell where a base
 * failed too often leaves the list (prev -2), free still.
 */
struct dabuild {
	int32_t	 *next, *prev;	/* -1 at the ends */
	unsigned char *fails;
	int32_t	  head, tail;	/* -1: none free */
	const int *ids;
	int	  dup;		/* a piece found twice */
};

static void
da_grow(struct spm *m, struct dabuild *b, size_t need)
{
	size_t n = m->nda;

	if (need < n)
		return;
	while (n <= need)
		n = n ? n * 2 : 1024;
	if (n > INT32_MAX)
		errx(1, "SentencePiece model too large");
	m->da = xreallocarray(m->da, n, sizeof(struct cell));
	b->next = xreallocarray(b->next, n, sizeof(int32_t));
	b->prev = xreallocarray(b->prev, n, sizeof(int32_t));
	b->fails = xreallocarray(b->fails, n, 1);
	memset(b->fails + m->nda, 0, n - m->nda);
	for (size_t i = m->nda; i < n; i++) {
		m->da[i].base = 0;
		m->da[i].check = -1;
		m->da[i].id = -1;
		m->da[i].sc = 0;
		b->prev[i] = b->tail;
		b->next[i] = -1;
		if (b->tail >= 0)
			b->next[b->tail] = i;
		else
			b->head = i;
		b->tail = i;
	}
	m->nda = n;
}

static void
da_unlink(struct dabuild *b, int32_t i)
{
	if (b->prev[i] == -2)
		return;
	if (b->prev[i] >= 0)
		b->next[b->prev[i]] = b->next[i];
	else
		b->head = b->next[i];
	if (b->next[i] >= 0)
		b->prev[b->next[i]] = b->prev[i];
	else
		b->tail = b->prev[i];
	b->prev[i] = -2;
}

/* Cell i, free, is used by parent s. */
static void
da_take(struct spm *m, struct dabuild *b, int32_t i, int32_t s)
{
	m->da[i].check = s;
	da_unlink(b, i);
}

/* A base where every label's cell is free. */
static size_t
da_base(struct spm *m, struct dabuild *b, const unsigned char *lab, int nl)
{
	for (int32_t p = b->head, q;; p = q) {
		size_t base;
		int ok = 1;
		if (p < 0) {
			/* none fits: more cells, free from the old end */
			size_t old = m->nda;
			da_grow(m, b, old);
			p = old;
		}
		q = b->next[p];
		if (p < lab[0])
			continue;
		base = p - lab[0];
		if (base + 256 >= m->nda) {
			da_grow(m, b, base + 256);
			q = b->next[p];
		}
		for (int j = 1; j < nl && ok; j++)
			ok = m->da[base + lab[j]].check == -1;
		if (ok)
			return base;
		if (++b->fails[p] == 16)
			da_unlink(b, p);
	}
}

/* The node s for the sorted pieces ids[lo..hi), whose first d bytes are
 * the same. */
static void
da_node(struct spm *m, struct dabuild *b, int32_t s, int lo, int hi,
    size_t d)
{
	unsigned char lab[256];
	int nl = 0;
	size_t base;

	if (lo < hi && m->plen[b->ids[lo]] == d) {
		int id = b->ids[lo++];
		m->da[s].id = id | (m->type[id] == P_USER ? ID_USER :
		    m->type[id] == P_UNUSED ? ID_UNUSED : 0);
		m->da[s].sc = m->score[id];
		/* the same again: the model is refused */
		while (lo < hi && m->plen[b->ids[lo]] == d)
			b->dup = b->ids[lo++];
	}
	if (lo == hi)
		return;
	for (int i = lo; i < hi; i++) {
		unsigned char c = m->piece[b->ids[i]][d];
		if (nl == 0 || lab[nl - 1] != c)
			lab[nl++] = c;
	}
	base = da_base(m, b, lab, nl);
	m->da[s].base = base;
	for (int j = 0; j < nl; j++)
		da_take(m, b, base + lab[j], s);
	for (int i = lo, j = 0; j < nl; j++) {
		int k = i;
		while (k < hi && (unsigned char)m->piece[b->ids[k]][d] ==
		    lab[j])
			k++;
		da_node(m, b, base + lab[j], i, k, d + 1);
		i = k;
	}
}

static const struct spm *sortm;

static int
bybytes(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	size_t lx = sortm->plen[x], ly = sortm->plen[y];
	int c = memcmp(sortm->piece[x], sortm->piece[y], lx < ly ? lx : ly);

	if (c != 0)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* The trie of the normal, user-defined and unused pieces; the id of a
 * piece found twice, or -1. */
static int
da_build(struct spm *m)
{
	struct dabuild b = { 0 };
	int *ids = xcalloc(m->n + 1, sizeof(int)), k = 0;

	for (int i = 0; i < m->n; i++)
		if (m->type[i] == P_NORMAL || m->type[i] == P_USER ||
		    m->type[i] == P_UNUSED)
			ids[k++] = i;
	sortm = m;
	qsort(ids, k, sizeof(int), bybytes);
	b.ids = ids;
	b.dup = -1;
	b.head = b.tail = -1;
	da_grow(m, &b, 256);
	da_take(m, &b, 0, -2);
	da_node(m, &b, 0, 0, k, 0);
	free(ids);
	free(b.next);
	free(b.prev);
	free(b.fails);
	return b.dup;
}

/* The id of the piece s[0..len) of the trie, or -1. */
static int
da_find(const struct spm *m, const char *s, size_t len)
{
	int32_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int32_t t = m->da[n].base + (unsigned char)s[i];
		if (m->da[t].check != n)
			return -1;
		n = t;
	}
	return m->da[n].id < 0 ? -1 : m->da[n].id & ID_MASK;
}

/* ---- loading ---- */

/* The character map: <trie size, 4 bytes LE><trie><replacements>. */
static int
load_charsmap(struct spm *m, const unsigned char *b, size_t n)
{
	size_t ts;

	if (n == 0)
		return 0;
	if (n <= 4)
		return -1;
	ts = b[0] | b[1] << 8 | b[2] << 16 | (size_t)b[3] << 24;
	if (ts > n - 4)
		return -1;
	m->ncm = ts / 4;
	m->cm = xcalloc(m->ncm + 1, sizeof(uint32_t));
	for (size_t i = 0; i < m->ncm; i++) {
		const unsigned char *u = b + 4 + 4 * i;
		m->cm[i] = u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
	}
	m->ncmrep = n - 4 - ts;
	m->cmrep = xmalloc(m->ncmrep + 1);
	memcpy(m->cmrep, b + 4 + ts, m->ncmrep);
	m->cmrep[m->ncmrep] = '\0';
	return 0;
}

/* darts-clone's unit: a label, an offset to the children, a leaf flag; a
 * leaf's unit is a value. */
#define U_LEAF(u)	((u) >> 8 & 1)
#define U_VALUE(u)	((u) & 0x7fffffffU)
#define U_LABEL(u)	((u) & 0x800000ffU)
#define U_OFFSET(u)	((u) >> 10 << (((u) & 1U << 9) >> 6))

static void
set_cmfirst(struct spm *m)
{
	if (m->ncm == 0)
		return;
	for (int c = 0; c < 256; c++) {
		uint32_t p = U_OFFSET(m->cm[0]) ^ c, q;
		m->cmfirst[c] = p < m->ncm && U_LABEL(m->cm[p]) == (uint32_t)c;
		if (!m->cmfirst[c] || c >= 128)
			continue;
		m->cmleaf[c] = U_LEAF(m->cm[p]);
		p ^= U_OFFSET(m->cm[p]);
		for (int d = 0; d < 256; d++)
			if ((q = p ^ d) < m->ncm &&
			    U_LABEL(m->cm[q]) == (uint32_t)d)
				m->cmnext[c][d / 64] |= 1ULL << (d % 64);
	}
}

/* Has the character map no rule for the ASCII byte s[0] of s[0..n)? */
static inline int
cm_none(const struct spm *m, const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (!m->cmfirst[c])
		return 1;
	if (m->cmleaf[c])
		return 0;
	return n == 1 || !(m->cmnext[c][s[1] / 64] >> (s[1] % 64) & 1);
}

static int
load(struct spm *m, const unsigned char *buf, size_t len, char *why,
    size_t whylen)
{
	struct pbr r = { buf, buf + len };
	const unsigned char *d, *map = NULL;
	size_t dl, nmap = 0, cap = 0;
	uint64_t v;
	int f, wt, k, found[256] = { 0 }, nnormal = 0;
	struct rawpiece *raw = NULL;

	m->model = M_UNIGRAM;
	m->dummy = m->extra = m->escape = 1;
	m->unk = -1;
	while ((k = pb_next(&r, &f, &wt, &v, &d, &dl)) == 1) {
		if (wt != 2)
			continue;
		if (f == 1) {
			if ((size_t)m->n == cap) {
				cap = cap ? cap * 2 : 1024;
				raw = xreallocarray(raw, cap, sizeof(*raw));
			}
			if (m->n == 0x7ffffff || parse_piece(d, dl, &raw[m->n++])
			    == -1) {
				k = -1;
				break;
			}
		} else if (f == 2 && parse_trainer(m, d, dl) == -1) {
			k = -1;
			break;
		} else if (f == 3 && parse_normalizer(m, d, dl, &map, &nmap)
		    == -1) {
			k = -1;
			break;
		}
	}
	if (k == -1) {
		free(raw);
		snprintf(why, whylen, "it does not parse: truncated?");
		return -1;
	}
	if (m->n == 0) {
		snprintf(why, whylen, "it has no pieces");
		return -1;
	}
	m->piece = xcalloc(m->n, sizeof(char *));
	m->plen = xcalloc(m->n, sizeof(uint32_t));
	m->score = xcalloc(m->n, sizeof(float));
	m->type = xcalloc(m->n, 1);
	m->minsc = FLT_MAX;
	m->maxsc = FLT_MIN;
	for (int i = 0; i < m->n; i++) {
		m->piece[i] = xmalloc(raw[i].len + 1);
		memcpy(m->piece[i], raw[i].s, raw[i].len);
		m->piece[i][raw[i].len] = '\0';
		m->plen[i] = raw[i].len;
		m->score[i] = raw[i].score;
		m->type[i] = raw[i].type;
	}
	free(raw);
	m->rmask = 64;
	while (m->rmask < (size_t)m->n * 2)
		m->rmask *= 2;
	m->rslot = xcalloc(m->rmask--, sizeof(int32_t));
	for (int i = 0; i < m->n; i++) {
		int ty = m->type[i];
		if (m->plen[i] == 0 || m->plen[i] >= MAXPIECE ||
		    memchr(m->piece[i], '\0', m->plen[i]) != NULL) {
			snprintf(why, whylen, "piece %d is %s", i, m->plen[i] ?
			    "too long or holds a NUL" : "empty");
			return -1;
		}
		if (ty == P_NORMAL) {
			nnormal++;
			if (m->score[i] < m->minsc)
				m->minsc = m->score[i];
			if (m->score[i] > m->maxsc)
				m->maxsc = m->score[i];
		}
		m->nuser += ty == P_USER;
		m->nunused += ty == P_UNUSED;
		if (ty == P_UNKNOWN) {
			if (m->unk >= 0) {
				snprintf(why, whylen, "two unknown pieces");
				return -1;
			}
			m->unk = i;
		}
		if (ty == P_BYTE) {
			unsigned x;
			char tail;
			if (!m->bytefb || sscanf(m->piece[i], "<0x%2X>%c", &x,
			    &tail) != 1 || m->plen[i] != 6 ||
			    strchr("0123456789ABCDEF", m->piece[i][3]) == NULL ||
			    strchr("0123456789ABCDEF", m->piece[i][4]) == NULL) {
				snprintf(why, whylen, "byte piece %d is invalid "
				    "or not of a byte fallback model", i);
				return -1;
			}
			found[x] = 1;
			m->bytepiece[x] = i;
		}
		if ((ty == P_CONTROL || ty == P_UNKNOWN || ty == P_BYTE) &&
		    radd(m, i) == -1) {
			snprintf(why, whylen, "piece %d is defined twice", i);
			return -1;
		}
	}
	if (m->unk < 0) {
		snprintf(why, whylen, "it has no unknown piece");
		return -1;
	}
	for (int i = 0; m->bytefb && i < 256; i++)
		if (!found[i]) {
			snprintf(why, whylen, "byte fallback without the 256 "
			    "byte pieces");
			return -1;
		}
	m->unksc = m->minsc - 10.0f;
	if ((k = da_build(m)) >= 0) {
		snprintf(why, whylen, "piece %d is defined twice", k);
		return -1;
	}
	if (m->model == M_UNIGRAM && m->nunused + m->nuser + nnormal == 0) {
		snprintf(why, whylen, "it has no pieces to segment with");
		return -1;
	}
	m->nowsinside = 1;
	for (int i = 0; i < m->n && m->nowsinside; i++) {
		int ty = m->type[i];
		if ((ty == P_NORMAL || ty == P_USER || ty == P_UNUSED) &&
		    m->plen[i] > 3 && memmem(m->piece[i] + 1, m->plen[i] - 1,
		    WS, 3) != NULL)
			m->nowsinside = 0;
	}
	if (load_charsmap(m, map, nmap) == -1) {
		snprintf(why, whylen, "its precompiled_charsmap is broken");
		return -1;
	}
	set_cmfirst(m);
	return 0;
}

struct spm *
spm_load_proto(const void *buf, size_t len, const char *what, char *err,
    size_t errlen)
{
	struct spm *m = xcalloc(1, sizeof(*m));
	char why[256];

	if (load(m, buf, len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: not a SentencePiece model (%s)",
		    what, why);
		spm_free(m);
		return NULL;
	}
	return m;
}

struct spm *
spm_load(const char *path, char *err, size_t errlen)
{
	size_t n;
	char *buf = slurp(path, &n, err, errlen);
	struct spm *m;

	if (buf == NULL)
		return NULL;
	m = spm_load_proto(buf, n, path, err, errlen);
	free(buf);
	return m;
}

static void
wc_free(struct wcache *c)
{
	free(c->slot);
	free(c->pool);
}

void
spm_free(struct spm *m)
{
	if (m == NULL)
		return;
	for (int i = 0; m->piece && i < m->n; i++)
		free(m->piece[i]);
	free(m->piece);
	free(m->plen);
	free(m->score);
	free(m->type);
	free(m->rslot);
	free(m->da);
	free(m->cm);
	free(m->cmrep);
	for (int s = 0; s < 2; s++) {
		free(m->norm[s]);
		free(m->n2o[s]);
		free(m->out[s]);
	}
	free(m->res);
	free(m->best);
	free(m->vbest);
	free(m->sym);
	free(m->heap);
	free(m->revgen);
	free(m->rev);
	wc_free(&m->wc);
	free(m);
}

int
spm_size(const struct spm *m)
{
	return m->n;
}

const char *
spm_piece(const struct spm *m, int id, size_t *len)
{
	*len = m->plen[id];
	return m->piece[id];
}

int
spm_id(const struct spm *m, const char *s, size_t len)
{
	int id = rfind(m, s, len);

	if (id < 0 && len > 0 && memchr(s, '\0', len) == NULL)
		id = da_find(m, s, len);
	return id < 0 ? m->unk : id;
}

int
spm_unk(const struct spm *m)
{
	return m->unk;
}

/*
 * Can words be segmented apart: does no piece cross the _ that starts a
 * word?  (So when no piece holds _ past its first byte; with white space
 * as a suffix, words are not looked for.)  BPE also needs no unused
 * pieces: the pair that splits one again is the last the text made.
 */
static int
word_cuts(const struct spm *m)
{
	return m->nowsinside && !m->suffix && (m->model != M_BPE ||
	    m->nunused == 0);
}

/* ---- normalising ---- */

/* The length of the UTF-8 character at s as the library counts it. */
static inline size_t
onechar(unsigned char c)
{
	static const unsigned char len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 2, 2, 3, 4 };

	return len[c >> 4];
}

/* The length of the valid UTF-8 character at s[0..n), or 0. */
static size_t
utf8len(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	k = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (k > n)
		return 0;
	c = s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return k;
}

/* The longest user-defined piece at s[0..n), or 0. */
static size_t
user_match(const struct spm *m, const char *s, size_t n)
{
	int32_t t = 0;
	size_t best = 0;

	for (size_t i = 0; i < n; i++) {
		int32_t x = m->da[t].base + (unsigned char)s[i];
		if (m->da[x].check != t)
			break;
		t = x;
		if (m->da[t].id >= 0 && (m->da[t].id & ID_USER))
			best = i + 1;
	}
	return best;
}

/* The library's PrefixMatch: a user-defined piece, else a character. */
static size_t
prefix_match(const struct spm *m, const char *s, size_t n, int *user)
{
	size_t k = m->nuser ? user_match(m, s, n) : 0;

	*user = k > 0;
	if (k == 0 && (k = onechar(*s)) > n)
		k = n;
	return k;
}

/*
 * The normaliser's rule at s[0..n): the replacement in *rep, *replen; the
 * bytes of s it takes.  The longest of the character map's first 32
 * matches, as the library keeps 32.
 */
static size_t
rule(const struct spm *m, const char *s, size_t n, const char **rep,
    size_t *replen)
{
	static const char fffd[] = "\357\277\275";
	const unsigned char *u = (const unsigned char *)s;
	size_t k, best = 0, nres = 0;
	uint32_t val = 0;

	if (m->nuser && (k = user_match(m, s, n)) > 0) {
		*rep = s;
		*replen = k;
		return k;
	}
	if (m->ncm > 0) {
		uint32_t p = U_OFFSET(m->cm[0]);
		for (size_t i = 0; i < n; i++) {
			uint32_t unit;
			p ^= u[i];
			if (p >= m->ncm)
				break;
			unit = m->cm[p];
			if (U_LABEL(unit) != u[i])
				break;
			p ^= U_OFFSET(unit);
			if (U_LEAF(unit)) {
				if (p >= m->ncm)
					break;
				if (nres++ < 32) {
					best = i + 1;
					val = U_VALUE(m->cm[p]);
				}
			}
		}
	}
	if (best > 0 && val < m->ncmrep) {
		*rep = m->cmrep + val;
		*replen = strlen(*rep);
		return best;
	}
	if ((k = utf8len(u, n)) == 0) {
		*rep = fffd;
		*replen = 3;
		return 1;
	}
	*rep = s;
	*replen = k;
	return k;
}

static void
norm_room(struct spm *m, int slot, size_t need)
{
	if (need <= m->normcap[slot])
		return;
	m->normcap[slot] = need * 2 + 64;
	m->norm[slot] = xreallocarray(m->norm[slot], m->normcap[slot], 1);
	m->n2o[slot] = xreallocarray(m->n2o[slot], m->normcap[slot] + 1,
	    sizeof(uint32_t));
}

/*
 * Normalise in[0..n) into norm[slot], each byte's origin in n2o[slot]
 * (and the end's after the last).  Returns the length, 0 for nothing.
 */
static size_t
normalize(struct spm *m, int slot, const char *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;
	const char *rep;
	size_t i = 0, k, rl, o = 0, consumed;
	int prevsp;
	char *out;
	uint32_t *n2o;

	if (m->extra)
		while (i < n) {
			k = rule(m, in + i, n - i, &rep, &rl);
			if (rl != 1 || rep[0] != ' ')
				break;
			i += k;
		}
	if (i == n)
		return 0;
	norm_room(m, slot, (n - i) * 3 + 8);
	out = m->norm[slot];
	n2o = m->n2o[slot];
#define PUTWS(at) do {							\
	if (m->escape) {						\
		memcpy(out + o, WS, 3);					\
		n2o[o] = n2o[o + 1] = n2o[o + 2] = (at);		\
		o += 3;							\
	} else {							\
		out[o] = ' ';						\
		n2o[o++] = (at);					\
	}								\
} while (0)
	if (!m->suffix && m->dummy)
		PUTWS(i);
	prevsp = m->extra;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80 && !m->nuser && cm_none(m, s + i, n - i)) {
			/* most text: the byte as it is */
			if (c == ' ') {
				if (!prevsp)
					PUTWS(i);
				prevsp = m->extra;
			} else {
				out[o] = c;
				n2o[o++] = i;
				prevsp = 0;
			}
			i++;
			continue;
		}
		k = rule(m, in + i, n - i, &rep, &rl);
		if (prevsp)
			while (rl > 0 && *rep == ' ') {
				rep++;
				rl--;
			}
		if (rl > 0) {
			norm_room(m, slot, o + rl * 3 + (n - i - k) * 3 + 8);
			out = m->norm[slot];
			n2o = m->n2o[slot];
			for (size_t j = 0; j < rl; j++)
				if (rep[j] == ' ' && m->escape)
					PUTWS(i);
				else {
					out[o] = rep[j];
					n2o[o++] = i;
				}
			prevsp = rep[rl - 1] == ' ';
		}
		i += k;
		if (!m->extra)
			prevsp = 0;
	}
	consumed = n;
	if (m->extra) {
		size_t w = m->escape ? 3 : 1;
		while (o >= w && memcmp(out + o - w, m->escape ? WS : " ",
		    w) == 0) {
			o -= w;
			consumed = n2o[o];
		}
	}
	if (m->suffix && m->dummy)
		PUTWS(consumed);
#undef PUTWS
	n2o[o] = consumed;
	return o;
}

/* ---- segmenting ---- */

static void
res_push(struct spm *m, size_t beg, size_t len, int id)
{
	if (m->nres == m->rescap) {
		m->rescap = m->rescap ? m->rescap * 2 : 256;
		m->res = xreallocarray(m->res, m->rescap, sizeof(struct seg));
	}
	m->res[m->nres].beg = beg;
	m->res[m->nres].len = len;
	m->res[m->nres++].id = id;
}

/* ---- the word cache ---- */

/* A hash of w[0..n), eight bytes at a time. */
static uint64_t
whash(const char *w, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ULL, x;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, w + i, 8);
		h = (h ^ x) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (i < n) {
		x = 0;
		memcpy(&x, w + i, n - i);
		h = (h ^ x) * 0xc4ceb9fe1a85ec53ULL;
	}
	return h ^ (h >> 29);
}

static void
wc_reset(struct wcache *c)
{
	free(c->slot);
	c->mask = 4095;
	c->slot = xcalloc(c->mask + 1, sizeof(*c->slot));
	c->n = c->np = 0;
}

static struct went *
wc_entry(const struct wcache *c, uint32_t off)
{
	return (struct went *)(c->pool + off - 1);
}

/* The 8-byte units of an entry of a word of n bytes and nr segments. */
static size_t
wc_units(size_t n, size_t nr)
{
	return sizeof(struct went) / 8 + (n + 7) / 8 +
	    (nr * sizeof(struct seg) + 7) / 8;
}

/* Twice the slots, for at most half of them used. */
static void
wc_grow(struct wcache *c)
{
	size_t n = (c->mask + 1) * 2;

	free(c->slot);
	c->slot = xcalloc(n, sizeof(*c->slot));
	c->mask = n - 1;
	for (size_t o = 0; o < c->np;) {
		const struct went *e = (const struct went *)(c->pool + o);
		uint64_t h = whash(WKEY(e), e->klen);
		size_t i = h & c->mask;
		while (c->slot[i].off)
			i = (i + 1) & c->mask;
		c->slot[i].off = o + 1;
		c->slot[i].tag = h >> 32;
		o += wc_units(e->klen, e->rn);
	}
}

/* Do w and v, n bytes each, hold the same bytes? */
static int
sameword(const char *w, const char *v, size_t n)
{
	uint64_t x, y;

	for (; n >= 8; n -= 8, w += 8, v += 8) {
		memcpy(&x, w, 8);
		memcpy(&y, v, 8);
		if (x != y)
			return 0;
	}
	for (; n > 0; n--)
		if (*w++ != *v++)
			return 0;
	return 1;
}

/*
 * The entry of word w[0..n), or NULL with *slot and *hash for wc_add()
 * (the cache starts again first when it is full).
 */
static const struct went *
wc_find(struct wcache *c, const char *w, size_t n, size_t *slot,
    uint64_t *hash)
{
	uint64_t h = whash(w, n);
	size_t i;

	if (c->slot == NULL || c->n == CACHEN || c->np > CACHEB / 8)
		wc_reset(c);
	else if (c->n * 2 >= c->mask)
		wc_grow(c);
	for (i = h & c->mask; c->slot[i].off; i = (i + 1) & c->mask) {
		const struct went *e;
		if (c->slot[i].tag != (uint32_t)(h >> 32))
			continue;
		e = wc_entry(c, c->slot[i].off);
		if (e->klen == n && sameword(WKEY(e), w, n))
			return e;
	}
	*slot = i;
	*hash = h;
	return NULL;
}

/* Add word w[0..n) at slot, with its segments r[0..nr) (beg relative). */
static const struct went *
wc_add(struct wcache *c, const char *w, size_t n, size_t slot, uint64_t h,
    const struct seg *r, size_t nr, double gap, double vmax)
{
	size_t units = wc_units(n, nr);
	struct went *e;

	if (c->np + units > c->pcap) {
		c->pcap = (c->np + units) * 2;
		c->pool = xreallocarray(c->pool, c->pcap, 8);
	}
	e = (struct went *)(c->pool + c->np);
	memset(e, 0, units * 8);
	e->gap = gap;
	e->vmax = vmax;
	e->klen = n;
	e->rn = nr;
	memcpy((char *)(e + 1), w, n);
	memcpy((void *)WSEGS(e), r, nr * sizeof(*r));
	c->slot[slot].off = c->np + 1;
	c->slot[slot].tag = h >> 32;
	c->np += units;
	c->n++;
	return e;
}

static void
best_room(struct spm *m, size_t n)
{
	if (n + 1 > m->bestcap) {
		m->bestcap = (n + 1) * 2;
		m->best = xreallocarray(m->best, m->bestcap,
		    sizeof(struct best));
		m->vbest = xreallocarray(m->vbest, m->bestcap,
		    sizeof(struct vbest));
	}
}

/*
 * Unigram: the best path through t[p..q), the best path to p scoring b, as
 * the library's optimised encoder finds it; the segments pushed, the score
 * of the best path to q returned.  No piece crosses p or q (they are the
 * ends of the text, or the starts of words that unigram_text() found).
 */
static float
viterbi(struct spm *m, const char *t, size_t p, size_t q, float b0)
{
	const struct cell *da = m->da;
	struct best *best;
	size_t first = m->nres, e;

	best_room(m, q);
	/* none yet (start -1) */
	best = m->best;
	memset(best + p, 0xff, (q - p + 1) * sizeof(*best));
	best[p].score = b0;
	for (size_t st = p; st < q;) {
		const float till = best[st].score;
		const double tilld = till;
		size_t mb = onechar(t[st]);
		int single = 0;
		int32_t s = 0;

		if (mb > q - st)
			mb = q - st;
		for (size_t k = st; k < q;) {
			int32_t x = da[s].base + (unsigned char)t[k];
			int id;
			if (da[x].check != s)
				break;
			s = x;
			k++;
			if ((id = da[x].id) < 0)
				continue;
			/*
			 * The library's sum: the score (a user-defined
			 * piece's bonus in double) plus the best so far,
			 * in double; kept in float.
			 */
			double sc = da[x].sc;
			if (id > ID_MASK) {
				if (id & ID_UNUSED)
					continue;
				sc = (double)((float)(int64_t)(k - st) *
				    m->maxsc) - 0.1;
				id &= ID_MASK;
			}
			double cand = sc + tilld;
			struct best *b = &best[k];
			if (b->start < 0 || cand > (double)b->score) {
				b->score = (float)cand;
				b->start = st;
				b->id = id;
			}
			if (k - st == mb)
				single = 1;
		}
		if (!single) {
			/* unknown: one character, in float */
			float cand = m->unksc + till;
			struct best *b = &best[st + mb];
			if (b->start < 0 || cand > b->score) {
				b->score = cand;
				b->start = st;
				b->id = m->unk;
			}
		}
		st += mb;
	}
	for (e = q; e > p; e = best[e].start)
		res_push(m, best[e].start, e - best[e].start, best[e].id);
	for (size_t i = first, j = m->nres - 1; i < j; i++, j--) {
		struct seg x = m->res[i];
		m->res[i] = m->res[j];
		m->res[j] = x;
	}
	return best[q].score;
}

/*
 * The same path for a word alone, in exact terms: each path's score a sum
 * in double from 0 (the library's floats round it at each piece), with
 * the least gap between the best and the second best candidate at any
 * character (*gap, 0 for a tie) and the largest score a candidate has, in
 * magnitude (*vmax).  The segments pushed, relative to p.
 */
static void
viterbi_exact(struct spm *m, const char *t, size_t p, size_t q,
    double *gap, double *vmax)
{
	const struct cell *da = m->da;
	struct vbest *vb;
	size_t first = m->nres, e, n = q - p;
	double g = INFINITY, vm = 0;

	best_room(m, n);
	vb = m->vbest;
	for (size_t i = 0; i <= n; i++) {
		vb[i].start = -1;
		vb[i].gap = INFINITY;
	}
	vb[0].v = 0;
#define CAND(at, c, from, piece) do {					\
	struct vbest *b_ = &vb[at];					\
	double c_ = (c);						\
	if (!isfinite(c_))						\
		g = 0;		/* no bound: never from the cache */	\
	if (fabs(c_) > vm)						\
		vm = fabs(c_);						\
	if (b_->start < 0) {						\
		b_->v = c_;						\
		b_->start = (from);					\
		b_->id = (piece);					\
	} else if (c_ > b_->v) {					\
		b_->gap = fmin(b_->gap, c_ - b_->v);			\
		b_->v = c_;						\
		b_->start = (from);					\
		b_->id = (piece);					\
	} else								\
		b_->gap = fmin(b_->gap, b_->v - c_);			\
} while (0)
	for (size_t st = 0; st < n;) {
		const double till = vb[st].v;
		size_t mb = onechar(t[p + st]);
		int single = 0;
		int32_t s = 0;

		if (mb > n - st)
			mb = n - st;
		/* a decision at a character that a path goes through */
		g = fmin(g, vb[st].gap);
		for (size_t k = st; k < n;) {
			int32_t x = da[s].base + (unsigned char)t[p + k];
			int id;
			if (da[x].check != s)
				break;
			s = x;
			k++;
			if ((id = da[x].id) < 0)
				continue;
			double sc = da[x].sc;
			if (id > ID_MASK) {
				if (id & ID_UNUSED)
					continue;
				sc = (double)((float)(int64_t)(k - st) *
				    m->maxsc) - 0.1;
				id &= ID_MASK;
			}
			CAND(k, sc + till, st, id);
			if (k - st == mb)
				single = 1;
		}
		if (!single)
			CAND(st + mb, (double)m->unksc + till, st, m->unk);
		st += mb;
	}
#undef CAND
	g = fmin(g, vb[n].gap);
	for (e = n; e > 0; e = vb[e].start)
		res_push(m, vb[e].start, e - vb[e].start, vb[e].id);
	for (size_t i = first, j = m->nres - 1; i < j; i++, j--) {
		struct seg x = m->res[i];
		m->res[i] = m->res[j];
		m->res[j] = x;
	}
	*gap = g;
	*vmax = vm;
}

/*
 * Unigram over a word t[p..q), the best path to p scoring b0: from the
 * cache when that is exact, else by viterbi().  Returns the score of the
 * best path to q.
 *
 * The cache keeps a word's path of exact sums and its least gap G.  The
 * library's scores are the same sums from b0 with a rounding to float at
 * each piece: with P pieces at most and magnitudes at most
 * A = |b0| + vmax, every float is within P A 2^-24 of its exact value,
 * so that when G > (P + 3) A 2^-22 (twice that and more) every
 * comparison the library makes in the word goes as the exact one, and its
 * path is the cached one.  Its score at q is then recomputed piece by
 * piece with the library's arithmetic.  A word where it is not so (a tie,
 * a large b0 on a long text) goes through viterbi(), and so do words
 * longer than 256 bytes.
 */
static float
unigram_word(struct spm *m, const char *t, size_t p, size_t q, float b0)
{
	struct wcache *c = &m->wc;
	size_t slot = 0, first, n = q - p;
	uint64_t h = 0;
	const struct went *e;
	const struct seg *s;
	float v = b0;

	if (n > 256)
		return viterbi(m, t, p, q, b0);
	if ((e = wc_find(c, t + p, n, &slot, &h)) == NULL) {
		double gap, vmax;
		first = m->nres;
		viterbi_exact(m, t, p, q, &gap, &vmax);
		e = wc_add(c, t + p, n, slot, h, m->res + first,
		    m->nres - first, gap, vmax);
		m->nres = first;
	}
	if (!(e->gap > (double)(n + 3) * ((double)fabsf(b0) + e->vmax) *
	    0x1p-22))
		return viterbi(m, t, p, q, b0);
	s = WSEGS(e);
	for (uint32_t j = 0; j < e->rn; j++) {
		int id = s[j].id;
		if (id == m->unk)
			v = m->unksc + v;	/* never a piece of the trie */
		else if (m->type[id] == P_USER)
			v = (float)((double)((float)(int64_t)s[j].len *
			    m->maxsc) - 0.1 + (double)v);
		else
			v = (float)((double)m->score[id] + (double)v);
		res_push(m, p + s[j].beg, s[j].len, id);
	}
	return v;
}

/*
 * Unigram over t[0..n).  When no piece holds _ past its first byte, no
 * piece crosses the _ that starts a word, and the path is the paths of
 * the words one after the other, each from where the last one ended:
 * words go through unigram_word().  Else the text at once.
 */
static void
unigram(struct spm *m, const char *t, size_t n)
{
	float b = 0;
	size_t p = 0;

	if (!word_cuts(m)) {
		viterbi(m, t, 0, n, 0);
		return;
	}
	for (size_t st = 0; st < n;) {
		size_t k;
		uint64_t x;
		if (st + 8 <= n) {
			/* eight ASCII bytes: eight characters, no _ */
			memcpy(&x, t + st, 8);
			if ((x & 0x8080808080808080ULL) == 0) {
				st += 8;
				continue;
			}
		}
		if ((k = onechar(t[st])) > n - st)
			k = n - st;
		if (st > p && k == 3 && memcmp(t + st, WS, 3) == 0) {
			b = unigram_word(m, t, p, st, b);
			p = st;
		}
		st += k;
	}
	if (n > p)
		unigram_word(m, t, p, n, b);
}

/* The library's PieceToId of t[0..len). */
static int
piece_id(const struct spm *m, const char *t, size_t len)
{
	int id = rfind(m, t, len);

	if (id < 0)
		id = da_find(m, t, len);
	return id < 0 ? m->unk : id;
}

/* The pair heap: the highest score on top, the leftmost of equals. */
static int
above(const struct pair *a, const struct pair *b)
{
	return a->score > b->score || (a->score == b->score &&
	    a->left < b->left);
}

static void
heap_push(struct spm *m, struct pair p)
{
	size_t i;

	if (m->nheap == m->heapcap) {
		m->heapcap = m->heapcap ? m->heapcap * 2 : 256;
		m->heap = xreallocarray(m->heap, m->heapcap,
		    sizeof(struct pair));
	}
	for (i = m->nheap++; i > 0 && above(&p, &m->heap[(i - 1) / 2]);
	    i = (i - 1) / 2)
		m->heap[i] = m->heap[(i - 1) / 2];
	m->heap[i] = p;
}

static struct pair
heap_pop(struct spm *m)
{
	struct pair top = m->heap[0], last = m->heap[--m->nheap];
	size_t i = 0, n = m->nheap;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && above(&m->heap[c + 1], &m->heap[c]))
			c++;
		if (!above(&m->heap[c], &last))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	if (n > 0)
		m->heap[i] = last;
	return top;
}

/* BPE: the pair of symbols l and r, when it spells a piece. */
static void
bpe_pair(struct spm *m, const char *t, int32_t l, int32_t r)
{
	const struct sym *a, *b;
	struct pair p;
	int id;

	if (l < 0 || r < 0 || m->sym[l].freeze || m->sym[r].freeze)
		return;
	a = &m->sym[l];
	b = &m->sym[r];
	if ((id = da_find(m, t + a->beg, a->len + b->len)) < 0)
		return;
	p.score = m->score[id];
	p.left = l;
	p.right = r;
	p.size = a->len + b->len;
	heap_push(m, p);
	if (m->type[id] == P_UNUSED) {
		/* the last pair that spelled it, for resegmenting */
		m->revgen[id] = m->gen;
		m->rev[id][0] = a->beg;
		m->rev[id][1] = a->len;
		m->rev[id][2] = b->len;
	}
}

/* BPE: t[b..b+len) as output, an unused piece split as it was made. */
static void
bpe_out(struct spm *m, const char *t, uint32_t b, uint32_t len)
{
	int id = piece_id(m, t + b, len);

	if (m->type[id] == P_UNUSED && m->revgen[id] == m->gen) {
		uint32_t lb = m->rev[id][0], ll = m->rev[id][1];
		uint32_t rl = m->rev[id][2];
		bpe_out(m, t, lb, ll);
		bpe_out(m, t, lb + ll, rl);
		return;
	}
	res_push(m, b, len, id);
}

/* BPE over t[b..e): the segments, beg relative to t. */
static void
bpe(struct spm *m, const char *t, size_t b, size_t e)
{
	size_t ns = 0;

	if (e - b > m->symcap) {
		m->symcap = (e - b) * 2;
		m->sym = xreallocarray(m->sym, m->symcap, sizeof(struct sym));
	}
	if (m->nunused && m->revgen == NULL) {
		m->revgen = xcalloc(m->n, sizeof(uint32_t));
		m->rev = xcalloc(m->n, sizeof(*m->rev));
	}
	m->gen++;
	for (size_t i = b; i < e; ns++) {
		int user;
		size_t k = prefix_match(m, t + i, e - i, &user);
		m->sym[ns].prev = (int32_t)ns - 1;
		m->sym[ns].next = ns + 1;
		m->sym[ns].beg = i;
		m->sym[ns].len = k;
		m->sym[ns].freeze = user;
		i += k;
	}
	if (ns == 0)
		return;
	m->sym[ns - 1].next = -1;
	m->nheap = 0;
	for (size_t i = 1; i < ns; i++)
		bpe_pair(m, t, i - 1, i);
	while (m->nheap > 0) {
		struct pair p = heap_pop(m);
		struct sym *l = &m->sym[p.left], *r = &m->sym[p.right];
		if (l->len == 0 || r->len == 0 || l->len + r->len != p.size)
			continue;
		l->len += r->len;
		l->next = r->next;
		if (r->next >= 0)
			m->sym[r->next].prev = p.left;
		r->len = 0;
		bpe_pair(m, t, l->prev, p.left);
		bpe_pair(m, t, p.left, l->next);
	}
	for (int32_t i = 0; i != -1; i = m->sym[i].next)
		bpe_out(m, t, m->sym[i].beg, m->sym[i].len);
}

/* BPE over t[b..e), a word: from the cache, or segmented and kept. */
static void
bpe_word(struct spm *m, const char *t, size_t b, size_t e)
{
	struct wcache *c = &m->wc;
	size_t slot = 0, first = m->nres;
	uint64_t h = 0;
	const struct went *w;
	const struct seg *s;

	if ((w = wc_find(c, t + b, e - b, &slot, &h)) == NULL) {
		bpe(m, t, b, e);
		for (size_t j = first; j < m->nres; j++)
			m->res[j].beg -= b;
		w = wc_add(c, t + b, e - b, slot, h, m->res + first,
		    m->nres - first, 0, 0);
		m->nres = first;
	}
	s = WSEGS(w);
	for (uint32_t j = 0; j < w->rn; j++)
		res_push(m, b + s[j].beg, s[j].len, s[j].id);
}

/* BPE over t[0..n): word by word from the cache when that is exact. */
static void
bpe_text(struct spm *m, const char *t, size_t n)
{
	size_t b = 0;

	if (!word_cuts(m)) {
		bpe(m, t, 0, n);
		return;
	}
	/* the symbols as bpe() would start them; a word at each _ */
	for (size_t i = 0; i < n;) {
		int user;
		size_t k = prefix_match(m, t + i, n - i, &user);
		if (i > b && k == 3 && memcmp(t + i, WS, 3) == 0) {
			bpe_word(m, t, b, i);
			b = i;
		}
		i += k;
	}
	if (n > b)
		bpe_word(m, t, b, n);
}

/*
 * Word: the library's SplitIntoWords, each word a piece: a word starts at
 * each _.  (Its word model calls it with treat_whitespace_as_suffix and
 * allow_whitespace_only_pieces false, whatever the file says.)
 */
static void
words(struct spm *m, const char *t, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n;) {
		size_t k = onechar(t[i]);
		if (k > n - i)
			k = n - i;
		if (i > b && k == 3 && memcmp(t + i, WS, 3) == 0) {
			res_push(m, b, i - b, piece_id(m, t + b, i - b));
			b = i;
		}
		i += k;
	}
	if (n > b)
		res_push(m, b, n - b, piece_id(m, t + b, n - b));
}

/* Char: a piece per character (or user-defined piece). */
static void
chars(struct spm *m, const char *t, size_t n)
{
	for (size_t i = 0; i < n;) {
		int user;
		size_t k = prefix_match(m, t + i, n - i, &user);
		res_push(m, i, k, piece_id(m, t + i, k));
		i += k;
	}
}

/* ---- the pieces of a text ---- */

static struct spm_piece *
out_push(struct spm *m, int slot, size_t *n)
{
	if (*n == m->outcap[slot]) {
		m->outcap[slot] = m->outcap[slot] ? m->outcap[slot] * 2 : 256;
		m->out[slot] = xreallocarray(m->out[slot], m->outcap[slot],
		    sizeof(struct spm_piece));
	}
	return &m->out[slot][(*n)++];
}

long
spm_encode(struct spm *m, int slot, const char *text, size_t len,
    const struct spm_piece **out)
{
	size_t nn, np = 0;
	const char *t;
	const uint32_t *n2o;
	int prevunk = 0;

	*out = NULL;
	m->nres = 0;
	if ((nn = normalize(m, slot, text, len)) == 0)
		return 0;
	t = m->norm[slot];
	n2o = m->n2o[slot];
	switch (m->model) {
	case M_BPE:
		bpe_text(m, t, nn);
		break;
	case M_WORD:
		words(m, t, nn);
		break;
	case M_CHAR:
		chars(m, t, nn);
		break;
	default:
		unigram(m, t, nn);
	}
	for (size_t i = 0, at = 0; i < m->nres; i++) {
		/*
		 * The spans as the library counts them, by the lengths so
		 * far (at), not by where the piece is: a BPE piece split
		 * again is the same text from wherever the library last
		 * met it, and a control piece (a word or a character that
		 * spells one) counts nothing.
		 */
		const struct seg *r = &m->res[i];
		const char *w = t + r->beg;
		int unk = m->type[r->id] == P_UNKNOWN;
		uint32_t ob = n2o[at], oe;
		struct spm_piece *p;

		if (m->type[r->id] == P_CONTROL) {
			p = out_push(m, slot, &np);
			p->id = r->id;
			p->s = w;
			p->len = r->len;
			p->beg = p->end = ob;
			prevunk = 0;
			continue;
		}
		oe = n2o[at + r->len];
		at += r->len;
		if (unk && m->bytefb) {
			for (uint32_t j = 0; j < r->len; j++) {
				int id = m->bytepiece[(unsigned char)w[j]];
				p = out_push(m, slot, &np);
				p->id = id;
				p->s = m->piece[id];
				p->len = m->plen[id];
				p->beg = ob;
				p->end = j + 1 == r->len ? oe : ob;
			}
		} else if (unk && prevunk) {
			p = &m->out[slot][np - 1];
			p->len += r->len;
			p->end = oe;
		} else {
			p = out_push(m, slot, &np);
			p->id = r->id;
			p->s = w;
			p->len = r->len;
			p->beg = ob;
			p->end = oe;
		}
		prevunk = unk;
	}
	*out = m->out[slot];
	return np;
}
