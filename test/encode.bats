#!/usr/bin/env bats
# encode: exactness against Hugging Face's outputs and an independent numpy
# BERT, packing, dtypes, kernels, and every kind of bad input.
load helper

REF="$SHARED/reference/tiny"
GM="$GOLDEN/encode-model"

setup() {
	T="$BATS_TEST_TMPDIR"
	$PY "$TOP/test/score-mp.py" <"$GOLDEN/encode-in.jsonl" >"$T/in.mp"
}

# ref DIR OUT REF.jsonl [encode options]: encode, then compare.
ref() {
	local dir=$1 ref=$2
	shift 2
	encode -m "$dir" -a "$@" "$T/ref-in.mp" >"$T/out.mp"
	$PY "$TOP/test/refcheck.py" "$T/out.mp" "$ref"
}

@test "encode: Hugging Face's outputs on the shared tiny checkpoints" {
	need_shared reference/tiny
	$PY "$TOP/test/score-mp.py" <"$REF/inputs.jsonl" >"$T/ref-in.mp"
	for d in cls reg-f16 base-bf16; do
		run ref "$REF/$d" "$REF/$d/out-base.jsonl" --hidden --pooled
		echo "$d: $output"
		[ "$status" -eq 0 ]
	done
}

@test "encode: heads disabled both ways match Hugging Face's" {
	need_shared reference/tiny
	$PY "$TOP/test/score-mp.py" <"$REF/inputs.jsonl" >"$T/ref-in.mp"
	ref "$REF/cls" "$REF/cls/out-uniform-L1H2-L2H1.jsonl" \
	    --disable L1H2,L2H1 --mode uniform
	ref "$REF/cls" "$REF/cls/out-zero-L1H2-L2H1.jsonl" \
	    --disable 1:2,2:1 --mode zero
	ref "$REF/reg-f16" "$REF/reg-f16/out-uniform-L2.jsonl" --disable L2
}

@test "encode: golden reference outputs for T from 1 to 64" {
	cp "$T/in.mp" "$T/ref-in.mp"
	# gemm.c's kernel, then OpenBLAS's sgemm (where the kernel cannot run)
	for HEADCOUNT_GEMM in "" openblas; do
		export HEADCOUNT_GEMM
		ref "$GM" "$GOLDEN/encode-ref-base.jsonl"
		ref "$GM" "$GOLDEN/encode-ref-uniform.jsonl" --disable L1H2,L2H4
		ref "$GM" "$GOLDEN/encode-ref-zero.jsonl" --disable L1H2,L2H4 \
		    --mode zero
	done
}

