/*
 * attend-view -- one self-contained HTML page to explore every head of a
 * few records: a head view (lines from each token to the tokens it attends
 * to, a colour per head) and a model view (every head as a small heat map),
 * with export as SVG and PNG.  The page is common/view.html, compiled in;
 * this program inserts the records' data into it.
 *
 * The maps are quantised to 8 bits a value and base64-encoded, one <script
 * type="text/plain"> element per layer, decoded by the page when it shows the
 * layer: for each head, lo = min(0, min v), hi = max(0, max v) and
 * q = round(255 (v - lo) / (hi - lo)), so that a probability map keeps its
 * zero and its largest weight is 255.  The metadata (id, label, pred,
 * tokens, seg, lo and hi per head, patterns) is JSON beside it.
 */
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "util.h"

/* The page, from common/view.html (the Makefile writes cmd/view.inc). */
static const char page[] = {
#include "view.inc"
	0
};

#define MARK	"<!--DATA-->"

static const char *const pclass[] = {
	"vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"
};
#define NPCLASS	(sizeof(pclass) / sizeof(pclass[0]))

/* A head's pattern from -p, for the record with this id. */
struct pat {
	char	*id;
	int	 layer, head;	/* from 1 */
	int	 cls;		/* index into pclass */
};

static struct pat	*pats;
static size_t		 npats;

static FILE		*out;
static char		*tmppath;	/* removed when the program dies */

enum { O_MAXREC = 256 };

static const struct option longopts[] = {
	{ "key",		required_argument,	NULL,	'k' },
	{ "max-records",	required_argument,	NULL,	O_MAXREC },
	{ "output",		required_argument,	NULL,	'o' },
	{ "patterns",		required_argument,	NULL,	'p' },
	{ NULL,			0,			NULL,	0 }
};

static void
usage(void)
{
	fprintf(stderr, "usage: attend-view [-k key] [-o file] [-p patterns] "
	    "[--max-records n] [file ...]\n");
	exit(2);
}

static void
rmtmp(void *arg)
{
	if (tmppath != NULL)
		unlink(tmppath);
}

static void
put(const char *s, size_t n)
{
	if (fwrite(s, 1, n, out) != n)
		err(1, "%s", tmppath != NULL ? tmppath : "stdout");
}

/* ---- JSON ---- */

