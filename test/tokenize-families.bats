#!/usr/bin/env bats
# tokenize with the families' tokenizers: RoBERTa's byte-level BPE, ALBERT's
# and XLM-R's SentencePiece; the ids of Hugging Face's slow tokenizers on
# every GLUE dev row (../shared reference), and of test/tokref.py (the same
# rules in Python) on hard text with the small tokenizers of samples/.
load helper

REF="$SHARED/reference/tokenizers"
HARD="$GOLDEN/tokenize-families-in.txt"

setup() {
	T="$BATS_TEST_TMPDIR"
}

need_spm() {
	$PY -c 'import sentencepiece, regex' 2>/dev/null ||
	    skip "python3-sentencepiece or python3-regex is absent"
}

# same FAMILY DIR: tokenize's ids over the reference text are its ref.jsonl
same_ref() {
	tokenize -m "$REF/$1" "$REF/text.txt" | recs -k ids >"$T/o"
	[ "$(wc -l <"$T/o")" -eq 3057 ]
	tr -d ' ' <"$REF/$1/ref.jsonl" | diff - "$T/o"
}

@test "tokenize-families: RobertaTokenizer's ids on every GLUE dev row" {
	need_shared reference/tokenizers
	same_ref roberta
}

@test "tokenize-families: AlbertTokenizer's ids on every GLUE dev row" {
	need_shared reference/tokenizers
	same_ref albert
}

@test "tokenize-families: XLMRobertaTokenizer's ids on every GLUE dev row" {
	need_shared reference/tokenizers
	same_ref xlmr
}

@test "tokenize-families: the Python rules agree with the reference" {
	need_shared reference/tokenizers
	need_spm
	for f in roberta albert xlmr; do
		$PY "$TOP/test/tokref.py" $f "$REF/$f" <"$REF/text.txt" |
		    diff <(tr -d ' ' <"$REF/$f/ref.jsonl") -
	done
}

@test "tokenize-families: hard text: accents, CJK, emoji, control, spaces, long words" {
	need_spm
	for f in roberta albert xlmr; do
		tokenize -m "$SAMPLES/tok-$f" "$HARD" | recs -k ids >"$T/$f"
		# the model's limit: 64 tokens (config.json's 64 positions;
		# RoBERTa's and XLM-R's 66 less pad_token_id + 1)
		$PY "$TOP/test/tokref.py" $f "$SAMPLES/tok-$f" 64 <"$HARD" |
		    diff - "$T/$f"
		# and short: truncated longest first
		tokenize -m "$SAMPLES/tok-$f" --max-len 9 "$HARD" |
		    recs -k ids >"$T/$f.9"
		$PY "$TOP/test/tokref.py" $f "$SAMPLES/tok-$f" 9 <"$HARD" |
		    diff - "$T/$f.9"
	done
}

@test "tokenize-families: spm.c segments as libsentencepiece, every kind of model" {
	# unigram, BPE, word, char; nmt_nfkc, nmt_nfkc_cf, identity; with
	# and without split_by_whitespace, the dummy prefix, extra white
	# space, suffix white space, byte fallback, user-defined pieces;
	# scores all equal or nearly (the unigram word cache's bound); unused
	# pieces: the same ids and spans on random hard text (spmcheck.py)
	need_spm
	command -v spm_train >/dev/null || skip "spm_train is absent"
	make -s -C "$TOP" test/spmtest >&2
	run -0 $PY "$TOP/test/spmcheck.py" "$TOP/test/spmtest" "$T/m" 1500
	echo "$output"
	[ "$(grep -c ': 1500 texts, 0 differ$' <<<"$output")" -eq 20 ]
}

@test "tokenize-families: hard text's tokens do not change" {
	for f in roberta albert xlmr; do
		tokenize -m "$SAMPLES/tok-$f" "$HARD" | recs -k tokens,ids,seg
	done >"$T/o"
	golden tokenize-families.jsonl "$T/o"
}

