/*
 * tokenize -- text, sentence pairs and GLUE task files to the token records
 * of BERT: [CLS] a [SEP] (b [SEP]), WordPiece ids and segment ids.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "glue.h"
#include "model.h"
#include "rec.h"
#include "tokenizer.h"
#include "util.h"
#include "wordpiece.h"

static struct {
	const struct glue_task *task;
	int	 lower, maxlen, lenient, verbose, gz, noheader, offsets;
	long	 sample;
	uint64_t seed;
} opt = { .lower = -1, .maxlen = 128 };

static struct wp_vocab vocab;
static size_t nskipped;
static struct tokenizer tk;	/* another family's (-m, --tokenizer) */
static int family;		/* 1: tk, not vocab */

static void
usage(void)
{
	fprintf(stderr, "usage: tokenize -v vocab | -m model [-z] "
	    "[-t task [--no-header]] [--cased | --uncased]\n"
	    "                [--max-len n] "
	    "[--tokenizer bert|roberta|albert|xlmr|json] [--offsets]\n"
	    "                [--sample n [--seed s]] [--lenient] [--verbose] "
	    "[file ...]\n");
	exit(2);
}

/* A problem with one input line: an error, or with --lenient a warning. */
static int
bad(const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(const char *file, size_t line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!opt.lenient)
		errx(1, "%s:%zu: %s", file, line, msg);
	warnx("%s:%zu: %s (skipped)", file, line, msg);
	nskipped++;
	return -1;
}

/*
 * A record's values go out as msgpack bytes made here, encoded as
 * msgpack-c encodes them (each token's string comes ready from tokenc,
 * built once); its keys, and the label, go through rec, which counts them.
 */
static unsigned char *tokenc;	/* every token as a msgpack str */
static size_t *tokoff;		/* by id: where in tokenc (n + 1) */
static size_t tokmax;		/* the longest encoding */

static struct {
	unsigned char	*p;
	size_t		 cap;
} ob;				/* the record being made */

/* A string header (fixstr, str 8, 16, 32). */
static unsigned char *
strhdr(unsigned char *p, size_t n)
{
	if (n < 32) {
		*p++ = 0xa0 | n;
	} else if (n < 256) {
		*p++ = 0xd9;
		*p++ = n;
	} else if (n < 65536) {
		*p++ = 0xda;
		*p++ = n >> 8;
		*p++ = n;
	} else {
		*p++ = 0xdb;
		*p++ = n >> 24;
		*p++ = n >> 16;
		*p++ = n >> 8;
		*p++ = n;
	}
	return p;
}

/* An array header (0x90 | n, array 16, array 32). */
static unsigned char *
arrhdr(unsigned char *p, size_t n)
{
	if (n < 16) {
		*p++ = 0x90 | n;
	} else if (n < 65536) {
		*p++ = 0xdc;
		*p++ = n >> 8;
		*p++ = n;
	} else {
		*p++ = 0xdd;
		*p++ = n >> 24;
		*p++ = n >> 16;
		*p++ = n >> 8;
		*p++ = n;
	}
	return p;
}

/* A non-negative int, in the fewest bytes. */
static unsigned char *
putuint(unsigned char *p, unsigned v)
{
	if (v < 128) {
		*p++ = v;
	} else if (v < 256) {
		*p++ = 0xcc;
		*p++ = v;
	} else if (v < 65536) {
		*p++ = 0xcd;
		*p++ = v >> 8;
		*p++ = v;
	} else {
		*p++ = 0xce;
		*p++ = v >> 24;
		*p++ = v >> 16;
		*p++ = v >> 8;
		*p++ = v;
	}
	return p;
}

static unsigned char *
str(unsigned char *p, const char *s, size_t n)
{
	p = strhdr(p, n);
	memcpy(p, s, n);
	return p + n;
}

static unsigned char *
cstr(unsigned char *p, const char *s)
{
	return str(p, s, strlen(s));
}

