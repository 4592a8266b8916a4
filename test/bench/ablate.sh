#!/bin/sh
# ablate (issues 30): the full sweep, `ablate --heads all --layers all`
# (the baseline, 144 single heads, 12 layers: 157 runs a record), on the
# BERT-base-shaped random model of encode.sh (test/bench/out/base, made
# here by test/mkmodel.py when absent) and 16 GLUE-length records (the
# first 16 rows of MRPC dev from ../shared/data/reference/glue-tokens,
# T 36-78; random ids of log-normal lengths around 50 without it), on 2
# threads (THREADS), --mode zero (what Hugging Face's head_mask does),
# against, in the same run:
# 1. encode run once per set: 157 x the seconds of one
#    `encode --disable 6:1 --mode zero` over the same records (every set
#    costs what one does: a disabled head skips only its scores);
# 2. Hugging Face transformers' head_mask loop: test/bench/torch_bert.py
#    --sweep, the same 157 masks as HF applies them (the probabilities
#    times head_mask after the softmax), the 16 records as one batch
#    padded to the longest, 2 threads, with each OpenBLAS build PyTorch
#    can use (Debian's default, and the OpenMP one when installed), the
#    best of them.
# Seconds are compute seconds: ablate's and encode's from the last line
# of -v (the model's load and the weights' packing left out), PyTorch's
# from its own clock after its load and a warm-up batch.  R rounds
# (BENCH_ROUNDS, 3), every configuration once a round, alternating; each
# figure is the best of its rounds (the machine is shared).  Targets:
# encode-per-set / ablate >= 1.8, PyTorch / ablate >= 3.
set -e
cd "$(dirname "$0")/../.."
PATH=$PWD/cmd:$PATH
PY=/usr/bin/python3
out=test/bench/out
M=$out/base
R=${BENCH_ROUNDS:-3}
N=${THREADS:-2}
mkdir -p "$out"
if [ ! -f cmd/ablate.c ]; then
	echo "ablate: skipped, cmd/ablate.c is not in yet"
	exit 0
fi
make -s cmd/ablate cmd/encode
if [ ! -f "$M/model.safetensors" ]; then
	echo "\$ $PY test/mkmodel.py $M -L 12 -H 12 -C 768 -F 3072 -V 30522" \
	    "-P 512 --labels 2"
	$PY test/mkmodel.py "$M" -L 12 -H 12 -C 768 -F 3072 -V 30522 -P 512 \
	    --labels 2
fi
$PY - "$out" <<'PYEOF'
import json, math, os, random, sys
d = sys.argv[1]
f = "../shared/data/reference/glue-tokens/MRPC.uncased.jsonl"
r = random.Random(4)
if os.path.exists(f):
    src = "the first 16 rows of MRPC dev (%s)" % f
    recs = [json.loads(l) for l in open(f)][:16]
else:
    src = "random ids, log-normal lengths around 50 (no ../shared/data)"
    lens = [min(128, max(8, round(r.lognormvariate(math.log(50), 0.4))))
            for _ in range(16)]
    recs = [{"ids": [101] + [r.randrange(1000, 30000) for _ in
             range(t - 2)] + [102], "seg": [0] * t} for t in lens]
with open(os.path.join(d, "ablate16.jsonl"), "w") as o:
    for i, x in enumerate(recs):
        o.write(json.dumps({"id": "mrpc/%d" % i, "label": i % 2,
                            "ids": x["ids"], "seg": x["seg"]}) + "\n")
lens = [len(x["ids"]) for x in recs]
print("16 records: %s; %d tokens, T from %d to %d" %
      (src, sum(lens), min(lens), max(lens)))
PYEOF
$PY test/score-mp.py <"$out/ablate16.jsonl" >"$out/ablate16.mp"
IN=$out/ablate16.mp

calc() {	# calc EXPR [a=V ...]: awk arithmetic on the named values
	e=$1; shift
	awk "$@" "BEGIN { printf \"%.2f\", ($e) }"
}
min() { [ -z "$1" ] && echo "$2" || calc "a < b ? a : b" -v a="$1" -v b="$2"; }
secs() {	# the seconds on the last line of -v
	sed -n '$s/.*, \([0-9.]*\) s$/\1/p'
}

omp=/usr/lib/x86_64-linux-gnu/openblas-openmp
libs=default
[ -d "$omp" ] && libs="default openmp"
echo "at the start: $(uptime | sed 's/.*load/load/') on $(nproc) CPUs"
echo "\$ OPENBLAS_NUM_THREADS=$N ablate -v -m $M --heads all --layers all" \
    "--mode zero $IN >sweep.mp    # its seconds"
echo "\$ OPENBLAS_NUM_THREADS=$N encode -v -m $M --disable 6:1 --mode zero" \
    "$IN >/dev/null    # its seconds, x 157"
for lib in $libs; do
	pre=
	[ "$lib" = openmp ] && pre="LD_LIBRARY_PATH=$omp "
	echo "\$ ${pre}OPENBLAS_NUM_THREADS=$N OMP_NUM_THREADS=$N $PY" \
	    "test/bench/torch_bert.py $M ablate16.jsonl $N 16 --sweep"
done
ab= en= pt= i=0
while [ $i -lt "$R" ]; do
	i=$((i + 1))
	a=$(OPENBLAS_NUM_THREADS=$N ablate -v -m "$M" --heads all \
	    --layers all --mode zero "$IN" 2>&1 >"$out/sweep.mp" | secs)
	[ -n "$a" ] || { echo "ablate.sh: ablate failed" >&2; exit 1; }
	e=$(OPENBLAS_NUM_THREADS=$N encode -v -m "$M" --disable 6:1 \
	    --mode zero "$IN" 2>&1 >/dev/null | secs)
	[ -n "$e" ] || { echo "ablate.sh: encode failed" >&2; exit 1; }
	e=$(calc "157 * e" -v e="$e")
	line="round $i: ablate $a s, encode x 157 $e s"
	ab=$(min "$ab" "$a")
	en=$(min "$en" "$e")
	for lib in $libs; do
		ld=${LD_LIBRARY_PATH:-}
		[ "$lib" = openmp ] && ld=$omp${ld:+:$ld}
		p=$(LD_LIBRARY_PATH=$ld OPENBLAS_NUM_THREADS=$N \
		    OMP_NUM_THREADS=$N $PY test/bench/torch_bert.py "$M" \
		    "$out/ablate16.jsonl" "$N" 16 --sweep |
		    sed -n 's/.* seconds \([0-9.]*\)$/\1/p')
		[ -n "$p" ] || { echo "ablate.sh: torch_bert.py failed" >&2
		    exit 1; }
		line="$line, PyTorch ($lib) $p s"
		pt=$(min "$pt" "$p")
	done
	echo "$line"
done
echo
echo "full sweep, 157 runs x 16 records, $N threads, best of $R rounds:"
awk -v a="$ab" -v e="$en" -v p="$pt" 'BEGIN {
	printf "ablate            %8.2f s  %7.1f runs/s\n", a, 157 * 16 / a
	printf "encode per set    %8.2f s  %7.1f runs/s\n", e, 157 * 16 / e
	printf "PyTorch head_mask %8.2f s  %7.1f runs/s\n", p, 157 * 16 / p
	printf "encode / ablate   %8.2fx  (target >= 1.8x) %s\n", e / a,
	    e / a >= 1.8 ? "ok" : "BELOW TARGET"
	printf "PyTorch / ablate  %8.2fx  (target >= 3x) %s\n", p / a,
	    p / a >= 3 ? "ok" : "BELOW TARGET"
}'
echo "at the end: $(uptime | sed 's/.*load/load/')"
