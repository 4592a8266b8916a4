#!/bin/sh
# encode: a BERT-base-shaped random model (12 layers, 768, 12 heads, FFN
# 3072, vocabulary 30522, 512 positions) in a temporary directory:
# - sequences/s on 64 records of GLUE RTE dev (real tokens from
#   ../shared/data when present, else random ids of the same lengths, T up
#   to 128), at 1 and 2 threads, with and without -a, model load excluded;
#   side by side with PyTorch (test/bench/torch_bert.py: the same
#   checkpoint, attention outputs, batch 1 and 8 padded) when
#   /usr/bin/python3 can import torch;
# - FLOP/s at T=128 (16 records) as a fraction of the FMA peak (fma.c) and
#   of OpenBLAS's sgemm on the same shapes (sgemm.c), measured in this run;
# - peak RSS at T=512 with -a, against weights + one record's maps.
set -e
cd "$(dirname "$0")/../.."
make -s cmd/encode
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/fma" test/bench/fma.c -lpthread
cc -O2 -o "$tmp/sgemm" test/bench/sgemm.c -lopenblas

$PY test/mkmodel.py "$tmp/m" -L 12 -H 12 -C 768 -F 3072 -P 512 -V 30522 \
    --labels 2 --prefix
$PY - "$tmp" <<'PY'
import json, os, random, sys
d = sys.argv[1]
f = "../shared/data/reference/glue-tokens/RTE.uncased.jsonl"
# the first 64 of RTE dev, for when ../shared is absent
lens = [36, 49, 128, 128, 44, 58, 101, 51, 38, 51, 50, 42, 43, 79, 56, 48,
        34, 74, 54, 99, 53, 128, 128, 128, 128, 42, 54, 44, 49, 80, 41, 128,
        128, 81, 41, 39, 62, 68, 37, 53, 46, 68, 128, 31, 73, 113, 46, 36,
        49, 76, 53, 120, 81, 47, 48, 54, 128, 39, 25, 74, 36, 81, 38, 118]
r = random.Random(1)
if os.path.exists(f):
    recs = [json.loads(l) for l in open(f)][:64]
else:
    recs = [{"ids": [101] + [r.randrange(1000, 30000) for _ in range(t - 2)]
             + [102], "seg": [0] * t} for t in lens]
def write(name, rs):
    with open(os.path.join(d, name), "w") as o:
        for i, x in enumerate(rs):
            o.write(json.dumps({"id": "%s/%d" % (name, i), "ids": x["ids"],
                                "seg": x["seg"]}) + "\n")
write("glue.jsonl", recs)
write("t128.jsonl", [{"ids": [101] + [r.randrange(1000, 30000)
    for _ in range(126)] + [102], "seg": [0] * 128} for _ in range(16)])
write("t512.jsonl", [{"ids": [101] + [r.randrange(1000, 30000)
    for _ in range(510)] + [102], "seg": [0] * 512}])
PY
for f in glue t128 t512; do
	$PY test/score-mp.py <"$tmp/$f.jsonl" >"$tmp/$f.mp"
done
: >"$tmp/empty.mp"

secs() {	# secs CMD...: wall seconds of CMD
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}
rate() {	# rate N SECONDS LOAD
	echo "$1 $2 $3" | awk '{ printf "%.2f", $1 / ($2 - $3) }'
}

ntok=$($PY -c "import json,sys; print(sum(len(json.loads(l)['ids']) for l in open(sys.argv[1])))" "$tmp/glue.jsonl")
echo "encode: model 12 x 12, 768, FFN 3072, vocab 30522; $(cmd/encode -v \
    -m "$tmp/m" "$tmp/empty.mp" 2>&1 | sed -n 's/.*; OpenBLAS kernels/kernels/p')"
