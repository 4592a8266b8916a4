#!/usr/bin/python3
"""refcheck.py OUT.mp REF.jsonl: encode's output against reference outputs
(Hugging Face's, or test/ref_bert.py's): the largest absolute differences of
attention, logits, hidden and pooled, one line, and exit 1 when attention
differs by more than ATOL (1e-5), logits by more than LTOL (1e-4), or a
contribution map (norm, norm_layer, alti, vz) by more than MTOL (1e-5)."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mp

def flat(x):
    if isinstance(x, list):
        for y in x: yield from flat(y)
    else: yield x

out = list(mp.records(open(sys.argv[1], "rb")))
ref = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
if len(out) != len(ref):
    sys.exit("refcheck: %d records, reference has %d" % (len(out), len(ref)))
worst = {}
for o, r in zip(out, ref):
    for k in ("attn", "logits", "hidden", "pooled", "norm", "norm_layer",
              "alti", "vz"):
        if k not in r or k not in o: continue
        a = mp.tensor(o[k]) if isinstance(o[k], dict) else list(flat(o[k]))
        b = list(flat(r[k]))
        if len(a) != len(b):
            sys.exit("refcheck: %s has %d values, reference %d" % (k, len(a), len(b)))
        d = max(abs(x - y) for x, y in zip(a, b))
        worst[k] = max(worst.get(k, 0), d)
print(" ".join("%s %.2e" % kv for kv in sorted(worst.items())))
atol = float(os.environ.get("ATOL", "1e-5")); ltol = float(os.environ.get("LTOL", "1e-4"))
mtol = float(os.environ.get("MTOL", "1e-5"))
if worst.get("attn", 0) > atol or worst.get("logits", 0) > ltol or \
        max(worst.get(k, 0) for k in ("norm", "norm_layer", "alti", "vz")) > mtol:
    sys.exit(1)
