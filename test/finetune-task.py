#!/usr/bin/python3
# finetune-task.py -- write a small task of token records (msgpack) that a
# tiny BERT can learn: label 1 when token X comes before token Y, else 0.
#
#	usage: finetune-task.py n seed vocab [X Y] >out.mp
#	       finetune-task.py model DIR
#
# Each record: id "order/i", ids [CLS]=1, filler tokens from 5..vocab-1
# with one X and one Y at random places, [SEP]=2; seg all 0; label.
# With X and Y both -1: regression, label = (pos(Y) - pos(X)) / T.
# "model DIR" writes a tiny random BERT without pooler or classifier
# there (2 layers, 2 heads, hidden 32, FFN 64, vocabulary 40, 32
# positions), in the HF layout, with numpy.
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


def model(d):
    import json
    import os
    import numpy as np
    rng = np.random.default_rng(1)
    L, C, F, V, P = 2, 32, 64, 40, 32
    t = {}

    def lin(name, o, i):
        t[name + ".weight"] = rng.normal(0, 0.02, (o, i))
        t[name + ".bias"] = np.zeros(o)

    def ln(name):
        t[name + ".weight"] = np.ones(C)
        t[name + ".bias"] = np.zeros(C)
    e = "bert.embeddings."
    t[e + "word_embeddings.weight"] = rng.normal(0, 0.02, (V, C))
    t[e + "position_embeddings.weight"] = rng.normal(0, 0.02, (P, C))
    t[e + "token_type_embeddings.weight"] = rng.normal(0, 0.02, (2, C))
    ln(e + "LayerNorm")
    for l in range(L):
        p = "bert.encoder.layer.%d." % l
        for q in ("query", "key", "value"):
            lin(p + "attention.self." + q, C, C)
        lin(p + "attention.output.dense", C, C)
        ln(p + "attention.output.LayerNorm")
        lin(p + "intermediate.dense", F, C)
        lin(p + "output.dense", C, F)
        ln(p + "output.LayerNorm")
    hdr, off, blobs = {}, 0, []
    for k, v in t.items():
        b = v.astype("<f4").tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(v.shape),
                  "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-(8 + len(h)) % 8)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    cfg = {"architectures": ["BertModel"], "model_type": "bert",
           "hidden_size": C, "num_hidden_layers": L,
           "num_attention_heads": 2, "intermediate_size": F,
           "vocab_size": V, "max_position_embeddings": P,
           "type_vocab_size": 2, "layer_norm_eps": 1e-12,
           "hidden_act": "gelu"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("[PAD]\n[CLS]\n[SEP]\nx\ny\n")
        for i in range(5, V):
            f.write("w%d\n" % i)


def main():
    if sys.argv[1] == "model":
        return model(sys.argv[2])
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
