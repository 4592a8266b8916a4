#!/usr/bin/env bats
# tokenize: BERT's tokenizer rule by rule, GLUE files, truncation, sampling,
# bad input; and identity with Hugging Face's tokens on real GLUE dev sets.
load helper

V="$GOLDEN/tokenize-vocab.txt"

setup() {
	T="$BATS_TEST_TMPDIR"
}

@test "tokenize: every rule of the basic tokenizer and WordPiece (uncased)" {
	# accents, CJK, contractions, numbers, URLs, control and format
	# characters, Unicode spaces and punctuation, emoji, a word of 101
	# characters, a pair, U+FFFD
	tokenize -v "$V" --uncased "$GOLDEN/tokenize-in.txt" |
	    recs -k id,tokens,ids,seg >"$T/o"
	golden tokenize-uncased.jsonl "$T/o"
}

@test "tokenize: cased keeps case and accents" {
	tokenize -v "$V" --cased "$GOLDEN/tokenize-in.txt" | recs -k id,tokens >"$T/o"
	golden tokenize-cased.jsonl "$T/o"
	# the vocabulary has upper case: cased unless told
	tokenize -v "$V" "$GOLDEN/tokenize-in.txt" | recs -k id,tokens | cmp - "$T/o"
}

@test "tokenize: GLUE files: header, BOM, labels, ids, test files" {
	printf '\357\273\277Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tThe cat sat.\tA "cat" sat.\n0\t3\t4\tdon'"'"'t\tcan'"'"'t\n' >"$T/dev.tsv"
	run -0 bash -c "tokenize -v '$V' --uncased -t MRPC '$T/dev.tsv' | recs -k id,task,label,tokens,seg"
	[ "${lines[0]}" = '{"id":"MRPC/dev/0","task":"MRPC","label":1,"tokens":["[CLS]","the","cat","sat",".","[SEP]","a","\"","cat","\"","sat",".","[SEP]"],"seg":[0,0,0,0,0,0,1,1,1,1,1,1,1]}' ] || { tokenize -v "$V" --uncased -t MRPC "$T/dev.tsv" | recs -k id,task,label,tokens,seg; false; }
	[ "${#lines[@]}" -eq 2 ]
	printf 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tnot_entailment\n1\tcat\tmat\tentailment\n' >"$T/rte.tsv"
	run -0 bash -c "tokenize -v '$V' -t RTE '$T/rte.tsv' | recs -k label"
	[ "$output" = $'{"label":1}\n{"label":0}' ]
	printf 'index\tsentence1\tsentence2\n0\ta\tb\n' >"$T/test.tsv"
	run -0 bash -c "tokenize -v '$V' --uncased -t RTE '$T/test.tsv' | recs -k id,label,tokens"
	[ "$output" = '{"id":"RTE/test/0","tokens":["[CLS]","a","[SEP]","[UNK]","[SEP]"]}' ]
	printf 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tx\t\t\t\t\t\tcat\tmat\t3.800\n' >"$T/sts.tsv"
	run -0 bash -c "tokenize -v '$V' -t STS-B '$T/sts.tsv' | recs -k label"
	[ "$output" = '{"label":3.7999999999999998}' ]
	printf 'gj04\t1\t\tThe cat sat.\n' >"$T/cola.tsv"
	run -0 bash -c "tokenize -v '$V' -t CoLA '$T/cola.tsv' | recs -k label,text_a"
	[ "$output" = '{"label":1,"text_a":"The cat sat."}' ]
}

