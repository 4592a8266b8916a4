#!/usr/bin/python3
"""Hand-made attention records for the attend-stats and attend-compare tests.

usage: attend-maps.py SCENARIO [ARG...] > out.mp

Writes msgpack records (its own small encoder) with tokens and attn
[L, H, T, T] maps whose statistics are known exactly.
"""
import struct
import sys

import numpy as np


def pack(o, out):
    if o is None:
        out += b"\xc0"
    elif o is True or o is False:
        out += b"\xc3" if o else b"\xc2"
    elif isinstance(o, int):
        if 0 <= o < 128:
            out += struct.pack("B", o)
        elif -32 <= o < 0:
            out += struct.pack("b", o)
        elif o >= 0:
            out += b"\xcf" + struct.pack(">Q", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode()
        out += b"\xdb" + struct.pack(">I", len(b)) + b
    elif isinstance(o, (bytes, bytearray)):
        out += b"\xc6" + struct.pack(">I", len(o)) + bytes(o)
    elif isinstance(o, (list, tuple)):
        out += b"\xdd" + struct.pack(">I", len(o))
        for e in o:
            pack(e, out)
    elif isinstance(o, dict):
        out += b"\xdf" + struct.pack(">I", len(o))
        for k, v in o.items():
            pack(k, out)
            pack(v, out)
    else:
        raise TypeError(type(o))
    return out


def tensor(a, dtype="f32"):
    a = np.asarray(a, dtype=np.float32)
    if dtype == "f16":
        data = a.astype("<f2").tobytes()
    else:
        data = a.astype("<f4").tobytes()
    return {"dtype": dtype, "shape": list(a.shape), "data": data}


def emit(recs):
    out = bytearray()
    for r in recs:
        pack(r, out)
    sys.stdout.buffer.write(out)


TOK5 = ["[CLS]", "a", ",", "b", "[SEP]"]


def uniform(L=2, H=2, tokens=TOK5, id="u/0"):
    T = len(tokens)
    return {"id": id, "tokens": tokens,
            "attn": tensor(np.full((L, H, T, T), 1.0 / T))}


def onehot():
    """L1H1 previous token, L1H2 next token, L1H3 all to [CLS]."""
    tokens = ["[CLS]", "the", "cat", "did", "not", "sit", ".", "[SEP]"]
    T = len(tokens)
    a = np.zeros((1, 3, T, T))
    for i in range(T):
        a[0, 0, i, max(i - 1, 0)] = 1
        a[0, 1, i, min(i + 1, T - 1)] = 1
        a[0, 2, i, 0] = 1
    return {"id": "oh/0", "tokens": tokens, "attn": tensor(a)}


def random_maps(seed, L, H, T, id, sharp=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(L, H, T, T)) * sharp
    a = np.exp(x)
    a /= a.sum(-1, keepdims=True)
    tokens = ["[CLS]"] + ["w%d" % i for i in range(T - 2)] + ["[SEP]"]
    return {"id": id, "tokens": tokens, "attn": tensor(a)}


def patterned(tokens, id, seed):
    """L1H1 prev, L1H2 next, L1H3 [CLS], L2H1 [SEP], L2H2 broad, L2H3 noise."""
    T = len(tokens)
    rng = np.random.default_rng(seed)
    u = np.full((T, T), 1.0 / T)
    eye = np.eye(T)
    prev = np.roll(eye, -1, axis=1)
    prev[0] = eye[0]
    nxt = np.roll(eye, 1, axis=1)
    nxt[-1] = eye[-1]
    cls = np.zeros((T, T))
    cls[:, 0] = 1
    sep = np.zeros((T, T))
    seps = [i for i, t in enumerate(tokens) if t == "[SEP]"]
    sep[:, seps] = 1.0 / len(seps)
    x = np.exp(rng.normal(size=(T, T)) * 2)
    noise = x / x.sum(-1, keepdims=True)
    a = np.stack([np.stack([0.8 * prev + 0.2 * u, 0.7 * nxt + 0.3 * u,
                            0.9 * cls + 0.1 * u]),
                  np.stack([0.85 * sep + 0.15 * u, u, noise])])
    return {"id": id, "tokens": tokens, "attn": tensor(a)}


def main():
    sc = sys.argv[1]
    if sc == "uniform":
        emit([uniform()])
    elif sc == "onehot":
        emit([onehot()])
    elif sc == "mixed":
        # two records: a uniform one of T = 5 and the one-hot one, L = 1
        u = uniform(L=1, H=3)
        emit([u, onehot()])
    elif sc == "classes":
        # negation in one record only: n counts the records with it
        r = onehot()
        r2 = uniform(L=1, H=3, tokens=["[CLS]", "yes", "[SEP]"], id="u/1")
        emit([r, r2])
    elif sc == "spans":
        # L1H1 previous-token: from token 3 to token 2 scores 1;
        # from [2,3] to [5] scores 0 (all pairs) -- and with a pair (3,2)
        r = onehot()
        r["spans"] = [[[3], [2]], [[2, 3], [5]], [[4, 5], [4, 1]]]
        emit([r])
    elif sc == "word":
        # "play ##ing" is one word; uniform maps over T = 6 tokens
        tokens = ["[CLS]", "he", "play", "##ing", "not", "[SEP]"]
        emit([uniform(L=1, H=1, tokens=tokens, id="w/0")])
    elif sc == "random":
        # ARG: seed L H T n tag [flag...]; flags: f16, rev (reverse order),
        # skip=K (leave out record K), dup=K (record K twice), longer=K
        # (record K one token longer)
        seed, L, H, T, n = (int(x) for x in sys.argv[2:7])
        tag, flags = sys.argv[7], sys.argv[8:]
        opt = dict(f.split("=") for f in flags if "=" in f)
        recs = []
        for k in range(n):
            if opt.get("skip") == str(k):
                continue
            Tk = T + k % 3 + (opt.get("longer") == str(k))
            r = random_maps(seed + k, L, H, Tk, "x/%d" % k)
            if "f16" in flags:
                a = np.frombuffer(r["attn"]["data"], "<f4")
                r["attn"]["dtype"] = "f16"
                r["attn"]["data"] = a.astype("<f2").tobytes()
            r["src"] = tag
            recs.append(r)
            if opt.get("dup") == str(k):
                recs.append(r)
        if "rev" in flags:
            recs.reverse()
        emit(recs)
    elif sc == "sample":
        # samples/attend-stats.mp: three sentences, six patterned heads
        t1 = ("[CLS] the cat did not sit on the mat . [SEP] it was "
              "nap ##ping . [SEP]").split()
        t2 = "[CLS] he is n ' t play ##ing , is he ? [SEP]".split()
        t3 = "[CLS] never mind the weather [SEP] fine [SEP]".split()
        r1 = patterned(t1, "s/1", 1)
        r1["spans"] = [[[2], [4, 5]], [[11], [13, 14]]]
        emit([r1, patterned(t2, "s/2", 2), patterned(t3, "s/3", 3)])
    elif sc == "bad":
        kind = sys.argv[2]
        r = onehot()
        if kind == "notokens":
            del r["tokens"]
        elif kind == "shorttokens":
            r["tokens"] = r["tokens"][:-1]
        elif kind == "noattn":
            del r["attn"]
        elif kind == "badspan":
            r["spans"] = [[[1], [8]]]
        elif kind == "shapes":
            emit([uniform(), r])
            return
        elif kind == "nan":
            a = np.frombuffer(r["attn"]["data"], "<f4").copy()
            a[5] = np.nan
            r["attn"]["data"] = a.tobytes()
        elif kind == "noid":
            del r["id"]
        emit([r])
    elif sc == "perhead":
        # attend-dump style: one record per (example, layer, head)
        r = onehot()
        a = np.frombuffer(r["attn"]["data"], "<f4").reshape(1, 3, 8, 8)
        recs = []
        for h in range(3):
            recs.append({"id": "oh/0", "tokens": r["tokens"], "layer": 1,
                         "head": h + 1, "map": tensor(a[0, h])})
        emit(recs)
    else:
        sys.exit("attend-maps.py: unknown scenario " + sc)


main()
