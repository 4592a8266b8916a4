bats_require_minimum_version 1.5.0
load helper

maps() {
	$PY "$BATS_TEST_DIRNAME/attend-maps.py" "$@"
}

# stat layer head -> "value n" from a combined table on stdin
pick() {
	awk -F '\t' -v s="$1" -v l="$2" -v h="$3" \
	    '$1 == s && $2 == l && $3 == h { print $4, $5 }'
}

setup() {
	need_numpy
	T=$BATS_TEST_TMPDIR
}

@test "attend-stats: uniform maps receive 1/T and have entropy ln T" {
	maps uniform >"$T/u.mp"
	attend-stats "$T/u.mp" >"$T/out"
	head -n 1 "$T/out" | grep -qx "$(printf 'stat\tlayer\thead\tvalue\tn')"
	for s in to_cls to_sep to_punct prev next self fromcls_sep; do
		[ "$(pick $s 2 2 <"$T/out")" = "0.200000 1" ]
	done
	[ "$(pick entropy 1 2 <"$T/out")" = "1.609438 1" ]	# ln 5
	[ "$(pick span 1 1 <"$T/out")" = "nan 0" ]
	# fromcls_* is printed for the last layer only
	[ "$(awk -F '\t' '$1 ~ /^fromcls/ && $2 != 2' "$T/out")" = "" ]
	[ "$(wc -l <"$T/out")" -eq $((1 + 8 * 4 + 3 * 2)) ]
}

@test "attend-stats: one-hot maps: previous, next and [CLS] heads score 1" {
	maps onehot >"$T/oh.mp"
	attend-stats "$T/oh.mp" >"$T/out"
	[ "$(pick prev 1 1 <"$T/out")" = "1.000000 1" ]
	[ "$(pick next 1 2 <"$T/out")" = "1.000000 1" ]
	[ "$(pick to_cls 1 3 <"$T/out")" = "1.000000 1" ]
	[ "$(pick entropy 1 1 <"$T/out")" = "0.000000 1" ]
	# [CLS] gets rows 0 and 1 of the previous-token head: 2/8
	[ "$(pick to_cls 1 1 <"$T/out")" = "0.250000 1" ]
	[ "$(pick fromcls_cls 1 3 <"$T/out")" = "1.000000 1" ]
}

@test "attend-stats: a class counts only the records that have it" {
	maps classes >"$T/c.mp"
	attend-stats -c neg="$SAMPLES/negation.txt" "$T/c.mp" >"$T/out"
	# "not" is token 4 of the one-hot record; its column: row 5 (prev)
	[ "$(pick to_neg 1 1 <"$T/out")" = "0.125000 1" ]
	[ "$(pick to_neg 1 3 <"$T/out")" = "0.000000 1" ]
	[ "$(pick to_cls 1 3 <"$T/out")" = "0.666667 2" ]
}

@test "attend-stats: relation heads take the max over all pairs, or --zip" {
	maps spans >"$T/s.mp"
	attend-stats "$T/s.mp" >"$T/all"
	attend-stats --zip "$T/s.mp" >"$T/zip"
	[ "$(pick span 1 1 <"$T/all")" = "0.666667 3" ]
	[ "$(pick span 1 1 <"$T/zip")" = "0.333333 3" ]
	[ "$(pick span 1 2 <"$T/all")" = "0.000000 3" ]
}

@test "attend-stats: word level sums to and averages from the pieces" {
	maps word >"$T/w.mp"
	printf 'playing\n' >"$T/v.txt"
	attend-stats -w -c v="$T/v.txt" "$T/w.mp" >"$T/out"
	[ "$(pick to_v 1 1 <"$T/out")" = "0.333333 1" ]		# 2 of 6
	[ "$(pick prev 1 1 <"$T/out")" = "0.208333 1" ]
	[ "$(pick entropy 1 1 <"$T/out")" = "1.560710 1" ]
	[ "$(pick to_cls 1 1 <"$T/out")" = "0.166667 1" ]
	# at token level no piece is "playing"
	attend-stats -c v="$T/v.txt" "$T/w.mp" >"$T/tok"
	[ "$(pick to_v 1 1 <"$T/tok")" = "nan 0" ]
}

@test "attend-stats: per-head records give the same table as attn records" {
	maps onehot >"$T/a.mp"
	maps perhead >"$T/p.mp"
	attend-stats "$T/a.mp" >"$T/a"
	attend-stats "$T/p.mp" >"$T/p"
	diff -u "$T/a" "$T/p"
}

