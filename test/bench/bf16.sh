#!/bin/sh
# bf16 (issue 28): encode --precision bf16 against f32 on the
# BERT-base-shaped model of encode.sh (test/bench/out/base, made when
# absent), on 64 records of T=128 (random ids) and on 128 GLUE-length
# records (the first 128 rows of MRPC dev, made by ablate.sh's recipe when
# ../shared/data is there, else random ids of lengths 36-78), on 1 and 2
# threads; and ablate's full sweep (--heads all --layers all --mode zero,
# 157 runs a record) on the first 16 of the GLUE-length records, 2
# threads.  Seconds are each run's own (-v's last line: the model's load
# and the weights' packing left out).  Several batches a run (-b 2048
# tokens: 16 records of T=128), as a sweep has: one batch alone measures
# its buffers' first page faults more than its products.  BENCH_ROUNDS
# rounds (2), f32 and bf16 alternating, best of each.  Target: bf16 at
# least 1.8 times f32 everywhere.  Exits 0 with a note where the
# processor has no AVX512-BF16.
set -e
cd "$(dirname "$0")/../.."
PATH=$PWD/cmd:$PATH
PY=/usr/bin/python3
out=test/bench/out
M=$out/base
R=${BENCH_ROUNDS:-2}
mkdir -p "$out"
if ! grep -qw avx512_bf16 /proc/cpuinfo; then
	echo "bf16: skipped, this processor has no AVX512-BF16"
	exit 0
fi
make -s cmd/encode cmd/ablate cmd/recs
if [ ! -f "$M/model.safetensors" ]; then
	echo "\$ $PY test/mkmodel.py $M -L 12 -H 12 -C 768 -F 3072 -V 30522" \
	    "-P 512 --labels 2"
	$PY test/mkmodel.py "$M" -L 12 -H 12 -C 768 -F 3072 -V 30522 -P 512 \
	    --labels 2
fi
$PY - "$out" <<'PYEOF'
import json, os, random, sys
d = sys.argv[1]
r = random.Random(7)
f = "../shared/data/reference/glue-tokens/MRPC.uncased.jsonl"
if os.path.exists(f):
    glue = [json.loads(l) for l in open(f)][:128]
else:
    glue = [{"ids": [101] + [r.randrange(1000, 30000) for _ in
             range(t - 2)] + [102]} for t in
            (r.randrange(36, 79) for _ in range(128))]
t128 = [{"ids": [101] + [r.randrange(1000, 30000) for _ in range(126)] +
         [102]} for _ in range(64)]
for name, recs in (("bf16-glue", glue), ("bf16-sweep", glue[:16]),
                   ("bf16-t128", t128)):
    with open(os.path.join(d, name + ".jsonl"), "w") as o:
        for i, x in enumerate(recs):
            o.write(json.dumps({"id": "%s/%d" % (name, i), "ids": x["ids"],
                                "seg": [0] * len(x["ids"])}) + "\n")
PYEOF
recs -r "$out/bf16-glue.jsonl" >"$out/bf16-glue.mp"
recs -r "$out/bf16-sweep.jsonl" >"$out/bf16-sweep.mp"
recs -r "$out/bf16-t128.jsonl" >"$out/bf16-t128.mp"

calc() {	# calc EXPR [a=V ...]: awk arithmetic on the named values
	e=$1; shift
	awk "$@" "BEGIN { printf \"%.2f\", ($e) }"
}
min() { [ -z "$1" ] && echo "$2" || calc "a < b ? a : b" -v a="$1" -v b="$2"; }
secs() {	# the seconds on the last line of -v
	sed -n '$s/.*, \([0-9.]*\) s$/\1/p'
}

echo "\$ OPENBLAS_NUM_THREADS=N encode -v -m $M --precision f32|bf16 IN"
echo "\$ OPENBLAS_NUM_THREADS=2 ablate -v -m $M --heads all --layers all" \
    "--mode zero --precision f32|bf16 $out/bf16-sweep.mp"
for case in t128:1 t128:2 glue:1 glue:2 sweep:2; do
	in=${case%:*} n=${case#*:} f= b=
	i=1
	while [ "$i" -le "$R" ]; do
		for p in f32 bf16; do
			if [ "$in" = sweep ]; then
				s=$(OPENBLAS_NUM_THREADS=$n ablate -v -m "$M" \
				    --heads all --layers all --mode zero \
				    --precision $p "$out/bf16-sweep.mp" 2>&1 \
				    >/dev/null | secs)
			else
				s=$(OPENBLAS_NUM_THREADS=$n encode -v -m "$M" \
				    --precision $p "$out/bf16-$in.mp" 2>&1 \
				    >/dev/null | secs)
			fi
			[ -n "$s" ] || { echo "bf16.sh: $p run failed" >&2
			    exit 1; }
			if [ $p = f32 ]; then f=$(min "$f" "$s"); else
				b=$(min "$b" "$s"); fi
		done
		i=$((i + 1))
	done
	echo "$in, $n threads: f32 $f s, bf16 $b s, f32 / bf16" \
	    "$(calc "f / b" -v f="$f" -v b="$b") (target 1.8)"
done
