#!/usr/bin/env bats
# recs and the record layer under it: JSON lines both ways, tensors of every
# dtype, gzip, pass-through, and malformed streams.
load helper

setup() {
	T="$BATS_TEST_TMPDIR"
}

@test "recs: records as JSON lines, selected keys, a count" {
	run -0 recs -k id,label samples/tiny-cls/dev.mp
	[ "${lines[0]}" = '{"id":"tiny/dev/0","label":0}' ]
	[ "${#lines[@]}" -eq 24 ]
	run -0 recs -c samples/tiny-cls/dev.mp
	[ "$output" = 24 ]
}

@test "recs: tensors of every dtype round-trip with known values" {
	for dt in f32 f16 bf16; do
		echo "{\"id\": \"x\", \"t\": {\"dtype\": \"$dt\", \"shape\": [2, 3], \"data\": [0, 1, -2.5, 0.5, 1024, -0.125]}}" |
		    recs -r >"$T/$dt.mp"
		run -0 recs -t "$T/$dt.mp"
		[ "$output" = "{\"id\":\"x\",\"t\":{\"dtype\":\"$dt\",\"shape\":[2,3],\"data\":[0,1,-2.5,0.5,1024,-0.125]}}" ]
		run -0 recs "$T/$dt.mp"
		[ "$output" = "{\"id\":\"x\",\"t\":{\"dtype\":\"$dt\",\"shape\":[2,3],\"min\":-2.5,\"max\":1024,\"mean\":170.47916666666666}}" ]
		recs -t "$T/$dt.mp" | recs -r | cmp - "$T/$dt.mp"
	done
	# sizes: 6 values of 4 and of 2 bytes
	[ $(($(stat -c %s "$T/f32.mp") - $(stat -c %s "$T/f16.mp"))) -eq 12 ]
}

@test "recs: f16 and bf16 round to nearest even" {
	echo '{"a": {"dtype": "f16", "shape": [3], "data": [1.00048828125, 65520, 3.14159265]}, "b": {"dtype": "bf16", "shape": [2], "data": [1.00390625, 3.14159265]}}' |
	    recs -r | recs -t >"$T/o"
	grep -q '"a":{"dtype":"f16","shape":\[3\],"data":\[1,null,3.140625\]}' "$T/o"
	grep -q '"b":{"dtype":"bf16","shape":\[2\],"data":\[1,3.140625\]}' "$T/o"
}

@test "recs: the encoder's attention survives recs -t | recs -r exactly" {
	encode -m samples/tiny-cls -a samples/tiny-cls/dev.mp >"$T/a.mp"
	recs -t "$T/a.mp" | recs -r >"$T/b.mp"
	recs -t "$T/a.mp" >"$T/a.json"
	recs -t "$T/b.mp" | cmp - "$T/a.json"
}

@test "recs: integers stay integers, floats floats, strings escaped" {
	printf '%s\n' '{"i": 3, "f": 3.0, "e": 1e3, "n": -7, "s": "a\"b\\c\n\u00e9\ud83d\ude00", "z": null, "t": true, "l": [[], {}], "b": {"$bin": "AAEC/w=="}}' |
	    recs -r >"$T/x.mp"
	run -0 recs "$T/x.mp"
	[ "$output" = '{"i":3,"f":3,"e":1000,"n":-7,"s":"a\"b\\c\né😀","z":null,"t":true,"l":[[],{}],"b":{"$bin":"AAEC/w=="}}' ]
	$PY "$TOP/test/mp.py" <"$T/x.mp" | grep -q '"i": 3, "f": 3.0, "e": 1000.0'
}

@test "recs: gzip in and out, from a file and from a pipe" {
	recs -p samples/tiny-cls/dev.mp >"$T/d.mp"	# msgpack's shortest forms
	recs -p "$T/d.mp" | cmp - "$T/d.mp"
	recs -p -z samples/tiny-cls/dev.mp >"$T/d.mp.gz"
	gzip -t "$T/d.mp.gz"
	zcat "$T/d.mp.gz" | cmp - "$T/d.mp"
	recs -p "$T/d.mp.gz" | cmp - "$T/d.mp"
	cat "$T/d.mp.gz" | recs -p | cmp - "$T/d.mp"
	gzip -c samples/tiny-cls/dev.mp | recs -c | grep -qx 24
	# several files, plain and gzip, one stream
	run -0 recs -c samples/tiny-cls/dev.mp "$T/d.mp.gz" -
	[ "$output" = 48 ]
}