@test "tokenize: every GLUE task's dev and test columns" {
	# t TASK HEADER ROW: the record of a one-row file as id,label,a,b
	t() {
		printf '%s\n%s\n' "$2" "$3" >"$T/$1.tsv"
		tokenize -v "$V" -t "$1" "$T/$1.tsv" | recs -k id,label,text_a,text_b
	}
	tab=$'\t'
	[ "$(t SST-2 "sentence${tab}label" "the cat${tab}1")" = '{"id":"SST-2/SST-2/0","label":1,"text_a":"the cat"}' ]
	[ "$(t SST-2 "index${tab}sentence" "0${tab}the cat")" = '{"id":"SST-2/SST-2/0","text_a":"the cat"}' ]
	[ "$(t CoLA "index${tab}sentence" "0${tab}the cat")" = '{"id":"CoLA/CoLA/0","text_a":"the cat"}' ]
	[ "$(t MRPC "index${tab}#1 ID${tab}#2 ID${tab}#1 String${tab}#2 String" "0${tab}1${tab}2${tab}a${tab}b")" = '{"id":"MRPC/MRPC/0","text_a":"a","text_b":"b"}' ]
	[ "$(t STS-B "index${tab}genre${tab}filename${tab}year${tab}old_index${tab}source1${tab}source2${tab}sentence1${tab}sentence2" "0${tab}g${tab}f${tab}y${tab}1${tab}s${tab}s${tab}a${tab}b")" = '{"id":"STS-B/STS-B/0","text_a":"a","text_b":"b"}' ]
	[ "$(t QQP "id${tab}qid1${tab}qid2${tab}question1${tab}question2${tab}is_duplicate" "1${tab}2${tab}3${tab}a?${tab}b?${tab}1")" = '{"id":"QQP/QQP/0","label":1,"text_a":"a?","text_b":"b?"}' ]
	[ "$(t QQP "id${tab}question1${tab}question2" "1${tab}a?${tab}b?")" = '{"id":"QQP/QQP/0","text_a":"a?","text_b":"b?"}' ]
	m="index${tab}promptID${tab}pairID${tab}genre${tab}sentence1_binary_parse${tab}sentence2_binary_parse${tab}sentence1_parse${tab}sentence2_parse${tab}sentence1${tab}sentence2"
	r="0${tab}1${tab}2${tab}g${tab}x${tab}x${tab}x${tab}x${tab}a${tab}b"
	[ "$(t MNLI "$m${tab}label1${tab}gold_label" "$r${tab}neutral${tab}neutral")" = '{"id":"MNLI/MNLI/0","label":2,"text_a":"a","text_b":"b"}' ]
	[ "$(t MNLI "$m${tab}label1${tab}label2${tab}label3${tab}label4${tab}label5${tab}gold_label" "$r${tab}neutral${tab}${tab}${tab}${tab}${tab}contradiction")" = '{"id":"MNLI/MNLI/0","label":0,"text_a":"a","text_b":"b"}' ]
	[ "$(t MNLI "$m" "$r")" = '{"id":"MNLI/MNLI/0","text_a":"a","text_b":"b"}' ]
	[ "$(t QNLI "index${tab}question${tab}sentence${tab}label" "0${tab}a?${tab}b${tab}not_entailment")" = '{"id":"QNLI/QNLI/0","label":1,"text_a":"a?","text_b":"b"}' ]
	[ "$(t WNLI "index${tab}sentence1${tab}sentence2${tab}label" "0${tab}a${tab}b${tab}1")" = '{"id":"WNLI/WNLI/0","label":1,"text_a":"a","text_b":"b"}' ]
	[ "$(t WNLI "index${tab}sentence1${tab}sentence2" "0${tab}a${tab}b")" = '{"id":"WNLI/WNLI/0","text_a":"a","text_b":"b"}' ]
	[ "$(t AX "index${tab}sentence1${tab}sentence2" "0${tab}a${tab}b")" = '{"id":"AX/AX/0","text_a":"a","text_b":"b"}' ]
	[ "$(t AX "Lexical Semantics${tab}Predicate-Argument Structure${tab}Logic${tab}Knowledge${tab}Domain${tab}Premise${tab}Hypothesis${tab}Label" "${tab}${tab}Negation${tab}${tab}Artificial${tab}a${tab}b${tab}neutral")" = '{"id":"AX/AX/0","label":2,"text_a":"a","text_b":"b"}' ]
}

# h TASK: GLUE's header of TASK's train and dev files (MNLI's dev_matched)
glue_header() {
	local m="index	promptID	pairID	genre	sentence1_binary_parse	sentence2_binary_parse	sentence1_parse	sentence2_parse	sentence1	sentence2"
	case $1 in
	SST-2) echo "sentence	label" ;;
	MRPC) printf '\357\273\277%s\n' "Quality	#1 ID	#2 ID	#1 String	#2 String" ;;
	STS-B) echo "index	genre	filename	year	old_index	source1	source2	sentence1	sentence2	score" ;;
	QQP) echo "id	qid1	qid2	question1	question2	is_duplicate" ;;
	MNLI) echo "$m	label1	label2	label3	label4	label5	gold_label" ;;
	QNLI) echo "index	question	sentence	label" ;;
	RTE|WNLI) echo "index	sentence1	sentence2	label" ;;
	AX) echo "Lexical Semantics	Predicate-Argument Structure	Logic	Knowledge	Domain	Premise	Hypothesis	Label" ;;
	esac
}

