#!/usr/bin/env bats
# hcmodel: check a model directory, list a weights file.

load helper

setup() {
	MKBIN="$PY $TOP/test/mkbin.py"
	T=$BATS_TEST_TMPDIR
}

# Rewrite the safetensors of directory $1 through Python code $2 acting on
# t, a list of (name, shape, values).
edit() {
	$PY - "$TOP/test" "$1/model.safetensors" "$2" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mkbin
t = mkbin.read_safetensors(sys.argv[2])
exec(sys.argv[3])
mkbin.write_safetensors(sys.argv[2], t)
EOF
}

@test "hcmodel: check of the sample pytorch_model.bin directory (golden)" {
	run -0 --separate-stderr hcmodel check "$SAMPLES/bin-model"
	[ -z "$stderr" ]
	printf '%s\n' "$output" | sed "s|$SAMPLES|SAMPLES|" >"$T/out"
	golden hcmodel-check.txt "$T/out"
}

@test "hcmodel: ls -c of the sample pytorch_model.bin (golden)" {
	hcmodel ls -c "$SAMPLES/bin-model/pytorch_model.bin" >"$T/out"
	golden hcmodel-ls.tsv "$T/out"
}

@test "hcmodel: check of a safetensors directory" {
	$MKBIN model "$T/m"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"weights	model.safetensors"* ]]
	[[ $output == *"tensors	39 found, 0 missing, 0 unused, 0 skipped"* ]]
	[[ $output == *"dtypes	f32 39"* ]]
	[[ $output == *"parameters	1624 in the file, 1624 used"* ]]
	[[ $output == *"vocab	24 tokens, uncased (no capitals in vocab.txt)"* ]]
	[ "${lines[-1]}" = "status	ok" ]
}

@test "hcmodel: gamma/beta names, a classifier and unused tensors" {
	$MKBIN model "$T/m"
	edit "$T/m" '
t = [(n.replace("LayerNorm.weight", "LayerNorm.gamma")
      .replace("LayerNorm.bias", "LayerNorm.beta"), s, v) for n, s, v in t]
t += [("classifier.weight", (3, 8), [0.0] * 24),
      ("classifier.bias", (3,), [0.0] * 3),
      ("cls.predictions.bias", (24,), [0.0] * 24)]'
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"classifier	3 labels"* ]]
	[[ $output == *"unused	cls.predictions.bias"* ]]
	[[ $output == *"tensors	41 found, 0 missing, 1 unused, 0 skipped"* ]]
}

@test "hcmodel: vocab.txt lines disagree with vocab_size" {
	$MKBIN model "$T/m"
	echo extra >>"$T/m/vocab.txt"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/vocab.txt: 25 tokens, config.json says vocab_size 24" ]
	[[ $output == *"disagree	$T/m/vocab.txt: 25 tokens"* ]]
	[ "${lines[-1]}" = "status	disagree" ]
}

@test "hcmodel: a shape disagrees with config.json" {
	$MKBIN model "$T/m"
	sed -i 's/"intermediate_size": 16/"intermediate_size": 12/' \
	    "$T/m/config.json"
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ ${stderr_lines[0]} == "hcmodel: $T/m/model.safetensors: tensor 'encoder.layer.0.intermediate.dense.weight' has shape [16,8], config.json says [12,8]" ]]
}

@test "hcmodel: a missing tensor is named" {
	$MKBIN model "$T/m"
	edit "$T/m" 't = [x for x in t if x[0] != "encoder.layer.1.output.dense.bias"]'
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"missing	encoder.layer.1.output.dense.bias"* ]]
	[[ $stderr == *"model.safetensors: missing tensors that config.json implies: 1"* ]]
}

# Found by fuzzing config.json: 16 tensor names were made per claimed layer
# before the file was looked at, so 2^24 layers took gigabytes.
@test "hcmodel: a config.json that claims millions of layers is one disagreement" {
	$MKBIN model "$T/m"
	$PY - "$T/m/config.json" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))
c["num_hidden_layers"] = 16777216
open(sys.argv[1], "w").write(json.dumps(c))
EOF2
	run -1 --separate-stderr bash -c '$MEMCAP; exec hcmodel check "$1"' - "$T/m"
	[[ $stderr == *"model.safetensors: 2 layers, config.json says num_hidden_layers 16777216"* ]]
	[[ $stderr == *"missing tensors that config.json implies: 16"* ]]
	[ "$(grep -c '^missing' <<<"$output")" = 16 ]
	[[ $output == *"missing	encoder.layer.2.attention.self.query.weight"* ]]
}

