bats_require_minimum_version 1.5.0
load helper

# attend-rollout: rollout and flow against test/rollout.py, which computes
# rollout with numpy and every flow value as the minimum over all cuts of
# the graph (no max-flow algorithm), on random small maps.

setup() {
	W="$BATS_TEST_TMPDIR"
	[ -x "$TOP/cmd/attend-rollout" ] || {
		echo "cmd/attend-rollout is not built" >&2
		return 1
	}
}

rollpy() {
	PYTHONPATH="$TOP/test" $PY "$TOP/test/rollout.py" "$@"
}

@test "attend-rollout: rollout and flow equal numpy and brute-force cuts" {
	need_numpy
	rollpy gen 1 40 >"$W/in.mp"
	attend-rollout "$W/in.mp" >"$W/out.mp"
	run -0 rollpy check "$W/in.mp" "$W/out.mp"
	echo "$output"
	attend-rollout -r -j 1 "$W/in.mp" >"$W/raw.mp"
	run -0 rollpy check -r "$W/in.mp" "$W/raw.mp"
	for p in max min; do
		attend-rollout -p $p "$W/in.mp" >"$W/$p.mp"
		run -0 rollpy check -p $p "$W/in.mp" "$W/$p.mp"
	done
	# the check can fail: raw flow is not the scaled one
	run -1 rollpy check "$W/in.mp" "$W/raw.mp"
	run -1 rollpy check -p max "$W/in.mp" "$W/out.mp"
}

@test "attend-rollout: rows sum to 1, threads change no bit, other keys kept" {
	need_numpy
	attend-rollout -j 1 "$SAMPLES/ka-attn.mp" >"$W/j1.mp"
	attend-rollout -j 3 "$SAMPLES/ka-attn.mp" >"$W/j3.mp"
	cmp "$W/j1.mp" "$W/j3.mp"
	PYTHONPATH="$TOP/test" $PY - "$SAMPLES/ka-attn.mp" "$W/j1.mp" <<-'EOF'
	import sys, numpy as np, mkmaps
	ins, outs = mkmaps.records(sys.argv[1]), mkmaps.records(sys.argv[2])
	assert len(ins) == len(outs) == 8
	for a, b in zip(ins, outs):
	    assert set(b) == set(a) | {"rollout", "flow"}, set(b)
	    assert all(a[k] == b[k] for k in a)
	    L, H, T, _ = a["attn"]["shape"]
	    for k in ("rollout", "flow"):
	        t = mkmaps.tensor(b[k])
	        assert t.shape == (L, 1, T, T), t.shape
	        assert abs(t.sum(-1) - 1).max() < 1e-5
	        assert t.min() >= 0
	EOF
}

@test "attend-rollout: -k, -F, -t and a per-layer stack" {
	need_numpy
	# attn as 'other', pooled to one head: the same rollout as from attn
	PYTHONPATH="$TOP/test" $PY - "$SAMPLES/ka-attn.mp" >"$W/k.mp" <<-'EOF'
	import sys, numpy as np, mkmaps
	out = bytearray()
	for r in mkmaps.records(sys.argv[1]):
	    a = mkmaps.tensor(r["attn"])
	    mkmaps.pack({"id": r["id"], "other": mkmaps.ftensor(
	        a.mean(1, keepdims=True))}, out)
	sys.stdout.buffer.write(out)
	EOF
	attend-rollout -F "$SAMPLES/ka-attn.mp" | recs -t -k id,rollout >"$W/a"
	attend-rollout -F -k other "$W/k.mp" | recs -t -k id,rollout >"$W/b"
	PYTHONPATH="$TOP/test" $PY - "$W/a" "$W/b" <<-'EOF'
	import json, sys
	a = [json.loads(l) for l in open(sys.argv[1])]
	b = [json.loads(l) for l in open(sys.argv[2])]
	assert len(a) == len(b) == 8
	for x, y in zip(a, b):
	    assert "flow" not in y
	    d = max(abs(p - q) for p, q in zip(x["rollout"]["data"],
	        y["rollout"]["data"]))
	    assert d < 1e-6, d
	EOF
	attend-rollout -t f16 "$SAMPLES/ka-attn.mp" | recs -k rollout,flow |
	    grep -c '"f16"' | grep -qx 8
	run -1 attend-rollout -k missing "$SAMPLES/ka-attn.mp"
	[[ $output == *"record 1: no key 'missing'"* ]]
}

@test "attend-rollout: bad maps and streams name the record" {
	need_numpy
	PYTHONPATH="$TOP/test" $PY - "$W" <<-'EOF'
	import sys, numpy as np, mkmaps
	d = sys.argv[1]
	def w(name, recs):
	    out = bytearray()
	    for r in recs:
	        mkmaps.pack(r, out)
	    open(d + "/" + name, "wb").write(out)
	good = np.full((2, 1, 3, 3), 1 / 3)
	neg = good.copy(); neg[1, 0, 2, 1] = -0.1
	nan = good.copy(); nan[0, 0, 0, 0] = np.nan
	w("neg.mp", [{"id": "a", "attn": mkmaps.ftensor(good)},
	    {"id": "b", "attn": mkmaps.ftensor(neg)}])
	w("nan.mp", [{"id": "a", "attn": mkmaps.ftensor(nan)}])
	w("shape.mp", [{"id": "a", "attn": mkmaps.ftensor(good[:, :, :, :2])}])
	w("type.mp", [{"id": "a", "attn": "no"}])
	w("empty.mp", [{"id": "a", "attn": mkmaps.ftensor(good[:0])}])
	EOF
	run -1 attend-rollout "$W/neg.mp"
	[[ $output == *"record 2: 'attn' L2H1 row 3 column 2 is -0.1"* ]]
	run -1 attend-rollout "$W/nan.mp"
	[[ $output == *"record 1: 'attn' L1H1 row 1 column 1 is nan"* ]]
	run -1 attend-rollout "$W/shape.mp"
	[[ $output == *"record 1: 'attn' has shape [2, 1, 3, 2], expected [L, H, T, T]"* ]]
	run -1 attend-rollout "$W/type.mp"
	[[ $output == *"record 1"* ]]
	run -1 attend-rollout "$W/empty.mp"
	[[ $output == *"record 1: 'attn' is empty"* ]]
	# truncated stream: the whole records go out, then the error
	head -c 1000 "$SAMPLES/ka-attn.mp" >"$W/trunc.mp"
	run -1 attend-rollout "$W/trunc.mp"
	[[ $output == *"attend-rollout: "*"record 1"* ]]
	printf '\x93\x01\x02\x03' >"$W/notmap.mp"
	run -1 attend-rollout "$W/notmap.mp"
	[[ $output == *"record 1"*"map"* ]]
}

@test "attend-rollout: bad usage exits 2" {
	run -2 attend-rollout -p median
	run -2 attend-rollout -t f64
	run -2 attend-rollout -j 0
	run -2 attend-rollout -F -r
	run -2 attend-rollout --bogus
}
