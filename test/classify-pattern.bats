bats_require_minimum_version 1.5.0
load helper

# Synthetic maps of the five patterns with noise, lengths 5..256
# (test/mkmaps.py, fixed seeds): an evaluation set, a training set.
setup_file() {
	export D="$BATS_FILE_TMPDIR"
	$PY "$TOP/test/mkmaps.py" -n 30 -s 11 >"$D/eval.mp" || return 1
	$PY "$TOP/test/mkmaps.py" -n 30 -s 12 -k pattern >"$D/train.mp" ||
	    return 1
}

# per test: tests of a file run in parallel (test/run --jobs)
setup() {
	W="$BATS_TEST_TMPDIR"
}

py() {
	PYTHONPATH="$TOP/test" $PY -c "$1"
}

# accuracy FILE: "right/total" of pattern against truth
accuracy() {
	py "
import mkmaps
r = mkmaps.records('$1')
print('%d/%d' % (sum(x['pattern'] == x['truth'] for x in r), len(r)))
"
}

@test "classify-pattern: the default rule names >= 95% of synthetic maps" {
	classify-pattern "$D/eval.mp" >"$W/rule.mp"
	acc=$(accuracy "$W/rule.mp")
	echo "default rule: $acc"
	[ "${acc#*/}" -eq 150 ]
	[ $((${acc%/*} * 100)) -ge $((95 * 150)) ]
}

@test "classify-pattern: --train on one set does as well on another" {
	classify-pattern -v --train "$W/m.model" "$D/train.mp" >"$W/t.out"
	[ ! -s "$W/t.out" ]
	head -n 1 "$W/m.model" | grep -qx 'headcount-pattern-model 1'
	classify-pattern --model "$W/m.model" "$D/eval.mp" >"$W/trained.mp"
	classify-pattern "$D/eval.mp" >"$W/rule.mp"
	a=$(accuracy "$W/trained.mp")
	b=$(accuracy "$W/rule.mp")
	echo "trained: $a, rule: $b"
	[ "${a%/*}" -ge "${b%/*}" ]
}

@test "classify-pattern: features are added and other keys pass through" {
	classify-pattern "$SAMPLES/ka-heads.mp" >"$W/f.mp"
	py "
import mkmaps, numpy as np
inp = mkmaps.records('$SAMPLES/ka-heads.mp')
out = mkmaps.records('$W/f.mp')
assert len(inp) == len(out) == 96
for a, b in zip(inp, out):
    for k in ('id', 'tokens', 'ids', 'seg', 'layer', 'head', 'map'):
        assert a[k] == b[k], k
    A = mkmaps.tensor(a['map']); T = len(A)
    assert abs(b['diag_prev'] - sum(A[i, i - 1] for i in range(1, T)) / T) < 1e-6
    assert abs(b['diag_self'] - np.trace(A) / T) < 1e-6
    sp = [j for j, t in enumerate(a['tokens']) if t in ('[CLS]', '[SEP]')]
    assert abs(b['special'] - A[:, sp].sum(1).mean()) < 1e-6
    assert 0 <= b['entropy'] <= 1 and 0 <= b['topk'] <= 1 + 1e-6
    assert 0 <= b['block'] <= 1 + 1e-6
"
}

@test "classify-pattern: the known-answer heads are recovered" {
	classify-pattern "$SAMPLES/ka-heads.mp" >"$W/ka.mp"
	# every map gets the pattern it was constructed with
	acc=$(py "
import mkmaps
r = mkmaps.records('$SAMPLES/ka-heads.mp')
c = mkmaps.records('$W/ka.mp')
bad = ['%s L%dH%d %s %s' % (a['id'], a['layer'], a['head'], a['pattern'],
    b['pattern']) for a, b in zip(r, c) if a['pattern'] != b['pattern']]
print(len(bad), bad)
")
	echo "$acc"
	[ "$acc" = "0 []" ]
}

@test "classify-pattern: --summary matches the golden table" {
	classify-pattern "$SAMPLES/ka-heads.mp" | classify-pattern --summary \
	    >"$W/sum.tsv"
	golden classify-summary.tsv "$W/sum.tsv"
}

@test "classify-pattern: --summary --by and --plot draw the stacked bars" {
	classify-pattern "$SAMPLES/ka-heads.mp" >"$W/c.mp"
	classify-pattern -s -p "$W/bars.png" "$W/c.mp" >"$W/s1.tsv"
	classify-pattern -s -b id -p "$W/bars.svg" "$W/c.mp" >"$W/s2.tsv"
	grep -q '^id	ka/3	-	12	' "$W/s2.tsv"
	py "
import mkmaps, xml.etree.ElementTree as E
w, h, px = mkmaps.png_read('$W/bars.png')
assert w >= 420 and h == 420, (w, h)
flat = set(p[:3] for row in px for p in row)
# the five series colours are there
for c in [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
          (148, 103, 189)]:
    assert c in flat, c
assert E.parse('$W/bars.svg').getroot().tag.endswith('svg')
"
}

@test "classify-pattern: --plot draws the mass on [CLS] and [SEP] as a line" {
	classify-pattern "$SAMPLES/ka-heads.mp" >"$W/c.mp"
	classify-pattern -s -p "$W/line.png" "$W/c.mp" >/dev/null
	# without the feature (the records stripped of it): no line
	py "
import mkmaps, sys
out = bytearray()
for r in mkmaps.records('$W/c.mp'):
    del r['special']
    mkmaps.pack(r, out)
sys.stdout.buffer.write(out)
" | classify-pattern -s -p "$W/none.png" >/dev/null
	py "
import mkmaps
def blacks(f):
    w, h, px = mkmaps.png_read(f)
    return sum(1 for row in px for p in row if p[:3] == (0, 0, 0))
a, b = blacks('$W/line.png'), blacks('$W/none.png')
print(a, b)
# the axes are black in both; the dots (6 x 6 a bar) and the line only
# in the first, and its legend
assert a > b + 3 * 36, (a, b)
"
}

@test "classify-pattern: rows that do not sum to 1 are counted in a warning" {
	py "
import mkmaps, numpy as np, sys
A = np.eye(4); A[1] *= 0.5; A[2] *= 2
r = {'id': 'x', 'layer': 1, 'head': 1, 'map': mkmaps.ftensor(A)}
sys.stdout.buffer.write(mkmaps.pack(r, bytearray()) * 3)
" >"$W/rows.mp"
	run -0 --separate-stderr classify-pattern "$W/rows.mp"
	[ "$stderr" = "classify-pattern: 6 rows in 3 maps do not sum to 1 (tolerance 0.001)" ]
}

@test "classify-pattern: a record without a map exits 1 naming it" {
	run -1 --separate-stderr classify-pattern "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "classify-pattern: $SAMPLES/tiny-cls/dev.mp: record 1: no key 'map' or 'attn' (run attend-dump or encode -a first)" ]
	run -1 --separate-stderr classify-pattern -t x.model \
	    "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "classify-pattern: $SAMPLES/ka-attn.mp: record 1: no key 'pattern' (--train needs hand-labelled maps)" ]
	run -1 --separate-stderr classify-pattern -K alti "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "classify-pattern: $SAMPLES/ka-attn.mp: record 1: no key 'alti'" ]
}

@test "classify-pattern: a stack of maps is classified head by head, -K reads any" {
	# attn's heads: the records of attend-dump | classify-pattern, but map
	attend-dump "$SAMPLES/ka-attn.mp" | classify-pattern |
	    recs -t -k id,tokens,ids,seg,layer,head,pattern,diag_prev,diag_self,diag_next,special,topk,block,entropy >"$W/want"
	classify-pattern "$SAMPLES/ka-attn.mp" | recs -t >"$W/got"
	diff "$W/want" "$W/got"
	# another key's, and no stack is copied into the heads' records
	$PY "$TOP/test/rekey.py" attn norm <"$SAMPLES/ka-attn.mp" >"$W/norm.mp"
	classify-pattern -K norm "$W/norm.mp" | recs -t >"$W/got"
	diff "$W/want" "$W/got"
	# a map per layer, [L, 1, T, T]: head 1 of each layer
	$PY "$TOP/test/rekey.py" -l attn alti <"$SAMPLES/ka-attn.mp" \
	    >"$W/alti.mp"
	classify-pattern --key alti "$W/alti.mp" >"$W/layers.mp"
	[ "$(recs -k layer,head "$W/layers.mp" | sort -u | tr -d '\n')" = \
	    '{"layer":1,"head":1}{"layer":2,"head":1}{"layer":3,"head":1}' ]
	[ "$(recs -c "$W/layers.mp")" -eq 24 ]
}

@test "classify-pattern: a map that is not square exits 1" {
	py "
import mkmaps, numpy as np, sys
r = {'id': 'x', 'map': mkmaps.ftensor(np.full((3, 4), 0.25))}
sys.stdout.buffer.write(mkmaps.pack(r, bytearray()))
" >"$W/sq.mp"
	run -1 --separate-stderr classify-pattern "$W/sq.mp"
	[[ $stderr == *"record 1"*"'map' is 3 x 4, expected a square map" ]]
}

@test "classify-pattern: an unknown pattern in training data exits 1" {
	py "
import mkmaps, numpy as np, sys
good = {'map': mkmaps.ftensor(np.eye(3)), 'pattern': 'diagonal'}
bad = {'map': mkmaps.ftensor(np.eye(3)), 'pattern': 'diagonl'}
sys.stdout.buffer.write(mkmaps.pack(good, bytearray()) + mkmaps.pack(bad, bytearray()))
" >"$W/unk.mp"
	run -1 --separate-stderr classify-pattern --train "$W/x.model" "$W/unk.mp"
	[[ $stderr == *"record 2"*"unknown pattern 'diagonl'"* ]]
	[ ! -e "$W/x.model" ]
}

@test "classify-pattern: a bad model file exits 1 naming file and line" {
	printf 'headcount-pattern-model 1\nfeatures 2 a b\n' >"$W/bad.model"
	run -1 --separate-stderr classify-pattern -m "$W/bad.model" "$D/eval.mp"
	[[ $stderr == *"bad.model: line 2: expected 'features 9 special"* ]]
	printf 'something else\n' >"$W/bad2.model"
	run -1 --separate-stderr classify-pattern -m "$W/bad2.model" "$D/eval.mp"
	[[ $stderr == *"bad2.model: not a pattern model"*"HINT"* ]]
}

@test "classify-pattern: a truncated stream exits 1" {
	head -c 3000 "$SAMPLES/ka-heads.mp" >"$W/trunc.mp"
	run -1 --separate-stderr classify-pattern "$W/trunc.mp"
	[[ $stderr == *"record"* ]]
}

@test "classify-pattern: bad usage exits 2" {
	run -2 --separate-stderr classify-pattern -Z
	[[ $stderr == *"usage: classify-pattern "* ]]
	run -2 --separate-stderr classify-pattern -s -m x.model
	[[ $stderr == *"usage: classify-pattern "* ]]
	run -2 --separate-stderr classify-pattern -p x.png
	[[ $stderr == *"usage: classify-pattern "* ]]
	run -2 --separate-stderr classify-pattern -k 0
	[[ $stderr == *"-k: '0'"* ]]
	run -2 --separate-stderr classify-pattern -K norm -t x.model
	[[ $stderr == *"usage: classify-pattern "* ]]
	run -2 --separate-stderr classify-pattern -K norm -s
	[[ $stderr == *"usage: classify-pattern "* ]]
}

# heads_ok SUMMARY.TSV: every constructed head of samples/ka-model (its
# README table) gets its pattern on at least 70% of the examples (block
# heads on the pairs only: 6 of 8).
heads_ok() {
	run py "
import csv
want = {}
for line in open('$SAMPLES/ka-model/README'):
    f = [x.strip() for x in line.split('|')]
    if len(f) > 3 and f[1].startswith('L') and 'H' in f[1]:
        want[f[1]] = f[2]
rows = list(csv.reader(open('$1'), delimiter='\t'))
hdr = rows[0]
bad = []
for r in rows[1:]:
    if r[0] != 'head':
        continue
    name = 'L%sH%s' % (r[1], r[2])
    share = dict(zip(hdr[4:], map(float, r[4:])))
    best = max(share, key=share.get)
    if best != want[name] or share[best] < 0.7:
        bad.append((name, want[name], share))
print(len(want), 'heads,', len(bad), 'wrong', bad)
"
	echo "$output"
	[ "$output" = "12 heads, 0 wrong []" ]
}

# encode -a | attend-dump | classify-pattern on the token records of the
# sample sentences (ka-attn.mp without its attn).
@test "classify-pattern: from encode -a, every known head recovered" {
	py "
import mkmaps, sys
for r in mkmaps.records('$SAMPLES/ka-attn.mp'):
    del r['attn']
    sys.stdout.buffer.write(mkmaps.pack(r, bytearray()))
" >"$W/tok.mp"
	bash -c 'set -o pipefail
	    encode -m "$1/ka-model" -a "$2" | attend-dump | classify-pattern |
	    classify-pattern -s' _ "$SAMPLES" "$W/tok.mp" >"$W/enc.tsv"
	heads_ok "$W/enc.tsv"
}

# tokenize | encode -a | attend-dump | classify-pattern, from text.
@test "classify-pattern: end to end from text, every known head recovered" {
	bash -c 'set -o pipefail
	    tokenize -m "$1/ka-model" "$1/ka-sentences.txt" |
	    encode -m "$1/ka-model" -a | attend-dump | classify-pattern |
	    classify-pattern -s' _ "$SAMPLES" >"$W/e2e.tsv"
	heads_ok "$W/e2e.tsv"
}

@test "classify-pattern: -s keeps memory and output in proportion to the maps" {
	d=$BATS_TEST_TMPDIR
	echo '{"id": "x", "pattern": "block", "layer": 1000, "head": 1000}' |
	    recs -r >"$d/big.mp"
	run -1 bash -c '$MEMCAP; set -o pipefail
	    classify-pattern -s "$1" 2>"$2" | head -c 100000 | wc -c' - \
	    "$d/big.mp" "$d/err"
	[ "$output" = 0 ]
	[ "$(cat "$d/err")" = "classify-pattern: $d/big.mp: record 1: layer 1000, head 1000: a table of 1000 layers x 1000 heads for 1 maps is out of all proportion (layers and heads are numbered from 1)" ]
}
