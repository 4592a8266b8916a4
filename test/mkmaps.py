#!/usr/bin/python3
# mkmaps.py -- synthetic per-head attention maps of the five patterns of
# Kovaleva et al. (2019), with noise, as a record stream (msgpack) for the
# classify-pattern tests; and a small msgpack reader/writer for the tests.
#
#	usage: mkmaps.py [-n N] [-s SEED] [-k KEY] [-l LMIN] [-L LMAX] >out.mp
#
# N maps of each class (default 40), lengths log-uniform in LMIN..LMAX
# (default 5..256, the first and last map of each class at LMIN and LMAX).
# Each record: id "syn/CLASS/k", tokens ([CLS] w1 .. [SEP] [w .. [SEP]]),
# seg, layer, head, map (f32 [T, T], rows sum to 1) and the class under KEY
# ("truth" by default; "pattern" makes a training set).
#
# The classes, row by row (i is the query, T the length):
#   vertical            60-95% of the mass on the [CLS]/[SEP] columns, split
#                       by a per-map preference
#   diagonal            60-95% on column i+o, o in {-1, +1} (or 0, rarely)
#   vertical+diagonal   25-55% on [CLS]/[SEP] and 25-55% on i+o
#   block               80-97% spread over the row's own segment (pairs only)
#   heterogeneous       50-90% on 1-4 random peaks away from the specials
#                       and the diagonal, different for every row
# in the first four classes, half the rows give up to half the remaining
# mass to two random columns; the rest is spread by a flat Dirichlet over
# every column, then each weight
# jittered by a log-normal factor (sigma 0.15) and the row renormalised.
import getopt
import math
import struct
import sys

CLASSES = ["vertical", "diagonal", "vertical+diagonal", "block",
           "heterogeneous"]


# ---- msgpack, the subset the records use ----

def pack(o, out):
    if o is None:
        out.append(0xc0)
    elif isinstance(o, bool):
        out.append(0xc3 if o else 0xc2)
    elif isinstance(o, int):
        if 0 <= o < 128:
            out.append(o)
        elif -32 <= o < 0:
            out += struct.pack("b", o)
        elif 0 <= o < 1 << 32:
            out += b"\xce" + struct.pack(">I", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            out.append(0xa0 | len(b))
        else:
            out += b"\xdb" + struct.pack(">I", len(b))
        out += b
    elif isinstance(o, (bytes, bytearray)):
        out += b"\xc6" + struct.pack(">I", len(o)) + o
    elif isinstance(o, (list, tuple)):
        out += b"\xdd" + struct.pack(">I", len(o))
        for x in o:
            pack(x, out)
    elif isinstance(o, dict):
        out += b"\xdf" + struct.pack(">I", len(o))
        for k, v in o.items():
            pack(k, out)
            pack(v, out)
    else:
        raise TypeError(type(o))
    return out


def unpack(b, i=0):
    """Decode one object at b[i:]; return (object, next index)."""
    c = b[i]
    i += 1
    if c < 0x80:
        return c, i
    if c >= 0xe0:
        return c - 256, i
    if 0x80 <= c <= 0x8f:
        return _map(b, i, c & 15)
    if 0x90 <= c <= 0x9f:
        return _arr(b, i, c & 15)
    if 0xa0 <= c <= 0xbf:
        return b[i:i + (c & 31)].decode(), i + (c & 31)
    if c == 0xc0:
        return None, i
    if c in (0xc2, 0xc3):
        return c == 0xc3, i
    fixed = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b",
             0xd1: ">h", 0xd2: ">i", 0xd3: ">q", 0xca: ">f", 0xcb: ">d"}
    if c in fixed:
        f = fixed[c]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i:i + n])[0], i + n
    lens = {0xc4: ">B", 0xc5: ">H", 0xc6: ">I", 0xd9: ">B", 0xda: ">H",
            0xdb: ">I", 0xdc: ">H", 0xdd: ">I", 0xde: ">H", 0xdf: ">I"}
    f = lens[c]
    n = struct.unpack(f, b[i:i + struct.calcsize(f)])[0]
    i += struct.calcsize(f)
    if c in (0xc4, 0xc5, 0xc6):
        return bytes(b[i:i + n]), i + n
    if c in (0xd9, 0xda, 0xdb):
        return b[i:i + n].decode(), i + n
    if c in (0xdc, 0xdd):
        return _arr(b, i, n)
    return _map(b, i, n)


def _arr(b, i, n):
    a = []
    for _ in range(n):
        x, i = unpack(b, i)
        a.append(x)
    return a, i


def _map(b, i, n):
    m = {}
    for _ in range(n):
        k, i = unpack(b, i)
        v, i = unpack(b, i)
        m[k] = v
    return m, i


def records(path):
    """Every record of a stream file, as dicts."""
    with open(path, "rb") as f:
        b = f.read()
    i, out = 0, []
    while i < len(b):
        r, i = unpack(b, i)
        out.append(r)
    return out


def tensor(t):
    """A record tensor as a numpy array (f32 or f16)."""
    import numpy as np
    dt = {"f32": "<f4", "f16": "<f2"}[t["dtype"]]
    return np.frombuffer(t["data"], dtype=dt).reshape(t["shape"]).astype(
        np.float32)


