"""jNeuroML as the reference for the NeuroML importer: its bundled LEMS examples, run by
its own LEMS interpreter (`java -jar jNeuroML.jar LEMS_file -nogui`), offline.

The jar comes in the `pyneuroml` wheel; `extract_examples` copies its `LEMSexamples/` and
`examples/` folders out of it (no download). `run_jnml` runs a LEMS file with an added
`OutputFile` (the quantities asked for, every step) and `EventOutputFile` (the spikes of the
cells asked for), and reads them back in ms and mV. `compare` measures the agreement that
issue 29 asks for: voltage RMS difference outside spikes, spike times and counts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np

# The LEMS examples whose elements the importer supports, with the state compared on each
# cell ("v" for membrane potentials, FitzHugh-Nagumo's dimensionless "V").
EXAMPLES = ("LEMS_NML2_Ex0_IaF.xml", "LEMS_NML2_Ex1_HH.xml", "LEMS_NML2_Ex2_Izh.xml",
            "LEMS_NML2_Ex5_DetCell.xml", "LEMS_NML2_Ex8_AdEx.xml", "LEMS_NML2_Ex9_FN.xml",
            "LEMS_NML2_Ex10_Q10.xml")


def jar_path() -> Path | None:
    """The jNeuroML jar bundled with pyNeuroML, or None."""
    try:
        import pyneuroml
    except ImportError:
        return None
    jars = sorted((Path(pyneuroml.__file__).parent / "lib").glob("jNeuroML-*-jar-with-"
                                                                  "dependencies.jar"))
    return jars[-1] if jars else None


def skip_reason() -> str | None:
    """Why jNeuroML cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java is not on PATH (jNeuroML, the reference LEMS simulator, needs it)"
    if jar_path() is None:
        return "the jNeuroML jar (in the pyneuroml wheel) is not installed"
    return None


def extract_examples(folder) -> Path:
    """Copy `LEMSexamples/`, `examples/` and `NeuroML2CoreTypes/` out of the jar into
    `folder`; returns `folder`."""
    folder = Path(folder)
    with zipfile.ZipFile(jar_path()) as jar:
        for name in jar.namelist():
            if name.startswith(("LEMSexamples/", "examples/", "NeuroML2CoreTypes/")) \
                    and not name.endswith("/"):
                jar.extract(name, folder)
    (folder / "LEMSexamples" / "results").mkdir(exist_ok=True)
    return folder


def _with_outputs(text: str, quantities: dict, spiking: dict) -> str:
    columns = "".join(f'<OutputColumn id="c{i}" quantity="{q}"/>'
                      for i, q in enumerate(quantities.values()))
    selections = "".join(f'<EventSelection id="{i}" select="{s}" eventPort="spike"/>'
                         for i, s in enumerate(spiking.values()))
    added = (f'<OutputFile id="jaxneuron_of" fileName="jaxneuron_ref.dat">{columns}'
             "</OutputFile>")
    if spiking:
        added += ('<EventOutputFile id="jaxneuron_ev" fileName="jaxneuron_ref.spikes" '
                  f'format="ID_TIME">{selections}</EventOutputFile>')
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    position = text.rindex("</Simulation>")
    return text[:position] + added + text[position:]


def _refined(text: str, refine: int) -> str:
    """LEMS text with the Simulation's step divided by `refine`."""
    def step(match):
        number, unit = re.match(r"\s*([-+0-9.eE]+)\s*(\S*)", match.group(2)).groups()
        return f'{match.group(1)}"{float(number) / refine!r}{unit}"'
    tag = re.search(r"<Simulation\b[^>]*>", text)
    new = re.sub(r'(\bstep\s*=\s*)"([^"]*)"', step, tag.group(0))
    return text[: tag.start()] + new + text[tag.end():]


