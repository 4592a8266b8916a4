#!/bin/bash
# report.sh OUT TASK MODEL BASE_MODEL N SEED MODE: the Markdown report of a
# run of pipelines/report.mk, from the tables and figures in OUT.
set -eo pipefail
out=$1 task=$2 model=$3 base=$4 n=$5 seed=$6 mode=$7
tab=$(printf '\t')

# A TSV file as a Markdown table; at most $2 data rows (all when empty).
table() {
	awk -F '\t' -v max="${2:-0}" '
	NR == 1 { s = "|"; d = "|"
		for (i = 1; i <= NF; i++) { s = s " " $i " |"; d = d " --- |" }
		print s; print d; next }
	max > 0 && NR > max + 1 { more++; next }
	{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }
	END { if (more) printf("\n(%d more rows in the TSV file)\n", more) }' "$1"
}

# The mean per (stat, layer) of the to_* rows of attend-stats tables.
layermeans() {
	awk -F '\t' 'NR > 1 && $4 != "nan" && $1 ~ /^to_/ {
		s[$1 "\t" $2] += $4; c[$1 "\t" $2]++ }
		END { for (k in s) printf("%s\t%.4f\n", k, s[k] / c[k]) }' "$1" |
	    sort -t "$tab" -k1,1 -k2,2n
}

{ printf 'stat\tlayer\tfine-tuned\tbase\n'
  join -t "$tab" <(layermeans "$out/tokens.tsv" | awk -F '\t' '{ print $1 ":" $2 "\t" $3 }') \
      <(layermeans "$out/tokens-base.tsv" | awk -F '\t' '{ print $1 ":" $2 "\t" $3 }') |
      sed 's/:/\t/' | sort -t "$tab" -k1,1 -k2,2n; } >"$out/.tokens"
{ head -n 1 "$out/relations.tsv"; tail -n +2 "$out/relations.tsv" |
    sort -t "$tab" -k4,4gr | head -n 5; } >"$out/.relations"
awk -F '\t' 'NR == 1 || $1 == "all" || $1 == "pattern"' "$out/patterns.tsv" \
    >"$out/.patterns"
# The token classes that no example contains (every head's n is 0).
empty=$(awk -F '\t' 'NR > 1 && $1 ~ /^to_/ { c[$1] += $5 }
	END { for (k in c) if (c[k] == 0) printf("%s%s", n++ ? ", " : "", substr(k, 4)) }' \
    "$out/tokens.tsv")
[ -n "$empty" ] && empty="No example here contains a token of: $empty (n = 0, blank in
the figures)."

# The page of attend-view, where the recipe made one (make demo does).
view=
[ -f "$out/view.html" ] && view="Every head of the first examples, to explore
in a web browser, with its pattern: [view.html](view.html)."

# Pre-training, where the recipe pre-trained or shipped checkpoints (make
# demo does): their masked-LM accuracy, and the emergence of the patterns.
pre=
if [ -f "$out/pretrain.tsv" ] && [ -f "$out/emergence/emergence.tsv" ]; then
	pre="## Pre-training: when the patterns appear

The base model was pre-trained from random weights (pretrain(1)).  The
masked-token accuracy of its checkpoints on held-out text
([pretrain.tsv](pretrain.tsv)):

$(table "$out/pretrain.tsv")

The share of each pattern over every head of the held-out pairs, per
checkpoint ([emergence.tsv](emergence/emergence.tsv) has them per layer and
head too), and the attention to [CLS] and [SEP], the mean over the heads
([special.tsv](emergence/special.tsv)):

![emergence](emergence/emergence.png)

$(table <(awk -F '\t' 'NR == 1 || $1 == "step"' "$out/emergence/emergence.tsv"))

$(table "$out/emergence/special.tsv")
"
fi

cat <<EOF
# headcount report: $task

- model: \`$model\`
- base model: \`$base\`
- examples: up to $n, sampled with seed $seed; heads disabled the $mode way
- made: $(date -u '+%Y-%m-%d %H:%M UTC')

## Attention patterns (Kovaleva et al., Figure 2)

Share of each pattern over every head of every example
([patterns.tsv](patterns.tsv) has them per layer and per head too).

![patterns](patterns.png)

$(table "$out/.patterns" 12)

$view

$pre
## Change after fine-tuning (Figure 5)

Per head, the cosine similarity of the base and the fine-tuned model's maps
on the same examples, averaged over them ([change.tsv](change.tsv)).

![change](change/cosine.png)

## Attention to token types (Figures 6 and 7)

The attention each class of tokens receives, per head, in the fine-tuned
model ([tokens.tsv](tokens.tsv)) and the base one
([tokens-base.tsv](tokens-base.tsv)); here the means per layer:

$(table "$out/.tokens")

$empty

![to CLS](tokens/to_cls.png) ![to SEP](tokens/to_sep.png)
![from CLS](tokens/fromcls.png)

## By weight and by norm (Kobayashi et al. 2020)

The same attention to [CLS], [SEP] and punctuation, each head's map read
as its weights (\`attn\`) and as the norms of what they carry
(\`encode --measures norm\`, each row as shares), the means per layer
([norm.tsv](norm.tsv)); where the norm is well below the weight, the
attention goes to vectors that change little.

$(table "$out/norm.tsv")

## Relation heads (section 4.2, Figure 3)

The largest attention over each annotated token pair, averaged per head, in
the base model; the five strongest heads ([relations.tsv](relations.tsv)):

$(table "$out/.relations")

![relations](relations/span.png)

## Disabling heads and layers (Figures 8 and 9)

The task's score with each head, and each layer, disabled, against the
baseline, with a paired bootstrap ([disable.tsv](disable.tsv)).

![disable](disable.png)

$(table "$out/disable.tsv" 20)
EOF
rm -f "$out/.tokens" "$out/.relations" "$out/.patterns"
