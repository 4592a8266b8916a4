bats_require_minimum_version 1.5.0
load helper

# pretrain: BertForPreTraining's heads (common/pretrain.c) and the filter.
setup_file() {
	export D="$BATS_FILE_TMPDIR"
	if [ ! -x "$BATS_TEST_DIRNAME/ptcheck" ]; then
		make -s -C "$BATS_TEST_DIRNAME/.." test/ptcheck >&2 || return 1
	fi
	/usr/bin/python3 "$BATS_TEST_DIRNAME/mkmodel.py" "$D/m" --extra \
	    --labels 0 -V 60 || return 1
	/usr/bin/python3 "$BATS_TEST_DIRNAME/mkmodel.py" "$D/w" --extra \
	    --labels 0 -C 32 -H 2 -F 48 -V 300 --seed 3 || return 1
}

@test "pretrain: losses and gradients match Hugging Face's" {
	R="$SHARED/reference/pretrain"
	[ -f "$R/grads.safetensors" ] || skip "no $R"
	run "$TOP/test/ptcheck" -r "$R"
	echo "$output"
	[ "$status" -eq 0 ]
	# both losses and every named parameter were compared
	[ "$(grep -c . <<<"$output")" -eq 48 ]
}

@test "pretrain: the same on OpenBLAS, without gemm.c's kernel" {
	R="$SHARED/reference/pretrain"
	[ -f "$R/grads.safetensors" ] || skip "no $R"
	HEADCOUNT_GEMM=openblas run "$TOP/test/ptcheck" -r "$R"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "pretrain: heads' gradients match finite differences (dropout)" {
	run "$TOP/test/ptcheck" "$D/m"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"cls.predictions.transform.dense.weight"* ]]
	[[ $output == *"cls.seq_relationship.bias"* ]]
}

@test "pretrain: finite differences with whole kernel panels, no dropout" {
	run "$TOP/test/ptcheck" -d 0 "$D/w"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "pretrain: a checkpoint with the heads loads, encodes, checks" {
	hcmodel check "$D/m"
	tokenize -m "$D/m" <<<"the cat sat on the mat" |
	    encode -m "$D/m" >"$D/enc.mp"
	[ -s "$D/enc.mp" ]
}
