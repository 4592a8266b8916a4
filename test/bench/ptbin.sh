#!/bin/sh
# ptbin: seconds to check a BERT-base-shaped model directory (12 layers,
# 768, 12 heads, 3072, vocabulary 30522, random f32 weights) with hcmodel
# check (open, verify shapes, model_load) when its weights are a
# pytorch_model.bin written by torch.save, against the same weights as
# model.safetensors; best of 3, timed alternately in the same run, page
# cache warm.  Needs torch to write the .bin.
set -e
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
if ! $PY -c 'import torch' 2>/dev/null; then
	echo "ptbin: torch is absent; skipped"
	exit 0
fi
make -s cmd/hcmodel
d=test/bench/out/ptbin
mkdir -p "$d/st" "$d/bin"
$PY - "$d" <<'PYEOF'
import json, os, struct, sys
import torch
sys.path.insert(0, "test")
import mkbin
d = sys.argv[1]
cfg = dict(mkbin.CONFIG, hidden_size=768, num_hidden_layers=12,
           num_attention_heads=12, intermediate_size=3072,
           vocab_size=30522, max_position_embeddings=512)
torch.manual_seed(0)
sd = {n: torch.randn(s) * 0.02 for n, s in mkbin.names(cfg)}
for sub in ("st", "bin"):
    with open(os.path.join(d, sub, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, sub, "vocab.txt"), "w") as f:
        f.write("".join("[unused%d]\n" % i for i in range(30522)))
torch.save(sd, os.path.join(d, "bin", "pytorch_model.bin"))
header, off = {}, 0
for n, t in sd.items():
    header[n] = {"dtype": "F32", "shape": list(t.shape),
                 "data_offsets": [off, off + 4 * t.numel()]}
    off += 4 * t.numel()
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(d, "st", "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for t in sd.values():
        f.write(t.numpy().tobytes())
PYEOF
secs() {
	s=$(date +%s.%N)
	cmd/hcmodel check "$1" >/dev/null
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
bst=99 bbin=99
for i in 1 2 3; do
	t=$(secs "$d/st"); [ "$(echo "$t < $bst" | bc)" = 1 ] && bst=$t
	t=$(secs "$d/bin"); [ "$(echo "$t < $bbin" | bc)" = 1 ] && bbin=$t
done
echo "\$ hcmodel check $d/st    # model.safetensors: $bst s"
echo "\$ hcmodel check $d/bin   # pytorch_model.bin: $bbin s"
echo "pytorch_model.bin / model.safetensors: $(echo "scale=2; $bbin / $bst" | bc)"
rm -rf "$d"
