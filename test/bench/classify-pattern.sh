#!/bin/sh
# classify-pattern and attend-dump: cost of each output, as ratios measured
# side by side in one run on the same input.
#	test/bench/classify-pattern.sh
cd "$(dirname "$0")/../.." || exit 1
PATH="$PWD/cmd:$PATH"
export OPENBLAS_NUM_THREADS=1
for f in attend-dump classify-pattern; do
	[ -x "cmd/$f" ] || { echo "cmd/$f is not built" >&2; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# seconds a command takes, best of 3
best() {
	b=
	for i in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		b=$(awk -v b="$b" -v t="$(awk -v s="$s" -v e="$e" \
		    'BEGIN { print e - s }')" \
		    'BEGIN { print (b == "" || t < b) ? t : b }')
	done
	echo "$b"
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'
}

/usr/bin/python3 test/mkmaps.py -n 40 -s 5 -l 64 -L 128 >"$tmp/maps.mp"
/usr/bin/python3 test/mkmaps.py -n 40 -s 6 -l 64 -L 128 -k pattern \
    >"$tmp/train.mp"
classify-pattern -t "$tmp/m" "$tmp/train.mp"
for i in 1 2 3 4 5 6 7 8; do cat samples/ka-attn.mp; done >"$tmp/attn.mp"

echo "# 200 synthetic maps, T 64..128: classify-pattern"
tc=$(best cat "$tmp/maps.mp")
tr=$(best classify-pattern "$tmp/maps.mp")
tm=$(best classify-pattern -m "$tmp/m" "$tmp/maps.mp")
echo "rule / cat           $(ratio "$tr" "$tc")   ($tr s)"
echo "--model / rule       $(ratio "$tm" "$tr")"
echo "# 64 examples of samples/ka-attn.mp (12 heads each): attend-dump"
ta=$(best attend-dump "$tmp/attn.mp")
tn=$(best attend-dump --npy "$tmp/n" "$tmp/attn.mp")
tt=$(best attend-dump --tsv "$tmp/t" "$tmp/attn.mp")
tp=$(best attend-dump --png "$tmp/p" "$tmp/attn.mp")
ts=$(best attend-dump --sheet --png "$tmp/s" "$tmp/attn.mp")
echo "records              1.0x   ($ta s)"
echo "--npy / records      $(ratio "$tn" "$ta")"
echo "--tsv / records      $(ratio "$tt" "$ta")"
echo "--png / records      $(ratio "$tp" "$ta")"
echo "--sheet --png / records $(ratio "$ts" "$ta")"
