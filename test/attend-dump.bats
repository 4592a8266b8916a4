bats_require_minimum_version 1.5.0
load helper

# attend-dump, and the plot module (common/plot.c) its pictures come from.
# samples/ka-attn.mp: 8 examples of the known-answer model, attn [3, 4, T, T].

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# from the sources, so that it links whatever libcommon.a was built as
	cc -std=c11 -D_GNU_SOURCE -I/usr/include/cairo -I"$TOP/common" \
	    -o "$D/plotcheck" "$TOP/test/plotcheck.c" "$TOP/common/plot.c" \
	    "$TOP/common/util.c" -lcairo -lm || return 1
}

# per test: tests of a file run in parallel (test/run --jobs)
setup() {
	W="$BATS_TEST_TMPDIR"
}

# py SCRIPT: run python with test/ on the path (mkmaps: msgpack, PNG)
py() {
	PYTHONPATH="$TOP/test" $PY -c "$1"
}

@test "attend-dump: plot draws a known map with the right colour per cell" {
	mkdir "$W/pc"
	"$D/plotcheck" "$W/pc" >"$W/pc.out"
	run py "
import mkmaps
lines = [l.split() for l in open('$W/pc.out')]
w, h, px = mkmaps.png_read('$W/pc/heat.png')
assert (w, h) == (400, 300), (w, h)
x, y, bw, bh = map(float, lines[1][1:])
n = 0
for l in lines:
    if l[0] != 'cell':
        continue
    i, j, r, g, b = map(int, l[1:])
    cx = int(x + (j + 0.5) * bw / 4)
    cy = int(y + (i + 0.5) * bh / 3)
    want = (255, 255, 255) if r < 0 else (r, g, b)
    assert px[cy][cx][:3] == want, (i, j, px[cy][cx], want)
    n += 1
print(n, 'cells ok')
"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "12 cells ok" ]
}

@test "attend-dump: plot writes valid SVG, sheets, bars, and returns errors" {
	mkdir "$W/pe"
	run "$D/plotcheck" "$W/pe"
	[ "$status" -eq 0 ]
	[[ $output == *"error: /nonexistent/dir/x.png: No such file or directory"* ]]
	[[ $output == *"error: x.jpg: unknown image type, expected .png or .svg"* ]]
	[[ $output == *"error: x.png: image of 0 x 10 is outside 1 .. 32767"* ]]
	[ ! -e x.jpg ] && [ ! -e x.png ]
	py "
import xml.etree.ElementTree as E, mkmaps
for f in ('heat.svg', 'bars.svg'):
    assert E.parse('$W/pe/' + f).getroot().tag.endswith('svg')
w, h, px = mkmaps.png_read('$W/pe/sheet.png')
assert w > 200 and h > 200
"
}

@test "attend-dump: one record per (example, layer, head), keys passed through" {
	attend-dump "$SAMPLES/ka-attn.mp" >"$W/all.mp"
	py "
import mkmaps, numpy as np
ex = mkmaps.records('$SAMPLES/ka-attn.mp')
out = mkmaps.records('$W/all.mp')
assert len(out) == 8 * 12, len(out)
k = 0
for e in ex:
    A = mkmaps.tensor(e['attn'])
    for l in range(1, 4):
        for h in range(1, 5):
            r = out[k]; k += 1
            assert 'attn' not in r
            assert (r['layer'], r['head']) == (l, h)
            for key in ('id', 'tokens', 'ids', 'seg'):
                assert r[key] == e[key], key
            assert r['map']['dtype'] == 'f32'
            assert r['map']['shape'] == [len(e['tokens'])] * 2
            assert (mkmaps.tensor(r['map']) == A[l - 1, h - 1]).all()
"
}

@test "attend-dump: -H selects heads" {
	attend-dump -H L2H2 "$SAMPLES/ka-attn.mp" >"$W/h.mp"
	attend-dump -H '3:*,1:1' "$SAMPLES/ka-attn.mp" >"$W/h2.mp"
	py "
import mkmaps
r = mkmaps.records('$W/h.mp')
assert len(r) == 8 and all((x['layer'], x['head']) == (2, 2) for x in r)
r = mkmaps.records('$W/h2.mp')
assert len(r) == 8 * 5
assert sorted(set((x['layer'], x['head']) for x in r)) == \
    [(1, 1), (3, 1), (3, 2), (3, 3), (3, 4)]
"
}

@test "attend-dump: records match the golden stream" {
	attend-dump -H L1H1 "$SAMPLES/ka-attn.mp" >"$W/g.mp"
	golden attend-dump-l1h1.mp "$W/g.mp"
}

