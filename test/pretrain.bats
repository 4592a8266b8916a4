bats_require_minimum_version 1.5.0
load helper

# pretrain: BertForPreTraining's heads (common/pretrain.c) and the filter.
setup_file() {
	export D="$BATS_FILE_TMPDIR"
	if [ ! -x "$BATS_TEST_DIRNAME/ptcheck" ]; then
		make -s -C "$BATS_TEST_DIRNAME/.." test/ptcheck >&2 || return 1
	fi
	/usr/bin/python3 "$BATS_TEST_DIRNAME/mkmodel.py" "$D/m" --extra \
	    --labels 0 -V 60 || return 1
	/usr/bin/python3 "$BATS_TEST_DIRNAME/mkmodel.py" "$D/w" --extra \
	    --labels 0 -C 32 -H 2 -F 48 -V 300 --seed 3 || return 1
	"$TOP/cmd/tokenize" -v "$V" "$TOP/samples/tok-train.txt" \
	    >"$D/s.tok" || return 1
}

V="$TOP/samples/ka-model/vocab.txt"
PT="-L 2 -C 32 -H 2 -T 48 -B 8 --seed 3"

@test "pretrain: losses and gradients match Hugging Face's" {
	R="$SHARED/reference/pretrain"
	[ -f "$R/grads.safetensors" ] || skip "no $R"
	run "$TOP/test/ptcheck" -r "$R"
	echo "$output"
	[ "$status" -eq 0 ]
	# both losses and every named parameter were compared
	[ "$(grep -c . <<<"$output")" -eq 48 ]
}

@test "pretrain: the same on OpenBLAS, without gemm.c's kernel" {
	R="$SHARED/reference/pretrain"
	[ -f "$R/grads.safetensors" ] || skip "no $R"
	HEADCOUNT_GEMM=openblas run "$TOP/test/ptcheck" -r "$R"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "pretrain: heads' gradients match finite differences (dropout)" {
	run "$TOP/test/ptcheck" "$D/m"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"cls.predictions.transform.dense.weight"* ]]
	[[ $output == *"cls.seq_relationship.bias"* ]]
}

