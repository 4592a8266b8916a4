/*
 * stwrite.c -- write a model directory: config.json, model.safetensors,
 * the tokenizer's files.  The directory is written whole under a unique
 * name beside its target and renamed into place, so that a reader sees the
 * old model or the new one, never a mixture.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "stwrite.h"
#include "tensor.h"
#include "util.h"

/* The permissions the umask leaves of mode. */
static mode_t
masked(mode_t mode)
{
	mode_t u = umask(022);

	umask(u);
	return mode & ~u;
}

/* ---- the model directory ---- */

/*
 * The tensors of m, as its family's table names them in HF's
 * ...ForSequenceClassification ("bert.embeddings...", "classifier.weight"),
 * F32; the pooler and classifier when m has them.  Names xmalloc'd.
 */
static struct tfentry *
tensors(const struct bert *m, size_t *np)
{
	struct model_it it;
	struct tfentry *v = NULL;
	unsigned groups = model_groups(m);
	size_t n = 0;

	model_it_init(&it, &m->cfg, groups);
	while (model_it_next(&it))
		n++;
	v = xcalloc(n, sizeof(*v));
	model_it_init(&it, &m->cfg, groups);
	for (n = 0; model_it_next(&it); n++) {
		v[n].name = xasprintf("%s%s", model_prefix(&it), it.name);
		v[n].dtype = DT_F32;
		v[n].ndim = it.ndim;
		for (int d = 0; d < it.ndim; d++)
			v[n].shape[d] = it.shape[d];
		v[n].n = it.n;
		v[n].data = model_ptr(m, &it);
	}
	*np = n;
	return v;
}

static int
writefile(const char *path, const char *data, size_t len, char *err,
    size_t errlen)
{
	char *tmp;
	FILE *fp;

	if ((fp = tfile_create(path, &tmp, err, errlen)) == NULL)
		return -1;
	fwrite(data, 1, len, fp);
	return tfile_commit(fp, &tmp, path, 1, err, errlen);
}

