#!/usr/bin/env python3
"""Expected aggregation of `normtap plot --kind sweep` (plots.AggregateSweep)
on hand-made runs, computed with numpy: writes sweep_agg.json.

Runs vary norm (batch, layer), batch (2, 8, 64) and seed; cells have 1, 2,
3, 5 or 6 seeds, so that the band is min-max below 5 seeds and mean +- 1 sd
(ddof=1) from 5. Run: python3 plots/testdata/sweep_agg.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(2018)
seeds = {("batch", "2"): 6, ("batch", "8"): 2, ("batch", "64"): 3,
         ("layer", "2"): 1, ("layer", "8"): 5, ("layer", "64"): 2}
runs, expect = [], []
for (norm, batch), n in seeds.items():
    acc = np.round(0.80 + 0.15 * rng.random(n), 4)
    loss = np.round(0.2 + rng.random(n), 4)
    for s in range(n):
        runs.append({"norm": norm, "batch": batch, "seed": str(s + 1),
                     "test_acc": float(acc[s]), "test_loss": float(loss[s])})
    for metric, v in (("test_acc", acc), ("test_error", 1 - acc), ("test_loss", loss)):
        mean = float(np.mean(v))
        sd = float(np.std(v, ddof=1)) if n > 1 else None
        lo, hi = (mean - sd, mean + sd) if n >= 5 else (float(np.min(v)), float(np.max(v)))
        expect.append({"metric": metric, "norm": norm, "batch": batch, "n": n, "mean": mean, "sd": sd,
                       "min": float(np.min(v)), "max": float(np.max(v)), "lo": lo, "hi": hi})
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweep_agg.json")
with open(out, "w") as f:
    json.dump({"numpy": np.__version__, "runs": runs, "expect": expect}, f, indent=1)
print("wrote", out)
