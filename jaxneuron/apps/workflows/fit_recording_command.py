"""`jaxneuron fit-recording`: fit a model's parameters to the sweeps of a current-clamp
recording (NWB, ABF, text or NumPy file), from several starts at once, with held-out sweeps.

    jaxneuron fit-recording cell.nwb --model lif --param tau_m --param R=2:50 \\
        --param V_rest=-80:-50 --holdout 3 --out results/fit_recording

loads the file (`jaxneuron.recordings.load`, with `--junction-offset` and `--window`),
fits one parameter set to the training sweeps (`jaxneuron.fit_recording`) and writes into
`--out`: `summary.json` (fitted parameters, the loss, the starts, and for the training and
the held-out sweeps the voltage RMSE, spike-count and spike-time errors and feature
z-scores), `sweeps.csv` (one row per sweep), `features.csv` (one row per sweep and feature:
recorded value, fitted value, z-score), `starts.csv` (one row per start: starting and
fitted values, loss, steps, stop reason) and `fit.png`
(`jaxneuron.plotting.recording_fit_figure`).

`--model` is a built-in model's name or a model class by import path
(`package.module:Class`), as in `jaxneuron sweep`. `--param NAME` without bounds searches
from 0.5 to 2 times the model's default value (2 to 0.5 times for a negative one);
`--param NAME=LOW:HIGH` gives the bounds. Sweeps are numbered from 0 in file order, for
`--sweeps` (the sweeps fitted; default every sweep not held out) and `--holdout`.

Units are never guessed: NWB and ABF files state their own; a text or NumPy table needs
`--time-unit`, `--voltage-unit` and `--current-unit`, and its columns (`--columns`, default
`time=0,voltage=1,current=2`). A model that takes a current density (`uA/cm**2`, e.g.
`hh`) needs `--area` or `--capacitance`; a dimensionless one (`izhikevich`) `--scale`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ... import recordings
from ..._fields import check_parameter_names, is_parameter_value
from ...fit_recording import LOSSES, fit_recording
from ...recordings.text import TEXT_SUFFIXES
from ..arguments import (
    finite_float,
    index_list,
    nonnegative_int,
    positive_float,
    positive_int,
    time_window,
)
from ..output import output_dir, write_rows, write_summary
from .sweep_command import model_class, model_classes

TABLE_SUFFIXES = (".npy", ".npz", *TEXT_SUFFIXES)
"""File endings read as tables (`recordings.read_text`): they need `--columns` and units."""

DEFAULT_COLUMNS = "time=0,voltage=1,current=2"
"""The columns of a table when `--columns` is not given."""

_TABLE_OPTIONS = {"columns": "--columns", "time_unit": "--time-unit",
                  "voltage_unit": "--voltage-unit", "current_unit": "--current-unit"}
_FEATURE_FIELDS = ("index", "role", "feature", "data", "model", "zscore")


def parse_param(text: str) -> tuple[str, tuple[float, float] | None]:
    """`"name"` -> `(name, None)` (default bounds), `"name=low:high"` -> `(name, (low,
    high))`.

    **Raises:** `ValueError` naming `--param` for another form, bounds that are not finite
    numbers, or `low >= high`."""
    name, equals, bounds = text.partition("=")
    name = name.strip()
    form = "NAME or NAME=LOW:HIGH (e.g. tau_m or tau_m=5:20)"
    if not name.isidentifier():
        raise ValueError(f"--param must look like {form}; got {text!r}")
    if not equals:
        return name, None
    try:
        low, high = (float(x) for x in bounds.split(":"))
    except ValueError:
        raise ValueError(f"--param must look like {form}; got {text!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"--param {name}: bounds must be finite numbers; got {text!r}")
    if not low < high:
        raise ValueError(f"--param {name}: LOW must be < HIGH; got {low:g}:{high:g}")
    return name, (low, high)


def default_bounds(model, name: str) -> tuple[float, float]:
    """0.5 to 2 times `model`'s value of the scalar parameter `name` (ordered: 2 to 0.5
    times for a negative value).

    **Raises:** `ValueError` naming `--param` for a zero or non-scalar value."""
    value = np.asarray(getattr(model, name), dtype=float)
    if value.shape != () or not np.isfinite(value) or value == 0.0:
        raise ValueError(f"--param {name}: no default range around {type(model).__name__}'s "
                         f"value {value.tolist()!r} (0.5x to 2x needs a finite nonzero "
                         f"scalar); give bounds as {name}=LOW:HIGH")
    return tuple(sorted((0.5 * float(value), 2.0 * float(value))))


def parse_columns(text: str) -> dict:
    """`"time=0,voltage=1+3,current=2+4"` -> `{"time": 0, "voltage": [1, 3], "current":
    [2, 4]}` (a column index or header name per sweep, joined by `+`).

    **Raises:** `ValueError` naming `--columns` for another form."""
    columns = {}
    for item in text.split(","):
        role, equals, refs = item.partition("=")
        parts = [r.strip() for r in refs.split("+")]
        if not equals or not role.strip() or not all(parts) or role.strip() in columns:
            raise ValueError(f"--columns must look like {DEFAULT_COLUMNS} (a column index "
                             f"or header name per role, several sweeps joined by +, e.g. "
                             f"voltage=1+3); got {text!r}")
        refs = [int(r) if r.isdigit() else r for r in parts]
        columns[role.strip()] = refs[0] if len(refs) == 1 else refs
    return columns


def load_recording(path, *, columns=None, time_unit=None, voltage_unit=None,
                   current_unit=None, junction_offset: float = 0.0, window=None):
    """`recordings.load(path)` with the command line's options: a table gets its columns
    (default `DEFAULT_COLUMNS`) and units; an NWB or ABF file states its own.

    **Raises:** `ValueError` naming the option for a missing file, a table option given
    for an NWB/ABF file, a table column without its unit, and as `recordings.load`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"PATH: no such file {path!r}")
    options = {"junction_offset": junction_offset, "window": window}
    table = {"columns": columns, "time_unit": time_unit, "voltage_unit": voltage_unit,
             "current_unit": current_unit}
    if not path.lower().endswith(TABLE_SUFFIXES):
        given = [_TABLE_OPTIONS[k] for k, v in table.items() if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: only for a table ({', '.join(TABLE_SUFFIXES)}"
                             f"); an NWB or ABF file states its own columns and units")
        return recordings.load(path, **options)
    table["columns"] = parse_columns(columns or DEFAULT_COLUMNS)
    for role in ("time", "voltage", "current"):
        if role not in table["columns"]:
            raise ValueError(f"--columns must declare a {role!r} column; got {columns!r}")
        if table[f"{role}_unit"] is None:
            raise ValueError(f"--{role}-unit: missing unit of the {role} column of "
                             f"{os.path.basename(path)}; give it (e.g. --{role}-unit "
                             f"{_EXAMPLE_UNITS[role]}), it is never assumed")
    return recordings.load(path, **table, **options)


_EXAMPLE_UNITS = {"time": "ms", "voltage": "mV", "current": "pA"}


def _check_indices(option: str, indices, n: int) -> None:
    indices = list(indices or ())
    for i in indices:
        if indices.count(i) > 1:
            raise ValueError(f"{option}: names sweep {i} twice")
        if i >= n:
            raise ValueError(f"{option}: sweep {i} names no sweep; the recording has {n} "
                             f"sweep{'s' * (n != 1)}, numbered 0 to {n - 1} in file order")


def run(path, out: str | Path = "results/fit_recording", *, model: str,
        params: tuple[str, ...], loss: str = "auto", sweeps=None, holdout=(),
        starts: int = 16, steps: int = 100, columns: str | None = None,
        time_unit: str | None = None, voltage_unit: str | None = None,
        current_unit: str | None = None, area_cm2: float | None = None,
        capacitance_pF: float | None = None, scale: str | None = None,
        junction_offset: float = 0.0, window=None, dt: float | None = None, seed: int = 0,
        float64: bool = False, log=print) -> dict:
    """Load the recording at `path`, fit `params` (`"NAME"` or `"NAME=LOW:HIGH"` strings)
    of `model` (a `--model` spec) to it, write the files of the module docstring into
    `out`; returns the summary (`RecordingFit.summary()` with the model, the file, the
    bounds and the files written).

    **Raises:** `ValueError` naming the option (see `parse_param`, `load_recording`,
    `jaxneuron.fit_recording`), before any file is written; `FloatingPointError` when no
    start reaches a finite loss."""
    cls = model_class(model)
    if Path(out).is_file():  # found before the fit, not after it
        output_dir(out)
    if not params:
        raise ValueError("--param: give at least one parameter to fit (NAME or "
                         "NAME=LOW:HIGH)")
    parsed = [parse_param(p) for p in params]
    names = [name for name, _ in parsed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--param: each parameter may be given once; {repeated} repeated")
    recording = load_recording(path, columns=columns, time_unit=time_unit,
                               voltage_unit=voltage_unit, current_unit=current_unit,
                               junction_offset=junction_offset, window=window)
    _check_indices("--sweeps", sweeps, len(recording))
    _check_indices("--holdout", holdout, len(recording))
    if float64:
        jax.config.update("jax_enable_x64", True)
    try:
        base = cls()
    except TypeError as error:
        raise ValueError(f"--model: {cls.__name__} must be constructible with its defaults "
                         f"(every field needs a default value); {error}") from error
    if float64:
        base = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64) if is_parameter_value(x)
                            else x, base)
    check_parameter_names(base, names, "--param")
    bounds = {name: given or default_bounds(base, name) for name, given in parsed}
    conversion = {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF, "scale": scale}
    try:
        recording[0].stimulus(base, **conversion)
    except ValueError as error:
        if "area_cm2" not in str(error) and "scale" not in str(error):
            raise
        raise ValueError(f"{error} (options: area_cm2 is --area, capacitance_pF "
                         f"--capacitance, scale --scale)") from None
    defaulted = [name for name, given in parsed if given is None]
    log(f"fit-recording: {cls.__name__} to {len(recording)} sweeps of {path}, "
        f"{starts} starts, at most {steps} steps; bounds "
        + ", ".join(f"{n} {lo:g}:{hi:g}" + (" (0.5x-2x default)" if n in defaulted else "")
                    for n, (lo, hi) in bounds.items()))
    result = fit_recording(recording, base, bounds, loss=loss, sweeps=sweeps,
                           holdout=tuple(holdout or ()), starts=starts, steps=steps, dt=dt,
                           key=jax.random.PRNGKey(seed), **conversion)
    out = output_dir(out)
    summary = {"model": cls.__name__, "recording": os.fspath(path),
               "bounds": {n: list(b) for n, b in bounds.items()},
               "default_bounds": defaulted, **result.summary()}
    from ...plotting import recording_fit_figure

    written = [write_rows(out / "sweeps.csv", result.sweep_rows()),
               _write_features(out / "features.csv", result.feature_rows()),
               write_rows(out / "starts.csv", start_rows(result.restarts)),
               recording_fit_figure(result, path=out / "fit.png")]
    summary["files"] = ["summary.json", *(p.name for p in written)]
    write_summary(out, summary)
    _report(summary, out, log)
    return summary