@test "attend-dump: TSV matches the golden file, npy loads in numpy" {
	need_numpy
	attend-dump -H L2H2 --tsv "$W/t" --npy "$W/t" "$SAMPLES/ka-attn.mp" \
	    >"$W/t.out"
	[ ! -s "$W/t.out" ]	# files only, no records
	golden attend-dump-ka_1_L2H2.tsv "$W/t/ka_1_L2H2.tsv"
	[ "$(ls "$W/t" | wc -l)" -eq 16 ]
	py "
import mkmaps, numpy as np
ex = mkmaps.records('$SAMPLES/ka-attn.mp')
for n, e in enumerate(ex):
    a = np.load('$W/t/ka_%d_L2H2.npy' % (n + 1))
    assert a.dtype == np.dtype('<f4') and not np.isfortran(a)
    assert (a == mkmaps.tensor(e['attn'])[1, 1]).all()
    t = np.loadtxt('$W/t/ka_%d_L2H2.tsv' % (n + 1), skiprows=1,
                   usecols=range(1, len(e['tokens']) + 1), comments=None)
    assert np.abs(t - a).max() < 1e-5
"
}

@test "attend-dump: PNG of a head is a readable heat map of the right colours" {
	attend-dump -H L1H3 --png "$W/p" -r "$SAMPLES/ka-attn.mp" >"$W/p.mp"
	[ "$(ls "$W/p" | wc -l)" -eq 8 ]
	py "
import mkmaps
assert len(mkmaps.records('$W/p.mp')) == 8
w, h, px = mkmaps.png_read('$W/p/ka_1_L1H3.png')
T = 17
assert T * 8 < w < 2000 and T * 8 < h < 2000, (w, h)
# L1H3 looks at [CLS]: the first column is the top of the scale (yellow),
# the rest the bottom (dark purple)
flat = [p[:3] for row in px for p in row]
top, bottom = flat.count((253, 231, 37)), flat.count((68, 1, 84))
assert top > T * 100 and bottom > 10 * top, (top, bottom)
"
}

@test "attend-dump: SVG pictures and sheets are valid XML" {
	attend-dump -H L1 --svg "$W/s" "$SAMPLES/ka-attn.mp"
	attend-dump --sheet --svg "$W/s2" --png "$W/s2" "$SAMPLES/ka-attn.mp"
	[ "$(ls "$W/s" | wc -l)" -eq 32 ]
	[ "$(ls "$W/s2" | wc -l)" -eq 16 ]
	py "
import glob, xml.etree.ElementTree as E, mkmaps
for f in glob.glob('$W/s/*.svg') + glob.glob('$W/s2/*.svg'):
    assert E.parse(f).getroot().tag.endswith('svg'), f
w, h, px = mkmaps.png_read('$W/s2/ka_1.png')
assert w > 400 and h > 300
"
}

@test "attend-dump: ids that sanitise alike get names of their own, warned" {
	# records 1..3 of the sample as ids 'a/b', 'a_b', 'a/b' again
	recs -t "$SAMPLES/ka-attn.mp" | head -n 3 |
	    sed '1s,"id":"[^"]*","id":"a/b",; 2s,"id":"[^"]*","id":"a_b",;
		3s,"id":"[^"]*","id":"a/b",' | recs -r >"$W/same.mp"
	run --separate-stderr attend-dump -H L2H2 --tsv "$W/s" --svg "$W/s" \
	    "$W/same.mp"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(ls "$W/s" | tr '\n' ' ')" = "a_b+2_L2H2.svg a_b+2_L2H2.tsv a_b+3_L2H2.svg a_b+3_L2H2.tsv a_b_L2H2.svg a_b_L2H2.tsv " ]
	# two warnings (under AddressSanitizer, its report of suppressed
	# leaks follows them)
	[ "$(grep -c '^attend-dump: ' <<<"$stderr")" -eq 2 ]
	[ "${stderr_lines[0]}" = "attend-dump: $W/same.mp: record 2: id 'a_b' is written as 'a_b+2': 'a_b' holds the maps of id 'a/b' ($W/same.mp: record 1)" ]
	[[ ${stderr_lines[1]} == *"record 3: id 'a/b' is written as 'a_b+3'"* ]]
	# each file holds its own record's map
	for n in 1 2 3; do
		attend-dump -H L2H2 --tsv "$W/one$n" \
		    <(recs -t "$SAMPLES/ka-attn.mp" | sed -n ${n}p | recs -r)
	done
	cmp "$W/one1/ka_1_L2H2.tsv" "$W/s/a_b_L2H2.tsv"
	cmp "$W/one2/ka_2_L2H2.tsv" "$W/s/a_b+2_L2H2.tsv"
	cmp "$W/one3/ka_3_L2H2.tsv" "$W/s/a_b+3_L2H2.tsv"
	# sheets too
	attend-dump --sheet --svg "$W/sh" "$W/same.mp" 2>/dev/null
	[ "$(ls "$W/sh" | tr '\n' ' ')" = "a_b+2.svg a_b+3.svg a_b.svg " ]
}

@test "attend-dump: bad usage exits 2" {
	run -2 --separate-stderr attend-dump -Z
	[[ $stderr == *"usage: attend-dump "* ]]
	run -2 --separate-stderr attend-dump --sheet "$SAMPLES/ka-attn.mp"
	[[ $stderr == *"--sheet needs --png or --svg"* ]]
	run -2 --separate-stderr attend-dump -H 'L1H' "$SAMPLES/ka-attn.mp"
	[[ $stderr == *"usage: attend-dump "* ]]
}

