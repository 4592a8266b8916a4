bats_require_minimum_version 1.5.0
load helper

# attend-view: the page it writes, read back in Python, and driven in
# headless Chromium (Debian's chromium package, which `make deps` installs;
# the tests that need it skip without it).  Run them with
#	bats test/attend-view.bats
# Chromium opens the page with #selftest, where the page's script clicks,
# hovers and exports by itself and writes the results as JSON into
# <pre id="selftest">, and --dump-dom prints the DOM; console messages go
# to stderr with --enable-logging=stderr --v=0 (the page logs none).
# Screenshots (--screenshot) are checked for layout: where the brightest
# cells of the known-answer heads are.  samples/ka-attn.mp: 8 examples of
# the known-answer model (samples/mkka.py), attn [3, 4, T, T]; L1H1 looks
# at the previous token, L1H3 at [CLS].

setup() {
	W="$BATS_TEST_TMPDIR"
}

need_chromium() {
	command -v chromium >/dev/null ||
	    skip "chromium is absent (make deps installs it)"
}

# chrome ARGS...: headless Chromium at 900 x 700, its own profile, with a
# time limit; stderr (with the page's console) appended to $W/console
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --hide-scrollbars --window-size=900,700 --enable-logging=stderr \
	    --v=0 --user-data-dir="$W/profile" "$@" 2>>"$W/console"
}

# pre FILE ID: the text of <pre id="ID"> in a dumped DOM
pre() {
	$PY -c '
import html, re, sys
d = open(sys.argv[1]).read()
m = re.search(r"<pre id=\"%s\"[^>]*>(.*?)</pre>" % sys.argv[2], d, re.S)
sys.stdout.write(html.unescape(m.group(1)) if m else "")' "$1" "$2"
}

# the page of samples/ka-attn.mp with classify-pattern's patterns
kapage() {
	attend-dump "$SAMPLES/ka-attn.mp" | classify-pattern >"$W/pat.mp"
	attend-view -p "$W/pat.mp" -o "$W/ka.html" "$SAMPLES/ka-attn.mp" \
	    2>"$W/size"
}

# py SCRIPT: python with test/ on the path (mkmaps: msgpack, PNG)
py() {
	PYTHONPATH="$TOP/test" $PY -c "$1"
}

@test "attend-view: writes one self-contained page, size on stderr" {
	run -0 --separate-stderr attend-view -o "$W/v.html" \
	    "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "attend-view: $W/v.html: 8 records, 0.1 MB" ]
	[ -z "$output" ]
	[ "$(grep -c '^<script type="application/json" class="meta">' \
	    "$W/v.html")" = 8 ]
	[ "$(grep -c '^<script type="text/plain" class="data" data-n="[0-7]" data-l="[0-2]">' \
	    "$W/v.html")" = 24 ]
	# no network: no external script, style, image or link of any kind
	! grep -Eiq '<(link|img|iframe)|src=|@import|url\(' "$W/v.html"
	[ "$(grep -o 'https\?://[^"\\]*' "$W/v.html" | sort -u)" = \
	    "http://www.w3.org/2000/svg" ]
	[ ! -e "$W/v.html.tmp" ]
	# without -o, the page goes to stdout
	attend-view "$SAMPLES/ka-attn.mp" 2>/dev/null | cmp - "$W/v.html"
}

@test "attend-view: the embedded maps decode to the records' attn" {
	need_numpy
	attend-view -o "$W/v.html" "$SAMPLES/ka-attn.mp" 2>/dev/null
	run -0 py "
import base64, json, re
import numpy as np, mkmaps
d = open('$W/v.html').read()
metas = [json.loads(m) for m in
         re.findall(r'<script type=\"application/json\" class=\"meta\">(.*?)</script>', d)]
datas = re.findall(r'<script type=\"text/plain\" class=\"data\" data-n=\"\d+\" data-l=\"\d+\">(.*?)</script>', d)
recs = mkmaps.records('$SAMPLES/ka-attn.mp')
assert len(metas) == len(recs) == 8 and len(datas) == 3 * 8
worst = 0
for n, (m, r) in enumerate(zip(metas, recs)):
    b = b''.join(base64.b64decode(x) for x in datas[3 * n:3 * n + 3])
    a = mkmaps.tensor(r['attn']).astype(np.float64)
    L, H, T = a.shape[0], a.shape[1], a.shape[2]
    assert (m['L'], m['H'], m['T']) == (L, H, T)
    assert m['id'] == r['id'] and m['tokens'] == r['tokens']
    assert m['seg'] == r['seg']
    q = np.frombuffer(b, np.uint8).reshape(L * H, T, T)
    lo = np.array(m['lo'])[:, None, None]
    hi = np.array(m['hi'])[:, None, None]
    v = lo + q * (hi - lo) / 255
    err = np.abs(v - a.reshape(L * H, T, T)) / (hi - lo)
    worst = max(worst, err.max())
    assert lo.min() == 0 and np.allclose(hi.ravel(), a.reshape(L * H, -1).max(1))
print('max error / range %.5f' % worst)
assert worst <= 0.5 / 255 + 1e-6
"
	echo "$output"
}

