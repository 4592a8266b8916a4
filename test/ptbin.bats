#!/usr/bin/env bats
# pytorch_model.bin (common/tensorfile.c), seen through hcmodel ls and check.
# The golden .bin files were written by torch.save (PyTorch 1.13) with
# test/mkbin.py from the weights that "mkbin.py model" writes as safetensors.

load helper

setup() {
	MKBIN="$PY $TOP/test/mkbin.py"
	T=$BATS_TEST_TMPDIR
}

need_torch() {
	$PY -c 'import torch' 2>/dev/null || skip "torch is absent"
}

# crc32f V...: the CRC-32 of values V as little-endian float32, as ls -c.
crc32f() {
	$PY -c 'import struct, sys, zlib
v = [float(x) for x in sys.argv[1:]]
print("%08x" % zlib.crc32(struct.pack("<%df" % len(v), *v)))' "$@"
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
	# a transposed view is read as the tensor it shows
	run -0 hcmodel ls -c "$T/nc.bin"
	[ "$output" = "t	f16	[3,2]	$(crc32f 0 3 1 4 2 5)" ]
}

@test "ptbin: encode gives the same bytes from the .bin files as from safetensors" {
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

@test "ptbin: a non-contiguous tensor is read as the view it is" {
	$MKBIN bad stride "$GOLDEN/ptbin-f32.bin" "$T/s.bin"
	# element (i, j) is storage element i + 8 j: strides (1, 8)
	$PY - "$GOLDEN/ptbin-f32.bin" >"$T/want" <<'EOF'
import struct, sys, zipfile, zlib
z = zipfile.ZipFile(sys.argv[1])
pre = z.namelist()[0].split("/")[0]
st = struct.unpack("<192f", z.read(pre + "/data/0")[:768])
v = [st[i + 8 * j] for i in range(24) for j in range(8)]
print("embeddings.word_embeddings.weight\tf32\t[24,8]\t%08x" %
      zlib.crc32(struct.pack("<192f", *v)))
EOF
	hcmodel ls -c "$T/s.bin" | head -n 1 >"$T/got"
	diff -u "$T/want" "$T/got"
}

@test "ptbin: compressed entries" {
	bad compressed "entry 'ptbin-f32/data.pkl' is compressed (method 8); torch.save stores entries uncompressed"
}

@test "ptbin: archive without data.pkl" {
	bad nopickle "no data.pkl in the archive: not written by torch.save"
}

@test "ptbin: a legacy file, once refused, is read" {
	run -0 --separate-stderr hcmodel ls "$GOLDEN/ptbin-legacy.bin"
	[ "$output" = "embeddings.word_embeddings.weight	f32	[2,2]" ]
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

# ---- the legacy formats (test/mklegacy.py) ----
# ptbin-legacy-{f32,f16,bf16}.bin were written by torch.save 1.13 with
# _use_new_zipfile_serialization=False, ptbin-legacy-tar.bin (f16) by
# "mklegacy.py tar", all with -s from the weights of "mkbin.py model": a
# tied decoder, q/k/v as slices of one storage, and a transposed view
# with a storage offset.  ptbin-legacy-be.bin: "mklegacy.py legacy -b".

MKLEG() {
	$PY "$TOP/test/mklegacy.py" "$@"
}

# The values of file $1 by name, without the tied decoder, sorted.
sorted() {
	values "$1" | grep -v '^cls\.' | sort
}

@test "ptbin: legacy f32, f16, bf16 and tar files hold the safetensors values" {
	$MKBIN model "$T/m"
	sorted "$T/m/model.safetensors" >"$T/want"
	for f in f32 f16 bf16 tar; do
		sorted "$GOLDEN/ptbin-legacy-$f.bin" >"$T/got"
		diff -u "$T/want" "$T/got"
	done
	for f in f16 bf16; do
		hcmodel ls "$GOLDEN/ptbin-legacy-$f.bin" | cut -f2 | sort -u >"$T/dt"
		[ "$(cat "$T/dt")" = $f ]
	done
	# the tied decoder has the word embeddings' values
	we=$(grep '^embeddings.word_embeddings.weight' "$T/want" | cut -f3)
	for f in f32 tar; do
		values "$GOLDEN/ptbin-legacy-$f.bin" >"$T/got"
		grep -q "^cls.predictions.decoder.weight	\[24,8\]	$we\$" "$T/got"
	done
}

@test "ptbin: encode gives the same bytes from legacy files as from safetensors" {
	$MKBIN model "$T/m"
	$MKBIN tokens "$T/tok.mp"
	encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/st.mp"
	rm "$T/m/model.safetensors"
	for f in f32 f16 bf16 tar; do
		cp "$GOLDEN/ptbin-legacy-$f.bin" "$T/m/pytorch_model.bin"
		encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/bin.mp"
		cmp "$T/st.mp" "$T/bin.mp"
	done
}

@test "ptbin: legacy files written now by torch.save and by mklegacy.py read the same" {
	need_torch
	$MKBIN model "$T/m"
	sorted "$T/m/model.safetensors" >"$T/want"
	for d in f32 f16 bf16; do
		MKLEG torch "$T/m/model.safetensors" "$T/t.bin" -d $d -s
		sorted "$T/t.bin" >"$T/got"
		diff -u "$T/want" "$T/got"
	done
	# torch.load reads the tar and the hand-written legacy file as it
	# reads its own
	MKLEG tar "$T/m/model.safetensors" "$T/tar.bin" -s
	MKLEG legacy "$T/m/model.safetensors" "$T/leg.bin" -s
	MKLEG torch "$T/m/model.safetensors" "$T/t.bin" -s
	$PY - "$T/t.bin" "$T/tar.bin" "$T/leg.bin" <<'EOF'
import sys, torch
a = torch.load(sys.argv[1])
for f in sys.argv[2:]:
    b = torch.load(f)
    assert list(a) == list(b), f
    for k in a:
        assert torch.equal(a[k], b[k]) and a[k].stride() == b[k].stride(), k
EOF
}

@test "ptbin: a big-endian system info is refused by name" {
	run -1 --separate-stderr hcmodel ls "$GOLDEN/ptbin-legacy-be.bin"
	[ "$stderr" = "hcmodel: $GOLDEN/ptbin-legacy-be.bin: storages are big-endian (the system info says little_endian False): written on a big-endian machine" ]
}

@test "ptbin: hcmodel check names the legacy formats" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	cp "$GOLDEN/ptbin-legacy-f16.bin" "$T/m/pytorch_model.bin"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"format	PyTorch legacy"* ]]
	[[ $output == *"tied	cls.predictions.decoder.weight"* ]]
	cp "$GOLDEN/ptbin-legacy-tar.bin" "$T/m/pytorch_model.bin"
	run -0 --separate-stderr hcmodel check "$T/m"
	[[ $output == *"format	PyTorch legacy tar"* ]]
}

