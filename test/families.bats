#!/usr/bin/env bats
# The encoder families (issue 23): RoBERTa, XLM-R, DistilBERT, ELECTRA,
# ALBERT and BERT-shaped MiniLM against Hugging Face's outputs in the
# shared reference, and against test/ref_family.py (numpy, float64) on
# models of every size, dtype and file format that test/mkfamily.py makes;
# ablate, finetune's round trip and hcmodel on each.
load helper

FAM="$SHARED/reference/families"
MKF="$TOP/test/mkfamily.py"
REFF="$TOP/test/ref_family.py"
LOGITS="$TOP/test/ablate-logits.py"

setup() {
	T="$BATS_TEST_TMPDIR"
}

# hf DIR OUT.jsonl [encode options]: encode -a --hidden on DIR's inputs,
# compared with Hugging Face's OUT.jsonl: attention within 1e-5, logits
# and hidden within 1e-4.
hf() {
	local d=$1 out=$2
	shift 2
	encode -m "$FAM/$d" -a --hidden "$@" "$T/$d.mp" >"$T/out.mp"
	run $PY "$TOP/test/refcheck.py" "$T/out.mp" "$FAM/$d/$out"
	echo "$d $out $*: $output"
	[ "$status" -eq 0 ]
	[[ $output == *hidden* ]]
	local h=${output##*hidden }
	$PY -c "import sys; sys.exit(float('${h%% *}') > 1e-4)"
}

@test "families: Hugging Face's outputs, nothing disabled" {
	need_shared reference/families
	for d in roberta xlm-roberta-f16 distilbert distilbert-bin electra \
	    electra-reg albert-bf16; do
		$PY "$TOP/test/score-mp.py" <"$FAM/$d/inputs.jsonl" >"$T/$d.mp"
		hf $d out-base.jsonl
		HEADCOUNT_GEMM=openblas hf $d out-base.jsonl
	done
}

@test "families: Hugging Face's outputs, heads disabled both ways" {
	need_shared reference/families
	for d in roberta xlm-roberta-f16 distilbert distilbert-bin electra \
	    electra-reg; do
		$PY "$TOP/test/score-mp.py" <"$FAM/$d/inputs.jsonl" >"$T/$d.mp"
		hf $d out-uniform-L1H2-L2H1.jsonl --disable L1H2,L2H1
		hf $d out-zero-L1H2-L2H1.jsonl --disable L1H2,L2H1 --mode zero
	done
	d=albert-bf16
	$PY "$TOP/test/score-mp.py" <"$FAM/$d/inputs.jsonl" >"$T/$d.mp"
	hf $d out-uniform-L1H2-L2H1.jsonl --disable L1H2,L2H1
	# Hugging Face 4.5.1's AlbertTransformer slices head_mask by group
	# (head_mask[g * layers_per_group:(g + 1) * layers_per_group]), so
	# with one group every application of the shared layer gets layer
	# 1's row: its L1H2,L2H1 run has head 2 off in all three layers and
	# head 1 of layer 2 on.  Every application is a layer of its own
	# here, disabled on its own: that file is our L1H2,L2H2,L3H2.
	hf $d out-zero-L1H2-L2H1.jsonl --disable L1H2,L2H2,L3H2 --mode zero
	# and our L1H2,L2H1 is what the model computes with those heads off
	need_numpy
	encode -m "$FAM/$d" -a --hidden --disable L1H2,L2H1 --mode zero \
	    "$T/$d.mp" >"$T/out.mp"
	$PY "$REFF" "$FAM/$d" --disable L1H2,L2H1 --mode zero \
	    <"$FAM/$d/inputs.jsonl" >"$T/ref.jsonl"
	$PY "$TOP/test/refcheck.py" "$T/out.mp" "$T/ref.jsonl"
	run -1 $PY "$TOP/test/refcheck.py" "$T/out.mp" \
	    "$FAM/$d/out-zero-L1H2-L2H1.jsonl"
}

@test "families: bf16 products on the shared references, within 5e-2" {
	need_shared reference/families
	grep -qw avx512_bf16 /proc/cpuinfo || skip "no AVX512-BF16 here"
	for d in roberta distilbert electra albert-bf16; do
		$PY "$TOP/test/score-mp.py" <"$FAM/$d/inputs.jsonl" >"$T/$d.mp"
		encode -m "$FAM/$d" -a --precision bf16 "$T/$d.mp" >"$T/out.mp"
		ATOL=5e-2 LTOL=5e-2 $PY "$TOP/test/refcheck.py" "$T/out.mp" \
		    "$FAM/$d/out-base.jsonl"
	done
}

# inputs N SEED V [PAD]: N JSON records of ids below V (some of them the
# padding id PAD, which RoBERTa's positions skip), lengths 1 to 60, with
# token types 0 and 1 unless NOSEG is set.
inputs() {
	$PY - "$@" <<-'PY'
	import json, os, random, sys
	n, seed, V = map(int, sys.argv[1:4])
	pad = int(sys.argv[4]) if len(sys.argv) > 4 else -1
	r = random.Random(seed)
	for i in range(n):
	    T = r.choice((1, 2, 5, 17, 33, 60))
	    ids = [r.randrange(V) for _ in range(T)]
	    if pad >= 0 and T > 4:
	        ids[r.randrange(1, T)] = pad
	    r_ = {"id": "r/%d" % i, "ids": ids}
	    if not os.environ.get("NOSEG"):
	        r_["seg"] = [0] * (T // 2) + [1] * (T - T // 2)
	    print(json.dumps(r_))
	PY
}

# ours DIR: encode -a --hidden DIR against ref_family.py, nothing
# disabled and both modes, on $T/in.jsonl (seg dropped where the family
# has one token type)
ours() {
	local m=$1 d
	for d in "" "--disable L1H2,L2H1" "--disable L2H1,L2H2 --mode zero"; do
		$PY "$REFF" "$m" $d <"$T/in.jsonl" >"$T/ref.jsonl"
		encode -m "$m" -a --hidden $d "$T/in.mp" >"$T/out.mp"
		run $PY "$TOP/test/refcheck.py" "$T/out.mp" "$T/ref.jsonl"
		echo "$m $d: $output"
		[ "$status" -eq 0 ]
	done
}

@test "families: every family, size, dtype and file format against numpy" {
	need_numpy
	local f o
	for f in roberta xlm-roberta distilbert electra albert; do
		for o in "" "--dtype F16 -H 4 -C 32 -F 40" "--dtype BF16 --bin" \
		    "--bin --labels 1 -E 32 -C 64 -H 2 --act gelu_new" \
		    "--act relu --base -L 3" "-L 4 --groups 2 -E 8 --labels 3"; do
			rm -rf "$T/m"
			$PY "$MKF" "$T/m" $f -V 50 -P 64 $o
			if [ $f = roberta ] || [ $f = xlm-roberta ]; then
				# one token type; the padding id inside
				NOSEG=1 inputs 8 3 50 1 >"$T/in.jsonl"
			else
				inputs 8 3 50 >"$T/in.jsonl"
			fi
			$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
			ours "$T/m"
		done
	done
}

@test "families: MiniLM's shape (heads of 32, hidden 384, no prefix) is BERT's" {
	need_numpy
	$PY "$TOP/test/mkmodel.py" "$T/m" -L 2 -H 12 -C 384 -F 1536 -V 50 \
	    -P 64 --labels 3
	! grep -q '"bert\.' <(hcmodel ls "$T/m/model.safetensors")
	inputs 6 4 50 >"$T/in.jsonl"
	$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
	ours "$T/m"
	HEADCOUNT_GEMM=openblas ours "$T/m"
	run -0 hcmodel check "$T/m"
	[[ $output == *"family"$'\t'"BERT (bert)"* ]]
}

@test "families: packing, threads and every encode option" {
	need_numpy
	local f
	for f in roberta distilbert electra albert; do
		rm -rf "$T/m"
		$PY "$MKF" "$T/m" $f -V 50 -P 64 -E 8 -L 3 --groups 2
		NOSEG=1 inputs 12 5 50 >"$T/in.jsonl"
		$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
		encode -m "$T/m" -a --hidden-all --pooled -b 1 "$T/in.mp" \
		    >"$T/one.mp"
		same_bits "$T/m" "$T/in.mp" "$T/one.mp" 7 100000
		# the first token's rows alone give the same logits
		encode -m "$T/m" --pooled "$T/in.mp" |
		    recs -t -k id,logits,pooled >"$T/cls.txt"
		recs -t -k id,logits,pooled "$T/one.mp" | cmp - "$T/cls.txt"
		# [L + 1, T, C], the layers' inputs and the last output
		recs -k hidden "$T/one.mp" | head -1 |
		    grep -q '"shape":\[4,[0-9]*,16\]'
		encode -m "$T/m" -z -a --attn-dtype f16 "$T/in.mp" | recs |
		    head -1 | grep -q '"dtype":"f16"'
	done
}

@test "families: RoBERTa's positions start after the padding index" {
	rm -rf "$T/m"
	$PY "$MKF" "$T/m" roberta -V 50 -P 16
	# 18 positions, pad_token_id 1: 16 tokens at most
	printf '{"ids": [%s]}\n' "$(seq -s, 0 15)" |
	    $PY "$TOP/test/score-mp.py" >"$T/16.mp"
	printf '{"ids": [%s]}\n' "$(seq -s, 0 16)" |
	    $PY "$TOP/test/score-mp.py" >"$T/17.mp"
	encode -m "$T/m" "$T/16.mp" >/dev/null
	run -1 --separate-stderr encode -m "$T/m" "$T/17.mp"
	[ "$stderr" = "encode: $T/17.mp: record 1: 17 tokens, longer than the 16 positions of $T/m (max_position_embeddings less pad_token_id + 1); tokenize -m $T/m truncates to fit" ]
	run -1 --separate-stderr ablate -m "$T/m" "$T/17.mp"
	[ "$stderr" = "ablate: $T/17.mp: record 1: 17 tokens, longer than the 16 positions of $T/m (max_position_embeddings less pad_token_id + 1); tokenize -m $T/m truncates to fit" ]
	# a token type other than 0 is outside RoBERTa's one
	printf '{"ids": [0, 5, 2], "seg": [0, 1, 1]}\n' |
	    $PY "$TOP/test/score-mp.py" >"$T/seg.mp"
	run -1 --separate-stderr encode -m "$T/m" "$T/seg.mp"
	[[ $stderr == *"'seg'[1] is 1, outside the 1 token types" ]]
}

@test "families: ablate's sets are encode --disable's, bit for bit" {
	local f mode s
	for f in roberta distilbert electra albert; do
		rm -rf "$T/m"
		$PY "$MKF" "$T/m" $f -V 50 -P 64 -E 8 -L 3 -H 2
		NOSEG=1 inputs 5 6 50 >"$T/in.jsonl"
		$PY "$TOP/test/score-mp.py" <"$T/in.jsonl" >"$T/in.mp"
		for mode in uniform zero; do
			ablate -m "$T/m" --heads all --layers all --mode $mode \
			    "$T/in.mp" | $PY "$LOGITS" >"$T/a"
			for s in L1H1 L2H2 L3H1 L3; do
				encode -m "$T/m" -b 1 --disable $s --mode $mode \
				    "$T/in.mp" | $PY "$LOGITS" | cut -f1,3 >"$T/e"
				awk -F '\t' -v OFS='\t' -v s=$s '$2 == s {
				    print $1, $3 }' "$T/a" | cmp - "$T/e"
			done
		done
	done
}

@test "families: finetune's model is the same family, with the same logits" {
	need_numpy
	local f
	$PY - >"$T/train.jsonl" <<-'PY'
	import json, random
	r = random.Random(3)
	for i in range(48):
	    T = r.randrange(3, 20)
	    ids = [2] + [r.randrange(5, 40) for _ in range(T - 2)] + [3]
	    print(json.dumps({"id": str(i), "ids": ids, "label": int(9 in ids)}))
	PY
	head -16 "$T/train.jsonl" >"$T/dev.jsonl"
	$PY "$TOP/test/score-mp.py" <"$T/train.jsonl" >"$T/train.mp"
	$PY "$TOP/test/score-mp.py" <"$T/dev.jsonl" >"$T/dev.mp"
	for f in roberta xlm-roberta distilbert electra albert; do
		rm -rf "$T/m" "$T/o"
		$PY "$MKF" "$T/m" $f -V 50 -E 8 -L 3 --groups 2 --act relu
		finetune -m "$T/m" -o "$T/o" --epochs 2 --batch 8 --lr 1e-3 \
		    --dev "$T/dev.mp" --dev-logits "$T/dl.jsonl" "$T/train.mp"
		# encode on the model written: finetune's own logits
		encode -m "$T/o" "$T/dev.mp" | recs -k logits >"$T/el.jsonl"
		diff <(tr -d ' ' <"$T/dl.jsonl") <(tr -d ' ' <"$T/el.jsonl")
		# the numpy forward agrees with both
		$PY "$REFF" "$T/o" <"$T/dev.jsonl" >"$T/ref.jsonl"
		encode -m "$T/o" -a "$T/dev.mp" >"$T/out.mp"
		$PY "$TOP/test/refcheck.py" "$T/out.mp" "$T/ref.jsonl"
		# HF's names and config keys, as the model read
		diff <(hcmodel ls "$T/m/model.safetensors" | cut -f1,3 | sort) \
		    <(hcmodel ls "$T/o/model.safetensors" | cut -f1,3 | sort)
		$PY - "$T/m/config.json" "$T/o/config.json" <<-'PY'
		import json, sys
		a, b = (json.load(open(p)) for p in sys.argv[1:])
		for k, v in a.items():
		    assert b.get(k) == v, (k, v, b.get(k))
		if a["model_type"] == "distilbert":
		    assert "hidden_size" not in b and "type_vocab_size" not in b
		PY
		hcmodel check "$T/o" | grep -q \
		    "^tensors"$'\t'"[0-9]* found, 0 missing, 0 unused"
	done
}

@test "families: hcmodel check names the family and checks its tensors" {
	local f
	for f in roberta xlm-roberta distilbert electra albert; do
		rm -rf "$T/m"
		$PY "$MKF" "$T/m" $f -E 8 -L 3 --groups 2 -V 561
		if [ $f = roberta ] || [ $f = xlm-roberta ]; then
			# RoBERTa's tokenizer, whose ids are the model's
			rm "$T/m/vocab.txt"
			cp "$SAMPLES/tok-roberta/vocab.json" \
			    "$SAMPLES/tok-roberta/merges.txt" "$T/m"
		fi
		run -0 hcmodel check "$T/m"
		echo "$output"
		[[ $output == *$'\n'"status"$'\t'"ok" ]]
		grep -q "^family"$'\t'".* ($f)" <<<"$output"
		grep -q "^tensors"$'\t'"[0-9]* found, 0 missing, 0 unused" \
		    <<<"$output"
		# convert keeps every name
		hcmodel convert -t f16 "$T/m" "$T/c"
		cmp <(hcmodel ls "$T/m/model.safetensors" | cut -f1,3) \
		    <(hcmodel ls "$T/c/model.safetensors" | cut -f1,3)
		rm -rf "$T/c"
	done
	# a missing tensor of the family's own names
	$PY - "$T/m" <<-'PY'
	import json, struct, sys
	p = sys.argv[1] + "/model.safetensors"
	b = open(p, "rb").read()
	n = struct.unpack("<Q", b[:8])[0]
	h = json.loads(b[8:8 + n])
	del h["albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.bias"]
	s = json.dumps(h).encode()
	s += b" " * (-len(s) % 8)
	open(p, "wb").write(struct.pack("<Q", len(s)) + s + b[8 + n:])
	PY
	run -1 hcmodel check "$T/m"
	[[ $output == *"missing"$'\t'"albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.bias"* ]]
}

@test "families: config.json's refusals name what is refused" {
	rm -rf "$T/m"
	$PY "$MKF" "$T/m" albert -E 8
	printf '{"ids": [2, 5, 3]}\n' | $PY "$TOP/test/score-mp.py" >"$T/in.mp"
	for c in 'c["inner_group_num"] = 2' 'c["hidden_act"] = "silu"' \
	    'c["num_hidden_groups"] = 3' 'c["model_type"] = "deberta"'; do
		cp "$T/m/config.json" "$T/c.json"
		$PY -c "import json; c = json.load(open('$T/c.json')); $c; json.dump(c, open('$T/m/config.json', 'w'))"
		run -1 --separate-stderr encode -m "$T/m" "$T/in.mp"
		echo "$c: $stderr"
		case $c in
		*inner*) [ "$stderr" = "encode: $T/m/config.json: inner_group_num 2 is not supported (1, a layer a group, is)" ] ;;
		*silu*) [ "$stderr" = "encode: $T/m/config.json: hidden_act 'silu' is not supported (gelu, gelu_new, gelu_pytorch_tanh and relu are)" ] ;;
		*groups*) [ "$stderr" = "encode: $T/m/config.json: num_hidden_groups 3 is more than num_hidden_layers 2" ] ;;
		*) [[ $stderr == *"model_type 'deberta' is not a family headcount knows (bert, roberta, xlm-roberta, distilbert, electra, albert)" ]] ;;
		esac
		cp "$T/c.json" "$T/m/config.json"
	done
	# DistilBERT's activation is its own key
	rm -rf "$T/m"
	$PY "$MKF" "$T/m" distilbert
	sed -i 's/"activation": "gelu"/"activation": "swish"/' "$T/m/config.json"
	run -1 --separate-stderr encode -m "$T/m" "$T/in.mp"
	[ "$stderr" = "encode: $T/m/config.json: activation 'swish' is not supported (gelu, gelu_new, gelu_pytorch_tanh and relu are)" ]
}

@test "families: encode(1)'s RoBERTa example runs as written" {
	cd "$TOP"
	run -0 bash -o pipefail -c "$(sed -n '/^The same on a RoBERTa/,/^\.Ed/p' \
	    man/encode.1 | sed '1,2d;$d')"
	[ "$output" = '{"tokens":["<s>","t","he","Ġc","at","Ġs","at","Ġon","Ġthe","Ġm","at","</s>"],"pred":0}' ]
}