def start_rows(restarts) -> list[dict]:
    """One row per start (best first): its rank, starting and fitted values, loss, steps,
    objective evaluations and stop reason."""
    rows = []
    for k in range(len(restarts.loss)):
        row = {"rank": k}
        row.update({f"{n}_start": float(restarts.start[k, i])
                    for i, n in enumerate(restarts.names)})
        row.update({f"{n}_fitted": float(restarts.theta[k, i])
                    for i, n in enumerate(restarts.names)})
        row.update(loss=float(restarts.loss[k]), steps=int(restarts.steps[k]),
                   evaluations=int(restarts.evaluations[k]),
                   stop_reason=restarts.stop_reason[k])
        rows.append(row)
    return rows


def _write_features(path: Path, rows: list[dict]) -> Path:
    if rows:
        return write_rows(path, rows)
    path.write_text(",".join(_FEATURE_FIELDS) + "\n")  # no feature defined: the header
    return path


def _fmt(value, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.3g}{unit}"


def _report(summary: dict, out: Path, log) -> None:
    params = ", ".join(f"{n} = {v:.4g}" for n, v in summary["params"].items())
    log(f"fitted: {params}")
    log(f"best loss {summary['best_loss']:.4g} ({summary['loss']}; {summary['stop_reason']}), "
        f"{summary['starts']} starts, {summary['seconds']:.1f} s")
    for role, label in (("train", "training"), ("holdout", "held-out")):
        pooled = summary[role]
        if pooled is None:
            continue
        log(f"{label} sweeps {pooled['sweeps']}: voltage RMSE {_fmt(pooled['voltage_rmse'])} "
            f"mV, spike-count error {pooled['spike_count_error']}, spike-time error (max) "
            f"{_fmt(pooled['spike_time_error_max'], ' ms')}, mean |z| of features "
            f"{_fmt(pooled['feature_zscore_mean'])}")
    log(f"wrote {', '.join(summary['files'])} to {out.resolve()}")


