#!/usr/bin/python3
# ablate-logits.py: print "id<TAB>ablation<TAB>logits" for each record of
# the msgpack stream on stdin, the logits exactly (float.hex), for
# ablate's tests to compare with encode's (no msgpack module needed).
import struct, sys

def obj(b, i):
    t = b[i]
    if t < 0x80: return t, i + 1
    if t >= 0xe0: return t - 256, i + 1
    if 0x80 <= t <= 0x8f: return mp(b, i + 1, t & 15)
    if 0x90 <= t <= 0x9f: return arr(b, i + 1, t & 15)
    if 0xa0 <= t <= 0xbf: n = t & 31; return b[i+1:i+1+n].decode(), i + 1 + n
    if t == 0xc0: return None, i + 1
    if t in (0xc2, 0xc3): return t == 0xc3, i + 1
    if t in (0xc4, 0xc5, 0xc6):
        w = {0xc4: 1, 0xc5: 2, 0xc6: 4}[t]
        n = int.from_bytes(b[i+1:i+1+w], 'big'); j = i + 1 + w
        return b[j:j+n], j + n
    if t == 0xca: return struct.unpack('>f', b[i+1:i+5])[0], i + 5
    if t == 0xcb: return struct.unpack('>d', b[i+1:i+9])[0], i + 9
    if 0xcc <= t <= 0xcf:
        w = 1 << (t - 0xcc); return int.from_bytes(b[i+1:i+1+w], 'big'), i + 1 + w
    if 0xd0 <= t <= 0xd3:
        w = 1 << (t - 0xd0)
        return int.from_bytes(b[i+1:i+1+w], 'big', signed=True), i + 1 + w
    if t in (0xd9, 0xda, 0xdb):
        w = {0xd9: 1, 0xda: 2, 0xdb: 4}[t]
        n = int.from_bytes(b[i+1:i+1+w], 'big'); j = i + 1 + w
        return b[j:j+n].decode(), j + n
    if t in (0xdc, 0xdd):
        w = 2 if t == 0xdc else 4
        return arr(b, i + 1 + w, int.from_bytes(b[i+1:i+1+w], 'big'))
    if t in (0xde, 0xdf):
        w = 2 if t == 0xde else 4
        return mp(b, i + 1 + w, int.from_bytes(b[i+1:i+1+w], 'big'))
    raise ValueError("msgpack type 0x%02x at %d" % (t, i))

def arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = obj(b, i); out.append(v)
    return out, i

def mp(b, i, n):
    out = {}
    for _ in range(n):
        k, i = obj(b, i); v, i = obj(b, i); out[k] = v
    return out, i

b = sys.stdin.buffer.read()
i = 0
while i < len(b):
    r, i = obj(b, i)
    print("%s\t%s\t%s" % (r.get("id", "-"), r.get("ablation", "-"),
        " ".join(float(x).hex() for x in r["logits"])))
