"""Brian2's own example models, imported with `jaxneuron.from_brian2`, against Brian2 itself.

Each example's equation strings and parameter values are copied from Brian2's examples
(the file is named next to each); a step current drives one neuron through the model's
input variable (a parameter `I` added to the membrane equation where the example has none),
in Brian2 (cython target by default, the example's integration method) and in jaxneuron (the
same strings through `jn.from_brian2`, the model's default engine with the solver that makes
Brian2's step), same dt, float64. Compared: spike counts, the first spike and every
interspike interval (within 2 dt), the largest spike-time difference, and the RMS voltage
difference away from spikes. Timed: one neuron (Brian2's code generation and jaxneuron's
compilation apart), and 1,000 parameter sets: one vmapped jaxneuron call against one Brian2
group of 1,000 neurons, whose spike counts are compared set by set.

Brian2 2.9 needs numpy < 2.3: run this script in the bench environment (`make bench`
creates `.venv-bench`); without Brian2 only the jaxneuron runs are made and timed.

    python benchmarks/import_brian2.py [--quick] [--target numpy|cython] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxneuron as jn
from jaxneuron.apps.benchmarking import format_table, write_json
from jaxneuron.units import conversion_factor

jax.config.update("jax_enable_x64", True)

MARGIN_MS = 2.0
"""Voltage samples within this time (ms) of a spike of either run are left out of the RMS."""

BRIAN2_TO_SOLVER = {"euler": "euler", "rk2": "midpoint", "heun": "heun",
                    "exponential_euler": "exp_euler"}
"""Brian2's state updater -> the jaxneuron solver that makes the same step (Brian2's rk2 is
the explicit midpoint method; exponential_euler is Rush-Larsen on every state)."""

# Each example: `model` holds `from_brian2`'s arguments (equation strings and values as in
# the Brian2 example named in `source`); `method` is the example's; `dts` the steps compared
# (ms): the example's, and for the integrate-and-fire models one 10 times smaller, where the
# spike-time differences (one reset convention against the other) shrink; `stimulus` is
# (amplitude, unit, t_start ms, t_stop ms); `t1` the run length in ms; `batch` the parameter
# scaled by U[0.8, 1.2] in the 1,000-set batch.
EXAMPLES = {
    "Izhikevich 2003": dict(
        # brian2 examples/frompapers/Izhikevich_2003.py: the network's neuron equations,
        # threshold, reset and method; a, b, c, d of an excitatory cell with re = 0 (regular
        # spiking), v = -65, u = b*v; dt = 1 ms as in the example. I (dimensionless, as the
        # example's) is the input; I_noise is left at 0.
        source="examples/frompapers/Izhikevich_2003.py",
        model=dict(
            equations="""dv/dt = (0.04*v**2 + 5*v + 140 - u + I + I_noise )/ms : 1
         du/dt = (a*(b*v - u))/ms  : 1
         I : 1
         I_noise : 1
         a : 1
         b : 1
         c : 1
         d : 1
       """,
            threshold="v>=30", reset="v=c; u+=d",
            namespace={"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0},
            initial={"v": -65.0, "u": -13.0}, input="I", name="Izhikevich2003"),
        method="euler", dts=(1.0, 0.1), stimulus=(10.0, "1", 50.0, 250.0), t1=300.0, batch="d"),
    "AdEx (Brette & Gerstner 2005)": dict(
        # brian2 examples/frompapers/Brette_Gerstner_2005.py: equations, the regular-spiking
        # parameters, threshold vm > Vcut (Vcut = VT + 5*DeltaT), reset, method, and the
        # example's protocol (20 ms at 0, 100 ms at 1 nA, 20 ms at 0), default dt 0.1 ms.
        source="examples/frompapers/Brette_Gerstner_2005.py",
        model=dict(
            equations="""
