#!/bin/sh
# pretrain: tokens/s of pre-training steps (forward, both heads, backward,
# clipping, AdamW; the masked-LM decoder over the vocabulary on gemm.c's
# kernel) of a small BERT (4 layers, 256, 4 heads, 1024, vocabulary 8000,
# T=128, batch 32, --wwm --nsp) on random verse-like lines, and the
# fraction of one core's FMA peak (test/bench/fma.c) it reaches: FLOPs a
# token are 6 per weight of the encoder, the attention's 4 T C a layer
# times 3, and the decoder's 6 V C on the 15% of tokens masked.
set -e
cd "$(dirname "$0")/../.."
out=test/bench/out
mkdir -p $out
make -s cmd/pretrain cmd/tokenize
cc -O2 -mavx2 -mfma -o $out/fma test/bench/fma.c
python3 - >$out/pt-vocab.txt <<'PY'
print("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                 ["w%d" % i for i in range(7995)]))
PY
python3 - >$out/pt-lines.txt <<'PY'
import random
r = random.Random(1)
for _ in range(4000):
    print(" ".join("w%d" % (int(r.paretovariate(1.1)) % 7995)
                   for _ in range(r.randint(20, 60))))
PY
cmd/tokenize -v $out/pt-vocab.txt $out/pt-lines.txt >$out/pt-lines.tok
for th in 1 2; do
	echo "\$ OPENBLAS_NUM_THREADS=$th pretrain -L 4 -C 256 -H 4 -F 1024 -T 128 -B 32 --steps 6 --wwm --nsp"
	OPENBLAS_NUM_THREADS=$th cmd/pretrain -o $out/pt -v $out/pt-vocab.txt \
	    -L 4 -C 256 -H 4 -F 1024 -T 128 -B 32 --steps 6 --wwm --nsp \
	    --verbose $out/pt-lines.tok 2>$out/pt.log
	tail -1 $out/pt.log
	peak=$($out/fma)
	awk -v p="$peak" -v th=$th '{
		for (i = 1; i <= NF; i++) if ($(i + 1) == "tokens/s,") tps = $i
	} END {
		L = 4; C = 256; F = 1024; T = 128; V = 8000
		w = L * (4 * C * C + 2 * C * F)
		f = 6 * w + 3 * L * 4 * T * C + 0.15 * 6 * V * C
		printf "%.0f tokens/s, %.1f GFLOP/s, %.0f%% of %d x %.1f GFLOP/s FMA peak\n",
		    tps, tps * f / 1e9, 100 * tps * f / 1e9 / (p * th), th, p
	}' $out/pt.log
	echo
done