@test "tokenize: a GLUE file read as another task is refused, naming its task" {
	# every task's header under every other task's -t: exit 1, the file,
	# line 1, the task the header is and the -t to use
	tasks="SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI AX"
	for x in $tasks; do
		glue_header $x >"$T/$x.tsv"
		for y in CoLA $tasks; do
			[ $x = $y ] && continue
			case $x$y in RTEWNLI|WNLIRTE) continue ;; esac
			run -1 --separate-stderr tokenize -v "$V" -t $y "$T/$x.tsv"
			[ -z "$output" ]
			want="tokenize: $T/$x.tsv:1: header is "
			[[ $stderr == "$want"*", not $y's ("*"): use -t "* ]] ||
			    { echo "-t $y on $x: $stderr"; false; }
			case $x in
			RTE|WNLI) [[ $stderr == *"RTE's or WNLI's"*"use -t RTE" ]] ;;
			*) [[ $stderr == "$want$x's ("*"use -t $x" ]] ;;
			esac
		done
	done
	# a test file's header is its tasks' too
	printf 'index\tsentence1\tsentence2\n0\ta\tb\n' >"$T/test.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t QNLI "$T/test.tsv"
	[ "$stderr" = "tokenize: $T/test.tsv:1: header is RTE's, WNLI's or AX's (index, sentence1, sentence2), not QNLI's (train and dev: index, question, sentence, label; test: index, question, sentence): use -t RTE" ]
}

@test "tokenize: MRPC's real dev file read as RTE names MRPC" {
	need_shared glue/MRPC
	run -1 --separate-stderr tokenize -v "$V" -t RTE "$SHARED/glue/MRPC/dev.tsv"
	[ "$stderr" = "tokenize: $SHARED/glue/MRPC/dev.tsv:1: header is MRPC's (Quality, #1 ID, #2 ID, #1 String, #2 String), not RTE's (train and dev: index, sentence1, sentence2, label; test: index, sentence1, sentence2): use -t MRPC" ]
	[ -z "$output" ]
	need_shared glue/STS-B
	run -1 --separate-stderr tokenize -v "$V" -t SST-2 "$SHARED/glue/STS-B/dev.tsv"
	[[ $stderr == *"header is STS-B's (index, genre, "*"use -t STS-B" ]]
}

@test "tokenize: a file without its header needs --no-header" {
	printf '0\ta\tb\tnot_entailment\n1\tcat\tmat\tentailment\n' >"$T/rows.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t RTE "$T/rows.tsv"
	[ "$stderr" = "tokenize: $T/rows.tsv:1: line 1 is not a header of RTE (train and dev: index, sentence1, sentence2, label; test: index, sentence1, sentence2); a file without one needs --no-header" ]
	[ -z "$output" ]
	run -0 bash -c "tokenize -v '$V' -t RTE --no-header '$T/rows.tsv' | recs -k id,label"
	[ "$output" = $'{"id":"RTE/rows/0","label":1}\n{"id":"RTE/rows/1","label":0}' ]
	# a header where --no-header says there is none
	{ glue_header RTE; cat "$T/rows.tsv"; } >"$T/dev.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t RTE --no-header "$T/dev.tsv"
	[ "$stderr" = "tokenize: $T/dev.tsv:1: line 1 is a header (index, sentence1, sentence2, label), but --no-header says the file has none" ]
	# MNLI without a header: dev's or train's columns by their count
	tab=$'\t'
	r="0${tab}1${tab}2${tab}g${tab}x${tab}x${tab}x${tab}x${tab}a${tab}b"
	printf '%s\n' "$r${tab}neutral${tab}entailment" >"$T/mnli.tsv"
	run -0 bash -c "tokenize -v '$V' -t MNLI --no-header '$T/mnli.tsv' | recs -k label"
	[ "$output" = '{"label":1}' ]
	printf '%s\n' "$r${tab}neutral${tab}${tab}${tab}${tab}${tab}contradiction" >"$T/mnli.tsv"
	run -0 bash -c "tokenize -v '$V' -t MNLI --no-header '$T/mnli.tsv' | recs -k label"
	[ "$output" = '{"label":0}' ]
	run -2 --separate-stderr tokenize -v "$V" --no-header "$T/rows.tsv"
	[ "$stderr" = "tokenize: --no-header: only with -t" ]
}

