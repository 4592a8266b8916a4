# Shared set-up for the Bats files: load helper
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PATH="$TOP/cmd:$PATH"
SAMPLES="$TOP/samples"
GOLDEN="$TOP/test/golden"
SHARED="$TOP/../shared/data"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 LC_ALL=C.UTF-8

# MEMCAP is a command that caps virtual memory at 1 GB, so that a filter that
# asks for absurd memory fails instead of swapping: `bash -c "$MEMCAP; exec
# ..."`.  Under AddressSanitizer, which reserves terabytes of address space
# for its shadow, it does nothing and ASAN is set.
if grep -qa __asan_init "$TOP/cmd/recs" 2>/dev/null; then
	ASAN=1 MEMCAP=:
else
	ASAN= MEMCAP='ulimit -v 1000000'
fi
export MEMCAP

# golden NAME FILE: compare FILE with test/golden/NAME (cmp for binary, diff
# for text); UPDATE_GOLDEN=1 rewrites the golden file instead.
golden() {
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$2" "$GOLDEN/$1"
		return 0
	fi
	case $1 in
	*.mp|*.gz|*.png|*.npy|*.bin) cmp "$GOLDEN/$1" "$2" ;;
	*) diff -u "$GOLDEN/$1" "$2" ;;
	esac
}

# Skip a test that needs ../shared/data when it is absent.
need_shared() {
	[ -d "$SHARED/${1:-}" ] || skip "../shared/data/${1:-} is absent"
}

# Skip a test that needs numpy when it is absent.
need_numpy() {
	$PY -c 'import numpy' 2>/dev/null || skip "numpy is absent"
}

# same_bits MODEL IN.mp ONE.mp B...: encode -a --hidden-all --pooled of
# IN.mp in batches of B tokens, for each B, at 1 and 2 threads, gives
# ONE.mp's bytes (packing and threads change no bit).
same_bits() {
	local m=$1 in=$2 one=$3 b n
	shift 3
	for b; do
		for n in 1 2; do
			OPENBLAS_NUM_THREADS=$n encode -m "$m" -a --hidden-all \
			    --pooled -b "$b" "$in" | cmp - "$one" || return 1
		done
	done
}
