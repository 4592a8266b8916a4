#!/usr/bin/env bats
# encode --measures: the norm-based, ALTI and value-zeroing maps against
# test/ref_family.py, numpy from their definitions, with heads disabled
# both ways, and what bad requests get.
load helper

setup() {
	T="$BATS_TEST_TMPDIR"
}

# check MODEL INPUTS.jsonl [encode and ref_family.py options]
check() {
	local dir=$1 in=$2
	shift 2
	$PY "$TOP/test/score-mp.py" <"$in" >"$T/in.mp"
	encode -m "$dir" -a --measures all "$@" "$T/in.mp" >"$T/out.mp"
	$PY "$TOP/test/ref_family.py" "$dir" --measures "$@" <"$in" \
	    >"$T/ref.jsonl"
	$PY "$TOP/test/refcheck.py" "$T/out.mp" "$T/ref.jsonl"
}

# inputs N T V: N records of random ids below V, lengths up to T
inputs() {
	$PY - "$@" <<-'PY'
	import json, random, sys
	n, T, V = map(int, sys.argv[1:])
	random.seed(7)
	for i in range(n):
	    t = random.randint(2, T)
	    ids = [2] + [random.randrange(5, V) for _ in range(t - 2)] + [3]
	    print(json.dumps({"id": "r%d" % i, "ids": ids,
	                      "seg": [0] * (t // 2) + [1] * (t - t // 2)}))
	PY
}

@test "encode --measures: every map as numpy computes it, f32" {
	$PY "$TOP/test/mkmodel.py" "$T/m" -L 3 -H 4 -C 32 -F 48 -V 50
	inputs 6 40 50 >"$T/in.jsonl"
	run check "$T/m" "$T/in.jsonl"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "encode --measures: heads disabled both ways show in the maps" {
	$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 -H 4 -C 32 -F 48 -V 50
	inputs 4 30 50 >"$T/in.jsonl"
	for mode in uniform zero; do
		run check "$T/m" "$T/in.jsonl" --disable L1H2,L2H1,L2H3 \
		    --mode $mode
		echo "$mode: $output"
		[ "$status" -eq 0 ]
	done
	# a disabled head in zero mode contributes nothing to norm
	$PY - "$T/out.mp" <<-'PY'
	import sys; sys.path.insert(0, "test")
	import mp, numpy as np
	for r in mp.records(open(sys.argv[1], "rb")):
	    n = np.array(mp.tensor(r["norm"])).reshape(r["norm"]["shape"])
	    assert (n[0, 1] == 0).all() and (n[1, 2] == 0).all(), "not zero"
	    assert (n[0, 0] > 0).any()
	PY
}

@test "encode --measures: Hugging Face's tiny checkpoints" {
	need_shared reference/tiny
	for d in cls reg-f16 base-bf16; do
		run check "$SHARED/reference/tiny/$d" \
		    "$SHARED/reference/tiny/inputs.jsonl"
		echo "$d: $output"
		[ "$status" -eq 0 ]
	done
}

@test "encode --measures: every family, heads disabled too" {
	# RoBERTa's positions, DistilBERT's names and ReLU-free attention,
	# ELECTRA's and ALBERT's projected embeddings, ALBERT's shared layer
	inputs 4 24 40 | sed 's/, "seg": \[[0-9, ]*\]//' >"$T/in.jsonl"
	for f in roberta distilbert electra albert; do
		rm -rf "$T/m"
		$PY "$TOP/test/mkfamily.py" "$T/m" $f -L 3 -H 2 -C 16 -F 32 \
		    $(case $f in electra) printf '%s ' -E 8 ;;
		    albert) printf '%s ' -E 8 --act gelu_new ;; esac)
		run check "$T/m" "$T/in.jsonl"
		echo "$f: $output"
		[ "$status" -eq 0 ]
		run check "$T/m" "$T/in.jsonl" --disable L1H2,L3H1 --mode zero
		echo "$f zero: $output"
		[ "$status" -eq 0 ]
	done
}

@test "encode --measures: Hugging Face's checkpoints of every family" {
	need_shared reference/families
	local F="$SHARED/reference/families"
	for d in roberta xlm-roberta-f16 distilbert electra albert-bf16; do
		run check "$F/$d" "$F/$d/inputs.jsonl"
		echo "$d: $output"
		[ "$status" -eq 0 ]
	done
}

@test "encode --measures: keys, shapes and rows that sum to 1" {
	$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 -H 2
	inputs 3 12 40 >"$T/in.jsonl"
	$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
	encode -m "$T/m" --measures norm_layer,vz --attn-dtype f16 \
	    "$T/in.mp" >"$T/out.mp"
	$PY - "$T/out.mp" <<-'PY'
	import sys; sys.path.insert(0, "test")
	import mp, numpy as np
	for r in mp.records(open(sys.argv[1], "rb")):
	    assert "attn" not in r and "norm" not in r and "alti" not in r
	    T = len(r["ids"])
	    for k in ("norm_layer", "vz"):
	        assert r[k]["shape"] == [2, 1, T, T], r[k]["shape"]
	        assert r[k]["dtype"] == "f16"
	    vz = np.array(mp.tensor(r["vz"])).reshape(2, T, T)
	    assert np.allclose(vz.sum(-1), 1, atol=1e-2)
	PY
}

@test "encode --measures: a name it does not know is bad usage" {
	$PY "$TOP/test/mkmodel.py" "$T/m"
	run encode -m "$T/m" --measures norm,attention </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"--measures: 'attention' is not norm, norm_layer, alti, vz or all"* ]]
	run encode -m "$T/m" --measures "" </dev/null
	[ "$status" -eq 2 ]
}