@test "tokenize-families: templates and segment ids of pairs" {
	printf 'the cat\tthe mat\n' >"$T/p.txt"
	run -0 bash -c "tokenize -m '$SAMPLES/tok-roberta' '$T/p.txt' | recs -k tokens,ids,seg"
	[ "$output" = '{"tokens":["<s>","t","he","Ġc","at","</s>","</s>","t","he","Ġm","at","</s>"],"ids":[0,120,260,269,282,2,2,120,260,274,282,2],"seg":[0,0,0,0,0,0,0,0,0,0,0,0]}' ]
	run -0 bash -c "tokenize -m '$SAMPLES/tok-albert' '$T/p.txt' | recs -k tokens,ids,seg"
	[ "$output" = '{"tokens":["[CLS]","▁the","▁ca","t","[SEP]","▁the","▁ma","t","[SEP]"],"ids":[2,6,220,10,3,6,244,10,3],"seg":[0,0,0,0,0,1,1,1,1]}' ]
	run -0 bash -c "tokenize -m '$SAMPLES/tok-xlmr' '$T/p.txt' | recs -k tokens,ids,seg"
	[ "$output" = '{"tokens":["<s>","▁the","▁ca","t","</s>","</s>","▁the","▁ma","t","</s>"],"ids":[0,5,219,9,2,2,5,243,9,2],"seg":[0,0,0,0,0,0,0,0,0,0]}' ]
}

@test "tokenize-families: pairs truncate longest first, the second on a tie" {
	# 4 + 4 tokens; 3 + 3 at 10, then the second loses one at 9
	printf 'the cat the cat\tthe mat the mat\n' >"$T/p.txt"
	run -0 bash -c "tokenize -m '$SAMPLES/tok-xlmr' --max-len 10 '$T/p.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["<s>","▁the","▁ca","t","</s>","</s>","▁the","▁ma","t","</s>"]}' ]
	run -0 bash -c "tokenize -m '$SAMPLES/tok-xlmr' --max-len 9 '$T/p.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["<s>","▁the","▁ca","t","</s>","</s>","▁the","▁ma","</s>"]}' ]
	run -0 bash -c "echo 'the cat sat on the mat' | tokenize -m '$SAMPLES/tok-albert' --max-len 4 | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","▁the","▁ca","[SEP]"]}' ]
}

@test "tokenize-families: invalid UTF-8 is refused, naming the line" {
	for f in roberta albert xlmr; do
		run -1 --separate-stderr bash -c "printf 'ok\nab\377c\n' | tokenize -m '$SAMPLES/tok-$f'"
		[[ $stderr == *"<stdin>:2: invalid UTF-8 at byte 2 of the sentence"* ]]
		run -0 --separate-stderr bash -c "printf 'ok\nab\377c\n' | tokenize --lenient -m '$SAMPLES/tok-$f' | recs -c"
		[ "$output" = 1 ]
	done
}

@test "tokenize-families: the files looked for, in order; --tokenizer names one" {
	# vocab.json and merges.txt before spiece.model before
	# sentencepiece.bpe.model before vocab.txt
	mkdir "$T/m"
	cp "$SAMPLES/ka-model/vocab.txt" "$T/m"
	echo 'the cat' >"$T/s.txt"
	t() { tokenize "$@" "$T/s.txt" | recs -k tokens; }
	[ "$(t -m "$T/m")" = '{"tokens":["[CLS]","the","cat","[SEP]"]}' ]
	cp "$SAMPLES/tok-xlmr/sentencepiece.bpe.model" "$T/m"
	[ "$(t -m "$T/m")" = '{"tokens":["<s>","▁the","▁ca","t","</s>"]}' ]
	cp "$SAMPLES/tok-albert/spiece.model" "$T/m"
	[ "$(t -m "$T/m")" = '{"tokens":["[CLS]","▁the","▁ca","t","[SEP]"]}' ]
	cp "$SAMPLES/tok-roberta/vocab.json" "$T/m"
	[ "$(t -m "$T/m")" = '{"tokens":["[CLS]","▁the","▁ca","t","[SEP]"]}' ]
	cp "$SAMPLES/tok-roberta/merges.txt" "$T/m"
	[ "$(t -m "$T/m")" = '{"tokens":["<s>","t","he","Ġc","at","</s>"]}' ]
	# without a model directory
	[ "$(t --tokenizer roberta -v "$T/m/vocab.json")" = '{"tokens":["<s>","t","he","Ġc","at","</s>"]}' ]
	[ "$(t --tokenizer albert -v "$T/m/spiece.model")" = '{"tokens":["[CLS]","▁the","▁ca","t","[SEP]"]}' ]
	[ "$(t --tokenizer xlmr -v "$T/m/sentencepiece.bpe.model")" = '{"tokens":["<s>","▁the","▁ca","t","</s>"]}' ]
	[ "$(t --tokenizer bert -v "$T/m/vocab.txt")" = '{"tokens":["[CLS]","the","cat","[SEP]"]}' ]
	run -2 --separate-stderr tokenize --tokenizer gpt -v "$T/m/vocab.json"
	[[ $stderr == *"'gpt' is not a tokenizer"* ]]
	run -2 tokenize --tokenizer roberta -m "$T/m"
}

