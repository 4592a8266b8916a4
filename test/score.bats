#!/usr/bin/env bats
# score: GLUE metrics per group, deltas to base with paired tests, heat maps.
load helper

MP="$TOP/test/score-mp.py"

# col NAME: the value of column NAME on the line of group GROUP of $output.
col() {
	awk -F '\t' -v c="$1" -v g="$2" '
	    NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
	    $1 == g { print $k }' <<<"$output"
}

# Five MRPC examples, gold 1 0 0 1 1; base predicts 1 1 0 0 1, L1H1 is
# perfect, L1H2 inverted.
mrpc() {
	$PY - <<'EOF' | $PY "$MP"
import json
gold = [1, 0, 0, 1, 1]
sets = {"base": [1, 1, 0, 0, 1], "L1H1": gold, "L1H2": [1 - g for g in gold]}
for i, g in enumerate(gold):
    for name, pred in sets.items():
        p = pred[i]
        print(json.dumps({"id": "MRPC/dev/%d" % i, "task": "MRPC",
            "label": g, "logits": [0.25 - p, p - 0.25], "pred": p,
            "ablation": name}))
EOF
}

@test "score: hand-worked MRPC accuracy, F1 and deltas" {
	mrpc >"$BATS_TEST_TMPDIR/in.mp"
	run -0 score "$BATS_TEST_TMPDIR/in.mp"
	echo "$output"
	[ "${lines[0]}" = "$(printf 'group\tn\tf1\tacc\tmetric\tdelta\tci_lo\tci_hi\tp\ttest\tpaired\tresamples\tseed')" ]
	[ "$(col f1 base)" = 0.666667 ]
	[ "$(col acc base)" = 0.600000 ]
	[ "$(col test base)" = reference ]
	[ "$(col f1 L1H1)" = 1.000000 ]
	[ "$(col delta L1H1)" = 0.333333 ]
	[ "$(col acc L1H2)" = 0.000000 ]
	[ "$(col delta L1H2)" = -0.666667 ]
	[ "$(col test L1H1)" = bootstrap ]
	[ "$(col paired L1H1)" = 5 ]
	[ "$(col resamples L1H1)" = 1000 ]
	[ "$(col seed L1H1)" = 1 ]
}

@test "score: McNemar's exact p for accuracy deltas" {
	mrpc >"$BATS_TEST_TMPDIR/in.mp"
	run -0 score --metric acc "$BATS_TEST_TMPDIR/in.mp"
	echo "$output"
	# L1H1 wins 2 discordant pairs, loses 0: p = 2 * (1/2)^2
	[ "$(col delta L1H1)" = 0.400000 ]
	[ "$(col test L1H1)" = mcnemar ]
	[ "$(col p L1H1)" = 0.5 ]
	# L1H2 loses the 3 base gets right, wins none: p = 2 * (1/2)^3
	[ "$(col delta L1H2)" = -0.600000 ]
	[ "$(col p L1H2)" = 0.25 ]
}

@test "score: perfect, inverted and constant predictors (CoLA)" {
	$PY - <<'EOF' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
import json
gold = [1, 0, 1, 1, 0, 0, 1, 0]
sets = {"base": gold, "inv": [1 - g for g in gold], "const": [1] * 8}
for i, g in enumerate(gold):
    for name, pred in sets.items():
        print(json.dumps({"id": str(i), "label": g, "pred": pred[i],
            "kind": name}))
EOF
	run -0 score -t CoLA --by kind "$BATS_TEST_TMPDIR/in.mp"
	echo "$output"
	[ "$(col mcc base)" = 1.000000 ]
	[ "$(col acc base)" = 1.000000 ]
	[ "$(col mcc inv)" = -1.000000 ]
	[ "$(col acc inv)" = 0.000000 ]
	[ "$(col mcc const)" = 0.000000 ]
	[ "$(col acc const)" = 0.500000 ]
	[ "$(col delta inv)" = -2.000000 ]
}

