#!/usr/bin/python3
# rollout.py -- attention rollout and flow computed independently of
# attend-rollout, for its tests.
#
#	rollout.py gen SEED N >in.mp     N records of random small maps
#	rollout.py check [-r] [-p POOL] [-k KEY] in.mp out.mp
#
# gen: records "r/k" with attn [L, H, T, T] (L 1..3, H 1..3, T 2..4, at
# most 12 nodes in the graph), each
# row random and summing to 1, some weights exactly 0.
# check: out.mp must hold the records of in.mp with rollout (numpy: the
# product of the residual-augmented layer maps) and flow, each flow value
# the minimum cut between its two nodes found by trying every cut of the
# layered graph (no max-flow algorithm involved), rows scaled to sum to 1
# unless -r.  Prints the largest differences; exits 1 above 1e-6.
import getopt
import itertools
import sys

import numpy as np

import mkmaps


def gen(seed, n):
    rng = np.random.default_rng(seed)
    out = bytearray()
    for k in range(n):
        L, H, T = (int(x) for x in rng.integers([1, 1, 2], [4, 4, 5]))
        while (L + 1) * T > 12:     # at most 2^10 cuts to try
            L -= 1
        a = rng.random((L, H, T, T))
        a[rng.random(a.shape) < 0.2] = 0
        a[..., 0] += 1e-3
        a /= a.sum(-1, keepdims=True)
        mkmaps.pack({"id": "r/%d" % k, "attn": mkmaps.ftensor(a)}, out)
    sys.stdout.buffer.write(out)


def layers(attn, pool):
    m = {"mean": attn.mean(1), "max": attn.max(1), "min": attn.min(1)}[pool]
    T = m.shape[-1]
    a = 0.5 * m.astype(np.float64) + 0.5 * np.eye(T)
    return a / a.sum(-1, keepdims=True)


def rollout(a):
    r = [a[0]]
    for l in range(1, len(a)):
        r.append(a[l] @ r[-1])
    return np.array(r)


def mincut(a, l, u, v):
    """Min cut from (l, u) to (0, v) over the layers 1..l of a: every set
    of nodes that holds the source and not the sink, its outgoing
    capacity."""
    T = a.shape[-1]
    nodes = [(k, i) for k in range(l + 1) for i in range(T)]
    src, snk = (l, u), (0, v)
    rest = [x for x in nodes if x not in (src, snk)]
    best = float("inf")
    for bits in itertools.product((0, 1), repeat=len(rest)):
        side = {src} | {x for x, b in zip(rest, bits) if b}
        c = 0.0
        for k in range(1, l + 1):
            for i in range(T):
                if (k, i) not in side:
                    continue
                for j in range(T):
                    if (k - 1, j) not in side:
                        c += a[k - 1][i][j]
        best = min(best, c)
    return best


def flow(a, raw):
    L, T = a.shape[0], a.shape[-1]
    f = np.zeros((L, T, T))
    for l in range(1, L + 1):
        for u in range(T):
            for v in range(T):
                f[l - 1, u, v] = mincut(a, l, u, v)
            if not raw:
                f[l - 1, u] /= f[l - 1, u].sum()
    return f


def check(args):
    opts, (inp, out) = getopt.getopt(args, "k:p:r")
    o = dict(opts)
    key, pool, raw = o.get("-k", "attn"), o.get("-p", "mean"), "-r" in o
    ins, outs = mkmaps.records(inp), mkmaps.records(out)
    assert len(ins) == len(outs), (len(ins), len(outs))
    worst = {"rollout": 0.0, "flow": 0.0, "rowsum": 0.0}
    for ri, ro in zip(ins, outs):
        assert ri["id"] == ro["id"]
        a = layers(mkmaps.tensor(ri[key]), pool)
        got = mkmaps.tensor(ro["rollout"])[:, 0]
        worst["rollout"] = max(worst["rollout"],
                               float(abs(got - rollout(a)).max()))
        worst["rowsum"] = max(worst["rowsum"],
                              float(abs(got.sum(-1) - 1).max()))
        if "flow" in ro:
            fg = mkmaps.tensor(ro["flow"])[:, 0]
            worst["flow"] = max(worst["flow"],
                                float(abs(fg - flow(a, raw)).max()))
    print(" ".join("%s %.3g" % kv for kv in worst.items()))
    sys.exit(0 if max(worst.values()) <= 1e-6 else 1)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]))
    else:
        check(sys.argv[2:])