dvm/dt = (gL*(EL - vm) + gL*DeltaT*exp((vm - VT)/DeltaT) + I - w)/C : volt
dw/dt = (a*(vm - EL) - w)/tauw : amp
I : amp
""",
            threshold="vm>Vcut", reset="vm=Vr; w+=b",
            namespace={"C": "281 * pF", "gL": "30 * nS", "EL": "-70.6 * mV",
                       "VT": "-50.4 * mV", "DeltaT": "2 * mV", "Vcut": "-40.4 * mV",
                       "tauw": "144*ms", "a": "4*nS", "b": "0.0805*nA", "Vr": "-70.6*mV"},
            initial={"vm": "-70.6 * mV"}, input="I", name="AdEx2005"),
        method="euler", dts=(0.1, 0.01), stimulus=(1.0, "nA", 20.0, 120.0), t1=140.0, batch="a"),
    "COBA LIF (Stimberg et al. 2018)": dict(
        # brian2 examples/frompapers/Stimberg_et_al_2018/example_1_COBA.py: the neuron
        # equations, threshold, reset, refractory period, method and dt; the external
        # current I_ex becomes the input (declared as a parameter), g_e = g_i = 0 (no
        # synaptic input), v starts at E_l.
        source="examples/frompapers/Stimberg_et_al_2018/example_1_COBA.py",
        model=dict(
            equations="""
dv/dt = (g_l*(E_l-v) + g_e*(E_e-v) + g_i*(E_i-v) +
         I_ex)/C_m    : volt (unless refractory)
dg_e/dt = -g_e/tau_e  : siemens  # post-synaptic exc. conductance
dg_i/dt = -g_i/tau_i  : siemens  # post-synaptic inh. conductance
I_ex : amp
""",
            threshold="v>V_th", reset="v=V_r", refractory="5*ms",
            namespace={"E_l": "-60*mV", "g_l": "9.99*nS", "E_e": "0*mV", "E_i": "-80*mV",
                       "C_m": "198*pF", "tau_e": "5*ms", "tau_i": "10*ms",
                       "V_th": "-50*mV", "V_r": "-60*mV"},
            initial={"v": "-60*mV"}, input="I_ex", name="CobaLIF2018"),
        method="euler", dts=(0.1, 0.01), stimulus=(150.0, "pA", 20.0, 220.0), t1=250.0,
        batch="g_l"),
    "COBAHH (Traub-Miles)": dict(
        # brian2 examples/COBAHH.py: equations (with "+ I" added to dv/dt and "I : amp"),
        # parameters, threshold, refractory period, method; default dt 0.1 ms; ge = gi = 0,
        # v starts at El, the gates at 0 (Brian2's default, as in the example). This cell
        # also fires by itself (4 spikes in 250 ms at I = 0); the step raises the rate.
        source="examples/COBAHH.py",
        model=dict(
            equations="""
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
         g_na*(m*m*m)*h*(v-ENa)-
         g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
dm/dt = alpha_m*(1-m)-beta_m*m : 1
dn/dt = alpha_n*(1-n)-beta_n*n : 1
dh/dt = alpha_h*(1-h)-beta_h*h : 1
dge/dt = -ge*(1./taue) : siemens
dgi/dt = -gi*(1./taui) : siemens
alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
I : amp
""",
            threshold="v>-20*mV", refractory="3*ms",
            namespace={"Cm": "(1*ufarad*cm**-2) * 20000*umetre**2",
                       "gl": "(5e-5*siemens*cm**-2) * 20000*umetre**2",
                       "El": "-60*mV", "EK": "-90*mV", "ENa": "50*mV",
                       "g_na": "(100*msiemens*cm**-2) * 20000*umetre**2",
                       "g_kd": "(30*msiemens*cm**-2) * 20000*umetre**2", "VT": "-63*mV",
                       "taue": "5*ms", "taui": "10*ms", "Ee": "0*mV", "Ei": "-80*mV"},
            initial={"v": "-60*mV"}, input="I", name="COBAHH"),
        method="exponential_euler", dts=(0.1,), stimulus=(0.5, "nA", 20.0, 220.0), t1=250.0,
        batch="g_kd"),
    "Hodgkin-Huxley 1952": dict(
        # brian2 examples/compartmental/hh_with_spikes.py (and hodgkin_huxley_1952.py): the
        # channel equations and parameters of the axon, as one compartment: "dv/dt = (Im +
        # I)/Cm" added with Cm = 1 uF/cm**2 (the SpatialNeuron's), the point current
        # "I : amp (point current)" replaced by a density "I : amp/meter**2"; v = 0 mV
        # (rest), h = 1, m = 0, n = 0.5 and dt = 0.01 ms as in the example. No threshold
        # (smooth model); spikes are upward crossings of v = 50 mV in both.
        source="examples/compartmental/hh_with_spikes.py",
        model=dict(
            equations="""
