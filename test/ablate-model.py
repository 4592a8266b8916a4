#!/usr/bin/python3
# ablate-model.py: a BERT classifier with random weights in the Hugging Face
# layout (config.json, model.safetensors F32, vocab.txt), for ablate's tests
# and benchmark.
#   ablate-model.py DIR [L C H F V [LABELS [SEED]]]   (default 2 16 4 32 40 2 1)
import json, os, sys
import numpy as np

a = sys.argv[1:]
if not a:
    sys.exit("usage: ablate-model.py dir [L C H F V [labels [seed]]]")
d = a[0]
L, C, H, F, V = (int(x) for x in (a[1:6] if len(a) >= 6 else (2, 16, 4, 32, 40)))
nl = int(a[6]) if len(a) > 6 else 2
seed = int(a[7]) if len(a) > 7 else 1
P, S = 512, 2
r = np.random.default_rng(seed)
t = {}
def w(name, *shape, s=0.1):
    t[name] = (r.standard_normal(shape) * s).astype("<f4")
def ln(name):
    t[name + ".weight"] = (1 + 0.1 * r.standard_normal(C)).astype("<f4")
    t[name + ".bias"] = (0.1 * r.standard_normal(C)).astype("<f4")
w("bert.embeddings.word_embeddings.weight", V, C, s=0.5)
w("bert.embeddings.position_embeddings.weight", P, C, s=0.5)
w("bert.embeddings.token_type_embeddings.weight", S, C, s=0.5)
ln("bert.embeddings.LayerNorm")
s = 1 / np.sqrt(C)
for l in range(L):
    p = "bert.encoder.layer.%d." % l
    for k in ("query", "key", "value"):
        w(p + "attention.self.%s.weight" % k, C, C, s=s * 2)
        w(p + "attention.self.%s.bias" % k, C)
    w(p + "attention.output.dense.weight", C, C, s=s)
    w(p + "attention.output.dense.bias", C)
    ln(p + "attention.output.LayerNorm")
    w(p + "intermediate.dense.weight", F, C, s=s)
    w(p + "intermediate.dense.bias", F)
    w(p + "output.dense.weight", C, F, s=1 / np.sqrt(F))
    w(p + "output.dense.bias", C)
    ln(p + "output.LayerNorm")
w("bert.pooler.dense.weight", C, C, s=s * 2)
w("bert.pooler.dense.bias", C)
w("classifier.weight", nl, C, s=s * 4)
w("classifier.bias", nl)

os.makedirs(d, exist_ok=True)
hdr, off = {}, 0
for k, v in t.items():
    hdr[k] = {"dtype": "F32", "shape": list(v.shape),
        "data_offsets": [off, off + v.nbytes]}
    off += v.nbytes
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as f:
    f.write(len(h).to_bytes(8, "little") + h)
    for v in t.values():
        f.write(v.tobytes())
json.dump({"architectures": ["BertForSequenceClassification"],
    "model_type": "bert", "hidden_size": C, "num_hidden_layers": L,
    "num_attention_heads": H, "intermediate_size": F, "hidden_act": "gelu",
    "vocab_size": V, "max_position_embeddings": P, "type_vocab_size": S,
    "layer_norm_eps": 1e-12, "num_labels": nl},
    open(os.path.join(d, "config.json"), "w"), indent=1)
with open(os.path.join(d, "vocab.txt"), "w") as f:
    for i in range(V):
        f.write(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"][i] + "\n"
            if i < 5 else "w%d\n" % i)