@test "hcmodel: casing stated against the vocabulary" {
	$MKBIN model "$T/m"
	echo '{"do_lower_case": false}' >"$T/m/tokenizer_config.json"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/vocab.txt: no tokens with capitals, but tokenizer_config.json says the model is cased" ]
}

@test "hcmodel: no weights, no config" {
	mkdir "$T/e"
	run -1 --separate-stderr hcmodel check "$T/e"
	[[ $stderr == "hcmodel: $T/e/config.json"* ]]
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m: no model.safetensors or pytorch_model.bin" ]
}

# Found by test/fuzz/config: 1e-132 passed as positive and became 0 as a
# float (a LayerNorm of a constant row divided by zero).
@test "hcmodel: a layer_norm_eps a float cannot hold is an error" {
	$MKBIN model "$T/m"
	for eps in 1e-132 1e300 0 -1e-12; do
		$PY - "$T/m/config.json" "$eps" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["layer_norm_eps"] = float(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(c))
EOF
		run -1 --separate-stderr hcmodel check "$T/m"
		echo "$eps: $stderr"
		[ "$stderr" = "hcmodel: $T/m/config.json: 'layer_norm_eps' is not a positive number in float's range (1.17549e-38..3.40282e+38)" ]
	done
}

# Found with test/fuzz/safetensors: the element count was checked after
# the multiplication, so [2^39, 2^25] wrapped to 0 elements and passed.
@test "hcmodel: ls of a safetensors shape too large or not whole" {
	for sh in '[549755813888, 33554432]' '[1099511627776, 1]' '[2.5]'; do
		$PY - "$T/x.safetensors" "$sh" <<'EOF'
import json, struct, sys
h = json.dumps({"a": {"dtype": "F32", "shape": json.loads(sys.argv[2]),
    "data_offsets": [0, 0]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h)
EOF
		run -1 --separate-stderr hcmodel ls "$T/x.safetensors"
		echo "$sh: $stderr"
		[ -z "$output" ]
		[[ $stderr == "hcmodel: $T/x.safetensors: tensor 'a' "* ]]
	done
}

# Found by test/fuzz/safetensors under UBSan: an offset past 2^64 was cast
# to an integer (undefined).  Such offsets are now refused as numbers (not
# whole, or past 2^53); a whole one past the file is outside the data.
@test "hcmodel: ls of safetensors data_offsets past any file" {
	for off in '[0, 1e300]' '[1e20, 1e20]' '[0, 18446744073709551616]' \
	    '[0, 9007199254740992]'; do
		$PY - "$T/x.safetensors" "$off" <<'EOF'
import json, struct, sys
h = ('{"a": {"dtype": "F32", "shape": [0], "data_offsets": %s}}' %
    sys.argv[2]).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h)
EOF
		run -1 --separate-stderr hcmodel ls "$T/x.safetensors"
		echo "$off: $stderr"
		case $off in
		*9007199254740992*)
			[ "$stderr" = "hcmodel: $T/x.safetensors: tensor 'a' has data_offsets outside the data (0 bytes)" ] ;;
		*)
			[[ $stderr == "hcmodel: $T/x.safetensors: tensor 'a' has 1"*", not a whole number from 0 to 2^53" ]] ;;
		esac
	done
}

@test "hcmodel: a malformed weights file is an error naming it" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	$MKBIN bad small "$GOLDEN/ptbin-f32.bin" "$T/m/pytorch_model.bin"
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ $stderr == "hcmodel: $T/m/pytorch_model.bin: tensor 'embeddings.word_embeddings.weight': storage '0' has 384 bytes"* ]]
}

@test "hcmodel: bad usage" {
	run -2 --separate-stderr hcmodel
	[[ $stderr == "usage: hcmodel check dir"* ]]
	run -2 --separate-stderr hcmodel frob x
	run -2 --separate-stderr hcmodel ls
	run -2 --separate-stderr hcmodel ls -Z x
	run -2 --separate-stderr hcmodel check a b
}

# ---- issue 21: one look-up of a tensor, one casing ----

