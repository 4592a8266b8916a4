bats_require_minimum_version 1.5.0
load helper

maps() {
	$PY "$BATS_TEST_DIRNAME/attend-maps.py" "$@"
}

setup() {
	need_numpy
	T=$BATS_TEST_TMPDIR
}

# The reference in numpy: cosine and row-wise JS distance (bits) per head,
# averaged over the records of a.mp and b.mp matched by id.
reference() {
	$PY - "$1" "$2" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "")
def read(path):
    import struct
    data = open(path, "rb").read()
    pos = 0
    def obj():
        nonlocal pos
        b = data[pos]; pos += 1
        if b < 0x80: return b
        if b == 0xc0: return None
        if b == 0xcb:
            v = struct.unpack(">d", data[pos:pos + 8])[0]; pos += 8; return v
        if b == 0xcf:
            v = struct.unpack(">Q", data[pos:pos + 8])[0]; pos += 8; return v
        n = struct.unpack(">I", data[pos:pos + 4])[0]; pos += 4
        if b == 0xdb:
            v = data[pos:pos + n].decode(); pos += n; return v
        if b == 0xc6:
            v = data[pos:pos + n]; pos += n; return v
        if b == 0xdd: return [obj() for _ in range(n)]
        if b == 0xdf: return dict((obj(), obj()) for _ in range(n))
        raise ValueError(hex(b))
    out = {}
    while pos < len(data):
        r = obj()
        t = r["attn"]
        dt = "<f4" if t["dtype"] == "f32" else "<f2"
        out[r["id"]] = np.frombuffer(t["data"], dt).astype(np.float64).reshape(t["shape"])
    return out
A, B = read(sys.argv[1]), read(sys.argv[2])
ids = [k for k in A if k in B]
cs = js = 0
for k in ids:
    a, b = A[k], B[k]
    L, H = a.shape[:2]
    fa, fb = a.reshape(L, H, -1), b.reshape(L, H, -1)
    cs = cs + (fa * fb).sum(-1) / np.linalg.norm(fa, axis=-1) / np.linalg.norm(fb, axis=-1)
    m = (a + b) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        d = 0.5 * np.where(a > 0, a * np.log(a / m), 0).sum(-1) + \
            0.5 * np.where(b > 0, b * np.log(b / m), 0).sum(-1)
    js = js + np.sqrt(np.maximum(d / np.log(2), 0)).mean(-1)
for l in range(L):
    for h in range(H):
        print(l + 1, h + 1, cs[l, h] / len(ids), js[l, h] / len(ids), len(ids))
PY
}

# compare a table (layer head cosine js n) with the reference; maxdiff
close() {
	paste <(tail -n +2 "$1") "$2" | awk '{
		if ($1 != $6 || $2 != $7 || $5 != $10) bad = 1
		for (i = 3; i <= 4; i++) { d = $i - $(i + 5); if (d < 0) d = -d
			if (d > m) m = d } }
		END { print "maxdiff", m; exit bad || !(m < 1e-5) }'
}

@test "attend-compare: a stream against itself: cosine 1, JS 0" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	attend-compare -j "$T/a.mp" "$T/a.mp" >"$T/out"
	head -n 1 "$T/out" | grep -qx "$(printf 'layer\thead\tcosine\tjs\tn')"
	[ "$(tail -n +2 "$T/out" | cut -f 3-5 | sort -u)" = \
	    "$(printf '1.000000\t0.000000\t5')" ]
	[ "$(wc -l <"$T/out")" -eq 7 ]
}

@test "attend-compare: cosine and JS agree with numpy" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	maps random 100 2 3 6 5 b >"$T/b.mp"
	attend-compare -j "$T/a.mp" "$T/b.mp" >"$T/out"
	reference "$T/a.mp" "$T/b.mp" >"$T/ref"
	close "$T/out" "$T/ref"
}

@test "attend-compare: streams in different orders give the same table" {
	maps random 1 2 3 6 7 a >"$T/a.mp"
	maps random 100 2 3 6 7 b >"$T/b.mp"
	maps random 100 2 3 6 7 b rev >"$T/r.mp"
	attend-compare -j "$T/a.mp" "$T/b.mp" >"$T/same"
	attend-compare -j "$T/a.mp" "$T/r.mp" >"$T/rev"
	attend-compare -j "$T/r.mp" "$T/a.mp" >"$T/rev2"
	diff -u "$T/same" "$T/rev"
	diff -u "$T/same" "$T/rev2"
}