@test "attend-dump: a record without attn exits 1 naming the record" {
	run -1 --separate-stderr attend-dump "$SAMPLES/ka-heads.mp"
	[[ $stderr == *"record 1"*"no key 'attn'"* ]]
}

@test "attend-dump: attn that is not [L, H, T, T] exits 1" {
	py "
import mkmaps, numpy as np, sys
ok = {'id': 'a', 'attn': mkmaps.ftensor(np.full((1, 1, 2, 2), 0.5))}
bad = {'id': 'b', 'attn': mkmaps.ftensor(np.zeros((1, 2, 3, 4)))}
sys.stdout.buffer.write(mkmaps.pack(ok, bytearray()) + mkmaps.pack(bad, bytearray()))
" >"$W/bad.mp"
	run -1 --separate-stderr attend-dump "$W/bad.mp"
	[[ $stderr == *"record 2: 'attn' has shape [1, 2, 3, 4], expected [L, H, T, T]" ]]
}

@test "attend-dump: -k splits another key's maps, per head or per layer" {
	$PY "$TOP/test/rekey.py" -d attn norm <"$SAMPLES/ka-attn.mp" \
	    >"$W/norm.mp"
	attend-dump "$SAMPLES/ka-attn.mp" | recs -t >"$W/want"
	attend-dump -k norm "$W/norm.mp" | recs -t >"$W/got"
	diff "$W/want" "$W/got"
	# a map per layer, [L, 1, T, T]: heads numbered 1, no stack copied
	$PY "$TOP/test/rekey.py" -l attn alti <"$SAMPLES/ka-attn.mp" \
	    >"$W/alti.mp"
	attend-dump --key alti "$W/alti.mp" >"$W/layers.mp"
	[ "$(recs -c "$W/layers.mp")" -eq 24 ]
	[ "$(recs -k layer,head "$W/layers.mp" | sort -u | tr -d '\n')" = \
	    '{"layer":1,"head":1}{"layer":2,"head":1}{"layer":3,"head":1}' ]
	[ "$(recs -k attn,alti "$W/layers.mp" | sort -u)" = '{}' ]
	run -1 --separate-stderr attend-dump -k nope "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "attend-dump: $SAMPLES/ka-attn.mp: record 1: no key 'nope'" ]
}

@test "attend-dump: a truncated stream exits 1" {
	head -c 5000 "$SAMPLES/ka-attn.mp" >"$W/trunc.mp"
	run -1 --separate-stderr attend-dump "$W/trunc.mp"
	[[ $stderr == *"record 1"* ]]
}

@test "attend-dump: a directory that cannot be made exits 1" {
	run -1 --separate-stderr attend-dump --png /dev/null/x "$SAMPLES/ka-attn.mp"
	[[ $stderr == *"/dev/null"* ]]
}

@test "attend-dump: f16 attention gives f16 maps, npy files are f32" {
	need_numpy
	py "
import mkmaps, sys
r = mkmaps.records('$SAMPLES/ka-attn.mp')[0]
A = mkmaps.tensor(r['attn']).astype('<f2')
r['attn'] = {'dtype': 'f16', 'shape': list(A.shape), 'data': A.tobytes()}
sys.stdout.buffer.write(mkmaps.pack(r, bytearray()))
" >"$W/f16.mp"
	attend-dump -r -H L1H3 --npy "$W/f16" "$W/f16.mp" >"$W/f16o.mp"
	py "
import mkmaps, numpy as np
r = mkmaps.records('$W/f16o.mp')[0]
A = mkmaps.records('$W/f16.mp')[0]['attn']
assert r['map']['dtype'] == 'f16' and r['map']['shape'] == [17, 17]
want = mkmaps.tensor(A)[0, 2]
assert (mkmaps.tensor(r['map']) == want).all()
a = np.load('$W/f16/ka_1_L1H3.npy')
assert a.dtype == np.dtype('<f4') and (a == want).all()
"
}

@test "attend-dump: maps are checked as classify-pattern checks them" {
	d=$BATS_TEST_TMPDIR
	$PY "$TOP/test/mkbad.py" edit "$SAMPLES/attend-a.mp" "$d/nan.mp" 2 \
	    'poke(r["attn"], 7, nan)'
	run -1 --separate-stderr attend-dump "$d/nan.mp"
	[ "$stderr" = "attend-dump: $d/nan.mp: record 3: L1H1: non-finite attention at row 1, column 8" ]
	$PY "$TOP/test/mkbad.py" edit "$SAMPLES/attend-a.mp" "$d/neg.mp" 0 \
	    'poke(r["attn"], 1, -0.25)'
	run -0 --separate-stderr attend-dump "$d/neg.mp"
	[ "$stderr" = "attend-dump: 1 rows in 1 maps do not sum to 1 (tolerance 0.001)
attend-dump: 1 negative values in 1 maps" ]
	attend-dump "$d/neg.mp" >"$d/neg.heads"
	run -0 --separate-stderr classify-pattern "$d/neg.heads"
	[ "$stderr" = "classify-pattern: 1 rows in 1 maps do not sum to 1 (tolerance 0.001)
classify-pattern: 1 negative values in 1 maps" ]
}
