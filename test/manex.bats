bats_require_minimum_version 1.5.0
load helper

# The EXAMPLES of every man page run as the page shows them: test/manex
# takes the commands out of man/NAME.1, and they run one after another
# (set -e, pipefail) in a directory of their own where samples/ is the
# tree's.  Each test then looks at what its page's examples made.
# finetune's and pretrain's examples train models; test/finetune.bats and
# test/pretrain.bats run them.

setup() {
	W=$BATS_TEST_TMPDIR
	cd "$W"
	ln -s "$SAMPLES" samples
}

# examples PAGE N: the examples of man/PAGE.1, which must be N, run;
# their standard output in PAGE.out, their standard error in PAGE.err.
examples() {
	"$TOP/test/manex" "$TOP/man/$1.1" >"$1.sh"
	[ "$(grep -c '^# example ' "$1.sh")" -eq "$2" ]
	if ! bash -e -o pipefail "$1.sh" >"$1.out" 2>"$1.err"; then
		cat "$1.sh" "$1.err"
		return 1
	fi
}

@test "manex: every page's examples are run" {
	for f in "$TOP"/man/*.1; do
		n=${f##*/}
		n=${n%.1}
		[ "$n" = finetune ] || [ "$n" = pretrain ] ||
		    grep -q "^@test \"manex: $n.1: " "$BATS_TEST_FILENAME" ||
		    { echo "no test runs $n.1's examples"; return 1; }
	done
}

@test "manex: the escapes of a page that show another command are named" {
	printf '%s\n' '.Sh EXAMPLES' .Bd "printf 'a\\tb\\en'" .Ed >bad.1
	run -1 --separate-stderr "$TOP/test/manex" bad.1
	[ "$stderr" = "manex: bad.1: line 3: an escape other than \\e, \\&, \\- and \\(aq" ]
	printf '%s\n' '.Sh EXAMPLES' .Bd '$ echo a \e' '    b' a .Ed >ok.1
	run -0 "$TOP/test/manex" ok.1
	[ "$output" = "$(printf '# example 1 of ok.1\necho a \\\n    b')" ]
}

@test "manex: ablate.1: its examples run" {
	examples ablate 4
	[ -s sweep.mp ] && [ -s zero.mp ] && [ -s sets.mp ]
	[ "$(recs -k ablation sets.mp | sort -u | wc -l)" -eq 2 ]
	[[ $(sed -n 2p ablate.out) == base* ]]
}

@test "manex: attribute.1: its examples run" {
	examples attribute 2
	[ "$(recs -c attr.mp)" -eq 24 ]
	[ "$(head -n 1 importance.tsv)" = "$(printf 'layer\thead\timportance')" ]
	[ "$(sed -n 1,4p attribute.out | wc -l)" -eq 4 ]
	[ "$(sed -n 5,28p attribute.out | grep -c '"attr_label":')" -eq 24 ]
}

@test "manex: attend-compare.1: its examples run" {
	examples attend-compare 3
	[ -s cmp/cosine.png ] && [ -s cmp/compare.tsv ]
	[ "$(grep -c '^layer' attend-compare.out)" -eq 3 ]
	tail -n 3 attend-compare.out | cut -f 1,2 | tr '\n' ' ' |
	    grep -qx "$(printf '1\t1 2\t1 3\t1 ')"
}

@test "manex: attend-dump.1: its examples run" {
	examples attend-dump 5
	[ "$(recs -c attend-dump.out)" -eq 96 ]
	[ "$(ls out | wc -l)" -eq 72 ]		# L2 of 8 records twice, L1H1
	[ "$(ls sheets | wc -l)" -eq 8 ]
	[ "$(ls rollout | wc -l)" -eq 24 ]	# 8 records, 3 layers
}

@test "manex: attend-rollout.1: its examples run" {
	examples attend-rollout 2
	[ "$(wc -l <rollout.jsonl)" -eq 8 ]
	[ "$(recs -k flow flow.mp | grep -c '"f16"')" -eq 8 ]
}

