#!/usr/bin/env python3
# vmfit.py -- fit the coefficients of common/bert.c's vector erf and exp,
# and show their error in float32 arithmetic without fused multiply-adds
# (as bert.c evaluates them).  Needs numpy.  Prints C initialisers.
#
# erf(x), x >= 0 clamped to 3.92 (erf rounds to 1 in float beyond):
#   x < 1:  x P1(x^2), P1 of degree 6, weighted to the error of x P1;
#   x >= 1: 1 - P2(x - 2.46), P2 of degree 12 fitted to erfc.
# exp(x), x <= 0: x = n ln2 + r, |r| <= ln2/2 (ln2 split in two so that n
#   times the high part is exact), exp(r) = 1 + r + r^2 P3(r), P3 of degree 4.
# Each polynomial is fitted by least squares reweighted towards the minimax
# error (Lawson's iteration).
import math
import numpy as np

verf = np.frompyfunc(lambda v: math.erf(float(v)), 1, 1)
verfc = np.frompyfunc(lambda v: math.erfc(float(v)), 1, 1)


def lawson(basis, f, n=40):
    w = np.ones(len(f))
    for _ in range(n):
        W = np.sqrt(w)
        c = np.linalg.lstsq(basis * W[:, None], f * W, rcond=None)[0]
        e = basis @ c - f
        w = w * np.abs(e) + 1e-300
        w = 0.7 * w / w.sum() + 0.3 / len(w)
    return c


def horner(c, x):
    y = np.full_like(x, c[-1])
    for k in c[-2::-1]:
        y = y * x + k
    return y


X0, XM, MID = 1.0, 3.92, 2.46
x = np.linspace(1e-6, X0, 4000)
p1 = lawson(x[:, None] * (x[:, None] ** 2) ** np.arange(7),
            verf(x).astype(float)).astype(np.float32)
x = np.linspace(X0, XM, 4000)
p2 = lawson((x - MID)[:, None] ** np.arange(13),
            verfc(x).astype(float)).astype(np.float32)

ln2 = math.log(2)
hi = np.float32(ln2).view(np.uint32) & np.uint32(0xfffff000)
hi = hi.view(np.float32)
lo = np.float32(ln2 - float(hi))
r = np.linspace(-ln2 / 2 * 1.001, ln2 / 2 * 1.001, 4000)
r = r[np.abs(r) > 1e-4]
p3 = lawson(r[:, None] ** np.arange(5) * (r ** 2 / np.exp(r))[:, None],
            (np.exp(r) - 1 - r) / np.exp(r)).astype(np.float32)

# float32 evaluation, as in bert.c
xs = np.linspace(0, 4.5, 900001).astype(np.float32)
a = np.minimum(xs, np.float32(XM))
y = np.where(a < np.float32(X0), a * horner(p1, a * a),
             np.float32(1) - horner(p2, a - np.float32(MID)))
eerf = np.abs(y.astype(float) - verf(xs).astype(float)).max()
xs = np.linspace(-87, 0, 900001).astype(np.float32)
M = np.float32(1.5 * 2 ** 23)
k = xs * np.float32(1 / ln2) + M
n = k - M
rr = (xs - n * hi) - n * lo
y = np.float32(1) + (rr + rr * rr * horner(p3, rr))
y = y * ((k.view(np.int32) - M.view(np.int32) + 127) << 23).view(np.float32)
eexp = np.abs(y / np.exp(xs.astype(float)) - 1).max()

print("/* erf: max abs error %.2e in float32; exp: max rel error %.2e */"
      % (eerf, eexp))
for name, c in (("ERF_P1", p1), ("ERF_P2", p2), ("EXP_P", p3)):
    print("static const float %s[] = {\n\t%s\n};" % (name, ",\n\t".join(
        "%.9ef" % v for v in c)))
print("#define LN2_HI\t%.9ef\n#define LN2_LO\t%.9ef" % (hi, lo))