@test "attend-stats: f16 maps agree with f32 within f16 precision" {
	maps random 3 2 2 7 4 a >"$T/f32.mp"
	maps random 3 2 2 7 4 a f16 >"$T/f16.mp"
	attend-stats "$T/f32.mp" >"$T/a"
	attend-stats "$T/f16.mp" >"$T/b"
	paste "$T/a" "$T/b" | awk -F '\t' 'NR > 1 && $4 != "nan" {
		d = $4 - $9; if (d < 0) d = -d; if (d > m) m = d }
		END { print "maxdiff", m; exit !(m < 2e-3) }'
}

@test "attend-stats: sample matches golden output" {
	attend-stats -c neg="$SAMPLES/negation.txt" \
	    "$SAMPLES/attend-stats.mp" >"$T/out"
	golden attend-stats-sample.tsv "$T/out"
}

@test "attend-stats: -o writes one table and heat maps per statistic" {
	attend-stats -c neg="$SAMPLES/negation.txt" -o "$T/d" \
	    "$SAMPLES/attend-stats.mp" >"$T/out"
	for s in prev next self entropy span to_cls to_sep to_punct to_neg; do
		[ -s "$T/d/$s.tsv" ] && [ -s "$T/d/$s.svg" ]
		head -c 8 "$T/d/$s.png" | od -An -tx1 | tr -d ' \n' |
		    grep -qx 89504e470d0a1a0a
	done
	[ -s "$T/d/fromcls.png" ] && [ -s "$T/d/fromcls_neg.tsv" ]
	# the per-statistic table is the combined one without its stat column
	awk -F '\t' -v OFS='\t' '$1 == "prev" { print $2, $3, $4, $5 }' \
	    "$T/out" >"$T/prev"
	tail -n +2 "$T/d/prev.tsv" | diff -u - "$T/prev"
	head -n 1 "$T/d/prev.tsv" | grep -qx "$(printf 'layer\thead\tvalue\tn')"
}

@test "attend-stats: known-answer model: its diagonal heads score near 1" {
	cd "$T"
	# the man page's example, run from the top of the tree
	(cd "$TOP" && tokenize -m samples/ka-model samples/ka-sentences.txt |
	    encode -m samples/ka-model -a |
	    attend-stats -c neg=samples/negation.txt) >stats.tsv
	[ "$(pick prev 1 1 <stats.tsv | cut -d ' ' -f 2)" = 8 ]
	awk -F '\t' '($1 == "prev" && $2 == 1 && $3 == 1) ||
	    ($1 == "next" && $2 == 1 && $3 == 2) ||
	    ($1 == "self" && $2 == 3 && $3 == 3) ||
	    ($1 == "to_cls" && $2 == 1 && $3 == 3) {
		print; if ($4 < 0.99) bad = 1; k++ }
	    END { exit bad || k != 4 }' stats.tsv
	run -0 bash -c "awk -F '\t' '\$1 == \"prev\"' stats.tsv |
	    sort -t \"\$(printf '\t')\" -k4gr | head -n 3"
	[[ ${lines[0]} == "prev	1	1	"* ]]
}

@test "attend-stats: bad option is a usage error" {
	run -2 --separate-stderr attend-stats -Z
	[[ $stderr == *"usage: attend-stats "* ]]
	run -2 --separate-stderr attend-stats -c negation
	[[ $stderr == *"expected name=file"* ]]
	run -2 --separate-stderr attend-stats -l 0
	run -2 --separate-stderr attend-stats -c "a b=$SAMPLES/negation.txt"
}

@test "attend-stats: -k reads another key's maps, per head or per layer" {
	attend-stats "$SAMPLES/ka-attn.mp" >"$T/want"
	$PY "$TOP/test/rekey.py" -d attn norm <"$SAMPLES/ka-attn.mp" \
	    >"$T/norm.mp"
	attend-stats -k norm "$T/norm.mp" >"$T/got"
	diff "$T/want" "$T/got"
	# a map per layer, [L, 1, T, T]: a row per layer, head 1
	$PY "$TOP/test/rekey.py" -l attn alti <"$SAMPLES/ka-attn.mp" \
	    >"$T/alti.mp"
	attend-stats --key alti "$T/alti.mp" >"$T/layers"
	[ "$(awk -F '\t' '$1 == "entropy" { print $2 $3 }' "$T/layers" |
	    tr '\n' ' ')" = "11 21 31 " ]
	run -1 --separate-stderr attend-stats -k alti "$SAMPLES/ka-attn.mp"
	[ "$stderr" = "attend-stats: $SAMPLES/ka-attn.mp: record 1: no key 'alti' or 'map'" ]
}