@test "tokenize-families: ALBERT: casing and accents from tokenizer_config.json" {
	mkdir "$T/a"
	cp "$SAMPLES/tok-albert/spiece.model" "$T/a"
	echo 'Café CAT' >"$T/s.txt"
	[ "$(tokenize -m "$T/a" "$T/s.txt" | recs -k tokens)" = '{"tokens":["[CLS]","▁ca","f","e","▁ca","t","[SEP]"]}' ]
	echo '{"do_lower_case": false, "keep_accents": true}' >"$T/a/tokenizer_config.json"
	[ "$(tokenize -m "$T/a" "$T/s.txt" | recs -k tokens)" = '{"tokens":["[CLS]","▁","<unk>","a","f","é","▁","<unk>","A","T","[SEP]"]}' ]
	[ "$(tokenize -m "$T/a" --uncased "$T/s.txt" | recs -k tokens)" = '{"tokens":["[CLS]","▁ca","f","é","▁ca","t","[SEP]"]}' ]
}

@test "tokenize-families: bad files exit 1, named" {
	mkdir "$T/r" "$T/s"
	cp "$SAMPLES/tok-roberta/vocab.json" "$T/r"
	printf '#version: 0.2\nĠ t\nhe\n' >"$T/r/merges.txt"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"$T/r/merges.txt:3: a merge is two tokens, not one"* ]]
	printf '#version: 0.2\nĠ t h\n' >"$T/r/merges.txt"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"merges.txt:2: a merge is two tokens, not more"* ]]
	printf '#version: 0.2\n' >"$T/r/merges.txt"
	echo '["<s>", "</s>"]' >"$T/r/vocab.json"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"$T/r/vocab.json: the vocabulary is not a JSON object"* ]]
	echo '{"<s>": 0, "</s>": -2}' >"$T/r/vocab.json"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"vocab.json: the id of '</s>' is not an id"* ]]
	echo '{"<s>": 0, "</s>": 1' >"$T/r/vocab.json"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"vocab.json: not JSON"* ]]
	echo '{"a": 0}' >"$T/r/vocab.json"
	run -1 --separate-stderr tokenize -m "$T/r" /dev/null
	[[ $stderr == *"vocab.json: no <s> in the vocabulary"* ]]
	head -c 3000 "$SAMPLES/tok-albert/spiece.model" >"$T/s/spiece.model"
	run -1 --separate-stderr tokenize -m "$T/s" /dev/null
	[[ $stderr == *"$T/s/spiece.model: not a SentencePiece model"* ]]
	: >"$T/s/spiece.model"
	run -1 --separate-stderr tokenize -m "$T/s" /dev/null
	[[ $stderr == *"$T/s/spiece.model: not a SentencePiece model"* ]]
	run -1 --separate-stderr tokenize --tokenizer xlmr -v "$T/nope.model" /dev/null
	[[ $stderr == *"$T/nope.model: No such file"* ]]
}