def ftensor(a):
    import numpy as np
    a = np.ascontiguousarray(a, dtype="<f4")
    return {"dtype": "f32", "shape": list(a.shape), "data": a.tobytes()}


def png_read(path):
    """(width, height, pixels): pixels[y][x] = (r, g, b, a), 8-bit PNGs."""
    import zlib
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    i, idat, w = 8, b"", 0
    while i < len(b):
        n, kind = struct.unpack(">I4s", b[i:i + 8])
        body = b[i + 8:i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("%s: not 8-bit RGB(A)" % path)
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, k = [], bytearray(stride), 0
    for y in range(h):
        ft = raw[k]
        line = bytearray(raw[k + 1:k + 1 + stride])
        k += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            up = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + up) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + up) // 2) & 255
            elif ft == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                pr = a if pa <= pb and pa <= pc else up if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append([tuple(line[x:x + bpp]) + ((255,) if bpp == 3 else ())
                     for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


# ---- the maps ----

def layout(rng, T, pair):
    """tokens, seg and the special columns of an input of T tokens."""
    if pair:
        a = int(rng.integers(1, T - 3)) if T > 5 else 1
        b = T - 3 - a
        tok = ["[CLS]"] + ["a%d" % k for k in range(a)] + ["[SEP]"] + \
            ["b%d" % k for k in range(b)] + ["[SEP]"]
        seg = [0] * (a + 2) + [1] * (b + 1)
        spec = [0, a + 1, T - 1]
    else:
        tok = ["[CLS]"] + ["w%d" % k for k in range(T - 2)] + ["[SEP]"]
        seg = [0] * T
        spec = [0, T - 1]
    return tok, seg, spec


def gen(rng, cls, T):
    import numpy as np
    pair = cls == "block" or rng.random() < 0.5
    if pair and T < 5:
        pair = False
    tok, seg, spec = layout(rng, T, pair)
    seg_a = np.array(seg)
    A = np.zeros((T, T))
    pref = rng.dirichlet(np.ones(len(spec)) * 0.7)
    o = int(rng.choice([-1, 1, -1, 1, 0]))
    for i in range(T):
        row = np.zeros(T)
        if cls in ("vertical", "vertical+diagonal"):
            w = rng.uniform(0.6, 0.95) if cls == "vertical" else \
                rng.uniform(0.25, 0.55)
            row[spec] += w * pref
        if cls in ("diagonal", "vertical+diagonal"):
            w = rng.uniform(0.6, 0.95) if cls == "diagonal" else \
                rng.uniform(0.25, 0.55)
            j = i + o
            if j < 0 or j >= T:
                j = i
            row[j] += w
        if cls == "block":
            own = np.flatnonzero(seg_a == seg_a[i])
            w = rng.uniform(0.8, 0.97)
            row[own] += w * rng.dirichlet(np.ones(len(own)) * 2)
        if cls == "heterogeneous":
            cand = [j for j in range(T) if j not in spec and abs(j - i) > 1]
            if not cand:
                cand = list(range(T))
            k = int(rng.integers(1, 5))
            peaks = rng.choice(cand, size=min(k, len(cand)), replace=False)
            w = rng.uniform(0.5, 0.9)
            row[peaks] += w * rng.dirichlet(np.ones(len(peaks)))
        if cls != "heterogeneous" and rng.random() < 0.5:
            # some content-driven attention on any column, in every class
            pk = rng.choice(T, size=min(2, T), replace=False)
            row[pk] += (1 - row.sum()) * rng.uniform(0, 0.5) * \
                rng.dirichlet(np.ones(len(pk)))
        rest = 1 - row.sum()
        row += max(rest, 0) * rng.dirichlet(np.ones(T))
        row *= np.exp(rng.normal(0, 0.15, T))
        A[i] = row / row.sum()
    return tok, seg, A


def main():
    import numpy as np
    n, seed, key, lmin, lmax = 40, 1, "truth", 5, 256
    opts, args = getopt.getopt(sys.argv[1:], "k:l:L:n:s:")
    for o, v in opts:
        if o == "-n":
            n = int(v)
        elif o == "-s":
            seed = int(v)
        elif o == "-k":
            key = v
        elif o == "-l":
            lmin = int(v)
        elif o == "-L":
            lmax = int(v)
    rng = np.random.default_rng(seed)
    out = sys.stdout.buffer
    for k in range(n):
        for ci, cls in enumerate(CLASSES):
            if k == 0:
                T = lmin
            elif k == n - 1:
                T = lmax
            else:
                T = int(round(math.exp(rng.uniform(math.log(lmin),
                                                   math.log(lmax)))))
            tok, seg, A = gen(rng, cls, T)
            rec = {"id": "syn/%s/%d" % (cls, k), "tokens": tok, "seg": seg,
                   "layer": ci + 1, "head": k % 12 + 1, "map": ftensor(A),
                   key: cls}
            out.write(pack(rec, bytearray()))


if __name__ == "__main__":
    main()
