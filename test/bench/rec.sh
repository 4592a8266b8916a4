#!/bin/sh
# rec: throughput of the record layer (issue 2).  1,000 attention-sized
# records -- an 'id' and an 'attn' tensor f32 of shape [12, 12, 64, 64],
# 2.4 MB each -- in test/bench/out/rec-attn.mp (made once, kept), sent
# through `recs -p` (read every record, write it again unchanged) and through
# `cat` in its place, in the same pipeline shape; best of 3 each, timed
# alternately, page cache warm.  Target: recs -p at least 0.5 x cat's MB/s.
set -e
cd "$(dirname "$0")/../.."
PATH=$PWD/cmd:$PATH
N=1000
out=test/bench/out
f=$out/rec-attn.mp
mkdir -p "$out"
[ -x cmd/recs ] || make -s cmd/recs

# One record's msgpack bytes by hand ({"id": "bench", "attn": {"dtype":
# "f32", "shape": [12, 12, 64, 64], "data": bin32}}), then cat'ed N times.
one=12*12*64*64*4
want=$(( N * ($one + 47) ))
if [ ! -f "$f" ] || [ "$(wc -c <"$f")" -ne "$want" ]; then
	/usr/bin/python3 - "$out/rec-one.mp" <<'PYEOF'
import os, struct, sys
def s(x):
    b = x.encode()
    return bytes([0xa0 | len(b)]) + b
data = os.urandom(12 * 12 * 64 * 64 * 4)
rec = (bytes([0x82]) + s("id") + s("bench") + s("attn") + bytes([0x83]) +
       s("dtype") + s("f32") + s("shape") + bytes([0x94, 12, 12, 64, 64]) +
       s("data") + b"\xc6" + struct.pack(">I", len(data)) + data)
open(sys.argv[1], "wb").write(rec)
PYEOF
	[ "$(wc -c <"$out/rec-one.mp")" -eq $(( $one + 47 )) ]
	i=0
	while [ $i -lt $N ]; do echo "$out/rec-one.mp"; i=$((i + 1)); done |
	    xargs cat >"$f.tmp"
	mv "$f.tmp" "$f"
	rm -f "$out/rec-one.mp"
fi
bytes=$(wc -c <"$f")
[ "$(recs -c "$f")" = "$N" ]
cat "$f" | recs -p | cmp - "$f"		# unchanged, and the cache is warm

ns() { date +%s%N; }
best() { # best PREV NEW: the smaller
	if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi
}
echo "\$ cat $f | cat | cat >/dev/null"
echo "\$ cat $f | recs -p | cat >/dev/null"
echo "  (best of 3 each, alternating)"
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
	printf "  cat | cat | cat        %6.0f MB/s  (%.2f s)\n", mc, tc / 1e9
	printf "  cat | recs -p | cat    %6.0f MB/s  (%.2f s)\n", mr, tr / 1e9
	printf "summary\n"
	printf "  recs -p / cat throughput: %.2f  (target >= 0.50) %s\n",
	    mr / mc, (mr / mc >= 0.5 ? "ok" : "BELOW TARGET")
}'
