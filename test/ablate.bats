#!/usr/bin/env bats
# ablate: the baseline and each head set, logits equal to encode's.
load helper

MP="$TOP/test/score-mp.py"
LOGITS="$TOP/test/ablate-logits.py"

setup_file() {
	[ -x "$TOP/cmd/ablate" ] || return 0
	# a 2-layer, 4-head random classifier and six labelled records
	$PY "$TOP/test/ablate-model.py" "$BATS_FILE_TMPDIR/m" 2 16 4 32 40 2 1
	# 3 layers of 2 heads of 16: gemm.c's split queries, keys and values
	# and the last layer's [CLS]-only query run too
	$PY "$TOP/test/ablate-model.py" "$BATS_FILE_TMPDIR/m3" 3 32 2 64 40 3 2
	# 13 records of 2 to 60 tokens, for batches of several
	$PY - <<'EOF' | $PY "$MP" >"$BATS_FILE_TMPDIR/many.mp"
import json, random
r = random.Random(5)
for i, T in enumerate([9, 2, 60, 17, 33, 5, 41, 12, 28, 3, 50, 21, 8]):
    ids = [2] + [r.randrange(5, 40) for _ in range(T - 2)] + [3]
    a = T // 2
    print(json.dumps({"id": "m/%d" % i, "label": i % 3, "ids": ids,
        "seg": [0] * a + [1] * (T - a)}))
EOF
	$PY - <<'EOF' | $PY "$MP" >"$BATS_FILE_TMPDIR/tok.mp"
import json, random
r = random.Random(2)
for i in range(6):
    T = r.randint(5, 14)
    ids = [2] + [r.randrange(5, 40) for _ in range(T - 2)] + [3]
    a = T // 2
    print(json.dumps({"id": "t/%d" % i, "task": "RTE", "label": i % 2,
        "ids": ids, "seg": [0] * a + [1] * (T - a), "text_a": "x"}))
EOF
}

setup() {
	M="$BATS_FILE_TMPDIR/m"
	IN="$BATS_FILE_TMPDIR/tok.mp"
}

# logits of set NAME from ablate's table $1, as encode's table prints them
pick() {
	awk -F '\t' -v n="$2" '$2 == n { print $1 "\t" $3 }' "$1"
}

@test "ablate: one record per example and set, baseline first" {
	ablate -m "$M" --heads 1:2,2:4 --layers 2 "$IN" |
	    $PY "$LOGITS" >"$BATS_TEST_TMPDIR/t"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/t")" -eq 24 ]
	[ "$(head -4 "$BATS_TEST_TMPDIR/t" | cut -f1,2 | tr '\t\n' ' ')" = \
	    "t/0 base t/0 L1H2 t/0 L2H4 t/0 L2 " ]
}

@test "ablate: base and every set equal encode -b 1 --disable, bit for bit" {
	for mode in uniform zero; do
		ablate -m "$M" --heads all --layers all --mode $mode "$IN" |
		    $PY "$LOGITS" >"$BATS_TEST_TMPDIR/a"
		encode -m "$M" -b 1 "$IN" | $PY "$LOGITS" | cut -f1,3 \
		    >"$BATS_TEST_TMPDIR/e"
		pick "$BATS_TEST_TMPDIR/a" base | cmp - "$BATS_TEST_TMPDIR/e"
		for s in 1:1 1:4 2:3 2:4 L1 L2; do
			name=$(sed 's/^\([0-9]\):\([0-9]\)$/L\1H\2/' <<<"$s")
			spec=$(sed 's/^L\([0-9]\)$/\1:*/' <<<"$s")
			encode -m "$M" -b 1 --disable "$spec" --mode $mode "$IN" |
			    $PY "$LOGITS" | cut -f1,3 >"$BATS_TEST_TMPDIR/e"
			pick "$BATS_TEST_TMPDIR/a" "$name" |
			    cmp - "$BATS_TEST_TMPDIR/e"
		done
	done
}

# expect MODEL MODE SETS: what encode --disable gives for the baseline and
# each line "NAME SPEC" of SETS on many.mp, "id<TAB>NAME<TAB>logits", sorted
expect() {
	local name spec
	{
		encode -m "$1" --mode "$2" "$MANY" | $PY "$LOGITS" |
		    awk -F '\t' -v OFS='\t' '{ print $1, "base", $3 }'
		while read -r name spec; do
			encode -m "$1" --disable "$spec" --mode "$2" "$MANY" |
			    $PY "$LOGITS" |
			    awk -F '\t' -v OFS='\t' -v n="$name" \
			    '{ print $1, n, $3 }'
		done <"$3"
	} | sort
}