# legacy_bad KIND MESSAGE: ptbin-legacy-f32.bin edited, refused with
# MESSAGE (a pattern).
legacy_bad() {
	$PY - "$GOLDEN/ptbin-legacy-f32.bin" "$T/x.bin" "$1" <<'EOF'
import pickle, struct, sys
b = open(sys.argv[1], "rb").read()
kind = sys.argv[3]
# the keys pickle is the last protocol 2 list; the data follows it
k = b.rindex(b"\x80\x02]", 0, b.index(b"\x80\x02]") + 1 + 4096)
keys = pickle.loads(b[k:])
d = k + len(pickle.dumps(keys, protocol=2))
if kind == "truncated":
    b = b[:len(b) - 100]
elif kind == "magic":
    b = b[:5] + b"\x00" + b[6:]
elif kind == "version":
    b = b.replace(b"M\xe9\x03", b"M\xea\x03", 1)
elif kind == "numel":
    n, = struct.unpack_from("<q", b, d)
    b = b[:d] + struct.pack("<q", n + 1) + b[d + 8:]
elif kind == "unused":
    b = b[:k] + pickle.dumps(keys + ["999"], protocol=2) + b[d:]
open(sys.argv[2], "wb").write(b)
EOF
	run -1 --separate-stderr hcmodel ls "$T/x.bin"
	[ -z "$output" ]
	echo "$stderr"
	[[ $stderr == "hcmodel: $T/x.bin: "$2 ]]
}

@test "ptbin: legacy, storages past the end of the file" {
	legacy_bad truncated "storage '"*"' at offset "*" elements of float32 run past the end of the file: truncated?"
}