@test "attend-view: -p puts classify-pattern's patterns on each head" {
	kapage
	run -0 py "
import json, re, mkmaps
d = open('$W/ka.html').read()
metas = [json.loads(m) for m in
         re.findall(r'class=\"meta\">(.*?)</script>', d)]
want = {}
for r in mkmaps.records('$W/pat.mp'):
    want[(r['id'], r['layer'], r['head'])] = r['pattern']
n = 0
for m in metas:
    for h, p in enumerate(m['pattern']):
        assert p == want[(m['id'], h // m['H'] + 1, h % m['H'] + 1)]
        n += 1
assert n == 8 * 12
# the known-answer heads: L1H3 looks at [CLS], L1H1 at the previous token
assert metas[0]['pattern'][2] == 'vertical', metas[0]['pattern']
assert metas[0]['pattern'][0] == 'diagonal'
"
}

@test "attend-view: --max-records bounds the page and says so" {
	run -0 --separate-stderr attend-view --max-records 3 -o "$W/v.html" \
	    "$SAMPLES/ka-attn.mp"
	[ "${stderr_lines[0]}" = "attend-view: kept the first 3 records, left out 5 (--max-records)" ]
	[ "${stderr_lines[1]}" = "attend-view: $W/v.html: 3 records, 0.0 MB" ]
	[ "$(grep -c '^<script type="application/json" class="meta">' \
	    "$W/v.html")" = 3 ]
}

@test "attend-view: -k reads another key, [L, 1, T, T] too" {
	need_numpy
	py "
import numpy as np, mkmaps
out = bytearray()
for r in mkmaps.records('$SAMPLES/ka-attn.mp')[:2]:
    a = mkmaps.tensor(r['attn'])
    r2 = {'id': r['id'], 'tokens': r['tokens'],
          'rollout': mkmaps.ftensor(a.mean(1, keepdims=True))}
    mkmaps.pack(r2, out)
open('$W/ro.mp', 'wb').write(out)
out = bytearray()
a = mkmaps.tensor(mkmaps.records('$SAMPLES/ka-attn.mp')[0]['attn'])
mkmaps.pack({'id': 'x', 'map': mkmaps.ftensor(a[0, 0])}, out)
open('$W/map.mp', 'wb').write(out)
"
	run -0 --separate-stderr attend-view -k rollout -o "$W/v.html" "$W/ro.mp"
	grep -q '"key":"rollout","L":3,"H":1,"T":17' "$W/v.html"
	run -1 --separate-stderr attend-view -k norm "$W/ro.mp"
	[ "$stderr" = "attend-view: $W/ro.mp: record 1: no key 'norm'" ]
	# a per-head map [T, T] is not a record of maps
	run -1 --separate-stderr attend-view -k map "$W/map.mp"
	[ "$stderr" = "attend-view: $W/map.mp: record 1: 'map' has shape [17, 17], expected [L, H, T, T]" ]
}

@test "attend-view: bad usage exits 2" {
	run -2 --separate-stderr attend-view -Z
	[[ $stderr == *"usage: attend-view [-k key] [-o file] [-p patterns] [--max-records n] [file ...]"* ]]
	run -2 --separate-stderr attend-view --max-records 0
	[[ $stderr == "attend-view: --max-records '0': expected a number from 1 to 100000"* ]]
	run -2 --separate-stderr attend-view -k 'Not A Key'
	[[ $stderr == "attend-view: -k 'Not A Key': expected a snake_case key"* ]]
}

@test "attend-view: bad records exit 1 naming the record, no page left" {
	printf '{"id":"x","tokens":["a"]}\n' | recs -r >"$W/noattn.mp"
	run -1 --separate-stderr attend-view -o "$W/v.html" "$W/noattn.mp"
	[ "$stderr" = "attend-view: $W/noattn.mp: record 1: no key 'attn' (run encode -a first)" ]
	[ ! -e "$W/v.html" ] && [ ! -e "$W/v.html.tmp" ]
	# tokens that disagree with the maps
	py "
import mkmaps
r = mkmaps.records('$SAMPLES/ka-attn.mp')[0]
r['tokens'] = r['tokens'][1:]
out = bytearray()
mkmaps.pack(r, out)
open('$W/short.mp', 'wb').write(out)
"
	run -1 --separate-stderr attend-view "$W/short.mp"
	[ "$stderr" = "attend-view: $W/short.mp: record 1: 'tokens' has 16 tokens, 'attn' has 17" ]
	run -1 --separate-stderr attend-view </dev/null
	[ "$stderr" = "attend-view: <stdin>: no records" ]
	run -1 --separate-stderr attend-view -p "$SAMPLES/ka-attn.mp" \
	    "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "attend-view: $SAMPLES/ka-attn.mp: record 1: no key 'pattern' (-p reads the output of classify-pattern)" ]
}

# ---- in Chromium ----

@test "attend-view: in Chromium: no errors, clicks, hover, exports" {
	need_chromium
	kapage
	chrome --dump-dom "file://$W/ka.html#view=model&selftest" >"$W/dom"
	pre "$W/dom" selftest >"$W/st.json"
	cat "$W/st.json"
	! grep CONSOLE "$W/console"
	pre "$W/dom" selftest-svg >"$W/head.svg"
	run -0 $PY - "$W/st.json" "$W/head.svg" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
r = json.load(open(sys.argv[1]))
assert r["errors"] == [], r["errors"]
assert r["records"] == 8 and (r["L"], r["H"], r["T"]) == (3, 4, 17)
# the model view: L x H thumbnails, each with its pattern
assert r["thumbs"] == 12 and r["thumb_patterns"] == 12, r
# a head's swatch hides its lines and shows them again
assert r["swatches"] == 4 and r["lines_h1"] > 0
assert r["swatch_off"] and r["lines_h1_off"] == 0
assert r["lines_off"] == r["lines"] - r["lines_h1"]
assert r["lines_h1_on"] == r["lines_h1"]
# hover on the second token: its lines alone
assert r["hover_rows"] == [1] and 0 < r["hover_lines"] < r["lines"]
# sentence A to sentence B only
assert r["pair_filter"] and 0 < r["pair_lines"] < r["lines"]
# every export parses; the head view's SVG has one line per line drawn
assert r["head_svg"] and r["model_svg"] and r["map_svg"]
for k in "head_png", "model_png", "map_png":
    assert r[k] == "data:image/png;base64,", (k, r[k])
svg = ET.parse(sys.argv[2]).getroot()
assert svg.tag == "{http://www.w3.org/2000/svg}svg"
lines = svg.findall(".//{http://www.w3.org/2000/svg}line")
assert len(lines) == r["head_svg_lines"] == r["lines"], (len(lines), r)
texts = svg.findall(".//{http://www.w3.org/2000/svg}text")
assert len(texts) == 2 * 17 and texts[0].text == "[CLS]"
# a click on a thumbnail opens it large, with values on hover
assert r["map_open"] and r["map_head"] == "L2H2" and r["back"] == "model"
assert r["tip"].startswith("[CLS] (1) \u2192 [CLS] (1): 0."), r["tip"]
# the picker
assert r["picked"] == "ka/2" and r["picked_thumbs"] == 12
EOF
	echo "$output"
}

@test "attend-view: in Chromium: a long input (T = 200, 12 heads) draws" {
	need_chromium
	need_numpy
	py "
import numpy as np, mkmaps
rng = np.random.default_rng(1)
x = rng.normal(0, 3, (1, 12, 200, 200))
a = np.exp(x - x.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
out = bytearray()
mkmaps.pack({'id': 'long', 'tokens': ['t%d' % i for i in range(200)],
             'attn': mkmaps.ftensor(a.astype(np.float32))}, out)
open('$W/long.mp', 'wb').write(out)
"
	attend-view -o "$W/long.html" "$W/long.mp" 2>/dev/null
	chrome --dump-dom "file://$W/long.html#selftest" >"$W/dom"
	pre "$W/dom" selftest >"$W/st.json"
	! grep CONSOLE "$W/console"
	run -0 $PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["errors"] == [] and r["thumbs"] == 12 and r["T"] == 200, r
# the head view was drawn after the first layer, before the rest was read
assert r["early"] and r["first_ms"] <= r["parsed_ms"], r
assert r["head_svg"] and r["model_svg"] and r["map_svg"]
print("first view %d ms, model view %d ms" % (r["first_ms"], r["model_ms"]))
' "$W/st.json"
	echo "$output"
}

# shot NAME FRAGMENT: a screenshot $W/NAME.png and the layout the page
# reports for the same view, $W/NAME.json
shot() {
	chrome --screenshot="$W/$1.png" "file://$W/ka.html#$2" >/dev/null
	chrome --dump-dom "file://$W/ka.html#$2" >"$W/$1.dom"
	pre "$W/$1.dom" layout >"$W/$1.json"
	[ -s "$W/$1.png" ] && [ -s "$W/$1.json" ]
}

@test "attend-view: in Chromium: model view screenshot, heads in place" {
	need_chromium
	kapage
	shot model "view=model"
	run -0 py "
import json, mkmaps
lay = json.load(open('$W/model.json'))
w, h, px = mkmaps.png_read('$W/model.png')
th = lay['thumbs']
assert len(th) == 12, len(th)
# the grid: 3 rows of 4, left to right, top to bottom
assert [(t['l'], t['h_']) for t in th] == [(l, h) for l in (1, 2, 3) for h in (1, 2, 3, 4)]
T = 17
def cells(t):
    # the mean luminance of each of the T x T cells of a thumbnail
    cw = t['w'] / T
    g = [[0] * T for _ in range(T)]
    for i in range(T):
        for j in range(T):
            x0, y0 = t['x'] + (j + 0.3) * cw, t['y'] + (i + 0.3) * cw
            s = n = 0
            for y in range(int(y0), int(y0 + 0.4 * cw) + 1):
                for x in range(int(x0), int(x0 + 0.4 * cw) + 1):
                    r, g_, b, _ = px[y][x]
                    s += 0.3 * r + 0.59 * g_ + 0.11 * b; n += 1
            g[i][j] = s / n
    return g
# L1H3 looks at [CLS]: every row's brightest cell is in column 1
g = cells(th[2])
assert all(max(range(T), key=lambda j: g[i][j]) == 0 for i in range(T)), g
# L1H1 looks at the previous token: row i's brightest cell is i - 1
g = cells(th[0])
bad = [i for i in range(1, T) if max(range(T), key=lambda j: g[i][j]) != i - 1]
assert not bad, bad
# and the thumbnails are dark where the head does not look
assert g[5][10] < 40 and g[5][4] > 200, (g[5][10], g[5][4])
"
	echo "$output"
}

@test "attend-view: in Chromium: a large map, the brightest cells in place" {
	need_chromium
	kapage
	shot map "view=map&layer=1&head=1"
	run -0 py "
import json, mkmaps
lay = json.load(open('$W/map.json'))['map']
w, h, px = mkmaps.png_read('$W/map.png')
T, c = lay['T'], lay['cell']
assert T == 17 and c >= 20, lay
def lum(x, y):
    r, g, b, _ = px[int(y)][int(x)]
    return 0.3 * r + 0.59 * g + 0.11 * b
for i in range(1, T):
    row = [lum(lay['x'] + (j + 0.5) * c, lay['y'] + (i + 0.5) * c) for j in range(T)]
    assert max(range(T), key=lambda j: row[j]) == i - 1, (i, row)
# the tokens' labels are left of the map and above it: text pixels there
dark = sum(1 for y in range(int(lay['y']), int(lay['y'] + T * c))
           for x in range(int(lay['x']) - 40, int(lay['x']) - 2) if lum(x, y) < 128)
assert dark > 100, dark
"
	echo "$output"
}

@test "attend-view: in Chromium: head view screenshot, lines in place" {
	need_chromium
	kapage
	# L1H3 alone: every token's line goes to [CLS]
	shot head "view=head&layer=1&heads=3"
	run -0 py "
import json, mkmaps
lay = json.load(open('$W/head.json'))['head']
w, h, px = mkmaps.png_read('$W/head.png')
T = 17
x1 = lay['x'] + lay['pad'] + lay['colw']
x2 = x1 + lay['gap']
def ink(x, i):
    # the darkest pixel within 4 pixels of row i's centre at x
    y = lay['y'] + lay['pad'] + (i + 0.5) * lay['row']
    return min(sum(px[int(y) + d][int(x)][:3]) for d in range(-4, 5))
# at the left end every row has a line, at the right end [CLS] alone
left = [ink(x1 + 1, i) for i in range(T)]
right = [ink(x2 - 2, i) for i in range(T)]
assert all(v < 600 for v in left), left
assert right[0] < 600 and all(v > 700 for v in right[1:]), right
"
	echo "$output"
}
