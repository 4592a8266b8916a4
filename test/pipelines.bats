#!/usr/bin/env bats
# pipelines/: the recipes run end to end on the samples, parallel and
# sharded runs give the serial run's tables, and a failed stage leaves
# nothing behind.
load helper

KA="$SAMPLES/ka-model"

setup() {
	T="$BATS_TEST_TMPDIR"
	cd "$T"
}

# recipe FILE [VAR=value ...]: run a recipe on the demo task
recipe() {
	local f=$1
	shift
	make -s -f "$TOP/pipelines/$f" MODEL="$KA" BASE_MODEL="$KA" TASK=RTE \
	    DATA="$SAMPLES/demo/dev.tsv" N=40 SEED=3 MAXLEN=32 RESAMPLES=50 \
	    OUT="$T/out" "$@"
}

@test "pipelines: the report recipe runs every experiment" {
	recipe report.mk report
	for f in tokens.mp attn.mp heads.mp patterns.tsv patterns.png \
	    patterns.svg change.tsv tokens.tsv tokens-base.tsv \
	    relations.tsv disable.tsv disable.png disable.svg norm.tsv \
	    report.md; do
		[ -s "out/$f" ] || { echo "missing $f"; false; }
	done
	[ "$(recs -c out/tokens.mp)" -eq 40 ]
	grep -q '^# headcount report: RTE' out/report.md
	grep -q '(patterns.png)' out/report.md
	grep -q '^## By weight and by norm' out/report.md
	# the same model on both sides: every head's cosine is 1
	awk -F '\t' 'NR > 1 && ($3 < 0.99999 || $3 > 1.00001) { bad++ }
	    END { exit bad > 0 }' out/change.tsv
	# nothing to redo
	run recipe report.mk report --question
	[ "$status" -eq 0 ]
}

@test "pipelines: norm.mk puts attention by weight beside it by norm" {
	# the known-answer model's attention output projection is 0: its
	# heads attend, but what they carry has no norm
	recipe norm.mk norm
	head -n 1 out/norm.tsv | grep -qx "$(printf 'stat\tlayer\tweight\tnorm')"
	[ "$(wc -l <out/norm.tsv)" -eq 10 ]	# 3 stats x 3 layers
	awk -F '\t' 'NR > 1 && ($3 <= 0 || $4 != 0) { bad++ }
	    END { exit bad > 0 }' out/norm.tsv
	# a random model: norms and weights both shares, and not equal
	recipe norm.mk norm MODEL="$SAMPLES/tiny-cls" OUT="$T/tiny"
	awk -F '\t' 'NR > 1 { if ($4 <= 0 || $4 >= 1) bad++; if ($3 != $4) d++ }
	    END { exit bad > 0 || d == 0 }' tiny/norm.tsv
}

@test "pipelines: GNU parallel (JOBS=2) gives the serial tables" {
	command -v parallel >/dev/null || skip "GNU parallel is absent"
	recipe disable.mk disable OUT="$T/serial"
	recipe disable.mk disable OUT="$T/par" JOBS=2 PARBLOCK=2k
	cmp serial/disable.tsv par/disable.tsv
	recipe patterns.mk patterns OUT="$T/serial"
	recipe patterns.mk patterns OUT="$T/par" JOBS=2 PARBLOCK=2k
	cmp serial/patterns.tsv par/patterns.tsv
}

@test "pipelines: the Slurm sweep's shards merge to the serial table" {
	tokenize -m "$KA" -t RTE --max-len 32 --sample 30 --seed 2 \
	    "$SAMPLES/demo/dev.tsv" >tok.mp
	for i in 1 2 3; do
		SLURM_ARRAY_TASK_ID=$i "$TOP/pipelines/slurm-ablate.sh" "$KA" \
		    tok.mp shards
	done
	"$TOP/pipelines/slurm-ablate.sh" merge shards RTE
	ablate -m "$KA" --heads all --layers all tok.mp | score -t RTE >serial.tsv
	cmp serial.tsv shards/disable.tsv
}

@test "pipelines: a failed stage fails the recipe and leaves no file" {
	mkdir bad
	printf '{"num_hidden_layers": 1}\n' >bad/config.json
	cp "$KA/vocab.txt" bad/
	run recipe patterns.mk patterns MODEL="$T/bad"
	[ "$status" -ne 0 ]
	[ ! -e out/attn.mp ]
	[ ! -e out/patterns.tsv ]
}

@test "pipelines: each recipe's default goal is its experiment" {
	# as the README writes them: no goal named
	set -- report 'report.sh' patterns 'classify-pattern -s' \
	    change 'attend-compare' tokens 'attend-stats -c' \
	    relations 'attend-stats -o' disable 'score -t RTE' \
	    demo 'finetune -m' fetch 'curl'
	while [ $# -gt 0 ]; do
		r=$1 cmd=$2
		shift 2
		for goal in "" "$r"; do
			make -n --no-print-directory -f "$TOP/pipelines/$r.mk" \
			    $goal MODEL="$KA" \
			    TASK=RTE DATA="$SAMPLES/demo/dev.tsv" OUT="$T/o" \
			    DEMO_OUT="$T/d" FETCH_DIR="$T/f" TASKS=RTE \
			    >"$T/$r${goal:+.named}" 2>&1
		done
		echo "$r: $(tail -n 1 "$T/$r")"
		diff "$T/$r.named" "$T/$r"
		grep -q "$cmd" "$T/$r"
	done
	# and make demo's last words say how to run the filters by name
	tail -n 3 "$T/demo" | grep -q 'export PATH=\\"'"$TOP"'/cmd:\\$PATH\\"'
	tail -n 3 "$T/demo" | grep -q 'make install PREFIX='
}

@test "pipelines: the fetch recipe knows what it would download" {
	run make -n -f "$TOP/pipelines/fetch.mk" FETCH_DIR="$T/f" TASKS=RTE
	[ "$status" -eq 0 ]
	[[ $output == *"bert-base-uncased/resolve/main/model.safetensors"* ]]
	[[ $output == *"bert-base-uncased-RTE/resolve/main/pytorch_model.bin"* ]]
	[[ $output == *"glue/data/RTE.zip"* ]]
}

@test "pipelines: the demo fine-tunes, studies and reports" {
	run make -s -f "$TOP/pipelines/demo.mk" demo DEMO_OUT="$T/demo"
	echo "$output" | tail -n 5
	[ "$status" -eq 0 ]
	[[ $output == *"demo: the report is $T/demo/report.md"* ]]
	[ -s demo/ft/model.safetensors ]
	[ -s demo/report.md ]
	# the known-answer heads are recovered
	grep -q . demo/known-answer.tsv
	# the learned model: fine-tuned well above chance, and its
	# checkpoints' accuracy and patterns in the report
	grep -q '^## Pre-training: when the patterns appear' demo/report.md
	[ "$(wc -l <demo/pretrain.tsv)" -eq 4 ]
	[ -s demo/emergence/emergence.png ]
	grep -q '(emergence/emergence.png)' demo/report.md
	# the page of every head, linked from the report
	[ -s demo/view.html ] && grep -q '(view.html)' demo/report.md
}