dv/dt = (Im + I)/Cm : volt
Im = gl * (El-v) + gNa * m**3 * h * (ENa-v) + gK * n**4 * (EK-v) : amp/meter**2
I : amp/meter**2
dm/dt = alpham * (1-m) - betam * m : 1
dn/dt = alphan * (1-n) - betan * n : 1
dh/dt = alphah * (1-h) - betah * h : 1
alpham = (0.1/mV) * 10*mV/exprel((-v+25*mV)/(10*mV))/ms : Hz
betam = 4 * exp(-v/(18*mV))/ms : Hz
alphah = 0.07 * exp(-v/(20*mV))/ms : Hz
betah = 1/(exp((-v+30*mV) / (10*mV)) + 1)/ms : Hz
alphan = (0.01/mV) * 10*mV/exprel((-v+10*mV)/(10*mV))/ms : Hz
betan = 0.125*exp(-v/(80*mV))/ms : Hz
gNa : siemens/meter**2
""",
            namespace={"Cm": "1*uF/cm**2", "El": "10.613*mV", "ENa": "115*mV",
                       "EK": "-12*mV", "gl": "0.3*msiemens/cm**2",
                       "gNa": "120*msiemens/cm**2", "gK": "36*msiemens/cm**2"},
            initial={"v": "0*mV", "h": 1.0, "m": 0.0, "n": 0.5}, input="I",
            name="HH1952"),
        method="exponential_euler", dts=(0.01,), stimulus=(10.0, "uA/cm**2", 20.0, 120.0),
        t1=150.0, batch="gNa", spike_mV=50.0),
}
"""The compared examples, by name."""

UNSUPPORTED = {
    "Hodgkin-Huxley 1952, spikes as in the example": dict(
        # brian2 examples/compartmental/hh_with_spikes.py: its spike detection.
        source="examples/compartmental/hh_with_spikes.py",
        model=dict(EXAMPLES["Hodgkin-Huxley 1952"]["model"], threshold="m > 0.5",
                   refractory="m > 0.4")),
    "Hodgkin-Huxley 1952, point current": dict(
        # brian2 examples/compartmental/hodgkin_huxley_1952.py: the applied current as written.
        source="examples/compartmental/hodgkin_huxley_1952.py",
        model=dict(EXAMPLES["Hodgkin-Huxley 1952"]["model"], equations=EXAMPLES[
            "Hodgkin-Huxley 1952"]["model"]["equations"].replace(
                "I : amp/meter**2", "I : amp (point current) # applied current"))),
}
"""Example forms that `from_brian2` does not read: each is reported with its error."""


def jaxneuron_model(example: dict):
    """`from_brian2` of the example's strings."""
    return jn.from_brian2(**example["model"])


def stimulus_for(model, example: dict):
    """The example's step current in the model's input unit."""
    amplitude, unit, start, stop = example["stimulus"]
    factor = conversion_factor(unit, model.input_unit, argument="stimulus")
    return jn.StepCurrent(amplitude * factor, start, stop)


