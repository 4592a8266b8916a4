#!/bin/sh
# bf16err.sh MODEL RECORDS -- what --precision bf16 changes against f32 on
# one model and one token stream: the largest attention and logit
# differences, the predictions and the classify-pattern labels that change.
# The figures of encode.1's bf16 table come from it, for instance
#	sh test/bf16err.sh out/demo/ft out/demo/dev.mp
# after `make demo`.
set -e
[ $# -eq 2 ] || { echo "usage: bf16err.sh MODEL RECORDS" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/cmd:$PATH
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
for p in f32 bf16; do
	encode -m "$1" -a --precision $p "$2" >"$w/$p.mp"
	attend-dump "$w/$p.mp" | classify-pattern >"$w/$p.pat"
done
PYTHONPATH=$top/test /usr/bin/python3 - "$w" <<'PYEOF'
import sys, mkmaps
w = sys.argv[1]
a, b = mkmaps.records(w + "/f32.mp"), mkmaps.records(w + "/bf16.mp")
assert len(a) == len(b) > 0
da = dl = 0.0
pred = 0
for x, y in zip(a, b):
    assert x["id"] == y["id"]
    da = max(da, float(abs(mkmaps.tensor(x["attn"])
        - mkmaps.tensor(y["attn"])).max()))
    if "logits" in x:
        dl = max(dl, max(abs(p - q) for p, q in zip(x["logits"], y["logits"])))
        pred += x["pred"] != y["pred"]
pa, pb = mkmaps.records(w + "/f32.pat"), mkmaps.records(w + "/bf16.pat")
key = lambda r: (r["id"], r["layer"], r["head"])
assert list(map(key, pa)) == list(map(key, pb))
pat = sum(p["pattern"] != q["pattern"] for p, q in zip(pa, pb))
print("records %d  attention %.2g  logits %.2g  predictions changed %d"
      "  patterns changed %d of %d" % (len(a), da, dl, pred, pat, len(pa)))
PYEOF
