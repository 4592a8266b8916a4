#!/usr/bin/python3
"""ref_bert.py MODEL_DIR [--disable L1H2,L2H1] [--mode uniform|zero]:
an independent BERT forward pass in numpy float64, reading the same
safetensors checkpoint, for checking encode.  Token records as JSON lines
on stdin ({"ids": [...], "seg": [...]}), JSON lines out with logits, attn
[L, H, T, T], hidden [T, C] and pooled, as the reference files have them.
"""
import argparse, json, math, os, struct, sys
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--disable", default="")
ap.add_argument("--mode", default="uniform")
a = ap.parse_args()

cfg = json.load(open(os.path.join(a.dir, "config.json")))
raw = open(os.path.join(a.dir, "model.safetensors"), "rb").read()
hl = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + hl])
W = {}
for k, v in hdr.items():
    if k == "__metadata__" or v["dtype"] not in ("F32", "F16", "BF16"):
        continue
    b, e = v["data_offsets"]
    d = raw[8 + hl + b:8 + hl + e]
    if v["dtype"] == "F32":
        x = np.frombuffer(d, "<f4")
    elif v["dtype"] == "F16":
        x = np.frombuffer(d, "<f2").astype("<f4")
    else:
        x = (np.frombuffer(d, "<u2").astype("<u4") << 16).view("<f4")
    k = k[5:] if k.startswith("bert.") else k
    k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
        "LayerNorm.beta", "LayerNorm.bias")
    W[k] = x.astype(np.float64).reshape(v["shape"])

L, H, C = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["hidden_size"]
D, eps = C // H, cfg.get("layer_norm_eps", 1e-12)
off = set()
for it in filter(None, a.disable.split(",")):
    if ":" in it:
        l, h = it.split(":")
    elif "H" in it:
        l, h = it[1:].split("H")
    else:
        l, h = it[1:], "*"
    for hh in (range(1, H + 1) if h == "*" else [int(h)]):
        off.add((int(l), hh))

def lnorm(x, p):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * W[p + ".weight"] + W[p + ".bias"]

def lin(x, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]

erf = np.vectorize(math.erf)
for line in sys.stdin:
    r = json.loads(line)
    ids = np.array(r["ids"]); T = len(ids)
    seg = np.array(r.get("seg", [0] * T))
    x = (W["embeddings.word_embeddings.weight"][ids] +
         W["embeddings.position_embeddings.weight"][:T] +
         W["embeddings.token_type_embeddings.weight"][seg])
    x = lnorm(x, "embeddings.LayerNorm")
    attn = []
    for l in range(L):
        p = "encoder.layer.%d." % l
        q = lin(x, p + "attention.self.query").reshape(T, H, D).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(T, H, D).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(T, H, D).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(D)
        s = np.exp(s - s.max(-1, keepdims=True))
        pr = s / s.sum(-1, keepdims=True)
        for h in range(H):
            if (l + 1, h + 1) in off:
                pr[h] = 1.0 / T if a.mode == "uniform" else 0.0
        attn.append(pr.tolist())
        ctx = (pr @ v).transpose(1, 0, 2).reshape(T, C)
        h1 = lnorm(lin(ctx, p + "attention.output.dense") + x,
                   p + "attention.output.LayerNorm")
        f = lin(h1, p + "intermediate.dense")
        f = 0.5 * f * (1 + erf(f / math.sqrt(2)))
        x = lnorm(lin(f, p + "output.dense") + h1, p + "output.LayerNorm")
    out = {"attn": attn, "hidden": x.tolist()}
    if "pooler.dense.weight" in W:
        pooled = np.tanh(lin(x[0], "pooler.dense"))
        out["pooled"] = pooled.tolist()
        if "classifier.weight" in W:
            out["logits"] = lin(pooled, "classifier").tolist()
    print(json.dumps(out))
