"""`jaxneuron sweep`: a large parameter sweep of any model streamed into a resumable Zarr
store.

    jaxneuron sweep --model hh --param g_Na=60:180 --param g_K=18:54 --n 1000000 \\
        --store sweep.zarr

samples `--n` parameter sets (`--sampler sobol`, `latin_hypercube`, `uniform` or `grid`;
`--log NAME` for log-uniform), simulates them under a step current in chunks (progress bar
with ETA), and writes every finished chunk to `--store`. Run the same command again after
an interruption and it resumes. `--out` gets `summary.json` (sets per second, failures)
and `sweep.png` (the first two parameters, coloured by firing rate).

Without `--param`, `--model hh` sweeps `g_Na=60:180` and `g_K=18:54`; every other model
needs `--param`. Options that would silently do nothing are errors: a `--param` given twice,
a `--log` name that is not swept, and a swept model parameter that does not affect the
model in its default configuration (its derivative through `initial_state`, the
`vector_field` at the initial state and at two nearby states, and for spiking models
`spike_condition`, `reset` and `refractory_period`, is exactly zero), as are `--out` or
`--store` paths that are existing files.

`--model` is a built-in model's name or any model class by import path, so a model in the
user's own file needs no edit to jaxneuron:

    jaxneuron sweep --model mypackage.mymodels:MyLIF --param tau_m=5:20 --n 1000
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ... import models, sampling
from ..._checks import check_int, check_real
from ..._fields import check_parameter_names, is_parameter_value
from ...imports.files import MODEL_FILE_SUFFIXES, is_model_file, load_model
from ...models.base import AbstractNeuron
from ...stimuli import StepCurrent
from ...sweep import sweep
from ..arguments import finite_float, nonnegative_int, positive_float, positive_int
from ..output import output_dir, write_summary

PRECISIONS = ("float32", "float64")
HH_DEFAULT_PARAMS = ("g_Na=60:180", "g_K=18:54")


def model_classes() -> dict[str, type]:
    """Concrete model classes by lower-case name (`hh` is short for `hodgkinhuxley`)."""
    classes = {name.lower(): getattr(models, name) for name in models.__all__
               if not name.startswith("Abstract")}
    return {"hh": classes["hodgkinhuxley"], **classes}


def model_class(name: str) -> type:
    """The model class that `--model NAME` names: a built-in model's lower-case name (see
    `model_classes`), an import path `package.module:ClassName` of any concrete
    `jaxneuron.AbstractNeuron` subclass (a module in the current folder or on
    `PYTHONPATH`), or a model file (`jaxneuron.imports.load_model`: Brian2 equations in
    `.toml`, NeuroML2 `.nml`, LEMS `.xml`), whose class has the file's values as defaults.

    **Raises:** `ValueError` naming `--model` and the allowed forms if the name is unknown,
    the import fails, or the object is not a concrete model class."""
    classes = model_classes()
    forms = (f"one of {sorted(classes)}, an import path package.module:ClassName or a model "
             f"file ({', '.join(MODEL_FILE_SUFFIXES)})")
    if is_model_file(name):
        try:
            return type(load_model(name))
        except ValueError as error:
            raise ValueError(f"--model: {error}") from None
    if ":" not in name:
        if name not in classes:
            raise ValueError(f"--model must be {forms}; got {name!r}")
        return classes[name]
    module_name, _, class_name = name.partition(":")
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:  # as `python -m` does: a module in the current folder is importable
        sys.path.insert(0, os.getcwd())
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"--model must be {forms}; could not import {name!r} "
                         f"({type(error).__name__}: {error})") from error
    finally:
        if added:
            sys.path.remove(os.getcwd())
    if not (isinstance(cls, type) and issubclass(cls, AbstractNeuron)
            and not inspect.isabstract(cls)):
        raise ValueError(f"--model must be {forms}; {name!r} is not a concrete subclass of "
                         f"jaxneuron.AbstractNeuron")
    return cls


def parse_param(text: str) -> tuple[str, tuple[float, float]]:
    """`"name=low:high"` -> `(name, (low, high))`.

    **Raises:** `ValueError` naming the expected form."""
    try:
        name, bounds = text.split("=", 1)
        low, high = (float(x) for x in bounds.split(":"))
    except ValueError as error:
        raise ValueError(f"--param must look like name=low:high (e.g. g_Na=60:180); got "
                         f"{text!r}") from error
    return name.strip(), (low, high)


def check_parameters_matter(model: AbstractNeuron, names, amplitude: float = 0.0) -> None:
    """Raise `ValueError` for a parameter in `names` that does not affect `model` in this
    configuration: the forward-mode derivative (`jax.jvp`) with respect to it of
    `initial_state()`, of `vector_field` at the initial state and at two nearby states
    (input current `amplitude` and `amplitude + 1`), and for a spiking model of
    `spike_condition`, `reset` and `refractory_period` at those states, is exactly zero.
    A model whose functions cannot be differentiated this way is not checked."""
    from ..._fields import replace_parameters
    from ...models.base import AbstractSpikingNeuron

    spiking = isinstance(model, AbstractSpikingNeuron)
    rng = np.random.default_rng(0)
    for name in names:
        value = jnp.asarray(getattr(model, name))

        def outputs(x, name=name):
            m = replace_parameters(model, {name: x})
            y0 = m.initial_state()
            states = [y0] + [y0 * (1 + 0.05 * u) + 0.05 * u
                             for u in rng.uniform(-1, 1, (2, *y0.shape)).astype(y0.dtype)]
            out = [y0]
            for y in states:
                out += [m.vector_field(0.0, y, jnp.asarray(i, y0.dtype))
                        for i in (amplitude, amplitude + 1.0)]
                if spiking:
                    out += [m.spike_condition(y), m.reset(y)]
            if spiking:
                out.append(m.refractory_period)
            return out

        try:
            _, tangents = jax.jvp(outputs, (value,), (jnp.ones_like(value),))
        except Exception:  # noqa: BLE001 - a model we cannot differentiate is not checked
            continue
        if all(np.all(np.asarray(t) == 0) for t in jax.tree.leaves(tangents)):
            raise ValueError(f"--param: parameter {name} does not affect model "
                             f"{type(model).__name__} in this configuration (its default "
                             f"settings); sweeping it would give identical results")


def run(out: str | Path = "results/sweep", *, model: str = "hh",
        params: tuple[str, ...] | None = None, n: int = 10_000,
        store: str | Path = "results/sweep/sweep.zarr", sampler: str = "sobol",
        log_params: tuple[str, ...] = (), amplitude: float = 10.0, t1: float = 100.0,
        dt: float = 0.025, chunk_size: int = 10_000, precision: str = "float32",
        seed: int = 0, log=print) -> dict:
    """Sample, sweep into `store`, summarise into `out`; returns the summary.

    `params` (`"name=low:high"` strings) defaults to `HH_DEFAULT_PARAMS` for `model="hh"`
    and is required for every other model.

    **Raises:** `ValueError` for options that would silently do nothing or be wrong (see
    the module docstring), naming the option."""
    cls = model_class(model)
    n, chunk_size, seed = check_int("n", n, 1), check_int("chunk_size", chunk_size, 1), \
        check_int("seed", seed, 0)
    t1, dt = check_real("t1", t1, gt=0), check_real("dt", dt, gt=0)
    amplitude = check_real("amplitude", amplitude)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    if not params:
        if cls is not models.HodgkinHuxley:
            raise ValueError(f"--param is required for --model {model} (the default "
                             f"{' '.join(HH_DEFAULT_PARAMS)} is for hh only); e.g. --param "
                             f"NAME=LOW:HIGH with NAME a parameter of {cls.__name__}")
        params = HH_DEFAULT_PARAMS
    parsed = [parse_param(p) for p in params]
    names = [name for name, _ in parsed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--param: each parameter may be given once; {repeated} repeated")
    bounds = dict(parsed)
    unknown_log = [name for name in log_params if name not in bounds]
    if unknown_log:
        raise ValueError(f"--log: {unknown_log} not swept; --log must name swept parameters, "
                         f"one of {names}")
    store_path = Path(store)
    if store_path.exists() and not store_path.is_dir():
        raise ValueError(f"--store: {store_path} is an existing file; give a folder path for "
                         "the Zarr store")
    if precision == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.float32 if precision == "float32" else jnp.float64
    try:
        default = cls()
    except TypeError as error:
        raise ValueError(f"--model: {cls.__name__} must be constructible with its defaults "
                         f"(every field needs a default value); {error}") from error
    base = jax.tree.map(lambda x: jnp.asarray(x, dtype) if is_parameter_value(x) else x,
                        default)
    model_names = [k for k in bounds if not k.startswith("stimulus.")]
    check_parameter_names(base, model_names, "--param")
    check_parameters_matter(base, model_names, amplitude)
    out = output_dir(out)
    stimulus_bounds = {k.removeprefix("stimulus."): v for k, v in bounds.items()
                       if k.startswith("stimulus.")}
    sets = sampling.sample(sampler, bounds, n, seed=seed, log=tuple(log_params))
    model_sets = {k: v for k, v in sets.items() if not k.startswith("stimulus.")}
    stimulus_sets = {k.removeprefix("stimulus."): sets[f"stimulus.{k}"]
                     for k in stimulus_bounds}
    n_sets = next(iter(sets.values())).size
    log(f"sweep: {type(base).__name__}, {n_sets:,} sets ({sampler}) of "
        f"{', '.join(bounds)}, {t1:g} ms at dt {dt:g} ms, {precision}, into {store}")
    start = time.perf_counter()
    ds = sweep(base, model_sets, StepCurrent(amplitude), stimulus_params=stimulus_sets,
               t1=t1, dt=dt, chunk_size=chunk_size, store=store)
    seconds = time.perf_counter() - start
    ok = ds["ok"].values
    summary = {"model": type(base).__name__, "n_sets": int(n_sets), "sampler": sampler,
               "parameters": {k: list(v) for k, v in bounds.items()}, "precision": precision,
               "store": str(Path(store).resolve()), "complete": bool(ds.attrs["complete"]),
               "failed": int((~ok).sum()), "seconds_this_call": seconds,
               "sets_per_second_this_call": n_sets / seconds}
    write_summary(out, summary)
    names = list(bounds)
    written = ["summary.json"]
    if "rate_hz" in ds:
        shown = ds.isel(set=np.unique(np.linspace(0, n_sets - 1, 20_000).astype(int)))
        fig, ax = plt.subplots(figsize=(6, 4.8))  # at most 20,000 sets, read lazily
        if len(names) >= 2:
            points = ax.scatter(shown[names[0]].values, shown[names[1]].values,
                                c=shown["rate_hz"].values, s=4, cmap="viridis")
            fig.colorbar(points, ax=ax, label="firing rate (Hz)")
            ax.set(xlabel=names[0], ylabel=names[1])
        else:  # one parameter: the rate against it
            ax.scatter(shown[names[0]].values, shown["rate_hz"].values, s=4)
            ax.set(xlabel=names[0], ylabel="firing rate (Hz)")
        ax.set_title(f"{summary['model']}: {n_sets:,} sets")
        fig.tight_layout()
        fig.savefig(out / "sweep.png", dpi=120)
        plt.close(fig)
        written.append("sweep.png")
    log(f"{n_sets:,} sets in {seconds:.1f} s this call ({n_sets / seconds:,.0f} sets/s), "
        f"{summary['failed']} failed; wrote {' and '.join(written)} to {out.resolve()}; "
        f"open the results with jaxneuron.store.open_sweep({str(store)!r})")
    return summary


def register(commands) -> None:
    """Add `jaxneuron sweep` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "sweep", help="a large parameter sweep of any model, streamed to a resumable Zarr "
                      "store")
    parser.add_argument("--model", default="hh",
                        help=f"a built-in model, one of {sorted(model_classes())}, or any "
                             "model class by import path package.module:ClassName (a concrete "
                             "jaxneuron.AbstractNeuron subclass in your own file, in the "
                             "current folder or on PYTHONPATH), or a model file: Brian2 "
                             "equations (.toml), NeuroML2 (.nml) or LEMS (.xml)")
    parser.add_argument("--param", action="append", dest="params", metavar="NAME=LOW:HIGH",
                        help="a swept parameter and its range (repeat for each parameter, "
                             "once each; stimulus.amplitude sweeps the step; default for hh: "
                             "g_Na=60:180 g_K=18:54, required for other models)")
    parser.add_argument("--n", type=positive_int, default=10_000,
                        help="number of sets (for --sampler grid: values per parameter)")
    parser.add_argument("--sampler", default="sobol", choices=sampling.SAMPLERS)
    parser.add_argument("--log", action="append", default=[], dest="log_params",
                        metavar="NAME", help="sample this swept parameter log-uniformly")
    parser.add_argument("--store", default="results/sweep/sweep.zarr")
    parser.add_argument("--amplitude", type=finite_float, default=10.0, help="step current")
    parser.add_argument("--t1", type=positive_float, default=100.0, help="ms")
    parser.add_argument("--dt", type=positive_float, default=0.025, help="ms")
    parser.add_argument("--chunk", type=positive_int, default=10_000, help="sets per compiled call")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--out", default="results/sweep")
    parser.set_defaults(func=lambda a: run(
        a.out, model=a.model, params=tuple(a.params or ()),
        n=a.n, store=a.store, sampler=a.sampler, log_params=tuple(a.log_params),
        amplitude=a.amplitude, t1=a.t1, dt=a.dt, chunk_size=a.chunk, precision=a.precision,
        seed=a.seed))
