bats_require_minimum_version 1.5.0
load helper

# A task a tiny model learns in a second: is token 3 before token 4?
setup_file() {
	export D="$BATS_FILE_TMPDIR"
	T="$BATS_TEST_DIRNAME/finetune-task.py"
	/usr/bin/python3 "$T" model "$D/m" || return 1
	/usr/bin/python3 "$T" 1000 1 40 >"$D/train.mp" || return 1
	/usr/bin/python3 "$T" 200 2 40 >"$D/dev.mp" || return 1
	/usr/bin/python3 "$T" 400 3 40 -1 -1 >"$D/rtrain.mp" || return 1
	/usr/bin/python3 "$T" 200 4 40 -1 -1 >"$D/rdev.mp" || return 1
	if [ ! -x "$BATS_TEST_DIRNAME/gradcheck" ]; then
		make -s -C "$BATS_TEST_DIRNAME/.." test/gradcheck >&2 ||
		    return 1
	fi
}

# Until cmd/finetune links (it needs common/model.c and common/rec.c).
need_finetune() {
	[ -x "$TOP/cmd/finetune" ] || skip "cmd/finetune is not built"
}

FT="--random-init --epochs 8 --batch 16 --lr 2e-3 --seed 7"

@test "finetune: gradients match finite differences (classes, dropout)" {
	run "$TOP/test/gradcheck"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == worst*ok ]]
	# every tensor and both layers' gates were checked
	[ "$(grep -c 'weight\|bias' <<<"$output")" -eq 41 ]
	[ "$(grep -c '^gate' <<<"$output")" -eq 2 ]
}

@test "finetune: gradients match finite differences (regression)" {
	run "$TOP/test/gradcheck" -r -d 0
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == worst*ok ]]
}

@test "finetune: gradients match finite differences (whole panels, split heads)" {
	run "$TOP/test/gradcheck" -w
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == worst*ok ]]
	run env HEADCOUNT_GEMM=openblas "$TOP/test/gradcheck" -w -r
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "finetune: gradients match on OpenBLAS, its rows aligned to its tiles" {
	# OpenBLAS's Haswell kernels want sequences on 12-row tiles: rows of
	# padding between them, which the backward pass must leave out
	grep -qw avx2 /proc/cpuinfo || skip "no AVX2 here"
	export HEADCOUNT_GEMM=openblas
	export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
	for o in "" "-r -d 0" "-w"; do
		run "$TOP/test/gradcheck" $o
		echo "$o: ${lines[-1]}"
		[ "$status" -eq 0 ]
	done
}

@test "finetune: bf16 gradients within bf16's rounding of finite differences" {
	for o in "" "-w" "-r -d 0" "-w -r"; do
		run "$TOP/test/gradcheck" -b -t 8e-2 $o
		[ "$status" -ne 77 ] || skip "no AVX512-BF16 on this CPU"
		echo "-b $o: ${lines[-1]}"
		[ "$status" -eq 0 ]
	done
}

@test "finetune: --precision bf16 trains within 1% of f32's losses" {
	need_finetune
	grep -qw avx512_bf16 /proc/cpuinfo || skip "no AVX512-BF16 on this CPU"
	for p in f32 bf16; do
		finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/$p" $FT --epochs 2 \
		    --precision $p --dev "$D/dev.mp" "$D/train.mp" \
		    2>"$BATS_TEST_TMPDIR/$p.log"
		sed -n 's,.*epoch \([0-9]\)/2: loss \([0-9.]*\).*,\1 \2,p' \
		    "$BATS_TEST_TMPDIR/$p.log" >"$BATS_TEST_TMPDIR/$p.loss"
		cat "$BATS_TEST_TMPDIR/$p.loss"
	done
	[ "$(wc -l <"$BATS_TEST_TMPDIR/bf16.loss")" -eq 2 ]
	join "$BATS_TEST_TMPDIR/f32.loss" "$BATS_TEST_TMPDIR/bf16.loss" |
	    awk '{ d = ($3 - $2) / $2; if (d < 0) d = -d; print "epoch", $1,
	    "f32", $2, "bf16", $3, "relative", d; if (d > 0.01) bad = 1 }
	    END { exit bad }'
	# the bf16 model's logits, encode's in bf16 on the model written
	finetune -m "$BATS_TEST_TMPDIR/bf16" --epochs 0 --precision bf16 \
	    --dev "$D/dev.mp" --dev-logits - >"$BATS_TEST_TMPDIR/ft.jsonl"
	encode -m "$BATS_TEST_TMPDIR/bf16" --precision bf16 "$D/dev.mp" |
	    recs -k logits | cmp - "$BATS_TEST_TMPDIR/ft.jsonl"
}