@test "score: Pearson and Spearman with ties (STS-B), one group" {
	printf '%s\n' \
	    '{"task":"STS-B","label":1.0,"logits":[0.1]}' \
	    '{"task":"STS-B","label":3.0,"logits":[0.5]}' \
	    '{"task":"STS-B","label":2.0,"logits":[0.5]}' \
	    '{"task":"STS-B","label":4.0,"logits":[7.0]}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -0 score "$BATS_TEST_TMPDIR/in.mp"
	echo "$output"
	# ranks 1 2.5 2.5 4 against 1 3 2 4: rho = 4.5 / sqrt(4.5 * 5)
	[ "$(col spearman all)" = 0.948683 ]
	# r = 10.35 / sqrt(33.1075 * 5)
	[ "$(col pearson all)" = 0.804437 ]
	[ "$(col delta all)" = NA ]
	[ "$(col n all)" = 4 ]
}

@test "score: a constant regression prediction has no Pearson r" {
	printf '%s\n' '{"label":1.0,"logits":[2.0]}' \
	    '{"label":3.0,"logits":[2.0]}' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -0 score -t sts-b "$BATS_TEST_TMPDIR/in.mp"
	[ "$(col pearson all)" = NA ]
}

@test "score: the bootstrap is reproducible with its seed" {
	$PY - <<'EOF' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
import json, random
r = random.Random(3)
for i in range(60):
    g = r.randint(0, 1)
    for name in ("base", "L2"):
        p = g if r.random() < (0.7 if name == "base" else 0.8) else 1 - g
        print(json.dumps({"id": i, "label": g, "pred": p, "task": "RTE",
            "ablation": name}))
EOF
	score --seed 7 --resamples 500 "$BATS_TEST_TMPDIR/in.mp" >"$BATS_TEST_TMPDIR/a"
	score --seed 7 --resamples 500 "$BATS_TEST_TMPDIR/in.mp" >"$BATS_TEST_TMPDIR/b"
	score --seed 8 --resamples 500 "$BATS_TEST_TMPDIR/in.mp" >"$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	! cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	output=$(cat "$BATS_TEST_TMPDIR/a")
	[ "$(col seed L2)" = 7 ]
	[ "$(col resamples L2)" = 500 ]
	# the interval holds the observed difference
	awk -F '\t' '$1 == "L2" { exit !($5 >= $6 && $5 <= $7) }' "$BATS_TEST_TMPDIR/a"
}

@test "score: golden table" {
	mrpc >"$BATS_TEST_TMPDIR/in.mp"
	score --resamples 200 "$BATS_TEST_TMPDIR/in.mp" >"$BATS_TEST_TMPDIR/out"
	golden score-mrpc.tsv "$BATS_TEST_TMPDIR/out"
}

# sweep: an ablate-like sweep of 12 layers of 2 heads over 30 RTE examples,
# into $T/all.mp (as one machine writes it: per example, base, the heads, the
# layers, two other sets), $T/byset-N.mp (Slurm's shards by layer, base in
# the first only), $T/byrec-N.mp (shards by example) and $T/shuf.mp.
sweep() {
	$PY - "$BATS_TEST_TMPDIR" "$MP" <<'EOF'
import json, random, subprocess, sys
d, mp = sys.argv[1], sys.argv[2]
r = random.Random(11)
heads = ["L%dH%d" % (l, h) for l in range(1, 13) for h in (1, 2)]
layers = ["L%d" % l for l in range(1, 13)]
sets = ["base"] + heads + layers + ["other", "L1H1+L2H1"]
recs = []
for i in range(30):
    g = r.randint(0, 1)
    for k, s in enumerate(sets):
        p = g if r.random() < 0.5 + k / 100 else 1 - g
        recs.append({"id": "RTE/dev/%d" % i, "label": g, "task": "RTE",
            "logits": [0.5 - p, p - 0.5], "pred": p, "ablation": s})
def write(name, rs):
    text = "".join(json.dumps(x) + "\n" for x in rs)
    with open("%s/%s" % (d, name), "wb") as f:
        subprocess.run([sys.executable, mp], input=text.encode(), stdout=f,
            check=True)
write("all.mp", recs)
def layer(s):
    return 1 if s in ("base", "other", "L1H1+L2H1") else int(s[1:].split("H")[0])
for l in range(1, 13):
    write("byset-%d.mp" % l, [x for x in recs if layer(x["ablation"]) == l])
write("byrec-1.mp", [x for x in recs if int(x["id"].split("/")[2]) < 15])
write("byrec-2.mp", [x for x in recs if int(x["id"].split("/")[2]) >= 15])
random.Random(3).shuffle(recs)
write("shuf.mp", recs)
EOF
}

