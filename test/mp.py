#!/usr/bin/python3
"""mp.py: a small msgpack reader for the tests (no msgpack module needed).

As a program: a record stream on stdin -> JSON lines on stdout, tensors
expanded to {"dtype", "shape", "data": [floats]}.  As a module: records(f).
"""
import json, struct, sys

def _obj(b, i):
    c = b[i]; i += 1
    if c <= 0x7f: return c, i
    if c >= 0xe0: return c - 256, i
    if 0x80 <= c <= 0x8f: return _map(b, i, c & 15)
    if 0x90 <= c <= 0x9f: return _arr(b, i, c & 15)
    if 0xa0 <= c <= 0xbf: n = c & 31; return b[i:i+n].decode(), i + n
    if c == 0xc0: return None, i
    if c == 0xc2: return False, i
    if c == 0xc3: return True, i
    fmt = {0xcc: '>B', 0xcd: '>H', 0xce: '>I', 0xcf: '>Q', 0xd0: '>b',
           0xd1: '>h', 0xd2: '>i', 0xd3: '>q', 0xca: '>f', 0xcb: '>d'}
    if c in fmt:
        n = struct.calcsize(fmt[c]); return struct.unpack(fmt[c], b[i:i+n])[0], i + n
    if c in (0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb):
        w = {0xc4: 1, 0xd9: 1, 0xc5: 2, 0xda: 2, 0xc6: 4, 0xdb: 4}[c]
        n = int.from_bytes(b[i:i+w], 'big'); i += w
        v = bytes(b[i:i+n]); i += n
        return (v if c <= 0xc6 else v.decode()), i
    if c in (0xdc, 0xdd):
        w = 2 if c == 0xdc else 4
        return _arr(b, i + w, int.from_bytes(b[i:i+w], 'big'))
    if c in (0xde, 0xdf):
        w = 2 if c == 0xde else 4
        return _map(b, i + w, int.from_bytes(b[i:i+w], 'big'))
    raise ValueError("unsupported msgpack byte 0x%02x" % c)

def _arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = _obj(b, i); out.append(v)
    return out, i

def _map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _obj(b, i); v, i = _obj(b, i); out[k] = v
    return out, i

def tensor(t):
    """A record tensor as a flat list of floats."""
    d = t["data"]
    if t["dtype"] == "f32":
        return list(struct.unpack("<%df" % (len(d) // 4), d))
    h = struct.unpack("<%dH" % (len(d) // 2), d)
    if t["dtype"] == "f16":
        return list(struct.unpack("<%de" % len(h), d))
    return [struct.unpack("<f", struct.pack("<I", x << 16))[0] for x in h]

def records(f):
    b = f.read(); i = 0
    while i < len(b):
        r, i = _obj(b, i)
        yield r

def expand(o):
    if isinstance(o, dict):
        if set(o) >= {"dtype", "shape", "data"} and isinstance(o["data"], bytes):
            return {"dtype": o["dtype"], "shape": o["shape"], "data": tensor(o)}
        return {k: expand(v) for k, v in o.items()}
    if isinstance(o, list): return [expand(x) for x in o]
    if isinstance(o, bytes): return o.hex()
    return o

if __name__ == "__main__":
    for r in records(sys.stdin.buffer):
        print(json.dumps(expand(r)))