@test "finetune: --precision bf16 is refused without AVX512-BF16; bad values are usage" {
	need_finetune
	run -1 --separate-stderr env HEADCOUNT_NOBF16=1 finetune -m "$D/m" \
	    -o "$BATS_TEST_TMPDIR/x" --precision bf16 "$D/train.mp"
	[ "$stderr" = "finetune: --precision bf16: this processor has no AVX512-BF16 (vdpbf16ps); use f32" ]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	run -2 --separate-stderr finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/x" \
	    --precision f16 "$D/train.mp"
	[[ $stderr == *"--precision: 'f16' is not f32 or bf16"* ]]
}

@test "finetune: gradients match finite differences in every family" {
	# roberta: positions after the padding index (a pad id among the
	# inputs), dropout on [CLS] in its head; distilbert: no token types,
	# ReLU in the FFN and the head; electra: the embeddings' projection,
	# the head's GELU; albert: the projection, gelu_new, two layers of
	# three sharing a group's weights, whose gradients add up
	local o
	for o in "-f roberta" "-f roberta -w" "-f distilbert -a relu -r" \
	    "-f electra" "-f electra -w" "-f albert -a gelu_new" \
	    "-f albert -r -d 0"; do
		for g in "" openblas; do
			run env HEADCOUNT_GEMM=$g "$TOP/test/gradcheck" $o
			echo "$o $g: ${lines[-1]}"
			[ "$status" -eq 0 ]
			[[ ${lines[-1]} == worst*ok ]]
		done
	done
	# ALBERT: a group's tensors once, every layer's gate
	run "$TOP/test/gradcheck" -f albert
	[ "$(grep -c 'albert_layer_groups.0.albert_layers.0.ffn.weight' \
	    <<<"$output")" -eq 1 ]
	[ "$(grep -c 'albert_layer_groups.1.' <<<"$output")" -eq 16 ]
	[ "$(grep -c '^gate' <<<"$output")" -eq 3 ]
	[ "$(grep -c 'embedding_hidden_mapping_in' <<<"$output")" -eq 2 ]
}

# One forward pass: finetune's logits with dropout off are encode's.
@test "finetune: dev logits are encode's, bit for bit" {
	need_finetune
	# a trained model (heads of 16: each in a block of its own), from
	# memory and as written
	finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/t" $FT --epochs 2 \
	    --dev "$D/dev.mp" --dev-logits "$BATS_TEST_TMPDIR/ft.jsonl" \
	    "$D/train.mp" 2>/dev/null
	encode -m "$BATS_TEST_TMPDIR/t" "$D/dev.mp" | recs -k logits |
	    cmp - "$BATS_TEST_TMPDIR/ft.jsonl"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ft.jsonl")" -eq 200 ]
	# a checkpoint as read (heads of 8), every kernel, 1 and 2 threads,
	# batches packed otherwise than encode's
	local M="$SAMPLES/tiny-cls" in="$SAMPLES/finetune-dev.mp"
	[ -d "$M" ] || skip "samples/tiny-cls is absent"
	for g in "" avx2 openblas; do
		for n in 1 2; do
			echo "HEADCOUNT_GEMM=$g OPENBLAS_NUM_THREADS=$n"
			HEADCOUNT_GEMM=$g OPENBLAS_NUM_THREADS=$n finetune \
			    -m "$M" --epochs 0 --batch 7 --dev "$in" \
			    --dev-logits - >"$BATS_TEST_TMPDIR/a.jsonl"
			HEADCOUNT_GEMM=$g OPENBLAS_NUM_THREADS=$n encode \
			    -m "$M" "$in" | recs -k logits |
			    cmp - "$BATS_TEST_TMPDIR/a.jsonl"
		done
	done
}

