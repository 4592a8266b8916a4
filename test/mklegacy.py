#!/usr/bin/python3
"""mklegacy.py -- pytorch_model.bin files in torch.save's older formats, and
sharded checkpoints, for the ptbin and hcmodel tests.

  mklegacy.py torch SAFETENSORS OUT [-d f32|f16|bf16] [-s]
      The state dict written by torch.save(..., _use_new_zipfile_
      serialization=False), the legacy format (needs torch).  -s shares
      storages: a tied decoder (cls.predictions.decoder.weight, the word
      embeddings' storage), query/key/value as row slices of one fused
      storage (offsets), and attention.output.dense.weight of layer 0 as
      the transpose of a contiguous storage, after 5 elements of another
      (a non-contiguous view with a storage offset).
  mklegacy.py legacy SAFETENSORS OUT [-d f32|f16|bf16] [-s] [-b]
      The same legacy format written here from its definition, without
      torch; -b says little_endian False in the system info and writes
      the storages big-endian, as a big-endian machine did.
  mklegacy.py tar SAFETENSORS OUT [-d f32|f16|bf16] [-s]
      The oldest format, a tar archive with members sys_info, pickle,
      tensors and storages, written from its definition (torch no longer
      writes it; its torch.load still reads it).
  mklegacy.py shards DIR KIND
      Split DIR/model.safetensors over three shards and an index,
      model.safetensors.index.json (KIND st) or pytorch_model.bin.index.json
      (KIND legacy or tar: each shard in that format); the safetensors file
      is removed.
  mklegacy.py tuples OUT N
      A legacy file whose state-dict pickle nests N one-element tuples: a
      small file that once asked for gigabytes.

The files without torch pickle stand-ins for torch's globals (a module
"torch" made here), so never load them in a process that imports torch.
"""
import collections
import getopt
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkbin  # noqa: E402

MAGIC = 0x1950a86a20f9469cfc6c
VERSION = 1001
DTYPES = {"f32": ("Float", 4), "f16": ("Half", 2), "bf16": ("BFloat16", 2)}


def tobytes(v, dt, big=False):
    """Values as raw storage bytes of dtype dt."""
    e = ">" if big else "<"
    if dt == "f32":
        return struct.pack(e + "%df" % len(v), *v)
    if dt == "f16":
        return struct.pack(e + "%de" % len(v), *v)
    out = []
    for x in v:                 # bfloat16: round to nearest even
        u, = struct.unpack("<I", struct.pack("<f", x))
        u = (u + 0x7fff + ((u >> 16) & 1)) >> 16
        out.append(u)
    return struct.pack(e + "%dH" % len(out), *out)


def layout(src, share):
    """The state dict as storages and tensors:
    storages: {key: list of values}; tensors: [(name, key, offset, shape,
    stride)]."""
    t = mkbin.read_safetensors(src)
    stor, tens = collections.OrderedDict(), []
    byname = {n: (s, v) for n, s, v in t}
    done = set()

    def contig(shape):
        st, acc = [], 1
        for d in reversed(shape):
            st.insert(0, acc)
            acc *= d
        return st
    for n, s, v in t:
        if n in done:
            continue
        if share and n.endswith("attention.self.query.weight") or \
                share and n.endswith("attention.self.query.bias"):
            kind = n.rsplit(".", 1)[1]
            base = n[:-len("query." + kind)]
            key = str(len(stor))
            stor[key] = []
            for m in ("query", "key", "value"):
                p = base + m + "." + kind
                ps, pv = byname[p]
                tens.append((p, key, len(stor[key]), ps, contig(ps)))
                stor[key] += pv
                done.add(p)
            continue
        key = str(len(stor))
        if share and n.endswith("layer.0.attention.output.dense.weight"):
            # its transpose, contiguous, after 5 other elements
            r, c = s
            tv = [v[i * c + j] for j in range(c) for i in range(r)]
            stor[key] = [0.25] * 5 + tv
            tens.append((n, key, 5, s, [1, r]))
        else:
            stor[key] = list(v)
            tens.append((n, key, 0, s, contig(s)))
        done.add(n)
        if share and n.endswith("word_embeddings.weight"):
            tens.append(("cls.predictions.decoder.weight", key, 0, s,
                         contig(s)))
    return stor, tens


# ---- stand-ins for torch's globals, for pickle ----

def fakes():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    torch._utils = utils
    for name in ("FloatStorage", "HalfStorage", "BFloat16Storage",
                 "FloatTensor", "HalfTensor", "BFloat16Tensor"):
        cls = type(name, (), {})
        cls.__module__ = "torch"
        cls.__qualname__ = name
        setattr(torch, name, cls)

    def _rebuild_tensor_v2(*a):
        pass
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return torch


class Ref:
    """A storage or tensor that the pickler writes as a persistent id."""
    def __init__(self, pid):
        self.pid = pid


class Rebuild:
    """A tensor pickled as _rebuild_tensor_v2(storage, offset, size,
    stride, requires_grad, hooks)."""
    def __init__(self, torch, sref, off, shape, stride):
        self.args = (sref, off, tuple(shape), tuple(stride), False,
                     collections.OrderedDict())
        self.fn = torch._utils._rebuild_tensor_v2

    def __reduce__(self):
        return (self.fn, self.args)


