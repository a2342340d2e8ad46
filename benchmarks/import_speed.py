"""Imported models run as fast as the hand-written ones: the Brian2 strings of Izhikevich
RS and Hodgkin–Huxley (`jaxneuron.imports.catalog`) against `jn.Izhikevich` and
`jn.HodgkinHuxley`, on the same sweep, in one run: kernels per step of the compiled loop,
run time, and the largest difference in spike counts.

    python benchmarks/import_speed.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import jaxneuron as jn
from jaxneuron._fields import replace_parameters
from jaxneuron.apps.benchmarking import format_table, loop_kernels, time_vmapped, write_json
from jaxneuron.imports import catalog

IZH_T1, IZH_DT, HH_T1, HH_DT = 1000.0, 0.1, 100.0, 0.025  # ms


def izhikevich_sets(n: int, seed: int = 0) -> dict:
    """Random RS-like cells and step amplitudes (mV/ms), as the spiking sweep draws them."""
    rng = np.random.default_rng(seed)
    return {"a": rng.uniform(0.01, 0.1, n), "b": rng.uniform(0.15, 0.25, n),
            "c": rng.uniform(-70.0, -50.0, n), "d": rng.uniform(2.0, 8.0, n),
            "I": rng.uniform(0.0, 20.0, n)}


def hh_sets(n: int, seed: int = 0) -> dict:
    """Random g_Na, g_K (mS/cm²) and steps (µA/cm²)."""
    rng = np.random.default_rng(seed)
    return {"g_Na": rng.uniform(60.0, 180.0, n), "g_K": rng.uniform(18.0, 54.0, n),
            "I": rng.uniform(0.0, 20.0, n)}


def run_pair(name, builtin, imported, names, sets, t1, dt) -> list[dict]:
    """The built-in and the imported model on the same sets (float32, spike counts only)."""
    rows = []
    args = [jnp.asarray(sets[k], jnp.float32) for k in (*names, "I")]
    counts = {}
    for label, make in (("built-in", builtin), ("imported from Brian2", imported)):
        def one(*values, make=make):
            model = make(*values[:-1])
            model = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32)
                                 if isinstance(x, jax.Array) else x, model)
            stim = jn.StepCurrent(values[-1])
            return jn.simulate(model, stim, t1=t1, dt=dt, save_every=0, throw=False,
                               max_spikes=256 if t1 > 500 else 64).n_spikes

        out, compile_s, run_s = time_vmapped(one, args, repeats=2)
        kernels = loop_kernels(jax.vmap(one), *args)["per_step"]
        counts[label] = np.asarray(out)
        rows.append({"case": f"{name}, {label}", "n": len(args[0]), "kernels": kernels,
                     "jaxneuron_s": run_s, "compile_s": compile_s,
                     "ns_per_neuron_step": 1e9 * run_s / (len(args[0]) * round(t1 / dt))})
    builtin_row, imported_row = rows
    imported_row["kernel_ratio"] = imported_row["kernels"] / builtin_row["kernels"]
    imported_row["time_ratio"] = imported_row["jaxneuron_s"] / builtin_row["jaxneuron_s"]
    imported_row["max_count_difference"] = int(np.max(np.abs(
        counts["built-in"].astype(int) - counts["imported from Brian2"].astype(int))))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches (a smoke check)")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args(argv)
    n_izh, n_hh = (500, 200) if args.quick else (10_000, 4_000)
    izh = jn.from_brian2(**catalog.IZHIKEVICH)
    hh = jn.from_brian2(**catalog.HH, initial=catalog.hh_initial())
    rows = run_pair(
        "Izhikevich", lambda a, b, c, d: jn.Izhikevich(a=a, b=b, c=c, d=d),
        lambda a, b, c, d: replace_parameters(izh, {"a": a, "b": b, "c": c, "d": d,
                                                    "u_init": b * -65.0}),
        ("a", "b", "c", "d"), izhikevich_sets(n_izh), IZH_T1, IZH_DT)
    rows += run_pair(
        "Hodgkin–Huxley", lambda g_na, g_k: jn.HodgkinHuxley(g_Na=g_na, g_K=g_k),
        lambda g_na, g_k: replace_parameters(hh, {"gNa": g_na, "gK": g_k}),
        ("g_Na", "g_K"), hh_sets(n_hh), HH_T1, HH_DT)
    columns = [("case", "model", "s"), ("n", "sets", ",d"), ("kernels", "kernels/step", ".1f"),
               ("jaxneuron_s", "run s", ".3f"), ("ns_per_neuron_step", "ns/neuron-step", ".2f"),
               ("kernel_ratio", "kernels / built-in", ".2f"),
               ("time_ratio", "time / built-in", ".2f"),
               ("max_count_difference", "max |spike-count diff|", "d")]
    print(format_table(rows, columns))
    if args.json:
        write_json(args.json, "import_speed", rows, columns)


if __name__ == "__main__":
    main()