@test "finetune: learns the order task from random init" {
	need_finetune
	run --separate-stderr finetune -m "$D/m" -o "$D/ft" $FT -v \
	    --dev "$D/dev.mp" "$D/train.mp"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for f in config.json model.safetensors vocab.txt; do
		[ -s "$D/ft/$f" ]
	done
	grep -q '"num_labels":[[:space:]]*2' "$D/ft/config.json"
	grep -q '"id2label"' "$D/ft/config.json"
	ep=$(grep 'epoch [0-9]*/8: loss' <<<"$stderr")
	first=$(head -n 1 <<<"$ep" | sed 's/.*loss \([0-9.]*\).*/\1/')
	last=$(tail -n 1 <<<"$ep" | sed 's/.*loss \([0-9.]*\).*/\1/')
	acc=$(tail -n 1 <<<"$ep" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
	echo "loss $first -> $last, dev accuracy $acc"
	awk -v f="$first" -v l="$last" -v a="$acc" \
	    'BEGIN { exit !(l < f / 4 && a > 0.9) }'
	# progress lines: step, loss, examples/s, time left
	grep -q 'step [0-9]*/504, epoch [0-9]/8, loss [0-9.]*, [0-9.]* examples/s, [0-9:]* left' <<<"$stderr"
}

@test "finetune: same seed, same model, bit for bit" {
	need_finetune
	finetune -m "$D/m" -o "$D/a" $FT "$D/train.mp"
	finetune -m "$D/m" -o "$D/b" $FT "$D/train.mp"
	cmp "$D/a/model.safetensors" "$D/b/model.safetensors"
	cmp "$D/a/config.json" "$D/b/config.json"
	finetune -m "$D/m" -o "$D/c" $FT --seed 8 "$D/train.mp"
	! cmp -s "$D/a/model.safetensors" "$D/c/model.safetensors"
	# whatever the number of threads, also on OpenBLAS
	OPENBLAS_NUM_THREADS=2 finetune -m "$D/m" -o "$D/b2" $FT "$D/train.mp"
	cmp "$D/a/model.safetensors" "$D/b2/model.safetensors"
	for n in 1 2; do
		HEADCOUNT_GEMM=openblas OPENBLAS_NUM_THREADS=$n finetune \
		    -m "$D/m" -o "$D/o$n" $FT "$D/train.mp"
	done
	cmp "$D/o1/model.safetensors" "$D/o2/model.safetensors"
}

@test "finetune: the optimizer and the masks in AVX-512 or not, the same model" {
	need_finetune
	# HEADCOUNT_NOAVX2: OpenBLAS's products (as HEADCOUNT_GEMM=openblas)
	# and the scalar AdamW and dropout masks
	HEADCOUNT_GEMM=openblas finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/a" \
	    $FT --epochs 3 "$D/train.mp"
	HEADCOUNT_NOAVX2=1 finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/b" \
	    $FT --epochs 3 "$D/train.mp"
	cmp "$BATS_TEST_TMPDIR/a/model.safetensors" \
	    "$BATS_TEST_TMPDIR/b/model.safetensors"
}

@test "finetune: the output model loads again and keeps its classifier" {
	need_finetune
	finetune -m "$D/m" -o "$D/a" $FT --dev "$D/dev.mp" "$D/train.mp" \
	    2>"$D/log"
	want=$(tail -n 1 "$D/log" | sed 's/.*accuracy \([0-9.]*\).*/\1/')
	run --separate-stderr finetune -m "$D/a" --epochs 0 --prune 1 \
	    --dev "$D/dev.mp" "$D/train.mp"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(sed -n 2p <<<"$output" | cut -f 4)" = "$want" ]
}

@test "finetune: head importance and pruning (golden)" {
	need_finetune
	finetune -m "$D/m" -o "$D/a" $FT "$D/train.mp"
	run --separate-stderr finetune -m "$D/a" --epochs 0 \
	    --importance "$D/imp.tsv" --prune 4 --dev "$D/dev.mp" \
	    "$D/train.mp"
	[ "$status" -eq 0 ]
	cat "$D/imp.tsv"
	echo "$output"
	[ "${lines[0]}" = "$(printf 'step\tpruned\tfraction\taccuracy\tlast')" ]
	[ "${#lines[@]}" -eq 6 ]
	[[ ${lines[5]} == 4$'\t'4$'\t'1.0000$'\t'* ]]
	# normalised per layer: the squares of a layer sum to 1
	awk 'NR > 1 { s[$1] += $3 * $3 } END { for (l in s)
	    if (s[l] < 0.999 || s[l] > 1.001) exit 1 }' "$D/imp.tsv"
	[ "$(wc -l <"$D/imp.tsv")" -eq 5 ]
	# The trained model's bits depend on OpenBLAS's kernels (eight
	# epochs make their last bits into other weights), the untrained
	# model's importance only to rounding: it is the golden, within 1e-5.
	finetune -m "$D/m" --epochs 0 --importance "$D/imp0.tsv" \
	    --dev "$D/dev.mp" "$D/train.mp" >/dev/null
	cat "$D/imp0.tsv"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		golden finetune-importance.tsv "$D/imp0.tsv"
	fi
	paste "$D/imp0.tsv" "$GOLDEN/finetune-importance.tsv" | awk -F '\t' '
	    $1 != $4 || $2 != $5 { bad = 1 }
	    NR > 1 { d = $3 - $6; if (d < 0) d = -d; if (d > m) m = d }
	    END { print "maxdiff", m; exit !(!bad && NR == 5 && m <= 1e-5) }'
}

