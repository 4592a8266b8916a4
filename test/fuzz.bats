#!/usr/bin/env bats
# The fuzz targets of test/fuzz/ replayed on their committed corpora without
# libFuzzer (test/fuzzreplay.c), built with the build's flags: every input
# that a run of `make fuzz` kept, the ones that once crashed among them,
# stays a regression test of the plain build and, with make check SAN=1, of
# the sanitized one.

load helper

replay() {
	local n=$1 files
	make -s -C "$TOP" "test/replay/$n" >&2
	files=$(ls "$TOP/test/fuzz/corpus/$n" | wc -l)
	[ "$files" -gt 0 ]
	run -0 "$TOP/test/replay/$n" "$TOP/test/fuzz/corpus/$n"/*
	[ "$output" = "$files inputs" ]
}

@test "fuzz: the record reader's corpus replays clean" { replay rec; }
@test "fuzz: the safetensors corpus replays clean" { replay safetensors; }
@test "fuzz: the pytorch_model.bin corpus replays clean" { replay ptbin; }
@test "fuzz: the config.json corpus replays clean" { replay config; }
@test "fuzz: the head-set corpus replays clean" { replay headset; }
@test "fuzz: the tokenizer's corpus replays clean" { replay tokenize; }
@test "fuzz: the vocabulary corpus replays clean" { replay vocab; }

@test "fuzz: a finding, or a file that is not there, fails the replay" {
	local d=$BATS_TEST_TMPDIR
	cat >"$d/boom.c" <<'EOF2'
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 4 && memcmp(data, "boom", 4) == 0)
		abort();
	return 0;
}
EOF2
	cc -o "$d/boom" "$d/boom.c" "$TOP/test/fuzzreplay.c"
	printf 'calm' >"$d/a"
	printf 'boom' >"$d/b"
	run -0 "$d/boom" "$d/a" "$d/a"
	[ "$output" = "2 inputs" ]
	run -134 "$d/boom" "$d/a" "$d/b"
	run -1 --separate-stderr "$d/boom" "$d/a" "$d/absent"
	[ "$stderr" = "fuzzreplay: $d/absent: No such file or directory" ]
}