def jaxneuron_run(example: dict) -> dict:
    """One neuron: voltage, spike times, solver, and the run time after compilation."""
    model = jaxneuron_model(example)
    solver = BRIAN2_TO_SOLVER[example["method"]]
    stimulus = stimulus_for(model, example)
    detect = {"threshold": example["spike_mV"]} if "spike_mV" in example else {}
    run = jax.jit(lambda m: jn.simulate(m, stimulus, t1=example["t1"], dt=example["dt"],
                                        solver=solver, max_spikes=512, throw=False, **detect))
    jax.block_until_ready(run(model))
    start = time.perf_counter()
    trace = jax.block_until_ready(run(model))
    seconds = time.perf_counter() - start
    n = int(trace.n_spikes)
    return {"ts": np.asarray(trace.ts), "v": np.asarray(trace.v),
            "spikes": np.asarray(trace.spike_times)[:n], "seconds": seconds, "solver": solver,
            "ok": bool(trace.ok), "status": int(trace.status),
            "engine": type(jn.engines.default_engine(model)).__name__}


def batch_scales(n: int = 1000) -> np.ndarray:
    """The factors (U[0.8, 1.2], seed 0) that the batch's parameter is scaled by."""
    return np.random.default_rng(0).uniform(0.8, 1.2, n)


def jaxneuron_batch(example: dict, n: int = 1000) -> dict:
    """`n` parameter sets (the example's `batch` parameter scaled by `batch_scales`) in one
    vmapped call: spike counts, and the run time after compilation."""
    model = jaxneuron_model(example)
    stimulus = stimulus_for(model, example)
    name = example["batch"]
    values = jnp.asarray(getattr(model, name) * batch_scales(n))
    detect = {"threshold": example["spike_mV"]} if "spike_mV" in example else {}

    def one(value):
        m = eqx.tree_at(lambda m: getattr(m, name), model, value)
        return jn.simulate(m, stimulus, t1=example["t1"], dt=example["dt"],
                           solver=BRIAN2_TO_SOLVER[example["method"]], save_every=0,
                           max_spikes=512, throw=False, **detect).n_spikes

    run = jax.jit(jax.vmap(one))
    jax.block_until_ready(run(values))
    start = time.perf_counter()
    counts = jax.block_until_ready(run(values))
    return {"seconds": time.perf_counter() - start, "counts": np.asarray(counts)}


def _brian2_value(text, b2):
    """A namespace/initial value as a Brian2 quantity (a number stays a number)."""
    if not isinstance(text, str):
        return text
    units = {k: v for k, v in vars(b2).items() if isinstance(v, b2.Quantity)}
    return eval(text, {"__builtins__": {}}, units)  # our own quantity strings above


def _brian2_network(example: dict, b2, n: int = 1):
    """The example's `NeuronGroup` of `n` neurons (with `n` > 1, the batch parameter
    declared per neuron and scaled by `batch_scales`), its monitors, and the `Network`."""
    b2.start_scope()
    b2.defaultclock.dt = example["dt"] * b2.ms
    spec = example["model"]
    text = spec["equations"]
    name = example["batch"]
    batch = _brian2_value(spec["namespace"][name], b2)
    if n > 1 and name not in b2.Equations(text).parameter_names:
        text += f"\n{name} : {b2.get_unit(b2.get_dimensions(batch))!r}"
    eqs = b2.Equations(text)
    declared = set(eqs.parameter_names)
    namespace = {k: _brian2_value(v, b2) for k, v in spec["namespace"].items()
                 if k not in declared}
    threshold = spec.get("threshold")
    refractory = spec.get("refractory")
    if threshold is None:  # spikes counted as upward crossings, as jaxneuron does
        threshold = refractory = f"v > {example['spike_mV']}*mV"
    elif isinstance(refractory, str):
        refractory = _brian2_value(refractory, b2)
    group = b2.NeuronGroup(n, eqs, threshold=threshold, reset=spec.get("reset"),
                           refractory=refractory or False, method=example["method"],
                           namespace=namespace)
    for key, value in {**{k: v for k, v in spec["namespace"].items() if k in declared},
                       **spec.get("initial", {})}.items():
        setattr(group, key, _brian2_value(value, b2))
    if n > 1:
        setattr(group, name, batch * batch_scales(n))
    voltage = "v" if "v" in eqs.diff_eq_names else "vm"
    state = b2.StateMonitor(group, voltage, record=0) if n == 1 else None
    spikes = b2.SpikeMonitor(group)
    net = b2.Network(*[x for x in (group, state, spikes) if x is not None])
    return group, state, spikes, net, (1e3 if eqs[voltage].dim == b2.volt.dim else 1.0)


