#!/bin/sh
# finetune: examples/s of one training step (forward, backward, clipping,
# AdamW) on a BERT-base-shaped model with random weights (12 layers, 768,
# 12 heads, 3072, vocabulary 30522) at T=128, batch 8, and its FLOP
# efficiency against the bare sgemm calls of the same shapes, timed in the
# same run.  One and two OpenBLAS threads.
set -e
cd "$(dirname "$0")/../.."
make -s common/libcommon.a
mkdir -p test/bench/out
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -Icommon \
    -o test/bench/out/finetune-step test/bench/finetune-step.c \
    common/libcommon.a -lopenblas -lm
for th in 1 2; do
	echo "\$ OPENBLAS_NUM_THREADS=$th test/bench/out/finetune-step -B 8 -T 128 -n 2"
	OPENBLAS_NUM_THREADS=$th test/bench/out/finetune-step -B 8 -T 128 -n 2
	echo
done