@test "score: a sweep split and merged in any order scores byte for byte the same" {
	T=$BATS_TEST_TMPDIR
	sweep
	score -t RTE --resamples 300 "$T/all.mp" >"$T/one.tsv"
	# Slurm's merge: shard 1, then the others in the shell's order
	cat "$T"/byset-{1,10,11,12,2,3,4,5,6,7,8,9}.mp >"$T/m1.mp"
	score -t RTE --resamples 300 "$T/m1.mp" | cmp "$T/one.tsv" -
	cat "$T"/byset-{12,11,10,9,8,7,6,5,4,3,2,1}.mp >"$T/m2.mp"
	score -t RTE --resamples 300 "$T/m2.mp" | cmp "$T/one.tsv" -
	# shards by example, merged either way round
	score -t RTE --resamples 300 "$T/byrec-2.mp" "$T/byrec-1.mp" |
	    cmp "$T/one.tsv" -
	cat "$T/byrec-2.mp" "$T/byrec-1.mp" | score -t RTE --resamples 300 |
	    cmp "$T/one.tsv" -
	score -t RTE --resamples 300 "$T/shuf.mp" | cmp "$T/one.tsv" -
	# the order: base, heads by layer and head, layers, the others by name
	want="base $(for l in $(seq 12); do echo L${l}H1 L${l}H2; done) $(seq -f 'L%g' 12) L1H1+L2H1 other"
	[ "$(tail -n +2 "$T/one.tsv" | cut -f1 | tr '\n' ' ')" = "$(echo $want) " ]
}

@test "score: a group's interval depends on its name and the seed, not on the others" {
	T=$BATS_TEST_TMPDIR
	sweep
	score -t RTE --resamples 300 "$T/all.mp" >"$T/all.tsv"
	score -t RTE --resamples 300 "$T/byset-7.mp" "$T/byset-1.mp" >"$T/two.tsv"
	for g in L7H1 L7H2 L7 L1H1; do
		[ "$(grep "^$g	" "$T/all.tsv")" = "$(grep "^$g	" "$T/two.tsv")" ]
	done
	# the same predictions under two names: two draws
	recs -t "$T/byset-1.mp" | grep '"ablation":"L1"' |
	    sed 's/"ablation":"L1"/"ablation":"copy"/' | recs -r >"$T/copy.mp"
	score -t RTE --metric f1 --resamples 300 "$T/byset-1.mp" "$T/copy.mp" >"$T/c.tsv"
	[ "$(grep '^L1	' "$T/c.tsv" | cut -f2-6)" = "$(grep '^copy	' "$T/c.tsv" | cut -f2-6)" ]
	[ "$(grep '^L1	' "$T/c.tsv" | cut -f7-9)" != "$(grep '^copy	' "$T/c.tsv" | cut -f7-9)" ]
}

@test "score: groups with different examples are paired on the common ids" {
	printf '%s\n' \
	    '{"id":"a","label":1,"pred":1,"ablation":"base"}' \
	    '{"id":"b","label":0,"pred":0,"ablation":"base"}' \
	    '{"id":"c","label":0,"pred":1,"ablation":"base"}' \
	    '{"id":"b","label":0,"pred":1,"ablation":"L1"}' \
	    '{"id":"c","label":0,"pred":0,"ablation":"L1"}' \
	    '{"id":"d","label":1,"pred":1,"ablation":"L1"}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -0 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	echo "$output"; echo "$stderr"
	[ "$stderr" = "score: group 'L1': 1 of its examples are not in 'base', 1 of 'base' are not in it; paired on 2" ]
	[ "$(col paired L1)" = 2 ]
	[ "$(col n L1)" = 3 ]
	# on b and c both get one right
	[ "$(col delta L1)" = 0.000000 ]
}

