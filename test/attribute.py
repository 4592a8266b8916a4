#!/usr/bin/python3
"""attribute.py MODEL_DIR [-s steps] [-p]: attention attribution (Hao et
al. 2021) computed independently with PyTorch's autograd in float64, from
the same safetensors BERT checkpoint, for checking attribute(1).  Token
records as JSON lines on stdin ({"ids", "seg", "label"}); JSON lines out
with attr [L, H, T, T] and the label attributed.  For each layer l and
k = 1..m, layer l's attention probabilities A are replaced by a leaf
tensor (k/m) A; F is the softmax probability of the label (the output
itself for regression); attr = A * mean over k of dF/d((k/m) A).
"""
import argparse, json, math, os, struct, sys
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("-s", type=int, default=20)
ap.add_argument("-p", action="store_true")
a = ap.parse_args()
torch.set_default_dtype(torch.float64)

cfg = json.load(open(os.path.join(a.dir, "config.json")))
raw = open(os.path.join(a.dir, "model.safetensors"), "rb").read()
hl = struct.unpack("<Q", raw[:8])[0]
W = {}
for k, v in json.loads(raw[8:8 + hl]).items():
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
    W[k] = torch.tensor(x.astype(np.float64).reshape(v["shape"]))
L, H, C = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["hidden_size"]
D, eps = C // H, cfg.get("layer_norm_eps", 1e-12)


def ln(x, p):
    return torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"],
                                          W[p + ".bias"], eps)


def lin(x, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]


def forward(ids, seg, at=None, probs=None):
    """Logits; layer at's probabilities replaced by probs; also returns
    each layer's probabilities."""
    T = len(ids)
    x = ln(W["embeddings.word_embeddings.weight"][ids] +
           W["embeddings.position_embeddings.weight"][:T] +
           W["embeddings.token_type_embeddings.weight"][seg],
           "embeddings.LayerNorm")
    ps = []
    for l in range(L):
        p = "encoder.layer.%d." % l
        q = lin(x, p + "attention.self.query").reshape(T, H, D).transpose(0, 1)
        k = lin(x, p + "attention.self.key").reshape(T, H, D).transpose(0, 1)
        v = lin(x, p + "attention.self.value").reshape(T, H, D).transpose(0, 1)
        pr = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(D), -1)
        ps.append(pr)
        if l == at:
            pr = probs
        ctx = (pr @ v).transpose(0, 1).reshape(T, C)
        h1 = ln(lin(ctx, p + "attention.output.dense") + x,
                p + "attention.output.LayerNorm")
        f = torch.nn.functional.gelu(lin(h1, p + "intermediate.dense"))
        x = ln(lin(f, p + "output.dense") + h1, p + "output.LayerNorm")
    pooled = torch.tanh(lin(x[0], "pooler.dense"))
    return lin(pooled, "classifier"), ps


for line in sys.stdin:
    r = json.loads(line)
    ids = torch.tensor(r["ids"]); T = len(ids)
    seg = torch.tensor(r.get("seg") or [0] * T)
    with torch.no_grad():
        z, ps = forward(ids, seg)
    nl = len(z)
    y = r.get("label")
    if nl == 1:
        y = 0
    elif a.p or y is None:
        y = int(torch.argmax(z))
    attr = []
    for l in range(L):
        A = ps[l].detach()
        g = torch.zeros_like(A)
        for k in range(1, a.s + 1):
            s = (k / a.s * A).requires_grad_(True)
            z, _ = forward(ids, seg, l, s)
            F = z[0] if nl == 1 else torch.softmax(z, -1)[y]
            g += torch.autograd.grad(F, s)[0]
        attr.append((A * g / a.s).tolist())
    print(json.dumps({"id": r.get("id"), "attr": attr, "attr_label": y}))
