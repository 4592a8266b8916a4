#!/usr/bin/python3
"""mkmodel.py DIR [options]: write a random BERT checkpoint in the Hugging
Face layout (config.json, model.safetensors, vocab.txt) for the tests.

  -L layers -H heads -C hidden -F ffn -P max_positions -V vocab
  --labels N     a classifier of N labels (0: a BertModel with pooler)
  --dtype F32|F16|BF16
  --prefix       names with "bert." (as BertForSequenceClassification)
  --gamma        LayerNorm gamma/beta, as old checkpoints
  --no-pooler    no pooler (a BertModel without one)
  --extra        BertForPreTraining's heads (cls.*, the decoder a tied
                 copy of the word embeddings) and an int64 buffer
  --seed S
  --vocab FILE   take the vocabulary from FILE (V = its lines)

Weights are random but not HF's default init: N(0, 1/sqrt(C)) mostly,
query/key N(0, sqrt(2/C)), LayerNorm gains 1 + N(0, 0.1), so attention is
neither uniform nor one-hot and every sublayer matters.
"""
import argparse, json, os, struct
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("-L", type=int, default=2)
ap.add_argument("-H", type=int, default=2)
ap.add_argument("-C", type=int, default=16)
ap.add_argument("-F", type=int, default=32)
ap.add_argument("-P", type=int, default=64)
ap.add_argument("-V", type=int, default=0)
ap.add_argument("--labels", type=int, default=2)
ap.add_argument("--dtype", default="F32")
ap.add_argument("--prefix", action="store_true")
ap.add_argument("--gamma", action="store_true")
ap.add_argument("--no-pooler", action="store_true")
ap.add_argument("--extra", action="store_true")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--vocab")
a = ap.parse_args()

if a.vocab:
    words = [l.rstrip("\n") for l in open(a.vocab, encoding="utf-8")]
else:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!",
             "?", "'", "the", "a", "cat", "dog", "sat", "on", "mat", "it",
             "was", "is", "not", "and", "he", "she", "we", "they", "ran",
             "park", "in", "to", "of", "##s", "##ed", "##ing", "good",
             "bad", "movie", "very", "never", "no"]
    while len(words) < max(a.V, 40):
        words.append("w%d" % len(words))
V = len(words)
rng = np.random.default_rng(a.seed)
C, F = a.C, a.F
s = 1 / np.sqrt(C)

def n(*shape, sd=s):
    return rng.normal(0, sd, shape)

t = {}
def put(name, v):
    t[("bert." if a.prefix and not name.startswith("classifier") and
       not name.startswith("cls.") else "") + name] = v
def ln(name):
    w, b = ("gamma", "beta") if a.gamma else ("weight", "bias")
    put(name + "." + w, 1 + n(C, sd=0.1))
    put(name + "." + b, n(C, sd=0.1))

put("embeddings.word_embeddings.weight", n(V, C, sd=1))
put("embeddings.position_embeddings.weight", n(a.P, C, sd=0.5))
put("embeddings.token_type_embeddings.weight", n(2, C, sd=0.5))
ln("embeddings.LayerNorm")
for l in range(a.L):
    p = "encoder.layer.%d." % l
    for k in ("query", "key"):
        put(p + "attention.self.%s.weight" % k, n(C, C, sd=np.sqrt(2 / C)))
        put(p + "attention.self.%s.bias" % k, n(C, sd=0.1))
    put(p + "attention.self.value.weight", n(C, C))
    put(p + "attention.self.value.bias", n(C, sd=0.1))
    put(p + "attention.output.dense.weight", n(C, C))
    put(p + "attention.output.dense.bias", n(C, sd=0.1))
    ln(p + "attention.output.LayerNorm")
    put(p + "intermediate.dense.weight", n(F, C))
    put(p + "intermediate.dense.bias", n(F, sd=0.1))
    put(p + "output.dense.weight", n(C, F, sd=1 / np.sqrt(F)))
    put(p + "output.dense.bias", n(C, sd=0.1))
    ln(p + "output.LayerNorm")
if not a.no_pooler:
    put("pooler.dense.weight", n(C, C))
    put("pooler.dense.bias", n(C, sd=0.1))
if a.labels > 0:
    t["classifier.weight"] = n(a.labels, C)
    t["classifier.bias"] = n(a.labels, sd=0.1)
if a.extra:
    t["cls.predictions.bias"] = n(V, sd=0.1)
    t["cls.predictions.transform.dense.weight"] = n(C, C)
    t["cls.predictions.transform.dense.bias"] = n(C, sd=0.1)
    t["cls.predictions.transform.LayerNorm.weight"] = 1 + n(C, sd=0.1)
    t["cls.predictions.transform.LayerNorm.bias"] = n(C, sd=0.1)
    wte = [v for k, v in t.items() if k.endswith("word_embeddings.weight")]
    t["cls.predictions.decoder.weight"] = wte[0]
    t["cls.predictions.decoder.bias"] = t["cls.predictions.bias"]
    t["cls.seq_relationship.weight"] = n(2, C)
    t["cls.seq_relationship.bias"] = n(2, sd=0.1)
    t["bert.embeddings.position_ids" if a.prefix else
      "embeddings.position_ids"] = None        # an int64 buffer

os.makedirs(a.dir, exist_ok=True)
hdr, blobs, off = {}, [], 0
for name, v in t.items():
    if v is None:
        raw = np.arange(a.P, dtype="<i8").tobytes()
        hdr[name] = {"dtype": "I64", "shape": [1, a.P],
                     "data_offsets": [off, off + len(raw)]}
    else:
        v32 = v.astype("<f4")
        if a.dtype == "F16":
            raw = v32.astype("<f2").tobytes()
        elif a.dtype == "BF16":
            u = v32.view("<u4").astype(np.uint64)
            u = ((u + 0x7fff + ((u >> 16) & 1)) >> 16).astype("<u2")
            raw = u.tobytes()
        else:
            raw = v32.tobytes()
        hdr[name] = {"dtype": a.dtype, "shape": list(v.shape),
                     "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
hdr["__metadata__"] = {"format": "pt"}
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
cfg = {"architectures": ["BertForSequenceClassification" if a.labels
                         else "BertModel"], "model_type": "bert",
       "hidden_size": C, "num_hidden_layers": a.L,
       "num_attention_heads": a.H, "intermediate_size": F,
       "hidden_act": "gelu", "vocab_size": V, "max_position_embeddings": a.P,
       "type_vocab_size": 2, "layer_norm_eps": 1e-12}
if a.labels:
    cfg["num_labels"] = a.labels
with open(os.path.join(a.dir, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
with open(os.path.join(a.dir, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(words) + "\n")
