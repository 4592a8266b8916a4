#!/usr/bin/env bats
# attribute: attention attribution against PyTorch's autograd
# (test/attribute.py), the head importance table, and bad input.
load helper

MP="$TOP/test/score-mp.py"

setup_file() {
	$PY "$TOP/test/mkmodel.py" "$BATS_FILE_TMPDIR/m" -L 2 -H 4 -C 32 \
	    -F 48 -V 50 --labels 3
	$PY "$TOP/test/mkmodel.py" "$BATS_FILE_TMPDIR/reg" -L 2 -H 2 -C 16 \
	    -V 50 --labels 1 --dtype F16
	$PY - >"$BATS_FILE_TMPDIR/in.jsonl" <<-'PY'
	import json, random
	r = random.Random(3)
	for i in range(4):
	    t = r.randint(4, 24)
	    ids = [2] + [r.randrange(5, 50) for _ in range(t - 2)] + [3]
	    print(json.dumps({"id": "r%d" % i, "ids": ids, "label": i % 3,
	                      "seg": [0] * (t // 2) + [1] * (t - t // 2)}))
	PY
	$PY "$MP" <"$BATS_FILE_TMPDIR/in.jsonl" >"$BATS_FILE_TMPDIR/in.mp"
}

setup() {
	D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_TMPDIR"
}

# compare OUT.mp REF.jsonl: attr within 1e-6 of the reference's largest
compare() {
	$PY - "$1" "$2" <<-'PY'
	import json, sys
	sys.path.insert(0, "test")
	import mp, numpy as np
	out = list(mp.records(open(sys.argv[1], "rb")))
	ref = [json.loads(l) for l in open(sys.argv[2])]
	assert len(out) == len(ref), (len(out), len(ref))
	for o, r in zip(out, ref):
	    a = np.array(mp.tensor(o["attr"]))
	    b = np.array(r["attr"]).ravel()
	    d = np.abs(a - b).max() / np.abs(b).max()
	    print(o["id"], o["attr_label"], "%.2e" % d)
	    assert o["attr_label"] == r["attr_label"]
	    assert d < 1e-5, d
	    m = np.array(mp.tensor(o["attr_max"])).reshape(o["attr_max"]["shape"])
	    L, H = m.shape
	    assert np.allclose(m, a.reshape(L, H, -1).max(-1))
	PY
}

@test "attribute: PyTorch's autograd, gold labels and predictions" {
	cd "$TOP"
	attribute -m "$D/m" -s 8 "$D/in.mp" >"$T/out.mp"
	$PY test/attribute.py "$D/m" -s 8 <"$D/in.jsonl" >"$T/ref.jsonl"
	compare "$T/out.mp" "$T/ref.jsonl"
	attribute -m "$D/m" -s 5 -p "$D/in.mp" >"$T/out.mp"
	$PY test/attribute.py "$D/m" -s 5 -p <"$D/in.jsonl" >"$T/ref.jsonl"
	compare "$T/out.mp" "$T/ref.jsonl"
}

@test "attribute: a regression model attributes its output" {
	cd "$TOP"
	attribute -m "$D/reg" -s 4 "$D/in.mp" >"$T/out.mp"
	$PY test/attribute.py "$D/reg" -s 4 <"$D/in.jsonl" >"$T/ref.jsonl"
	compare "$T/out.mp" "$T/ref.jsonl"
}

@test "attribute: -I sums each head's largest attribution over records" {
	cd "$TOP"
	attribute -m "$D/m" -s 3 -I "$T/imp.tsv" "$D/in.mp" >"$T/out.mp"
	[ "$(head -1 "$T/imp.tsv")" = "$(printf 'layer\thead\timportance')" ]
	[ "$(wc -l <"$T/imp.tsv")" -eq 9 ]
	$PY - "$T/out.mp" "$T/imp.tsv" <<-'PY'
	import sys
	sys.path.insert(0, "test")
	import mp, numpy as np
	rows = [np.array(mp.tensor(r["attr_max"])).reshape(2, 4)
	        for r in mp.records(open(sys.argv[1], "rb"))]
	imp = [l.split("\t") for l in open(sys.argv[2])][1:]
	for i, (l, h, v) in enumerate(imp):
	    s = sum(r[int(l) - 1][int(h) - 1] for r in rows)
	    assert abs(s - float(v)) < 1e-6 * max(1, abs(s)), (l, h, s, v)
	PY
}

@test "attribute: the same bits on one thread and two" {
	OPENBLAS_NUM_THREADS=1 attribute -m "$D/m" -s 3 "$D/in.mp" >"$T/1.mp"
	OPENBLAS_NUM_THREADS=2 attribute -m "$D/m" -s 3 "$D/in.mp" >"$T/2.mp"
	cmp "$T/1.mp" "$T/2.mp"
}

@test "attribute: bad usage, records and models" {
	run -2 --separate-stderr attribute "$D/in.mp"
	[[ $stderr == "usage: attribute"* ]]
	run -2 --separate-stderr attribute -m "$D/m" -s 0 "$D/in.mp"
	[[ $stderr == *"-s: '0' is not a number of steps"* ]]
	# a label outside the classes, ids of the wrong type, a cut stream
	printf '%s\n' '{"id":"a","ids":[2,5,3],"label":7}' | $PY "$MP" >"$T/bad.mp"
	run -1 --separate-stderr attribute -m "$D/m" "$T/bad.mp"
	[[ $stderr == *"bad.mp: record 1: 'label' 7 is not a class of 0..2"* ]]
	printf '%s\n' '{"id":"a","ids":[2,5,3]}' '{"id":"b","ids":"2 5 3"}' |
	    $PY "$MP" >"$T/bad.mp"
	run -1 --separate-stderr attribute -m "$D/m" "$T/bad.mp"
	[[ $stderr == *"bad.mp: record 2: "*"ids"* ]]
	head -c 30 "$D/in.mp" >"$T/cut.mp"
	run -1 --separate-stderr attribute -m "$D/m" "$T/cut.mp"
	[[ $stderr == *"record 1"* ]]
	# a model without a classifier, and a corrupt one
	$PY "$TOP/test/mkmodel.py" "$T/base" --labels 0
	run -1 --separate-stderr attribute -m "$T/base" "$D/in.mp"
	[[ $stderr == *"the model has no classifier"* ]]
	mkdir "$T/c"
	cp "$D/m/config.json" "$D/m/vocab.txt" "$T/c"
	head -c 100 "$D/m/model.safetensors" >"$T/c/model.safetensors"
	run -1 --separate-stderr attribute -m "$T/c" "$D/in.mp"
	[[ $stderr == *"model.safetensors"* ]]
}

# Completeness: summed over a layer, the attribution is the Riemann sum of
# the path integral of dF along (k/m) A, so it approaches F(A) - F(0), F(0)
# being the model with that layer's attention zero (encode --disable Ll
# --mode zero), as m grows.
# complete MODEL IN.mp L: each layer's attribution (-p) sums to F(A) -
# F(0), F(0) from encode with that layer's attention zeroed, within the
# Riemann sum's error, which falls as 1/m
complete() {
	local m l
	for m in 4 64; do
		attribute -m "$1" -s $m -p "$2" >"$T/a$m.mp"
	done
	encode -m "$1" "$2" >"$T/e0.mp"
	for l in $(seq "$3"); do
		encode -m "$1" --disable L$l --mode zero "$2" >"$T/e$l.mp"
	done
	$PY - "$T" "$3" <<-'PY'
	import sys
	sys.path.insert(0, "test")
	import mp, numpy as np
	d, L = sys.argv[1], int(sys.argv[2])
	def rd(n): return list(mp.records(open("%s/%s.mp" % (d, n), "rb")))
	def prob(r, y):
	    z = np.array(r["logits"]); p = np.exp(z - z.max()); p /= p.sum()
	    return p[y]
	e0, err, big = rd("e0"), {4: [], 64: []}, 0
	for l in range(1, L + 1):
	    el = rd("e%d" % l)
	    for m in (4, 64):
	        for a, r0, r1 in zip(rd("a%d" % m), e0, el):
	            y = a["attr_label"]
	            want = prob(r0, y) - prob(r1, y)
	            big = max(big, abs(want))
	            s = np.array(mp.tensor(a["attr"])).reshape(L, -1)[l - 1].sum()
	            err[m].append(abs(s - want))
	            print(l, m, a["id"], "%.4g %.4g" % (s, want))
	# 16 times more steps, an error at least 8 times smaller, and small
	# against F's largest change
	e4, e64 = max(err[4]), max(err[64])
	print("worst error: m=4 %.3g, m=64 %.3g; largest change %.3g" %
	      (e4, e64, big))
	assert e64 < e4 / 8 and e64 < max(5e-3, 0.05 * big)
	PY
}

@test "attribute: a layer's attribution sums to F(A) - F(0)" {
	cd "$TOP"
	complete "$D/m" "$D/in.mp" 2
}

@test "attribute: completeness in every family" {
	cd "$TOP"
	sed 's/, "seg": \[[0-9, ]*\]//' "$D/in.jsonl" | $PY "$MP" >"$T/in.mp"
	for f in roberta distilbert electra albert; do
		rm -rf "$T/m"
		$PY test/mkfamily.py "$T/m" $f -L 3 -H 2 -C 16 -F 32 -V 50 \
		    --labels 3 $(case $f in electra|albert) printf '%s ' -E 8 ;; esac)
		run complete "$T/m" "$T/in.mp" 3
		echo "$f: ${lines[-1]}"
		[ "$status" -eq 0 ]
	done
}