def dumps_pid(obj):
    f = io.BytesIO()
    p = pickle.Pickler(f, protocol=2)
    p.persistent_id = lambda o: o.pid if isinstance(o, Ref) else None
    p.dump(obj)
    return f.getvalue()


def sysinfo(little=True):
    return pickle.dumps(dict(protocol_version=VERSION, little_endian=little,
                             type_sizes=dict(short=2, int=4, long=8)),
                        protocol=2)


def write_legacy(src, out, dt, share, big=False):
    torch = fakes()
    cls = getattr(torch, DTYPES[dt][0] + "Storage")
    stor, tens = layout(src, share)
    sd = collections.OrderedDict()
    for n, key, off, shape, stride in tens:
        ref = Ref(("storage", cls, key, "cpu", len(stor[key]), None))
        sd[n] = Rebuild(torch, ref, off, shape, stride)
    keys = sorted(stor)
    b = pickle.dumps(MAGIC, protocol=2) + pickle.dumps(VERSION, protocol=2)
    b += sysinfo(not big) + dumps_pid(sd) + pickle.dumps(keys, protocol=2)
    for k in keys:
        b += struct.pack("<q", len(stor[k])) + tobytes(stor[k], dt, big)
    with open(out, "wb") as f:
        f.write(b)


def write_tar(src, out, dt, share):
    torch = fakes()
    scls = getattr(torch, DTYPES[dt][0] + "Storage")
    tcls = getattr(torch, DTYPES[dt][0] + "Tensor")
    stor, tens = layout(src, share)
    # keys are integers, as id() gave them; the pickle names tensors by
    # their key in decimal
    skey = {k: 1000 + i for i, k in enumerate(stor)}
    storages = pickle.dumps(len(stor), protocol=2)
    for k, v in stor.items():
        storages += pickle.dumps((skey[k], "cpu", scls), protocol=2)
        storages += struct.pack("<q", len(v)) + tobytes(v, dt)
    storages += pickle.dumps([], protocol=2)
    tensors = pickle.dumps(len(tens), protocol=2)
    sd = collections.OrderedDict()
    for i, (n, key, off, shape, stride) in enumerate(tens):
        tkey = 5000 + i
        tensors += pickle.dumps((tkey, skey[key], tcls), protocol=2)
        tensors += struct.pack("<ii", len(shape), 0)
        tensors += struct.pack("<%dq" % len(shape), *shape)
        tensors += struct.pack("<%dq" % len(stride), *stride)
        tensors += struct.pack("<q", off)
        sd[n] = Ref(str(tkey))
    members = [("sys_info", sysinfo()), ("pickle", dumps_pid(sd)),
               ("tensors", tensors), ("storages", storages)]
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1500000000.5     # a float: a pax header each
            tar.addfile(ti, io.BytesIO(data))


def write_torch(src, out, dt, share):
    import torch
    dtype = {"f32": torch.float32, "f16": torch.float16,
             "bf16": torch.bfloat16}[dt]
    stor, tens = layout(src, share)
    base = {k: torch.tensor(v, dtype=torch.float32).to(dtype)
            for k, v in stor.items()}
    sd = collections.OrderedDict()
    for n, key, off, shape, stride in tens:
        sd[n] = base[key].as_strided(shape, stride, off)
    torch.save(sd, out, _use_new_zipfile_serialization=False)


def shards(d, kind):
    src = os.path.join(d, "model.safetensors")
    t = mkbin.read_safetensors(src)
    parts = [t[i::3] for i in range(3)]
    wm = {}
    for i, p in enumerate(parts):
        if kind == "st":
            name = "model-%05d-of-00003.safetensors" % (i + 1)
            mkbin.write_safetensors(os.path.join(d, name), p)
        else:
            name = "pytorch_model-%05d-of-00003.bin" % (i + 1)
            tmp = os.path.join(d, "part.safetensors")
            mkbin.write_safetensors(tmp, p)
            (write_tar if kind == "tar" else write_legacy)(
                tmp, os.path.join(d, name), "f32", False)
            os.remove(tmp)
        for n, _, _ in p:
            wm[n] = name
    index = "model.safetensors.index.json" if kind == "st" else \
        "pytorch_model.bin.index.json"
    with open(os.path.join(d, index), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f,
                  indent=2)
    os.remove(src)


def tuples(out, n):
    # the pickle: N, then n TUPLE1, STOP
    b = pickle.dumps(MAGIC, protocol=2) + pickle.dumps(VERSION, protocol=2)
    b += sysinfo() + b"\x80\x02N" + b"\x85" * n + b"."
    with open(out, "wb") as f:
        f.write(b)


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] in ("torch", "legacy", "tar"):
        opts, args = getopt.gnu_getopt(a[1:], "bd:s")
        o = dict(opts)
        dt = o.get("-d", "f32")
        if len(args) != 2 or dt not in DTYPES:
            sys.exit(__doc__)
        if a[0] == "torch":
            write_torch(args[0], args[1], dt, "-s" in o)
        elif a[0] == "legacy":
            write_legacy(args[0], args[1], dt, "-s" in o, "-b" in o)
        else:
            write_tar(args[0], args[1], dt, "-s" in o)
    elif len(a) == 3 and a[0] == "shards":
        shards(a[1], a[2])
    elif len(a) == 3 and a[0] == "tuples":
        tuples(a[1], int(a[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