@test "ablate: batches of several records equal encode, every kernel, mode and thread count" {
	local T="$BATS_TEST_TMPDIR" m L H l h gemm mode n b
	MANY="$BATS_FILE_TMPDIR/many.mp"
	printf 'two-layers\t1:1,2:2\nlate\t2:*\n' >"$T/file"
	for m in m m3; do
		L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' \
		    "$BATS_FILE_TMPDIR/$m/config.json")
		H=$(sed -n 's/.*"num_attention_heads": *\([0-9]*\).*/\1/p' \
		    "$BATS_FILE_TMPDIR/$m/config.json")
		[ -n "$L" ] && [ -n "$H" ]
		{
			for l in $(seq "$L"); do
				for h in $(seq "$H"); do
					echo "L${l}H$h $l:$h"
				done
			done
			for l in $(seq "$L"); do echo "L$l $l:*"; done
			echo "two-layers 1:1,2:2"
			echo "late 2:*"
		} >"$T/sets"
		for gemm in "" openblas; do
			for mode in uniform zero; do
				HEADCOUNT_GEMM=$gemm expect "$BATS_FILE_TMPDIR/$m" \
				    $mode "$T/sets" >"$T/want"
				[ "$(wc -l <"$T/want")" -eq $((13 * (L * H + L + 3))) ]
				for n in 1 2; do
					for b in 1 40 1024; do
						echo "$m HEADCOUNT_GEMM=$gemm $mode" \
						    "threads $n -b $b"
						HEADCOUNT_GEMM=$gemm \
						    OPENBLAS_NUM_THREADS=$n ablate \
						    -m "$BATS_FILE_TMPDIR/$m" -b $b \
						    --heads all --layers all \
						    --sets "$T/file" --mode $mode \
						    "$MANY" | $PY "$LOGITS" | sort |
						    cmp - "$T/want"
					done
				done
			done
		done
	done
}

@test "ablate: the order is the same whatever the batch" {
	local T="$BATS_TEST_TMPDIR"
	MANY="$BATS_FILE_TMPDIR/many.mp"
	ablate -m "$BATS_FILE_TMPDIR/m3" -b 1 --heads all --layers 2 \
	    "$MANY" >"$T/a"
	ablate -m "$BATS_FILE_TMPDIR/m3" -b 100 --heads all --layers 2 \
	    "$MANY" >"$T/b"
	cmp "$T/a" "$T/b"
	$PY "$LOGITS" <"$T/b" | cut -f1,2 | head -9 | tr '\t\n' '  ' >"$T/o"
	[ "$(cat "$T/o")" = "m/0 base m/0 L1H1 m/0 L1H2 m/0 L2H1 m/0 L2H2 m/0 L3H1 m/0 L3H2 m/0 L2 m/1 base " ]
}

# The sweep holds a batch of records back: a bad record must not lose the
# good ones read before it.
@test "ablate: the records before a bad one go out" {
	local T="$BATS_TEST_TMPDIR"
	printf '%s\n' '{"id":"a","ids":[2,5,3]}' '{"id":"b","ids":[2,6,7,3]}' \
	    '{"id":"c","ids":[2,99,3]}' | $PY "$MP" >"$T/bad.mp"
	run -1 --separate-stderr ablate -m "$M" --heads 1:1 "$T/bad.mp"
	[[ $stderr == *"bad.mp: record 3: "*"vocabulary"* ]]
	ablate -m "$M" --heads 1:1 "$T/bad.mp" 2>/dev/null |
	    $PY "$LOGITS" | cut -f1,2 | tr '\t\n' '  ' >"$T/o" || true
	[ "$(cat "$T/o")" = "a base a L1H1 b base b L1H1 " ]
}

@test "ablate: disabling changes the logits, and the modes differ" {
	ablate -m "$M" --heads 1:1 "$IN" | $PY "$LOGITS" >"$BATS_TEST_TMPDIR/u"
	ablate -m "$M" --heads 1:1 --mode zero "$IN" | $PY "$LOGITS" \
	    >"$BATS_TEST_TMPDIR/z"
	! cmp -s <(pick "$BATS_TEST_TMPDIR/u" base) <(pick "$BATS_TEST_TMPDIR/u" L1H1)
	! cmp -s <(pick "$BATS_TEST_TMPDIR/u" L1H1) <(pick "$BATS_TEST_TMPDIR/z" L1H1)
}

