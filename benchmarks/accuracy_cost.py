"""What the accuracy estimate of fixed-step runs costs: the HH sweep and the Izhikevich sweep
run with and without it (`FixedSteps(accuracy=...)`, `ClockSpiking(accuracy=...)`), in the
same process, on the same sets, each timed as the best of several warm `jit(vmap(simulate))`
calls, with and without alternating (so a busy machine slows both alike).

The baseline of each row is the same run without the estimate; `speedup` below 1 is the
cost (`cost_percent` = 100 (with / without - 1)). Also reported: how many sets the estimate
flags (status 7) at these steps.

Cases: the HH sweep of `hh_sweep.py` (g_Na, g_K, amplitude random, 100 ms, staggered
dt = 0.025, float32, spike times kept, only the ends saved) and the Izhikevich sweep of
`spiking_sweep.py` (the 2003 network's heterogeneous cells, I ~ U[0, 15], 1 s, dt = 0.1,
float32): heun with online spike statistics (`sweep`'s default record), euler keeping
every spike time (`simulate`'s default record) and euler keeping only the count (the
cheapest step, so the largest relative cost).

    python benchmarks/accuracy_cost.py [--quick] [--repeats 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxneuron as jn
from jaxneuron.apps.benchmarking import report, sample_hh_sets
from jaxneuron.engines import SpikeRecord
from jaxneuron.trace import STATUS_INACCURATE

COLUMNS = [("case", "case", "s"), ("n", "n", "d"), ("jaxneuron_s", "with estimate s", ".3f"),
           ("baseline_s", "without s", ".3f"), ("cost_percent", "cost %", ".1f"),
           ("flagged", "sets flagged 7", "d")]


def izhikevich_sets(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The heterogeneous cells of Izhikevich (2003) plus I ~ U[0, 15] (as spiking_sweep.py)."""
    rng = np.random.default_rng(seed)
    excitatory = rng.random(n) < 0.8
    r = rng.random(n)
    return {"a": np.where(excitatory, 0.02, 0.02 + 0.08 * r),
            "b": np.where(excitatory, 0.2, 0.25 - 0.05 * r),
            "c": np.where(excitatory, -65.0 + 15.0 * r**2, -65.0),
            "d": np.where(excitatory, 8.0 - 6.0 * r**2, 2.0),
            "I": rng.uniform(0.0, 15.0, n)}


def hh_case(accuracy: bool):
    def run(g_na, g_k, amp):
        trace = jn.simulate(jn.HodgkinHuxley(g_Na=g_na, g_K=g_k), jn.StepCurrent(amp),
                            t1=100.0, dt=0.025, engine=jn.FixedSteps(accuracy=accuracy),
                            max_spikes=32, save_every=0, throw=False)
        return trace.n_spikes, trace.spike_times, trace.status
    return run


def izhikevich_case(accuracy: bool, solver: str, record: SpikeRecord):
    def run(a, b, c, d, current):
        trace = jn.simulate(jn.Izhikevich(a=a, b=b, c=c, d=d), jn.StepCurrent(current),
                            t1=1000.0, dt=0.1, engine=jn.ClockSpiking(solver, accuracy=accuracy),
                            record=record, save_every=0, throw=False)
        return trace.n_spikes, trace.spike_stats, trace.spike_times, trace.status
    return run


def compare(label: str, make, args, repeats: int) -> dict:
    """Time `jit(vmap(make(accuracy)))(*args)` for both settings, alternating."""
    calls = {acc: jax.jit(jax.vmap(make(acc))) for acc in (True, False)}
    outs = {acc: jax.block_until_ready(call(*args)) for acc, call in calls.items()}  # compile
    best = {True: np.inf, False: np.inf}
    for _ in range(repeats):
        for acc, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call(*args))
            best[acc] = min(best[acc], time.perf_counter() - start)
    assert np.array_equal(np.asarray(outs[True][0]), np.asarray(outs[False][0]))  # same run
    flagged = int(np.sum(np.asarray(outs[True][-1]) == STATUS_INACCURATE))
    return {"case": label, "n": int(args[0].shape[0]), "jaxneuron_s": best[True],
            "baseline": "the same run without the estimate", "baseline_s": best[False],
            "speedup": best[False] / best[True],
            "cost_percent": 100.0 * (best[True] / best[False] - 1.0), "flagged": flagged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 HH and 1,000 Izhikevich sets")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n_hh, n_izh = (500, 1000) if args.quick else (2000, 4000)
    f32 = jnp.float32
    hh = sample_hh_sets(n_hh)
    hh_args = [jnp.asarray(hh[k], f32) for k in ("g_Na", "g_K", "amplitude")]
    izh = izhikevich_sets(n_izh)
    izh_args = [jnp.asarray(izh[k], f32) for k in ("a", "b", "c", "d", "I")]
    rows = [
        compare("HH staggered dt=0.025 float32, 100 ms, spike times", hh_case, hh_args,
                args.repeats),
        compare("Izhikevich heun dt=0.1 float32, 1 s, record stats",
                lambda acc: izhikevich_case(acc, "heun", SpikeRecord(times=False, stats=True)),
                izh_args, args.repeats),
        compare("Izhikevich euler dt=0.1 float32, 1 s, every spike time",
                lambda acc: izhikevich_case(acc, "euler", SpikeRecord(max_spikes=512)),
                izh_args, args.repeats),
        compare("Izhikevich euler dt=0.1 float32, 1 s, record count",
                lambda acc: izhikevich_case(acc, "euler", SpikeRecord(times=False)),
                izh_args, args.repeats),
    ]
    report(rows, COLUMNS, "accuracy_cost", args.json)


if __name__ == "__main__":
    main()
