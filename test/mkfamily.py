#!/usr/bin/python3
"""mkfamily.py DIR FAMILY [options]: write a random checkpoint of a BERT
family in the Hugging Face layout (config.json, model.safetensors or
pytorch_model.bin, vocab.txt), named as the family's
...ForSequenceClassification saves it, for the tests.  FAMILY is roberta,
xlm-roberta, distilbert, electra or albert.

  -L layers -H heads -C hidden -F ffn -E embedding size (electra, albert)
  -P max_positions -V vocab  --labels N (1: regression)  --seed S
  --dtype F32|F16|BF16  --bin (pytorch_model.bin, torch.save's zip)
  --act gelu|gelu_new|relu  --groups G (albert: hidden groups)
  --base (the bare encoder, as a ...Model saves it: no classifier)

Weights are random as mkmodel.py draws them, so that every sublayer
matters.
"""
import argparse, json, os, struct
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("family")
ap.add_argument("-L", type=int, default=2)
ap.add_argument("-H", type=int, default=2)
ap.add_argument("-C", type=int, default=16)
ap.add_argument("-F", type=int, default=32)
ap.add_argument("-E", type=int, default=0)
ap.add_argument("-P", type=int, default=64)
ap.add_argument("-V", type=int, default=40)
ap.add_argument("--labels", type=int, default=2)
ap.add_argument("--dtype", default="F32")
ap.add_argument("--bin", action="store_true")
ap.add_argument("--act", default="gelu")
ap.add_argument("--groups", type=int, default=1)
ap.add_argument("--base", action="store_true")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()

fam = a.family
if fam not in ("roberta", "xlm-roberta", "distilbert", "electra", "albert"):
    raise SystemExit("mkfamily.py: unknown family " + fam)
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "the", "a",
         "cat", "dog", "sat", "on", "mat", "it", "was", "is", "not", "and"]
if fam in ("roberta", "xlm-roberta"):
    words = ["<s>", "<pad>", "</s>", "<unk>"] + words[5:] + ["<mask>"]
while len(words) < a.V:
    words.append("w%d" % len(words))
V, C, F, L = len(words), a.C, a.F, a.L
E = a.E if a.E and fam in ("electra", "albert") else C
rng = np.random.default_rng(a.seed)
s = 1 / np.sqrt(C)
pre = {"roberta": "roberta.", "xlm-roberta": "roberta.",
       "distilbert": "distilbert.", "electra": "electra.",
       "albert": "albert."}[fam]
if a.base:
    pre = ""


def n(*shape, sd=s):
    return rng.normal(0, sd, shape)


t = {}


def put(name, v, top=False):
    t[(name if top else pre + name)] = v


def dense(name, o, i, sd=None, top=False):
    put(name + ".weight", n(o, i, sd=sd if sd else 1 / np.sqrt(i)), top)
    put(name + ".bias", n(o, sd=0.1), top)


def ln(name, d=C):
    put(name + ".weight", 1 + n(d, sd=0.1))
    put(name + ".bias", n(d, sd=0.1))


pad = 1 if fam in ("roberta", "xlm-roberta") else 0
P = a.P + (pad + 1 if pad else 0)
put("embeddings.word_embeddings.weight", n(V, E, sd=1))
put("embeddings.position_embeddings.weight", n(P, E, sd=0.5))
if fam != "distilbert":
    put("embeddings.token_type_embeddings.weight",
        n(1 if pad else 2, E, sd=0.5))
ln("embeddings.LayerNorm", E)
if fam == "electra" and E != C:
    dense("embeddings_project", C, E)
if fam == "albert":
    dense("encoder.embedding_hidden_mapping_in", C, E)
qk = np.sqrt(2 / C)
if fam == "distilbert":
    for l in range(L):
        p = "transformer.layer.%d." % l
        dense(p + "attention.q_lin", C, C, qk)
        dense(p + "attention.k_lin", C, C, qk)
        dense(p + "attention.v_lin", C, C)
        dense(p + "attention.out_lin", C, C)
        ln(p + "sa_layer_norm")
        dense(p + "ffn.lin1", F, C)
        dense(p + "ffn.lin2", C, F)
        ln(p + "output_layer_norm")
