#!/usr/bin/python3
# mkscore.py: samples/score-sweep.mp, what ablate writes for a sweep of a
# 3-layer, 4-head RTE classifier over 40 examples (base, the 12 heads, the
# 3 layers), with made-up logits: a made-up example for score(1).
#   samples/mkscore.py | test/score-mp.py >samples/score-sweep.mp
import json, random
r = random.Random(5)
sets = ["base"] + ["L%dH%d" % (l, h) for l in (1, 2, 3) for h in (1, 2, 3, 4)]
sets += ["L1", "L2", "L3"]
for i in range(40):
    g = r.randint(0, 1)
    for k, s in enumerate(sets):
        p = g if r.random() < 0.55 + k / 50 else 1 - g
        x = round(r.uniform(0.1, 2.0), 3)
        print(json.dumps({"id": "RTE/dev/%d" % i, "label": g, "task": "RTE",
            "logits": [x if p == 0 else -x, -x if p == 0 else x], "pred": p,
            "ablation": s}))
