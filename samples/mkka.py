#!/usr/bin/python3
# mkka.py -- build samples/ka-model, the known-answer BERT: a tiny model
# whose weights are constructed so that each head has a chosen attention
# pattern (see samples/ka-model/README), and check it with a numpy forward.
#
#	usage: mkka.py [DIR]          write the model (default samples/ka-model)
#	       mkka.py -c             run the numpy forward over the sample
#	                              sentences and print each head's pattern
#	       mkka.py -a             write the sample sentences as records with
#	                              attn from the numpy forward (msgpack), as
#	                              encode -a would (samples/ka-attn.mp)
#	       mkka.py -l             the same as per-head records with the
#	                              constructed pattern as a hand-given label
#	                              (samples/ka-heads.mp, for --train)
#
# Construction (C = 128 hidden, 3 layers of 4 heads, D = 32 per head, 32
# positions):
#  - Embeddings use disjoint sub-spaces of the hidden vector:
#      dims  0..30  position: cos and sin of 2 pi k i / 32, k = 1..15, and
#                   cos(pi i)
#      dim  31      [CLS] indicator     dim 32  [SEP] indicator
#      dim  33      segment: +1 (type 0), -1 (type 1)
#      dims 34..49  content: a random vector per word (0 for specials)
#    and dims 64..113 hold the negatives of dims 0..49, so that every
#    embedding sum has mean 0 and one norm: the embedding LayerNorm (gain
#    1, bias 0) only scales it by a constant.
#  - Attention output dense and FFN output dense are zero, so every layer's
#    LayerNorms see their input unchanged and each layer's input is the
#    embedding output: each head's map depends on its own Q and K alone.
#  - Queries and keys read the sub-spaces with a large scale:
#      previous token  q = R(-1) p(i), k = p(j): q.k = sum_k cos(2 pi k
#                      (i-1-j) / 32) + cos(pi (i-1-j)) is 16 at j = i-1
#                      and 0 or -1 anywhere else within 32 positions
#      next token      q = R(+1) p(i)      self   q = p(i)
#      [CLS] / [SEP]   q = a constant (the bias), k = indicator
#      block           q = k = the segment sign: +1 within, -1 across
#      mixed           both a diagonal and a vertical term
#      heterogeneous   random projections of the content sub-space
import json
import os
import struct
import sys

import numpy as np

C, L, H, D, P, F, S = 128, 3, 4, 32, 32, 32, 2
BETA = 14.0		# logit gap of the vertical and block heads
NCONTENT = 16
NPOS = 31		# position dims: 15 frequencies x (cos, sin), cos(pi i)

# (layer, head) -> (pattern, kind); layers and heads from 1
HEADS = {
    (1, 1): ("diagonal", "prev"),
    (1, 2): ("diagonal", "next"),
    (1, 3): ("vertical", "cls"),
    (1, 4): ("heterogeneous", "content1"),
    (2, 1): ("block", "block"),
    (2, 2): ("vertical+diagonal", "prev+sep"),
    (2, 3): ("vertical", "sep"),
    (2, 4): ("heterogeneous", "content2"),
    (3, 1): ("vertical", "cls+sep"),
    (3, 2): ("vertical+diagonal", "next+cls"),
    (3, 3): ("diagonal", "self"),
    (3, 4): ("block", "block"),
}

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HERE = os.path.dirname(os.path.abspath(__file__))


def basic(line):
    """Lower case, split on spaces and punctuation (BERT's basic step)."""
    toks, cur = [], ""
    for ch in line.lower():
        if ch.isspace():
            if cur:
                toks.append(cur)
            cur = ""
        elif not ch.isalnum():
            if cur:
                toks.append(cur)
            cur = ""
            toks.append(ch)
        else:
            cur += ch
    if cur:
        toks.append(cur)
    return toks


def vocab():
    ws = set()
    with open(os.path.join(HERE, "ka-sentences.txt")) as f:
        for line in f:
            for part in line.rstrip("\n").split("\t"):
                ws.update(basic(part))
    return SPECIAL + sorted(ws)


def posvec(i):
    v = []
    for k in range(1, 16):
        a = 2 * np.pi * k * i / P
        v += [np.cos(a), np.sin(a)]
    return np.array(v + [np.cos(np.pi * i)])