/* Every token encoded, with 32 bytes to spare for put()'s copies. */
static void
tokenc_init(int nword, char **word, const size_t *len)
{
	size_t size = 0;

	tokoff = xreallocarray(NULL, nword + 1, sizeof(size_t));
	for (int i = 0; i < nword; i++)
		size += 5 + len[i];
	tokenc = xcalloc(size + 32, 1);
	tokoff[0] = 0;
	for (int i = 0; i < nword; i++) {
		unsigned char *p = str(tokenc + tokoff[i], word[i], len[i]);
		tokoff[i + 1] = p - tokenc;
		if (tokoff[i + 1] - tokoff[i] > tokmax)
			tokmax = tokoff[i + 1] - tokoff[i];
	}
}

/* ob.p[0..n) out, as they are (msgpack_pack_str_body() appends bytes). */
static void
flush(struct rec_writer *w, const unsigned char *end)
{
	msgpack_pack_str_body(rec_packer(w), ob.p, end - ob.p);
}

/* The bytes made so far out, then key k; returns ob.p for its value. */
static unsigned char *
key(struct rec_writer *w, unsigned char *p, const char *k)
{
	flush(w, p);
	rec_key(w, k);
	return ob.p;
}

/*
 * --offsets: each token's character span in its text and its word,
 * numbered through the record; -1 for the special tokens.
 */
static struct {
	uint32_t *beg, *end;
	long	 *word;
	size_t	  cap;
} offs;

/* In offs from k on: list l's spans as characters of text[0..len). */
static size_t
offsets(size_t k, const struct tok_list *l, const char *text, size_t len,
    long *word)
{
	static uint32_t *ch;
	static size_t chcap;
	long last = -1;

	if (len + 1 > chcap) {
		chcap = (len + 1) * 2;
		ch = xreallocarray(ch, chcap, sizeof(uint32_t));
	}
	for (size_t i = 0, c = 0; i <= len; i++) {
		ch[i] = c;
		if (i < len && ((unsigned char)text[i] & 0xc0) != 0x80)
			c++;
	}
	for (size_t i = 0; i < l->n; i++, k++) {
		size_t b = l->beg[i] <= len ? l->beg[i] : len;
		size_t e = l->end[i] <= len ? l->end[i] : len, b0 = b, e0 = e;
		/* RoBERTa's (trim_offsets): without spaces at either end */
		while (tk.family == TOK_ROBERTA && b < e && text[b] == ' ')
			b++;
		while (tk.family == TOK_ROBERTA && e > b && text[e - 1] == ' ')
			e--;
		if (b == e) {
			b = b0;
			e = e0;
		}
		offs.beg[k] = ch[b];
		offs.end[k] = ch[e];
		if (i == 0 || l->word[i] != (uint32_t)last)
			++*word;
		last = l->word[i];
		offs.word[k] = *word;
	}
	return k;
}

/* The offsets and words keys of the record's T tokens, at p. */
static unsigned char *
put_offsets(struct rec_writer *w, unsigned char *p, size_t T)
{
	p = key(w, p, "offsets");
	p = arrhdr(p, T);
	for (size_t i = 0; i < T; i++) {
		*p++ = 0x92;
		p = putuint(p, offs.word[i] < 0 ? 0 : offs.beg[i]);
		p = putuint(p, offs.word[i] < 0 ? 0 : offs.end[i]);
	}
	p = key(w, p, "words");
	p = arrhdr(p, T);
	for (size_t i = 0; i < T; i++)
		if (offs.word[i] < 0)
			*p++ = 0xc0;	/* nil */
		else
			p = putuint(p, offs.word[i]);
	return p;
}

/*
 * The ids of a family's tokenizer for a (and b), with its special tokens,
 * truncated longest first; in *nb how many are of segment 0.  Returns
 * their number, or 0 after a bad line.
 */