@test "ablate: --no-reuse gives the same output" {
	for mode in uniform zero; do
		ablate -m "$M" --heads all --layers all --mode $mode "$IN" \
		    >"$BATS_TEST_TMPDIR/a"
		ablate -m "$M" --heads all --layers all --mode $mode \
		    --no-reuse "$IN" >"$BATS_TEST_TMPDIR/b"
		cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	done
}

@test "ablate: sets from a file, comments skipped" {
	printf '# two sets\n\nfirst-two\t1:1,1:2\nlate\tL2H3\n' \
	    >"$BATS_TEST_TMPDIR/sets"
	ablate -m "$M" --sets "$BATS_TEST_TMPDIR/sets" "$IN" |
	    $PY "$LOGITS" >"$BATS_TEST_TMPDIR/a"
	[ "$(head -3 "$BATS_TEST_TMPDIR/a" | cut -f2 | tr '\n' ' ')" = \
	    "base first-two late " ]
	encode -m "$M" -b 1 --disable 1:1,1:2 "$IN" | $PY "$LOGITS" |
	    cut -f1,3 | cmp - <(pick "$BATS_TEST_TMPDIR/a" first-two)
}

@test "ablate: output scores with score, per set" {
	ablate -m "$M" --heads 1:* --layers all "$IN" >"$BATS_TEST_TMPDIR/a"
	run -0 score --resamples 50 "$BATS_TEST_TMPDIR/a"
	[ "${#lines[@]}" -eq 8 ]
	[[ ${lines[1]} == base$'\t'6$'\t'* ]]
}

@test "ablate: golden output" {
	ablate -m "$M" --heads 2:1 --layers 1 "$IN" >"$BATS_TEST_TMPDIR/out"
	golden ablate-tiny.mp "$BATS_TEST_TMPDIR/out"
}

@test "ablate: progress on stderr with -v" {
	run -0 --separate-stderr ablate -v -m "$M" --heads 1:1 "$IN"
	[[ $stderr == *"12/12 runs (records x sets)"* ]]
}

@test "ablate: bad usage exits 2" {
	run -2 --separate-stderr ablate --heads all
	[[ $stderr == *"usage: ablate -m model"* ]]
	run -2 --separate-stderr ablate -Z
	[[ $stderr == *"usage: ablate "* ]]
	run -2 --separate-stderr ablate -m "$M" --mode half "$IN"
	[[ $stderr == *"--mode: 'half'"* ]]
	run -2 --separate-stderr ablate -m "$M" --heads 9:1 "$IN"
	[[ $stderr == *"--heads: "* ]]
	run -2 --separate-stderr ablate -m "$M" --heads bogus "$IN"
	run -2 --separate-stderr ablate -m "$M" --layers 3 "$IN"
	[[ $stderr == *"--layers: '3': layer 3 is outside 1..2"* ]]
	run -2 --separate-stderr ablate -m "$M" --layers 1:2 "$IN"
	run -2 --separate-stderr ablate -m "$M" -b 0 "$IN"
	[[ $stderr == *"-b: '0' is not a number of tokens"* ]]
}

@test "ablate: a bad line in a sets file names the file and line" {
	printf 'ok\t1:1\nbroken 1:2\n' >"$BATS_TEST_TMPDIR/sets"
	run -1 --separate-stderr ablate -m "$M" --sets "$BATS_TEST_TMPDIR/sets" "$IN"
	[[ $stderr == *"sets:2: expected a name, a tab and a head spec"* ]]
	printf 'ok\t7:1\n' >"$BATS_TEST_TMPDIR/sets"
	run -1 --separate-stderr ablate -m "$M" --sets "$BATS_TEST_TMPDIR/sets" "$IN"
	[[ $stderr == *"sets:1: "* ]]
}

@test "ablate: malformed records name the record" {
	printf '%s\n' '{"id":"a","ids":[2,5,3]}' '{"id":"b","ids":"2 5 3"}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/bad.mp"
	run -1 --separate-stderr ablate -m "$M" "$BATS_TEST_TMPDIR/bad.mp"
	[[ $stderr == *"bad.mp: record 2: "*"ids"* ]]
	printf '%s\n' '{"id":"a","ids":[2,99,3]}' | $PY "$MP" >"$BATS_TEST_TMPDIR/bad.mp"
	run -1 --separate-stderr ablate -m "$M" "$BATS_TEST_TMPDIR/bad.mp"
	[[ $stderr == *"record 1: "* ]]
	head -c 20 "$IN" >"$BATS_TEST_TMPDIR/cut.mp"
	run -1 --separate-stderr ablate -m "$M" "$BATS_TEST_TMPDIR/cut.mp"
	[[ $stderr == *"record 1"* ]]
}