@test "recs: unknown keys pass through a filter" {
	echo '{"id": "k", "mine": {"deep": [1, "two", 3.5]}, "ids": [2, 12, 3]}' |
	    recs -r | encode -m samples/tiny-cls | recs -k mine,id >"$T/o"
	[ "$(cat "$T/o")" = '{"id":"k","mine":{"deep":[1,"two",3.5]}}' ]
}

@test "recs: empty input is zero records" {
	run -0 recs -c /dev/null
	[ "$output" = 0 ]
	: | recs -r | cmp - /dev/null
}

# malformed BYTES-PYTHON MESSAGE: a stream of one good record and then the
# bytes given (a python bytes expression) fails with MESSAGE.
malformed() {
	echo '{"id": "good"}' | recs -r >"$T/good.mp"
	$PY -c "import sys; sys.stdout.buffer.write(open('$T/good.mp','rb').read() + $1)" >"$T/bad.mp"
	run -1 --separate-stderr recs "$T/bad.mp"
	echo "$stderr"
	[ "$stderr" = "recs: $T/bad.mp: $2" ]
	[ "${#lines[@]}" -eq 1 ]	# the good record, then nothing
}

@test "recs: malformed streams name the record" {
	malformed "b'\\x81\\xa1a'" "record 2: truncated record (end of input inside it)"
	malformed "b'\\x92\\x01\\x02'" "record 2: not a map (found an array)"
	malformed "b'\\x05'" "record 2: not a map (found an integer)"
	malformed "b'\\xc1'" "record 2: not msgpack (byte 0xc1)"
	# a bin that claims 4 GB, an array of 4 billion: truncated, not allocated
	malformed "b'\\x81\\xa1a\\xc6\\xff\\xff\\xff\\xff'" "record 2: truncated record (end of input inside it)"
	malformed "b'\\x81\\xa1a\\xdd\\xff\\xff\\xff\\xff'" "record 2: truncated record (end of input inside it)"
	# deep nesting
	malformed "b'\\x81\\xa1a' + b'\\x91' * 100000 + b'\\x01'" "record 2: nested deeper than 30 levels"
}

@test "recs: tensors that disagree with their shape name the record" {
	bad() {
		echo "$1" | $PY "$TOP/test/score-mp.py" >"$T/t.mp"
		run -1 --separate-stderr attend-dump "$T/t.mp"
		echo "$stderr"
		[[ $stderr == *"record 1: 'attn' $2"* ]]
	}
	bad '{"ids": [2], "attn": {"dtype": "f32", "shape": [1, 1, 1, 1], "data": "x"}}' "has data that is a string, expected binary data"
	bad '{"ids": [2], "attn": {"dtype": "f64", "shape": [1, 1, 1, 1], "data": "x"}}' "has dtype 'f64', expected f32, f16 or bf16"
	bad '{"ids": [2], "attn": {"shape": [1], "data": "x"}}' "is a map without 'dtype'"
	bad '{"ids": [2], "attn": [1, 2]}' "is an array, expected a tensor map"
	# data one byte short of the shape
	$PY -c "
import sys, struct
sys.path.insert(0, 'test')
b = bytes([0x82, 0xa3]) + b'ids' + bytes([0x91, 2, 0xa4]) + b'attn' + bytes([0x83, 0xa5]) + b'dtype' + bytes([0xa3]) + b'f32' + bytes([0xa5]) + b'shape' + bytes([0x94, 1, 1, 1, 2, 0xa4]) + b'data' + bytes([0xc4, 7]) + bytes(7)
sys.stdout.buffer.write(b)" >"$T/t.mp"
	run -1 --separate-stderr attend-dump "$T/t.mp"
	[[ $stderr == *"record 1: 'attn' has shape [1, 1, 1, 2] of f32, which needs 8 bytes, but its data has 7"* ]]
}