@test "encode: dense shapes off the kernel's blocks: numpy's numbers, the same bits packed" {
	need_numpy
	# 84, 252 and 300 outputs are not multiples of 16; 300 inputs are
	# a block of 256 and a partial one; T up to 300 are many row blocks;
	# a head's 42 keys' inputs are rearranged 8 at once, then 2 alone,
	# and its 42 values are 2 whole panels of 16 and a rest of 10;
	# heads of 32 are whole panels, their queries, keys and values
	# written a head at a time (C 96, F 200)
	$PY - >"$T/in.jsonl" <<-'PY'
	import json, random
	r = random.Random(5)
	for i, T in enumerate((1, 2, 7, 150, 300, 13, 299, 64)):
	    print(json.dumps({"id": str(i), "ids": [r.randrange(50) for _ in range(T)],
	                      "seg": [0] * (T // 2) + [1] * (T - T // 2)}))
	PY
	$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/ref-in.mp"
	for s in "-H 2 -C 84 -F 300" "-H 3 -C 96 -F 200"; do
		rm -rf "$T/m"
		$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 $s -V 50 -P 300 \
		    --labels 3
		$PY "$TOP/test/ref_bert.py" "$T/m" <"$T/in.jsonl" >"$T/ref.jsonl"
		ref "$T/m" "$T/ref.jsonl"
		encode -m "$T/m" -a --hidden-all --pooled -b 1 "$T/ref-in.mp" \
		    >"$T/one.mp"
		same_bits "$T/m" "$T/ref-in.mp" "$T/one.mp" 3 400 100000
		# the [CLS] rows alone give the same bits
		encode -m "$T/m" --pooled -b 400 "$T/ref-in.mp" |
		    recs -t -k id,logits,pooled >"$T/cls.txt"
		recs -t -k id,logits,pooled "$T/one.mp" | cmp - "$T/cls.txt"
	done
}

@test "encode: numpy reference in every dtype and naming, T up to 512" {
	need_numpy
	$PY - >"$T/in.jsonl" <<-'PY'
	import json, random
	r = random.Random(9)
	for T in (1, 5, 100, 511, 512):
	    ids = ([2] + [r.randrange(5, 40) for _ in range(T)])[:T]
	    print(json.dumps({"ids": ids, "seg": [0] * (T // 3) + [1] * (T - T // 3)}))
	PY
	$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/ref-in.mp"
	for v in "--dtype F32 --prefix" "--dtype F16 --gamma" \
	    "--dtype BF16 --labels 1 --extra" "--labels 0 --no-pooler"; do
		rm -rf "$T/m"
		$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 -H 2 -C 16 -P 512 $v
		for d in "" "--disable 2:1 --mode uniform" "--disable L1 --mode zero"; do
			$PY "$TOP/test/ref_bert.py" "$T/m" $d <"$T/in.jsonl" \
			    >"$T/ref.jsonl"
			run ref "$T/m" "$T/ref.jsonl" $d
			echo "$v $d: $output"
			[ "$status" -eq 0 ]
		done
	done
}

@test "encode: packing and threads change no bit" {
	cat "$T/in.mp" "$T/in.mp" "$T/in.mp" >"$T/in3.mp"
	# gemm.c's kernel; OpenBLAS's kernels for this CPU (SkylakeX's have
	# others for small products); its Haswell ones (a unit of 12 rows),
	# unless the environment chose the kernels
	local e
	for v in gemm openblas openblas/Haswell; do
		case $v in
		gemm) e= ;;
		openblas) e=HEADCOUNT_GEMM=openblas ;;
		*)	[ -z "${OPENBLAS_CORETYPE:-}" ] &&
			    grep -qw avx2 /proc/cpuinfo || continue
			e="HEADCOUNT_GEMM=openblas OPENBLAS_CORETYPE=Haswell" ;;
		esac
		env $e encode -v -m "$GM" -a --hidden-all --pooled -b 1 \
		    "$T/in3.mp" 2>"$T/err" >"$T/one.mp"
		echo "$v: $(head -n 1 "$T/err")"
		for b in 5 70 100000; do
			env $e encode -m "$GM" -a --hidden-all --pooled -b $b \
			    "$T/in3.mp" | cmp - "$T/one.mp"
			env $e OPENBLAS_NUM_THREADS=2 encode -m "$GM" -a \
			    --hidden-all --pooled -b $b "$T/in3.mp" |
			    cmp - "$T/one.mp"
		done
	done
	# wider than a thread's share of the columns, on the shared model
	if [ -d "$SHARED/reference/tiny" ]; then
		$PY "$TOP/test/score-mp.py" <"$SHARED/reference/tiny/inputs.jsonl" \
		    >"$T/r.mp"
		encode -m "$SHARED/reference/tiny/reg-f16" -a -b 1 "$T/r.mp" \
		    >"$T/r1.mp"
		OPENBLAS_NUM_THREADS=2 encode -m "$SHARED/reference/tiny/reg-f16" \
		    -a "$T/r.mp" | cmp - "$T/r1.mp"
	fi
}

@test "encode: logits and pooled from the [CLS] rows alone have a whole run's bits" {
	need_numpy
	# without --hidden the last layer goes on with [CLS] alone
	cat "$T/in.mp" "$T/in.mp" "$T/in.mp" >"$T/in3.mp"
	k=id,logits,pred,pooled,attn
	for b in 1 70; do
		for n in 1 2; do
			OPENBLAS_NUM_THREADS=$n encode -m "$GM" -a --pooled -b $b \
			    "$T/in3.mp" | recs -t -k $k >"$T/cls.txt"
			OPENBLAS_NUM_THREADS=$n encode -m "$GM" -a --pooled \
			    --hidden -b $b "$T/in3.mp" | recs -t -k $k >"$T/all.txt"
			[ "$(grep -c logits "$T/cls.txt")" = 18 ]
			cmp "$T/cls.txt" "$T/all.txt"
		done
	done
	if [ -d "$SHARED/reference/tiny" ]; then
		$PY "$TOP/test/score-mp.py" <"$SHARED/reference/tiny/inputs.jsonl" \
		    >"$T/r.mp"
		for m in "$SHARED"/reference/tiny/*/; do
			OPENBLAS_NUM_THREADS=2 encode -m "$m" --pooled "$T/r.mp" |
			    recs -t -k id,logits,pooled >"$T/cls.txt"
			encode -m "$m" --pooled --hidden-all -b 1 "$T/r.mp" |
			    recs -t -k id,logits,pooled | cmp - "$T/cls.txt"
		done
	fi
	# wider than a tile of columns, and rows split between threads
	$PY "$TOP/test/mkmodel.py" "$T/w" -L 2 -H 4 -C 96 -F 384 -V 300 \
	    -P 160 --labels 3
	$PY -c 'import json, random
r = random.Random(7)
for i in range(40):
    t = r.randrange(1, 160)
    print(json.dumps({"id": str(i), "ids": [r.randrange(300) for _ in range(t)]}))' |
	    $PY "$TOP/test/score-mp.py" >"$T/w.mp"
	OPENBLAS_NUM_THREADS=2 encode -m "$T/w" --pooled "$T/w.mp" |
	    recs -t -k id,logits,pooled >"$T/cls.txt"
	[ "$(grep -c logits "$T/cls.txt")" = 40 ]
	encode -m "$T/w" --pooled --hidden -b 1 "$T/w.mp" |
	    recs -t -k id,logits,pooled | cmp - "$T/cls.txt"
}

@test "encode: with OpenBLAS, without the alignment packing would change the last bits" {
	# the test above would catch a row unit that is too small
	cat "$T/in.mp" "$T/in.mp" "$T/in.mp" >"$T/in3.mp"
	grep -qw avx2 /proc/cpuinfo || skip "no AVX2 here"
	# OpenBLAS's Haswell kernels, unless the environment chose others
	export HEADCOUNT_GEMM=openblas
	export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
	[ "$(encode -v -m "$GM" "$T/in.mp" 2>&1 >/dev/null |
	    grep -o 'rows of [0-9]*')" = "rows of 12" ] || skip "not 12 here"
	HEADCOUNT_ROWUNIT=1 encode -m "$GM" -a -b 1 "$T/in3.mp" >"$T/one.mp"
	HEADCOUNT_ROWUNIT=1 encode -m "$GM" -a -b 70 "$T/in3.mp" >"$T/p.mp"
	! cmp -s "$T/one.mp" "$T/p.mp"
}

@test "encode: -v names the dense layers' kernel and the rows records align to" {
	run -0 env HEADCOUNT_GEMM=openblas encode -v -m "$GM" "$T/in.mp"
	[[ $output == *"dense layers on OpenBLAS sgemm,"* ]]
	grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo ||
	    skip "no AVX2 and FMA here"
	run -0 encode -v -m "$GM" "$T/in.mp"
	[[ $output == *"dense layers on headcount's AVX"*" kernel,"* ]]
	[[ $output == *"batches in rows of 1"* ]]
}

@test "encode: vector erf and exp within float rounding, same bits without AVX2" {
	make -s -C "$TOP" test/vmcheck
	run -0 "$TOP/test/vmcheck"
	echo "$output"
	a=${output##* }
	run -0 env HEADCOUNT_NOAVX2=1 "$TOP/test/vmcheck"
	echo "$output"
	[[ $output == x86-64:* ]]
	[ "${output##* }" = "$a" ]
	# without AVX2 the dense products are OpenBLAS's too
	HEADCOUNT_GEMM=openblas encode -m "$GM" -a --hidden-all "$T/in.mp" \
	    >"$T/v.mp"
	HEADCOUNT_NOAVX2=1 encode -m "$GM" -a --hidden-all "$T/in.mp" |
	    cmp - "$T/v.mp"
}

@test "encode: keys pass through, logits and pred added" {
	encode -m samples/tiny-cls samples/tiny-cls/dev.mp >"$T/o.mp"
	$PY "$TOP/test/mp.py" <"$T/o.mp" >"$T/o.json"
	[ "$(wc -l <"$T/o.json")" -eq 24 ]
	$PY - "$T/o.json" <<-'PY'
	import json, sys
	for l in open(sys.argv[1]):
	    r = json.loads(l)
	    assert set(r) == {"id", "task", "label", "tokens", "ids", "seg",
	                      "logits", "pred"}, r.keys()
	    assert r["pred"] == max(range(2), key=lambda i: r["logits"][i])
	PY
}

@test "encode: regression gives a float pred; a BertModel no logits" {
	need_numpy
	$PY "$TOP/test/mkmodel.py" "$T/reg" --labels 1
	$PY "$TOP/test/mkmodel.py" "$T/base" --labels 0
	encode -m "$T/reg" "$T/in.mp" | $PY "$TOP/test/mp.py" | head -n 1 |
	    grep -q '"pred": -\?[0-9]*\.[0-9]'
	encode -m "$T/base" --pooled "$T/in.mp" | $PY "$TOP/test/mp.py" |
	    head -n 1 >"$T/b.json"
	! grep -q logits "$T/b.json"
	grep -q '"pooled": {"dtype": "f32", "shape": \[16\]' "$T/b.json"
}

@test "encode: f16 attention is half the size and within f16 precision" {
	encode -m "$GM" -a "$T/in.mp" >"$T/f32.mp"
	encode -m "$GM" -a --attn-dtype f16 "$T/in.mp" >"$T/f16.mp"
	cp "$T/in.mp" "$T/ref-in.mp"
	ATOL=1e-3 ref "$GM" "$GOLDEN/encode-ref-base.jsonl" --attn-dtype f16
	[ "$(stat -c %s "$T/f16.mp")" -lt "$(stat -c %s "$T/f32.mp")" ]
}

@test "encode: --hidden-all has the embeddings and every layer" {
	encode -m "$GM" --hidden-all "$T/in.mp" | $PY "$TOP/test/mp.py" |
	    sed -n 2p | grep -q '"hidden": {"dtype": "f32", "shape": \[3, 2, 16\]'
}

@test "encode: gzip output reads back" {
	encode -m "$GM" -z "$T/in.mp" >"$T/o.mp.gz"
	gzip -t "$T/o.mp.gz"
	encode -m "$GM" "$T/in.mp" >"$T/o.mp"
	zcat "$T/o.mp.gz" | cmp - "$T/o.mp"
}

@test "encode: a kernel set in OPENBLAS_CORETYPE is kept" {
	run --separate-stderr env OPENBLAS_CORETYPE=Prescott encode -v \
	    -m "$GM" "$T/in.mp"
	[ "$status" -eq 0 ]
	[[ $stderr == *"OpenBLAS kernels Prescott (set by OPENBLAS_CORETYPE)"* ]]
}

@test "encode: kernels older than the CPU are replaced" {
	grep -qw avx2 /proc/cpuinfo || skip "no AVX2 here"
	run --separate-stderr env -u OPENBLAS_CORETYPE \
	    HEADCOUNT_CORENAME=Prescott encode -v -m "$GM" "$T/in.mp"
	[ "$status" -eq 0 ]
	[[ $stderr == *"(chosen by headcount for this CPU)"* ]]
	[[ $stderr != *Prescott* ]]
}

@test "encode: bad usage exits 2" {
	run -2 --separate-stderr encode
	[[ $stderr == *"usage: encode -m model"* ]]
	run -2 --separate-stderr encode -m "$GM" -Q
	run -2 --separate-stderr encode -m "$GM" --mode half "$T/in.mp"
	[[ $stderr == *"'half' is not uniform or zero"* ]]
	run -2 --separate-stderr encode -m "$GM" --disable 3:1 "$T/in.mp"
	[[ $stderr == *"layer 3 is outside 1..2"* ]]
	run -2 --separate-stderr encode -m "$GM" --disable x "$T/in.mp"
	run -2 --separate-stderr encode -m "$GM" --attn-dtype f64 "$T/in.mp"
}

# bad RECORD-JSON MESSAGE: one good record, then this one, must fail.
bad() {
	{ head -n 1 "$GOLDEN/encode-in.jsonl"; echo "$1"; } |
	    $PY "$TOP/test/score-mp.py" >"$T/bad.mp"
	run -1 --separate-stderr encode -m "$GM" "$T/bad.mp"
	echo "$stderr"
	[[ $stderr == "encode: $T/bad.mp: record 2: $2"* ]]
	[ "$(wc -c <<<"$output")" -gt 1 ]	# the good record came out
}

@test "encode: malformed records name the record" {
	bad '{"id": "x"}' "no key 'ids'"
	bad '{"ids": "2 3"}' "'ids' is a string, expected an array of integers"
	bad '{"ids": [2, 1.5]}' "'ids'[1] is a float, expected an integer"
	bad '{"ids": [2, 40]}' "'ids'[1] is 40, outside the vocabulary of 40"
	bad '{"ids": [2, -1]}' "'ids'[1] is -1, outside the vocabulary"
	bad '{"ids": []}' "'ids' is empty"
	bad '{"ids": [2, 3], "seg": [0]}' "'seg' has 1 values, 'ids' 2"
	bad '{"ids": [2, 3], "seg": [0, 2]}' "'seg'[1] is 2, outside the 2 token types"
	bad '[1, 2]' "not a map (found an array)"
	long=$($PY -c 'print([2] * 513)')
	bad "{\"ids\": $long}" "513 tokens, longer than the 512 positions of $GM (max_position_embeddings); tokenize -m $GM truncates to fit"
}

@test "encode: a record longer than the model names its id and the fix" {
	long=$($PY -c 'print([2] * 65)')
	{ head -n 1 "$GOLDEN/encode-in.jsonl"
	  echo "{\"id\": \"long/1\", \"ids\": $long}"; } |
	    $PY "$TOP/test/score-mp.py" >"$T/long.mp"
	run -1 --separate-stderr encode -m "$SAMPLES/tiny-cls" "$T/long.mp"
	[ "$stderr" = "encode: $T/long.mp: record 2: id 'long/1': 65 tokens, longer than the 64 positions of $SAMPLES/tiny-cls (max_position_embeddings); tokenize -m $SAMPLES/tiny-cls truncates to fit" ]
}

# A copy of tiny-cls with the finite weights of tensor $2 set to $3: finite
# weights whose products overflow to infinity or NaN.
bigmodel() {
	$PY "$TOP/test/mkbad.py" model "$SAMPLES/tiny-cls" "$1" "
for t in '$2'.split():
    o = h[t]['data_offsets']
    d = d[:o[0]] + struct.pack('<f', $3) * ((o[1] - o[0]) // 4) + d[o[1]:]"
}

@test "encode: non-finite logits or attention are an error naming the record" {
	bigmodel "$T/inf" classifier.weight 3e38
	run -1 --separate-stderr encode -m "$T/inf" "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "encode: $SAMPLES/tiny-cls/dev.mp: record 1: id 'tiny/dev/0': logit 1 is infinite (the model's weights or inputs overflow)" ]
	[ -z "$output" ]
	q=bert.encoder.layer.1.attention.self
	bigmodel "$T/nan" "$q.query.bias $q.key.bias" 1e30
	run -1 --separate-stderr encode -a -m "$T/nan" "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "encode: $SAMPLES/tiny-cls/dev.mp: record 1: id 'tiny/dev/0': attention of L2H1 at row 1, column 1 is not finite (the model's weights or inputs overflow)" ]
	run -1 --separate-stderr encode -m "$T/nan" "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "encode: $SAMPLES/tiny-cls/dev.mp: record 1: id 'tiny/dev/0': logit 1 is NaN (the model's weights or inputs overflow)" ]
}

@test "encode: a truncated stream is an error after the good records" {
	head -c -3 "$T/in.mp" >"$T/cut.mp"
	run -1 --separate-stderr encode -m "$GM" "$T/cut.mp"
	[[ $stderr == *"record 6: truncated record"* ]]
}

# corrupt NAME PYTHON: a copy of the golden model changed by PYTHON (with
# h the header dict, d the data bytes, c the config dict).
corrupt() {
	rm -rf "$T/bad"
	cp -r "$GM" "$T/bad"
	$PY - "$T/bad" <<-PY
	import json, struct, sys
	p = sys.argv[1] + "/model.safetensors"
	raw = open(p, "rb").read()
	n = struct.unpack("<Q", raw[:8])[0]
	h = json.loads(raw[8:8 + n]); d = raw[8 + n:]
	c = json.load(open(sys.argv[1] + "/config.json"))
	hraw = None
	$1
	if hraw is None:
	    hraw = json.dumps(h).encode()
	    raw = struct.pack("<Q", len(hraw)) + hraw + d
	open(p, "wb").write(raw)
	json.dump(c, open(sys.argv[1] + "/config.json", "w"))
	PY
	run -1 --separate-stderr encode -m "$T/bad" "$T/in.mp"
	echo "$stderr"
	[ -z "$output" ]
}

@test "encode: a corrupt model names the file and the tensor" {
	corrupt 'hraw = b""; raw = raw[:5]'
	[[ $stderr == *"model.safetensors: 5 bytes, too short"* ]]
	corrupt 'hraw = b""; raw = struct.pack("<Q", 10**9) + raw[8:]'
	[[ $stderr == *"header length 1000000000 is past the end of the file"* ]]
	corrupt 'hraw = b""; raw = raw[:8] + b"[" + raw[9:]'
	[[ $stderr == *"the header is not a JSON object"* ]]
	corrupt 'h["classifier.bias"]["data_offsets"] = [0, 10**9]'
	[[ $stderr == *"tensor 'classifier.bias' has data_offsets outside the data"* ]]
	corrupt 'del h["bert.encoder.layer.1.output.dense.weight"]'
	[[ $stderr == *"no tensor 'encoder.layer.1.output.dense.weight'"* ]]
	corrupt 'h["bert.pooler.dense.bias"]["dtype"] = "I32"'
	[[ $stderr == *"tensor 'bert.pooler.dense.bias' has a dtype other than F32"* ]]
	corrupt 'c["vocab_size"] = 41'
	[[ $stderr == *"tensor 'bert.embeddings.word_embeddings.weight' has shape [40, 16], config.json says [41, 16]"* ]]
	corrupt 'c["hidden_size"] = 8; c["num_attention_heads"] = 2'
	[[ $stderr == *"tensor 'bert.embeddings.word_embeddings.weight' has shape [40, 16], config.json says [40, 8]"* ]]
	corrupt 'h["bert.pooler.dense.bias"]["data_offsets"] = h["bert.pooler.dense.weight"]["data_offsets"]'
	[[ $stderr == *"'bert.pooler.dense.bias': 1024 bytes of data for 16 elements"* ]]
	corrupt 'b = h["bert.pooler.dense.bias"]["data_offsets"][0]; h["classifier.bias"]["data_offsets"] = [b, b + 12]'
	[[ $stderr == *"overlap"* ]]
	echo '{"hidden_size": 16,' >"$T/bad/config.json"
	run -1 --separate-stderr encode -m "$T/bad" "$T/in.mp"
	[[ $stderr == *"config.json: not valid JSON"* ]]
	run -1 --separate-stderr encode -m "$T/nonexistent" "$T/in.mp"
	[[ $stderr == *"nonexistent/config.json: No such file or directory"* ]]
}