@test "tokenize: CoLA's files have no header, its test file has one" {
	printf 'gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n' >"$T/cola.tsv"
	run -0 bash -c "tokenize -v '$V' -t CoLA '$T/cola.tsv' | recs -k label"
	[ "$output" = $'{"label":1}\n{"label":0}' ]
	run -0 bash -c "tokenize -v '$V' -t CoLA --no-header '$T/cola.tsv' | recs -k label"
	[ "$output" = $'{"label":1}\n{"label":0}' ]
	printf 'index\tsentence\n0\tThe cat sat.\n' >"$T/test.tsv"
	run -0 bash -c "tokenize -v '$V' -t CoLA '$T/test.tsv' | recs -k id,label,text_a"
	[ "$output" = '{"id":"CoLA/test/0","text_a":"The cat sat."}' ]
	# another task's file as CoLA, CoLA's as another task's
	glue_header SST-2 >"$T/sst.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t CoLA "$T/sst.tsv"
	[ "$stderr" = "tokenize: $T/sst.tsv:1: header is SST-2's (sentence, label), not CoLA's (train and dev: no header; test: index, sentence): use -t SST-2" ]
	printf 'index\tsentence1\tsentence2\n0\ta\tb\n' >"$T/rte.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t CoLA "$T/rte.tsv"
	[[ $stderr == *"header is RTE's, WNLI's or AX's (index, sentence1, sentence2), not CoLA's"* ]]
	run -1 --separate-stderr tokenize -v "$V" -t SST-2 "$T/cola.tsv"
	[ "$stderr" = "tokenize: $T/cola.tsv:1: line 1 is not a header of SST-2 (train and dev: sentence, label; test: index, sentence); it looks like a row of CoLA, whose files have none: use -t CoLA" ]
}

@test "tokenize: task names and aliases whole, in any case, never a prefix" {
	glue_header SST-2 >"$T/sst.tsv"
	printf 'the cat\t1\n' >>"$T/sst.tsv"
	for t in SST-2 sst-2 SST2 sst2; do
		run -0 bash -c "tokenize -v '$V' -t $t '$T/sst.tsv' | recs -k task"
		[ "$output" = '{"task":"SST-2"}' ]
	done
	glue_header MNLI >"$T/mnli.tsv"
	for t in MNLI mnli MNLI-m mnli-MM; do
		run -0 bash -c "tokenize -v '$V' -t $t '$T/mnli.tsv' | recs -c"
	done
	printf 'index\tsentence1\tsentence2\n0\ta\tb\n' >"$T/ax.tsv"
	run -0 bash -c "tokenize -v '$V' -t ax '$T/ax.tsv' | recs -k task"
	[ "$output" = '{"task":"AX"}' ]
	for t in MNLIX MNL MNLI-x SST SST-22 STS RT ''; do
		run -2 --separate-stderr tokenize -v "$V" -t "$t" "$T/mnli.tsv"
		[ "$stderr" = "tokenize: -t: '$t' is not a GLUE task (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI, AX)" ]
	done
}