@test "finetune: regression with --labels 1 (Pearson)" {
	need_finetune
	run --separate-stderr finetune -m "$D/m" -o "$D/r" --random-init \
	    --labels 1 --epochs 6 --batch 16 --lr 2e-3 --dev "$D/rdev.mp" \
	    "$D/rtrain.mp"
	echo "$stderr"
	[ "$status" -eq 0 ]
	grep -q '"problem_type":[[:space:]]*"regression"' "$D/r/config.json"
	r=$(tail -n 1 <<<"$stderr" | sed 's/.*pearson \([0-9.-]*\).*/\1/')
	awk -v r="$r" 'BEGIN { exit !(r > 0.5) }'
}

@test "finetune: float labels mean regression without --labels" {
	need_finetune
	run --separate-stderr finetune -m "$D/m" -o "$D/r" --random-init \
	    --epochs 1 "$D/rtrain.mp"
	[ "$status" -eq 0 ]
	grep -q '"num_labels":[[:space:]]*1' "$D/r/config.json"
}

@test "finetune: bad option is a usage error" {
	need_finetune
	run -2 --separate-stderr finetune -Z
	[[ $stderr == *"usage: finetune "* ]]
}

@test "finetune: no model, no output, bad numbers are usage errors" {
	need_finetune
	run -2 --separate-stderr finetune -o "$D/x" "$D/train.mp"
	[[ $stderr == *"usage: finetune "* ]]
	run -2 --separate-stderr finetune -m "$D/m" "$D/train.mp"
	[[ $stderr == *"-o is needed"* ]]
	run -2 --separate-stderr finetune -m "$D/m" -o "$D/x" --lr fast
	[[ $stderr == *"--lr: 'fast' is not a number"* ]]
	run -2 --separate-stderr finetune -m "$D/m" --epochs 0 --prune 3 \
	    "$D/train.mp"
	[[ $stderr == *"--prune needs --dev"* ]]
	run -2 --separate-stderr finetune -m "$D/m" --epochs 0 \
	    --dev-logits - "$D/train.mp"
	[[ $stderr == *"--dev-logits needs --dev"* ]]
}

# Sums of every file in directory $1, and the names beside it.
sums() {
	(cd "$1" && sha256sum -- * | sort)
	ls -A "$(dirname "$1")"
}

@test "finetune: -o naming -m is refused before training, unless -f" {
	need_finetune
	# in a directory of its own: other tests write beside $D/m meanwhile
	W="$BATS_TEST_TMPDIR/w"
	mkdir "$W"
	cp -r "$D/m" "$W/self"
	before=$(sums "$W/self")
	run -2 --separate-stderr finetune -v -m "$W/self" -o "$W/self/" \
	    --random-init --epochs 200 "$D/train.mp"
	echo "$stderr"
	[[ $stderr == *"-o $W/self/: names the model read (-m $W/self)"* ]]
	[[ $stderr == *"-f to replace it"* ]]
	[[ $stderr != *"finetune: step"* && $stderr != *" examples, "* ]]
	[ "$(sums "$W/self")" = "$before" ]
	# the same directory by another name
	ln -s self "$W/self-link"
	run -2 --separate-stderr finetune -m "$W/self" -o "$W/self-link" \
	    --epochs 0
	# -f: the model is replaced by the one trained from it
	run finetune -f -m "$W/self" -o "$W/self" $FT "$D/train.mp"
	[ "$status" -eq 0 ]
	finetune -m "$D/m" -o "$W/ref" $FT "$D/train.mp"
	cmp "$W/ref/model.safetensors" "$W/self/model.safetensors"
	cmp "$W/ref/vocab.txt" "$W/self/vocab.txt"
	[ "$(ls -A "$W/self")" = "$(ls -A "$W/ref")" ]
	[ -z "$(ls -A "$W" | grep '^\.')" ]
}