static size_t
family_ids(const char *a, size_t la, const char *b, size_t lb,
    const char *file, size_t line, int **idsp, size_t *nb)
{
	static struct tok_list ta, tb;
	static int *ids;
	static size_t cap;
	size_t off, T, k = 0;
	int nspecial = b == NULL ? 2 : tk.sep2 >= 0 ? 4 : 3;
	long room = opt.maxlen - nspecial;

	ta.n = tb.n = 0;
	if (tok_encode(&tk, a, la, &ta, &off) == -1) {
		bad(file, line, "invalid UTF-8 at byte %zu of %s", off,
		    b ? "the first sentence" : "the sentence");
		return 0;
	}
	if (b && tok_encode(&tk, b, lb, &tb, &off) == -1) {
		bad(file, line, "invalid UTF-8 at byte %zu of the second "
		    "sentence", off);
		return 0;
	}
	if (room < 0)
		room = 0;
	while (ta.n + tb.n > (size_t)room) {
		if (b == NULL || ta.n > tb.n)
			ta.n--;
		else
			tb.n--;
	}
	T = ta.n + nspecial + tb.n;
	if (T > cap) {
		cap = T * 2;
		ids = xreallocarray(ids, cap, sizeof(int));
	}
	ids[k++] = tk.first;
	memcpy(ids + k, ta.id, ta.n * sizeof(int));
	k += ta.n;
	ids[k++] = tk.last;
	*nb = k;
	if (b) {
		if (tk.sep2 >= 0)
			ids[k++] = tk.sep2;
		memcpy(ids + k, tb.id, tb.n * sizeof(int));
		k += tb.n;
		ids[k++] = tk.last;
	}
	if (tk.segb == 0)
		*nb = k;
	*idsp = ids;
	if (opt.offsets) {
		long word = -1;
		if (T > offs.cap) {
			offs.cap = T * 2;
			offs.beg = xreallocarray(offs.beg, offs.cap, 4);
			offs.end = xreallocarray(offs.end, offs.cap, 4);
			offs.word = xreallocarray(offs.word, offs.cap,
			    sizeof(long));
		}
		for (size_t i = 0; i < T; i++)
			offs.word[i] = -1;
		offsets(1, &ta, a, la, &word);
		if (b)
			offsets(ta.n + (tk.sep2 >= 0 ? 3 : 2), &tb, b, lb,
			    &word);
	}
	return T;
}

/*
 * The record of sentence a (and b, unless NULL), la and lb bytes, with
 * the label of lab (unless NULL).
 */