@test "tokenize-families: man page examples run" {
	cd "$T"
	ln -s "$TOP/samples" samples
	run -0 bash -c "echo 'The café opened.' | tokenize -m samples/tok-roberta | recs -k tokens"
	[ "$output" = '{"tokens":["<s>","The","Ġc","a","f","Ã©","Ġo","p","en","ed",".","</s>"]}' ]
	run -0 bash -c "printf 'Prices rose.\tThey fell.\n' | tokenize -m samples/tok-albert |
	    recs -k tokens,seg"
	[ "$output" = '{"tokens":["[CLS]","▁p","ric","es","▁r","os","e",".","[SEP]","▁the","y","▁f","ell",".","[SEP]"],"seg":[0,0,0,0,0,0,0,0,0,1,1,1,1,1,1]}' ]
	echo 'The café opened.' |
	    tokenize --tokenizer roberta -v samples/tok-roberta/vocab.json >o
	[ "$(recs -k tokens o)" = '{"tokens":["<s>","The","Ġc","a","f","Ã©","Ġo","p","en","ed",".","</s>"]}' ]
}

# json FAMILY DIR OUT: DIR's tokenizer written as OUT/tokenizer.json
json() {
	mkdir -p "$3"
	$PY "$TOP/test/mktokjson.py" "$1" "$2" >"$3/tokenizer.json"
}

@test "tokenize-families: tokenizer.json: the slow tokenizers' ids on every GLUE dev row" {
	need_shared reference/tokenizers
	for f in roberta albert xlmr; do
		json $f "$REF/$f" "$T/$f"
		tokenize -m "$T/$f" "$REF/text.txt" | recs -k ids |
		    diff <(tr -d ' ' <"$REF/$f/ref.jsonl") -
	done
}

@test "tokenize-families: tokenizer.json first; the same tokens as the family's files" {
	for f in roberta albert xlmr; do
		cp -r "$SAMPLES/tok-$f" "$T/$f"
		json $f "$SAMPLES/tok-$f" "$T/$f"
		tokenize -m "$T/$f" "$HARD" | recs -k tokens,ids,seg >"$T/o"
		tokenize -m "$SAMPLES/tok-$f" "$HARD" | recs -k tokens,ids,seg |
		    diff - "$T/o"
		# (no model: no limit but --max-len's, the model's 64)
		tokenize --tokenizer json -v "$T/$f/tokenizer.json" \
		    --max-len 64 "$HARD" | recs -k tokens,ids,seg |
		    diff - "$T/o"
	done
	# the model of the file decides, not the other files
	cp "$T/roberta/tokenizer.json" "$T/albert"
	[ "$(echo the cat | tokenize -m "$T/albert" | recs -k tokens)" = '{"tokens":["<s>","t","he","Ġc","at","</s>"]}' ]
}

