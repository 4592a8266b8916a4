bats_require_minimum_version 1.5.0
load helper

# --precision bf16 (encode, ablate): every product on gemmbf.c's kernel,
# weights and activations rounded to bf16, sums and the rest in float32.
# Where the processor has no AVX512-BF16 the tests of results skip, and
# the flag must be refused.

setup() {
	W="$BATS_TEST_TMPDIR"
}

need_bf16() {
	grep -qw avx512_bf16 /proc/cpuinfo || skip "no AVX512-BF16 here"
}

@test "bf16: encode within the stated tolerance of f32, same predictions" {
	need_bf16
	need_numpy
	tokenize -m "$SAMPLES/ka-model" "$SAMPLES/ka-sentences.txt" >"$W/ka.mp"
	for p in f32 bf16; do
		encode -m "$SAMPLES/tiny-cls" -a --precision $p \
		    "$SAMPLES/tiny-cls/dev.mp" >"$W/tiny-$p.mp"
		encode -m "$SAMPLES/ka-model" -a --precision $p "$W/ka.mp" \
		    >"$W/ka-$p.mp"
	done
	! cmp -s "$W/tiny-f32.mp" "$W/tiny-bf16.mp"
	PYTHONPATH="$TOP/test" $PY - "$W" <<-'EOF2'
	import sys, mkmaps
	d = sys.argv[1]
	for m in ("tiny", "ka"):
	    a = mkmaps.records("%s/%s-f32.mp" % (d, m))
	    b = mkmaps.records("%s/%s-bf16.mp" % (d, m))
	    assert len(a) == len(b) > 0
	    for x, y in zip(a, b):
	        da = abs(mkmaps.tensor(x["attn"]) - mkmaps.tensor(y["attn"]))
	        assert da.max() < 0.05, (m, x["id"], da.max())
	        if "logits" in x:
	            dl = max(abs(p - q) for p, q in zip(x["logits"],
	                y["logits"]))
	            assert dl < 0.05, (m, x["id"], dl)
	            assert x["pred"] == y["pred"], x["id"]
	EOF2
}

@test "bf16: ablate's sets equal encode --disable, bit for bit, any batch" {
	need_bf16
	for mode in uniform zero; do
		ablate -m "$SAMPLES/tiny-cls" --precision bf16 --heads all \
		    --layers all --mode $mode "$SAMPLES/tiny-cls/dev.mp" |
		    recs -k id,ablation,logits >"$W/abl"
		ablate -m "$SAMPLES/tiny-cls" --precision bf16 --heads all \
		    --layers all --mode $mode -b 1 "$SAMPLES/tiny-cls/dev.mp" |
		    recs -k id,ablation,logits | cmp - "$W/abl"
		for set in base L1H1 L2H2 L1; do
			d=; [ $set = base ] || d="--disable $set"
			encode -m "$SAMPLES/tiny-cls" --precision bf16 $d \
			    --mode $mode "$SAMPLES/tiny-cls/dev.mp" |
			    recs -k id,logits >"$W/enc"
			grep "\"ablation\":\"$set\"" "$W/abl" |
			    sed 's/,"ablation":"[^"]*"//' | diff - "$W/enc"
		done
	done
}

@test "bf16: a record's bits do not depend on its batch or the threads" {
	need_bf16
	need_numpy
	# tiny-cls, and a model whose heads (32) and hidden size (64) are
	# whole panels of the kernel, so that the queries, keys and values
	# go to a block a head and the last layer computes [CLS]'s alone
	$PY "$TOP/test/mkmodel.py" "$W/m64" -L 2 -H 2 -C 64 -F 128 -V 40 \
	    -P 64 --labels 3 --seed 5
	for M in "$SAMPLES/tiny-cls" "$W/m64"; do
		encode -m "$M" -a --precision bf16 "$SAMPLES/tiny-cls/dev.mp" \
		    >"$W/a"
		encode -m "$M" -a --precision bf16 -b 1 \
		    "$SAMPLES/tiny-cls/dev.mp" >"$W/b"
		OPENBLAS_NUM_THREADS=2 encode -m "$M" -a --precision bf16 \
		    -b 40 "$SAMPLES/tiny-cls/dev.mp" >"$W/c"
		cmp "$W/a" "$W/b"
		cmp "$W/a" "$W/c"
		# without -a, the last layer's [CLS] alone: the same logits
		encode -m "$M" --precision bf16 "$SAMPLES/tiny-cls/dev.mp" |
		    recs -k logits >"$W/d"
		recs -k logits "$W/a" | diff - "$W/d"
		ablate -m "$M" --precision bf16 --heads all \
		    "$SAMPLES/tiny-cls/dev.mp" | recs -k id,ablation,logits |
		    grep '"ablation":"L2H1"' | sed 's/,"ablation":"[^"]*"//' \
		    >"$W/e"
		encode -m "$M" --precision bf16 --disable L2H1 \
		    "$SAMPLES/tiny-cls/dev.mp" | recs -k id,logits |
		    diff - "$W/e"
	done
}

@test "bf16: refused where the processor cannot, and a bad value is usage" {
	run -1 --separate-stderr env HEADCOUNT_NOBF16=1 encode \
	    -m "$SAMPLES/tiny-cls" --precision bf16 "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "encode: --precision bf16: this processor has no AVX512-BF16 (vdpbf16ps); use f32" ]
	[ -z "$output" ]
	run -1 --separate-stderr env HEADCOUNT_NOBF16=1 ablate \
	    -m "$SAMPLES/tiny-cls" --precision bf16 "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "ablate: --precision bf16: this processor has no AVX512-BF16 (vdpbf16ps); use f32" ]
	run -2 encode -m "$SAMPLES/tiny-cls" --precision f16
	run -2 ablate -m "$SAMPLES/tiny-cls" --precision fp32
	# f32 is the default and is what it was
	encode -m "$SAMPLES/tiny-cls" "$SAMPLES/tiny-cls/dev.mp" >"$W/d"
	HEADCOUNT_NOBF16=1 encode -m "$SAMPLES/tiny-cls" --precision f32 \
	    "$SAMPLES/tiny-cls/dev.mp" | cmp - "$W/d"
}

@test "bf16: bf16err.sh gives encode.1's figures for tiny-cls" {
	need_bf16
	need_numpy
	run -0 sh "$TOP/test/bf16err.sh" "$SAMPLES/tiny-cls" \
	    "$SAMPLES/tiny-cls/dev.mp"
	[ "$output" = "records 24  attention 0.015  logits 0.0089  predictions changed 0  patterns changed 0 of 96" ]
	run -2 sh "$TOP/test/bf16err.sh" "$SAMPLES/tiny-cls"
}