@test "hcmodel: check looks a role up as model_load does: two names disagree" {
	$MKBIN model "$T/m"
	# the same role with and without "bert.": model_load took the one
	# without, check the other, and said ok
	edit "$T/m" '
t += [("bert." + n, s, [x + 1 for x in v]) for n, s, v in t
      if n == "encoder.layer.0.attention.self.query.weight"]'
	run -1 --separate-stderr hcmodel check "$T/m"
	Q=encoder.layer.0.attention.self.query.weight
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: tensors '$Q' and 'bert.$Q' are both '$Q': keep one" ]
	[ "${lines[-1]}" = "status	disagree" ]
	run -1 --separate-stderr encode -m "$T/m" /dev/null
	[ "$stderr" = "encode: $T/m/model.safetensors: tensors '$Q' and 'bert.$Q' are both '$Q': keep one" ]
}

@test "hcmodel, tokenize: one casing, tokenizer_config.json before config.json" {
	cp -r "$SAMPLES/tiny-cls" "$T/m"
	echo 'The Cat' >"$T/s.txt"
	c=$(cat "$T/m/config.json")
	# tokenizer_config.json decides (tokenize took config.json's)
	echo "${c%\}}, \"do_lower_case\": false}" >"$T/m/config.json"
	echo '{"do_lower_case": true}' >"$T/m/tokenizer_config.json"
	run -0 bash -c "tokenize -m '$T/m' '$T/s.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","the","cat","[SEP]"]}' ]
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"vocab	40 tokens, uncased (do_lower_case in tokenizer_config.json)"* ]]
	# and the other way round
	echo "${c%\}}, \"do_lower_case\": true}" >"$T/m/config.json"
	echo '{"do_lower_case": false}' >"$T/m/tokenizer_config.json"
	run -0 bash -c "tokenize -m '$T/m' '$T/s.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","[UNK]","[UNK]","[SEP]"]}' ]
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"vocab	40 tokens, cased (do_lower_case false in tokenizer_config.json)"* ]]
	# config.json when tokenizer_config.json does not say
	echo '{"model_max_length": 64}' >"$T/m/tokenizer_config.json"
	run -0 bash -c "tokenize -m '$T/m' '$T/s.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","the","cat","[SEP]"]}' ]
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"vocab	40 tokens, uncased (do_lower_case in config.json)"* ]]
	# the vocabulary when neither says: capitals make it cased
	echo "$c" >"$T/m/config.json"
	sed -i 's/^movie$/Movie/' "$T/m/vocab.txt"
	run -0 bash -c "tokenize -m '$T/m' '$T/s.txt' | recs -k tokens"
	[ "$output" = '{"tokens":["[CLS]","[UNK]","[UNK]","[SEP]"]}' ]
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"vocab	40 tokens, cased (capitals in vocab.txt)"* ]]
}

# ---- convert ----

@test "hcmodel: convert a legacy directory in place: same names, dtypes, bits" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	cp "$GOLDEN/ptbin-legacy-f16.bin" "$T/m/pytorch_model.bin"
	hcmodel ls -c "$T/m/pytorch_model.bin" >"$T/want"
	run -0 --separate-stderr hcmodel convert "$T/m"
	[ -z "$stderr" ]
	hcmodel ls -c "$T/m/model.safetensors" >"$T/got"
	diff -u "$T/want" "$T/got"
	[ "$(ls "$T/m")" = "config.json
model.safetensors
pytorch_model.bin
vocab.txt" ]
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"format	safetensors"* ]]
}

@test "hcmodel: convert gives the stored bits, and encode the same output" {
	$MKBIN model "$T/m"
	$MKBIN tokens "$T/tok.mp"
	encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/st.mp"
	rm "$T/m/model.safetensors"
	for f in legacy-f32 legacy-bf16 legacy-tar shared; do
		cp "$GOLDEN/ptbin-$f.bin" "$T/m/pytorch_model.bin"
		encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/bin.mp"
		rm -rf "$T/c"
		hcmodel convert "$T/m" "$T/c"
		[ -f "$T/c/config.json" ] && [ -f "$T/c/vocab.txt" ]
		encode -m "$T/c" -a -p --hidden-all "$T/tok.mp" >"$T/c.mp"
		cmp "$T/bin.mp" "$T/c.mp"
		cmp "$T/st.mp" "$T/c.mp"
		# each tensor's bytes as the .bin holds them
		$PY - "$T/m/pytorch_model.bin" "$T/c/model.safetensors" <<'EOF'
import json, struct, subprocess, sys
buf = open(sys.argv[2], "rb").read()
hl, = struct.unpack_from("<Q", buf)
h = json.loads(buf[8:8 + hl])
ls = subprocess.run(["hcmodel", "ls", sys.argv[1]], capture_output=True,
                    text=True).stdout.split("\n")
names = [x.split("\t")[0] for x in ls if x and not x.endswith("skipped")]
assert names == [n for n in h if n != "__metadata__"], (names, list(h))
for x in ls:
    if x and not x.endswith("skipped"):
        n, dt, _ = x.split("\t")
        assert h[n]["dtype"] == dt.upper(), (n, h[n]["dtype"], dt)
EOF
	done
}