@test "tokenize-families: tokenizer.json of WordPiece: BERT's tokens" {
	mkdir "$T/b"
	$PY - "$SAMPLES/ka-model/vocab.txt" >"$T/b/tokenizer.json" <<-'PY'
	import json, sys
	v = {w: i for i, w in enumerate(open(sys.argv[1]).read().split('\n')[:-1])}
	json.dump({"normalizer": {"type": "BertNormalizer", "lowercase": True},
	    "post_processor": {"type": "TemplateProcessing",
	        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
	            {"Sequence": {"id": "A", "type_id": 0}},
	            {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
	        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
	            {"Sequence": {"id": "A", "type_id": 0}},
	            {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
	            {"Sequence": {"id": "B", "type_id": 1}},
	            {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
	        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [v["[CLS]"]]},
	            "[SEP]": {"id": "[SEP]", "ids": [v["[SEP]"]]}}},
	    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": v}},
	    sys.stdout)
	PY
	cut -f 1 "$SAMPLES/ka-sentences.txt" | sed 's/$/\tThe Cat./' >"$T/s.txt"
	tokenize -m "$T/b" "$T/s.txt" | recs -k tokens,ids,seg >"$T/o"
	tokenize -v "$SAMPLES/ka-model/vocab.txt" --uncased "$T/s.txt" |
	    recs -k tokens,ids,seg | diff - "$T/o"
	# beside vocab.txt, vocab.txt as before
	cp "$SAMPLES/ka-model/vocab.txt" "$T/b"
	tokenize -m "$T/b" "$T/s.txt" | recs -k tokens,ids,seg | diff - "$T/o"
}

@test "tokenize-families: a bad tokenizer.json exits 1, named" {
	mkdir "$T/j"
	echo '{"model": {"type": "WordLevel", "vocab": {}}}' >"$T/j/tokenizer.json"
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"$T/j/tokenizer.json: model type 'WordLevel' is not BPE, Unigram or WordPiece"* ]]
	echo '[1]' >"$T/j/tokenizer.json"
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"$T/j/tokenizer.json: not a JSON object"* ]]
	# a template whose [SEP] is outside the vocabulary (found by the
	# fuzzer: the ids went out unchecked)
	cat >"$T/j/tokenizer.json" <<-'EOF2'
	{"post_processor": {"type": "RobertaProcessing", "cls": ["<s>", 1],
	  "sep": ["</s>", 2]}, "model": {"type": "Unigram", "unk_id": 0,
	  "vocab": [["<unk>", -4], ["a", -2]]}}
	EOF2
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"$T/j/tokenizer.json: the post_processor's special token id 2 is outside the vocabulary of 2"* ]]
	echo '{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", 0]]}}' >"$T/j/tokenizer.json"
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"tokenizer.json: the Unigram model has no unk_id"* ]]
	echo '{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}}' >"$T/j/tokenizer.json"
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"tokenizer.json: merge 1 is not two tokens"* ]]
	echo '{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}' >"$T/j/tokenizer.json"
	run -1 --separate-stderr tokenize -m "$T/j" /dev/null
	[[ $stderr == *"tokenizer.json: post_processor '' is not"* ]]
}

@test "tokenize-families: --offsets: character spans and words" {
	printf 'The café opened.\tIt did not.\n' >"$T/p.txt"
	run -0 bash -c "tokenize -m '$SAMPLES/tok-roberta' --offsets '$T/p.txt' | recs -k tokens,offsets,words"
	[ "$output" = '{"tokens":["<s>","The","Ġc","a","f","Ã©","Ġo","p","en","ed",".","</s>","</s>","It","Ġd","id","Ġno","t",".","</s>"],"offsets":[[0,0],[0,3],[4,5],[5,6],[6,7],[7,8],[9,10],[10,11],[11,13],[13,15],[15,16],[0,0],[0,0],[0,2],[3,4],[4,6],[7,9],[9,10],[10,11],[0,0]],"words":[null,0,1,1,1,1,2,2,2,2,3,null,null,4,5,5,6,6,7,null]}' ]
	printf 'Crème  brûlée, 3,000,\tÉté\n' >"$T/q.txt"
	run -0 bash -c "tokenize -m '$SAMPLES/tok-albert' --offsets '$T/q.txt' | recs -k tokens,offsets,words"
	[ "$output" = '{"tokens":["[CLS]","▁c","re","me","▁br","ul","e","e",",","▁3",",","00","0",",","[SEP]","▁","e","t","e","[SEP]"],"offsets":[[0,0],[0,1],[1,3],[3,5],[6,9],[9,11],[11,12],[12,13],[13,14],[14,16],[16,17],[17,19],[19,20],[20,21],[0,0],[0,0],[0,1],[1,2],[2,3],[0,0]],"words":[null,0,0,0,1,1,1,1,1,2,2,2,2,2,null,3,3,3,3,null]}' ]
	run -0 bash -c "tokenize -m '$SAMPLES/tok-xlmr' --offsets '$T/q.txt' | recs -k words"
	[ "$output" = '{"words":[null,0,0,0,0,0,1,1,1,1,1,1,2,2,2,2,2,null,null,3,3,3,3,null]}' ]
	# the other keys as without
	tokenize -m "$SAMPLES/tok-xlmr" --offsets "$HARD" | recs -k id,tokens,ids,seg >"$T/a"
	tokenize -m "$SAMPLES/tok-xlmr" "$HARD" | recs -k id,tokens,ids,seg >"$T/b"
	diff "$T/a" "$T/b"
	run -2 --separate-stderr tokenize -v "$SAMPLES/ka-model/vocab.txt" --offsets "$T/p.txt"
	[[ $stderr == *"--offsets: BERT's WordPiece has no offsets"* ]]
}