@test "attend-compare: ids in one stream only are counted and named" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	maps random 100 2 3 6 5 b rev skip=2 >"$T/b.mp"
	run -0 --separate-stderr attend-compare -o "$T/d" "$T/a.mp" "$T/b.mp"
	[ "${lines[1]##*	}" = 4 ]
	[ "${stderr_lines[0]}" = "attend-compare: $T/a.mp: record 3: id 'x/2' is not in $T/b.mp" ]
	[ "${stderr_lines[1]}" = "attend-compare: 4 matched, 1 only in $T/a.mp, 0 only in $T/b.mp" ]
	[ "$(cat "$T/d/summary.tsv")" = "$(printf 'matched\tonly_a\tonly_b\n4\t1\t0')" ]
	[ "$(tail -n 1 "$T/d/unmatched.tsv")" = "$(printf 'a\t3\tx/2')" ]
}

@test "attend-compare: sample matches golden output" {
	run -0 --separate-stderr attend-compare -j "$SAMPLES/attend-a.mp" \
	    "$SAMPLES/attend-b.mp"
	printf '%s\n' "$output" >"$T/out"
	golden attend-compare-ab.tsv "$T/out"
	[[ $stderr == *"5 matched, 1 only in"* ]]
}

@test "attend-compare: -o writes the table and heat maps" {
	attend-compare -j -o "$T/d" "$SAMPLES/attend-a.mp" \
	    "$SAMPLES/attend-b.mp" >"$T/out" 2>/dev/null
	diff -u "$T/out" "$T/d/compare.tsv"
	for f in cosine js; do
		[ -s "$T/d/$f.svg" ]
		head -c 8 "$T/d/$f.png" | od -An -tx1 | tr -d ' \n' |
		    grep -qx 89504e470d0a1a0a
	done
}

@test "attend-compare: per-head records are matched by id, layer and head" {
	maps perhead >"$T/p.mp"
	run -0 attend-compare "$T/p.mp" "$T/p.mp"
	[ "${lines[3]}" = "$(printf '1\t3\t1.000000\t1')" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "attend-compare: -k compares another key's maps, per head or per layer" {
	attend-compare -j "$SAMPLES/attend-a.mp" "$SAMPLES/attend-b.mp" \
	    >"$T/want" 2>/dev/null
	for s in a b; do
		$PY "$TOP/test/rekey.py" -d attn norm \
		    <"$SAMPLES/attend-$s.mp" >"$T/$s.mp"
	done
	attend-compare -j -k norm "$T/a.mp" "$T/b.mp" >"$T/got" 2>/dev/null
	diff "$T/want" "$T/got"
	# a map per layer, [L, 1, T, T], against itself: a row per layer
	$PY "$TOP/test/rekey.py" -l attn alti <"$SAMPLES/attend-a.mp" \
	    >"$T/alti.mp"
	run -0 attend-compare --key alti "$T/alti.mp" "$T/alti.mp"
	[ "${lines[0]}" = "$(printf 'layer\thead\tcosine\tn')" ]
	[ "$(printf '%s\n' "${lines[@]:1}" | cut -f 2,3 | sort -u)" = \
	    "$(printf '1\t1.000000')" ]
	run -1 --separate-stderr attend-compare -k alti "$SAMPLES/attend-a.mp" \
	    "$SAMPLES/attend-b.mp"
	[ "$stderr" = "attend-compare: $SAMPLES/attend-a.mp: record 1: no key 'alti' or 'map'" ]
}

@test "attend-compare: known-answer model with a head disabled" {
	cd "$TOP"
	tokenize -m samples/ka-model samples/ka-sentences.txt >"$T/ka.tok"
	encode -m samples/ka-model -a "$T/ka.tok" >"$T/base.mp"
	encode -m samples/ka-model -a --disable L1H1 --mode uniform \
	    "$T/ka.tok" >"$T/abl.mp"
	attend-compare -j "$T/base.mp" "$T/abl.mp" >"$T/out"
	# the disabled head changed, the other heads of layer 1 did not
	awk -F '\t' '$1 == 1 { print
		if ($2 == 1 && !($3 < 0.9 && $5 == 8)) bad = 1
		if ($2 > 1 && $3 < 0.99999) bad = 1 }
	    END { exit bad }' "$T/out"
}

@test "attend-compare: bad usage" {
	run -2 --separate-stderr attend-compare -Z a b
	[[ $stderr == *"usage: attend-compare "* ]]
	run -2 --separate-stderr attend-compare "$SAMPLES/attend-a.mp"
	run -2 --separate-stderr attend-compare -m x a b
}

@test "attend-compare: duplicate ids are an error naming the record" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	maps random 100 2 3 6 5 b dup=3 >"$T/b.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/b.mp"
	[ "$stderr" = "attend-compare: $T/b.mp: record 5: duplicate id 'x/3' (first at $T/b.mp: record 4)" ]
	[ -z "$output" ]
}