@test "attend-stats: a class file that does not exist is named" {
	run -1 --separate-stderr attend-stats -c neg="$T/nope.txt" \
	    "$SAMPLES/attend-stats.mp"
	[ "$stderr" = "attend-stats: $T/nope.txt: No such file or directory" ]
	[ -z "$output" ]
}

@test "attend-stats: malformed records name the record" {
	maps bad notokens >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"$T/b.mp: record 1: "*"tokens"* ]]
	maps bad shorttokens >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"record 1: 'tokens' has a length other than the 8"* ]]
	maps bad noattn >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"record 1: no key 'attn' or 'map'" ]]
	maps bad badspan >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"record 1: 'spans' pair 1: token index 8 outside 0..7" ]]
	maps bad shapes >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"record 2: 'attn' has 1 layers x 3 heads, earlier records 2 x 2" ]]
	maps bad nan >"$T/b.mp"
	run -1 --separate-stderr attend-stats "$T/b.mp"
	[[ $stderr == *"record 1: L1H1: non-finite attention at row 1, column 6" ]]
	[ -z "$output" ]
}

@test "attend-stats: truncated stream and empty input are errors" {
	head -c 500 "$SAMPLES/attend-stats.mp" >"$T/t.mp"
	run -1 --separate-stderr attend-stats "$T/t.mp"
	[[ $stderr == *"$T/t.mp"*"record 1"* ]]
	[ -z "$output" ]
	: >"$T/e.mp"
	run -1 --separate-stderr attend-stats "$T/e.mp"
	[[ $stderr == *"no records"* ]]
	run -1 --separate-stderr attend-stats -l 3 "$SAMPLES/attend-stats.mp"
	[[ $stderr == *"-l 3: the records have 2 layers"* ]]
}

@test "attend-stats: negative attention and rows off 1 are reported, once" {
	$PY "$TOP/test/mkbad.py" edit "$SAMPLES/attend-stats.mp" "$T/neg.mp" 1 \
	    'poke(r["attn"], 1, -0.25)'
	run -0 --separate-stderr attend-stats "$T/neg.mp"
	[ "$stderr" = "attend-stats: 1 rows in 1 maps do not sum to 1 (tolerance 0.001)
attend-stats: 1 negative values in 1 maps" ]
	run -0 --separate-stderr attend-stats "$SAMPLES/attend-stats.mp"
	[ -z "$stderr" ]
}

@test "attend-stats: memory and output stay in proportion to the maps read" {
	# one map record of 68 bytes naming layer 4096: a table of 4096 x H
	# heads was written out (2.9 GB for a few records)
	for lh in "4096 4096" "4096 8" "8 4096"; do
		set -- $lh
		echo "{\"id\": \"x\", \"tokens\": [\"a\"], \"layer\": $1, \"head\": $2, \"map\": {\"dtype\": \"f32\", \"shape\": [1, 1], \"data\": [1.0]}}" |
		    recs -r >"$T/big.mp"
		run -1 bash -c '$MEMCAP; set -o pipefail
		    attend-stats "$1" 2>"$2" | head -c 100000 | wc -c' - \
		    "$T/big.mp" "$T/err"
		[ "$output" = 0 ]
		[ "$(cat "$T/err")" = "attend-stats: $T/big.mp: record 1: layer $1, head $2: a table of $1 layers x $2 heads for 1 maps is out of all proportion (layers and heads are numbered from 1)" ]
	done
	# layer 1024 of one head: a table in bounds, and a row for the map
	# read, not one for each of the 1024 x 1 heads of the table
	echo '{"id": "x", "tokens": ["a"], "layer": 1024, "head": 1, "map": {"dtype": "f32", "shape": [1, 1], "data": [1.0]}}' |
	    recs -r >"$T/one.mp"
	run -0 bash -c '$MEMCAP; attend-stats "$1" | cut -f 2,3 | sort -u' - \
	    "$T/one.mp"
	[ "$output" = "1024	1
layer	head" ]
	# every head of a model, one record each, is in proportion
	attend-dump "$SAMPLES/ka-attn.mp" >"$T/heads.mp"
	run -0 attend-stats "$T/heads.mp"
}
