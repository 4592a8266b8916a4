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

# Records of every msgpack type in odd places: keys that are integers,
# floats, booleans, nil, arrays, maps, binary and ext; strings of invalid
# UTF-8, encoded surrogates, overlong forms, control bytes; NaN, infinity,
# -0 and subnormal floats; ext types; tensor-like maps.  Written without the
# msgpack module, from a seed.
odd_records() {
	$PY - "$@" <<'PY'
import random, struct, sys
rnd = random.Random(int(sys.argv[1]))
def p(o, out):
    t = o[0]
    if t == 'nil': out.append(0xc0)
    elif t == 'bool': out.append(0xc3 if o[1] else 0xc2)
    elif t == 'int':
        v, w = o[1], o[2]
        if w == 'fix': out += struct.pack('b' if v < 0 else 'B', v)
        else: out += bytes([w[0]]) + struct.pack(w[1], v)
    elif t == 'f32': out += b'\xca' + struct.pack('>f', o[1])
    elif t == 'f64': out += b'\xcb' + struct.pack('>d', o[1])
    elif t == 'str':
        b = o[1]; n = len(b)
        out += (bytes([0xa0 | n]) if n < 32 and rnd.random() < .5 else
                b'\xd9' + bytes([n]) if n < 256 and rnd.random() < .5 else
                b'\xda' + struct.pack('>H', n)) + b
    elif t == 'bin':
        b = o[1]; out += b'\xc4' + bytes([len(b)]) + b
    elif t == 'ext':
        d = o[2]; n = len(d)
        if n in (1, 2, 4, 8, 16):
            out += bytes([{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}[n]])
        else:
            out += b'\xc7' + bytes([n])
        out += struct.pack('b', o[1]) + d
    elif t == 'arr':
        out += b'\xdc' + struct.pack('>H', len(o[1]))
        for x in o[1]: p(x, out)
    elif t == 'map':
        out += b'\xde' + struct.pack('>H', len(o[1]))
        for k, v in o[1]: p(k, out); p(v, out)
    return out
ODD = [b'', b'\x00', b'"', b'\\', b'\x7f', b'\x1f\x08\x0c', b'\xff', b'\xc0\x80',
       b'\xed\xa0\x80', b'\xed\xb0\x80', b'\xf4\x90\x80\x80', b'\xe2\x82',
       b'\xf8\x88\x80\x80\x80', 'é€😀'.encode(), b'\\ud800', b'</script>',
       '\u2028\u2029'.encode(), b'\xef\xbf\xbe']
def s():
    return ('str', b''.join(rnd.choice(ODD) for _ in range(rnd.randrange(4))) +
            bytes(rnd.randrange(256) for _ in range(rnd.randrange(3))))
FL = [float('nan'), float('inf'), -float('inf'), -0.0, 5e-324, 1e308, 1.5,
      1e-45, 3.4028234663852886e38, 0.1]
def scalar():
    k = rnd.randrange(9)
    if k == 0: return ('nil',)
    if k == 1: return ('bool', rnd.random() < .5)
    if k == 2:
        w = rnd.choice(['fix', (0xcc, '>B'), (0xcd, '>H'), (0xce, '>I'),
                        (0xcf, '>Q'), (0xd0, '>b'), (0xd1, '>h'),
                        (0xd2, '>i'), (0xd3, '>q')])
        lim = {'fix': (-32, 127), '>B': (0, 255), '>H': (0, 65535),
               '>I': (0, 2**32 - 1), '>Q': (0, 2**64 - 1), '>b': (-128, 127),
               '>h': (-2**15, 2**15 - 1), '>i': (-2**31, 2**31 - 1),
               '>q': (-2**63, 2**63 - 1)}[w if w == 'fix' else w[1]]
        return ('int', rnd.choice([lim[0], lim[1], rnd.randint(*lim)]), w)
    if k == 3: return ('f32', rnd.choice(FL[:5] + [1.5, 0.1]))
    if k == 4: return ('f64', rnd.choice(FL))
    if k == 5: return ('bin', bytes(rnd.randrange(256) for _ in range(rnd.randrange(5))))
    if k == 6: return ('ext', rnd.randint(-128, 127),
                       bytes(rnd.randrange(256) for _ in range(rnd.choice([1, 2, 3, 4, 8, 16]))))
    return s()
def val(d):
    k = rnd.randrange(10) if d < 3 else 0
    if k == 7: return ('arr', [val(d + 1) for _ in range(rnd.randrange(4))])
    if k == 8: return ('map', [(val(d + 1), val(d + 1)) for _ in range(rnd.randrange(4))])
    if k == 9:
        n = rnd.randrange(4)
        return ('map', [(('str', b'dtype'), ('str', rnd.choice([b'f32', b'f16', b'bf16', b'f64']))),
                        (('str', b'shape'), ('arr', [('int', n, 'fix')])),
                        (('str', b'data'), ('bin', bytes(rnd.randrange(256) for _ in range(rnd.choice([n * 2, n * 4, 3])))))])
    return scalar()
out = bytearray()
for _ in range(int(sys.argv[2])):
    p(('map', [(val(0) if rnd.random() < .4 else s(), val(0))
               for _ in range(rnd.randrange(1, 6))]), out)
sys.stdout.buffer.write(out)
PY
}