@test "score: --base chooses the reference group" {
	mrpc >"$BATS_TEST_TMPDIR/in.mp"
	run -0 score --base L1H1 --metric acc "$BATS_TEST_TMPDIR/in.mp"
	[ "$(head -2 <<<"$output" | tail -1 | cut -f1)" = L1H1 ]
	[ "$(col delta base)" = -0.400000 ]
}

@test "score: heat maps in PNG and SVG" {
	$PY - <<'EOF' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
import json, random
r = random.Random(5)
sets = ["base"] + ["L%dH%d" % (l, h) for l in (1, 2, 3) for h in (1, 2, 3, 4)]
sets += ["L1", "L2", "L3"]
for i in range(40):
    g = r.randint(0, 1)
    for k, s in enumerate(sets):
        p = g if r.random() < 0.5 + k / 40 else 1 - g
        print(json.dumps({"id": i, "label": g, "logits": [1 - p, p],
            "task": "RTE", "ablation": s}))
EOF
	score --resamples 100 --heatmap "$BATS_TEST_TMPDIR/h.png" \
	    "$BATS_TEST_TMPDIR/in.mp" >/dev/null
	score --resamples 100 --heatmap "$BATS_TEST_TMPDIR/h.svg" \
	    "$BATS_TEST_TMPDIR/in.mp" >/dev/null
	[ "$(head -c 8 "$BATS_TEST_TMPDIR/h.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	grep -q '<svg' "$BATS_TEST_TMPDIR/h.svg"
}

@test "score: a heat map needs groups named like heads or layers" {
	printf '%s\n' '{"id":"a","label":1,"pred":1,"ablation":"base"}' \
	    '{"id":"a","label":1,"pred":0,"ablation":"other"}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 score --heatmap "$BATS_TEST_TMPDIR/h.png" "$BATS_TEST_TMPDIR/in.mp"
	[[ $output == *"no groups named like L3H7 or L3"* ]]
}

@test "score: task names are tokenize's, whole, in any case" {
	T=$BATS_TEST_TMPDIR
	printf '%s\n' '{"task":"SST-2","label":1,"pred":1}' \
	    '{"task":"SST-2","label":0,"pred":1}' | $PY "$MP" >"$T/sst.mp"
	for t in SST-2 sst-2 SST2 sst2; do
		run -0 score -t $t "$T/sst.mp"
		[ "$(col acc all)" = 0.500000 ]
	done
	printf '%s\n' '{"task":"MNLI-mm","label":2,"logits":[0,0,1]}' |
	    $PY "$MP" >"$T/mnli.mp"
	for t in MNLI mnli-m MNLI-MM; do
		run -0 score -t $t "$T/mnli.mp"
		[ "$(col acc all)" = 1.000000 ]
	done
	printf '%s\n' '{"task":"AX","label":2,"logits":[0,0,1]}' \
	    '{"task":"AX","label":0,"logits":[1,0,0]}' | $PY "$MP" >"$T/ax.mp"
	run -0 score -t ax "$T/ax.mp"
	[ "$(col mcc all)" = 1.000000 ]
	for t in MNLIX MNL MNLI-x SST SST-22 STS RT; do
		run -2 --separate-stderr score -t $t "$T/sst.mp"
		[ "$stderr" = "score: -t: unknown task '$t' (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI, AX)" ]
	done
	printf '%s\n' '{"task":"MNLIX","label":1,"pred":1}' | $PY "$MP" >"$T/x.mp"
	run -1 --separate-stderr score "$T/x.mp"
	[[ $stderr == *"record 1: unknown task 'MNLIX'" ]]
	# every task tokenize -t takes, score -t takes
	for t in CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI AX; do
		run -2 --separate-stderr tokenize -v "$GOLDEN/tokenize-vocab.txt" -t $t --bogus
		[[ $stderr != *"not a GLUE task"* ]]
		printf '{"task":"%s","label":1,"logits":[1]}\n' $t | $PY "$MP" >"$T/t.mp"
		run --separate-stderr score -t $t "$T/t.mp"
		[[ $stderr != *"unknown task"* ]]
	done
}

@test "score: a record without a label names the record" {
	printf '%s\n' '{"label":1,"pred":1}' '{"label":0,"pred":0}' \
	    '{"pred":1}' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"in.mp: record 3: no key 'label'"* ]]
	[ -z "$output" ]
}

