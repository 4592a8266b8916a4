/*
 * hcmodel -- check a model directory, list the tensors of a weights file.
 *
 * hcmodel check DIR reads config.json, the weights (model.safetensors, or
 * pytorch_model.bin when there is none) and vocab.txt, prints what they
 * hold and whether they agree, and exits 1 naming each disagreement.
 * hcmodel ls FILE lists the tensors of one safetensors or pytorch_model.bin
 * file, with -c a CRC-32 of each tensor's values as float32.
 * hcmodel convert DIR [OUT] writes the weights of DIR, whatever their
 * format, as OUT/model.safetensors.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "model.h"
#include "stwrite.h"
#include "tensor.h"
#include "tokenizer.h"
#include "util.h"
#include "wordpiece.h"

static int	nbad;		/* disagreements found by check */

static void
usage(void)
{
	fprintf(stderr, "usage: hcmodel check dir\n"
	    "       hcmodel convert [-f] [-t dtype] dir [out]\n"
	    "       hcmodel ls [-c] file\n");
	exit(2);
}

/* A disagreement: in the report, on stderr, and in the exit status. */
static void
bad(const char *fmt, ...)
{
	char b[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	printf("disagree\t%s\n", b);
	warnx("%s", b);
	nbad++;
}

static int
isfile(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int
tfopen(struct tfile *tf, const char *path)
{
	char e[1024];

	if (tfile_open(tf, path, e, sizeof(e)) == -1) {
		warnx("%s", e);
		return -1;
	}
	return 0;
}

static void
pshape(FILE *fp, const struct tfentry *e)
{
	int i;

	fputc('[', fp);
	for (i = 0; i < e->ndim; i++)
		fprintf(fp, "%s%zu", i ? "," : "", e->shape[i]);
	fputc(']', fp);
}

/* ---- ls ---- */

static uLong
crcf32(const struct tfentry *e)
{
	float buf[4096];
	const unsigned char *p = e->data;
	size_t i, k, es = tensor_dtsize(e->dtype);
	uLong c = crc32(0, NULL, 0);

	for (i = 0; i < e->n; i += k) {
		k = e->n - i < 4096 ? e->n - i : 4096;
		tensor_to_f32(buf, p + i * es, e->dtype, k);
		c = crc32(c, (const Bytef *)buf, (uInt)(k * sizeof(float)));
	}
	return c;
}

static int
cmd_ls(int argc, char *argv[])
{
	struct tfile tf;
	const struct ptskip *sk;
	size_t i, ns;
	int ch, cflag = 0;

	while ((ch = getopt(argc, argv, "c")) != -1) {
		switch (ch) {
		case 'c':
			cflag = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if (tfopen(&tf, argv[0]) == -1)
		return 1;
	for (i = 0; i < tf.n; i++) {
		const struct tfentry *e = &tf.e[i];

		printf("%s\t%s\t", e->name, tensor_dtypename(e->dtype));
		pshape(stdout, e);
		if (cflag)
			printf("\t%08lx", (unsigned long)crcf32(e));
		putchar('\n');
	}
	ns = ptbin_skipped(&tf, &sk);
	for (i = 0; i < ns; i++)
		printf("%s\t%s\tskipped\n", sk[i].name, sk[i].why);
	tfile_release(&tf);
	return 0;
}

/* ---- check ---- */

/*
 * The layers the file has: one more than the highest N of a name that
 * starts with pfx, then layer (the family's "encoder.layer."), then N.
 */
static int
filelayers(const struct tfile *tf, const char *pfx, const char *layer)
{
	size_t i, pl = strlen(pfx), ll = strlen(layer);
	const char *s;
	char *end;
	long l, n = 0;

	for (i = 0; i < tf->n; i++) {
		s = tf->e[i].name;
		if (strncmp(s, pfx, pl) != 0 ||
		    strncmp(s + pl, layer, ll) != 0)
			continue;
		s += pl + ll;
		if (*s < '0' || *s > '9')
			continue;
		l = strtol(s, &end, 10);
		if (*end == '.' && l < INT_MAX && l + 1 > n)
			n = l + 1;
	}
	return (int)n;
}

/* Why a missing tensor was skipped by ptbin_open, if it was. */
static const char *
skipwhy(const struct ptskip *sk, size_t ns, const char *pfx, const char *name)
{
	static char b[64];
	size_t i, pl = strlen(pfx);

	for (i = 0; i < ns; i++)
		if (strncmp(sk[i].name, pfx, pl) == 0 &&
		    strcmp(sk[i].name + pl, name) == 0) {
			snprintf(b, sizeof(b), " (%s, not supported)",
			    sk[i].why);
			return b;
		}
	return "";
}

static int
shapeok(const struct tfentry *e, int ndim, const size_t *shape)
{
	int i;

	if (e->ndim != ndim)
		return 0;
	for (i = 0; i < ndim; i++)
		if (e->shape[i] != shape[i])
			return 0;
	return 1;
}

static void
wshape(char *b, size_t len, int ndim, const size_t *shape)
{
	if (ndim == 1)
		snprintf(b, len, "[%zu]", shape[0]);
	else
		snprintf(b, len, "[%zu,%zu]", shape[0], shape[1]);
}

static void
eshape(char *b, size_t len, const struct tfentry *e)
{
	size_t o = 0;
	int i;

	o += (size_t)snprintf(b, len, "[");
	for (i = 0; i < e->ndim && o < len; i++)
		o += (size_t)snprintf(b + o, len - o, "%s%zu", i ? "," : "",
		    e->shape[i]);
	if (o < len)
		snprintf(b + o, len - o, "]");
}

/* Architecture and model type as config.json says, for the report. */
static void
arch(const char *path, char *b, size_t len)
{
	cJSON *j, *a, *t;
	const char *why;
	FILE *fp;
	char *s;
	long n;

	snprintf(b, len, "?");
	if ((fp = fopen_reg(path, &why)) == NULL)
		return;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		fclose(fp);
		return;
	}
	s = xmalloc((size_t)n + 1);
	s[fread(s, 1, (size_t)n, fp)] = '\0';
	fclose(fp);
	if ((j = cJSON_Parse(s)) != NULL) {
		a = cJSON_GetObjectItemCaseSensitive(j, "architectures");
		t = cJSON_GetObjectItemCaseSensitive(j, "model_type");
		a = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, 0) : NULL;
		snprintf(b, len, "%s (%s)",
		    cJSON_IsString(a) ? a->valuestring : "?",
		    cJSON_IsString(t) ? t->valuestring : "?");
		cJSON_Delete(j);
	}
	free(s);
}

/*
 * Lines of vocab.txt, and how many tokens other than [X] have capitals; or
 * -1 with *why set.
 */
static long
vocab(const char *path, long *caps, const char **why)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	long n = 0;

	*caps = 0;
	if ((fp = fopen_reg(path, why)) == NULL)
		return -1;
	while ((len = getline(&line, &cap, fp)) != -1) {
		ssize_t i;

		n++;
		if (line[0] == '[')
			continue;
		for (i = 0; i < len; i++)
			if (isupper((unsigned char)line[i])) {
				(*caps)++;
				break;
			}
	}
	free(line);
	if (ferror(fp)) {
		*why = strerror(errno);
		n = -1;
	}
	fclose(fp);
	return n;
}

/*
 * check's state: the directory, its config (c, and cl with the layers the
 * file has), its weights file, and what the report has counted.
 */
struct check {
	const char	*dir;
	char		*cfgp, *wp;
	const char	*wname, *pfx;
	struct bert_config c, cl;
	const struct model_family *f;
	struct tfile	 tf;
	unsigned char	*used;		/* (tf.n) a tensor the table reads */
	size_t		 nfound, nmiss;
	uint64_t	 nused;
};

/* config.json: the report's first lines. */
static void
check_config(struct check *k)
{
	const struct bert_config *c = &k->c;
	char e[1024], a[64];

	if (model_config(&k->c, k->cfgp, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	arch(k->cfgp, a, sizeof(a));
	k->f = model_family(c);
	printf("directory\t%s\n", k->dir);
	printf("architecture\t%s\n", a);
	printf("family\t%s (%s)\n", k->f->name, k->f->type);
	printf("config\tL=%d H=%d C=%d F=%d V=%d P=%d S=%d eps=%g labels=%d",
	    c->L, c->H, c->C, c->F, c->V, c->P, c->S, (double)c->eps,
	    c->nlabels);
	/* what the families add: BERT's line is as it was */
	if (k->f->defE > 0)
		printf(" E=%d", model_emb(c));
	if (k->f->flags & MF_SHARED)
		printf(" G=%d", model_nstored(c));
	if (c->pos0 > 0)
		printf(" positions=%d..%d", c->pos0, c->P - 1);
	if (c->act != ACT_GELU)
		printf(" act=%s", c->actname);
	putchar('\n');
	if (c->H <= 0 || c->C % c->H != 0)
		bad("%s: hidden_size %d is not a multiple of "
		    "num_attention_heads %d", k->cfgp, c->C, c->H);
}

/*
 * The weights file: its name and format, the family's prefix if its
 * names have it, and cl, the config with the layers the file has (and
 * one more, so that a config.json that claims a million layers is one
 * line of report, not sixteen million).
 */
static void
check_weights(struct check *k)
{
	char e[1024], nm[256], *binp = pathjoin(k->dir, "pytorch_model.bin");
	int nl;

	if (tfile_opendir(&k->tf, k->dir, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	k->wp = xstrdup(k->tf.path);
	k->wname = strrchr(k->wp, '/') ? strrchr(k->wp, '/') + 1 : k->wp;
	printf("weights\t%s%s\n", k->wname,
	    strcmp(k->wname, "model.safetensors") == 0 && isfile(binp) ?
	    " (preferred to pytorch_model.bin, which is not read)" : "");
	printf("format\t%s\n", k->tf.format);
	free(binp);

	/* The family's prefix or none, as its first tensor says. */
	snprintf(nm, sizeof(nm), "%s%s", k->f->prefix, k->f->t[0].name);
	k->pfx = tfile_find(&k->tf, nm) ? k->f->prefix : "";
	k->cl = k->c;
	nl = filelayers(&k->tf, k->pfx, k->f->layer);
	if (nl >= model_nstored(&k->c))
		return;
	if (k->f->flags & MF_SHARED) {
		/* ALBERT: the file's layers are its groups */
		k->cl.G = nl + 1;
		k->cl.L = k->cl.G;
		bad("%s: %d layer groups, config.json says num_hidden_groups "
		    "%d", k->wp, nl, k->c.G);
	} else {
		k->cl.L = nl + 1;
		bad("%s: %d layers, config.json says num_hidden_layers %d",
		    k->wp, nl, k->c.L);
	}
}

/* The optional groups, for what check_tensors says of them. */
static const struct {
	unsigned	 flag;
	const char	*what;
} groupnames[] = {
	{ MT_POOLER, "pooler" },
	{ MT_HEAD, "classifier" },
	{ MT_MLM, "masked-LM head" },
	{ MT_NSP, "next-sentence head" },
};
#define NGROUPS	(sizeof(groupnames) / sizeof(groupnames[0]))

/*
 * Every tensor of the family's table, the optional groups among them
 * (pooler, classifier, BertForPreTraining's heads): those are there or
 * not as model_load decides (by their first tensor; a pre-training head
 * in part is not read, and its tensors are unused), the classifier's
 * labels as it reads them.  A tensor twice is reported once.
 */
static void
check_tensors(struct check *k)
{
	struct model_it it;
	const struct tfentry *fe;
	const struct ptskip *sk;
	size_t ns = ptbin_skipped(&k->tf, &sk), gi;
	size_t ngot[NGROUPS] = { 0 }, nrows[NGROUPS] = { 0 };
	char gmiss[NGROUPS][256] = { "" }, e[1024], b1[64], b2[64];
	unsigned groups;
	int r;

	model_filegroups(&k->tf, &k->cl, &groups, e, sizeof(e));
	model_it_init(&it, &k->cl, MT_GROUPS);
	while (model_it_next(&it)) {
		const char *rp = it.t->flags & MT_GROUPS &&
		    !(it.t->flags & MT_POOLER) ? "" : k->pfx;

		for (gi = 0; gi < NGROUPS; gi++)
			if (it.t->flags & groupnames[gi].flag)
				break;
		/* a role twice is not missing: it is one disagreement */
		if ((r = model_find(&k->tf, &it, &fe, e, sizeof(e))) == -1) {
			bad("%s", e);
			k->nfound++;
			continue;
		}
		if (gi < NGROUPS) {
			ngot[gi] += r;
			nrows[gi]++;
			if (r == 0 && gmiss[gi][0] == '\0')
				snprintf(gmiss[gi], sizeof(gmiss[0]), "%s%s",
				    rp, it.name);
		}
		if (r == 0) {
			if (gi == NGROUPS) {
				printf("missing\t%s%s%s\n", rp, it.name,
				    skipwhy(sk, ns, rp, it.name));
				k->nmiss++;
			}
			continue;
		}
		/* a pre-training head in part is read without: unused */
		if ((it.t->flags & MT_PRETRAIN) && !(groups & it.t->flags))
			continue;
		k->used[fe - k->tf.e] = 1;
		k->nfound++;
		k->nused += fe->n;
		if (gi < NGROUPS && !(groups & it.t->flags))
			continue;	/* part of a group that is not there */
		if (!shapeok(fe, it.ndim, it.shape)) {
			wshape(b1, sizeof(b1), it.ndim, it.shape);
			eshape(b2, sizeof(b2), fe);
			bad("%s: tensor '%s' has shape %s, config.json says "
			    "%s", k->wp, fe->name, b2, b1);
		}
	}
	for (gi = 0; gi < NGROUPS; gi++)
		if (ngot[gi] > 0 && ngot[gi] < nrows[gi] &&
		    !(groupnames[gi].flag & MT_PRETRAIN))
			bad("%s: the %s is incomplete: no '%s'", k->wp,
			    groupnames[gi].what, gmiss[gi]);
	if (groups & MT_HEAD) {
		if (k->c.nlabels > 0 && k->cl.nlabels != k->c.nlabels)
			bad("%s: classifier has %d labels, config.json says "
			    "%d", k->wp, k->cl.nlabels, k->c.nlabels);
		printf("classifier\t%d labels\n", k->cl.nlabels);
	}
	if (groups & MT_PRETRAIN)
		printf("heads\t%s%s%s\n", groups & MT_MLM ? "masked-LM" : "",
		    (groups & MT_PRETRAIN) == MT_PRETRAIN ? ", " : "",
		    groups & MT_NSP ? "next-sentence" : "");
}

/*
 * The file's other tensors: the masked-LM decoder's copies of the word
 * embeddings and of cls.predictions.bias are tied (read from those),
 * anything else unused; then the counts.
 */
static void
check_inventory(struct check *k)
{
	const struct ptskip *sk;
	size_t i, j, ns = ptbin_skipped(&k->tf, &sk), nunused = 0;
	size_t ndt[3] = { 0, 0, 0 };
	uint64_t nparam = 0;

	for (i = 0; i < k->tf.n; i++) {
		const struct tfentry *te = &k->tf.e[i];

		/* Tied weights share their data: count them once. */
		for (j = 0; j < i; j++)
			if (k->tf.e[j].data == te->data && k->tf.e[j].n == te->n)
				break;
		if (j == i)
			nparam += te->n;
		if (te->dtype >= 0 && te->dtype < 3)
			ndt[te->dtype]++;
		if (k->used[i])
			continue;
		if (strncmp(te->name, "cls.predictions.decoder.", 24) == 0)
			printf("tied\t%s\n", te->name);
		else {
			printf("unused\t%s\n", te->name);
			nunused++;
		}
	}
	for (j = 0; j < ns; j++)
		printf("skipped\t%s (%s)\n", sk[j].name, sk[j].why);
	printf("tensors\t%zu found, %zu missing, %zu unused, %zu skipped\n",
	    k->nfound, k->nmiss, nunused, ns);
	printf("dtypes");
	for (i = 0, j = 0; i < 3; i++)
		if (ndt[i])
			printf("%s%s %zu", j++ ? ", " : "\t",
			    tensor_dtypename((int)i), ndt[i]);
	printf("%s\n", j ? "" : "\tnone");
	printf("parameters\t%llu in the file, %llu used\n",
	    (unsigned long long)nparam, (unsigned long long)k->nused);
	if (k->nmiss > 0)
		bad("%s: missing tensors that config.json implies: %zu",
		    k->wp, k->nmiss);
}

/*
 * Vocabulary: its size against config.json, its casing.  Another
 * family's tokenizer (vocab.json and merges.txt, a SentencePiece model,
 * tokenizer.json) is opened as tokenize opens it: its ids must be the
 * model's.
 */
static void
check_vocab(const struct check *k)
{
	struct tokenizer tk;
	struct wp_vocab wv;
	const char *why, *src;
	char *vp, e[1024];
	long nv, caps;
	int lower, byvocab;

	if (tok_dir_family(k->dir) != TOK_BERT) {
		if (tok_open_dir(&tk, k->dir, -1, e, sizeof(e)) == -1) {
			bad("%s", e);
			return;
		}
		printf("vocab\t%d tokens (%s)\n", tk.n,
		    strrchr(tk.path, '/') ? strrchr(tk.path, '/') + 1 :
		    tk.path);
		if (tk.n > k->c.V)
			bad("%s: %d tokens, config.json says vocab_size %d",
			    tk.path, tk.n, k->c.V);
		tok_close(&tk);
		return;
	}
	vp = pathjoin(k->dir, "vocab.txt");
	if ((nv = vocab(vp, &caps, &why)) == -1) {
		bad("%s: %s", vp, why);
		free(vp);
		return;
	}
	if ((lower = model_casing(k->dir, NULL, &src, e, sizeof(e))) == -1) {
		bad("%s", e);
		free(vp);
		return;
	}
	/* the casing every filter takes, and what decided it */
	byvocab = strcmp(src, "vocab.txt") == 0;
	printf("vocab\t%ld tokens, %s (%s%s)\n", nv, lower ? "uncased" :
	    "cased", byvocab ? (lower ? "no capitals in " : "capitals in ") :
	    (lower ? "do_lower_case in " : "do_lower_case false in "), src);
	if (byvocab)
		lower = -1;	/* nothing to check it against */
	if (nv != k->c.V)
		bad("%s: %ld tokens, config.json says vocab_size %d", vp, nv,
		    k->c.V);
	if (lower == 1 && caps * 100 > nv)
		bad("%s: %ld tokens with capitals, but %s says do_lower_case",
		    vp, caps, src);
	if (lower == 0 && caps == 0)
		bad("%s: no tokens with capitals, but %s says the model is "
		    "cased", vp, src);
	if (wp_load(&wv, vp, e, sizeof(e)) == -1)
		bad("%s", e);	/* no [CLS], [SEP] or [UNK] */
	else
		wp_release(&wv);
	free(vp);
}

static int
cmd_check(int argc, char *argv[])
{
	struct check k;
	struct bert m;
	char e[1024];

	if (getopt(argc, argv, "") != -1)
		usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	memset(&k, 0, sizeof(k));
	k.dir = argv[0];
	k.cfgp = pathjoin(k.dir, "config.json");
	check_config(&k);
	check_weights(&k);
	k.used = xcalloc(k.tf.n ? k.tf.n : 1, 1);
	check_tensors(&k);
	check_inventory(&k);
	free(k.used);
	tfile_release(&k.tf);
	check_vocab(&k);

	/* What encode and the other filters will do with it. */
	if (nbad == 0) {
		if (model_load(&m, k.dir, e, sizeof(e)) == -1)
			bad("%s", e);
		else
			model_release(&m);
	}
	printf("status\t%s\n", nbad ? "disagree" : "ok");
	free(k.cfgp);
	free(k.wp);
	return nbad ? 1 : 0;
}

/* ---- convert ---- */

static int
cmd_convert(int argc, char *argv[])
{
	struct tfile tf;
	const struct ptskip *sk;
	const char *dir, *out;
	char e[1024], *path, *rd, *ro;
	size_t i, ns;
	int ch, force = 0, dtype = -1, same;

	while ((ch = getopt(argc, argv, "ft:")) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		case 't':
			if ((dtype = tensor_dtype(optarg)) == -1) {
				warnx("-t %s: not f32, f16 or bf16", optarg);
				usage();
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 && argc != 2)
		usage();
	dir = argv[0];
	out = argc == 2 ? argv[1] : dir;
	if (tfile_opendir(&tf, dir, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	for (i = 0; i < tf.n; i++)
		if (tf.e[i].dtype < 0 || tf.e[i].dtype > DT_BF16)
			warnx("%s: tensor '%s' is not F32, F16 or BF16: left "
			    "out", tf.path, tf.e[i].name);
	ns = ptbin_skipped(&tf, &sk);
	for (i = 0; i < ns; i++)
		warnx("%s: '%s' (%s) left out", tf.path, sk[i].name,
		    sk[i].why);
	/* A new directory gets the config and vocabulary too. */
	rd = realpath(dir, NULL);
	ro = realpath(out, NULL);
	same = rd != NULL && ro != NULL && strcmp(rd, ro) == 0;
	free(rd);
	free(ro);
	if (!same && stw_copymeta(dir, out, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	path = pathjoin(out, "model.safetensors");
	if (tfile_write(path, tf.e, tf.n, dtype, force, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	free(path);
	tfile_release(&tf);
	return 0;
}

int
main(int argc, char *argv[])
{
	int rc = 2;

	outinit();
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "check") == 0)
		rc = cmd_check(argc - 1, argv + 1);
	else if (strcmp(argv[1], "convert") == 0)
		rc = cmd_convert(argc - 1, argv + 1);
	else if (strcmp(argv[1], "ls") == 0)
		rc = cmd_ls(argc - 1, argv + 1);
	else
		usage();
	closeout(stdout, "stdout");
	return rc;
}