def rot(shift):
    """R with R posvec(i) = posvec(i + shift)."""
    R = np.zeros((NPOS, NPOS))
    for k in range(1, 16):
        a = 2 * np.pi * k * shift / P
        c, s = np.cos(a), np.sin(a)
        # (cos(x+a), sin(x+a)) = (c cos x - s sin x, s cos x + c sin x)
        R[2 * k - 2:2 * k, 2 * k - 2:2 * k] = [[c, -s], [s, c]]
    R[30, 30] = np.cos(np.pi * shift)
    return R


USED = 50	# dims 0..49 used, 64..113 their negatives


def mirror(v):
    x = np.zeros(C)
    x[0:USED] = v
    x[64:64 + USED] = -v
    return x


# dims of the hidden vector (before the mirror)
DPOS, DCLS, DSEP, DSEG, DCON = 0, 31, 32, 33, 34
CNORM = 4.0	# norm of a word's part: that of a position's (16 = 4^2)


def build():
    rng = np.random.default_rng(2019)
    voc = vocab()
    V = len(voc)
    wte = np.zeros((V, C))
    for t, w in enumerate(voc):
        v = np.zeros(USED)
        if w == "[CLS]":
            v[DCLS] = CNORM
        elif w == "[SEP]":
            v[DSEP] = CNORM
        else:
            u = rng.normal(size=NCONTENT)
            v[DCON:DCON + NCONTENT] = CNORM * u / np.linalg.norm(u)
        wte[t] = mirror(v)
    wpe = np.zeros((P, C))
    for i in range(P):
        v = np.zeros(USED)
        v[DPOS:DPOS + NPOS] = posvec(i)
        wpe[i] = mirror(v)
    tte = np.zeros((S, C))
    for s in range(S):
        v = np.zeros(USED)
        v[DSEG] = 1.0 if s == 0 else -1.0
        tte[s] = mirror(v)
    # every sum word + pos + type has mean 0 and |x|^2 = 2 (16 + 16 + 1)
    sigma = np.sqrt(2 * (16 + 16 + 1) / C)

    # after the embedding LayerNorm, y = x / sigma: read x back as y sigma
    def sel(lo, n):
        M = np.zeros((n, C))
        for k in range(n):
            M[k, lo + k] = sigma
        return M
    Ppos = sel(DPOS, NPOS)
    Pcls, Psep, Pseg = sel(DCLS, 1)[0], sel(DSEP, 1)[0], sel(DSEG, 1)[0]
    Pcon = sel(DCON, NCONTENT)
    # q.k / sqrt(D) = u: put sqrt(u sqrt(D)) on each side
    a = np.sqrt(np.sqrt(D))
    layers = []
    for l in range(1, L + 1):
        Wq, bq = np.zeros((C, C)), np.zeros(C)
        Wk = np.zeros((C, C))
        for h in range(1, H + 1):
            kind = HEADS[(l, h)][1]
            r = slice((h - 1) * D, h * D)
            q, b, k = np.zeros((D, C)), np.zeros(D), np.zeros((D, C))
            mixed = "+" in kind and kind.split("+")[0] in \
                ("prev", "next", "self")
            for part in kind.split("+"):
                if part in ("prev", "next", "self"):
                    # logit 16 at the target, 0 or -1 elsewhere
                    sh = {"prev": -1, "next": 1, "self": 0}[part]
                    q[0:NPOS] = a * rot(sh) @ Ppos
                    k[0:NPOS] = a * Ppos
                elif part in ("cls", "sep"):
                    # logit BETA (pure) or 16 (mixed) on the token
                    row = NPOS if mixed else 0 if part == "cls" else 1
                    g = 16.0 if mixed else BETA
                    b[row] = a * g / CNORM
                    k[row] = a * (Pcls if part == "cls" else Psep)
                elif part == "block":
                    # logit +BETA/2 within the segment, -BETA/2 across
                    q[0] = a * BETA / 2 * Pseg
                    k[0] = a * Pseg
                elif part.startswith("content"):
                    A = rng.normal(size=(NCONTENT, NCONTENT))
                    B = rng.normal(size=(NCONTENT, NCONTENT))
                    sc = 0.25
                    q[0:NCONTENT] = a * sc * A @ Pcon
                    k[0:NCONTENT] = a * sc * B @ Pcon
            Wq[r], bq[r], Wk[r] = q, b, k
        layers.append((Wq, bq, Wk))
    return voc, wte, wpe, tte, layers