def register(commands) -> None:
    """Add `jaxneuron fit-recording` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "fit-recording", help="fit a model's parameters to the sweeps of a current-clamp "
                              "recording (NWB, ABF, text)",
        description="Fit one parameter set of a model to the sweeps of a current-clamp "
                    "recording from several starts at once; writes summary.json, sweeps.csv, "
                    "features.csv, starts.csv and fit.png into --out.")
    parser.add_argument("path", metavar="PATH",
                        help="the recording: .nwb, .abf, or a table (" +
                             ", ".join(TABLE_SUFFIXES) + ")")
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help=f"a built-in model, one of {sorted(model_classes())}, a model "
                             "class by import path package.module:ClassName, or a model file: "
                             "Brian2 equations (.toml), NeuroML2 (.nml) or LEMS (.xml)")
    parser.add_argument("--param", action="append", dest="params", required=True,
                        metavar="NAME[=LOW:HIGH]",
                        help="a fitted parameter (repeat for each); without bounds it is "
                             "searched from 0.5x to 2x the model's default value (2x to 0.5x "
                             "for a negative one)")
    parser.add_argument("--loss", default="auto", choices=LOSSES,
                        help="auto (default): features when a training sweep spikes, else "
                             "voltage")
    parser.add_argument("--sweeps", type=index_list, default=None, metavar="I,J,...",
                        help="the sweeps to fit (from 0 in file order; default: every sweep "
                             "not held out)")
    parser.add_argument("--holdout", type=index_list, default=(), metavar="I,J,...",
                        help="sweeps held out of the fit and reported")
    parser.add_argument("--starts", type=positive_int, default=16, metavar="N",
                        help="starting points, optimised together (default 16)")
    parser.add_argument("--steps", type=positive_int, default=100, metavar="N",
                        help="most optimiser steps per start (default 100; each stops "
                             "when converged)")
    parser.add_argument("--columns", default=None, metavar="ROLE=COL,...",
                        help=f"a table's columns (default {DEFAULT_COLUMNS}; index or header "
                             "name, several sweeps joined by +, e.g. voltage=1+3)")
    parser.add_argument("--time-unit", default=None, metavar="UNIT",
                        help="a table's time unit (ms or s)")
    parser.add_argument("--voltage-unit", default=None, metavar="UNIT",
                        help="a table's voltage unit (mV or V)")
    parser.add_argument("--current-unit", default=None, metavar="UNIT",
                        help="a table's current unit (pA, nA, A or uA/cm**2)")
    parser.add_argument("--area", type=positive_float, default=None, metavar="CM2",
                        help="membrane area (cm²), for a model taking a current density")
    parser.add_argument("--capacitance", type=positive_float, default=None, metavar="PF",
                        help="cell capacitance (pF, with 1 µF/cm²), instead of --area")
    parser.add_argument("--scale", default=None, metavar="CURRENT",
                        help="for a model with a dimensionless current: the current one unit "
                             "stands for (e.g. '1 pA')")
    parser.add_argument("--junction-offset", type=finite_float, default=0.0, metavar="MV",
                        help="liquid-junction offset (mV), subtracted from the voltage")
    parser.add_argument("--window", type=time_window, default=None, metavar="START:END",
                        help="keep this time window (ms; either end may be left empty)")
    parser.add_argument("--dt", type=positive_float, default=None, metavar="MS",
                        help="simulation step (ms; must divide the sampling interval; "
                             "default at most 0.025)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, metavar="N",
                        help="seed of the starting points")
    parser.add_argument("--float64", action="store_true", help="fit in double precision")
    parser.add_argument("--out", default="results/fit_recording", metavar="DIR",
                        help="output folder (default results/fit_recording)")
    parser.set_defaults(func=lambda a: run(
        a.path, a.out, model=a.model, params=tuple(a.params), loss=a.loss, sweeps=a.sweeps,
        holdout=a.holdout, starts=a.starts, steps=a.steps, columns=a.columns,
        time_unit=a.time_unit, voltage_unit=a.voltage_unit, current_unit=a.current_unit,
        area_cm2=a.area, capacitance_pF=a.capacitance, scale=a.scale,
        junction_offset=a.junction_offset, window=a.window, dt=a.dt, seed=a.seed,
        float64=a.float64))