@test "ablate: a corrupt model is an error naming the file" {
	mkdir "$BATS_TEST_TMPDIR/m"
	cp "$M/config.json" "$M/vocab.txt" "$BATS_TEST_TMPDIR/m"
	head -c 100 "$M/model.safetensors" >"$BATS_TEST_TMPDIR/m/model.safetensors"
	run -1 --separate-stderr ablate -m "$BATS_TEST_TMPDIR/m" "$IN"
	[[ $stderr == *"model.safetensors"* ]]
}

# Found with test/fuzz/config: the weights were allocated by config.json's
# sizes before the tensors were looked at, so a config that claims more than
# the file holds asked for terabytes ("realloc ...: Cannot allocate memory").
@test "ablate: a config.json larger than its weights names the missing tensor" {
	local d="$BATS_TEST_TMPDIR/m" k
	for k in num_hidden_layers vocab_size intermediate_size hidden_size; do
		rm -rf "$d"
		cp -r "$M" "$d"
		$PY - "$d/config.json" "$k" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))
c[sys.argv[2]] = 16777216
open(sys.argv[1], "w").write(json.dumps(c))
EOF2
		run -1 --separate-stderr bash -c \
		    '$MEMCAP; exec ablate -m "$1" "$2"' - "$d" "$IN"
		echo "$k: $stderr"
		[[ $stderr == "ablate: $d/model.safetensors: "* ]]
		[[ $stderr == *"tensor '"* ]]
	done
	# a classifier of a dtype not loaded has no data to bound its rows
	rm -rf "$d"
	cp -r "$M" "$d"
	$PY - "$d/model.safetensors" <<'EOF2'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
h["classifier.weight"] = {"dtype": "I64", "shape": [10**9, 16],
    "data_offsets": [0, 0]}
hb = json.dumps(h).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
EOF2
	run -1 --separate-stderr bash -c \
	    '$MEMCAP; exec ablate -m "$1" "$2"' - "$d" "$IN"
	[ "$stderr" = "ablate: $d/model.safetensors: tensor 'classifier.weight' has a dtype other than F32, F16 or BF16" ]
}

@test "ablate: non-finite logits are an error naming the record and the set" {
	$PY "$TOP/test/mkbad.py" model "$SAMPLES/tiny-cls" "$BATS_TEST_TMPDIR/inf" "
o = h['classifier.weight']['data_offsets']
d = d[:o[0]] + struct.pack('<f', 3e38) * ((o[1] - o[0]) // 4) + d[o[1]:]"
	run -1 --separate-stderr ablate -m "$BATS_TEST_TMPDIR/inf" --heads all \
	    "$SAMPLES/tiny-cls/dev.mp"
	[ "$stderr" = "ablate: $SAMPLES/tiny-cls/dev.mp: record 1: id 'tiny/dev/0': ablation 'base': logit 1 is not finite (the model's weights or inputs overflow)" ]
}

@test "ablate: a non-finite logit in a batch: the records before it whole, once" {
	# every classifier weight 1.2e38: the pooled outputs of the first
	# record sum to 2.2, its logits stay finite; the second's sum to 3.2,
	# over the largest float: it overflows in the middle of a batch
	$PY "$TOP/test/mkbad.py" model "$SAMPLES/tiny-cls" "$BATS_TEST_TMPDIR/inf" "
o = h['classifier.weight']['data_offsets']
d = d[:o[0]] + struct.pack('<f', 1.2e38) * ((o[1] - o[0]) // 4) + d[o[1]:]"
	ablate -m "$SAMPLES/tiny-cls" --heads all "$SAMPLES/tiny-cls/dev.mp" |
	    recs -k id,ablation | head -n "$(ablate -m "$SAMPLES/tiny-cls" \
	    --heads all "$SAMPLES/tiny-cls/dev.mp" | recs -k id | grep -c \
	    "$(recs -k id "$SAMPLES/tiny-cls/dev.mp" | head -1)")" >"$BATS_TEST_TMPDIR/want"
	run -1 --separate-stderr bash -c 'set -o pipefail
	    ablate -m "$1" --heads all "$2" |
	    recs -k id,ablation >"$3"' - "$BATS_TEST_TMPDIR/inf" \
	    "$SAMPLES/tiny-cls/dev.mp" "$BATS_TEST_TMPDIR/got"
	[ "$stderr" = "ablate: $SAMPLES/tiny-cls/dev.mp: record 2: id 'tiny/dev/1': ablation 'base': logit 1 is not finite (the model's weights or inputs overflow)" ]
	[ -s "$BATS_TEST_TMPDIR/want" ]
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}
