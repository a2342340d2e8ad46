"""`jaxneuron resting`: the resting membrane potential from ion gradients, leaks and the pump.

Writes into `out`:
- `trajectory.png`, `trajectory.csv`: V relaxing to rest from -30 mV with fixed
  concentrations (GHK and conductance leaks), and the slow return after activity has
  exchanged 15 mM of K+ for Na+ (intracellular concentrations dynamic: the pump hyperpolarises
  the cell while it restores the gradients);
- `rest_vs_ko.png`, `rest_vs_ko.csv`: rest vs bath [K+]: Nernst E_K, the GHK voltage, and the
  simulated steady state with and without the pump (one `sweep`);
- `pump_block.png`, `pump_block.csv`: control vs complete pump block (ouabain), V, [Na]i and
  [K]i running down over tens of minutes;
- `summary.json`: the headline numbers (rest, pump contribution, Nernst potentials, [K]o
  slope, run-down).

All in float64 with the default `RestingMembrane` (mammalian neuron concentrations, 37 °C).
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import matplotlib.pyplot as plt
import numpy as np

from ... import biophysics as bp
from ..._fields import batch_axes
from ...models.resting import RestingMembrane, stack_models
from ...simulate import simulate
from ...stimuli import StepCurrent
from ...sweep import sweep
from ..output import output_dir, write_summary

_REST = dict(stepsize="adaptive", rtol=1e-9, atol=1e-9)
_SLOW = dict(solver="kvaerno5", stepsize="adaptive", rtol=1e-8, atol=1e-8, dt=1.0)
_MIN = 60_000.0  # ms per minute


def run(out: str | Path = "results/resting", *, quick: bool = False, log=print) -> dict:
    """Run the three parts and return the summary written to `out/summary.json`."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    model = RestingMembrane()
    rest = float(model.resting_potential())
    ghk_only = float(model.replace(pump_max=0.0).resting_potential())
    y_rest = model.initial_state()
    nernst = {k: float(v) for k, v in model.reversal_potentials(y_rest).items()}
    summary: dict = {"rest_mv": rest, "rest_without_pump_mv": ghk_only,
                     "pump_contribution_mv": rest - ghk_only, "nernst_mv": nernst,
                     "rest_mv_conductance_leak": float(
                         RestingMembrane(leak="conductance").resting_potential())}

    # 1 + 3. Slow runs (intracellular concentrations), batched: control, pump block, and
    # recovery after activity (15 mM Na+ in, 15 mM K+ out: electroneutral).
    minutes = 10.0 if quick else 30.0
    log(f"[1/3] concentration dynamics: control, pump block, recovery after activity "
        f"({minutes:.0f} min each)")
    slow = RestingMembrane(ion_dynamics="intracellular")
    scenarios = [slow.pin_start(), slow.block_pump(),
                 slow.pin_start().replace(Na_i=30.0, K_i=125.0)]
    batch = stack_models(scenarios)
    save = 0.5 * _MIN if quick else 0.25 * _MIN
    run_slow = eqx.filter_jit(jax.vmap(
        lambda m: simulate(m, StepCurrent(0.0), t1=minutes * _MIN, save_every=save, **_SLOW),
        in_axes=(batch_axes(batch),)))
    slow_traces = run_slow(batch)
    t_min = np.asarray(slow_traces.ts[0]) / _MIN

    # 1. Fast relaxation from a perturbed V, both leak forms.
    log("[2/3] relaxation to rest from V = -30 mV (fixed concentrations)")
    fast = {leak: simulate(RestingMembrane(leak=leak, v_init=-30.0), StepCurrent(0.0), t1=100.0,
                           dt=0.1, save_every=0.5, **_REST) for leak in ("ghk", "conductance")}
    t_fast = np.asarray(fast["ghk"].ts)
    v_fast = {leak: np.asarray(tr.v) for leak, tr in fast.items()}
    np.savetxt(out / "trajectory.csv", np.column_stack([t_fast, v_fast["ghk"],
                                                        v_fast["conductance"]]),
               delimiter=",", header="t_ms,V_ghk_mV,V_conductance_mV", comments="", fmt="%.8g")
    displacement = v_fast["ghk"] - rest
    tau = float(np.interp(np.exp(-1.0), displacement[::-1] / displacement[0],
                          t_fast[::-1]))
    load = {name: np.asarray(slow_traces.state(name))[2] for name in ("V", "Na_i", "K_i")}
    summary["relaxation"] = {"v_start_mv": -30.0, "v_end_mv": float(v_fast["ghk"][-1]),
                             "time_constant_ms": tau,
                             "v_end_mv_conductance_leak": float(v_fast["conductance"][-1])}
    summary["after_activity"] = {"na_i_start_mm": 30.0, "k_i_start_mm": 125.0,
                                 "na_i_end_mm": float(load["Na_i"][-1]),
                                 "k_i_end_mm": float(load["K_i"][-1]),
                                 "v_min_mv": float(load["V"].min()),
                                 "v_end_mv": float(load["V"][-1])}
    _trajectory_figure(t_fast, v_fast, rest, t_min, load, out / "trajectory.png")

    # 2. Rest vs [K]o: one sweep (no pump, then pump), against Nernst and GHK.
    k_o = np.geomspace(1.0, 150.0, 12 if quick else 30)
    log(f"[3/3] rest vs [K]o: {2 * k_o.size} steady states in one sweep")
    result = sweep(model.pin_start(), {"K_o": np.tile(k_o, 2),
                                       "pump_max": np.repeat([0.0, float(model.pump_max)],
                                                             k_o.size)},
                   StepCurrent(0.0), t1=300.0, dt=0.1, summary=lambda tr: {"v": tr.v[-1]},
                   progress=False, **_REST)
    v_no_pump, v_pump = result.summaries["v"].reshape(2, k_o.size)
    e_k = np.asarray(bp.nernst(k_o, 140.0, 1))
    ghk = np.asarray(bp.ghk_voltage(
        np.array([float(model.P_K), float(model.P_Na), float(model.P_Cl)]),
        np.stack([k_o, np.full_like(k_o, 145.0), np.full_like(k_o, 110.0)], 1),
        np.array([140.0, 15.0, 10.0]), np.array([1, 1, -1])))
    np.savetxt(out / "rest_vs_ko.csv", np.column_stack([k_o, e_k, ghk, v_no_pump, v_pump]),
               delimiter=",", header="K_o_mM,E_K_mV,GHK_mV,sim_no_pump_mV,sim_pump_mV",
               comments="", fmt="%.8g")
    high = k_o >= 40.0
    slope = float(np.polyfit(np.log10(k_o[high]), v_pump[high], 1)[0])
    summary["rest_vs_ko"] = {"n_sets": int(2 * k_o.size), "failed": int(result.failed.size),
                             "max_abs_sim_minus_ghk_mv": float(np.max(np.abs(v_no_pump - ghk))),
                             "slope_above_40mM_mv_per_decade": slope,
                             "nernst_slope_mv_per_decade": float(
                                 np.log(10.0) * bp.thermal_voltage(37.0))}
    _ko_figure(k_o, e_k, ghk, v_no_pump, v_pump, out / "rest_vs_ko.png")

    # 3. Pump block run-down (from the batched slow run).
    names = ("V", "Na_i", "K_i", "Cl_i")
    cols = {f"{n}_{label}": np.asarray(slow_traces.state(n))[k]
            for k, label in ((0, "control"), (1, "block")) for n in names}
    np.savetxt(out / "pump_block.csv", np.column_stack([t_min, *cols.values()]),
               delimiter=",", header="t_min," + ",".join(cols), comments="", fmt="%.8g")
    v_block = cols["V_block"]
    summary["pump_block"] = {
        "minutes": minutes, "v_first_save_mv": float(v_block[1]),
        "v_end_mv": float(v_block[-1]), "depolarisation_mv": float(v_block[-1] - rest),
        "na_i_end_mm": float(cols["Na_i_block"][-1]), "k_i_end_mm": float(cols["K_i_block"][-1]),
        "control_drift_mv": float(np.max(np.abs(cols["V_control"] - rest))),
    }
    _pump_figure(t_min, cols, rest, out / "pump_block.png")

    summary["seconds"] = time.perf_counter() - start
    write_summary(out, summary)
    log(f"rest {rest:.2f} mV (without pump {ghk_only:.2f} mV); E_K {nernst['K']:.2f}, "
        f"E_Na {nernst['Na']:.2f}, E_Cl {nernst['Cl']:.2f} mV; pump block: "
        f"{summary['pump_block']['v_end_mv']:.2f} mV after {minutes:.0f} min")
    log(f"wrote trajectory, rest_vs_ko and pump_block (.csv, .png) and summary.json to "
        f"{out.resolve()}")
    return summary


