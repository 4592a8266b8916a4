#!/usr/bin/python3
"""mkbad.py: malformed inputs for test/badinput.bats, made at test time.

  mkbad.py stream IN OUT N KIND   the first N records of IN as they are,
                                  then a broken one (KIND below), then the
                                  rest of IN
  mkbad.py edit IN OUT N CODE     the same, the record after the first N
                                  changed by the Python statements CODE
                                  (r the record, helpers below)
  mkbad.py gz IN OUT cut|corrupt  IN gzipped, then cut short or with bytes
                                  flipped in the middle of the deflate data
  mkbad.py model SRC DST CODE     a copy of the model directory SRC changed
                                  by CODE (h the safetensors header, d its
                                  data bytes, c config.json; set raw or
                                  cfgraw to write bytes as they are, or
                                  hjson to write the header's text as it
                                  is; dst is the new directory)

KIND: cut (half a record), c1 (a byte that starts no msgpack object), junk
(text), nonmap (an array), deep (arrays nested 1000 deep), bin, str, arr,
map (a header that claims about 4 GB, in a few bytes).  Helpers for CODE:
tensor(dtype, shape, values), poke(t, i, x) (element i of tensor t set to
x), nan, inf, add(h, d, name, like) (a tensor name with the dtype and
shape of tensor like and a copy of its data after d; returns the new d).
Pure Python: no msgpack or numpy module needed.
"""
import gzip, json, math, os, shutil, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mp

nan, inf = math.nan, math.inf
DTS = {"f32": 4, "f16": 2, "bf16": 2}


def pk(o, out):
    if o is None: out += b"\xc0"
    elif o is True: out += b"\xc3"
    elif o is False: out += b"\xc2"
    elif isinstance(o, int):
        if 0 <= o < 128: out += struct.pack(">B", o)
        elif -32 <= o < 0: out += struct.pack(">b", o)
        elif o < 0: out += struct.pack(">Bq", 0xd3, o)
        else: out += struct.pack(">BQ", 0xcf, o)
    elif isinstance(o, float): out += struct.pack(">Bd", 0xcb, o)
    elif isinstance(o, str):
        b = o.encode("utf-8", "surrogateescape")
        out += (struct.pack(">B", 0xa0 | len(b)) if len(b) < 32
                else struct.pack(">BI", 0xdb, len(b))) + b
    elif isinstance(o, (bytes, bytearray)):
        out += struct.pack(">BI", 0xc6, len(o)) + bytes(o)
    elif isinstance(o, list):
        out += (struct.pack(">B", 0x90 | len(o)) if len(o) < 16
                else struct.pack(">BI", 0xdd, len(o)))
        for x in o: pk(x, out)
    elif isinstance(o, dict):
        out += (struct.pack(">B", 0x80 | len(o)) if len(o) < 16
                else struct.pack(">BI", 0xdf, len(o)))
        for k, v in o.items():
            pk(k, out)
            pk(v, out)
    else:
        raise TypeError(type(o))
    return out


def enc(o):
    return bytes(pk(o, bytearray()))


def split(b):
    """The raw bytes of each record of a stream."""
    out, i = [], 0
    while i < len(b):
        _, j = mp._obj(b, i)
        out.append(b[i:j])
        i = j
    return out


def el(dtype, x):
    if dtype == "f32": return struct.pack("<f", x)
    if dtype == "f16": return struct.pack("<e", x)
    return struct.pack("<f", x)[2:]		# bf16: the high half


def tensor(dtype, shape, values):
    return {"dtype": dtype, "shape": list(shape),
            "data": b"".join(el(dtype, x) for x in values)}


def poke(t, i, x):
    s = DTS[t["dtype"]]
    d = bytearray(t["data"])
    d[i * s:(i + 1) * s] = el(t["dtype"], x)
    t["data"] = bytes(d)


def add(h, d, name, like):
    e = h[like]
    b, n = e["data_offsets"]
    h[name] = {"dtype": e["dtype"], "shape": list(e["shape"]),
               "data_offsets": [len(d), len(d) + n - b]}
    return d + d[b:n]


# A broken record of each kind, after a few good bytes where a record starts.
HUGE = {
    "bin": b"\x81\xa1x\xc6\xff\xff\xff\xf0ab",
    "str": b"\x81\xa1x\xdb\xff\xff\xff\xf0ab",
    "arr": b"\x81\xa1x\xdd\xff\xff\xff\xf0\x01\x02",
    "map": b"\xdf\xff\xff\xff\xf0\xa1x\x01",
}


def broken(kind, rec):
    if kind == "cut": return rec[:len(rec) // 2]
    if kind == "c1": return b"\x82\xa2id\xa1x\xa1y\xc1"
    if kind == "junk": return b"this is not msgpack\n"
    if kind == "nonmap": return enc([1, 2, 3])
    if kind == "deep": return b"\x81\xa1x" + b"\x91" * 1000 + b"\x01"
    return HUGE[kind]


def main():
    a = sys.argv[1:]
    if a[0] in ("stream", "edit"):
        recs = split(open(a[1], "rb").read())
        n = int(a[3])
        out = b"".join(recs[:n])
        if a[0] == "stream":
            out += broken(a[4], recs[n] if n < len(recs) else b"")
            if a[4] != "cut":
                out += b"".join(recs[n + 1:])
        else:
            v = {"r": mp._obj(recs[n], 0)[0]}
            exec(a[4], globals(), v)
            out += enc(v["r"]) + b"".join(recs[n + 1:])
        open(a[2], "wb").write(out)
    elif a[0] == "gz":
        z = gzip.compress(open(a[1], "rb").read())
        if a[3] == "cut":
            z = z[:len(z) // 2]
        else:
            m = len(z) // 2
            z = z[:m] + bytes(x ^ 0x55 for x in z[m:m + 8]) + z[m + 8:]
        open(a[2], "wb").write(z)
    elif a[0] == "model":
        shutil.copytree(a[1], a[2])
        p = a[2] + "/model.safetensors"
        raw = open(p, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        h = json.loads(raw[8:8 + n])
        v = {"h": h, "d": raw[8 + n:], "raw": None, "cfgraw": None,
             "hjson": None, "dst": a[2],
             "c": json.load(open(a[2] + "/config.json")), "struct": struct}
        exec(a[3], globals(), v)
        if v["raw"] is None:
            hraw = (v["hjson"] or json.dumps(v["h"])).encode()
            v["raw"] = struct.pack("<Q", len(hraw)) + hraw + v["d"]
        open(p, "wb").write(v["raw"])
        if v["cfgraw"] is None:
            v["cfgraw"] = json.dumps(v["c"]).encode()
        p = a[2] + "/config.json"
        if os.path.isfile(p) or not os.path.exists(p):
            open(p, "wb").write(v["cfgraw"])
    else:
        sys.exit("mkbad.py: unknown command " + a[0])


if __name__ == "__main__":
    main()
