#!/bin/sh
# tokenize: MB/s of text through BERT's tokenizer on one core (the target is
# 25 MB/s; Hugging Face's pure-Python BertTokenizer manages about 0.3).
# Text: the sentences of the shared GLUE dev sets when they are there,
# else the samples' sentences, repeated to about 8 MB.
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
best=0
for i in 1 2 3; do
	s=$(date +%s.%N)
	cmd/tokenize -v "$vocab" "$text" >/dev/null
	e=$(date +%s.%N)
	best=$(awk -v s="$s" -v e="$e" -v b="$best" \
	    'BEGIN { t = e - s; print (b == 0 || t < b) ? t : b }')
done
awk -v mb="$mb" -v t="$best" 'BEGIN {
	ok = mb / t >= 25 ? "met" : "NOT met"
	printf "tokenize: %.1f MB/s (best of 3, %.2f s), target 25 MB/s: %s\n",
	    mb / t, t, ok }'
