#!/usr/bin/python3
"""ref_family.py MODEL_DIR [--disable L1H2,L2H1] [--mode uniform|zero]
[--measures]: an independent forward pass of a BERT-family encoder (bert,
roberta, xlm-roberta, distilbert, electra, albert) in numpy float64, from
the checkpoint's model.safetensors or pytorch_model.bin, for checking
encode.  Token records as JSON lines on stdin ({"ids": [...], "seg":
[...]}); JSON lines out with logits, attn [L, H, T, T], hidden [T, C];
with --measures also norm [L, H, T, T], norm_layer, alti and vz
[L, 1, T, T], computed from their definitions.
"""
import argparse, json, math, os, struct, sys
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--disable", default="")
ap.add_argument("--mode", default="uniform")
ap.add_argument("--measures", action="store_true")
a = ap.parse_args()

cfg = json.load(open(os.path.join(a.dir, "config.json")))
fam = cfg.get("model_type", "bert").replace("-", "")


def load():
    p = os.path.join(a.dir, "model.safetensors")
    W = {}
    if os.path.exists(p):
        raw = open(p, "rb").read()
        hl = struct.unpack("<Q", raw[:8])[0]
        hdr = json.loads(raw[8:8 + hl])
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            d = raw[8 + hl + b:8 + hl + e]
            if v["dtype"] == "F32":
                x = np.frombuffer(d, "<f4")
            elif v["dtype"] == "F16":
                x = np.frombuffer(d, "<f2").astype("<f4")
            elif v["dtype"] == "BF16":
                x = (np.frombuffer(d, "<u2").astype("<u4") << 16).view("<f4")
            else:
                continue
            W[k] = x.astype(np.float64).reshape(v["shape"])
    else:
        import torch
        sd = torch.load(os.path.join(a.dir, "pytorch_model.bin"),
                        map_location="cpu")
        for k, v in sd.items():
            if v.is_floating_point():
                W[k] = v.double().numpy()
    out = {}
    for k, v in W.items():
        k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
            "LayerNorm.beta", "LayerNorm.bias")
        out[k] = v
    return out


W = load()
if fam == "distilbert":
    L, H, C = cfg["n_layers"], cfg["n_heads"], cfg["dim"]
    eps, act = 1e-12, cfg.get("activation", "gelu")
else:
    L, H, C = (cfg["num_hidden_layers"], cfg["num_attention_heads"],
               cfg["hidden_size"])
    eps, act = cfg.get("layer_norm_eps", 1e-12), cfg.get("hidden_act", "gelu")
D = C // H
pre = {"bert": "bert.", "roberta": "roberta.", "xlmroberta": "roberta.",
       "distilbert": "distilbert.", "electra": "electra.",
       "albert": "albert."}[fam]
W = {(k[len(pre):] if k.startswith(pre) else k): v for k, v in W.items()}

off = set()
for it in filter(None, a.disable.split(",")):
    l, h = it[1:].split("H")
    off.add((int(l), int(h)))

erf = np.vectorize(math.erf)


def actf(x, name):
    if name == "gelu":
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                      (x + 0.044715 * x ** 3)))
    if name == "relu":
        return np.maximum(x, 0)
    raise SystemExit("activation " + name)


def ln(x, p, stats=False):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * W[p + ".weight"] + W[p + ".bias"]


def lin(x, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]


def names(l):
    """Weight names of layer l (0-based): q k v o ln1 f1 f2 ln2."""
    if fam == "distilbert":
        p = "transformer.layer.%d." % l
        return [p + "attention.q_lin", p + "attention.k_lin",
                p + "attention.v_lin", p + "attention.out_lin",
                p + "sa_layer_norm", p + "ffn.lin1", p + "ffn.lin2",
                p + "output_layer_norm"]
    if fam == "albert":
        g = int(l / (L / cfg.get("num_hidden_groups", 1)))
        p = "encoder.albert_layer_groups.%d.albert_layers.0." % g
        return [p + "attention.query", p + "attention.key",
                p + "attention.value", p + "attention.dense",
                p + "attention.LayerNorm", p + "ffn", p + "ffn_output",
                p + "full_layer_layer_norm"]
    p = "encoder.layer.%d." % l
    return [p + "attention.self.query", p + "attention.self.key",
            p + "attention.self.value", p + "attention.output.dense",
            p + "attention.output.LayerNorm", p + "intermediate.dense",
            p + "output.dense", p + "output.LayerNorm"]


def embed(ids, seg):
    T = len(ids)
    if fam in ("roberta", "xlmroberta"):
        pad = cfg.get("pad_token_id", 1)
        mask = (ids != pad).astype(int)
        pos = np.cumsum(mask) * mask + pad
    else:
        pos = np.arange(T)
    x = W["embeddings.word_embeddings.weight"][ids] + \
        W["embeddings.position_embeddings.weight"][pos]
    if "embeddings.token_type_embeddings.weight" in W:
        x = x + W["embeddings.token_type_embeddings.weight"][seg]
    x = ln(x, "embeddings.LayerNorm")
    if fam == "electra" and "embeddings_project.weight" in W:
        x = lin(x, "embeddings_project")
    if fam == "albert":
        x = lin(x, "encoder.embedding_hidden_mapping_in")
    return x