@test "recs: broken gzip names the file" {
	gzip -c samples/tiny-cls/dev.mp | head -c 200 >"$T/cut.gz"
	run -1 --separate-stderr recs -c "$T/cut.gz"
	[[ $stderr == "recs: $T/cut.gz: record "*": bad gzip data: unexpected end of file" ]]
	gzip -c samples/tiny-cls/dev.mp >"$T/c.gz"
	printf 'XX' | dd of="$T/c.gz" bs=1 seek=100 conv=notrunc 2>/dev/null
	run -1 --separate-stderr recs -c "$T/c.gz"
	[[ $stderr == *"bad gzip data"* ]]
}

@test "recs: bad JSON names the line" {
	printf '{"a": 1}\n\n{"b": [1, 2,}\n' >"$T/bad.jsonl"
	run -1 --separate-stderr recs -r "$T/bad.jsonl"
	[[ $stderr == "recs: $T/bad.jsonl:3: not JSON"* ]]
	run -1 --separate-stderr recs -r <<<'[1, 2]'
	[[ $stderr == "recs: <stdin>:1: a record must be a JSON object"* ]]
	run -1 --separate-stderr recs -r <<<'{"t": {"dtype": "f32", "shape": [3], "data": [1, 2]}}'
	[[ $stderr == *"a tensor's data does not fit its shape"* ]]
	run -1 --separate-stderr recs -r <<<'{"a": 1} x'
	[[ $stderr == *"junk after the record"* ]]
}

@test "recs: a reader that goes away ends it quietly; a full disk is an error" {
	for i in 1 2 3 4 5 6 7 8; do cat samples/tiny-cls/dev.mp; done >"$T/big.mp"
	run -0 bash -c "set -o pipefail; recs -p '$T/big.mp' | head -c 1 >/dev/null"
	run -0 bash -c "set -o pipefail; recs '$T/big.mp' | head -n 1 >/dev/null"
	run -1 --separate-stderr bash -c "recs -p '$T/big.mp' >/dev/full"
	[[ $stderr == *"stdout: No space left on device"* ]]
	run -1 --separate-stderr bash -c "recs '$T/big.mp' >/dev/full"
	[[ $stderr == *"stdout"* ]]
}

@test "recs: bad usage exits 2" {
	run -2 --separate-stderr recs -x
	[[ $stderr == *"usage: recs [-ct] [-k keys] [file ...]"* ]]
	run -2 recs -r -p
	run -2 recs -r -k id
	run -1 --separate-stderr recs /nonexistent
	[[ $stderr == "recs: /nonexistent: No such file or directory" ]]
}

@test "recs: man page examples run" {
	cd "$T"
	ln -s "$TOP/samples" samples
	recs -k id,label samples/tiny-cls/dev.mp | head -n 2 >o
	[ "$(wc -l <o)" -eq 2 ]
	[ "$(recs -c samples/tiny-cls/dev.mp)" = 24 ]
	echo '{"id": "mine", "ids": [2, 12, 14, 15, 16, 3]}' | recs -r |
	    encode -m samples/tiny-cls | recs -k id,logits,pred | grep -q '"id":"mine","logits"'
	encode -m samples/tiny-cls -a samples/tiny-cls/dev.mp | recs -t |
	    recs -r -z >attn.mp.gz
	[ "$(recs -c attn.mp.gz)" = 24 ]
}

@test "recs: golden records from hand-written JSON lines, and back" {
	recs -r "$GOLDEN/recs-in.jsonl" >"$T/in.mp"
	golden recs-in.mp "$T/in.mp"
	recs "$T/in.mp" >"$T/out.jsonl"
	golden recs-out.jsonl "$T/out.jsonl"
	recs -t -k map,h "$T/in.mp" >"$T/values.jsonl"
	golden recs-values.jsonl "$T/values.jsonl"
	# the summaries' JSON read back gives the same lines again
	recs -r "$T/out.jsonl" | recs | cmp - "$T/out.jsonl"
}
