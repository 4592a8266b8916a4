#!/bin/sh
# tokenize: MB/s of text through BERT's tokenizer on one core (the target is
# 25 MB/s; Hugging Face's pure-Python BertTokenizer manages about 0.3).
# Text: the sentences of the shared GLUE dev sets when they are there,
# else the samples' sentences, repeated to about 8 MB.  BASE=path/to/tokenize
# times another build too, in turn with cmd/tokenize (best of 5 each), and
# prints the ratio: `BASE=/tmp/tokenize.old sh test/bench/tokenize.sh`.
set -e
cd "$(dirname "$0")/../.."
mkdir -p test/bench/out
src=test/bench/out/tok-src.txt
S=../shared/data
if [ -d "$S/glue" ]; then
	for t in MRPC RTE SST-2 STS-B; do
		tail -n +2 "$S/glue/$t/dev.tsv" | cut -f 2-
	done >"$src"
	vocab=$S/vocab/bert-base-uncased-vocab.txt
else
	cut -f 2,3 samples/demo/train.tsv >"$src"
	vocab=samples/ka-model/vocab.txt
fi
text=test/bench/out/tok-text.txt
: >"$text"
while [ "$(stat -c %s "$text")" -lt 8000000 ]; do cat "$src" >>"$text"; done
mb=$(awk -v b="$(stat -c %s "$text")" 'BEGIN { printf "%.2f", b / 1e6 }')
echo "\$ tokenize -v $vocab $text >/dev/null   # $mb MB"
# best SECONDS-SO-FAR COMMAND...: the lower of the two
best() {
	b=$1
	shift
	s=$(date +%s.%N)
	"$@" >/dev/null
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" -v b="$b" \
	    'BEGIN { t = e - s; print (b == 0 || t < b) ? t : b }'
}
t=0 tb=0
for i in 1 2 3 4 5; do
	t=$(best "$t" cmd/tokenize -v "$vocab" "$text")
	[ -n "$BASE" ] && tb=$(best "$tb" "$BASE" -v "$vocab" "$text")
done
if [ -n "$BASE" ]; then
	awk -v mb="$mb" -v t="$tb" -v b="$BASE" 'BEGIN {
		printf "%s: %.1f MB/s (best of 5, %.2f s)\n", b, mb / t, t }'
	awk -v t="$t" -v tb="$tb" 'BEGIN {
		printf "cmd/tokenize / base: %.2f\n", tb / t }'
fi
awk -v mb="$mb" -v t="$t" 'BEGIN {
	ok = mb / t >= 25 ? "met" : "NOT met"
	printf "tokenize: %.1f MB/s (best of 5, %.2f s), target 25 MB/s: %s\n",
	    mb / t, t, ok }'

# The families' tokenizers on the same text: RoBERTa's byte-level BPE,
# ALBERT's and XLM-R's SentencePiece (both unigram models), with the
# reference tokenizers of the shared data when they are there, else the
# small ones of samples/; and a SentencePiece BPE model (spm_train
# --model_type=bpe, 2000 pieces, learned once into test/bench/out/spm-bpe
# from the reference text, else from samples/tok-train.txt) read as XLM-R
# reads its model.  The base is test/tokref.py, Hugging Face's slow
# tokenizers' rules in Python (transformers is not installable here): for
# RoBERTa the same pure-Python BPE as RobertaTokenizer's (regex module, a
# cache of words), for the SentencePiece models the python3-sentencepiece
# module (libsentencepiece 0.1.97, what the slow classes call) with the
# slow classes' rules around it.  Python runs once, on a quarter of the
# text.  The seconds are CPU seconds (user + system, GNU time), best of 5,
# one core's work whatever else the machine runs; wall time under load
# says little.  Target: 25 MB/s for BPE (roberta, spm-bpe) and for
# SentencePiece (albert, xlmr, spm-bpe).
R=$S/reference/tokenizers
[ -d "$R" ] || R=samples
part=test/bench/out/tok-part.txt
head -c "$(($(stat -c %s "$text") / 4))" "$text" | sed '$d' >"$part"
pmb=$(awk -v b="$(stat -c %s "$part")" 'BEGIN { printf "%.2f", b / 1e6 }')
# cpu SECONDS-SO-FAR COMMAND...: the lower of the two, in CPU seconds
cpu() {
	b=$1
	shift
	/usr/bin/time -f '%U %S' -o test/bench/out/tok-time "$@" >/dev/null
	awk -v b="$b" '{ t = $1 + $2; print (b == 0 || t < b) ? t : b }' \
	    test/bench/out/tok-time
}
bpe=test/bench/out/spm-bpe
if [ ! -s "$bpe/sentencepiece.bpe.model" ] && command -v spm_train >/dev/null
then
	mkdir -p "$bpe"
	t=$R/text.txt
	[ -f "$t" ] || t=samples/tok-train.txt
	spm_train --input="$t" --model_prefix="$bpe/m" --model_type=bpe \
	    --vocab_size=2000 --character_coverage=1 --num_threads=1 \
	    --hard_vocab_limit=false --minloglevel=2 >/dev/null 2>&1 &&
	    mv "$bpe/m.model" "$bpe/sentencepiece.bpe.model"
	rm -f "$bpe/m.vocab"
fi
low=
for f in roberta albert xlmr spm-bpe; do
	d=$R/$f fam=$f
	[ -d "$d" ] || d=samples/tok-$f
	if [ $f = spm-bpe ]; then
		d=$bpe fam=xlmr
		[ -s "$d/sentencepiece.bpe.model" ] || continue
	fi
	t=0
	for i in 1 2 3 4 5; do
		t=$(cpu "$t" cmd/tokenize -m "$d" "$text")
	done
	tp=$(cpu 0 sh -c "/usr/bin/python3 test/tokref.py $fam '$d' <'$part'")
	awk -v f="$f" -v d="$d" -v mb="$mb" -v t="$t" -v pmb="$pmb" \
	    -v tp="$tp" 'BEGIN {
		ok = mb / t >= 25 ? "met" : "NOT met"
		printf "tokenize -m %s: %.1f MB/s (best of 5, %.2f CPU s), " \
		    "target 25 MB/s: %s\n", d, mb / t, t, ok
		printf "  tokref.py %s: %.2f MB/s (%.2f CPU s for %.2f MB); " \
		    "ratio %.1f\n", f, pmb / tp, tp, pmb, (mb / t) / (pmb / tp)
	}'
	awk -v mb="$mb" -v t="$t" 'BEGIN { exit !(mb / t < 25) }' &&
	    low="$low $f"
done
if [ -n "$low" ]; then
	echo "families under 25 MB/s:$low"
else
	echo "families: BPE and SentencePiece all at 25 MB/s or more"
fi