echo "64 records of RTE dev, $ntok tokens (T up to 128); seq/s, model load excluded"
echo "\$ OPENBLAS_NUM_THREADS=n encode -m MODEL [-a] glue.mp"
for n in 1 2; do
	export OPENBLAS_NUM_THREADS=$n
	load=$(secs cmd/encode -m "$tmp/m" "$tmp/empty.mp")
	plain=$(rate 64 "$(secs cmd/encode -m "$tmp/m" "$tmp/glue.mp")" "$load")
	attn=$(rate 64 "$(secs cmd/encode -m "$tmp/m" -a "$tmp/glue.mp")" "$load")
	eval "enc$n=$attn"
	echo "  threads $n: $plain seq/s, with -a $attn seq/s (load $load s)"
done

# PyTorch, the same checkpoint, attention outputs
if $PY -c 'import torch' 2>/dev/null; then
	cmd/encode -m "$tmp/m" "$tmp/glue.mp" | cmd/recs -k logits \
	    >"$tmp/logits.jsonl"
	echo "\$ $PY test/bench/torch_bert.py MODEL glue.jsonl BATCH THREADS" \
	    " # torch $($PY -c 'import torch; print(torch.__version__)')"
	for n in 1 2; do
		best=0
		for b in 1 8; do
			r=$(OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n $PY \
			    test/bench/torch_bert.py "$tmp/m" "$tmp/glue.jsonl" \
			    $b $n "$tmp/logits.jsonl")
			echo "  threads $n, batch $b: ${r% *} seq/s (logits within ${r#* } of encode's)"
			best=$(echo "$best ${r% *}" | awk '{ print ($2 > $1 ? $2 : $1) }')
		done
		eval "e=\$enc$n"
		echo "  threads $n: encode -a / PyTorch's best = $(echo "$e $best" |
		    awk '{ printf "%.2f", $1 / $2 }')"
	done
else
	echo "PyTorch: skipped, /usr/bin/python3 cannot import torch"
fi

# FLOP/s at T=128 against the FMA peak and sgemm on the same shapes
flop=$(echo | awk '{ C = 768; F = 3072; T = 128;
    printf "%.0f", 16 * 12 * (2*T*C*3*C + 4*T*T*C + 2*T*C*C + 4*T*C*F) }')
echo "T=128, 16 records (2048 rows a batch): GFLOP/s and fractions"
echo "\$ OPENBLAS_NUM_THREADS=n encode -m MODEL t128.mp; fma n;" \
    "sgemm 2048 768 3072 128 12"
for n in 1 2; do
	export OPENBLAS_NUM_THREADS=$n
	load=$(secs cmd/encode -m "$tmp/m" "$tmp/empty.mp")
	t=$(secs cmd/encode -m "$tmp/m" "$tmp/t128.mp")
	g=$(echo "$flop $t $load" | awk '{ printf "%.1f", $1 / ($2 - $3) / 1e9 }')
	p=$("$tmp/fma" $n)
	p2=$("$tmp/fma" $n)
	p=$(echo "$p $p2" | awk '{ print ($2 > $1 ? $2 : $1) }')
	s=$("$tmp/sgemm" 2048 768 3072 128 12)
	echo "  threads $n: encode $g GFLOP/s; FMA peak $p (encode at" \
	    "$(echo "$g $p" | awk '{ printf "%.0f%%", 100 * $1 / $2 }'));" \
	    "sgemm $s (encode at $(echo "$g $s" |
	    awk '{ printf "%.0f%%", 100 * $1 / $2 }'))"
done

# peak RSS at T=512 with -a
export OPENBLAS_NUM_THREADS=1
rss=$( { /usr/bin/time -v cmd/encode -m "$tmp/m" -a "$tmp/t512.mp" \
    >/dev/null; } 2>&1 | awk '/Maximum resident/ { print $NF }')
w=$(stat -c %s "$tmp/m/model.safetensors")
echo "\$ /usr/bin/time -v encode -m MODEL -a t512.mp  # one record, T=512"
echo "$rss $w" | awk '{ a = 12 * 12 * 512 * 512 * 4 / 1048576;
    printf "  peak RSS %.0f MB; weights %.0f MB + one record'"'"'s attn %.0f MB" \
    " + 100 MB = %.0f MB\n", $1 / 1024, $2 / 1048576, a,
    $2 / 1048576 + a + 100 }'