# jsoncheck N FILE: FILE is N lines of strict JSON (no NaN, no Infinity, no
# lone surrogate, valid UTF-8), each an object.
jsoncheck() {
	$PY - "$@" <<'PY'
import json, sys
def const(c): raise ValueError('not JSON: ' + c)
def utf8(o):
    if isinstance(o, str): o.encode('utf-8')     # fails on a lone surrogate
    elif isinstance(o, list): [utf8(x) for x in o]
    elif isinstance(o, dict): [utf8(k) or utf8(v) for k, v in o.items()]
lines = open(sys.argv[2], 'rb').read().split(b'\n')
assert lines[-1] == b'', 'no final newline'
lines = lines[:-1]
assert len(lines) == int(sys.argv[1]), '%d lines' % len(lines)
for n, l in enumerate(lines, 1):
    try:
        o = json.loads(l.decode('utf-8'), parse_constant=const)
        assert isinstance(o, dict), 'not an object'
        utf8(o)
    except Exception as e:
        sys.exit('line %d: %s: %r' % (n, e, l[:200]))
print('%d lines of JSON' % len(lines))
PY
}

@test "recs: the JSON is valid whatever the records hold" {
	for seed in 1 2 3 4 5; do
		odd_records $seed 400 >"$T/odd.mp"
		run -0 recs -c "$T/odd.mp"
		[ "$output" = 400 ]
		for opt in "" -t; do
			recs $opt "$T/odd.mp" >"$T/odd.json"
			jsoncheck 400 "$T/odd.json"
		done
		# what recs -r reads back shows the same
		recs -t "$T/odd.mp" >"$T/a.json"
		recs -r "$T/a.json" | recs -t >"$T/b.json"
		$PY -c '
import json, sys
a, b = (list(map(json.loads, open(f))) for f in sys.argv[1:])
assert a == b' "$T/a.json" "$T/b.json"
	done
	# the keys that used to break it
	printf '\x81\x92\x01\xa1a\x01' >"$T/k.mp"	# {[1, "a"]: 1}
	run -0 recs "$T/k.mp"
	[ "$output" = '{"[1,\"a\"]":1}' ]
	printf '\x84\x01\x02\xc3\x03\xc0\x04\xc4\x01\xff\x05' >"$T/k.mp"
	run -0 recs "$T/k.mp"
	[ "$output" = '{"1":2,"true":3,"null":4,"{\"$bin\":\"/w==\"}":5}' ]
}

@test "recs: -r refuses lone surrogates, naming the line" {
	printf '{"a": "ok \\ud83d\\ude00"}\n{"a": "x\\ud800"}\n' >"$T/s.jsonl"
	run -1 --separate-stderr recs -r "$T/s.jsonl"
	echo "$stderr"
	[ "$stderr" = "recs: $T/s.jsonl:2: a lone surrogate in a string (UTF-8 has none) (at '\\ud800\"}')" ]
	run -1 --separate-stderr recs -r <<<'{"a": "\udc00"}'
	[[ $stderr == "recs: <stdin>:1: a lone surrogate"* ]]
	run -1 --separate-stderr recs -r <<<'{"a": "\ud800\u0041"}'
	[[ $stderr == "recs: <stdin>:1: a high surrogate not followed by a low one"* ]]
	run -1 --separate-stderr recs -r <<<'{"\udfff": 1}'
	[[ $stderr == "recs: <stdin>:1: a lone surrogate"* ]]
	# the good pair is one character
	recs -r <<<'{"a": "\ud83d\ude00"}' | recs >"$T/o"
	[ "$(cat "$T/o")" = '{"a":"😀"}' ]
}

