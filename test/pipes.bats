bats_require_minimum_version 1.5.0
load helper

# A pipeline stops when its reader does (issue 21): every filter ends with
# status 0 under `set -o pipefail` when the filter after it goes away, and
# soon, not at the end of its input.

# rep FILE N: FILE N times over, on stdout.
rep() {
	$PY -c 'import sys
sys.stdout.buffer.write(open(sys.argv[1], "rb").read() * int(sys.argv[2]))' "$@"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# ids alone make small output records, so that encode and ablate
	# compute a long time per byte written: thousands of records fit
	# in one buffer of the record writer.
	recs -k ids "$SAMPLES/tiny-cls/dev.mp" >"$D/ids.jsonl"
	rep "$D/ids.jsonl" 2000 | recs -r >"$D/ids.mp" || return 1
	yes 'the cat sat on the mat . it was not a good mat' |
	    head -n 100000 >"$D/big.txt"
	rep "$SAMPLES/attend-a.mp" 500 >"$D/attn.mp"
	rep "$SAMPLES/ka-heads.mp" 50 >"$D/heads.mp"
	# A model that takes about a millisecond a record, made once, here:
	# tests run in parallel, and one that made it could be seen by
	# another half written.
	if $PY -c 'import numpy' 2>/dev/null; then
		$PY "$TOP/test/mkmodel.py" "$D/m" -L 4 -H 4 -C 256 -F 1024 \
		    -P 64 --seed 3 >/dev/null || return 1
	fi
}

need_model() {
	need_numpy
	[ -f "$D/m/model.safetensors" ]
}

# stops SECONDS CMD: CMD | head -c 1 under pipefail ends with status 0
# within SECONDS (timeout's 124 otherwise).
stops() {
	local limit=$1
	shift
	run timeout "$limit" bash -c "set -o pipefail; $* | head -c 1 >/dev/null"
	echo "$* -> $status"
	[ "$status" -eq 0 ]
}

# closed CMD...: CMD run with stdout a pipe whose reader has already
# gone, and SIGPIPE as a shell leaves it, so that the outcome does not
# depend on how fast the reader is: status 0, not 141.
closed() {
	$PY -c 'import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
r, w = os.pipe()
os.close(r)
os.dup2(w, 1)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

@test "pipes: encode stops at the next record when its reader goes" {
	need_model
	# 48,000 records: the whole input takes 40 s and more, and only its
	# first megabyte of output came out before the end.  It stops in a
	# fraction of a second; the bound leaves room for a loaded machine.
	t0=$(date +%s%N)
	stops 60 encode -m "$D/m" "$D/ids.mp"
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 )) ms"
	[ $(( (t1 - t0) / 1000000 )) -lt 15000 ]
}

@test "pipes: ablate stops at the next record when its reader goes" {
	need_model
	t0=$(date +%s%N)
	stops 60 ablate -m "$D/m" --heads all "$D/ids.mp"
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 )) ms"
	[ $(( (t1 - t0) / 1000000 )) -lt 15000 ]
}

@test "pipes: a record writer sends its records on before its buffer fills" {
	need_model
	# the first record reaches the reader at once, not after 1 MB
	run timeout 60 bash -c "set -o pipefail
	    encode -m '$D/m' '$D/ids.mp' | recs | head -n 1"
	[ "$status" -eq 0 ]
	[[ $output == '{"ids":[2,'* ]]
}

@test "pipes: every filter ends with 0 when head closes early" {
	need_model
	M=$SAMPLES/tiny-cls
	stops 60 tokenize -m "$M" "$D/big.txt"
	stops 60 encode -m "$M" -a "$D/ids.mp"
	stops 60 attend-dump "$D/attn.mp"
	stops 60 "attend-dump $D/attn.mp | classify-pattern"
	stops 60 classify-pattern "$D/heads.mp"
	stops 60 classify-pattern -s "$D/heads.mp"
	stops 60 ablate -m "$M" --heads all --layers all "$D/ids.mp"
	stops 60 score "$SAMPLES/score-sweep.mp"
	stops 60 attend-stats "$D/attn.mp"
	stops 60 attend-compare "$SAMPLES/attend-a.mp" "$SAMPLES/attend-b.mp"
	stops 60 finetune -m "$M" --epochs 0 --importance - --prune 2 \
	    --dev "$SAMPLES/finetune-dev.mp" "$SAMPLES/finetune-train.mp"
	stops 60 hcmodel ls -c "$M/model.safetensors"
	stops 60 hcmodel check "$M"
	stops 60 recs "$D/attn.mp"
	stops 60 recs -p "$D/attn.mp"
	stops 60 "recs $D/ids.mp | recs -r"
}

@test "pipes: every filter ends with 0, not SIGPIPE, on a reader gone" {
	M=$SAMPLES/tiny-cls
	closed tokenize -m "$M" "$SAMPLES/ka-sentences.txt"
	closed encode -m "$M" "$M/dev.mp"
	closed attend-dump "$SAMPLES/ka-attn.mp"
	closed classify-pattern "$SAMPLES/ka-heads.mp"
	closed classify-pattern -s "$SAMPLES/ka-heads.mp"
	closed ablate -m "$M" --heads all "$M/dev.mp"
	closed score "$SAMPLES/score-sweep.mp"
	closed attend-stats "$SAMPLES/attend-stats.mp"
	closed attend-compare "$SAMPLES/attend-a.mp" "$SAMPLES/attend-b.mp"
	closed finetune -m "$M" --epochs 0 --importance - --prune 2 \
	    --dev "$SAMPLES/finetune-dev.mp" "$SAMPLES/finetune-train.mp"
	closed hcmodel ls "$M/model.safetensors"
	closed hcmodel check "$M"
	closed recs "$SAMPLES/ka-attn.mp"
	closed recs -p "$SAMPLES/ka-attn.mp"
}

@test "pipes: -o files are still written when stdout's reader goes" {
	closed attend-stats -o "$BATS_TEST_TMPDIR/st" "$SAMPLES/attend-stats.mp"
	[ -s "$BATS_TEST_TMPDIR/st/to_cls.tsv" ] || ls "$BATS_TEST_TMPDIR/st"
	closed attend-compare -o "$BATS_TEST_TMPDIR/cmp" \
	    "$SAMPLES/attend-a.mp" "$SAMPLES/attend-b.mp"
	[ -s "$BATS_TEST_TMPDIR/cmp/compare.tsv" ]
}

@test "pipes: a write error other than a closed pipe is exit 1 naming stdout" {
	[ -w /dev/full ] || skip "no /dev/full"
	for c in "score $SAMPLES/score-sweep.mp" "recs $SAMPLES/ka-attn.mp" \
	    "hcmodel ls $SAMPLES/tiny-cls/model.safetensors" "attend-stats $SAMPLES/attend-stats.mp" \
	    "classify-pattern -s $SAMPLES/ka-heads.mp"; do
		run -1 bash -c "$c >/dev/full"
		echo "$c: $output"
		[ "$output" = "${c%% *}: stdout: No space left on device" ]
	done
}