/* A JSON string; '<' escaped so that "</script>" cannot end the element. */
static void
jstr(const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* A scalar as JSON (str, int, float, bool); anything else is null. */
static void
jscalar(const msgpack_object *o)
{
	switch (o == NULL ? MSGPACK_OBJECT_NIL : o->type) {
	case MSGPACK_OBJECT_STR:
		jstr(o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(out, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(out, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			fprintf(out, "%.6g", o->via.f64);
		else
			fputs("null", out);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", out);
		break;
	default:
		fputs("null", out);
	}
}

/* ---- base64 ---- */

static void
b64(const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char buf[4096];
	size_t k = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf[k++] = tab[v >> 18 & 63];
		buf[k++] = tab[v >> 12 & 63];
		buf[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		buf[k++] = i + 2 < n ? tab[v & 63] : '=';
		if (k == sizeof(buf)) {
			put(buf, k);
			k = 0;
		}
	}
	put(buf, k);
}

/* ---- patterns (-p) ---- */

/* Read classify-pattern's per-head records: id, layer, head, pattern. */
static void
readpats(const char *path)
{
	struct rec_reader *rr;
	msgpack_object o;
	size_t cap = 0;
	char *const av[] = { (char *)path, NULL };

	rr = rec_open(1, av);
	while (rec_next(rr, &o)) {
		struct pat *p;
		char *s;
		size_t c;

		if (rec_get(&o, "pattern") == NULL)
			rec_die("no key 'pattern' (-p reads the output of "
			    "classify-pattern)");
		if (npats == cap) {
			cap = cap ? 2 * cap : 256;
			pats = xreallocarray(pats, cap, sizeof(*pats));
		}
		p = &pats[npats];
		p->id = rec_str(&o, "id");
		p->layer = (int)rec_int(&o, "layer");
		p->head = (int)rec_int(&o, "head");
		s = rec_str(&o, "pattern");
		for (c = 0; c < NPCLASS && strcmp(s, pclass[c]) != 0; c++)
			;
		if (c == NPCLASS)
			rec_die("unknown pattern '%s'", s);
		free(s);
		p->cls = (int)c;
		npats++;
	}
	rec_close(rr);
}

/* ---- one record ---- */

/* The keys of a record, as JSON, then its quantised maps in base64. */
static void
record(const msgpack_object *rec, const char *key, size_t n)
{
	struct tensor t;
	const msgpack_object *o;
	char **tok = NULL, *id = NULL;
	int *seg = NULL;
	size_t L, H, T, ntok = 0, nseg = 0, hw;
	float *lo, *hi;
	uint8_t *q;
	int *pat;

	rec_maps(rec, key, &t);
	L = t.shape[0], H = t.shape[1], T = t.shape[2];
	if (rec_get(rec, "tokens") != NULL &&
	    (ntok = rec_strs(rec, "tokens", &tok)) != T)
		rec_die("'tokens' has %zu tokens, '%s' has %zu", ntok, key, T);
	if (rec_get(rec, "seg") != NULL &&
	    (nseg = rec_ints(rec, "seg", &seg)) != T)
		rec_die("'seg' has %zu values, '%s' has %zu tokens", nseg, key,
		    T);
	if ((o = rec_get(rec, "id")) != NULL && o->type == MSGPACK_OBJECT_STR)
		id = xstrndup(o->via.str.ptr, o->via.str.size);

	/* Quantise each head (T, T) to bytes between its lo and hi. */
	hw = T * T;
	lo = xmalloc(L * H * sizeof(*lo));
	hi = xmalloc(L * H * sizeof(*hi));
	q = xmalloc(L * H * hw);
	for (size_t h = 0; h < L * H; h++) {
		float a = 0, b = 0;

		for (size_t i = 0; i < hw; i++) {
			float v = tensor_get(&t, h * hw + i);

			if (!isfinite(v))
				rec_die("'%s' has a value that is not finite "
				    "at L%zuH%zu", key, h / H + 1, h % H + 1);
			a = v < a ? v : a;
			b = v > b ? v : b;
		}
		if (b == a)
			b = a + 1;
		lo[h] = a, hi[h] = b;
		for (size_t i = 0; i < hw; i++) {
			float v = tensor_get(&t, h * hw + i);

			q[h * hw + i] = (uint8_t)lrintf(255 * (v - a) / (b - a));
		}
	}

	/* The patterns of this record's heads, -1 where none is known. */
	pat = xmalloc(L * H * sizeof(*pat));
	for (size_t h = 0; h < L * H; h++)
		pat[h] = -1;
	for (size_t i = 0; id != NULL && i < npats; i++) {
		struct pat *p = &pats[i];

		if (p->layer >= 1 && (size_t)p->layer <= L && p->head >= 1 &&
		    (size_t)p->head <= H && strcmp(p->id, id) == 0)
			pat[(p->layer - 1) * H + p->head - 1] = p->cls;
	}

	fputs("<script type=\"application/json\" class=\"meta\">{\"id\":", out);
	jscalar(rec_get(rec, "id"));
	fputs(",\"n\":", out);
	fprintf(out, "%zu", n);
	fputs(",\"label\":", out);
	jscalar(rec_get(rec, "label"));
	fputs(",\"pred\":", out);
	jscalar(rec_get(rec, "pred"));
	fputs(",\"text_a\":", out);
	jscalar(rec_get(rec, "text_a"));
	fputs(",\"text_b\":", out);
	jscalar(rec_get(rec, "text_b"));
	fprintf(out, ",\"key\":\"%s\",\"L\":%zu,\"H\":%zu,\"T\":%zu",
	    key, L, H, T);
	fputs(",\"tokens\":[", out);
	for (size_t i = 0; i < T; i++) {
		if (i)
			fputc(',', out);
		if (tok != NULL)
			jstr(tok[i], strlen(tok[i]));
		else
			fprintf(out, "\"%zu\"", i);
	}
	fputs("],\"seg\":[", out);
	for (size_t i = 0; i < T; i++)
		fprintf(out, "%s%d", i ? "," : "", seg != NULL ? seg[i] : 0);
	fputs("],\"lo\":[", out);
	for (size_t h = 0; h < L * H; h++)
		fprintf(out, "%s%.7g", h ? "," : "", lo[h]);
	fputs("],\"hi\":[", out);
	for (size_t h = 0; h < L * H; h++)
		fprintf(out, "%s%.7g", h ? "," : "", hi[h]);
	fputs("],\"pattern\":[", out);
	for (size_t h = 0; h < L * H; h++) {
		if (h)
			fputc(',', out);
		if (pat[h] < 0)
			fputs("null", out);
		else
			fprintf(out, "\"%s\"", pclass[pat[h]]);
	}
	fputs("]}</script>\n", out);
	/*
	 * A layer an element, so that the page decodes the layers it shows;
	 * after the first one of the first record, the page draws its first
	 * view while it reads the rest.
	 */
	for (size_t l = 0; l < L; l++) {
		fprintf(out, "<script type=\"text/plain\" class=\"data\" "
		    "data-n=\"%zu\" data-l=\"%zu\">", n, l);
		b64(q + l * H * hw, H * hw);
		fputs("</script>\n", out);
		if (n == 0 && l == 0)
			fputs("<script>early();</script>\n", out);
	}

	if (tok != NULL)
		rec_strs_free(tok, ntok);
	free(seg);
	free(id);
	free(lo);
	free(hi);
	free(q);
	free(pat);
}

int
main(int argc, char *argv[])
{
	struct rec_reader *rr;
	msgpack_object rec;
	const char *key = "attn", *path = NULL, *mark;
	long maxrec = 64;
	size_t nrec = 0, nskip = 0;
	long size;
	int ch;

	while ((ch = getopt_long(argc, argv, "k:o:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'p':
			readpats(optarg);
			break;
		case O_MAXREC:
			if (parse_long(optarg, 1, 100000, &maxrec) == -1) {
				warnx("--max-records '%s': expected a number "
				    "from 1 to 100000", optarg);
				usage();
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
	    strlen(key) || *key == '\0') {
		warnx("-k '%s': expected a snake_case key", key);
		usage();
	}
	if ((mark = strstr(page, MARK)) == NULL)
		errx(1, "the page has no data mark (a bad build)");

	if (path != NULL) {
		if (asprintf(&tmppath, "%s.tmp", path) == -1)
			err(1, NULL);
		if ((out = fopen(tmppath, "w")) == NULL)
			err(1, "%s", path);
		rec_atdie(rmtmp, NULL);
	} else
		out = stdout;

	put(page, (size_t)(mark - page));
	rr = rec_open(argc, argv);
	while (rec_next(rr, &rec)) {
		if (nrec == (size_t)maxrec) {
			nskip++;
			continue;
		}
		record(&rec, key, nrec);
		nrec++;
	}
	rec_close(rr);
	if (nrec == 0) {
		rmtmp(NULL);
		errx(1, "%s: no records", argc ? argv[0] : "<stdin>");
	}
	put(mark + strlen(MARK), strlen(mark + strlen(MARK)));
	size = ftell(out);
	if (fflush(out) == EOF || ferror(out)) {
		rmtmp(NULL);
		err(1, "%s", path != NULL ? tmppath : "stdout");
	}
	if (path != NULL) {
		if (fclose(out) == EOF) {
			rmtmp(NULL);
			err(1, "%s", tmppath);
		}
		if (rename(tmppath, path) == -1) {
			rmtmp(NULL);
			err(1, "%s", path);
		}
	}
	if (nskip)
		warnx("kept the first %zu records, left out %zu "
		    "(--max-records)", nrec, nskip);
	fprintf(stderr, "attend-view: %s: %zu record%s, ", path != NULL ?
	    path : "stdout", nrec, nrec == 1 ? "" : "s");
	if (size >= 0)
		fprintf(stderr, "%.1f MB\n", size / 1e6);
	else
		fprintf(stderr, "size unknown\n");
	return 0;
}
