#!/bin/sh
# rec: throughput of the record layer.  1,000 attention-sized records (an
# 'attn' tensor f32 of shape [12, 12, 64, 64], 2.4 MB, and an id) in a temp
# file, sent through a pipe into `recs -p` (read each record, write it again
# unchanged) against `cat` in its place; best of 3, timed alternately in the
# same run, page cache warm.  Target: recs at least half of cat's MB/s.
# The record layer asks for 1 MB pipes (F_SETPIPE_SZ) on its stdin and
# stdout, so the pipes on either side of recs are larger than cat's.
set -e
cd "$(dirname "$0")/../.."
make -s cmd/recs
PATH=$PWD/cmd:$PATH
N=${N:-1000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-rec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
f=$tmp/attn.mp

# One record's msgpack bytes by hand: {"id": "bench/K", "attn": {dtype,
# shape, data: bin32}}; the data is the same random block in every record.
/usr/bin/python3 - "$f" "$N" <<'PYEOF'
import os, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
def s(x):
    b = x.encode()
    return bytes([0xa0 | len(b)]) + b
data = os.urandom(12 * 12 * 64 * 64 * 4)
tensor = (bytes([0x83]) + s("dtype") + s("f32") + s("shape") +
          bytes([0x94, 12, 12, 64, 64]) + s("data") +
          b"\xc6" + struct.pack(">I", len(data)))
with open(path, "wb") as f:
    for k in range(n):
        f.write(bytes([0x82]) + s("id") + s("bench/%d" % k) + s("attn") +
                tensor)
        f.write(data)
PYEOF
bytes=$(wc -c <"$f")
[ "$(recs -c "$f")" = "$N" ]
cat "$f" | recs -p | cmp - "$f"		# unchanged, and the cache is warm

ns() { date +%s%N; }
best() { # best PREV NEW: the smaller
	if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi
}
tc= tr=
for i in 1 2 3; do
	t0=$(ns); cat "$f" | cat | cat >/dev/null; t1=$(ns)
	tc=$(best "$tc" $((t1 - t0)))
	t0=$(ns); cat "$f" | recs -p | cat >/dev/null; t1=$(ns)
	tr=$(best "$tr" $((t1 - t0)))
done
awk -v b="$bytes" -v tc="$tc" -v tr="$tr" -v n="$N" 'BEGIN {
	mc = b / 1e6 / (tc / 1e9); mr = b / 1e6 / (tr / 1e9)
	printf "%d records, %.0f MB\n", n, b / 1e6
	printf "  cat FILE | cat | cat >/dev/null       %8.0f MB/s\n", mc
	printf "  cat FILE | recs -p | cat >/dev/null   %8.0f MB/s\n", mr
	printf "  recs -p / cat: %.2f (target >= 0.50)\n", mr / mc
}'