@test "manex: attend-stats.1: its examples run" {
	examples attend-stats 4
	head -n 1 stats.tsv | grep -qx "$(printf 'stat\tlayer\thead\tvalue\tn')"
	[ "$(head -n 3 attend-stats.out | cut -f 1 | sort -u)" = prev ]
	[ -s stats/fromcls_sep.tsv ] && [ -s stats/fromcls.png ]
	grep -q "^1	" stats/fromcls_sep.tsv
	[ "$(awk -F '\t' 'NR > 1 { print $3 }' rollout.tsv | sort -u)" = 1 ]
}

@test "manex: attend-view.1: its examples run" {
	examples attend-view 2
	grep -qx 'attend-view: view.html: 8 records, 0.1 MB' attend-view.err
	grep -q '"pattern":\["diagonal","diagonal","vertical",' view.html
	[ "$(grep -c '^<script type="application/json" class="meta">' \
	    two.html)" = 2 ]
}

@test "manex: classify-pattern.1: its examples run" {
	examples classify-pattern 4
	[ -s patterns.png ] && [ -s ka.model ]
	# the summaries: of attend-dump's heads, from text, of attn itself
	[ "$(grep -c "^all	-	-	96	" classify-pattern.out)" -eq 3 ]
	grep -q "^all	-	-	24	" classify-pattern.out	# rollout
}

@test "manex: encode.1: its examples run" {
	examples encode 5
	[ "$(head -n 24 encode.out | grep -c '^{"id":"tiny/dev/[0-9]*","logits":')" -eq 24 ]
	# the RoBERTa sample's tokens and prediction
	grep -aq '{"tokens":\["<s>",.*"</s>"\],"pred":[0-9]*}$' encode.out
	[ "$(recs -c attn.mp)" -eq 24 ]
	[ "$(recs -k attn attn.mp | grep -c '"f16"')" -eq 24 ]
	[ "$(recs -k norm,alti maps.mp | grep -c '"norm":{"dtype":"f32","shape":\[2,2,')" -eq 24 ]
}

@test "manex: hcmodel.1: its examples run" {
	examples hcmodel 5
	[ "$(grep -c '^status	ok$' hcmodel.out)" -eq 3 ]
	grep -q '^family	RoBERTa (roberta)$' hcmodel.out
	[ -s bin-model-f32/model.safetensors ]
	run -0 hcmodel check bin-model-f32
	[[ $output == *"dtypes	f32 "* ]]
}

@test "manex: recs.1: its examples run" {
	examples recs 4
	[ "$(recs -c attn.mp.gz)" -eq 24 ]
	[ "$(sed -n 3p recs.out)" = 24 ]
	grep -q '^{"id":"mine","logits":' recs.out
}

@test "manex: score.1: its examples run" {
	examples score 4
	[ -s sweep.png ]
	golden score-sweep.tsv sweep.tsv
	[ "$(grep -c '^base	' score.out)" -eq 3 ]
	grep -q '^L1	' score.out
}

@test "manex: tokenize.1: its examples run" {
	examples tokenize 6
	[ "$(recs -c dev.mp)" -eq 50 ]
	grep -q '"pred"' tokenize.out
	grep -qx "$(($(wc -l <samples/demo/dev.tsv) - 1))" tokenize.out
	[ "$(grep -cxF '{"tokens":["<s>","The","Ġc","a","f","Ã©","Ġo","p","en","ed",".","</s>"]}' tokenize.out)" -eq 1 ]
	grep -qxF '{"tokens":["[CLS]","▁p","ric","es","▁r","os","e",".","[SEP]","▁the","y","▁f","ell",".","[SEP]"],"seg":[0,0,0,0,0,0,0,0,0,1,1,1,1,1,1]}' tokenize.out
}