static void
set(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_HasObjectItem(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
}

static void
setnum(cJSON *o, const char *key, double v)
{
	set(o, key, cJSON_CreateNumber(v));
}

/* config.json: srcdir's, with m's sizes and labels. */
static int
write_config(const struct bert *m, const char *srcdir, const char *dir,
    char *err, size_t errlen)
{
	const struct bert_config *k = &m->cfg;
	const struct model_family *f = model_family(k);
	char path[4096], buf[64], *src = NULL, *js;
	cJSON *c = NULL, *id2, *l2i, *arch;
	int nl = k->nlabels > 0 ? k->nlabels : 2, keep = 0, r;

	if (srcdir) {
		snprintf(path, sizeof(path), "%s/config.json", srcdir);
		src = slurp(path, NULL, NULL, 0);
	}
	if (src && (c = cJSON_Parse(src)) != NULL && !cJSON_IsObject(c)) {
		cJSON_Delete(c);
		c = NULL;
	}
	free(src);
	if (c == NULL)
		c = cJSON_CreateObject();

	/* BERT with the pre-training heads and no classifier: HF's class */
	arch = cJSON_CreateArray();
	cJSON_AddItemToArray(arch, cJSON_CreateString(strcmp(f->type,
	    "bert") == 0 && (model_groups(m) & (MT_MLM | MT_HEAD)) == MT_MLM ?
	    "BertForPreTraining" : f->arch));
	set(c, "architectures", arch);
	set(c, "model_type", cJSON_CreateString(f->type));
	/* under the family's keys: DistilBERT's dim, n_layers, ... */
	setnum(c, f->key[2], k->C);
	setnum(c, f->key[0], k->L);
	setnum(c, f->key[1], k->H);
	setnum(c, f->key[3], k->F);
	setnum(c, "vocab_size", k->V);
	setnum(c, "max_position_embeddings", k->P);
	if (k->S > 0)
		setnum(c, "type_vocab_size", k->S);
	if (f->defE > 0)
		setnum(c, "embedding_size", model_emb(k));
	if (f->flags & MF_SHARED) {
		setnum(c, "num_hidden_groups", model_nstored(k));
		setnum(c, "inner_group_num", 1);
	}
	if ((f->flags & MF_PADPOS) && !cJSON_HasObjectItem(c, "pad_token_id"))
		setnum(c, "pad_token_id", k->pad);
	if (!(f->flags & MF_FIXEPS) &&
	    !cJSON_HasObjectItem(c, "layer_norm_eps")) {
		snprintf(buf, sizeof(buf), "%.7g", (double)k->eps);
		set(c, "layer_norm_eps", cJSON_CreateRaw(buf));
	}
	/* the activation computed, which may be the family's default */
	set(c, f->key[4], cJSON_CreateString(k->actname[0] ? k->actname :
	    f->defact));
	if (!cJSON_HasObjectItem(c, "initializer_range"))
		setnum(c, "initializer_range", 0.02);

	/* Labels: keep srcdir's names when it has as many. */
	id2 = cJSON_GetObjectItemCaseSensitive(c, "id2label");
	keep = cJSON_IsObject(id2) && cJSON_GetArraySize(id2) == nl;
	if (keep)
		for (int i = 0; i < nl; i++) {
			snprintf(buf, sizeof(buf), "%d", i);
			if (!cJSON_IsString(
			    cJSON_GetObjectItemCaseSensitive(id2, buf)))
				keep = 0;
		}
	if (!keep) {
		id2 = cJSON_CreateObject();
		for (int i = 0; i < nl; i++) {
			char lab[32];

			snprintf(buf, sizeof(buf), "%d", i);
			snprintf(lab, sizeof(lab), "LABEL_%d", i);
			cJSON_AddStringToObject(id2, buf, lab);
		}
		set(c, "id2label", id2);
	}
	l2i = cJSON_CreateObject();
	for (int i = 0; i < nl; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		cJSON_AddNumberToObject(l2i, cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(id2, buf)), i);
	}
	set(c, "label2id", l2i);
	setnum(c, "num_labels", nl);
	set(c, "problem_type", cJSON_CreateString(nl == 1 ? "regression" :
	    "single_label_classification"));

	if ((js = cJSON_Print(c)) == NULL) {
		cJSON_Delete(c);
		return errf(err, errlen, "%s/config.json: out of memory", dir);
	}
	cJSON_Delete(c);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	size_t len = strlen(js);
	js = xreallocarray(js, len + 2, 1);
	js[len++] = '\n';
	r = writefile(path, js, len, err, errlen);
	free(js);
	return r;
}

/* Copy the n files named that srcdir has into dir. */
static int
copyfiles(const char *srcdir, const char *dir, const char *const *names,
    size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char *path, *data;
		size_t len;
		int r;

		path = xasprintf("%s/%s", srcdir, names[i]);
		data = slurp(path, &len, NULL, 0);
		free(path);
		if (data == NULL)
			continue;
		path = xasprintf("%s/%s", dir, names[i]);
		r = writefile(path, data, len, err, errlen);
		free(path);
		free(data);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* ---- placing the directory ---- */

/*
 * Where dir lives: the directory a symbolic link names, else dir without
 * trailing slashes (xmalloc'd).  *parentp is its parent, *basep its last
 * component (both xmalloc'd).
 */
static char *
target(const char *dir, char **parentp, char **basep)
{
	struct stat st;
	char *t, *sl;
	size_t n;

	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (t = realpath(dir, NULL)) != NULL)
		;
	else {
		t = xstrdup(dir);
		for (n = strlen(t); n > 1 && t[n - 1] == '/'; n--)
			t[n - 1] = '\0';
	}
	if ((sl = strrchr(t, '/')) == NULL) {
		*parentp = xstrdup(".");
		*basep = xstrdup(t);
	} else {
		*parentp = sl == t ? xstrdup("/") :
		    xstrndup(t, (size_t)(sl - t));
		*basep = xstrdup(sl + 1);
	}
	return t;
}

/*
 * Whether the existing directory t may be replaced by a model: it is empty,
 * or it holds config.json and nothing but regular files (a model directory,
 * not a directory of other work).  0, or -1 with the reason in err.
 */
