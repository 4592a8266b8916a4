#!/bin/sh
# finetune (issue 22): a training step (forward, backward, clipping,
# AdamW, and packing the weights for the kernel) on the BERT-base-shaped
# model of encode.sh (test/bench/out/base, made by test/mkmodel.py when
# absent), batch 8 x T=128, dropout 0.1, against PyTorch in the same run:
# 1. test/bench/finetune-step.c, 1 and 2 threads: examples/s and the
#    GFLOP/s of the step's matrix products (3 x the forward pass's) as a
#    fraction of the FMA peak measured now (test/bench/fma.c, one copy
#    per thread, added);
# 2. test/bench/torch_train.py: HF's BertForSequenceClassification step
#    written with torch.nn.functional (train mode, AdamW, clipping), on
#    each BLAS PyTorch can use here: Debian's default OpenBLAS and its
#    OpenMP build (when /usr/lib/x86_64-linux-gnu/openblas-openmp exists),
#    each with OPENBLAS_CORETYPE as the environment has it and unset
#    (OpenBLAS's own choice for this CPU), AdamW's loop and foreach, 1
#    and 2 threads; PyTorch's best is the best of them all;
# 3. both sides' "check" line: the loss and the gradients' norm of the
#    first batch, dropout off, before any step: the same computation;
# 4. where the CPU has AVX512-BF16, finetune-step -p bf16 (every product
#    in bf16, float32 sums), 1 and 2 threads, for information.
# The machine is shared: R rounds (BENCH_ROUNDS, 3), each of our
# configurations once a round, PyTorch's best configuration for each
# thread count R times in all; each figure is the best of its rounds.
set -e
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
out=test/bench/out
M=$out/base
R=${BENCH_ROUNDS:-3}
mkdir -p "$out"
make -s common/libcommon.a
cc -O2 -mavx2 -mfma -o "$out/fma" test/bench/fma.c
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -I/usr/include/cairo -Icommon \
    -o "$out/finetune-step" test/bench/finetune-step.c common/libcommon.a \
    -lopenblas -lmsgpackc -lcairo -lutf8proc -lcjson -lz -lm
if [ ! -f "$M/model.safetensors" ]; then
	echo "\$ $PY test/mkmodel.py $M -L 12 -H 12 -C 768 -F 3072 -V 30522" \
	    "-P 512 --labels 2"
	$PY test/mkmodel.py "$M" -L 12 -H 12 -C 768 -F 3072 -V 30522 -P 512 \
	    --labels 2
fi

calc() {	# calc EXPR [a=V ...]: awk arithmetic on the named values
	e=$1; shift
	awk "$@" "BEGIN { printf \"%.3f\", ($e) }"
}
max() { calc "a > b ? a : b" -v a="$1" -v b="$2"; }
ok() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b ? "ok" : "BELOW TARGET") }'; }
field() { sed -n "s|^$1	\([0-9.]*\).*|\1|p" "$2" | head -n 1; }

echo "model: $M (12 x 12, 768, FFN 3072, vocab 30522, F32), batch 8 x" \
    "T=128, dropout 0.1"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
echo "at the start: $(uptime | sed 's/.*load/load/') on $(nproc) CPUs"

# 1. ours, and the FMA peak, R rounds
echo
echo "1. finetune-step, examples/s, best of $R rounds"
echo "\$ OPENBLAS_NUM_THREADS=n $out/finetune-step -m $M -n 3"
echo "\$ $out/fma    # n copies at once, added"
e1=0 e2=0 g1=0 g2=0 p1=0 p2=0 all1= all2=
i=0
while [ $i -lt "$R" ]; do
	i=$((i + 1))
	for n in 1 2; do
		OPENBLAS_NUM_THREADS=$n "$out/finetune-step" -m "$M" -n 3 \
		    >"$out/ft-step.txt"
		[ $i -gt 1 ] || [ $n -gt 1 ] || cp "$out/ft-step.txt" \
		    "$out/ft-check.txt"
		sed -n "s/^step	/  threads $n: step /p" "$out/ft-step.txt"
		e=$(field examples/s "$out/ft-step.txt")
		g=$(field "step GFLOP/s" "$out/ft-step.txt")
		if [ $n = 1 ]; then
			p=$("$out/fma")
		else
			"$out/fma" >"$out/fma.1" & "$out/fma" >"$out/fma.2"; wait
			p=$(calc "a + b" -v a="$(cat "$out/fma.1")" \
			    -v b="$(cat "$out/fma.2")")
		fi
		eval "e$n=\$(max \$e$n $e) g$n=\$(max \$g$n $g)"
		eval "p$n=\$(max \$p$n $p) all$n=\"\$all$n $e\""
	done
done
sed -n 's/^shape/  shape/p' "$out/ft-step.txt"
for n in 1 2; do
	eval "echo \"  threads $n: \$e$n examples/s (rounds:\$all$n)," \
	    "\$g$n GFLOP/s; FMA peak \$p$n GFLOP/s\""
done

# 2. PyTorch, every configuration
rm -f "$out/torch-check.txt"
echo
echo "2. PyTorch $($PY -c 'import torch; print(torch.__version__)'), the same" \
    "step (test/bench/torch_train.py), examples/s"