@test "ptbin: legacy, a pickle without the magic number" {
	legacy_bad magic "a pickle without torch.save's magic number: not a pytorch_model.bin"
}

@test "ptbin: legacy, another format version" {
	legacy_bad version "legacy format version is not 1001"
}

@test "ptbin: legacy, a storage's count disagrees with the pickle" {
	legacy_bad numel "storage '"*"' has "*" elements of float32 in the file, the pickle says "*
}

@test "ptbin: legacy, a storage key that no tensor uses" {
	legacy_bad unused "storage '999' is listed but no tensor uses it"
}

@test "ptbin: tar without a storages member, or with a corrupt header" {
	$PY - "$GOLDEN/ptbin-legacy-tar.bin" "$T/a.bin" "$T/b.bin" <<'EOF'
import io, sys, tarfile
src = tarfile.open(sys.argv[1])
with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as t:
    for m in src.getmembers():
        if m.name != "storages":
            t.addfile(m, src.extractfile(m))
b = bytearray(open(sys.argv[1], "rb").read())
b[1024 + 20] ^= 0xff    # the name in the header of sys_info
open(sys.argv[3], "wb").write(b)
EOF
	run -1 --separate-stderr hcmodel ls "$T/a.bin"
	[ "$stderr" = "hcmodel: $T/a.bin: tar archive without a 'storages' member: not written by torch.save" ]
	run -1 --separate-stderr hcmodel ls "$T/b.bin"
	[ "$stderr" = "hcmodel: $T/b.bin: tar header at offset 1024 is corrupt" ]
}

@test "ptbin: every truncation of a legacy or tar file is an error, never a crash" {
	for f in legacy-f16 legacy-tar; do
		$PY - "$GOLDEN/ptbin-$f.bin" "$T/cut.bin" <<'EOF'
import subprocess, sys, tarfile
buf = open(sys.argv[1], "rb").read()
end = len(buf)
if tarfile.is_tarfile(sys.argv[1]):    # the end blocks are not needed
    end = max(m.offset_data + m.size for m in tarfile.open(sys.argv[1]))
for n in list(range(0, 700, 5)) + list(range(700, end, 97)):
    open(sys.argv[2], "wb").write(buf[:n])
    r = subprocess.run(["hcmodel", "ls", sys.argv[2]],
                       capture_output=True)
    if r.returncode != 1 or not r.stderr.startswith(b"hcmodel: "):
        sys.exit("cut at %d: exit %d %r" % (n, r.returncode, r.stderr))
EOF
	done
}

@test "ptbin: a strided view of more elements than its storage is refused" {
	$PY - "$TOP/test" "$T/x.bin" <<'EOF'
import collections, pickle, struct, sys
sys.path.insert(0, sys.argv[1])
import mklegacy as L
torch = L.fakes()
ref = L.Ref(("storage", torch.FloatStorage, "0", "cpu", 1, None))
sd = collections.OrderedDict(
    x=L.Rebuild(torch, ref, 0, (1 << 20, 1 << 20), (0, 0)))
b = pickle.dumps(L.MAGIC, protocol=2) + pickle.dumps(1001, protocol=2)
b += L.sysinfo() + L.dumps_pid(sd) + pickle.dumps(["0"], protocol=2)
b += struct.pack("<qf", 1, 1.0)
open(sys.argv[2], "wb").write(b)
EOF
	run -1 --separate-stderr bash -c '$MEMCAP; exec hcmodel ls "$1"' - "$T/x.bin"
	[ "$stderr" = "hcmodel: $T/x.bin: tensor 'x': a strided view of 1099511627776 elements on a storage of 1" ]
}

# Issue 21: a pickle of 20M tuples took 5 GB.  The interpreter's memory is
# bounded by the file's size.
@test "ptbin: a pickle of 20M nested tuples fails within its memory bound" {
	$PY - "$TOP/test" "$T/t.bin" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mkbin
pkl = b"\x80\x02N" + b"\x85" * 20000000 + b"."
mkbin.write_zip(sys.argv[2], [("t/data.pkl", pkl)])
EOF
	run -1 --separate-stderr bash -c '$MEMCAP; exec hcmodel ls "$1"' - "$T/t.bin"
	echo "$stderr"
	[[ $stderr == "hcmodel: $T/t.bin: data.pkl offset "*": the pickle takes more than "*" bytes of memory, more than a file of "*" bytes can need" ]]
	# and the legacy reader's
	MKLEG tuples "$T/l.bin" 20000000
	run -1 --separate-stderr bash -c '$MEMCAP; exec hcmodel ls "$1"' - "$T/l.bin"
	[[ $stderr == *": the pickle takes more than "* ]]
}