@test "tokenize: pairs truncate longest first, the second on a tie" {
	printf 'the cat sat on the mat\tthe cat sat\n' >"$T/p.txt"
	run -0 bash -c "tokenize -v '$V' --max-len 9 '$T/p.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","the","cat","sat","[SEP]","the","cat","sat","[SEP]"]}' ]
	run -0 bash -c "tokenize -v '$V' --max-len 8 '$T/p.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","the","cat","sat","[SEP]","the","cat","[SEP]"]}' ]
	run -0 bash -c "echo 'the cat sat on the mat' | tokenize -v '$V' --max-len 4 | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","the","cat","[SEP]"]}' ]
}

@test "tokenize: --sample picks the same rows for the same seed, in order" {
	seq 1 100 | sed 's/.*/the cat &/' >"$T/s.txt"
	tokenize -v "$V" --sample 10 --seed 7 "$T/s.txt" | recs -k id >"$T/a"
	tokenize -v "$V" --sample 10 --seed 7 "$T/s.txt" | recs -k id >"$T/b"
	tokenize -v "$V" --sample 10 --seed 8 "$T/s.txt" | recs -k id >"$T/c"
	cmp "$T/a" "$T/b"
	! cmp -s "$T/a" "$T/c"
	[ "$(wc -l <"$T/a")" -eq 10 ]
	sed 's/.*"s\/\([0-9]*\)".*/\1/' "$T/a" | sort -n -c
}

@test "tokenize: --sample takes memory for the rows read, not for its size" {
	# 10^8 rows asked of a 50-row file: the whole file, in order, under
	# the memory cap (a reservoir of the asked size is 3.2 GB)
	seq 1 50 | sed 's/.*/the cat &/' >"$T/s.txt"
	run -0 --separate-stderr bash -c "$MEMCAP; exec tokenize -v '$V' --sample 100000000 --seed 3 '$T/s.txt' >'$T/o.mp'"
	tokenize -v "$V" "$T/s.txt" | cmp - "$T/o.mp"
	{ glue_header RTE; for i in $(seq 0 99); do
		printf '%d\tthe cat %d\tthe mat\tentailment\n' $i $i; done; } >"$T/rte.tsv"
	run -0 --separate-stderr bash -c "$MEMCAP; exec tokenize -v '$V' -t RTE --sample 1099511627776 '$T/rte.tsv' >'$T/o.mp'"
	tokenize -v "$V" -t RTE "$T/rte.tsv" | cmp - "$T/o.mp"
	# the reservoir grows past its first allocation and still samples
	seq 1 1000 | sed 's/.*/the cat &/' >"$T/s.txt"
	run -0 bash -c "tokenize -v '$V' --sample 300 --seed 3 '$T/s.txt' | recs -c"
	[ "$output" = 300 ]
}

@test "tokenize: -m takes the vocabulary and casing from the model" {
	tokenize -m samples/ka-model samples/ka-sentences.txt >"$T/o.mp"
	[ "$(recs -c "$T/o.mp")" -eq "$(grep -c . samples/ka-sentences.txt)" ]
	recs -k tokens "$T/o.mp" | head -n 1 | grep -q '"the","cat","sat"'
}

@test "tokenize: every shared GLUE dev set matches Hugging Face's tokens" {
	need_shared reference/glue-tokens
	for t in MRPC RTE SST-2 STS-B; do
		tokenize -v "$SHARED/vocab/bert-base-uncased-vocab.txt" -t $t \
		    "$SHARED/glue/$t/dev.tsv" >"$T/$t.mp"
		$PY - "$T/$t.mp" "$SHARED/reference/glue-tokens/$t.uncased.jsonl" \
		    "$SHARED/glue/$t/dev.tsv" $t <<-'PY'
		import json, sys
		sys.path.insert(0, "test")
		import mp
		out = list(mp.records(open(sys.argv[1], "rb")))
		ref = [json.loads(l) for l in open(sys.argv[2])]
		rows = open(sys.argv[3], encoding="utf-8-sig").read().split("\n")[1:]
		rows = [r.split("\t") for r in rows if r]
		assert len(out) == len(ref) == len(rows), (len(out), len(ref), len(rows))
		for o, r, row in zip(out, ref, rows):
		    for k in ("tokens", "ids", "seg"):
		        assert o[k] == r[k], (o["id"], k)
		    lab = {"MRPC": lambda: int(row[0]), "RTE": lambda: ["entailment", "not_entailment"].index(row[-1]),
		           "SST-2": lambda: int(row[1]), "STS-B": lambda: float(row[-1])}[sys.argv[4]]()
		    assert o["label"] == lab, (o["id"], o["label"], lab)
		print(sys.argv[4], len(out), "identical")
		PY
	done
}