def _brian2_protocol(example: dict, b2, group, net, repeats: int) -> float:
    """Run the step protocol (`repeats` times from the stored start; the first run also
    generates the code): the wall time of the last run, s."""
    amplitude, unit, t_start, t_stop = example["stimulus"]
    current = _brian2_value(f"{amplitude!r}*{unit}", b2)
    net.store()
    seconds = []
    for _ in range(repeats):
        net.restore()
        start = time.perf_counter()
        for duration, value in ((t_start, 0 * current), (t_stop - t_start, current),
                                (example["t1"] - t_stop, 0 * current)):
            setattr(group, example["model"]["input"], value)
            net.run(duration * b2.ms)
        seconds.append(time.perf_counter() - start)
    return seconds[-1]


def brian2_run(example: dict, timed: bool = True, target: str = "cython") -> dict | None:
    """The example in Brian2 (runtime `target`): V at every step (mV, or as is where
    dimensionless), spike times (ms), and (with `timed`) the run time of a second identical
    run (the first generates the code); None without Brian2."""
    try:
        import brian2 as b2
    except ImportError:
        return None
    b2.prefs.codegen.target = target
    group, state, spikes, net, scale = _brian2_network(example, b2)
    seconds = _brian2_protocol(example, b2, group, net, 2 if timed else 1)
    voltage = "v" if hasattr(state, "v") else "vm"
    return {"ts": np.asarray(state.t_) * 1e3,
            "v": np.asarray(getattr(state, voltage + "_")[0]) * scale,
            "spikes": np.asarray(spikes.t_) * 1e3, "seconds": seconds,
            "version": b2.__version__}


def brian2_batch(example: dict, n: int = 1000, target: str = "cython") -> dict | None:
    """The same `n` parameter sets as `jaxneuron_batch`, as one Brian2 group of `n`
    neurons: spike counts and the run time of a second run."""
    try:
        import brian2 as b2
    except ImportError:
        return None
    b2.prefs.codegen.target = target
    group, _, spikes, net, _ = _brian2_network(example, b2, n)
    seconds = _brian2_protocol(example, b2, group, net, 2)
    return {"seconds": seconds, "counts": np.asarray(spikes.count)}