# Issue 21: a FIFO hung open(2), a directory failed at mmap(2).
@test "ptbin: a FIFO or directory where the weights belong is not a regular file" {
	$MKBIN model "$T/m"
	rm "$T/m/model.safetensors"
	for w in model.safetensors pytorch_model.bin; do
		mkfifo "$T/m/$w"
		run -1 --separate-stderr timeout 10 hcmodel check "$T/m"
		[ "$stderr" = "hcmodel: $T/m/$w: not a regular file" ]
		run -1 --separate-stderr timeout 10 hcmodel ls "$T/m/$w"
		[ "$stderr" = "hcmodel: $T/m/$w: not a regular file" ]
		if command -v encode >/dev/null; then
			run -1 --separate-stderr timeout 10 encode -m "$T/m" /dev/null
			[[ $stderr == *"$T/m/$w: not a regular file"* ]]
		fi
		rm "$T/m/$w"
		mkdir "$T/m/$w"
		run -1 --separate-stderr timeout 10 hcmodel ls "$T/m/$w"
		[ "$stderr" = "hcmodel: $T/m/$w: not a regular file" ]
		run -1 --separate-stderr timeout 10 hcmodel check "$T/m"
		[ "$stderr" = "hcmodel: $T/m/$w: not a regular file" ]
		rmdir "$T/m/$w"
	done
}

# ---- sharded checkpoints ----

@test "ptbin: a checkpoint in three shards reads as one (safetensors, legacy, tar)" {
	$MKBIN model "$T/m"
	values "$T/m/model.safetensors" | sort >"$T/want"
	for kind in st legacy tar; do
		rm -rf "$T/s"
		cp -r "$T/m" "$T/s"
		MKLEG shards "$T/s" $kind
		[ "$(ls "$T/s" | grep -c -e '-of-00003')" = 3 ]
		idx=$(ls "$T/s"/*.index.json)
		values "$idx" | sort >"$T/got"
		diff -u "$T/want" "$T/got"
		run -0 --separate-stderr hcmodel check "$T/s"
		[[ $output == *"weights	$(basename "$idx")"* ]]
		[[ $output == *"format	3 shards, "* ]]
		[ "${lines[-1]}" = "status	ok" ]
	done
}

@test "ptbin: encode gives the same bytes from shards as from one file" {
	$MKBIN model "$T/m"
	$MKBIN tokens "$T/tok.mp"
	encode -m "$T/m" -a -p --hidden-all "$T/tok.mp" >"$T/st.mp"
	for kind in st tar; do
		rm -rf "$T/s"
		cp -r "$T/m" "$T/s"
		MKLEG shards "$T/s" $kind
		encode -m "$T/s" -a -p --hidden-all "$T/tok.mp" >"$T/sh.mp"
		cmp "$T/st.mp" "$T/sh.mp"
	done
}

@test "ptbin: a shard missing, a tensor not in its shard, an index not JSON" {
	$MKBIN model "$T/m"
	MKLEG shards "$T/m" st
	ix=$T/m/model.safetensors.index.json
	mv "$T/m/model-00002-of-00003.safetensors" "$T/two"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $T/m/model-00002-of-00003.safetensors: No such file or directory" ]
	cp "$T/m/model-00001-of-00003.safetensors" \
	    "$T/m/model-00002-of-00003.safetensors"
	run -1 --separate-stderr hcmodel ls "$ix"
	[[ $stderr == "hcmodel: $ix: tensor '"*"' is mapped to $T/m/model-00002-of-00003.safetensors, which lacks it" ]]
	echo '{"weight_map": ' >"$ix"
	run -1 --separate-stderr hcmodel check "$T/m"
	[ "$stderr" = "hcmodel: $ix: not valid JSON" ]
	echo '{"weight_map": {"a": "../x.safetensors"}}' >"$ix"
	run -1 --separate-stderr hcmodel ls "$ix"
	[ "$stderr" = "hcmodel: $ix: tensor 'a' is mapped to a bad name, not a file name beside the index" ]
}