static void
put(struct rec_writer *w, const char *id, const char *a, size_t la,
    const char *b, size_t lb, const struct glue_row *lab, const char *file,
    size_t line)
{
	static struct wp_toks ta, tb;
	static int *ids;
	static size_t idcap;
	size_t off, T, k, nb, need;
	unsigned char *p;
	int haslabel = lab != NULL && lab->haslabel;

	if (family) {
		if ((T = family_ids(a, la, b, lb, file, line, &ids, &nb)) == 0)
			return;
		goto record;
	}
	ta.n = tb.n = 0;
	if (wp_tokenize(&vocab, a, la, opt.lower, &ta, &off) == -1) {
		bad(file, line, "invalid UTF-8 at byte %zu of %s", off,
		    b ? "the first sentence" : "the sentence");
		return;
	}
	if (b && wp_tokenize(&vocab, b, lb, opt.lower, &tb, &off) == -1) {
		bad(file, line, "invalid UTF-8 at byte %zu of the second "
		    "sentence", off);
		return;
	}
	/*
	 * Truncate longest first to max-len with [CLS] and the [SEP]s: one
	 * token at a time from the end of the longer (of b on a tie).
	 */
	int room = opt.maxlen - (b ? 3 : 2);
	if (room < 0)
		room = 0;
	while (ta.n + tb.n > (size_t)room) {
		if (b == NULL || ta.n > tb.n)
			ta.n--;
		else
			tb.n--;
	}
	T = ta.n + 2 + (b ? tb.n + 1 : 0);
	if (T > idcap) {
		idcap = T * 2;
		ids = xreallocarray(ids, idcap, sizeof(int));
	}
	k = 0;
	ids[k++] = vocab.cls;
	memcpy(ids + k, ta.id, ta.n * sizeof(int));
	k += ta.n;
	ids[k++] = vocab.sep;
	nb = k;
	if (b) {
		memcpy(ids + k, tb.id, tb.n * sizeof(int));
		k += tb.n;
		ids[k++] = vocab.sep;
	}

	/* The record: strings, then the arrays. */
record:
	need = 128 + strlen(id) + la + lb + T * (tokmax + 5 + 1) + 32 +
	    (opt.offsets ? T * 16 + 32 : 0);
	if (need > ob.cap) {
		ob.cap = need * 2;
		ob.p = xreallocarray(ob.p, ob.cap, 1);
	}
	rec_map_begin(w);
	p = key(w, ob.p, "id");
	p = cstr(p, id);
	if (opt.task) {
		p = key(w, p, "task");
		p = cstr(p, opt.task->name);
	}
	if (haslabel) {
		flush(w, p);
		if (lab->haslabel == 2)
			rec_put_num(w, "label", lab->flabel);
		else
			rec_put_int(w, "label", lab->ilabel);
		p = ob.p;
	}
	p = key(w, p, "text_a");
	p = str(p, a, la);
	if (b) {
		p = key(w, p, "text_b");
		p = str(p, b, lb);
	}
	p = key(w, p, "tokens");
	p = arrhdr(p, T);
	for (size_t i = 0; i < T; i++) {
		const unsigned char *t = tokenc + tokoff[ids[i]];
		size_t n = tokoff[ids[i] + 1] - tokoff[ids[i]];
		if (n <= 32)
			memcpy(p, t, 32);	/* a fixed size: no call */
		else
			memcpy(p, t, n);
		p += n;
	}
	p = key(w, p, "ids");
	p = arrhdr(p, T);
	for (size_t i = 0; i < T; i++)
		p = putuint(p, ids[i]);
	p = key(w, p, "seg");
	p = arrhdr(p, T);
	memset(p, 0, nb);
	memset(p + nb, 1, T - nb);
	p += T;
	if (opt.offsets)
		p = put_offsets(w, p, T);
	flush(w, p);
	rec_map_end(w);
	rec_whole(w);	/* on a bad line later, this record goes out */
}

/* buf = s "/" t "/" n, or s "/" n when t is NULL; buf has room for it. */
static void
mkid(char *buf, const char *s, const char *t, unsigned long long n)
{
	char d[24], *q = d + sizeof(d);
	size_t k;

	k = strlen(s);
	memcpy(buf, s, k);
	buf += k;
	*buf++ = '/';
	if (t != NULL) {
		k = strlen(t);
		memcpy(buf, t, k);
		buf += k;
		*buf++ = '/';
	}
	do
		*--q = '0' + n % 10;
	while ((n /= 10) > 0);
	memcpy(buf, q, d + sizeof(d) - q);
	buf[d + sizeof(d) - q] = '\0';
}

/* One data row of a GLUE file, line[0..len). */
static void
row(struct rec_writer *w, const struct glue_file *gf, char *line, size_t len,
    const char *file, const char *base, size_t lineno, long n)
{
	struct glue_row r;
	char id[512], err[512];

	if (glue_row(gf, line, len, &r, err, sizeof(err)) == -1) {
		bad(file, lineno, "%s", err);
		return;
	}
	mkid(id, opt.task->name, base, n);
	put(w, id, r.a, r.alen, r.b, r.blen, &r, file, lineno);
}

/* A line of text, line[0..len): one sentence, or two with a TAB between. */
static void
text_line(struct rec_writer *w, char *line, size_t len, const char *base,
    size_t lineno, const char *file)
{
	char id[512], *tab = memchr(line, '\t', len);
	size_t la = tab ? (size_t)(tab - line) : len;

	if (tab != NULL)
		*tab++ = '\0';
	mkid(id, base, NULL, lineno);
	put(w, id, line, la, tab, tab ? len - la - 1 : 0, NULL, file, lineno);
}

/* --sample: the rows kept. */
struct kept {
	char	*line;
	size_t	 len, lineno;
	long	 row;
};

