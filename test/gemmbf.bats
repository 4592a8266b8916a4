bats_require_minimum_version 1.5.0
load helper

# common/gemmbf.c, the AVX512-BF16 kernel, against gemmbf_ref(): every
# product bit for bit, on shapes around the tile, the panel and the block.

@test "gemmbf: the bf16 kernel equals its scalar reference bit for bit" {
	[ -x "$TOP/test/bfcheck" ] || { echo "test/bfcheck is not built"; false; }
	run "$TOP/test/bfcheck" 1
	[ "$status" -ne 77 ] || skip "no AVX512-BF16 on this CPU"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "1008 products, 0 differ" ]]
}