@test "hcmodel: convert -t changes the dtype, and back gives the same bits" {
	$PY "$TOP/test/mkmodel.py" "$T/m" -V 24 -P 16 --dtype BF16 --seed 3
	hcmodel ls -c "$T/m/model.safetensors" >"$T/want"
	hcmodel convert -t f32 "$T/m" "$T/a"
	hcmodel ls "$T/a/model.safetensors" | cut -f2 | sort -u >"$T/dt"
	[ "$(cat "$T/dt")" = f32 ]
	hcmodel convert -t bf16 "$T/a" "$T/b"
	hcmodel ls -c "$T/b/model.safetensors" >"$T/got"
	diff -u "$T/want" "$T/got"
	cmp <(tail -c +9 "$T/m/model.safetensors" | tail -c 5000) \
	    <(tail -c +9 "$T/b/model.safetensors" | tail -c 5000)
	hcmodel convert -t f16 "$T/a" "$T/h"
	hcmodel ls "$T/h/model.safetensors" | cut -f2 | sort -u >"$T/dt"
	[ "$(cat "$T/dt")" = f16 ]
}

@test "hcmodel: convert a sharded checkpoint into one file" {
	$MKBIN model "$T/m"
	hcmodel ls -c "$T/m/model.safetensors" | sort >"$T/want"
	$PY "$TOP/test/mklegacy.py" shards "$T/m" legacy
	hcmodel convert "$T/m"
	hcmodel ls -c "$T/m/model.safetensors" | sort >"$T/got"
	diff -u "$T/want" "$T/got"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"weights	model.safetensors"* ]]
}

@test "hcmodel: convert does not replace model.safetensors unless told (-f)" {
	$MKBIN model "$T/m"
	cp "$T/m/model.safetensors" "$T/orig"
	run -1 --separate-stderr hcmodel convert -t f16 "$T/m"
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: exists (-f replaces it)" ]
	cmp "$T/orig" "$T/m/model.safetensors"
	run -0 --separate-stderr hcmodel convert -f -t f16 "$T/m"
	hcmodel ls "$T/m/model.safetensors" | cut -f2 | sort -u >"$T/dt"
	[ "$(cat "$T/dt")" = f16 ]
	# no temporary file is left beside it
	[ "$(ls "$T/m" | grep -c model.safetensors)" = 1 ]
}

@test "hcmodel: convert names what it leaves out, and bad usage" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	cp "$GOLDEN/ptbin-bf16-bert.bin" "$T/m/pytorch_model.bin"
	run -0 --separate-stderr hcmodel convert "$T/m" "$T/c"
	[ "$stderr" = "hcmodel: $T/m/pytorch_model.bin: 'bert.embeddings.position_ids' (int64) left out" ]
	run -2 --separate-stderr hcmodel convert -t f64 "$T/m" "$T/d"
	[[ $stderr == *"-t f64: not f32, f16 or bf16"* ]]
	run -2 --separate-stderr hcmodel convert
	run -2 --separate-stderr hcmodel convert a b c
	run -1 --separate-stderr hcmodel convert "$T/none"
	[ "$stderr" = "hcmodel: $T/none: no model.safetensors or pytorch_model.bin" ]
}