def tensors(voc, wte, wpe, tte, layers, rng):
    t = {}
    pre = "bert."
    t[pre + "embeddings.word_embeddings.weight"] = wte
    t[pre + "embeddings.position_embeddings.weight"] = wpe
    t[pre + "embeddings.token_type_embeddings.weight"] = tte
    t[pre + "embeddings.LayerNorm.weight"] = np.ones(C)
    t[pre + "embeddings.LayerNorm.bias"] = np.zeros(C)
    for l, (Wq, bq, Wk) in enumerate(layers):
        p = pre + "encoder.layer.%d." % l
        t[p + "attention.self.query.weight"] = Wq
        t[p + "attention.self.query.bias"] = bq
        t[p + "attention.self.key.weight"] = Wk
        t[p + "attention.self.key.bias"] = np.zeros(C)
        t[p + "attention.self.value.weight"] = np.eye(C)
        t[p + "attention.self.value.bias"] = np.zeros(C)
        t[p + "attention.output.dense.weight"] = np.zeros((C, C))
        t[p + "attention.output.dense.bias"] = np.zeros(C)
        t[p + "attention.output.LayerNorm.weight"] = np.ones(C)
        t[p + "attention.output.LayerNorm.bias"] = np.zeros(C)
        t[p + "intermediate.dense.weight"] = np.zeros((F, C))
        t[p + "intermediate.dense.bias"] = np.zeros(F)
        t[p + "output.dense.weight"] = np.zeros((C, F))
        t[p + "output.dense.bias"] = np.zeros(C)
        t[p + "output.LayerNorm.weight"] = np.ones(C)
        t[p + "output.LayerNorm.bias"] = np.zeros(C)
    t[pre + "pooler.dense.weight"] = np.eye(C)
    t[pre + "pooler.dense.bias"] = np.zeros(C)
    t["classifier.weight"] = rng.normal(scale=0.1, size=(2, C))
    t["classifier.bias"] = np.zeros(2)
    return t


