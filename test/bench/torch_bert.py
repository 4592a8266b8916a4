#!/usr/bin/python3
"""torch_bert.py MODEL IN.jsonl BATCH THREADS: BERT for sequence
classification in PyTorch, as Hugging Face's BertForSequenceClassification
runs it in eval mode with output_attentions=True (post-LayerNorm, erf GELU,
additive -10000 mask on padding), over the records of IN.jsonl in batches of
BATCH padded to their longest.  Prints sequences per second (model load
excluded) and the largest logit difference to encode's, when OUT.jsonl of
encode is given as a fifth argument."""
import json, math, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as Fn

mdir, inp, bs, nt = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(nt)
cfg = json.load(open(mdir + "/config.json"))
raw = open(mdir + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
W = {}
for k, v in hdr.items():
    if k == "__metadata__" or v["dtype"] != "F32":
        continue
    a, b = v["data_offsets"]
    t = np.frombuffer(raw, "<f4", (b - a) // 4, 8 + n + a).reshape(v["shape"])
    W[k[5:] if k.startswith("bert.") else k] = torch.from_numpy(t.copy())
C, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
D, eps = C // H, cfg.get("layer_norm_eps", 1e-12)

def lin(x, p):
    return Fn.linear(x, W[p + ".weight"], W[p + ".bias"])

def ln(x, p):
    return Fn.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)

def forward(ids, seg, mask):
    B, T = ids.shape
    x = (W["embeddings.word_embeddings.weight"][ids] +
         W["embeddings.position_embeddings.weight"][:T][None] +
         W["embeddings.token_type_embeddings.weight"][seg])
    x = ln(x, "embeddings.LayerNorm")
    ext = (1.0 - mask[:, None, None, :].float()) * -10000.0
    attns = []
    for l in range(L):
        p = "encoder.layer.%d." % l
        def heads(t):
            return t.view(B, T, H, D).permute(0, 2, 1, 3)
        q = heads(lin(x, p + "attention.self.query"))
        k = heads(lin(x, p + "attention.self.key"))
        v = heads(lin(x, p + "attention.self.value"))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + ext
        pr = torch.softmax(s, dim=-1)
        attns.append(pr)
        ctx = torch.matmul(pr, v).permute(0, 2, 1, 3).reshape(B, T, C)
        h1 = ln(lin(ctx, p + "attention.output.dense") + x,
                p + "attention.output.LayerNorm")
        f = Fn.gelu(lin(h1, p + "intermediate.dense"))
        x = ln(lin(f, p + "output.dense") + h1, p + "output.LayerNorm")
    pooled = torch.tanh(lin(x[:, 0], "pooler.dense"))
    return lin(pooled, "classifier"), attns

recs = [json.loads(l) for l in open(inp)]
logits = []
t0 = time.time()
with torch.no_grad():
    for i in range(0, len(recs), bs):
        b = recs[i:i + bs]
        T = max(len(r["ids"]) for r in b)
        ids = torch.zeros(len(b), T, dtype=torch.long)
        seg = torch.zeros(len(b), T, dtype=torch.long)
        mask = torch.zeros(len(b), T, dtype=torch.long)
        for j, r in enumerate(b):
            t = len(r["ids"])
            ids[j, :t] = torch.tensor(r["ids"])
            seg[j, :t] = torch.tensor(r.get("seg", [0] * t))
            mask[j, :t] = 1
        lg, att = forward(ids, seg, mask)
        # the maps leave the model, as a study writes them out
        for j, r in enumerate(b):
            t = len(r["ids"])
            [a[j, :, :t, :t].numpy() for a in att]
        logits += lg.tolist()
dt = time.time() - t0
out = "%.2f" % (len(recs) / dt)
if len(sys.argv) > 5:
    ref = [json.loads(l)["logits"] for l in open(sys.argv[5])]
    out += " %.1e" % max(abs(x - y) for a, b in zip(logits, ref)
                          for x, y in zip(a, b))
print(out)
