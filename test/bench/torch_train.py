#!/usr/bin/python3
"""torch_train.py MODEL THREADS [-B batch] [-T tokens] [-n steps] [--foreach]
    [--nocheck]

A training step of BERT for sequence classification written out in
PyTorch's functional API, as Hugging Face's BertForSequenceClassification
runs it in train mode under the Trainer: embeddings (word + position +
token type) and LayerNorm, post-LayerNorm layers, erf GELU, softmax
attention with HF's additive mask (all ones here: every sequence has T
tokens), tanh pooler on [CLS], linear classifier, cross-entropy; dropout
0.1 at HF's five sites (the embeddings' output, the attention
probabilities, the attention and FFN outputs before each residual sum,
the pooled output); loss.backward(), clip_grad_norm_(1.0), AdamW (lr 2e-5,
weight decay 0.01 but on biases and LayerNorm weights, betas 0.9 and
0.999, eps 1e-8) and zero_grad(set_to_none=True).  The weights come from
MODEL/model.safetensors (header parsed with json, tensors by
torch.frombuffer), all trained, word embeddings included.

The batch: B sequences of T tokens, token b, i = 1000 + (131 b + 197 i +
(b i) % 89) % 29000 (test/bench/finetune-step.c makes the same), token
type 0, labels b % 2.

Prints "check loss L gradnorm G": with dropout off, the first batch's
mean loss and the gradients' global L2 norm, before any step (the same
numbers as finetune-step -m MODEL prints); then, after one warm-up step,
the steps timed: "step S examples_per_s X cpu P" (the mean of n steps;
P the processor time of a step, every thread's).
--nocheck leaves the check out.
torch.set_num_threads(THREADS); --foreach uses AdamW's multi-tensor
implementation (PyTorch 1.13's default on the CPU is the loop over
tensors)."""
import json, math, struct, sys, time
import torch
import torch.nn.functional as Fn

args = sys.argv[1:]
foreach = "--foreach" in args
if foreach:
    args.remove("--foreach")
check = "--nocheck" not in args
if not check:
    args.remove("--nocheck")
opt = {"-B": 8, "-T": 128, "-n": 3}
for k in list(opt):
    if k in args:
        i = args.index(k)
        opt[k] = int(args[i + 1])
        del args[i:i + 2]
if len(args) != 2:
    sys.exit(__doc__.split("\n\n")[0])
mdir, nthreads = args[0], int(args[1])
B, T, nsteps = opt["-B"], opt["-T"], opt["-n"]
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
    W[k] = torch.nn.Parameter(t.clone())
del raw
C, H = cfg["hidden_size"], cfg["num_attention_heads"]
L, D = cfg["num_hidden_layers"], C // H
eps = cfg.get("layer_norm_eps", 1e-12)
V = cfg["vocab_size"]


def lin(x, p):
    return Fn.linear(x, W[p + ".weight"], W[p + ".bias"])


def ln(x, p):
    return Fn.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)


def forward(ids, seg, mask, p):
    """logits (B, labels), HF's BertForSequenceClassification"""
    B, T = ids.shape
    drop = lambda x: Fn.dropout(x, p, training=p > 0)
    x = (W["embeddings.word_embeddings.weight"][ids] +
         W["embeddings.position_embeddings.weight"][:T][None] +
         W["embeddings.token_type_embeddings.weight"][seg])
    x = drop(ln(x, "embeddings.LayerNorm"))
    ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
    for l in range(L):
        q = "encoder.layer.%d." % l

        def heads(t):
            return t.view(B, T, H, D).permute(0, 2, 1, 3)
        qh = heads(lin(x, q + "attention.self.query"))
        kh = heads(lin(x, q + "attention.self.key"))
        vh = heads(lin(x, q + "attention.self.value"))
        s = torch.matmul(qh, kh.transpose(-1, -2)) / math.sqrt(D) + ext
        pr = drop(torch.softmax(s, dim=-1))
        ctx = torch.matmul(pr, vh).permute(0, 2, 1, 3).reshape(B, T, C)
        h1 = ln(drop(lin(ctx, q + "attention.output.dense")) + x,
                q + "attention.output.LayerNorm")
        f = Fn.gelu(lin(h1, q + "intermediate.dense"))
        x = ln(drop(lin(f, q + "output.dense")) + h1, q + "output.LayerNorm")
    pooled = drop(torch.tanh(lin(x[:, 0], "pooler.dense")))
    return lin(pooled, "classifier")


ids = torch.tensor([[1000 + (131 * b + 197 * i + (b * i) % 89) % 29000
                     for i in range(T)] for b in range(B)])
seg = torch.zeros(B, T, dtype=torch.long)
mask = torch.ones(B, T)
labels = torch.tensor([b % 2 for b in range(B)])
params = list(W.values())
decay = [w for k, w in W.items()
         if not k.endswith(".bias") and "LayerNorm" not in k]
nodecay = [w for k, w in W.items()
           if k.endswith(".bias") or "LayerNorm" in k]
adamw = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                           {"params": nodecay, "weight_decay": 0.0}],
                          lr=2e-5, betas=(0.9, 0.999), eps=1e-8,
                          foreach=foreach)

# the check: dropout off, no step
if check:
    loss = Fn.cross_entropy(forward(ids, seg, mask, 0.0), labels)
    loss.backward()
    gn = torch.nn.utils.clip_grad_norm_(params, float("inf"))
    print("check loss %.7g gradnorm %.7g" % (loss.item(), gn.item()),
          flush=True)
    adamw.zero_grad(set_to_none=True)


def step():
    loss = Fn.cross_entropy(forward(ids, seg, mask, 0.1), labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    adamw.step()
    adamw.zero_grad(set_to_none=True)


step()		# warm-up
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(nsteps):
    step()
dt = (time.perf_counter() - t0) / nsteps
cpu = (time.process_time() - c0) / nsteps
print("step %.3f examples_per_s %.3f cpu %.3f" % (dt, B / dt, cpu),
      flush=True)