@test "finetune: an -o that cannot be written fails before training" {
	need_finetune
	touch "$D/file"
	mkdir -p "$D/work"
	touch "$D/work/notes.txt"
	# with -v, a step or an example count would show that training began
	for o in "$D/file" "$D/file/sub" "$D/none/sub" "$D/work" /proc/hc; do
		run -1 --separate-stderr finetune -v -m "$D/m" -o "$o" \
		    --random-init --epochs 200 "$D/train.mp"
		echo "$stderr"
		[[ $stderr == "finetune: $o: "* ]]
		[[ $stderr != *"finetune: step"* && $stderr != *" examples, "* ]]
	done
	[[ $stderr == *"cannot write in /proc"* ]]
	[ -f "$D/work/notes.txt" ]
	[ "$(ls -A "$D/work")" = notes.txt ]
}

@test "finetune: a run that fails while writing leaves the old model whole" {
	need_finetune
	# a directory of the test's own: the file's tests run in parallel
	O="$BATS_TEST_TMPDIR/o"
	mkdir "$O"
	finetune -m "$D/m" -o "$O/keep" --labels 3 --random-init --epochs 0
	before=$(sums "$O/keep")
	# the weights (85 kB) outgrow a 40 kB file size limit; config.json
	# does not
	run -1 --separate-stderr bash -c "trap '' XFSZ; ulimit -f 40
	    exec finetune -m '$D/m' -o '$O/keep' $FT '$D/train.mp'"
	echo "$stderr"
	[[ $stderr == *"model.safetensors"* ]]
	[ "$(sums "$O/keep")" = "$before" ]
	run --separate-stderr finetune -m "$O/keep" --epochs 0 \
	    --importance - "$D/train.mp"
	[ "$status" -eq 0 ]
}

@test "finetune: a run killed while training leaves the old model whole" {
	need_finetune
	# a directory of the test's own: the file's tests run in parallel
	O="$BATS_TEST_TMPDIR/o"
	mkdir "$O"
	finetune -m "$D/m" -o "$O/kept" $FT "$D/train.mp"
	before=$(sums "$O/kept")
	for sig in TERM KILL; do
		finetune -m "$D/m" -o "$O/kept" --random-init --epochs 1000 \
		    "$D/train.mp" &
		pid=$!
		sleep 0.5
		kill -$sig $pid
		wait $pid || true
		[ "$(sums "$O/kept")" = "$before" ]
	done
}

@test "finetune: runs into one -o at once leave one whole model" {
	need_finetune
	for s in 1 2 3 4; do
		finetune -m "$D/m" -o "$D/one$s" --random-init --epochs 0 \
		    --seed $s
	done
	for round in 1 2 3; do
		pids=
		for s in 1 2 3 4; do
			finetune -m "$D/m" -o "$D/all" --random-init \
			    --epochs 0 --seed $s 2>"$D/err$s" &
			pids="$pids $!"
		done
		for p in $pids; do
			wait $p || { cat "$D"/err*; false; }
		done
		[ "$(ls -A "$D/all")" = "$(ls -A "$D/one1")" ]
		ok=
		for s in 1 2 3 4; do
			cmp -s "$D/one$s/model.safetensors" \
			    "$D/all/model.safetensors" && ok=$s
		done
		echo "round $round: the model of seed ${ok:-none}"
		[ -n "$ok" ]
		finetune -m "$D/all" --epochs 0 --importance - "$D/train.mp" \
		    >/dev/null
		[ -z "$(ls -A "$D" | grep '^\.')" ]
	done
}

@test "finetune: a label of the wrong type names the record" {
	need_finetune
	printf '\x82\xa3ids\x93\x01\x03\x02\xa5label\x00' >"$D/bad.mp"
	printf '\x82\xa3ids\x93\x01\x03\x02\xa5label\xa3yes' >>"$D/bad.mp"
	run -1 --separate-stderr finetune -m "$D/m" -o "$D/x" "$D/bad.mp"
	echo "$stderr"
	[[ $stderr == *"record 2"*"'label' is a string, expected a number"* ]]
}

