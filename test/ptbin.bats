#!/usr/bin/env bats
# pytorch_model.bin (common/ptbin.c), seen through hcmodel ls and check.
# The golden .bin files were written by torch.save (PyTorch 1.13) with
# test/mkbin.py from the weights that "mkbin.py model" writes as safetensors.

load helper

setup() {
	command -v hcmodel >/dev/null || skip "hcmodel is not built"
	MKBIN="$PY $TOP/test/mkbin.py"
	T=$BATS_TEST_TMPDIR
}

need_torch() {
	$PY -c 'import torch' 2>/dev/null || skip "torch is absent"
}

# ls -c without the dtype column and the "bert." prefix.
values() {
	hcmodel ls -c "$1" | grep -v 'skipped$' | sed 's/^bert\.//' | cut -f1,3,4
}

@test "ptbin: f32, f16 and bf16 files hold the safetensors values" {
	$MKBIN model "$T/m"
	values "$T/m/model.safetensors" >"$T/want"
	[ "$(wc -l <"$T/want")" -eq 39 ]
	for f in f32 f16 bf16-bert; do
		values "$GOLDEN/ptbin-$f.bin" >"$T/got"
		diff -u "$T/want" "$T/got"
	done
	hcmodel ls "$GOLDEN/ptbin-f16.bin" | cut -f2 | sort -u >"$T/dt"
	[ "$(cat "$T/dt")" = f16 ]
	hcmodel ls "$GOLDEN/ptbin-bf16-bert.bin" | grep -v skipped |
	    cut -f2 | sort -u >"$T/dt"
	[ "$(cat "$T/dt")" = bf16 ]
}

@test "ptbin: shared storages (fused q/k/v slices, tied decoder)" {
	$MKBIN model "$T/m"
	values "$T/m/model.safetensors" >"$T/want"
	values "$GOLDEN/ptbin-shared.bin" >"$T/got"
	we=$(grep '^embeddings.word_embeddings.weight' "$T/want" | cut -f3)
	grep -q "^cls.predictions.decoder.weight	\[24,8\]	$we\$" "$T/got"
	grep -v '^cls\.' "$T/got" >"$T/got2"
	diff -u "$T/want" "$T/got2"
}

@test "ptbin: an int64 position_ids buffer is skipped, not an error" {
	run -0 hcmodel ls "$GOLDEN/ptbin-bf16-bert.bin"
	[ "${lines[39]}" = "bert.embeddings.position_ids	int64	skipped" ]
}

@test "ptbin: float64, bool and non-tensor values are skipped and listed" {
	run -0 hcmodel ls "$GOLDEN/ptbin-other.bin"
	[ "$output" = "a	f32	[2]
b	float64	skipped
n	not a tensor	skipped
m	bool	skipped" ]
}

@test "ptbin: a needed tensor in float64 is named as unsupported" {
	need_torch
	$MKBIN model "$T/m"
	$PY -c '
import sys, torch
sys.path.insert(0, sys.argv[1])
import mkbin
sd = {n: torch.tensor(v).reshape(s)
      for n, s, v in mkbin.read_safetensors(sys.argv[2])}
sd["embeddings.LayerNorm.bias"] = sd["embeddings.LayerNorm.bias"].double()
torch.save(sd, sys.argv[3])' "$TOP/test" "$T/m/model.safetensors" \
	    "$T/m/pytorch_model.bin"
	rm "$T/m/model.safetensors"
	run -1 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"missing	embeddings.LayerNorm.bias (float64, not supported)"* ]]
}

@test "ptbin: ZIP64 records and another archive name read the same" {
	$MKBIN rezip "$GOLDEN/ptbin-shared.bin" "$T/z.bin" -z -n pytorch_model
	hcmodel ls -c "$GOLDEN/ptbin-shared.bin" >"$T/want"
	hcmodel ls -c "$T/z.bin" >"$T/got"
	diff -u "$T/want" "$T/got"
}

@test "ptbin: model directory with pytorch_model.bin loads (hcmodel check)" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	cp "$GOLDEN/ptbin-bf16-bert.bin" "$T/m/pytorch_model.bin"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"weights	pytorch_model.bin"* ]]
	[[ $output == *"skipped	bert.embeddings.position_ids (int64)"* ]]
	[[ ${lines[-1]} == "status	ok" ]]
}

@test "ptbin: model.safetensors is preferred to pytorch_model.bin" {
	$MKBIN model "$T/m"
	$MKBIN bad nokey "$GOLDEN/ptbin-f32.bin" "$T/m/pytorch_model.bin"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"weights	model.safetensors (preferred to pytorch_model.bin, which is not read)"* ]]
}

