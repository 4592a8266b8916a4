#!/usr/bin/python3
# finetune-task.py -- write a small task of token records (msgpack) that a
# tiny BERT can learn: label 1 when token X comes before token Y, else 0.
#
#	usage: finetune-task.py n seed vocab [X Y] >out.mp
#
# Each record: id "order/i", ids [CLS]=1, filler tokens from 5..vocab-1
# with one X and one Y at random places, [SEP]=2; seg all 0; label.
# With X and Y both -1: regression, label = (pos(Y) - pos(X)) / T.
import random
import struct
import sys


def pack(o, out):
    if isinstance(o, bool):
        out.append(0xc3 if o else 0xc2)
    elif isinstance(o, int):
        if 0 <= o < 128:
            out.append(o)
        elif 0 <= o < 1 << 16:
            out += b"\xcd" + struct.pack(">H", o)
        elif 0 <= o < 1 << 32:
            out += b"\xce" + struct.pack(">I", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode()
        assert len(b) < 256
        out += (bytes([0xa0 | len(b)]) if len(b) < 32
                else b"\xd9" + bytes([len(b)])) + b
    elif isinstance(o, list):
        assert len(o) < 1 << 16
        out += (bytes([0x90 | len(o)]) if len(o) < 16
                else b"\xdc" + struct.pack(">H", len(o)))
        for x in o:
            pack(x, out)
    elif isinstance(o, dict):
        out.append(0x80 | len(o))
        for k, v in o.items():
            pack(k, out)
            pack(v, out)
    else:
        raise TypeError(o)


def main():
    n, seed, vocab = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    x, y = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 \
        else (3, 4)
    regress = x < 0
    if regress:
        x, y = 3, 4
    rng = random.Random(seed)
    out = bytearray()
    for i in range(n):
        t = rng.randint(6, 12)
        ids = [1] + [rng.randrange(5, vocab) for _ in range(t - 2)] + [2]
        px, py = rng.sample(range(1, t - 1), 2)
        ids[px], ids[py] = x, y
        lab = (py - px) / t if regress else int(px < py)
        pack({"id": "order/%d" % i, "ids": ids, "seg": [0] * t,
              "label": lab}, out)
    sys.stdout.buffer.write(out)


main()