@test "tokenize: the cased vocabulary tokenizes too" {
	need_shared vocab
	echo 'Héllo, World! ÜBER' | tokenize -v "$SHARED/vocab/bert-base-cased-vocab.txt" |
	    recs -k tokens >"$T/o"
	grep -q '"H","##é","##llo",",","World","!"' "$T/o"
}

@test "tokenize: punctuation is looked for after lower case and NFD" {
	# U+2260, U+226E and U+1FEF are no punctuation, but their NFD ("=",
	# "<" and a combining mark; "`") is: BERT splits them off when it
	# strips accents, not otherwise
	printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\n=\n<\n`\n' >"$T/v.txt"
	printf 'cat\342\211\240cat cat\342\211\256cat cat\341\277\257cat\n' >"$T/in.txt"
	run -0 bash -c "tokenize -v '$T/v.txt' --uncased '$T/in.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","cat","=","cat","cat","<","cat","cat","`","cat","[SEP]"]}' ]
	run -0 bash -c "tokenize -v '$T/v.txt' --cased '$T/in.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","[UNK]","[UNK]","[UNK]","[SEP]"]}' ]
}

@test "tokenize: NFD puts the marks of a word in canonical order" {
	# U+1D16D (class 226) before U+1D165 (216), both kept (category Mc):
	# Python's NFD of the word swaps them, character by character would not
	printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##\360\235\205\245\360\235\205\255\n' >"$T/v.txt"
	printf 'a\360\235\205\255\360\235\205\245\n' >"$T/in.txt"
	run -0 bash -c "tokenize -v '$T/v.txt' --uncased '$T/in.txt' | recs -k ids"
	[ "$output" = '{"ids":[2,4,5,3]}' ]
	run -0 bash -c "tokenize -v '$T/v.txt' --cased '$T/in.txt' | recs -k ids"
	[ "$output" = '{"ids":[2,1,3]}' ]
}

@test "tokenize: a token the vocabulary has twice takes the later id" {
	printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\nsat\ncat\n' >"$T/v.txt"
	run -0 bash -c "echo 'cat sat' | tokenize -v '$T/v.txt' | recs -k ids"
	[ "$output" = '{"ids":[2,6,5,3]}' ]
}

@test "tokenize: a NUL byte inside a line is dropped, not the end of the line" {
	printf 'cat\000 sat\tthe mat\n' >"$T/nul.txt"
	run -0 bash -c "tokenize -v '$V' '$T/nul.txt' | recs -k text_a,tokens"
	[ "$output" = '{"text_a":"cat\u0000 sat","tokens":["[CLS]","cat","sat","[SEP]","the","mat","[SEP]"]}' ]
	printf 'index\tsentence1\tsentence2\tlabel\n0\tcat\000 sat\tthe\tentailment\n' >"$T/nul.tsv"
	run -0 bash -c "tokenize -v '$V' -t RTE '$T/nul.tsv' | recs -k tokens,label"
	[ "$output" = '{"label":0,"tokens":["[CLS]","cat","sat","[SEP]","the","[SEP]"]}' ]
}

# test/basiccheck.py runs BERT's rules with Python's own str.lower() and
# unicodedata on every assigned code point, uncased before and after a
# capital sigma (Python makes it final, U+03C2, by its context; utf8proc's
# mapping does not), and cased inside a word.
@test "tokenize: every code point as Python's BERT tokenizer has it, the final sigma too" {
	$PY "$TOP/test/basiccheck.py" "$T"
	[ "$(wc -l <"$T/in.txt")" -gt 1000000 ]
	tokenize -v "$T/vocab.txt" --uncased "$T/in.txt" | recs -k tokens >"$T/got.jsonl"
	cmp "$T/want.jsonl" "$T/got.jsonl"
	grep -q '"a","##ς"' "$T/got.jsonl"
	grep -q '"a","##σ","##b"' "$T/got.jsonl"
	tokenize -v "$T/vocab.txt" --cased "$T/in-cased.txt" | recs -k tokens >"$T/got.jsonl"
	cmp "$T/want-cased.jsonl" "$T/got.jsonl"
}