@test "ptbin: files written now by torch.save read like the golden ones" {
	need_torch
	$MKBIN model "$T/m"
	values "$T/m/model.safetensors" >"$T/want"
	$MKBIN bin "$T/m/model.safetensors" "$T/a.bin" -d bf16 -s -p bert. -i
	values "$T/a.bin" | grep -v '^cls\.' >"$T/got"
	diff -u "$T/want" "$T/got"
	$PY -c '
import sys, torch
t = torch.arange(6, dtype=torch.float16).reshape(2, 3)
torch.save({"p": torch.nn.Parameter(t.float()), "s": torch.tensor(2.5),
    "z": torch.zeros(0, 3)}, sys.argv[1], pickle_protocol=4)
torch.save({"t": t.t()}, sys.argv[2])' "$T/p4.bin" "$T/nc.bin"
	run -0 hcmodel ls "$T/p4.bin"
	[ "$output" = "p	f32	[2,3]
s	f32	[]
z	f32	[0,3]" ]
	run -1 --separate-stderr hcmodel ls "$T/nc.bin"
	[ "$stderr" = "hcmodel: $T/nc.bin: tensor 't' is not contiguous (stride 3 in dimension 1, expected 1); save .contiguous() tensors" ]
}

@test "ptbin: encode gives the same bytes from the .bin files as from safetensors" {
	command -v encode >/dev/null || skip "encode is not built"
	$MKBIN model "$T/m"
	$MKBIN tokens "$T/tok.mp"
	encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/st.mp"
	[ -s "$T/st.mp" ]
	rm "$T/m/model.safetensors"
	for f in f32 f16 bf16-bert shared; do
		cp "$GOLDEN/ptbin-$f.bin" "$T/m/pytorch_model.bin"
		encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/bin.mp"
		cmp "$T/st.mp" "$T/bin.mp"
	done
	# Tensors at odd offsets, as other zip writers may leave them.
	$MKBIN rezip "$GOLDEN/ptbin-bf16-bert.bin" "$T/m/pytorch_model.bin" -u -z
	encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/bin.mp"
	cmp "$T/st.mp" "$T/bin.mp"
}

@test "ptbin: encode, random classifiers converted by torch.save, same bytes" {
	command -v encode >/dev/null || skip "encode is not built"
	need_torch
	$MKBIN tokens "$T/tok.mp"
	for dt in F32 F16 BF16; do
		d=$(echo $dt | tr A-Z a-z)
		$PY "$TOP/test/mkmodel.py" "$T/m" -V 24 -P 16 --labels 3 \
		    --dtype $dt --prefix --gamma --extra --seed 7
		encode -m "$T/m" -a "$T/tok.mp" >"$T/st.mp"
		$MKBIN bin "$T/m/model.safetensors" "$T/m/pytorch_model.bin" -d $d
		rm "$T/m/model.safetensors"
		encode -m "$T/m" -a "$T/tok.mp" >"$T/bin.mp"
		cmp "$T/st.mp" "$T/bin.mp"
		rm -r "$T/m"
	done
}

# bad KIND: hcmodel ls exits 1 with exactly the message given.
bad() {
	$MKBIN bad "$1" "$GOLDEN/ptbin-f32.bin" "$T/$1.bin"
	run -1 --separate-stderr hcmodel ls "$T/$1.bin"
	[ -z "$output" ]
	[ "$stderr" = "hcmodel: $T/$1.bin: $2" ]
}

@test "ptbin: truncated archive" {
	bad truncated "truncated or not a zip archive (no end of central directory)"
}

@test "ptbin: opcode outside the subset" {
	bad opcode "data.pkl offset 13: opcode BINFLOAT (0x47) is not in the subset torch.save writes for a state dict"
}

@test "ptbin: a global other than the tensor ones is refused, never called" {
	bad global "data.pkl offset 2: global 'os.system' is not one that torch.save writes for a state dict (refused, never called)"
}

@test "ptbin: storage key missing from the archive" {
	bad nokey "tensor 'embeddings.word_embeddings.weight': storage '0' is not in the archive"
}

@test "ptbin: storage too small for its tensor" {
	bad small "tensor 'embeddings.word_embeddings.weight': storage '0' has 384 bytes, less than its 192 elements of float32"
}

@test "ptbin: non-contiguous tensor" {
	bad stride "tensor 'embeddings.word_embeddings.weight' is not contiguous (stride 8 in dimension 1, expected 1); save .contiguous() tensors"
}

@test "ptbin: compressed entries" {
	bad compressed "entry 'ptbin-f32/data.pkl' is compressed (method 8); torch.save stores entries uncompressed"
}

@test "ptbin: archive without data.pkl" {
	bad nopickle "no data.pkl in the archive: not written by torch.save"
}

@test "ptbin: legacy format says how to convert" {
	run -1 --separate-stderr hcmodel ls "$GOLDEN/ptbin-legacy.bin"
	[ "$stderr" = "hcmodel: $GOLDEN/ptbin-legacy.bin: legacy PyTorch format (torch.save before 1.6, not a zip archive); convert it with torch>=1.6, torch.save(torch.load(f), f), or save it as model.safetensors" ]
}

@test "ptbin: every truncation of a .bin is an error, never a crash" {
	$PY - "$GOLDEN/ptbin-shared.bin" "$T/cut.bin" <<'EOF'
import subprocess, sys
buf = open(sys.argv[1], "rb").read()
for n in list(range(0, 200, 7)) + list(range(200, len(buf), 331)):
    open(sys.argv[2], "wb").write(buf[:n])
    r = subprocess.run(["hcmodel", "ls", sys.argv[2]],
                       capture_output=True)
    if r.returncode != 1 or not r.stderr.startswith(b"hcmodel: "):
        sys.exit("cut at %d: exit %d %r" % (n, r.returncode, r.stderr))
EOF
}