def write(d):
    voc, wte, wpe, tte, layers = build()
    os.makedirs(d, exist_ok=True)
    t = tensors(voc, wte, wpe, tte, layers, np.random.default_rng(7))
    hdr, off, blobs = {}, 0, []
    for name in sorted(t):
        a = np.ascontiguousarray(t[name], dtype="<f4")
        b = a.tobytes()
        hdr[name] = {"dtype": "F32", "shape": list(a.shape),
                     "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hdr["__metadata__"] = {"format": "pt"}
    hj = json.dumps(hdr, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
    cfg = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert", "hidden_size": C, "num_hidden_layers": L,
        "num_attention_heads": H, "intermediate_size": F,
        "hidden_act": "gelu", "vocab_size": len(voc),
        "max_position_embeddings": P, "type_vocab_size": S,
        "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": 0, "num_labels": 2,
        "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
        "label2id": {"LABEL_0": 0, "LABEL_1": 1},
        "do_lower_case": True,
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        for w in voc:
            f.write(w + "\n")


# ---- numpy forward, to check the construction ----

def layernorm(x, g, b, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def forward(t, ids, seg):
    """Attention probabilities (L, H, T, T) of BERT with tensors t."""
    g = lambda n: t["bert." + n] if "bert." + n in t else t[n]
    T = len(ids)
    x = g("embeddings.word_embeddings.weight")[ids] + \
        g("embeddings.position_embeddings.weight")[:T] + \
        g("embeddings.token_type_embeddings.weight")[seg]
    x = layernorm(x, g("embeddings.LayerNorm.weight"),
                  g("embeddings.LayerNorm.bias"))
    out = []
    for l in range(L):
        p = "encoder.layer.%d." % l
        q = x @ g(p + "attention.self.query.weight").T + \
            g(p + "attention.self.query.bias")
        k = x @ g(p + "attention.self.key.weight").T + \
            g(p + "attention.self.key.bias")
        v = x @ g(p + "attention.self.value.weight").T + \
            g(p + "attention.self.value.bias")
        q = q.reshape(T, H, D).transpose(1, 0, 2)
        k = k.reshape(T, H, D).transpose(1, 0, 2)
        v = v.reshape(T, H, D).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(D)
        s -= s.max(-1, keepdims=True)
        a = np.exp(s)
        a /= a.sum(-1, keepdims=True)
        out.append(a)
        ctx = (a @ v).transpose(1, 0, 2).reshape(T, C)
        ao = ctx @ g(p + "attention.output.dense.weight").T + \
            g(p + "attention.output.dense.bias")
        x = layernorm(x + ao, g(p + "attention.output.LayerNorm.weight"),
                      g(p + "attention.output.LayerNorm.bias"))
        hmid = x @ g(p + "intermediate.dense.weight").T + \
            g(p + "intermediate.dense.bias")
        hmid = 0.5 * hmid * (1 + np.vectorize(__import__("math").erf)(
            hmid / np.sqrt(2)))
        o = hmid @ g(p + "output.dense.weight").T + g(p + "output.dense.bias")
        x = layernorm(x + o, g(p + "output.LayerNorm.weight"),
                      g(p + "output.LayerNorm.bias"))
    return np.array(out)


def examples():
    """(tokens, ids, seg, attn) of each sample sentence (pair)."""
    voc, wte, wpe, tte, layers = build()
    t = tensors(voc, wte, wpe, tte, layers, np.random.default_rng(7))
    idx = {w: i for i, w in enumerate(voc)}
    with open(os.path.join(HERE, "ka-sentences.txt")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            toks, seg = ["[CLS]"], [0]
            for s, part in enumerate(parts):
                w = basic(part) + ["[SEP]"]
                toks += w
                seg += [s] * len(w)
            ids = [idx.get(w, 1) for w in toks]
            yield toks, ids, seg, forward(t, ids, seg)


def dump():
    sys.path.insert(0, os.path.join(HERE, "..", "test"))
    import mkmaps
    out = sys.stdout.buffer
    for n, (toks, ids, seg, A) in enumerate(examples()):
        rec = {"id": "ka/%d" % (n + 1), "tokens": toks, "ids": ids,
               "seg": seg, "attn": mkmaps.ftensor(A)}
        out.write(mkmaps.pack(rec, bytearray()))


def labelled():
    sys.path.insert(0, os.path.join(HERE, "..", "test"))
    import mkmaps
    out = sys.stdout.buffer
    for n, (toks, ids, seg, A) in enumerate(examples()):
        for (l, h), (pat, kind) in sorted(HEADS.items()):
            if pat == "block" and max(seg) == 0:
                pat = "heterogeneous"	# one segment: uniform
            rec = {"id": "ka/%d" % (n + 1), "tokens": toks, "ids": ids,
                   "seg": seg, "layer": l, "head": h,
                   "map": mkmaps.ftensor(A[l - 1, h - 1]), "pattern": pat}
            out.write(mkmaps.pack(rec, bytearray()))


def check():
    votes = {}
    if True:
        for toks, ids, seg, A in examples():
            for l in range(L):
                for h in range(H):
                    pat = rule(A[l, h], toks, seg)
                    votes.setdefault((l + 1, h + 1), []).append(pat)
    ok = True
    for (l, h), want in sorted(HEADS.items()):
        got = votes[(l, h)]
        right = sum(g == want[0] for g in got)
        print("L%dH%d %-18s %d/%d %s" % (l, h, want[0], right, len(got),
                                        " ".join(sorted(set(got)))))
        ok &= right * 2 > len(got)
    return ok


def rule(A, toks, seg):
    """The default rule of classify-pattern(1), in numpy."""
    T = len(A)
    seg = np.array(seg)
    spec = [j for j, w in enumerate(toks) if w in ("[CLS]", "[SEP]")]
    lift = lambda m, u: (m - u) / (1 - u) if u < 1 else 0.0
    offs = []
    for o in (-1, 0, 1):
        m = sum(A[i, i + o] for i in range(T) if 0 <= i + o < T) / T
        offs.append(lift(m, (T - abs(o)) / T ** 2))
    S = lift(A[:, spec].sum(1).mean(), len(spec) / T)
    O = max(offs)
    same = seg[:, None] == seg[None, :]
    B = lift((A * same).sum(1).mean(), same.mean())
    if S >= 0.4 and O < 0.2:
        return "vertical"
    if O >= 0.4 and S < 0.2:
        return "diagonal"
    if S >= 0.15 and O >= 0.15:
        return "vertical+diagonal"
    if B >= 0.5:
        return "block"
    return "heterogeneous"


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "-c":
        sys.exit(0 if check() else 1)
    if args and args[0] == "-a":
        sys.exit(dump())
    if args and args[0] == "-l":
        sys.exit(labelled())
    write(args[0] if args else os.path.join(HERE, "ka-model"))