def _trajectory_figure(t_fast, v_fast, rest, t_min, load, path):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(t_fast, v_fast["ghk"], label="GHK leaks")
    ax1.plot(t_fast, v_fast["conductance"], ls="--", label="conductance leaks")
    ax1.axhline(rest, color="0.6", lw=0.8)
    ax1.set(xlabel="time (ms)", ylabel="V (mV)", title="relaxation from -30 mV")
    ax1.legend()
    ax2.plot(t_min, load["V"], color="k")
    ax2.axhline(rest, color="0.6", lw=0.8)
    ax2.set(xlabel="time (min)", ylabel="V (mV)",
            title="after activity: 15 mM Na+ in, 15 mM K+ out")
    twin = ax2.twinx()
    twin.plot(t_min, load["Na_i"], color="tab:orange")
    twin.set_ylabel("[Na+]i (mM)", color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _ko_figure(k_o, e_k, ghk, v_no_pump, v_pump, path):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.semilogx(k_o, e_k, color="tab:red", label="Nernst E_K")
    ax.semilogx(k_o, ghk, color="tab:blue", label="GHK (no pump)")
    ax.semilogx(k_o, v_no_pump, "o", mfc="none", color="tab:blue", label="simulated, no pump")
    ax.semilogx(k_o, v_pump, "s", ms=4, color="k", label="simulated, with pump")
    ax.set(xlabel="[K+]o (mM)", ylabel="resting potential (mV)",
           title="rest vs bath K+ (mammalian neuron, 37 °C)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pump_figure(t_min, cols, rest, path):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(t_min, cols["V_control"], color="0.5", label="control")
    ax1.plot(t_min, cols["V_block"], color="tab:red", label="pump blocked at t = 0")
    ax1.axhline(rest, color="0.8", lw=0.8)
    ax1.set(xlabel="time (min)", ylabel="V (mV)", title="pump block (ouabain)")
    ax1.legend()
    ax2.plot(t_min, cols["Na_i_block"], label="[Na+]i")
    ax2.plot(t_min, cols["K_i_block"], label="[K+]i")
    ax2.plot(t_min, cols["Cl_i_block"], label="[Cl-]i")
    ax2.set(xlabel="time (min)", ylabel="mM", title="gradients run down")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def register(commands) -> None:
    """Add `jaxneuron resting` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "resting", help="resting potential: relaxation, rest vs [K]o (GHK, Nernst, simulation), "
                        "pump-block run-down")
    parser.add_argument("--out", default="results/resting", help="output folder")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer points")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
