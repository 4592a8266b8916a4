#!/usr/bin/python3
"""torch_bert.py MODEL IN.jsonl THREADS BATCH... [--ref LOGITS.jsonl] [--sweep]

BERT for sequence classification written out in PyTorch's functional API,
as Hugging Face's BertForSequenceClassification runs it in eval mode with
output_attentions=True: embeddings (word + position + token type) and
LayerNorm, post-LayerNorm layers, erf GELU, softmax attention with an
additive mask on padding, tanh pooler on [CLS], linear classifier; every
layer's attention probabilities are returned.  The weights come from
MODEL/model.safetensors (header parsed with json, tensors by
torch.frombuffer).  The records of IN.jsonl ("ids", "seg") go through in
their order, in batches of BATCH padded to the longest in the batch, under
torch.inference_mode() with torch.set_num_threads(THREADS).  One line per
batch size: "batch B seqs_per_s X" (model load and one warm-up batch
excluded).  With --ref, the largest absolute difference between these
logits and encode's (LOGITS.jsonl: JSON lines with "logits") is printed
as "maxdiff D".

With --sweep, the head-disabling sweep instead, as it is done with Hugging
Face transformers: for the all-ones head_mask (the baseline), then each
single head zeroed, then each whole layer zeroed (1 + L*H + L masks, the
order of ablate --heads all --layers all), every record goes through in
batches of BATCH (the first batch size given) with that head_mask,
applied as HF applies it: each layer's attention probabilities, after
the softmax, times head_mask[l] of shape (1, H, 1, 1).  One line:
"sweep masks M batch B seconds S" (model load and a warm-up excluded)."""
import json, math, struct, sys, time
import torch
import torch.nn.functional as Fn

args = sys.argv[1:]
ref = None
sweep = "--sweep" in args
if sweep:
    args.remove("--sweep")
if "--ref" in args:
    i = args.index("--ref")
    ref = args[i + 1]
    del args[i:i + 2]
if len(args) < 4:
    sys.exit(__doc__.split("\n\n")[0])
mdir, inp, nthreads = args[0], args[1], int(args[2])
batches = [int(b) for b in args[3:]]
torch.set_num_threads(nthreads)

cfg = json.load(open(mdir + "/config.json"))
raw = bytearray(open(mdir + "/model.safetensors", "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
W = {}
for k, v in hdr.items():
    if k == "__metadata__":
        continue
    a, b = v["data_offsets"]
    dt = DT[v["dtype"]]
    esz = torch.tensor([], dtype=dt).element_size()
    t = torch.frombuffer(raw, dtype=dt, count=(b - a) // esz,
                         offset=8 + n + a).reshape(v["shape"]).float()
    k = k[5:] if k.startswith("bert.") else k
    k = k.replace("LayerNorm.gamma", "LayerNorm.weight")
    k = k.replace("LayerNorm.beta", "LayerNorm.bias")
    W[k] = t
C, H = cfg["hidden_size"], cfg["num_attention_heads"]
L, D = cfg["num_hidden_layers"], C // H
eps = cfg.get("layer_norm_eps", 1e-12)


def lin(x, p):
    return Fn.linear(x, W[p + ".weight"], W[p + ".bias"])


def ln(x, p):
    return Fn.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)


def forward(ids, seg, mask, head_mask=None):
    """logits (B, labels) and L attention tensors (B, H, T, T); head_mask
    (L, H) multiplies the probabilities as HF's does"""
    B, T = ids.shape
    x = (W["embeddings.word_embeddings.weight"][ids] +
         W["embeddings.position_embeddings.weight"][:T][None] +
         W["embeddings.token_type_embeddings.weight"][seg])
    x = ln(x, "embeddings.LayerNorm")
    ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
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
        if head_mask is not None:
            pr = pr * head_mask[l][None, :, None, None]
        attns.append(pr)
        ctx = torch.matmul(pr, v).permute(0, 2, 1, 3).reshape(B, T, C)
        h1 = ln(lin(ctx, p + "attention.output.dense") + x,
                p + "attention.output.LayerNorm")
        f = Fn.gelu(lin(h1, p + "intermediate.dense"))
        x = ln(lin(f, p + "output.dense") + h1, p + "output.LayerNorm")
    pooled = torch.tanh(lin(x[:, 0], "pooler.dense"))
    return lin(pooled, "classifier"), tuple(attns)


def tensors(b):
    T = max(len(r["ids"]) for r in b)
    ids = torch.zeros(len(b), T, dtype=torch.long)
    seg = torch.zeros(len(b), T, dtype=torch.long)
    mask = torch.zeros(len(b), T, dtype=torch.float32)
    for j, r in enumerate(b):
        t = len(r["ids"])
        ids[j, :t] = torch.tensor(r["ids"])
        seg[j, :t] = torch.tensor(r.get("seg", [0] * t))
        mask[j, :t] = 1
    return ids, seg, mask


recs = [json.loads(l) for l in open(inp)]
maxdiff = 0.0
want = [json.loads(l)["logits"] for l in open(ref)] if ref else None
if sweep:
    masks = [torch.ones(L, H)]
    for l in range(L):
        for h in range(H):
            masks.append(torch.ones(L, H))
            masks[-1][l, h] = 0
    for l in range(L):
        masks.append(torch.ones(L, H))
        masks[-1][l] = 0
    bs = batches[0]
    batch = [tensors(recs[i:i + bs]) for i in range(0, len(recs), bs)]
    with torch.inference_mode():
        forward(*batch[0], masks[1])		# warm-up
        t0 = time.perf_counter()
        for hm in masks:
            for ids, seg, mask in batch:
                forward(ids, seg, mask, hm)
        dt = time.perf_counter() - t0
    print("sweep masks %d batch %d seconds %.2f" % (len(masks), bs, dt))
    sys.exit(0)
with torch.inference_mode():
    forward(*tensors(recs[:1]))		# warm-up
    for bs in batches:
        batch = [tensors(recs[i:i + bs]) for i in range(0, len(recs), bs)]
        logits = []
        t0 = time.perf_counter()
        for ids, seg, mask in batch:
            lg, att = forward(ids, seg, mask)
            logits.append(lg)
        dt = time.perf_counter() - t0
        print("batch %d seqs_per_s %.2f" % (bs, len(recs) / dt), flush=True)
        if want:
            got = torch.cat(logits).tolist()
            maxdiff = max([maxdiff] + [abs(x - y) for a, b in zip(got, want)
                                       for x, y in zip(a, b)])
if want:
    print("maxdiff %.2e" % maxdiff)