elif fam == "albert":
    for g in range(a.groups):
        p = "encoder.albert_layer_groups.%d.albert_layers.0." % g
        dense(p + "attention.query", C, C, qk)
        dense(p + "attention.key", C, C, qk)
        dense(p + "attention.value", C, C)
        dense(p + "attention.dense", C, C)
        ln(p + "attention.LayerNorm")
        dense(p + "ffn", F, C)
        dense(p + "ffn_output", C, F)
        ln(p + "full_layer_layer_norm")
else:
    for l in range(L):
        p = "encoder.layer.%d." % l
        dense(p + "attention.self.query", C, C, qk)
        dense(p + "attention.self.key", C, C, qk)
        dense(p + "attention.self.value", C, C)
        dense(p + "attention.output.dense", C, C)
        ln(p + "attention.output.LayerNorm")
        dense(p + "intermediate.dense", F, C)
        dense(p + "output.dense", C, F)
        ln(p + "output.LayerNorm")
if fam == "albert":
    dense("pooler", C, C)
if not a.base:
    nl = a.labels
    if fam in ("roberta", "xlm-roberta", "electra"):
        dense("classifier.dense", C, C, top=True)
        dense("classifier.out_proj", nl, C, top=True)
    elif fam == "distilbert":
        dense("pre_classifier", C, C, top=True)
        dense("classifier", nl, C, top=True)
    else:
        dense("classifier", nl, C, top=True)

os.makedirs(a.dir, exist_ok=True)


def cast(v):
    v32 = v.astype("<f4")
    if a.dtype == "F16":
        return v32.astype("<f2")
    if a.dtype == "BF16":
        u = v32.view("<u4").astype(np.uint64)
        return ((u + 0x7fff + ((u >> 16) & 1)) >> 16).astype("<u2")
    return v32


if a.bin:
    import torch
    sd = {}
    for k, v in t.items():
        c = cast(v)
        if a.dtype == "BF16":
            sd[k] = torch.from_numpy(c.view(np.int16).copy()).view(
                torch.bfloat16)
        else:
            sd[k] = torch.from_numpy(c.copy())
    torch.save(sd, os.path.join(a.dir, "pytorch_model.bin"))
else:
    hdr, blobs, off = {}, [], 0
    for k, v in t.items():
        raw = cast(v).tobytes()
        hdr[k] = {"dtype": a.dtype, "shape": list(v.shape),
                  "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hdr["__metadata__"] = {"format": "pt"}
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

arch = {"roberta": "Roberta", "xlm-roberta": "XLMRoberta",
        "distilbert": "DistilBert", "electra": "Electra",
        "albert": "Albert"}[fam]
cfg = {"architectures": [arch + ("Model" if a.base else
                                 "ForSequenceClassification")],
       "model_type": fam, "vocab_size": V, "max_position_embeddings": P,
       "pad_token_id": pad}
if fam == "distilbert":
    cfg.update({"dim": C, "n_layers": L, "n_heads": a.H, "hidden_dim": F,
                "activation": a.act, "sinusoidal_pos_embds": False})
else:
    cfg.update({"hidden_size": C, "num_hidden_layers": L,
                "num_attention_heads": a.H, "intermediate_size": F,
                "hidden_act": a.act, "layer_norm_eps": 1e-12,
                "type_vocab_size": 1 if pad else 2,
                "position_embedding_type": "absolute"})
if fam in ("electra", "albert"):
    cfg["embedding_size"] = E
if fam == "albert":
    cfg.update({"num_hidden_groups": a.groups, "inner_group_num": 1})
if not a.base:
    cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(a.labels)}
    cfg["label2id"] = {"LABEL_%d" % i: i for i in range(a.labels)}
with open(os.path.join(a.dir, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
with open(os.path.join(a.dir, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(words) + "\n")
