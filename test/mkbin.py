#!/usr/bin/python3
"""mkbin.py -- pytorch_model.bin files for the ptbin and hcmodel tests.

  mkbin.py model DIR
      A tiny BERT directory: config.json, vocab.txt and an F32
      model.safetensors with HF BertModel names.  Pure Python; the weights are
      multiples of 1/64 in [-0.75, 0.75], exact in float16 and bfloat16, so
      every dtype holds the same values.
  mkbin.py bin SAFETENSORS OUT [-d f32|f16|bf16] [-p PREFIX] [-s] [-i]
      The same state dict written by torch.save (needs torch): -p prefixes
      every name ("bert."), -s shares storages (query/key/value as slices of
      one fused storage, a decoder tied to the word embeddings), -i adds an
      int64 position_ids buffer.
  mkbin.py rezip IN OUT [-n NAME] [-u] [-z]
      Rewrite a .bin's zip container with our own writer: archive directory
      NAME/ instead of torch's, -u data not aligned on 64 bytes (odd
      offsets), -z ZIP64 records throughout.  No torch.
  mkbin.py tokens OUT
      Three token records (id, ids, seg) for the model of "mkbin.py model",
      as msgpack.
  mkbin.py bad KIND IN OUT
      A malformed .bin made from a good one (no torch): truncated, opcode,
      global, nokey, small, compressed, legacy, nopickle, stride.
"""
import json
import os
import pickle
import struct
import sys
import zlib

CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "hidden_act": "gelu",
    "vocab_size": 24,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
}

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat",
         "on", "mat", "a", "dog", "ran", "##s", "##ed", "and", ".", ",",
         "it", "was", "red", "big", "in", "house"]


def names(cfg):
    """(name, shape) of a BertModel state dict, in HF order."""
    C, F = cfg["hidden_size"], cfg["intermediate_size"]
    out = [("embeddings.word_embeddings.weight", (cfg["vocab_size"], C)),
           ("embeddings.position_embeddings.weight",
            (cfg["max_position_embeddings"], C)),
           ("embeddings.token_type_embeddings.weight",
            (cfg["type_vocab_size"], C)),
           ("embeddings.LayerNorm.weight", (C,)),
           ("embeddings.LayerNorm.bias", (C,))]
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        for m in ("query", "key", "value"):
            out.append((p + "attention.self.%s.weight" % m, (C, C)))
            out.append((p + "attention.self.%s.bias" % m, (C,)))
        out += [(p + "attention.output.dense.weight", (C, C)),
                (p + "attention.output.dense.bias", (C,)),
                (p + "attention.output.LayerNorm.weight", (C,)),
                (p + "attention.output.LayerNorm.bias", (C,)),
                (p + "intermediate.dense.weight", (F, C)),
                (p + "intermediate.dense.bias", (F,)),
                (p + "output.dense.weight", (C, F)),
                (p + "output.dense.bias", (C,)),
                (p + "output.LayerNorm.weight", (C,)),
                (p + "output.LayerNorm.bias", (C,))]
    out += [("pooler.dense.weight", (C, C)), ("pooler.dense.bias", (C,))]
    return out


def values(name, n):
    """n deterministic multiples of 1/64 for tensor name."""
    h = zlib.crc32(name.encode())
    out = []
    for i in range(n):
        h = (h * 1103515245 + 12345) & 0x7fffffff
        k = (h >> 8) % 97 - 48
        if name.endswith("LayerNorm.weight"):
            k = 64 + k // 4             # gains near 1
        out.append(k / 64.0)
    return out


def prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, list of floats), written as F32."""
    header, data = {}, b""
    for name, shape, v in tensors:
        b = struct.pack("<%df" % len(v), *v)
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def read_safetensors(path):
    """[(name, shape, list of values)] of a safetensors file, in file order:
    floats, or ints for I64."""
    with open(path, "rb") as f:
        buf = f.read()
    (hl,) = struct.unpack_from("<Q", buf)
    header = json.loads(buf[8:8 + hl])
    base = 8 + hl
    out = []
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = buf[base + a:base + b]
        if t["dtype"] == "F32":
            v = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        elif t["dtype"] == "F16":
            v = list(struct.unpack("<%de" % (len(raw) // 2), raw))
        elif t["dtype"] == "BF16":
            u = struct.unpack("<%dH" % (len(raw) // 2), raw)
            v = [struct.unpack("<f", struct.pack("<I", x << 16))[0]
                 for x in u]
        elif t["dtype"] == "I64":
            v = list(struct.unpack("<%dq" % (len(raw) // 8), raw))
        else:
            sys.exit("mkbin.py: %s: dtype %s" % (name, t["dtype"]))
        out.append((name, tuple(t["shape"]), v, a))
    out.sort(key=lambda x: x[3])
    return [x[:3] for x in out]


def cmd_model(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    t = [(n, s, values(n, prod(s))) for n, s in names(CONFIG)]
    write_safetensors(os.path.join(d, "model.safetensors"), t)


def cmd_bin(args):
    import collections
    import getopt
    import torch
    opts, args = getopt.gnu_getopt(args, "d:p:si")
    o = dict(opts)
    dt = {"f32": torch.float32, "f16": torch.float16,
          "bf16": torch.bfloat16}[o.get("-d", "f32")]
    pfx = o.get("-p", "")
    src, out = args
    sd = collections.OrderedDict()
    t = {n: torch.tensor(v, dtype=torch.int64).reshape(s)
         if v and isinstance(v[0], int) else
         torch.tensor(v, dtype=torch.float32).reshape(s).to(dt)
         for n, s, v in read_safetensors(src)}
    if "-s" in o:
        # q, k, v as row slices of one fused storage; likewise the biases.
        for n in list(t):
            if n.endswith("attention.self.query.weight") or \
                    n.endswith("attention.self.query.bias"):
                kind = n.rsplit(".", 1)[1]
                base = n[:-len("query." + kind)]
                parts = [base + m + "." + kind
                         for m in ("query", "key", "value")]
                fused = torch.cat([t[p] for p in parts], 0).contiguous()
                rows = t[n].shape[0]
                for j, p in enumerate(parts):
                    t[p] = fused[j * rows:(j + 1) * rows]
    for n, v in t.items():
        sd[pfx + n] = v
    if "-s" in o:
        we = sd[pfx + "embeddings.word_embeddings.weight"]
        sd["cls.predictions.decoder.weight"] = we
    if "-i" in o:
        P = t["embeddings.position_embeddings.weight"].shape[0]
        sd[pfx + "embeddings.position_ids"] = torch.arange(P).expand((1, -1))
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    torch.save(sd, out)


# ---- our own zip writer, for rezip and the malformed files ----

def pad64(at):
    """An extra field that puts the data at offset at + 4 + n on 64 bytes,
    as torch.save does."""
    n = -(at + 4) % 64
    return struct.pack("<HH", 0x4246, n) + b"Z" * n


def write_zip(path, entries, zip64=False, method=0, align=True):
    """entries: list of (name, bytes); stored unless method is 8."""
    def pad(at):
        if align:
            return pad64(at)
        return b"" if at % 2 else struct.pack("<HH", 0x4246, 1) + b"Z"
    out = b""
    cd = b""
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data)
        body = data
        if method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        lho = len(out)
        if zip64:
            lx = struct.pack("<HHQQ", 1, 16, len(data), len(body))
            lx += pad(lho + 30 + len(nb) + len(lx))
            out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, method,
                               0, 0x21, crc, 0xffffffff, 0xffffffff,
                               len(nb), len(lx)) + nb + lx + body
            cx = struct.pack("<HHQQQ", 1, 24, len(data), len(body), lho)
            cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0,
                              method, 0, 0x21, crc, 0xffffffff, 0xffffffff,
                              len(nb), len(cx), 0, 0, 0, 0,
                              0xffffffff) + nb + cx
        else:
            lx = pad(lho + 30 + len(nb))
            out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method,
                               0, 0x21, crc, len(body), len(data),
                               len(nb), len(lx)) + nb + lx + body
            cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0,
                              method, 0, 0x21, crc, len(body), len(data),
                              len(nb), 0, 0, 0, 0, 0, lho) + nb
    cdoff = len(out)
    out += cd
    n = len(entries)
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0,
                           n, n, len(cd), cdoff)
        out += struct.pack("<IIQI", 0x07064b50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff,
                           0xffffffff, 0xffffffff, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cd),
                           cdoff, 0)
    with open(path, "wb") as f:
        f.write(out)


def read_entries(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def cmd_rezip(args):
    import getopt
    opts, args = getopt.gnu_getopt(args, "n:uz")
    o = dict(opts)
    src, out = args
    e = read_entries(src)
    if "-n" in o:
        e = [(o["-n"] + "/" + n.split("/", 1)[1], d) for n, d in e]
    write_zip(out, e, zip64="-z" in o, align="-u" not in o)


def rename(e, old, new):
    return [(new if n == old else n, d) for n, d in e]


def cmd_bad(kind, src, out):
    e = read_entries(src)
    pre = e[0][0].split("/", 1)[0] + "/"
    pkl = dict(e)[pre + "data.pkl"]
    if kind == "truncated":
        with open(src, "rb") as f:
            buf = f.read()
        with open(out, "wb") as f:
            f.write(buf[:len(buf) * 2 // 3])
        return
    if kind == "legacy":
        # torch.save(..., _use_new_zipfile_serialization=False) starts with
        # a protocol 2 pickle of the magic number 0x1950a86a20f9469cfc6c.
        with open(out, "wb") as f:
            f.write(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2))
            f.write(pickle.dumps(1001, protocol=2))
        return
    if kind == "opcode":
        # A float value in the dict: BINFLOAT, not in the subset.
        e = [(n, pickle.dumps({"x": 1.5}, protocol=2)
              if n == pre + "data.pkl" else d) for n, d in e]
    elif kind == "global":
        # os.system('true'): refused by name, never called.
        bad = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01" \
              b"\x85q\x02Rq\x03."
        e = [(n, bad if n == pre + "data.pkl" else d) for n, d in e]
    elif kind == "nokey":
        e = [x for x in e if x[0] != pre + "data/0"]
    elif kind == "small":
        e = [(n, d[:len(d) // 2] if n == pre + "data/0" else d)
             for n, d in e]
    elif kind == "stride":
        # Storage 0's first tensor with its shape's strides reversed.
        i = pkl.index(b"Q")
        j = pkl.index(b"\x86", i)          # size TUPLE2
        k = pkl.index(b"\x86", j + 1)      # stride TUPLE2
        s = pkl[j + 3:k]                    # after BINPUT n
        if len(s) != 4 or s[0:1] != b"K" or s[2:3] != b"K":
            sys.exit("mkbin.py: stride: unexpected pickle")
        s = b"K\x01K" + bytes([s[1]])
        pkl = pkl[:j + 3] + s + pkl[k:]
        e = [(n, pkl if n == pre + "data.pkl" else d) for n, d in e]
    elif kind == "nopickle":
        e = rename(e, pre + "data.pkl", pre + "other.pkl")
    elif kind == "compressed":
        write_zip(out, e, method=8)
        return
    else:
        sys.exit("mkbin.py: unknown kind %s" % kind)
    write_zip(out, e)


def mp(x):
    """The msgpack of the few types a token record needs."""
    if isinstance(x, int):
        assert 0 <= x < 128
        return bytes([x])
    if isinstance(x, str):
        b = x.encode()
        assert len(b) < 32
        return bytes([0xa0 | len(b)]) + b
    if isinstance(x, list):
        assert len(x) < 16
        return bytes([0x90 | len(x)]) + b"".join(mp(v) for v in x)
    if isinstance(x, dict):
        assert len(x) < 16
        return bytes([0x80 | len(x)]) + b"".join(mp(k) + mp(v)
                                                  for k, v in x.items())
    raise TypeError(x)


def cmd_tokens(out):
    recs = [("the cat sat on the mat .", None),
            ("a dog ran", "it was big and red ."),
            ("the big red house", "in the house")]
    with open(out, "wb") as f:
        for i, (a, b) in enumerate(recs):
            ids = [2] + [VOCAB.index(w) for w in a.split()] + [3]
            seg = [0] * len(ids)
            if b is not None:
                tb = [VOCAB.index(w) for w in b.split()] + [3]
                ids += tb
                seg += [1] * len(tb)
            f.write(mp({"id": "mkbin/%d" % i, "ids": ids, "seg": seg}))


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "model":
        cmd_model(a[1])
    elif len(a) >= 3 and a[0] == "bin":
        cmd_bin(a[1:])
    elif len(a) >= 3 and a[0] == "rezip":
        cmd_rezip(a[1:])
    elif len(a) == 2 and a[0] == "tokens":
        cmd_tokens(a[1])
    elif len(a) == 4 and a[0] == "bad":
        cmd_bad(a[1], a[2], a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