def attention(x, l, n, zero_v=None):
    T = len(x)
    q = lin(x, n[0]).reshape(T, H, D).transpose(1, 0, 2)
    k = lin(x, n[1]).reshape(T, H, D).transpose(1, 0, 2)
    v = lin(x, n[2]).reshape(T, H, D).transpose(1, 0, 2)
    if zero_v is not None:
        v = v.copy()
        v[:, zero_v, :] = 0
    s = q @ k.transpose(0, 2, 1) / math.sqrt(D)
    s = np.exp(s - s.max(-1, keepdims=True))
    pr = s / s.sum(-1, keepdims=True)
    for h in range(H):
        if (l + 1, h + 1) in off:
            pr[h] = 1.0 / T if a.mode == "uniform" else 0.0
    ctx = (pr @ v).transpose(1, 0, 2).reshape(T, C)
    return pr, v, ctx


def layer(x, n, ctx):
    """Layer output from its input and context; ctx None: computed."""
    if ctx is None:
        ctx = attention(x, LAYER, n)[2]
    h1 = ln(lin(ctx, n[3]) + x, n[4])
    f = actf(lin(h1, n[5]), act)
    return ln(lin(f, n[6]) + h1, n[7])


def measures(x, l, n, pr, v):
    """norm, norm_layer, alti and vz of layer l on its input x."""
    T = len(x)
    Wo = W[n[3] + ".weight"]                     # (C, C): out x in
    # f_h(x_j) = v_j^h W_O^h, W_O^h the columns of head h
    f = np.stack([v[h] @ Wo[:, h * D:(h + 1) * D].T for h in range(H)])
    fn = np.linalg.norm(f, axis=-1)              # (H, T)
    norm = pr * fn[:, None, :]                   # (H, T, T)
    # sum over heads of alpha^h_ij f_h(x_j): (T_i, T_j, C)
    s = np.einsum("hij,hjc->ijc", pr, f)
    norm_layer = np.linalg.norm(s, axis=-1)
    # ALTI: T_i(x_j) = LN_i(s_ij + delta_ij x_i), y_i = sum_j T_i(x_j)+...
    ctxo = lin(np.einsum("hij,hjd->ihd", pr, v).reshape(T, C), n[3])
    r = ctxo + x
    mu = r.mean(-1, keepdims=True)
    sd = np.sqrt(((r - mu) ** 2).mean(-1, keepdims=True) + eps)
    g = W[n[4] + ".weight"]
    t = s.copy()
    t[np.arange(T), np.arange(T)] += x
    # LN_i as a linear map with token i's statistics: the mean over
    # features subtracted from each contribution, divided by sd_i, times g
    tt = (t - t.mean(-1, keepdims=True)) / sd[:, None, :] * g
    # y_i: the sum of the transformed vectors (the sublayer's output
    # without the biases of the output projection and of the LayerNorm)
    y = tt.sum(1)
    dist = np.abs(y[:, None, :] - tt).sum(-1)
    c = np.maximum(0, -dist + np.abs(y).sum(-1)[:, None])
    alti = c / c.sum(-1, keepdims=True)
    # value zeroing: rerun layer l with v_j zeroed in every head
    base = layer(x, n, None)
    vz = np.zeros((T, T))
    for j in range(T):
        _, _, cz = attention(x, l, n, zero_v=j)
        hz = layer(x, n, cz)
        cos = (hz * base).sum(-1) / (np.linalg.norm(hz, axis=-1) *
                                      np.linalg.norm(base, axis=-1))
        vz[:, j] = 1 - cos
    vz = vz / vz.sum(-1, keepdims=True)
    return norm, norm_layer, alti, vz


for line in sys.stdin:
    r = json.loads(line)
    ids = np.array(r["ids"]); T = len(ids)
    seg = np.array(r.get("seg") or [0] * T)
    if fam in ("roberta", "xlmroberta", "distilbert"):
        seg = np.zeros(T, dtype=int)
    x = embed(ids, seg)
    attn, ms = [], {"norm": [], "norm_layer": [], "alti": [], "vz": []}
    for l in range(L):
        n = names(l)
        pr, v, ctx = attention(x, l, n)
        attn.append(pr.tolist())
        if a.measures:
            LAYER = l
            for k, m in zip(("norm", "norm_layer", "alti", "vz"),
                            measures(x, l, n, pr, v)):
                ms[k].append(m.tolist() if k == "norm" else [m.tolist()])
        h1 = ln(lin(ctx, n[3]) + x, n[4])
        f = actf(lin(h1, n[5]), act)
        x = ln(lin(f, n[6]) + h1, n[7])
    out = {"id": r.get("id"), "attn": attn, "hidden": x.tolist()}
    if a.measures:
        out.update(ms)
    cls = x[0]
    if "classifier.bias" not in W and "classifier.out_proj.bias" not in W:
        pass                                     # a base model: no head
    elif fam in ("roberta", "xlmroberta"):
        out["logits"] = lin(np.tanh(lin(cls, "classifier.dense")),
                            "classifier.out_proj").tolist()
    elif fam == "electra":
        # ElectraClassificationHead calls get_activation("gelu"), erf
        # GELU, whatever hidden_act says
        out["logits"] = lin(actf(lin(cls, "classifier.dense"), "gelu"),
                            "classifier.out_proj").tolist()
    elif fam == "distilbert":
        out["logits"] = lin(np.maximum(lin(cls, "pre_classifier"), 0),
                            "classifier").tolist()
    elif fam == "albert":
        out["logits"] = lin(np.tanh(lin(cls, "pooler")),
                            "classifier").tolist()
    elif "pooler.dense.weight" in W:
        out["pooled"] = np.tanh(lin(cls, "pooler.dense")).tolist()
        if "classifier.weight" in W:
            out["logits"] = lin(np.array(out["pooled"]),
                                "classifier").tolist()
    print(json.dumps(out))