def run_jnml(lems_file, quantities: dict, spiking: dict, *, refine: int = 1,
             timeout: float = 600):
    """Run `lems_file` in jNeuroML, recording `quantities` (name -> LEMS quantity, e.g.
    `{"iafPop": "iafPop[0]/v"}`) every step and the spikes of `spiking` (name -> LEMS
    instance, e.g. `"iafPop[0]"`), with the file's step divided by `refine`.

    **Returns:** `(t, values, spikes)`: `t` the times (ms, `(n,)`), `values[name]` `(n,)`
    (voltages in mV, other quantities in SI), `spikes[name]` the spike times (ms).
    """
    lems_file = Path(lems_file)
    copy = lems_file.with_name(f"{lems_file.stem}_jaxneuron_{refine}.xml")
    text = _with_outputs(lems_file.read_text(), quantities, spiking)
    copy.write_text(_refined(text, refine) if refine != 1 else text)
    for name in ("jaxneuron_ref.dat", "jaxneuron_ref.spikes"):
        (copy.parent / name).unlink(missing_ok=True)
    result = subprocess.run(["java", "-Xmx1G", "-jar", str(jar_path()), copy.name, "-nogui"],
                            cwd=copy.parent, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not (copy.parent / "jaxneuron_ref.dat").is_file():
        raise RuntimeError(f"jNeuroML failed on {lems_file.name}: {result.stdout[-2000:]}"
                           f"{result.stderr[-2000:]}")
    data = np.loadtxt(copy.parent / "jaxneuron_ref.dat", ndmin=2)
    t = data[:, 0] * 1e3
    values = {}
    for i, (name, quantity) in enumerate(quantities.items()):
        scale = 1e3 if quantity.endswith("/v") else 1.0  # V -> mV
        values[name] = data[:, i + 1] * scale
    spikes = {name: [] for name in spiking}
    names = list(spiking)
    if spiking and (copy.parent / "jaxneuron_ref.spikes").is_file():
        events = np.loadtxt(copy.parent / "jaxneuron_ref.spikes", ndmin=2)
        for ident, time in events:
            spikes[names[int(ident)]].append(time * 1e3)
    return t, values, {k: np.asarray(v) for k, v in spikes.items()}


def converged_jnml(lems_file, quantities: dict, spiking: dict, t, *, refine: int = 10):
    """jNeuroML's solution with its step-size error removed: runs at the file's step
    divided by `refine` and by `2 refine`, combined by Richardson extrapolation for a
    first-order method (jNeuroML steps by forward Euler and handles events at step ends):
    `2 x(h/2) - x(h)`, for the traces (sampled at `t`, ms) and for spike times where both
    runs have the same count (else the finer run's). Returns `(values, spikes)` as
    `run_jnml`."""
    coarse = run_jnml(lems_file, quantities, spiking, refine=refine)
    fine = run_jnml(lems_file, quantities, spiking, refine=2 * refine)
    values = {name: 2 * np.interp(t, fine[0], fine[1][name])
              - np.interp(t, coarse[0], coarse[1][name]) for name in quantities}
    spikes = {}
    for name in spiking:
        a, b = coarse[2][name], fine[2][name]
        spikes[name] = 2 * b - a if a.size == b.size else b
    return values, spikes


def compare(t, v_ref, spikes_ref, v, spikes, dt: float, *, window: float = 2.0) -> dict:
    """Agreement of a trace `v` (on the same times `t`, ms) with the reference `v_ref`:
    RMS difference outside `window` ms of any spike (of either), the largest spike-time
    difference (ms; spikes paired in order, NaN where the counts differ) and the counts."""
    spikes_ref, spikes = np.asarray(spikes_ref, float), np.asarray(spikes, float)
    keep = np.ones_like(t, dtype=bool)
    for s in np.concatenate([spikes_ref, spikes]):
        keep &= np.abs(t - s) > window
    diff = (np.asarray(v) - np.asarray(v_ref))[keep]
    rms = float(np.sqrt(np.mean(diff**2))) if diff.size else float("nan")
    same = spikes_ref.size == spikes.size
    worst = (float(np.max(np.abs(spikes_ref - spikes), initial=0.0)) if same
             else float("nan"))
    return {"rms": rms, "max_spike_dt": worst, "n_ref": int(spikes_ref.size),
            "n": int(spikes.size), "dt": dt,
            "ok": bool(rms <= 0.5 and same and worst <= 2 * dt + 1e-9)}


def _lems_instance(key: str) -> str:
    return key if key.endswith("]") else f"{key}[0]"


def compare_example(lems_file, *, refine: int | None = 10,
                    max_spikes: int = 1000) -> list[dict]:
    """Run a LEMS file in jNeuroML and, imported by `load_lems`, in jaxneuron (float64,
    saved at the file's dt: smooth models with the default fixed-step engine at that dt,
    spiking models with `ExactSpiking`, whose crossings and resets are exact); one row
    per cell (`example`, `cell`, `state`):
    `compare`'s numbers against jNeuroML at the file's step (`rms_file_dt`,
    `max_spike_dt_file_dt`, `n_jnml_file_dt`), the times (`jaxneuron_s` the run after
    compiling, `compile_s`, `jnml_file_s` jNeuroML's whole run of the file with its JVM
    start, all cells) and, with `refine`, against jNeuroML
    converged (`converged_jnml`; `rms`, `max_spike_dt`, `n_jnml`, `n`, `ok`).

    jNeuroML steps by forward Euler and moves every spike and reset to the end of its
    step, so at the file's step its own error can exceed the tolerance (2 dt on spike
    times, accumulating over spikes); the converged run is the reference the checks
    use."""
    import jax

    import jaxneuron as jn
    from jaxneuron.imports.neuroml import load_lems

    jax.config.update("jax_enable_x64", True)
    run = load_lems(lems_file)
    dt = run.options["dt"]
    states, spiking = {}, {}
    for key, (model, _) in run.cells.items():
        state = "v" if "v" in model.state_names else model.state_names[0]
        states[key] = f"{_lems_instance(key)}/{state}"
        if run.spike_thresholds[key] is not None:
            spiking[key] = _lems_instance(key)
    start = time.perf_counter()
    t, values, spikes = run_jnml(lems_file, states, spiking)
    jnml_s = time.perf_counter() - start
    if refine:
        fine_values, fine_spikes = converged_jnml(lems_file, states, spiking, t,
                                                  refine=refine)
    rows = []
    for key, (model, stimulus) in run.cells.items():
        options = dict(run.options, max_spikes=max_spikes)
        if isinstance(model, jn.AbstractSpikingNeuron):
            options["engine"] = jn.ExactSpiking()  # exact crossings and resets
        elif key in spiking:
            options["threshold"] = run.spike_thresholds[key]
        start = time.perf_counter()
        jax.block_until_ready(jn.simulate(model, stimulus, **options))
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        trace = jax.block_until_ready(jn.simulate(model, stimulus, **options))
        run_s = time.perf_counter() - start
        v = np.interp(t, np.asarray(trace.ts), np.asarray(trace.v))
        mine = np.asarray(trace.spike_times)[: int(trace.n_spikes)] if key in spiking else []
        at_file_dt = compare(t, values[key], spikes.get(key, []), v, mine, dt)
        row = {"example": Path(lems_file).name, "cell": key,
               "state": states[key].split("/")[-1], "dt": dt,
               "rms_file_dt": at_file_dt["rms"],
               "max_spike_dt_file_dt": at_file_dt["max_spike_dt"],
               "n_jnml_file_dt": at_file_dt["n_ref"], "jaxneuron_s": run_s,
               "compile_s": compile_s - run_s, "jnml_file_s": jnml_s,
               "n_cells": len(run.cells)}
        if refine:
            converged = compare(t, fine_values[key], fine_spikes.get(key, []), v, mine, dt)
            row.update(rms=converged["rms"], max_spike_dt=converged["max_spike_dt"],
                       n_jnml=converged["n_ref"], n=converged["n"], ok=converged["ok"])
        else:
            row.update(n=at_file_dt["n"], ok=at_file_dt["ok"])
        rows.append(row)
    return rows


EX16_SUPPORTED = "LEMS_NML2_Ex16_Inputs_supported.xml"
"""Ex16 reduced to the inputs the importer supports (see `write_ex16_supported`)."""


def write_ex16_supported(folder) -> Path:
    """A copy of Ex16 (inputs) with only its supported inputs: one Izhikevich 2007 cell
    per pulse, sine, ramp and compound input (the voltage clamp, spike sources, Poisson
    synapses and connections removed, with the displays and outputs that name them)."""
    folder = Path(folder) / "LEMSexamples"
    text = (folder / "LEMS_NML2_Ex16_Inputs.xml").read_text()
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<Display\b.*?</Display>|<OutputFile\b.*?</OutputFile>", "", text,
                  flags=re.S)
    network = ('<network id="net1"><population id="izhPop" component="RS" size="4"/>'
               + "".join(f'<explicitInput target="izhPop[{i}]" input="{name}" '
                         'destination="synapses"/>'
                         for i, name in enumerate(("pulseGen0", "sg0", "rg0", "ci0")))
               + "</network>")
    text = re.sub(r"<network\b.*?</network>", network, text, flags=re.S)
    path = folder / EX16_SUPPORTED
    path.write_text(text)
    return path