@test "score: a record without logits or pred names the record" {
	printf '%s\n' '{"label":1,"pred":1}' '{"label":0}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score <"$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"record 2: no key 'logits' or 'pred'"* ]]
}

@test "score: logits of the wrong type" {
	printf '%s\n' '{"label":1,"logits":"high"}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"record 1: "*"logits"* ]]
}

@test "score: mixed tasks are an error" {
	printf '%s\n' '{"task":"RTE","label":1,"pred":1}' \
	    '{"task":"MRPC","label":0,"pred":0}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"record 2: task 'MRPC', but earlier records are RTE: mixed tasks"* ]]
	run -1 --separate-stderr score -t MRPC "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"record 1: task 'RTE', but -t says MRPC"* ]]
}

@test "score: groups with no base group are an error" {
	printf '%s\n' '{"id":"a","label":1,"pred":1,"ablation":"L1"}' \
	    '{"id":"a","label":1,"pred":0,"ablation":"L2"}' |
	    $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[ "$stderr" = "score: no group 'base' to compare the other 2 groups of 'ablation' with (--base names another)" ]
	[ -z "$output" ]
}

@test "score: an id twice in a group is an error" {
	printf '%s\n' '{"id":"a","label":1,"pred":1}' \
	    '{"id":"a","label":1,"pred":0}' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"record 2: id 'a' appears twice in group 'all'"* ]]
}

@test "score: a truncated stream is an error" {
	mrpc | head -c 300 >"$BATS_TEST_TMPDIR/in.mp"
	run -1 --separate-stderr score "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"in.mp: record "* ]]
	[ -z "$output" ]
}

@test "score: bad usage exits 2" {
	run -2 --separate-stderr score --bogus
	[[ $stderr == *"usage: score "* ]]
	run -2 --separate-stderr score -t NOPE
	[[ $stderr == *"unknown task 'NOPE'"* ]]
	run -2 --separate-stderr score --resamples lots
	[[ $stderr == *"--resamples"* ]]
	run -2 --separate-stderr score --seed -1
	run -2 --separate-stderr score --metric bleu
	run -2 --separate-stderr score --heatmap out.jpg
}

@test "score: a classification metric on a regression task is bad usage" {
	printf '%s\n' '{"label":1.0,"logits":[2.0]}' | $PY "$MP" >"$BATS_TEST_TMPDIR/in.mp"
	run -2 --separate-stderr score -t STS-B --metric acc "$BATS_TEST_TMPDIR/in.mp"
	[[ $stderr == *"regression"* ]]
}

@test "score: samples/score-sweep.mp is what samples/mkscore.py writes" {
	$PY "$TOP/samples/mkscore.py" | $PY "$MP" >"$BATS_TEST_TMPDIR/s.mp"
	cmp "$TOP/samples/score-sweep.mp" "$BATS_TEST_TMPDIR/s.mp"
}

@test "score: a heat map stays in proportion to the groups named like L3H7" {
	d=$BATS_TEST_TMPDIR
	printf '%s\n' '{"id": "a", "label": 1, "logits": [0, 1], "pred": 1, "ablation": "base"}' \
	    '{"id": "a", "label": 1, "logits": [0, 1], "pred": 1, "ablation": "L900H900"}' |
	    recs -r >"$d/sparse.mp"
	run -1 --separate-stderr bash -c '$MEMCAP; exec score --heatmap "$1" "$2"' - \
	    "$d/h.png" "$d/sparse.mp"
	[ "$stderr" = "score: $d/h.png: a grid of 900 layers x 900 heads for 1 groups is out of all proportion (layers and heads are numbered from 1)" ]
	[ ! -e "$d/h.png" ]
}
