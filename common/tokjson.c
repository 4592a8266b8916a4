/*
 * tokjson.c -- Hugging Face's tokenizer.json, read into the family it
 * describes:
 *
 *	model BPE, pre-tokenizer ByteLevel	RoBERTa's byte-level BPE
 *	model Unigram, post-processor with	ALBERT's SentencePiece (the
 *	    a second segment of type 1		    normaliser's Lowercase and
 *						    StripAccents say the casing)
 *	model Unigram, RobertaProcessing	XLM-R's SentencePiece, the ids
 *						    as the file numbers them
 *	model WordPiece				BERT's WordPiece
 *
 * A Unigram model becomes a SentencePiece ModelProto, written here (the
 * pieces with their scores, the Precompiled normaliser's charsmap), that
 * common/spm.c loads: the segmentation is then the same as for
 * spiece.model.  The special tokens and template come from the
 * post-processor (RobertaProcessing, BertProcessing, TemplateProcessing).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bpe.h"
#include "spm.h"
#include "tokjson.h"
#include "util.h"
#include "wordpiece.h"

static const cJSON *
get(const cJSON *j, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(j, k);
}

static const char *
type(const cJSON *j)
{
	const cJSON *x = get(j, "type");

	return cJSON_IsString(x) ? x->valuestring : "";
}

/* Is there a component of type ty in j, or in its Sequence? */
static int
has(const cJSON *j, const char *list, const char *ty)
{
	const cJSON *e;

	if (j == NULL || cJSON_IsNull(j))
		return 0;
	if (strcmp(type(j), ty) == 0)
		return 1;
	if (strcmp(type(j), "Sequence") == 0)
		cJSON_ArrayForEach(e, get(j, list))
			if (has(e, list, ty))
				return 1;
	return 0;
}

/* That component itself, or NULL. */
static const cJSON *
find(const cJSON *j, const char *list, const char *ty)
{
	const cJSON *e, *r;

	if (j == NULL || cJSON_IsNull(j))
		return NULL;
	if (strcmp(type(j), ty) == 0)
		return j;
	if (strcmp(type(j), "Sequence") == 0)
		cJSON_ArrayForEach(e, get(j, list))
			if ((r = find(e, list, ty)) != NULL)
				return r;
	return NULL;
}

/* ---- a protobuf writer, enough for a ModelProto ---- */

struct pb {
	unsigned char *p;
	size_t n, cap;
};

static void
pb_byte(struct pb *b, unsigned c)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	b->p[b->n++] = c;
}

static void
pb_varint(struct pb *b, uint64_t v)
{
	while (v >= 0x80) {
		pb_byte(b, (v & 0x7f) | 0x80);
		v >>= 7;
	}
	pb_byte(b, v);
}

static void
pb_bytes(struct pb *b, int field, const void *s, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	for (size_t i = 0; i < n; i++)
		pb_byte(b, ((const unsigned char *)s)[i]);
}

static void
pb_int(struct pb *b, int field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void
pb_float(struct pb *b, int field, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	pb_varint(b, (uint64_t)field << 3 | 5);
	for (int i = 0; i < 4; i++)
		pb_byte(b, u >> (8 * i));
}

/* Base64 s into *out (NULL on bad input). */
static unsigned char *
unbase64(const char *s, size_t *n)
{
	size_t len = strlen(s), k = 0;
	unsigned char *out = xmalloc(len / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		int c = s[i], v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=')
			break;
		else {
			free(out);
			return NULL;
		}
		acc = acc << 6 | v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[k++] = acc >> bits;
		}
	}
	*n = k;
	return out;
}