@test "pretrain: finite differences of the masked-LM loss alone" {
	run "$TOP/test/ptcheck" -n "$D/m"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "pretrain: finite differences with whole kernel panels, no dropout" {
	run "$TOP/test/ptcheck" -d 0 "$D/w"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "pretrain: a checkpoint with the heads loads, encodes, checks" {
	hcmodel check "$D/m"
	tokenize -m "$D/m" <<<"the cat sat on the mat" |
	    encode -m "$D/m" >"$D/enc.mp"
	[ -s "$D/enc.mp" ]
}

@test "pretrain: a tiny run's loss falls, checkpoints as BertForPreTraining" {
	pretrain -o "$D/r" -v "$V" $PT --steps 60 --save-every 20 --lr 3e-3 \
	    --wwm --nsp --verbose "$D/s.tok" 2>"$D/r.log"
	cat "$D/r.log"
	[ -d "$D/r/ckpt-20" ] && [ -d "$D/r/ckpt-40" ] && [ -d "$D/r/ckpt-60" ]
	a=$(pretrain --eval --resume "$D/r/ckpt-20" "$D/s.tok" | cut -f4)
	b=$(pretrain --eval --resume "$D/r/ckpt-60" "$D/s.tok" | cut -f4)
	echo "loss $a -> $b"
	awk -v a="$a" -v b="$b" 'BEGIN { exit !(b < a - 0.2) }'
	grep -q '"BertForPreTraining"' "$D/r/ckpt-60/config.json"
	$PY - "$D/r/ckpt-60/model.safetensors" <<-'EOF'
	import json, struct, sys
	f = open(sys.argv[1], "rb")
	h = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
	need = ["bert.embeddings.word_embeddings.weight",
	        "bert.pooler.dense.weight", "cls.predictions.bias",
	        "cls.predictions.transform.dense.weight",
	        "cls.predictions.transform.LayerNorm.weight",
	        "cls.seq_relationship.weight"]
	missing = [n for n in need if n not in h]
	assert not missing, missing
	assert "classifier.weight" not in h
	EOF
	run -0 hcmodel check "$D/r/ckpt-60"
	[[ $output == *$'\nheads\tmasked-LM, next-sentence\n'* ]]
	[[ $output == *$'\ntensors\t'*$' 0 missing, 0 unused, 0 skipped\n'* ]]
	[[ $output == *$'\nstatus\tok' ]]
	encode -m "$D/r/ckpt-60" -a "$D/s.tok" | attend-dump >"$D/maps.mp"
	[ -s "$D/maps.mp" ]
	[[ $(tail -1 "$D/r.log") == "pretrain: step 60/60, loss "*", masked acc "*" tokens/s, "*" left" ]]
}

@test "pretrain: a resumed run has an uninterrupted run's bits" {
	[ -d "$D/r/ckpt-60" ] || skip "needs the run above"
	pretrain -o "$D/r2" --save-every 20 --resume "$D/r/ckpt-20" "$D/s.tok"
	[ ! -d "$D/r2/ckpt-20" ]
	for f in model.safetensors optimizer.safetensors trainer_state.json; do
		cmp "$D/r/ckpt-40/$f" "$D/r2/ckpt-40/$f"
		cmp "$D/r/ckpt-60/$f" "$D/r2/ckpt-60/$f"
	done
}

@test "pretrain: --eval of a model without its trainer state" {
	[ -d "$D/r/ckpt-60" ] || skip "needs the run above"
	mkdir "$D/alone"
	cp "$D/r/ckpt-60/model.safetensors" "$D/r/ckpt-60/config.json" \
	    "$D/r/ckpt-60/vocab.txt" "$D/alone/"
	a=$(pretrain --eval --resume "$D/r/ckpt-60" "$D/s.tok" | cut -f3-)
	run -0 --separate-stderr pretrain --eval --resume "$D/alone" "$D/s.tok"
	[ "$output" = "$D/alone	-	$a" ]
	# the shipped samples: accuracy rises with the step
	tr '\t' '\n' <"$TOP/samples/pretrain-kjv-pairs.txt" | head -n 60 |
	    tokenize -m "$TOP/samples/pretrain-kjv-500" >"$D/kjv.tok"
	pretrain --eval --resume "$TOP/samples/pretrain-kjv-500" "$D/kjv.tok" \
	    >"$D/acc"
	pretrain --eval --resume "$TOP/samples/pretrain-kjv-4000" "$D/kjv.tok" \
	    >>"$D/acc"
	cat "$D/acc"
	awk -F'\t' 'NR == 1 { a = $5 } NR == 2 { b = $5 }
	    END { exit !(NR == 2 && b > a + 0.05) }' "$D/acc"
}

@test "pretrain: -o makes the directory and its parents" {
	pretrain -o "$D/deep/a/b" -v "$V" $PT --steps 2 "$D/s.tok"
	[ -s "$D/deep/a/b/ckpt-2/model.safetensors" ]
}

@test "pretrain: --resume refuses a corrupt or mismatched state" {
	[ -d "$D/r/ckpt-20" ] || skip "needs the run above"
	cp -r "$D/r/ckpt-20" "$D/bad"
	echo '{"format": "headcount pretrain 1", "step": "x"}' \
	    >"$D/bad/trainer_state.json"
	run -1 --separate-stderr pretrain -o "$D/x" --resume "$D/bad" "$D/s.tok"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/bad/trainer_state.json: 'step' is missing or not a number"* ]]
	cp "$D/r/ckpt-20/trainer_state.json" "$D/bad/"
	head -c 300 "$D/r/ckpt-20/optimizer.safetensors" \
	    >"$D/bad/optimizer.safetensors"
	run -1 --separate-stderr pretrain -o "$D/x" --resume "$D/bad" "$D/s.tok"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/bad/optimizer.safetensors: "* ]]
	head -n 5 "$TOP/samples/tok-train.txt" | tokenize -v "$V" >"$D/other.tok"
	run -1 --separate-stderr pretrain -o "$D/x" --resume "$D/r/ckpt-20" \
	    "$D/other.tok"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/r/ckpt-20/trainer_state.json: trained on other records"* ]]
}

@test "pretrain: malformed input names the file and record" {
	head -c 50 "$D/s.tok" >"$D/trunc.mp"
	run -1 --separate-stderr pretrain -o "$D/x" -v "$V" $PT --steps 1 \
	    "$D/trunc.mp"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/trunc.mp: record 1: "* ]]
	recs "$D/s.tok" | sed '3s/"ids":\[[0-9]*/"ids":["x"/' | recs -r \
	    >"$D/type.mp"
	run -1 --separate-stderr pretrain -o "$D/x" -v "$V" $PT --steps 1 \
	    "$D/type.mp"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/type.mp: record 3: "*"'ids'"* ]]
	recs "$D/s.tok" | sed '2s/"ids":\[2,/"ids":[2,900,/' | recs -r \
	    >"$D/range.mp"
	run -1 --separate-stderr pretrain -o "$D/x" -v "$V" $PT --steps 1 \
	    "$D/range.mp"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/range.mp: record 2: 'ids' item 1: 900 is outside the vocabulary (0..68)" ]]
	printf '\x93\x01\x02\x03' >"$D/notmap.mp"
	run -1 --separate-stderr pretrain -o "$D/x" -v "$V" $PT "$D/notmap.mp"
	echo "$stderr"
	[[ $stderr == "pretrain: $D/notmap.mp: record 1: "* ]]
}

@test "pretrain: bad usage exits 2" {
	run -2 --separate-stderr pretrain -v "$V" "$D/s.tok"
	[[ $stderr == *"usage: pretrain "* ]]
	run -2 --separate-stderr pretrain -o "$D/x" -v "$V" -C 30 -H 4
	[[ $stderr == "pretrain: -C 30 is not a multiple of -H 4"* ]]
	run -2 --separate-stderr pretrain -o "$D/x" -v "$V" --steps 0
	run -2 --separate-stderr pretrain -o "$D/x" -v "$V" --bogus
	run -2 --separate-stderr pretrain --eval "$D/s.tok"
}

@test "pretrain: man page examples run" {
	cd "$TOP"
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' man/pretrain.1 |
	    sed -n '/^\.Bd/,/^\.Ed/p' | grep -v '^\.[BE]d' |
	    sed 's/\\e$/\\/; s,/tmp/,'"$D"'/ex-,g' >"$D/examples.sh"
	cat "$D/examples.sh"
	[ "$(grep -c '^pretrain ' "$D/examples.sh")" -eq 3 ]
	run bash -e "$D/examples.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -s "$D/ex-pt/ckpt-40/model.safetensors" ]
	cmp "$D/ex-pt/ckpt-40/model.safetensors" \
	    "$D/ex-pt2/ckpt-40/model.safetensors"
	[[ ${lines[-1]} == "$D/ex-pt/ckpt-40	40	"* ]]
}