# pipelines/fetch.mk against a hub of files: legacy, zip and sharded
# weights are fetched as served, and convert pins them as safetensors.
@test "hcmodel: fetch.mk takes the weights in any format, convert pins them" {
	command -v curl >/dev/null || skip "curl is absent"
	$MKBIN model "$T/m"
	h=$T/hub/textattack
	for t in RTE MRPC QQP; do
		mkdir -p "$h/bert-base-uncased-$t/resolve/main"
		cp "$T/m/config.json" "$T/m/vocab.txt" \
		    "$h/bert-base-uncased-$t/resolve/main/"
	done
	cp "$GOLDEN/ptbin-legacy-f32.bin" \
	    "$h/bert-base-uncased-RTE/resolve/main/pytorch_model.bin"
	cp -r "$T/m" "$T/s"
	$PY "$TOP/test/mklegacy.py" shards "$T/s" tar
	cp "$T/s"/pytorch_model* "$h/bert-base-uncased-MRPC/resolve/main/"
	cp "$T/m/model.safetensors" "$h/bert-base-uncased-QQP/resolve/main/"
	f=$T/f/models
	targets=()
	for t in RTE MRPC QQP; do
		targets+=("$f/bert-$t/config.json" "$f/bert-$t/vocab.txt"
		    "$f/bert-$t/weights.fetched")
	done
	run make -s -f "$TOP/pipelines/fetch.mk" FETCH_DIR="$T/f" \
	    HUB="file://$T/hub" TASKS="RTE MRPC QQP" CURL="curl -sfL -o" \
	    "${targets[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$f/bert-RTE/weights.fetched")" = pytorch_model.bin ]
	[ "$(wc -l <"$f/bert-MRPC/weights.fetched")" = 4 ]
	[ "$(cat "$f/bert-QQP/weights.fetched")" = model.safetensors ]
	for t in RTE MRPC QQP; do
		run -0 hcmodel check "$f/bert-$t"
	done
	run make -s -f "$TOP/pipelines/fetch.mk" FETCH_DIR="$T/f" \
	    HUB="file://$T/hub" MODELS="bert-RTE bert-MRPC bert-QQP" \
	    CURL="curl -sfL -o" convert
	echo "$output"
	[ "$status" -eq 0 ]
	hcmodel ls -c "$T/m/model.safetensors" | sort >"$T/want"
	for t in RTE MRPC; do
		hcmodel ls -c "$f/bert-$t/model.safetensors" | grep -v '^cls' |
		    sort >"$T/got"
		diff -u "$T/want" "$T/got"
	done
	# a repository without weights is named
	rm "$h/bert-base-uncased-QQP/resolve/main/model.safetensors"
	rm -r "$f/bert-QQP"
	run make -s -f "$TOP/pipelines/fetch.mk" FETCH_DIR="$T/f" \
	    HUB="file://$T/hub" TASKS=QQP CURL="curl -sfL -o" \
	    "$f/bert-QQP/weights.fetched"
	[ "$status" -ne 0 ]
	[[ $output == *"fetch: textattack/bert-base-uncased-QQP: no model.safetensors, pytorch_model.bin or index on the hub"* ]]
	[ ! -e "$f/bert-QQP/weights.fetched" ]
}

# ---- issue 23: one table of a family's tensors ----

# Set config.json's keys of directory $1 from Python code $2 acting on c.
config() {
	$PY - "$1/config.json" "$2" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(c))
EOF2
}

# Config.json of $T/m changed by $1 makes hcmodel check and encode fail
# with message $2 about it, and encode write nothing.
refused() {
	config "$T/m" "$1"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/config.json: $2" ]
	run -1 --separate-stderr encode -m "$T/m" "$T/tok.mp"
	[ "$stderr" = "encode: $T/m/config.json: $2" ]
	[ -z "$output" ]
}

@test "hcmodel, encode: model_type and positions that have no table are named" {
	$MKBIN model "$T/m"
	$MKBIN tokens "$T/tok.mp"
	refused 'c["model_type"] = "gpt2"' \
	    "model_type 'gpt2' is not a family headcount knows (bert, roberta, xlm-roberta, distilbert, electra, albert)"
	refused 'c["model_type"] = 7' \
	    "model_type '?' is not a family headcount knows (bert, roberta, xlm-roberta, distilbert, electra, albert)"
	refused 'c["model_type"] = "bert"; c["position_embedding_type"] = "relative_key"' \
	    "position_embedding_type 'relative_key' is not supported (absolute is)"
	# "bert", or no model_type at all, is BERT; absolute positions too
	config "$T/m" 'c["position_embedding_type"] = "absolute"'
	encode -m "$T/m" "$T/tok.mp" >"$T/bert.mp"
	run -0 hcmodel check "$T/m"
	config "$T/m" 'del c["model_type"]; del c["position_embedding_type"]'
	encode -m "$T/m" "$T/tok.mp" >"$T/none.mp"
	cmp "$T/bert.mp" "$T/none.mp"
	run -0 hcmodel check "$T/m"
}

