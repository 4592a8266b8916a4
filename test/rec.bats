#!/usr/bin/env bats
# The record layer under every filter (common/rec.c, tensor.c), driven by
# test/rectest: dtype conversions, typed getters and their messages, tensor
# checks, pass-through of unknown keys, numbering over several files, and
# the writer's gzip, EPIPE and full-disk paths.
load helper

setup_file() {
	make -s -C "$BATS_TEST_DIRNAME/.." test/rectest >&2
}

setup() {
	T="$BATS_TEST_TMPDIR"
	RT="$TOP/test/rectest"
}

# mk FILE JSON...: records from JSON lines, one argument a line.
mk() {
	local f=$1
	shift
	printf '%s\n' "$@" | recs -r >"$f"
}

@test "rec: f16 matches numpy, ties to even, subnormals, NaN and Inf kept" {
	need_numpy
	$PY - >"$T/x" <<'EOF'
import numpy as np
r = np.random.default_rng(1)
v = np.concatenate([r.standard_normal(400) * 10.0 ** r.integers(-9, 6, 400),
    [0.0, -0.0, 65504, 65519, 65520, 1e6, -1e6, 2.0 ** -24, 2.0 ** -25,
     3 * 2.0 ** -25, 2.0 ** -14, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
     np.inf, -np.inf, np.nan]]).astype(np.float32)
for x in v:
    print(repr(float(x)), "%04x" % np.array([x]).astype(np.float16).view(np.uint16)[0])
EOF
	"$RT" conv f16 $(cut -d' ' -f1 "$T/x") | cut -d' ' -f1,2 >"$T/got"
	diff -u "$T/x" "$T/got"
	# and back: every f16 bit pattern but NaNs converts exactly
	run -0 "$RT" conv f16 nan inf -inf -0 65504 2.98023224e-08 5.96046448e-08
	[ "$output" = "nan 7e00 nan
inf 7c00 inf
-inf fc00 -inf
-0 8000 -0
65504 7bff 65504
2.98023224e-08 0000 0
5.96046448e-08 0001 5.96046448e-08" ]
}

@test "rec: bf16 rounds to nearest even, NaN and Inf kept" {
	run -0 "$RT" conv bf16 1 1.00390625 1.01171875 1.0078125 -2.5 nan inf -inf 3.3895314e38 3.4e38 1e-40
	[ "$output" = "1 3f80 1
1.00390625 3f80 1
1.01171875 3f82 1.015625
1.0078125 3f81 1.0078125
-2.5 c020 -2.5
nan 7fc0 nan
inf 7f80 inf
-inf ff80 -inf
3.3895314e38 7f7f 3.38953139e+38
3.4e38 7f80 inf
1e-40 0001 9.18354962e-41" ]
}

@test "rec: rec_put_* of every dtype reads back with known values" {
	for dt in f32 f16 bf16; do
		"$RT" put $dt >"$T/$dt.mp"
		run -0 recs -t "$T/$dt.mp"
		exp='{"s":"x","i":-9000000000,"d":0.10000000000000001,"iv":[-1,0,2147483647],"fv":[0.25,-3],"sv":["a","é"],"t":{"dtype":"'$dt'","shape":[2,3],"data":[0,1,-2.5,0.5,3.140625,-0.125]}}'
		[ "$output" = "$exp" ]
		run -0 "$RT" get tensor t "$T/$dt.mp"
		[ "$output" = "1: $dt [2 3] 0 1 -2.5 0.5 3.140625 -0.125" ]
		# the floats come back as doubles, the same values
		[ "$(recs -t "$T/$dt.mp" | recs -r | recs -t)" = "$exp" ]
	done
	[ "$(stat -c %s "$T/f32.mp")" -eq $(($(stat -c %s "$T/f16.mp") + 12)) ]
}

@test "rec: typed getters return the values" {
	mk "$T/a.mp" '{"id": "a", "n": -3, "x": 2.5, "ids": [2, -7, 3], "f": [1, 0.5], "tok": ["[CLS]", "é"]}'
	[ "$("$RT" get str id "$T/a.mp")" = "1: a" ]
	[ "$("$RT" get int n "$T/a.mp")" = "1: -3" ]
	[ "$("$RT" get num x "$T/a.mp")" = "1: 2.5" ]
	[ "$("$RT" get num n "$T/a.mp")" = "1: -3" ]
	[ "$("$RT" get ints ids "$T/a.mp")" = "1: 2 -7 3" ]
	[ "$("$RT" get floats f "$T/a.mp")" = "1: 1 0.5" ]
	[ "$("$RT" get strs tok "$T/a.mp")" = "1: [CLS] é" ]
}

# Found by test/fuzz/rec under UBSan: an empty string has a NULL pointer,
# which went to memcmp (an empty key) and memcpy (xstrndup of a value).
@test "rec: an empty key is looked up like any other" {
	mk "$T/e.mp" '{"a": "", "": "empty", "ids": []}'
	[ "$("$RT" get str '' "$T/e.mp")" = "1: empty" ]
	[ "$("$RT" get str a "$T/e.mp")" = "1: " ]
	[ "$("$RT" get ints ids "$T/e.mp")" = "1:" ]
}

# bad KIND KEY JSON MESSAGE: the getter on the second record (the first is
# good) fails with exit 1 and MESSAGE, naming the file and the record.
bad() {
	mk "$T/b.mp" '{"id": "ok", "ids": [1], "n": 1, "x": 1, "tok": ["a"], "f": [1], "t": {"dtype": "f32", "shape": [], "data": [1]}}' "$3"
	run -1 --separate-stderr "$RT" get "$1" "$2" "$T/b.mp"
	echo "$stderr"
	[ "$stderr" = "rectest: $T/b.mp: record 2: $4" ]
	[ "$output" = "1:${lines[0]#1:}" ] && [ "${#lines[@]}" -eq 1 ]
	# on stdin, without the file name
	run -1 --separate-stderr "$RT" get "$1" "$2" <"$T/b.mp"
	[ "$stderr" = "rectest: record 2: $4" ]
}

@test "rec: a wrong type for a key says what was found and what was expected" {
	bad ints ids '{"ids": "x"}' "'ids' is a string, expected an array of integers"
	bad ints ids '{"ids": [1, "x"]}' "'ids'[1] is a string, expected an integer"
	bad ints ids '{"ids": [1, 2.5]}' "'ids'[1] is a float, expected an integer"
	bad ints ids '{"ids": [3000000000]}' "'ids'[0] is outside the range of int"
	bad ints ids '{"id": "no ids"}' "no key 'ids'"
	bad str id '{"id": 7}' "'id' is an integer, expected a string"
	bad int n '{"n": 1.5}' "'n' is a float, expected an integer"
	bad int n '{"n": null}' "'n' is nil, expected an integer"
	bad num x '{"x": [1]}' "'x' is an array, expected a number"
	bad num x '{"x": true}' "'x' is a boolean, expected a number"
	bad strs tok '{"tok": ["a", 1]}' "'tok'[1] is an integer, expected a string"
	bad strs tok '{"tok": {"a": 1}}' "'tok' is a map, expected an array of strings"
	bad floats f '{"f": [1, "2"]}' "'f'[1] is a string, expected a number"
	bad floats f '{"f": {"$bin": "AA=="}}' "'f' is binary data, expected an array of numbers"
}

@test "rec: a tensor whose data disagrees with its shape names the record" {
	bad tensor t '{"t": {"dtype": "f32", "shape": [2, 3], "data": {"$bin": "AAAAAAAAAAAAAAAA"}}}' "'t' has shape [2, 3] of f32, which needs 24 bytes, but its data has 12"
	bad tensor t '{"t": {"dtype": "f16", "shape": [2], "data": {"$bin": "AAAAAAAA"}}}' "'t' has shape [2] of f16, which needs 4 bytes, but its data has 6"
	bad tensor t '{"t": {"dtype": "f64", "shape": [1], "data": {"$bin": "AAAAAAAAAAA="}}}' "'t' has dtype 'f64', expected f32, f16 or bf16"
	bad tensor t '{"t": {"dtype": 32, "shape": [1], "data": {"$bin": "AAAAAA=="}}}' "'t' has a dtype that is an integer, expected \"f32\", \"f16\" or \"bf16\""
	bad tensor t '{"t": {"dtype": "f32", "shape": [1], "data": "x"}}' "'t' has data that is a string, expected binary data"
	bad tensor t '{"t": {"dtype": "f32", "shape": "1", "data": {"$bin": ""}}}' "'t' has a shape that is a string, expected an array of at most 8 integers"
	bad tensor t '{"t": {"dtype": "f32", "shape": [1,1,1,1,1,1,1,1,1], "data": {"$bin": "AAAAAA=="}}}' "'t' has a shape that is an array, expected an array of at most 8 integers"
	bad tensor t '{"t": {"dtype": "f32", "shape": [-1], "data": {"$bin": ""}}}' "'t' has shape[0] that is negative or too large, expected a size"
	bad tensor t '{"t": {"dtype": "f32", "shape": [1.5], "data": {"$bin": ""}}}' "'t' has shape[0] that is a float, expected a size"
	bad tensor t '{"t": {"dtype": "f32", "shape": [1000000, 1000000, 1000000, 1000000], "data": {"$bin": ""}}}' "'t' has shape[3] that is negative or too large, expected a size"
	bad tensor t '{"t": {"dtype": "f32", "data": {"$bin": ""}}}' "'t' is a map without 'shape', expected a tensor {dtype, shape, data}"
	bad tensor t '{"t": "x"}' "'t' is a string, expected a tensor map {dtype, shape, data}"
	# an empty tensor is a tensor
	mk "$T/e.mp" '{"t": {"dtype": "bf16", "shape": [0, 4], "data": []}}'
	[ "$("$RT" get tensor t "$T/e.mp")" = "1: bf16 [0 4]" ]
}

@test "rec: unknown keys pass through exactly, dropped keys go, added keys count" {
	# {"a": float32 1.5, "e": ext 5 "xy", "drop": 1, "m": {"k": [nil, true]},
	#  "b": bin8 "\0\1", "u": uint64 2^63}
	$PY -c '
import sys, struct
s = lambda x: bytes([0xa0 | len(x)]) + x.encode()
kv = [s("a") + b"\xca" + struct.pack(">f", 1.5),
      s("e") + b"\xd5\x05xy",
      s("drop") + b"\x01",
      s("m") + b"\x81" + s("k") + b"\x92\xc0\xc3",
      s("b") + b"\xc4\x02\x00\x01",
      s("u") + b"\xcf" + struct.pack(">Q", 2 ** 63)]
rec = bytes([0x80 | len(kv)]) + b"".join(kv)
exp = bytes([0x80 | len(kv)]) + b"".join(k for k in kv if not k.startswith(s("drop")))
sys.stdout.buffer.write(rec + rec)
open(sys.argv[1], "wb").write(exp + s("n") + b"\x01" + exp + s("n") + b"\x02")
' "$T/want.mp" >"$T/in.mp"
	"$RT" add "$T/in.mp" >"$T/out.mp"
	cmp "$T/want.mp" "$T/out.mp"
	# recs -p copies every byte as it is, too
	recs -p "$T/in.mp" | cmp - "$T/in.mp"
	# and gzip out, read back through a pipe
	"$RT" add -z "$T/in.mp" >"$T/out.mp.gz"
	gzip -t "$T/out.mp.gz"
	cat "$T/out.mp.gz" | "$RT" add | "$RT" add -z | gzip -dc >"$T/3.mp"
	[ "$(recs -k n "$T/3.mp" | tr '\n' ' ')" = '{"n":1} {"n":2} ' ]
}

@test "rec: records are counted over every file; messages name the file" {
	mk "$T/a.mp" '{"id": "a1"}' '{"id": "a2"}'
	mk "$T/b.mp" '{"id": "b1"}' '{"id": 5}'
	gzip -c "$T/a.mp" >"$T/a.mp.gz"
	run -1 --separate-stderr "$RT" get str id "$T/a.mp.gz" - "$T/b.mp" <"$T/a.mp"
	[ "$output" = "1: a1
2: a2
3: a1
4: a2
5: b1" ]
	[ "$stderr" = "rectest: $T/b.mp: record 2: 'id' is an integer, expected a string" ]
}

@test "rec: a stream cut at any byte ends cleanly or says truncated record" {
	mk "$T/a.mp" '{"id": "x", "t": {"dtype": "f16", "shape": [3], "data": [1, 2, 3]}}' '{"ids": [1, 300, 70000], "s": "abcdefghijklmnopqrstuvwxyz0123456789"}'
	n=$(stat -c %s "$T/a.mp")
	ok=0
	for ((k = 1; k < n; k++)); do
		head -c $k "$T/a.mp" >"$T/cut.mp"
		st=0
		recs -c "$T/cut.mp" >"$T/o" 2>"$T/e" || st=$?
		if [ $st -eq 0 ]; then
			[ "$(cat "$T/o")" = 1 ]
			ok=$((ok + 1))
		else
			echo "$k: $st $(cat "$T/e")"
			[ $st -eq 1 ]
			[[ $(cat "$T/e") == "recs: $T/cut.mp: record "[12]": truncated record"* ]]
		fi
	done
	[ "$ok" -eq 1 ]		# only at the end of the first record
}

@test "rec: broken gzip on a pipe names the record" {
	for i in $(seq 50); do echo "{\"id\": \"r$i\", \"v\": $RANDOM$RANDOM}"; done |
	    recs -r -z >"$T/a.mp.gz"
	head -c 100 "$T/a.mp.gz" >"$T/cut.gz"
	run -1 --separate-stderr bash -c "cat '$T/cut.gz' | recs -c"
	[[ $stderr == "recs: record "*": bad gzip data: unexpected end of file" ]]
	run -1 --separate-stderr "$RT" get str id "$T/cut.gz"
	[[ $stderr == "rectest: $T/cut.gz: record "*": bad gzip data"* ]]
	# two gzip members one after the other are one stream
	cat "$T/a.mp.gz" "$T/a.mp.gz" | recs -c | grep -qx 100
}

@test "rec: the writer: EPIPE is quiet, a full disk fails, gzip or not" {
	for i in $(seq 2000); do echo "{\"id\": \"r$i\", \"s\": \"$RANDOM$RANDOM$RANDOM\"}"; done |
	    recs -r >"$T/a.mp"
	run -0 --separate-stderr bash -c "set -o pipefail; '$RT' add '$T/a.mp' | head -c 1 >/dev/null"
	[ -z "$stderr" ]
	run -0 --separate-stderr bash -c "set -o pipefail; '$RT' add -z '$T/a.mp' | head -c 1 >/dev/null"
	[ -z "$stderr" ]
	run -0 --separate-stderr bash -c "set -o pipefail; recs -p '$T/a.mp' | head -c 1 >/dev/null"
	[ -z "$stderr" ]
	run -1 --separate-stderr bash -c "'$RT' add '$T/a.mp' >/dev/full"
	[ "$stderr" = "rectest: stdout: No space left on device" ]
	run -1 --separate-stderr bash -c "'$RT' add -z '$T/a.mp' >/dev/full"
	[[ $stderr == "rectest: stdout"* ]]
	run -1 --separate-stderr bash -c "recs -r -z <<<'{}' >/dev/full"
	[[ $stderr == "recs: stdout"* ]]
	run -1 --separate-stderr bash -c "recs -c '$T/a.mp' >/dev/full"
	[[ $stderr == "recs: stdout"* ]]
}

@test "rec: on bad input the whole records written go out, no half record" {
	mk "$T/a.mp" '{"id": "a"}' '{"id": "b"}' '{"id": "c", "die": 1}' '{"id": "d"}'
	mk "$T/want.mp" '{"id": "a", "n": 1}' '{"id": "b", "n": 2}'
	run -1 --separate-stderr bash -c "'$RT' add '$T/a.mp' >'$T/o.mp'"
	[ "$stderr" = "rectest: $T/a.mp: record 3: told to die" ]
	cmp "$T/want.mp" "$T/o.mp"
	run -1 bash -c "'$RT' add -z '$T/a.mp' >'$T/o.mp.gz'"
	gzip -dc "$T/o.mp.gz" | cmp - "$T/want.mp"
	# a read that fails: every record before it
	head -c $(($(stat -c %s "$T/a.mp") - 1)) "$T/a.mp" >"$T/cut.mp"
	run -1 --separate-stderr bash -c "recs -p '$T/cut.mp' >'$T/o.mp'"
	[ "$stderr" = "recs: $T/cut.mp: record 4: truncated record (end of input inside it)" ]
	[ "$(recs -c "$T/o.mp")" = 3 ]
	# and the exit status stays 1 when the reader has gone too
	run -1 bash -c "recs -p '$T/cut.mp' >/dev/full"
	run -1 bash -c "'$RT' add -z '$T/a.mp' >/dev/full"
}

@test "rec: empty input is zero records, also gzipped" {
	run -0 recs -c </dev/null
	[ "$output" = 0 ]
	: | gzip -c | recs -c | grep -qx 0
	"$RT" add </dev/null | cmp - /dev/null
}

@test "rec: a record on a slow pipe is passed on at once, plain and gzip" {
	# The producer holds its end open for 4 s after one record: the
	# record must be through three filters long before that.
	( printf '\x81\xa2id\xa1a'; sleep 4 ) | recs -p | recs -p -z |
	    recs >"$T/out" &
	for i in $(seq 15); do [ -s "$T/out" ] && break; sleep 0.2; done
	[ "$(cat "$T/out")" = '{"id":"a"}' ]
	wait
	[ "$(cat "$T/out")" = '{"id":"a"}' ]
}