def compare(ours: dict, theirs: dict, dt: float) -> dict:
    """Spike counts; when they agree, the first spike's time difference, the largest
    spike-time and interspike-interval differences (ms); the RMS voltage difference (mV) on
    Brian2's sample times at least `MARGIN_MS` away from a spike of either run; a verdict.

    Brian2 stamps a spike with the start of the step in which the threshold is crossed and
    resets at its end; jaxneuron's `ClockSpiking` interpolates the crossing inside the step
    and restarts from it. Each reset can so shift the next spike by up to about a step, and
    these shifts add up: the verdict asks for the same count, the first spike and every
    interspike interval within 2 dt, and a run jaxneuron does not flag."""
    a, b = ours["spikes"], theirs["spikes"]
    row = {"spikes_brian2": len(b), "spikes_jaxneuron": len(a)}
    same_count = len(a) == len(b)
    if same_count and len(b):
        row["first_dt_ms"] = float(abs(a[0] - b[0]))
        row["max_dt_ms"] = float(np.max(np.abs(a - b)))
        if len(b) > 1:
            row["max_disi_ms"] = float(np.max(np.abs(np.diff(a) - np.diff(b))))
    index = np.rint(theirs["ts"] / dt).astype(int)  # jaxneuron saves every step from t0 = 0
    both = np.concatenate([a, b])
    away = (np.all(np.abs(theirs["ts"][:, None] - both[None, :]) > MARGIN_MS, axis=1)
            if both.size else np.ones(index.size, bool))
    row["rms_mV"] = float(np.sqrt(np.mean((ours["v"][index][away] - theirs["v"][away]) ** 2)))
    tolerance = 2 * dt + 1e-9
    timing = same_count and all(row.get(k, 0.0) <= tolerance
                                for k in ("first_dt_ms", "max_disi_ms"))
    if not timing:
        row["verdict"] = "differ"
    elif not ours["ok"]:
        row["verdict"] = f"agree, but jaxneuron flags the run (status {ours['status']})"
    elif row.get("max_dt_ms", 0.0) <= tolerance:
        row["verdict"] = "agree"
    else:
        row["verdict"] = "agree (ISIs within 2 dt; spike times drift with the reset)"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the examples' own steps only, no 1,000-set batch")
    parser.add_argument("--target", default="cython", choices=("numpy", "cython"),
                        help="Brian2's runtime code generation target (default cython)")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    rows = []
    for name, example in EXAMPLES.items():
        for k, dt in enumerate(example["dts"][:1] if args.quick else example["dts"]):
            print(f"{name}, dt = {dt} ms ...", flush=True)
            run = dict(example, dt=dt)
            row = {"case": name, "source": example["source"], "dt": dt,
                   "method": example["method"], "solver": BRIAN2_TO_SOLVER[example["method"]]}
            try:
                ours = jaxneuron_run(run)
            except ValueError as error:  # a form from_brian2 does not read
                rows.append({**row, "verdict": f"unsupported: {error}"})
                break
            row["engine"] = ours["engine"]
            theirs = brian2_run(run, timed=k == 0, target=args.target)
            if theirs is None:
                row.update(spikes_jaxneuron=len(ours["spikes"]), verdict="no Brian2")
            else:
                row.update(compare(ours, theirs, dt), baseline=f"Brian2 {theirs['version']} "
                           f"{args.target}")
            if k == 0:
                row["jaxneuron_s"] = ours["seconds"]
                if theirs is not None:
                    row["baseline_s"] = theirs["seconds"]
                if not args.quick:
                    batch = jaxneuron_batch(run)
                    row.update(batch_s=batch["seconds"],
                               batch_mean_spikes=float(batch["counts"].mean()))
                    theirs = brian2_batch(run, target=args.target)
                    if theirs is not None:
                        row.update(baseline_batch_s=theirs["seconds"], batch_same_count=float(
                            np.mean(theirs["counts"] == batch["counts"])))
            rows.append(row)
    for name, example in UNSUPPORTED.items():
        try:
            jn.from_brian2(**example["model"])
            verdict = "reads now: move it to EXAMPLES"
        except ValueError as error:
            verdict = f"unsupported: {error}"
        rows.append({"case": name, "source": example["source"], "verdict": verdict})
    accuracy = [
        ("case", "example", "s"), ("dt", "dt ms", "g"), ("method", "Brian2 method", "s"),
        ("solver", "jaxneuron solver", "s"), ("spikes_brian2", "spikes Brian2", "d"),
        ("spikes_jaxneuron", "spikes jaxneuron", "d"),
        ("first_dt_ms", "first spike abs Δt ms", ".3g"),
        ("max_dt_ms", "max abs Δt ms", ".3g"), ("max_disi_ms", "max abs ΔISI ms", ".3g"),
        ("rms_mV", "RMS mV", ".3g"), ("verdict", "verdict", "s")]
    speed = [
        ("case", "example", "s"), ("dt", "dt ms", "g"),
        ("baseline_s", "Brian2 s (1 neuron)", ".3f"),
        ("jaxneuron_s", "jaxneuron s (1 neuron)", ".4f"),
        ("baseline_batch_s", "Brian2 s (1,000 neurons)", ".3f"),
        ("batch_s", "jaxneuron s (1,000 sets, vmap)", ".3f"),
        ("batch_same_count", "1,000 sets: same spike count", ".3f")]
    print(format_table(rows, accuracy))
    print()
    print(format_table([r for r in rows if "jaxneuron_s" in r], speed))
    if args.json:
        write_json(args.json, "import_brian2", rows, accuracy,
                   tables={"speed": (speed, "jaxneuron_s")})

if __name__ == "__main__":
    main()