static int
replaceable(const char *t, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	char *p, *other = NULL;
	int cfg = 0, any = 0;

	if ((d = opendir(t)) == NULL)
		return errf(err, errlen, "%s: %s", t, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		any = 1;
		if (strcmp(de->d_name, "config.json") == 0)
			cfg = 1;
		p = xasprintf("%s/%s", t, de->d_name);
		if (other == NULL && (lstat(p, &st) == -1 ||
		    !S_ISREG(st.st_mode)))
			other = xstrdup(de->d_name);
		free(p);
	}
	closedir(d);
	if (any && (!cfg || other)) {
		if (other)
			errf(err, errlen, "%s: holds '%s', which is not a "
			    "model's file; choose a new or empty directory",
			    t, other);
		else
			errf(err, errlen, "%s: not a model directory (no "
			    "config.json); choose a new or empty directory",
			    t);
		free(other);
		return -1;
	}
	return 0;
}

/* Remove directory d and the regular files in it. */
static int
removedir(const char *d, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *dp;
	char *p;
	int r = 0;

	if ((dp = opendir(d)) == NULL)
		return errf(err, errlen, "%s: %s", d, strerror(errno));
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", d, de->d_name);
		if (unlink(p) == -1 && r == 0)
			r = errf(err, errlen, "%s: %s", p, strerror(errno));
		free(p);
	}
	closedir(dp);
	if (r == 0 && rmdir(d) == -1)
		r = errf(err, errlen, "%s: %s", d, strerror(errno));
	return r;
}