@test "recs: -r refuses shapes that overflow, are negative or too deep" {
	t() { printf '\n{"id": 1, "t": {"dtype": "f32", "shape": %s, "data": %s}}\n' "$1" "$2"; }
	for c in "[1073741824, 1073741824, 1073741824]|[]|the product of its 3 sizes overflows" \
	    "[4294967296, 4294967296]|[]|size 1 is 4294967296, more than 2^30" \
	    "[1024, 1024, 1024, 1024, 1024, 1024, 1024]|[]|overflows" \
	    "[2, -1]|[]|size 2 is negative (-1)" \
	    "[18446744073709551615]|[]|size 1 is 18446744073709551615" \
	    "[1, 1, 1, 1, 1, 1, 1, 1, 1]|[1]|has 9 dimensions, more than 8" \
	    "[2.0]|[1, 2]|size 1 is not an integer" \
	    "[3]|[1, 2]|data does not fit its shape (2 values for 3)"; do
		IFS='|' read -r shape data msg <<<"$c"
		t "$shape" "$data" >"$T/t.jsonl"
		run -1 --separate-stderr recs -r "$T/t.jsonl"
		echo "$stderr"
		[[ $stderr == "recs: $T/t.jsonl:2: a tensor's "*"$msg"* ]]
		[ -z "$output" ]
	done
	# the largest ints come back as they went
	echo '{"u": 18446744073709551615, "i": -9223372036854775808}' |
	    recs -r | recs >"$T/o"
	[ "$(cat "$T/o")" = '{"u":18446744073709551615,"i":-9223372036854775808}' ]
}

# block N of man/headcount.7's EXAMPLES
h7_example() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' "$TOP/man/headcount.7" |
	    awk -v n="$1" '/^\.Bd/ { b++; on = 1; next } /^\.Ed/ { on = 0 }
		on && b == n' | sed 's/\\e/\\/g'
}

@test "headcount.7: its Python reader reads the streams, gzip or not" {
	$PY -c 'import msgpack' 2>/dev/null ||
	    skip "python3-msgpack is absent (make deps installs it)"
	need_numpy
	h7_example 1 >"$T/ex.sh"
	[ "$(cat "$T/ex.sh")" = "recs samples/ka-attn.mp | head -n 1" ]
	(cd "$TOP" && bash -e "$T/ex.sh")
	h7_example 2 >"$T/read.py"
	[ "$(wc -l <"$T/read.py")" -eq 5 ]
	gzip -c "$SAMPLES/ka-attn.mp" >"$T/ka.mp.gz"
	for f in "$SAMPLES/tiny-cls/dev.mp" "$SAMPLES/ka-attn.mp" "$T/ka.mp.gz"; do
		$PY "$T/read.py" "$f" >"$T/py.out"
		recs -k id "$f" | sed 's/{"id":"\(.*\)"}/\1/' >"$T/ids"
		diff "$T/ids" <(cut -d ' ' -f 1 "$T/py.out")
	done
	grep -q "^ka/1 \['attn', 'id', 'ids', 'seg', 'tokens'\]$" "$T/py.out"
	# the tensor function gives recs -t's values, in every dtype
	for dt in f32 f16 bf16; do
		encode -m "$SAMPLES/tiny-cls" -a --attn-dtype $dt \
		    "$SAMPLES/tiny-cls/dev.mp" >"$T/$dt.mp"
		recs -t -k attn "$T/$dt.mp" >"$T/$dt.json"
		{ h7_example 3; cat <<-PY
		import json, msgpack
		n = 0
		for rec, line in zip(msgpack.Unpacker(open('$T/$dt.mp', 'rb'), raw=False),
		                     open('$T/$dt.json')):
		    a = tensor(rec['attn'])
		    want = json.loads(line)['attn']
		    assert list(a.shape) == want['shape']
		    assert [float(x) for x in a.ravel()] == want['data']
		    n += 1
		assert n > 0
		print('$dt: %d records agree' % n)
		PY
		} >"$T/t.py"
		$PY "$T/t.py"
	done
}

@test "headcount.7: every filter's page refers to it, make lint checks it" {
	for f in "$TOP"/man/*.1; do
		sed -n '/^\.Sh SEE ALSO/,/^\.Sh/p' "$f" | grep -qx '\.Xr headcount 7' ||
		    { echo "$f: no .Xr headcount 7"; false; }
	done
	run make -s --no-print-directory -C "$TOP" lint
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	make -s -C "$TOP" install DESTDIR="$T/dest" PREFIX=/p >/dev/null
	[ -f "$T/dest/p/share/man/man7/headcount.7" ]
	[ -x "$T/dest/p/bin/recs" ]
	make -s -C "$TOP" uninstall DESTDIR="$T/dest" PREFIX=/p
	[ -z "$(find "$T/dest" -type f)" ]
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