libs=default
omp=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -d "$omp" ] && libs="default openmp"
envcore=${OPENBLAS_CORETYPE:-}
cores=unset
[ -n "$envcore" ] && cores="$envcore unset"
tbest=0
# torch STEPS LIB CORE THREADS [--foreach] [--nocheck]: one run's
# examples/s, its output in $out/torch.txt
torch() {
	s=$1 ld=${LD_LIBRARY_PATH:-}
	shift
	[ "$1" = openmp ] && ld=$omp${ld:+:$ld}
	echo "  \$ ${ld:+LD_LIBRARY_PATH=$ld }OPENBLAS_CORETYPE=$2" \
	    "OPENBLAS_NUM_THREADS=$3 OMP_NUM_THREADS=$3 $PY" \
	    "test/bench/torch_train.py $M $3 -n $s $4 $5" >&2
	if [ "$2" = unset ]; then
		env -u OPENBLAS_CORETYPE LD_LIBRARY_PATH=$ld \
		    OPENBLAS_NUM_THREADS=$3 OMP_NUM_THREADS=$3 \
		    $PY test/bench/torch_train.py "$M" $3 -n $s $4 $5
	else
		OPENBLAS_CORETYPE=$2 LD_LIBRARY_PATH=$ld \
		    OPENBLAS_NUM_THREADS=$3 OMP_NUM_THREADS=$3 \
		    $PY test/bench/torch_train.py "$M" $3 -n $s $4 $5
	fi >"$out/torch.txt"
	sed -n 's/^step [0-9.]* examples_per_s \([0-9.]*\)/\1/p' \
	    "$out/torch.txt"
}
for n in 1 2; do
	# every configuration once, one step timed after the warm-up
	b=0 conf=
	for lib in $libs; do
		for core in $cores; do
			for fe in "" --foreach; do
				x=$(torch 1 $lib $core $n "$fe" --nocheck)
				echo "  $lib BLAS, OPENBLAS_CORETYPE $core," \
				    "threads $n, AdamW ${fe:---loop}: $x"
				if [ "$(max "$b" "$x")" != "$b" ]; then
					b=$x conf="$lib $core $n ${fe:-''}"
				fi
			done
		done
	done
	# its best, R times, 3 steps each (the first with the check)
	b=0 tall=
	i=0
	while [ $i -lt "$R" ]; do
		i=$((i + 1))
		eval "x=\$(torch 3 $conf $([ $i -gt 1 ] && echo --nocheck))"
		[ -s "$out/torch-check.txt" ] ||
		    cp "$out/torch.txt" "$out/torch-check.txt"
		b=$(max "$b" "$x") tall="$tall $x"
	done
	eval "t$n=\$b tc$n=\"\$conf\""
	echo "  threads $n: PyTorch's best $b examples/s ($conf; best of" \
	    "$R:$tall)"
	tbest=$(max "$tbest" "$b")
done

# 3. the same computation
echo
echo "3. the first batch, dropout off, before any step"
lc=$(sed -n 's/^check loss \([0-9.e-]*\) gradnorm.*/\1/p' "$out/ft-check.txt")
gc=$(sed -n 's/^check .* gradnorm \([0-9.e-]*\)/\1/p' "$out/ft-check.txt")
lt=$(sed -n 's/^check loss \([0-9.e-]*\) gradnorm.*/\1/p' "$out/torch-check.txt")
gt=$(sed -n 's/^check .* gradnorm \([0-9.e-]*\)/\1/p' "$out/torch-check.txt")
rm -f "$out/torch-check.txt"
dl=$(awk -v a="$lc" -v b="$lt" 'BEGIN { d = (a - b) / b; printf "%.1e", d < 0 ? -d : d }')
dg=$(awk -v a="$gc" -v b="$gt" 'BEGIN { d = (a - b) / b; printf "%.1e", d < 0 ? -d : d }')
echo "  loss: finetune $lc, PyTorch $lt (relative difference $dl)"
echo "  gradient norm: finetune $gc, PyTorch $gt (relative difference $dg)"

# 4. bf16
b1=- b2=-
if grep -qw avx512_bf16 /proc/cpuinfo; then
	echo
	echo "4. finetune-step -p bf16 (every product in bf16), best of $R rounds"
	b1=0 b2=0
	i=0
	while [ $i -lt "$R" ]; do
		i=$((i + 1))
		for n in 1 2; do
			OPENBLAS_NUM_THREADS=$n "$out/finetune-step" -m "$M" \
			    -n 3 -p bf16 >"$out/ft-bf16.txt"
			e=$(field examples/s "$out/ft-bf16.txt")
			eval "b$n=\$(max \$b$n $e)"
		done
	done
	sed -n 's/^check/  check (bf16)/p' "$out/ft-bf16.txt"
	echo "  threads 1: $b1 examples/s; threads 2: $b2"
fi

ebest=$(max "$e1" "$e2")
echo
echo "summary (at the end: $(uptime | sed 's/.*load/load/'))"
for n in 1 2; do
	eval "e=\$e$n t=\$t$n g=\$g$n p=\$p$n"
	r=$(calc "e / t" -v e="$e" -v t="$t")
	f=$(calc "g / p" -v g="$g" -v p="$p")
	echo "  threads $n: finetune $e / PyTorch $t examples/s = $r" \
	    "(target >= 1.5) $(ok "$r" 1.5)"
	echo "    finetune's products $g GFLOP/s / FMA peak $p = $f" \
	    "(target >= 0.75) $(ok "$f" 0.75)"
done
r=$(calc "e / t" -v e="$ebest" -v t="$tbest")
echo "  best / best: $ebest / $tbest = $r (target >= 1.5) $(ok "$r" 1.5)"
echo "  check: loss $dl, gradient norm $dg apart (target <= 1e-3)" \
    "$(awk -v a="$dl" -v b="$dg" 'BEGIN { print (a <= 1e-3 && b <= 1e-3 ? "ok" : "ABOVE") }')"
[ "$b1" = - ] || echo "  bf16: $b1 examples/s on 1 thread, $b2 on 2" \
    "(f32: $e1, $e2)"