@test "finetune: a class outside the model's labels names the record" {
	need_finetune
	printf '\x82\xa3ids\x93\x01\x03\x02\xa5label\x05' >"$D/bad.mp"
	run -1 --separate-stderr finetune -m "$D/m" -o "$D/x" --labels 2 \
	    "$D/bad.mp"
	echo "$stderr"
	[[ $stderr == *"record 1"*"'label' 5 is not a class of 0..1"* ]]
}

@test "finetune: a token outside the vocabulary names the record" {
	need_finetune
	printf '\x82\xa3ids\x93\x01\x28\x02\xa5label\x00' >"$D/bad.mp"
	run -1 --separate-stderr finetune -m "$D/m" -o "$D/x" "$D/bad.mp"
	echo "$stderr"
	[[ $stderr == *"record 1"*"'ids' item 1: 40 is outside the vocabulary (0..39)"* ]]
}

@test "finetune: a record without ids is an error" {
	need_finetune
	printf '\x81\xa5label\x00' >"$D/bad.mp"
	run -1 --separate-stderr finetune -m "$D/m" -o "$D/x" "$D/bad.mp"
	echo "$stderr"
	[[ $stderr == *"record 1"*"ids"* ]]
}

@test "finetune: a truncated stream is an error" {
	need_finetune
	head -c 100 "$D/train.mp" >"$D/trunc.mp"
	run -1 --separate-stderr finetune -m "$D/m" -o "$D/x" "$D/trunc.mp"
	echo "$stderr"
	[[ $stderr == *"record "[0-9]* ]]
}

@test "finetune: a corrupt model is an error naming the file" {
	need_finetune
	mkdir -p "$D/bad"
	cp "$D/m/config.json" "$D/m/vocab.txt" "$D/bad/"
	head -c 1000 "$D/m/model.safetensors" >"$D/bad/model.safetensors"
	run -1 --separate-stderr finetune -m "$D/bad" -o "$D/x" "$D/train.mp"
	echo "$stderr"
	[[ $stderr == *"model.safetensors"* ]]
}

@test "finetune: man page examples run" {
	need_finetune
	[ -d "$SAMPLES/tiny-cls" ] || skip "samples/tiny-cls is absent"
	cd "$TOP"
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' man/finetune.1 |
	    sed -n '/^\.Bd/,/^\.Ed/p' | grep -v '^\.[BE]d' |
	    sed 's/\\e$/\\/; s,/tmp/,'"$D"'/,g' >"$D/examples.sh"
	cat "$D/examples.sh"
	[ "$(grep -c '^finetune ' "$D/examples.sh")" -eq 3 ]
	bash -e "$D/examples.sh"
	[ -s "$D/tiny-ft/model.safetensors" ]
	[ -s "$D/tiny-rand/model.safetensors" ]
	[ -s "$D/imp.tsv" ]
}

@test "finetune: a loss that is not finite stops it, naming the step, with no model" {
	need_finetune
	recs "$D/rtrain.mp" | sed '1s/"label":[-0-9.e]*/"label":1e20/' |
	    recs -r >"$D/inf.mp"
	mkdir "$BATS_TEST_TMPDIR/keep"
	echo old >"$BATS_TEST_TMPDIR/keep/config.json"
	run -1 --separate-stderr finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/keep" \
	    --random-init --epochs 1 --batch 16 --lr 2e-3 --seed 7 \
	    --labels 1 "$D/inf.mp"
	echo "$stderr"
	[[ $stderr == "finetune: step "[0-9]*" (epoch 1): the loss is infinite; no model written"* ]]
	[ "$(ls "$BATS_TEST_TMPDIR/keep")" = config.json ]
	[ "$(cat "$BATS_TEST_TMPDIR/keep/config.json")" = old ]
	run -1 --separate-stderr finetune -m "$D/m" -o "$BATS_TEST_TMPDIR/new" \
	    --random-init --epochs 1 --batch 16 --lr 2e-3 --seed 7 \
	    --labels 1 "$D/inf.mp"
	[ ! -e "$BATS_TEST_TMPDIR/new" ]
}