static int
byrow(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	return (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

static void
dofile(struct rec_writer *w, const char *file, struct progress *pg)
{
	FILE *fp = stdin;
	char *line = NULL, base[256], msg[2048];
	const char *name = file ? file : "<stdin>";
	size_t cap = 0, lineno = 0, nkept = 0, keptcap = 0;
	ssize_t n;
	long nrow = 0;
	struct glue_file gf;
	struct kept *kept = NULL;
	uint64_t rng = opt.seed;

	if (file && strcmp(file, "-") != 0 && (fp = fopen(file, "r")) == NULL)
		err(1, "%s", file);
	{
		const char *s = file ? strrchr(file, '/') : NULL;
		s = s ? s + 1 : file ? file : "stdin";
		snprintf(base, sizeof(base), "%s", s);
		char *dot = strrchr(base, '.');
		if (dot && dot != base)
			*dot = '\0';
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *s = line;
		if (lineno == 1 && n >= 3 &&
		    memcmp(s, "\357\273\277", 3) == 0) {
			s += 3;			/* the UTF-8 BOM */
			n -= 3;
		}
		if (opt.task && lineno == 1) {
			/* the header names the task's columns, or says whose */
			int h = glue_open(&gf, opt.task, s, n, opt.noheader,
			    msg, sizeof(msg));

			if (h == -1)
				errx(1, "%s:1: %s", name, msg);
			if (h == 1)
				continue;
		}
		if (!opt.task && n == 0)
			continue;		/* blank lines in text */
		if (opt.sample > 0) {
			/* reservoir sampling: row r is kept with
			 * probability N / (r + 1) */
			long r = nrow++;
			size_t slot;
			if (nkept < (size_t)opt.sample) {
				/* grown as rows come: a sample larger than
				 * the file takes the file's size */
				if (nkept == keptcap) {
					keptcap = keptcap ? 2 * keptcap : 64;
					if (keptcap > (size_t)opt.sample)
						keptcap = opt.sample;
					kept = xreallocarray(kept, keptcap,
					    sizeof(*kept));
				}
				slot = nkept++;
			} else if ((slot = splitmix64(&rng) %
			    (uint64_t)(r + 1)) >= (size_t)opt.sample)
				continue;
			else
				free(kept[slot].line);
			kept[slot].line = xmalloc(n + 1);
			memcpy(kept[slot].line, s, n + 1);
			kept[slot].len = n;
			kept[slot].lineno = lineno;
			kept[slot].row = r;
			continue;
		}
		if (opt.task)
			row(w, &gf, s, n, name, base, lineno, nrow++);
		else
			text_line(w, s, n, base, lineno, name);
		progress_add(pg, 1);
	}
	if (ferror(fp))
		err(1, "%s", name);
	if (fp != stdin)
		fclose(fp);
	if (opt.sample > 0) {
		qsort(kept, nkept, sizeof(*kept), byrow);
		for (size_t i = 0; i < nkept; i++) {
			if (opt.task)
				row(w, &gf, kept[i].line, kept[i].len, name,
				    base, kept[i].lineno, kept[i].row);
			else
				text_line(w, kept[i].line, kept[i].len, base,
				    kept[i].lineno, name);
			free(kept[i].line);
			progress_add(pg, 1);
		}
		free(kept);
	}
	free(line);
}

/*
 * The tokens the model takes (model_maxlen: RoBERTa's 514 positions take
 * 512), or 0 when unknown; *pos0 as model_config_maxlen sets it.
 */
static int
model_maxpos(const char *dir, int *pos0)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/config.json", dir);
	return model_config_maxlen(path, pos0);
}

/*
 * The tokenizer of model directory dir or, with --tokenizer, of file:
 * 1 when it is another family's than BERT's vocab.txt (in tk).
 */
static int
open_family(const char *dir, const char *fam, const char *file, int lower)
{
	char err[512];

	if (dir != NULL && tok_dir_family(dir) == TOK_BERT)
		return 0;
	if (dir == NULL && (fam == NULL || strcmp(fam, "bert") == 0))
		return 0;
	if (dir != NULL && tok_open_dir(&tk, dir, lower, err,
	    sizeof(err)) == -1)
		errx(1, "%s", err);
	if (dir == NULL && tok_open(&tk, fam, file, lower, err,
	    sizeof(err)) == -1) {
		if (strncmp(err, "'", 1) == 0)
			errx(2, "--tokenizer: %s", err);
		errx(1, "%s", err);
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "cased", no_argument, NULL, 'C' },
		{ "uncased", no_argument, NULL, 'U' },
		{ "max-len", required_argument, NULL, 'L' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "sample", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'E' },
		{ "lenient", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "tokenizer", required_argument, NULL, 'K' },
		{ "offsets", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vpath = NULL, *mdir = NULL, *fam = NULL, *src;
	char path[4096], err[512];
	struct rec_writer *w;
	struct progress pg;
	int ch, force = -1, maxpos, maxlen_given = 0, pos0 = 0;
	long v;

	while ((ch = getopt_long(argc, argv, "m:t:v:z", lopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			force = 0;
			break;
		case 'U':
			force = 1;
			break;
		case 'E':
			if (parse_long(optarg, 0, LONG_MAX, &v) == -1)
				errx(2, "--seed: '%s' is not a number", optarg);
			opt.seed = v;
			break;
		case 'L':
			if (parse_long(optarg, 2, 1 << 20, &v) == -1)
				errx(2, "--max-len: '%s' is not a length of 2 "
				    "or more", optarg);
			opt.maxlen = v;
			maxlen_given = 1;
			break;
		case 'S':
			if (parse_long(optarg, 1, 1L << 40, &v) == -1)
				errx(2, "--sample: '%s' is not a positive "
				    "number", optarg);
			opt.sample = v;
			break;
		case 'H':
			opt.noheader = 1;
			break;
		case 'K':
			fam = optarg;
			break;
		case 'O':
			opt.offsets = 1;
			break;
		case 'l':
			opt.lenient = 1;
			break;
		case 'm':
			mdir = optarg;
			break;
		case 't':
			if ((opt.task = glue_task(optarg)) == NULL)
				errx(2, "-t: '%s' is not a GLUE task (%s)",
				    optarg, glue_names());
			break;
		case 'V':
			opt.verbose = 1;
			break;
		case 'v':
			vpath = optarg;
			break;
		case 'z':
			opt.gz = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((vpath == NULL) == (mdir == NULL) || (fam && mdir))
		usage();
	if (opt.noheader && opt.task == NULL)
		errx(2, "--no-header: only with -t");
	family = open_family(mdir, fam, vpath, force);
	if (opt.offsets && (!family || tk.family == TOK_BERT))
		errx(2, "--offsets: BERT's WordPiece has no offsets (the "
		    "other families' tokenizers have)");
	if (mdir != NULL) {
		snprintf(path, sizeof(path), "%s/vocab.txt", mdir);
		vpath = path;
		maxpos = model_maxpos(mdir, &pos0);
		/* the model cannot take more positions than it has */
		if (maxpos > 0 && maxlen_given && opt.maxlen > maxpos)
			errx(2, "--max-len %d: %s has %d positions "
			    "(max_position_embeddings%s)", opt.maxlen, mdir,
			    maxpos, pos0 ? " less pad_token_id + 1" : "");
		if (maxpos > 0 && opt.maxlen > maxpos)
			opt.maxlen = maxpos;
	}
	if (family)
		tokenc_init(tk.n, tk.word, tk.len);
	else if (wp_load(&vocab, vpath, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	else {
		tokenc_init(vocab.n, vocab.word, vocab.len);
		if ((opt.lower = force) == -1 && (opt.lower = model_casing(mdir,
		    &vocab, &src, err, sizeof(err))) == -1)
			errx(1, "%s", err);
	}
	w = rec_wopen(opt.gz);
	progress_init(&pg, "examples", 0, opt.verbose);
	if (argc == 0)
		dofile(w, NULL, &pg);
	for (int i = 0; i < argc; i++)
		dofile(w, argv[i], &pg);
	progress_done(&pg);
	rec_wclose(w);
	if (nskipped > 0)
		warnx("%zu bad rows skipped", nskipped);
	if (family)
		tok_close(&tk);
	else
		wp_release(&vocab);
	return 0;
}