/* Flush directory d's entries to the disk (best effort). */
static void
syncdir(const char *d)
{
	int fd;

	if ((fd = open(d, O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(fd);
		close(fd);
	}
}

/* A new empty directory beside t: parent/.base.WHAT-XXXXXX (xmalloc'd). */
static char *
besidedir(const char *parent, const char *base, const char *what)
{
	char *p = xasprintf("%s/.%.200s.%s-XXXXXX", parent, base, what);

	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

int
stw_check(const char *dir, const char *srcdir, int force, char *err,
    size_t errlen)
{
	struct stat st, sst;
	char *t, *parent, *base, *probe;
	int r = 0;

	if (*dir == '\0')
		return errf(err, errlen, "empty output directory name");
	t = target(dir, &parent, &base);
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    strcmp(t, "/") == 0) {
		r = errf(err, errlen, "%s: cannot be replaced; name a new "
		    "directory", dir);
		goto out;
	}
	if (stat(parent, &st) == -1) {
		r = errf(err, errlen, "%s: %s: %s", dir, parent,
		    strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = errf(err, errlen, "%s: %s: not a directory", dir, parent);
		goto out;
	}
	if (stat(t, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			r = errf(err, errlen, "%s: exists and is not a "
			    "directory", dir);
			goto out;
		}
		if (srcdir && !force && stat(srcdir, &sst) == 0 &&
		    st.st_dev == sst.st_dev && st.st_ino == sst.st_ino) {
			errf(err, errlen, "%s: is the model read (%s)", dir,
			    srcdir);
			r = -2;
			goto out;
		}
		if ((r = replaceable(t, err, errlen)) == -1)
			goto out;
		if (access(t, W_OK | X_OK) == -1) {
			r = errf(err, errlen, "%s: %s", dir, strerror(errno));
			goto out;
		}
	} else if (errno != ENOENT) {
		r = errf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	/* The one sure test that the parent takes new entries. */
	if ((probe = besidedir(parent, base, "new")) == NULL) {
		r = errf(err, errlen, "%s: cannot write in %s: %s", dir,
		    parent, strerror(errno));
		goto out;
	}
	rmdir(probe);
	free(probe);
out:
	free(t);
	free(parent);
	free(base);
	return r;
}

/*
 * Put the complete directory tmp in place of t.  Where another run put a
 * model there meanwhile, that one is replaced: the last run wins, whole.
 */
static int
install(const char *tmp, const char *t, const char *parent, const char *base,
    char *err, size_t errlen)
{
	char *old = NULL;
	int r = -1;

	for (int tries = 0; tries < 100; tries++) {
		if (rename(tmp, t) == 0) {
			r = 0;
			break;
		}
		if (errno != EEXIST && errno != ENOTEMPTY) {
			errf(err, errlen, "%s: %s", t, strerror(errno));
			break;
		}
		if (replaceable(t, err, errlen) == -1)
			break;
#ifdef RENAME_EXCHANGE
		/* One atomic step where the file system has it. */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, t,
		    RENAME_EXCHANGE) == 0) {
			old = xstrdup(tmp);
			r = 0;
			break;
		}
		if (errno == ENOENT)
			continue;
		if (errno != EINVAL && errno != ENOSYS) {
			errf(err, errlen, "%s: %s", t, strerror(errno));
			break;
		}
#endif
		/* Else two: the old model away, the new one in. */
		if ((old = besidedir(parent, base, "old")) == NULL) {
			errf(err, errlen, "%s: %s", parent, strerror(errno));
			break;
		}
		if (rename(t, old) == -1) {
			int e = errno;

			rmdir(old);
			free(old);
			old = NULL;
			if (e == ENOENT)
				continue;
			errf(err, errlen, "%s: %s", t, strerror(e));
			break;
		}
		if (rename(tmp, t) == 0) {
			r = 0;
			break;
		}
		/* Another run came in between: its model goes too. */
		if (removedir(old, err, errlen) == -1)
			break;
		free(old);
		old = NULL;
	}
	if (r == 0) {
		syncdir(parent);
		if (old && removedir(old, err, errlen) == -1)
			r = -1;
	} else if (r == -1 && errlen > 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (the new model is in %s)",
		    tmp);
	}
	free(old);
	return r;
}

int
stw_write(const struct bert *m, const char *srcdir, const char *dir,
    char *err, size_t errlen)
{
	/* a trainer's state too (pretrain), so that it is part of the whole */
	static const char *const copy[] = { "vocab.txt",
	    "tokenizer_config.json", "special_tokens_map.json",
	    "tokenizer.json", "trainer_state.json", "optimizer.safetensors" };
	struct tfentry *v;
	sigset_t block, saved;
	char *path, *t, *parent, *base, *tmp;
	size_t n;
	int r;

	t = target(dir, &parent, &base);
	/*
	 * A signal that ends the process waits until the directory is whole
	 * and in place, or gone.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if ((tmp = besidedir(parent, base, "new")) == NULL) {
		r = errf(err, errlen, "%s: cannot write in %s: %s", dir,
		    parent, strerror(errno));
		goto out;
	}
	chmod(tmp, masked(0777));
	if ((r = write_config(m, srcdir, tmp, err, errlen)) == -1)
		goto bad;
	v = tensors(m, &n);
	path = xasprintf("%s/model.safetensors", tmp);
	r = tfile_write(path, v, n, -1, 1, err, errlen);
	free(path);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	if (r == -1)
		goto bad;
	if (srcdir && (r = copyfiles(srcdir, tmp, copy, sizeof(copy) /
	    sizeof(copy[0]), err, errlen)) == -1)
		goto bad;
	syncdir(tmp);
	r = install(tmp, t, parent, base, err, errlen);
	goto out;
bad:
	removedir(tmp, NULL, 0);
out:
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(tmp);
	free(t);
	free(parent);
	free(base);
	return r;
}

int
stw_copymeta(const char *srcdir, const char *dir, char *err, size_t errlen)
{
	static const char *const meta[] = { "config.json", "vocab.txt",
	    "tokenizer_config.json", "special_tokens_map.json",
	    "tokenizer.json" };
	struct stat st;

	if (mkdir(dir, 0777) == -1 && !(errno == EEXIST &&
	    stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return errf(err, errlen, "%s: %s", dir,
		    errno == EEXIST ? "not a directory" : strerror(errno));
	return copyfiles(srcdir, dir, meta, sizeof(meta) / sizeof(meta[0]),
	    err, errlen);
}