@test "attend-compare: different models' shapes are an error" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	maps random 100 3 3 6 5 b >"$T/b.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/b.mp"
	[ "$stderr" = "attend-compare: $T/b.mp: record 1: id 'x/0': maps [3, 3, 6, 6], but $T/a.mp: record 1 has [2, 3, 6, 6]" ]
	maps random 100 2 3 6 5 b longer=1 >"$T/b.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/b.mp"
	[[ $stderr == *"id 'x/1': maps [2, 3, 8, 8], but $T/a.mp: record 2 has [2, 3, 7, 7]" ]]
	[ -z "$output" ]
}

@test "attend-compare: no common id, too much waiting, bad records" {
	maps random 1 2 3 6 5 a >"$T/a.mp"
	maps onehot >"$T/o.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/o.mp"
	[[ $stderr == *"no id is in both $T/a.mp and $T/o.mp" ]]
	[[ $stderr == *"0 matched, 5 only in $T/a.mp, 1 only in $T/o.mp"* ]]
	maps random 1 2 3 6 5 a rev >"$T/r.mp"
	run -1 --separate-stderr attend-compare -m 0 "$T/a.mp" "$T/r.mp"
	[[ $stderr == *"$T/a.mp: record 1: id 'x/0': more than 0 MB"* ]]
	maps bad noid >"$T/b.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/b.mp"
	[[ $stderr == *"$T/b.mp: record 1: "*"id"* ]]
	head -c 300 "$T/a.mp" >"$T/t.mp"
	run -1 --separate-stderr attend-compare "$T/a.mp" "$T/t.mp"
	[[ $stderr == *"$T/t.mp"*"record 1"* ]]
	[ -z "$output" ]
}

@test "attend-compare: a non-finite map is an error naming the record and head" {
	d=$BATS_TEST_TMPDIR
	$PY "$TOP/test/mkbad.py" edit "$SAMPLES/attend-a.mp" "$d/nan.mp" 2 \
	    'poke(r["attn"], 7, nan)'
	run -1 --separate-stderr attend-compare "$d/nan.mp" "$SAMPLES/attend-b.mp"
	[ "$stderr" = "attend-compare: $d/nan.mp: record 3: id 'x/2': L1H1: non-finite attention at row 1, column 8" ]
	$PY "$TOP/test/mkbad.py" edit "$SAMPLES/attend-a.mp" "$d/neg.mp" 1 \
	    'poke(r["attn"], 1, -0.25)'
	run -0 --separate-stderr attend-compare "$d/neg.mp" "$SAMPLES/attend-b.mp"
	[[ $stderr == *"attend-compare: 1 rows in 1 maps do not sum to 1 (tolerance 0.001)
attend-compare: 1 negative values in 1 maps"* ]]
}

@test "attend-compare: memory and output stay in proportion to the maps read" {
	echo '{"id": "x", "tokens": ["a"], "layer": 4096, "head": 2, "map": {"dtype": "f32", "shape": [1, 1], "data": [1.0]}}' |
	    recs -r >"$T/big.mp"
	run -1 bash -c '$MEMCAP; set -o pipefail
	    attend-compare "$1" "$1" 2>"$2" | head -c 100000 | wc -c' - \
	    "$T/big.mp" "$T/err"
	[ "$output" = 0 ]
	[ "$(cat "$T/err")" = "attend-compare: $T/big.mp: record 1: id 'x L4096H2': a table of 4096 layers x 2 heads for 1 maps is out of all proportion (layers and heads are numbered from 1)" ]
}
