/*
 * spm.cc -- the C interface of spm.h to libsentencepiece.
 */
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

#include "spm.h"

struct spm {
	sentencepiece::SentencePieceProcessor sp;
	std::vector<struct spm_piece> pieces[2];
	sentencepiece::ImmutableSentencePieceText spt[2];
};

extern "C" struct spm *
spm_load(const char *path, char *err, size_t errlen)
{
	struct spm *m = new (std::nothrow) struct spm;
	FILE *fp;

	if (m == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	/* the library's message for a missing file is its own */
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		delete m;
		return NULL;
	}
	fclose(fp);
	auto st = m->sp.Load(path);
	if (!st.ok() || m->sp.GetPieceSize() <= 0) {
		std::string why = st.ok() ? "it has no pieces" :
		    st.ToString();
		if (why.find("ParseFromArray") != std::string::npos)
			why = "it does not parse: truncated?";
		snprintf(err, errlen, "%s: not a SentencePiece model (%s)",
		    path, why.c_str());
		delete m;
		return NULL;
	}
	return m;
}

extern "C" struct spm *
spm_load_proto(const void *buf, size_t len, const char *what, char *err,
    size_t errlen)
{
	struct spm *m = new (std::nothrow) struct spm;

	if (m == NULL) {
		snprintf(err, errlen, "%s: out of memory", what);
		return NULL;
	}
	auto st = m->sp.LoadFromSerializedProto(
	    absl::string_view((const char *)buf, len));
	if (!st.ok() || m->sp.GetPieceSize() <= 0) {
		snprintf(err, errlen, "%s: not a SentencePiece model (%s)",
		    what, st.ok() ? "it has no pieces" :
		    st.ToString().c_str());
		delete m;
		return NULL;
	}
	return m;
}

extern "C" void
spm_free(struct spm *m)
{
	delete m;
}

extern "C" int
spm_size(const struct spm *m)
{
	return m->sp.GetPieceSize();
}

extern "C" const char *
spm_piece(const struct spm *m, int id, size_t *len)
{
	const std::string &s = m->sp.IdToPiece(id);

	*len = s.size();
	return s.c_str();
}

extern "C" int
spm_id(const struct spm *m, const char *s, size_t len)
{
	return m->sp.PieceToId(absl::string_view(s, len));
}

extern "C" int
spm_unk(const struct spm *m)
{
	return m->sp.unk_id();
}

extern "C" long
spm_encode(struct spm *m, int slot, const char *text, size_t len,
    const struct spm_piece **out)
{
	auto &spt = m->spt[slot];
	auto &pieces = m->pieces[slot];

	spt = sentencepiece::ImmutableSentencePieceText();
	if (!m->sp.Encode(absl::string_view(text, len),
	    spt.mutable_proto()).ok())
		return -1;
	size_t n = spt.pieces_size();
	pieces.resize(n);
	for (size_t i = 0; i < n; i++) {
		auto p = spt.pieces(i);
		struct spm_piece &q = pieces[i];
		q.id = p.id();
		q.s = p.piece().c_str();
		q.len = p.piece().size();
		q.beg = p.begin();
		q.end = p.end();
	}
	*out = pieces.data();
	return n;
}