@test "tokenize-families: attend-stats -w takes the words of --offsets" {
	need_numpy
	# RoBERTa's "Ġplay ing" is one word by its words key; uniform maps
	cat >"$T/mk.py" <<-'PY'
	import sys
	g = {}
	exec(open(sys.argv[1]).read().rsplit("main()", 1)[0], g)
	r = g["uniform"](L=1, H=1, tokens=["<s>", "He", "Ġplay", "ing", "Ġnot", "</s>"], id="w/0")
	if sys.argv[2] == "words":
	    r["words"] = [None, 0, 1, 1, 2, None]
	g["emit"]([r])
	PY
	$PY "$T/mk.py" "$TOP/test/attend-maps.py" words >"$T/one.mp"
	$PY "$T/mk.py" "$TOP/test/attend-maps.py" none >"$T/two.mp"
	printf 'playing\n' >"$T/v.txt"
	attend-stats -w -c v="$T/v.txt" "$T/one.mp" >"$T/out"
	[ "$(awk -F '\t' '$1 == "to_v" { print $4, $5 }' "$T/out")" = "0.333333 1" ]
	[ "$(awk -F '\t' '$1 == "prev" { print $4, $5 }' "$T/out")" = "0.208333 1" ]
	# a words key of another length is bad data
	sed -i 's/None, 0, 1, 1, 2, None/0, 1/' "$T/mk.py"
	$PY "$T/mk.py" "$TOP/test/attend-maps.py" words >"$T/bad.mp"
	run -1 --separate-stderr attend-stats -w "$T/bad.mp"
	[[ $stderr == *"'words' is not an array of 6 word numbers"* ]]
	# without words, "Ġplay" and "ing" are two words
	attend-stats -w -c v="$T/v.txt" "$T/two.mp" >"$T/out"
	[ "$(awk -F '\t' '$1 == "to_v" { print $4, $5 }' "$T/out")" = "nan 0" ]
}

# replay NAME: the fuzz target's corpus, without libFuzzer (test/fuzz.bats)
replay() {
	local n=$1 files
	make -s -C "$TOP" "test/replay/$n" >&2
	files=$(ls "$TOP/test/fuzz/corpus/$n" | wc -l)
	[ "$files" -gt 0 ]
	run -0 "$TOP/test/replay/$n" "$TOP/test/fuzz/corpus/$n"/*
	[ "$output" = "$files inputs" ]
}

@test "tokenize-families: a model spm.c would not read as the library does is refused" {
	# no unknown piece; a piece twice; a NUL inside a piece (the library
	# would cut it short in its trie)
	mkdir "$T/x"
	cat >"$T/mk.py" <<-'PY'
	import sys
	sys.path.insert(0, sys.argv[1] + '/test')
	from spmcheck import rewrite
	how = sys.argv[3]
	def f(s, score, ty):
	    if how == 'nounk' and ty == 2:
	        ty = 1
	    if how == 'twice' and s == b'y':
	        s = b'e'
	    if how == 'nul' and s == b'y':
	        s = b'y\0z'
	    return s, score, ty
	with open(sys.argv[2], 'rb') as fp:
	    sys.stdout.buffer.write(rewrite(fp.read(), piece=f))
	PY
	for how in nounk twice nul; do
		$PY "$T/mk.py" "$TOP" "$SAMPLES/tok-xlmr/sentencepiece.bpe.model" \
		    $how >"$T/x/sentencepiece.bpe.model"
		run -1 --separate-stderr tokenize -m "$T/x" /dev/null
		echo "$how: $stderr"
		[[ $stderr == *"$T/x/sentencepiece.bpe.model: not a SentencePiece model ("* ]]
	done
}

@test "tokenize-families: the BPE files' fuzz corpus replays clean" { replay bpe; }
@test "tokenize-families: the SentencePiece model fuzz corpus replays clean" { replay spm; }
@test "tokenize-families: the tokenizer.json fuzz corpus replays clean" { replay tokjson; }
