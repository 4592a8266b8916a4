#!/usr/bin/python3
# rekey.py -- a record stream with a copy of one key's stack of maps under
# another key, for the tests of the filters' -k:
#
#	usage: rekey.py [-d] [-l] FROM TO <in.mp >out.mp
#
# -d drops FROM from each record; -l makes TO a stack of one map per layer,
# [L, 1, T, T], the mean of FROM's heads (rows still sum to 1).  Without
# -l, TO is FROM's tensor as it is, bytes and dtype.  TO goes last.
import getopt
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import mkmaps  # noqa: E402


def main():
    opts, args = getopt.getopt(sys.argv[1:], "dl")
    opts = dict(opts)
    if len(args) != 2:
        sys.exit("usage: rekey.py [-d] [-l] FROM TO <in.mp >out.mp")
    src, dst = args
    b = sys.stdin.buffer.read()
    out, i = bytearray(), 0
    while i < len(b):
        r, i = mkmaps.unpack(b, i)
        t = r[src]
        if "-l" in opts:
            t = mkmaps.ftensor(mkmaps.tensor(t).mean(axis=1, keepdims=True))
        if "-d" in opts:
            del r[src]
        r[dst] = t
        mkmaps.pack(r, out)
    sys.stdout.buffer.write(out)


main()