@test "tokenize: bad input names the file and line" {
	printf 'the cat\n\377\376 bad\n' >"$T/bad.txt"
	run -1 --separate-stderr tokenize -v "$V" "$T/bad.txt"
	[ "$stderr" = "tokenize: $T/bad.txt:2: invalid UTF-8 at byte 0 of the sentence" ]
	[ "$(recs -c <<<"$output" 2>/dev/null || true)" != x ]
	printf 'a cat\tthe \377 mat\n' >"$T/bad2.txt"
	run -1 --separate-stderr tokenize -v "$V" "$T/bad2.txt"
	[ "$stderr" = "tokenize: $T/bad2.txt:1: invalid UTF-8 at byte 4 of the second sentence" ]
	printf 'a \377cat\tthe mat\n' >"$T/bad1.txt"
	run -1 --separate-stderr tokenize -v "$V" "$T/bad1.txt"
	[ "$stderr" = "tokenize: $T/bad1.txt:1: invalid UTF-8 at byte 2 of the first sentence" ]
	printf 'index\tsentence1\tsentence2\tlabel\n0\tonly two\n' >"$T/few.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t RTE "$T/few.tsv"
	[ "$stderr" = "tokenize: $T/few.tsv:2: 2 columns, RTE needs 4" ]
	printf 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n1\ta\tb\tentailment\n' >"$T/lab.tsv"
	run -1 --separate-stderr tokenize -v "$V" -t RTE "$T/lab.tsv"
	[ "$stderr" = "tokenize: $T/lab.tsv:2: label 'maybe' is not one of entailment, not_entailment" ]
	run -0 --separate-stderr tokenize -v "$V" -t RTE --lenient "$T/lab.tsv"
	[[ $stderr == *"lab.tsv:2: label 'maybe' is not one of entailment, not_entailment (skipped)"* ]]
	[[ $stderr == *"1 bad rows skipped"* ]]
	printf 'the\ncat\n' >"$T/novocab.txt"
	run -1 --separate-stderr tokenize -v "$T/novocab.txt" "$T/bad.txt"
	[ "$stderr" = "tokenize: $T/novocab.txt: the vocabulary has no [UNK]" ]
	run -1 --separate-stderr tokenize -v "$V" /nonexistent
	[ "$stderr" = "tokenize: /nonexistent: No such file or directory" ]
}

@test "tokenize: -m keeps examples within the model's positions" {
	# samples/bin-model has 16 positions: the default of 128 becomes 16
	yes 'the cat sat on the mat' | head -c 400 | tr '\n' ' ' >"$T/long.txt"
	echo >>"$T/long.txt"
	run -0 bash -c "tokenize -m '$SAMPLES/bin-model' '$T/long.txt' | recs -k ids"
	[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["ids"]))' "$output")" = 16 ]
	run -0 bash -c "tokenize -m '$SAMPLES/bin-model' --max-len 8 '$T/long.txt' | recs -k ids"
	[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["ids"]))' "$output")" = 8 ]
	run -2 --separate-stderr tokenize -m "$SAMPLES/bin-model" --max-len 17 "$T/long.txt"
	[ "$stderr" = "tokenize: --max-len 17: $SAMPLES/bin-model has 16 positions (max_position_embeddings)" ]
	[ -z "$output" ]
}

@test "tokenize: bad usage exits 2" {
	run -2 --separate-stderr tokenize
	[[ $stderr == *"usage: tokenize -v vocab | -m model"* ]]
	run -2 tokenize -v "$V" -m samples/ka-model
	run -2 --separate-stderr tokenize -v "$V" -t NOPE
	[[ $stderr == *"'NOPE' is not a GLUE task"* ]]
	run -2 tokenize -v "$V" --max-len 1
	run -2 tokenize -v "$V" --sample 0
}