/* The Unigram model as a serialised ModelProto, loaded. */
static int
unigram(struct tokenizer *t, const cJSON *j, const cJSON *model,
    const char *path, char *err, size_t errlen)
{
	const cJSON *vocab = get(model, "vocab"), *unk = get(model, "unk_id");
	const cJSON *e, *added = get(j, "added_tokens"), *pc;
	struct pb pb = { 0 }, piece = { 0 }, spec = { 0 };
	int id = 0, nunk = 0;

	if (!cJSON_IsArray(vocab) || cJSON_GetArraySize(vocab) == 0) {
		snprintf(err, errlen, "%s: the Unigram vocabulary is not an "
		    "array of [piece, score]", path);
		return -1;
	}
	cJSON_ArrayForEach(e, vocab) {
		const cJSON *p = cJSON_GetArrayItem(e, 0);
		const cJSON *s = cJSON_GetArrayItem(e, 1);
		int ty = 1;	/* NORMAL */
		if (!cJSON_IsArray(e) || !cJSON_IsString(p) ||
		    !cJSON_IsNumber(s)) {
			snprintf(err, errlen, "%s: vocabulary entry %d is not "
			    "[piece, score]", path, id);
			free(pb.p);
			free(piece.p);
			return -1;
		}
		if (cJSON_IsNumber(unk) && unk->valueint == id) {
			ty = 2;		/* UNKNOWN */
			nunk++;
		} else {
			const cJSON *a, *c, *sp;
			cJSON_ArrayForEach(a, added) {
				c = get(a, "content");
				sp = get(a, "special");
				if (cJSON_IsString(c) && cJSON_IsTrue(sp) &&
				    strcmp(c->valuestring, p->valuestring) == 0)
					ty = 3;		/* CONTROL */
			}
		}
		piece.n = 0;
		pb_bytes(&piece, 1, p->valuestring, strlen(p->valuestring));
		pb_float(&piece, 2, (float)s->valuedouble);
		pb_int(&piece, 3, ty);
		pb_bytes(&pb, 1, piece.p, piece.n);
		id++;
	}
	if (nunk != 1) {
		snprintf(err, errlen, "%s: the Unigram model has no unk_id in "
		    "its vocabulary", path);
		free(pb.p);
		free(piece.p);
		return -1;
	}
	/* trainer_spec: model_type UNIGRAM, unk_id */
	spec.n = 0;
	pb_int(&spec, 3, 1);
	pb_int(&spec, 40, unk->valueint);
	pb_bytes(&pb, 2, spec.p, spec.n);
	/* normalizer_spec: the charsmap, dummy prefix, white space */
	spec.n = 0;
	pb_bytes(&spec, 1, "nmt_nfkc", 8);
	pc = find(get(j, "normalizer"), "normalizers", "Precompiled");
	if (pc != NULL && cJSON_IsString(get(pc, "precompiled_charsmap"))) {
		size_t n;
		unsigned char *map = unbase64(get(pc,
		    "precompiled_charsmap")->valuestring, &n);
		if (map == NULL) {
			snprintf(err, errlen, "%s: the precompiled_charsmap is "
			    "not base64", path);
			free(pb.p);
			free(piece.p);
			free(spec.p);
			return -1;
		}
		pb_bytes(&spec, 2, map, n);
		free(map);
	} else
		pb_bytes(&spec, 1, "identity", 8);
	pb_int(&spec, 3, 1);
	pb_int(&spec, 4, 1);
	pb_int(&spec, 5, 1);
	pb_bytes(&pb, 3, spec.p, spec.n);
	t->spm = spm_load_proto(pb.p, pb.n, path, err, errlen);
	free(pb.p);
	free(piece.p);
	free(spec.p);
	return t->spm ? 0 : -1;
}

/* WordPiece: the vocabulary by id through a file for wp_load(). */
static int
wordpiece(struct tokenizer *t, const cJSON *model, const char *path,
    char *err, size_t errlen)
{
	const cJSON *vocab = get(model, "vocab"), *e;
	char tmp[] = "/tmp/tokjsonXXXXXX";
	const char **w;
	int n = 0, fd, r;
	FILE *fp;

	if (!cJSON_IsObject(vocab)) {
		snprintf(err, errlen, "%s: the WordPiece vocabulary is not an "
		    "object", path);
		return -1;
	}
	cJSON_ArrayForEach(e, vocab) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
		    e->valuedouble >= 1 << 24 || strchr(e->string, '\n')) {
			snprintf(err, errlen, "%s: the id of '%.40s' is not an "
			    "id from 0 to 2^24", path, e->string);
			return -1;
		}
		if (e->valueint >= n)
			n = e->valueint + 1;
	}
	w = xcalloc(n, sizeof(char *));
	cJSON_ArrayForEach(e, vocab)
		w[e->valueint] = e->string;
	if ((fd = mkstemp(tmp)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: a temporary file: %s", path,
		    strerror(errno));
		free(w);
		return -1;
	}
	for (int i = 0; i < n; i++)
		fprintf(fp, "%s\n", w[i] ? w[i] : "[unused-id]");
	free(w);
	fclose(fp);
	t->wp = xcalloc(1, sizeof(*t->wp));
	r = wp_load(t->wp, tmp, err, errlen);
	unlink(tmp);
	if (r == -1)
		snprintf(err, errlen, "%s: the WordPiece vocabulary has no "
		    "[CLS], [SEP] or [UNK]", path);
	return r;
}

/* The id of a post-processor's [token, id] pair. */
static int
pairid(const cJSON *x)
{
	const cJSON *id = cJSON_GetArrayItem(x, 1);

	return cJSON_IsArray(x) && cJSON_IsNumber(id) ? id->valueint : -1;
}

/* The id of TemplateProcessing's special token name. */
static int
special(const cJSON *pp, const char *name)
{
	const cJSON *s = get(get(pp, "special_tokens"), name);
	const cJSON *ids = get(s, "ids");

	if (cJSON_GetArraySize(ids) != 1 ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(ids, 0)))
		return -1;
	return cJSON_GetArrayItem(ids, 0)->valueint;
}

/*
 * The template from the post-processor: first A last [sep2] B last, and
 * B's segment.
 */