@test "hcmodel: a pooler or classifier in part, and the classifier's labels" {
	$MKBIN model "$T/m"
	cp -r "$T/m" "$T/p"
	edit "$T/p" 't = [x for x in t if x[0] != "pooler.dense.bias"]'
	run -1 --separate-stderr hcmodel check "$T/p"
	[ "$stderr" = "hcmodel: $T/p/model.safetensors: the pooler is incomplete: no 'pooler.dense.bias'" ]
	# the classifier decides the labels; config.json's are checked
	edit "$T/m" '
t += [("classifier.weight", (3, 8), [0.0] * 24),
      ("classifier.bias", (3,), [0.0] * 3)]'
	config "$T/m" 'c["num_labels"] = 2'
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"classifier	3 labels"* ]]
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: classifier has 3 labels, config.json says 2" ]
	config "$T/m" 'c["num_labels"] = 3'
	edit "$T/m" 't = [(n, (4,) if n == "classifier.bias" else s,
	    [0.0] * 4 if n == "classifier.bias" else v) for n, s, v in t]'
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: tensor 'classifier.bias' has shape [4], config.json says [3]" ]
	edit "$T/m" 't = [x for x in t if x[0] != "classifier.weight"]'
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: the classifier is incomplete: no 'classifier.weight'" ]
}

@test "hcmodel: BertForPreTraining's heads checked, the decoder tied" {
	cp -r "$SAMPLES/pretrain-kjv-500" "$T/m"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *$'\nheads\tmasked-LM, next-sentence\n'* ]]
	[[ $output != *unused$'\t'* ]]
	# the decoder's copies, as Hugging Face's pytorch_model.bin has them
	edit "$T/m" '
w = [x for x in t if x[0] == "bert.embeddings.word_embeddings.weight"][0]
b = [x for x in t if x[0] == "cls.predictions.bias"][0]
t += [("cls.predictions.decoder.weight",) + w[1:],
      ("cls.predictions.decoder.bias",) + b[1:]]'
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *$'\ntied\tcls.predictions.decoder.weight\ntied\tcls.predictions.decoder.bias\n'* ]]
	[[ $output == *$'\ntensors\t78 found, 0 missing, 0 unused, 0 skipped\n'* ]]
	# a head in part is not read (as model_load): its tensors unused
	cp -r "$T/m" "$T/p"
	edit "$T/p" 't = [x for x in t if x[0] != "cls.predictions.transform.dense.bias"]'
	run -0 --separate-stderr hcmodel check "$T/p"
	[[ $output == *$'\nheads\tnext-sentence\n'* ]]
	[[ $output == *$'\nunused\tcls.predictions.transform.dense.weight\n'* ]]
	[[ $output == *$'\ntensors\t73 found, 0 missing, 4 unused, 0 skipped\n'* ]]
	# a head of the wrong shape is a disagreement
	edit "$T/m" 't = [(n, (3, 128) if n == "cls.seq_relationship.weight" else s,
	    [0.0] * 384 if n == "cls.seq_relationship.weight" else v) for n, s, v in t]'
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/model.safetensors: tensor 'cls.seq_relationship.weight' has shape [3,128], config.json says [2,128]" ]
}

@test "hcmodel: the EXAMPLES of its manual run as written" {
	local d="$BATS_TEST_TMPDIR/ex" cmd
	mkdir "$d"
	ln -s "$TOP/samples" "$d/samples"
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE/p' "$TOP/man/hcmodel.1" |
	    sed -n '/^\.Bd/,/^\.Ed/p' >"$d/blocks"
	grep '^\$ ' "$d/blocks" | sed 's/^\$ //' >"$d/cmds"
	[ "$(wc -l <"$d/cmds")" -eq 5 ]
	while read -r cmd; do
		(cd "$d" && eval "$cmd") >"$d/out" || {
			echo "failed: $cmd"
			return 1
		}
	done <"$d/cmds"
	[ -s "$d/bin-model-f32/model.safetensors" ]
	# a non-BERT model's report is the one the page shows
	sed -n '/^\$ hcmodel check samples\/tiny-roberta/,/^\.Ed/p' \
	    "$d/blocks" | sed '1d;$d' >"$d/want"
	(cd "$d" && hcmodel check samples/tiny-roberta) | diff "$d/want" -
}
