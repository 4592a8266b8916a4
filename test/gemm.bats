bats_require_minimum_version 1.5.0
load helper

# common/gemm.c, the f32 kernel of encode, ablate and finetune, against a
# scalar reference: every product bit for bit, on shapes around the tile,
# the panel and the block, x by rows and transposed, y written and added
# to (and gemmbf.c's general form the same way); and its AVX-512 and AVX2
# paths give encode the same bits.

@test "gemm: the kernel equals its scalar reference bit for bit" {
	[ -x "$TOP/test/gemmcheck" ] || { echo "test/gemmcheck is not built"; false; }
	run "$TOP/test/gemmcheck" 1
	[ "$status" -ne 77 ] || skip "no AVX2 and FMA on this CPU"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *": 1944 products, 0 differ" ]]
	# the bf16 kernel's general form too, where the CPU has it
	if grep -qw avx512_bf16 /proc/cpuinfo; then
		[ "${lines[1]}" = "AVX512-BF16: 576 products, 0 differ" ]
	fi
	run env HEADCOUNT_GEMM=avx2 "$TOP/test/gemmcheck" 2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "AVX2: 1944 products, 0 differ" ]
}

@test "gemm: AVX-512 and AVX2 give encode the same bits" {
	grep -qw avx512f /proc/cpuinfo || skip "no AVX-512 here"
	T=$BATS_TEST_TMPDIR
	$PY - >"$T/in.jsonl" <<-'PY'
	import json, random
	r = random.Random(5)
	for i, n in enumerate((1, 2, 7, 150, 300, 13, 299, 64)):
	    print(json.dumps({"id": str(i), "ids": [r.randrange(50) for _ in range(n)],
	                      "seg": [0] * (n // 2) + [1] * (n - n // 2)}))
	PY
	$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
	# outputs off the panels, heads of 32 and of 64 (whole pairs of panels)
	for s in "-H 2 -C 84 -F 300" "-H 3 -C 96 -F 200" "-H 2 -C 128 -F 520"; do
		rm -rf "$T/m"
		$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 $s -V 50 -P 300 \
		    --labels 3 || skip "numpy is absent"
		for n in 1 2; do
			OPENBLAS_NUM_THREADS=$n encode -m "$T/m" -a --hidden-all \
			    --pooled "$T/in.mp" >"$T/a.mp"
			HEADCOUNT_GEMM=avx2 OPENBLAS_NUM_THREADS=$n encode \
			    -m "$T/m" -a --hidden-all --pooled "$T/in.mp" |
			    cmp - "$T/a.mp"
		done
	done
}