static int
post(struct tokenizer *t, const cJSON *pp, const char *path, char *err,
    size_t errlen)
{
	const char *ty = type(pp);

	t->sep2 = -1;
	if (strcmp(ty, "RobertaProcessing") == 0) {
		t->first = pairid(get(pp, "cls"));
		t->last = t->sep2 = pairid(get(pp, "sep"));
		t->segb = 0;
	} else if (strcmp(ty, "BertProcessing") == 0) {
		t->first = pairid(get(pp, "cls"));
		t->last = pairid(get(pp, "sep"));
		t->segb = 1;
	} else if (strcmp(ty, "TemplateProcessing") == 0) {
		/* single: S A S; pair: S A S (S) B S */
		const cJSON *single = get(pp, "single"), *pair = get(pp, "pair");
		const cJSON *e;
		int k = 0, seen = 0;
		t->first = t->last = -1;
		cJSON_ArrayForEach(e, single) {
			const cJSON *sp = get(e, "SpecialToken");
			if (get(e, "Sequence"))
				seen = 1;
			else if (sp && cJSON_IsString(get(sp, "id"))) {
				int id = special(pp, get(sp, "id")->valuestring);
				if (seen)
					t->last = id;
				else
					t->first = id;
			}
		}
		cJSON_ArrayForEach(e, pair) {
			const cJSON *sq = get(e, "Sequence");
			const cJSON *sp = get(e, "SpecialToken");
			if (sq && k == 0)
				k = 1;
			else if (sq) {
				const cJSON *ti = get(sq, "type_id");
				t->segb = cJSON_IsNumber(ti) ? ti->valueint : 0;
				break;
			} else if (sp && k >= 1 && k++ == 2 &&
			    cJSON_IsString(get(sp, "id")))
				t->sep2 = special(pp, get(sp, "id")->valuestring);
		}
	} else {
		snprintf(err, errlen, "%s: post_processor '%s' is not "
		    "RobertaProcessing, BertProcessing or TemplateProcessing",
		    path, ty);
		return -1;
	}
	if (t->first < 0 || t->last < 0) {
		snprintf(err, errlen, "%s: the post_processor has no special "
		    "tokens around the text", path);
		return -1;
	}
	return 0;
}

int
tokjson_open(struct tokenizer *t, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *text = NULL;
	size_t n = 0, cap = 0, k;
	cJSON *j;
	const cJSON *model, *norm;
	const char *ty;
	int r = -1;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			text = xreallocarray(text, cap, 1);
		}
		n += k = fread(text + n, 1, cap - n, fp);
	} while (k > 0);
	fclose(fp);
	j = cJSON_ParseWithLength(text, n);
	free(text);
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		cJSON_Delete(j);
		return -1;
	}
	model = get(j, "model");
	norm = get(j, "normalizer");
	ty = type(model);
	if (strcmp(ty, "BPE") == 0) {
		const cJSON *bl = find(get(j, "pre_tokenizer"),
		    "pretokenizers", "ByteLevel"), *unk;
		if (bl == NULL) {
			snprintf(err, errlen, "%s: a BPE model without the "
			    "ByteLevel pre-tokenizer is not supported", path);
			goto out;
		}
		if (cJSON_IsTrue(get(bl, "add_prefix_space"))) {
			snprintf(err, errlen, "%s: ByteLevel's "
			    "add_prefix_space is not supported", path);
			goto out;
		}
		t->family = TOK_ROBERTA;
		if ((t->bpe = bpe_from_json(get(model, "vocab"),
		    get(model, "merges"), path, err, errlen)) == NULL)
			goto out;
		unk = get(model, "unk_token");
		if (cJSON_IsString(unk))
			bpe_set_unk(t->bpe, bpe_id(t->bpe, unk->valuestring));
	} else if (strcmp(ty, "Unigram") == 0) {
		if (unigram(t, j, model, path, err, errlen) == -1)
			goto out;
		if (strcmp(type(get(j, "post_processor")),
		    "RobertaProcessing") == 0)
			t->family = TOK_XLMR;
		else {
			t->family = TOK_ALBERT;
			if (t->lower == -1)
				t->lower = has(norm, "normalizers",
				    "Lowercase");
			t->keep_accents = !has(norm, "normalizers",
			    "StripAccents");
		}
	} else if (strcmp(ty, "WordPiece") == 0) {
		const cJSON *bn = find(norm, "normalizers", "BertNormalizer");
		t->family = TOK_BERT;
		if (wordpiece(t, model, path, err, errlen) == -1)
			goto out;
		if (t->lower == -1)
			t->lower = bn ? !cJSON_IsFalse(get(bn, "lowercase")) :
			    has(norm, "normalizers", "Lowercase");
	} else {
		snprintf(err, errlen, "%s: model type '%s' is not BPE, Unigram "
		    "or WordPiece", path, ty);
		goto out;
	}
	r = post(t, get(j, "post_processor"), path, err, errlen);
out:
	cJSON_Delete(j);
	return r;
}

/* Is tokenizer.json's model WordPiece?  (Then vocab.txt does as well.) */
int
tokjson_wordpiece(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *text = NULL;
	size_t n = 0, cap = 0, k;
	cJSON *j;
	int r;

	if (fp == NULL)
		return 0;
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			text = xreallocarray(text, cap, 1);
		}
		n += k = fread(text + n, 1, cap - n, fp);
	} while (k > 0);
	fclose(fp);
	j = cJSON_ParseWithLength(text, n);
	free(text);
	r = strcmp(type(get(j, "model")), "WordPiece") == 0;
	cJSON_Delete(j);
	return r;
}
