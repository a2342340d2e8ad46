"""Training data for surrogates: batched simulations of any model with sampled parameters,
initial states and random input currents; saved to `.npz`, split by run, standardised.

A `Dataset` holds whole trajectories on a common save grid. The surrogate steps on that grid
(one step = `dt_save` ms): from the state at `t_k` and the input current at `t_k` and
`t_{k+1}` it predicts the state at `t_{k+1}`. Inputs are `SampledCurrent`s sampled at the
same `dt_save`, so the current inside a step is the straight line between those two values
and the step is fully determined by them.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from tqdm.auto import tqdm

from .._checks import check_int, check_real
from .._fields import check_parameter_names, replace_parameters
from ..models.base import AbstractNeuron
from ..observed import check_observed
from ..simulate import simulate
from ..stimuli import SampledCurrent

SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class CurrentSpec:
    """Random input currents: piecewise-constant steps plus Ornstein-Uhlenbeck noise.

    Each run gets `n_steps` (drawn from `steps_range`) switch times, uniform in the run;
    each epoch between switches holds an amplitude uniform in `amplitude`, or 0 with
    probability `p_zero`. Noise of stationary std `noise_std` and correlation time
    `noise_tau` (ms) is added. Currents are in the model's unit (µA/cm² or nA).
    """

    amplitude: tuple[float, float] = (-2.0, 2.0)
    steps_range: tuple[int, int] = (0, 4)
    p_zero: float = 0.3
    noise_std: float = 0.2
    noise_tau: float = 2.0

    def __post_init__(self):
        for name in ("amplitude", "steps_range"):
            if np.shape(getattr(self, name)) != (2,):
                raise ValueError(f"{name} must be a pair (low, high); got "
                                 f"{getattr(self, name)!r}")
        lo, hi = (check_real("amplitude", v) for v in self.amplitude)
        if not hi >= lo:
            raise ValueError(f"amplitude must be (low, high) with high >= low; got "
                             f"{self.amplitude}")
        steps = tuple(check_int("steps_range", v, 0) for v in self.steps_range)
        if not steps[0] <= steps[1]:
            raise ValueError(f"steps_range must be (min, max) with 0 <= min <= max; got "
                             f"{self.steps_range}")
        # stored as plain numbers (the spec is saved with the dataset as JSON)
        object.__setattr__(self, "amplitude", (lo, hi))
        object.__setattr__(self, "steps_range", steps)
        object.__setattr__(self, "p_zero", check_real("p_zero", self.p_zero, ge=0, le=1))
        object.__setattr__(self, "noise_std", check_real("noise_std", self.noise_std, ge=0))
        object.__setattr__(self, "noise_tau", check_real("noise_tau", self.noise_tau, gt=0))


def random_currents(rng: np.random.Generator, n_runs: int, n_samples: int, dt: float,
                    spec: CurrentSpec = CurrentSpec()) -> np.ndarray:
    """Random currents `(n_runs, n_samples)` sampled every `dt` ms, drawn from `spec`."""
    lo, hi = spec.amplitude
    out = np.zeros((n_runs, n_samples))
    for i in range(n_runs):
        k = int(rng.integers(spec.steps_range[0], spec.steps_range[1] + 1))
        edges = np.sort(rng.integers(0, n_samples, size=k))
        levels = rng.uniform(lo, hi, size=k)
        levels[rng.random(k) < spec.p_zero] = 0.0
        for edge, level in zip(edges, levels, strict=True):
            out[i, edge:] = level
    if spec.noise_std > 0:
        decay = np.exp(-dt / spec.noise_tau)
        kick = spec.noise_std * np.sqrt(1.0 - decay**2)
        noise = np.empty_like(out)
        noise[:, 0] = spec.noise_std * rng.standard_normal(n_runs)
        for k in range(1, n_samples):
            noise[:, k] = decay * noise[:, k - 1] + kick * rng.standard_normal(n_runs)
        out += noise
    return out


@dataclasses.dataclass
class Dataset:
    """Simulated trajectories on a common save grid, as NumPy arrays.

    **Fields:**
    - `ts`: save times (ms), `(n_t,)`, spaced `dt_save`.
    - `states`: `(n_runs, n_t, n_states)`, columns named by `state_names`.
    - `currents`: input current at the save times, `(n_runs, n_t, n_inputs)`.
    - `params`: sampled parameter name -> values `(n_runs,)`.
    - `run_ids`: `(n_runs,)` int, the run's index in the generated set (kept by splits).
    - `state_names`, `voltage_index`: state labels; column of `states` holding V (mV), or
      a tuple of columns (one per neuron) for network datasets.
    - `metadata`: JSON-able dict (model, parameter and initial ranges, current spec, seed,
      `dt`, `dt_save`, `t1`, solver options).
    """

    ts: np.ndarray
    states: np.ndarray
    currents: np.ndarray
    params: dict[str, np.ndarray]
    run_ids: np.ndarray
    state_names: tuple[str, ...]
    voltage_index: int | tuple[int, ...]
    metadata: dict

    def __post_init__(self):
        check_observed("states", self.states, shape=("n_runs", "n_t", "n_states"))
        n_runs, n_t = self.states.shape[:2]
        check_observed("ts", self.ts, shape=(n_t,))
        if n_t > 1 and not np.all(np.diff(self.ts) > 0):
            raise ValueError("ts must be increasing save times (ms)")
        check_observed("currents", self.currents, shape=(n_runs, n_t, "n_inputs"))
        if np.shape(self.run_ids) != (n_runs,):
            raise ValueError(f"run_ids must have shape ({n_runs},); got "
                             f"{np.shape(self.run_ids)}")

    @property
    def n_runs(self) -> int:
        """Number of simulated runs (the leading axis of `states`)."""
        return int(self.states.shape[0])

    @property
    def dt_save(self) -> float:
        """Spacing of the saved time grid `ts` (ms)."""
        return float(self.ts[1] - self.ts[0])

    @property
    def v(self) -> np.ndarray:
        """Membrane potential (mV), `(n_runs, n_t)` (`(n_runs, n_t, n_neurons)` if
        `voltage_index` is a tuple)."""
        return self.states[..., self.voltage_index]

    def subset(self, index) -> Dataset:
        """The runs at positions `index` (int array or boolean mask), metadata shared."""
        index = np.asarray(index)
        return dataclasses.replace(
            self, states=self.states[index], currents=self.currents[index],
            params={k: v[index] for k, v in self.params.items()}, run_ids=self.run_ids[index])

    def save(self, path: str | Path) -> Path:
        """Write to `path` (`.npz`): arrays plus the metadata as JSON."""
        path = Path(path)
        arrays = {"ts": self.ts, "states": self.states, "currents": self.currents,
                  "run_ids": self.run_ids}
        arrays.update({f"param.{k}": v for k, v in self.params.items()})
        info = {"state_names": list(self.state_names), "voltage_index": self.voltage_index,
                "metadata": self.metadata}
        np.savez_compressed(path, info=np.array(json.dumps(info)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read a dataset written by `save`."""
        with np.load(path) as data:
            info = json.loads(str(data["info"]))
            params = {k.removeprefix("param."): data[k] for k in data.files
                      if k.startswith("param.")}
            return cls(ts=data["ts"], states=data["states"], currents=data["currents"],
                       params=params, run_ids=data["run_ids"],
                       state_names=tuple(info["state_names"]),
                       voltage_index=_index(info["voltage_index"]),
                       metadata=info["metadata"])


def _index(value) -> int | tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, list) else int(value)


def voltage_index(model: AbstractNeuron) -> int:
    """The state column that `model.voltage` returns.

    **Raises:** `ValueError` if `model.voltage` is not a plain selection of one state.
    """
    n = len(model.state_names)
    probe = np.asarray(model.voltage(jnp.arange(n, dtype=float) + 1.0))
    index = int(round(float(probe))) - 1
    if probe.shape != () or not 0 <= index < n or float(probe) != index + 1:
        raise ValueError(f"model.voltage must return one state of {model.state_names} for a "
                         "surrogate dataset")
    return index


def reset_flags(v, drop: float):
    """Which save steps of a threshold-and-reset voltage contain a spike: `v[k+1]` fell by
    more than `drop` mV below `v[k]` (the reset; on a save grid coarser than the upstroke
    the peak itself is often not sampled). `v` `(n_t, ...)` mV, NumPy or JAX; returns a
    boolean array `(n_t - 1, ...)` of the same kind."""
    xp = np if isinstance(v, np.ndarray) else jnp
    return xp.diff(v, axis=0) < -drop


def simulate_runs(model: AbstractNeuron, params: dict[str, Float[Array, " n"]],
                  y0: Float[Array, "n n_states"], currents: Float[Array, "n n_t"],
                  *, dt_save: float, **simulate_kwargs) -> Float[Array, "n n_t n_states"]:
    """Simulate a batch: run i has parameters `params[k][i]`, initial state `y0[i]` and
    input `SampledCurrent(currents[i], dt_save)`; returns the states every `dt_save` ms
    (`jit(vmap(simulate))`; also used to time the solver against a surrogate).

    `simulate_kwargs` go to `simulate` (`dt`, `solver`, ...); `t1` is set by the current's
    length. Failed runs come back with NaN states.
    """
    n_t = currents.shape[1]
    t1 = dt_save * (n_t - 1)
    return _run_batch(model, params, y0, currents, t1, dt_save,
                      tuple(sorted(simulate_kwargs.items())))


@eqx.filter_jit
def _run_batch(model, params, y0, currents, t1, dt_save, options):
    def one(p, y, values):
        m = replace_parameters(model, p)
        stimulus = SampledCurrent(values, dt_save)
        trace = simulate(m, stimulus, t1=t1, y0=y, save_every=dt_save, throw=False,
                         **dict(options))
        return jnp.where(trace.ok, trace.states, jnp.nan)
    return jax.vmap(one)(params, y0, currents)


def check_run_grid(n_runs, t1: float, dt_save: float) -> int:
    """Check the run count and the save grid; returns the number of saved points per run.

    **Raises:** `ValueError` unless `n_runs` is a positive int and `t1` a whole number (>= 2)
    of `dt_save` > 0 (ms)."""
    check_int("n_runs", n_runs, 1)
    dt_save = check_real("dt_save", dt_save, gt=0)
    t1 = check_real("t1", t1, gt=0)
    n_t = round(t1 / dt_save) + 1
    if n_t < 3 or abs((n_t - 1) * dt_save - t1) > 1e-9 * t1:
        raise ValueError(f"t1 must be a whole number (>= 2) of dt_save = {dt_save} ms; "
                         f"got {t1}")
    return n_t


def generate_dataset(
    model: AbstractNeuron,
    *,
    n_runs: int,
    t1: float,
    dt_save: float,
    param_ranges: dict[str, tuple[float, float]] | None = None,
    initial_ranges: dict[str, tuple[float, float]] | None = None,
    current: CurrentSpec = CurrentSpec(),
    seed: int = 0,
    chunk_size: int = 1024,
    progress: bool = True,
    **simulate_kwargs,
) -> Dataset:
    """Simulate `n_runs` runs of `model`, each with its own sampled parameters, initial
    state and random input current.

    **Arguments:**
    - `model`: any jaxneuron model (single neuron, one input current); unsampled fields
      keep their values.
    - `n_runs`, `t1`: number of runs and their length (ms, from 0).
    - `dt_save`: the save grid and the current's sample spacing (ms); `t1` must be a
      whole number of it. The solver step `dt` (a `simulate_kwargs`) must divide it.
    - `param_ranges`: parameter name -> `(low, high)`, sampled uniformly per run.
    - `initial_ranges`: state name -> `(low, high)`, the initial value sampled uniformly
      per run; other states start at the (sampled) model's `initial_state()`.
    - `current`: the `CurrentSpec` of the random inputs.
    - `seed`: seeds every random draw (same seed, same dataset).
    - `chunk_size`: runs per compiled call.
    - `simulate_kwargs`: passed to `simulate` (`dt`, `solver`, `stepsize`, ...).

    **Returns:** a `Dataset`; runs that failed (NaN/inf) are dropped with a warning.

    **Raises:** `ValueError` for unknown parameter or state names, bad ranges or times.
    """
    param_ranges = dict(param_ranges or {})
    initial_ranges = dict(initial_ranges or {})
    check_parameter_names(model, param_ranges, "param_ranges")
    names = tuple(model.state_names)
    unknown = [k for k in initial_ranges if k not in names]
    if unknown:
        raise ValueError(f"initial_ranges: unknown state(s) {unknown}; allowed: {list(names)}")
    for label, ranges in (("param_ranges", param_ranges), ("initial_ranges", initial_ranges)):
        for k, (lo, hi) in ranges.items():
            lo, hi = (check_real(f"{label}[{k!r}]", v) for v in (lo, hi))
            if not hi >= lo:
                raise ValueError(f"{label}[{k!r}] must be finite (low, high) with high >= low;"
                                 f" got {(lo, hi)}")
    n_t = check_run_grid(n_runs, t1, dt_save)
    n_runs = int(n_runs)
    seed = check_int("seed", seed, 0)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    if not isinstance(current, CurrentSpec):
        raise ValueError(f"current must be a CurrentSpec; got {type(current).__name__}")
    index_v = voltage_index(model)

    rng = np.random.default_rng(seed)
    params = {k: rng.uniform(lo, hi, n_runs) for k, (lo, hi) in param_ranges.items()}
    inits = {k: rng.uniform(lo, hi, n_runs) for k, (lo, hi) in initial_ranges.items()}
    currents = random_currents(rng, n_runs, n_t, dt_save, current)
    dtype = model.initial_state().dtype

    @eqx.filter_jit
    def initial_states(p):
        return jax.vmap(lambda q: replace_parameters(model, q).initial_state())(p)

    p_all = {k: jnp.asarray(v, dtype) for k, v in params.items()}
    y0 = np.array(initial_states(p_all)) if params else np.tile(
        np.asarray(model.initial_state()), (n_runs, 1))
    for k, v in inits.items():
        y0[:, names.index(k)] = v

    states = np.empty((n_runs, n_t, len(names)), dtype=dtype)
    chunk = min(chunk_size, n_runs)
    starts = range(0, n_runs, chunk)
    for start in tqdm(starts, desc="dataset", unit="chunk",
                      disable=not progress or len(starts) < 2):
        index = np.minimum(np.arange(start, start + chunk), n_runs - 1)  # pad with last run
        n_real = min(start + chunk, n_runs) - start
        out = simulate_runs(model, {k: jnp.asarray(v[index], dtype) for k, v in params.items()},
                            jnp.asarray(y0[index], dtype), jnp.asarray(currents[index], dtype),
                            dt_save=dt_save, **simulate_kwargs)
        states[start:start + n_real] = np.asarray(out)[:n_real]
    ok = np.all(np.isfinite(states), axis=(1, 2))
    if not ok.all():
        warnings.warn(f"generate_dataset: {int((~ok).sum())} of {n_runs} runs failed (NaN/inf) "
                      f"and were dropped: run ids {np.flatnonzero(~ok)[:10].tolist()}",
                      RuntimeWarning, stacklevel=2)
    metadata = {
        "model": type(model).__name__, "param_ranges": {k: list(v) for k, v in
                                                        param_ranges.items()},
        "initial_ranges": {k: list(v) for k, v in initial_ranges.items()},
        "current": dataclasses.asdict(current), "seed": seed, "n_runs": n_runs,
        "t1": float(t1), "dt_save": float(dt_save),
        "simulate": {k: v for k, v in simulate_kwargs.items()
                     if isinstance(v, int | float | str | bool)},
        "dtype": str(np.dtype(dtype)),
    }
    metadata["dt"] = float(simulate_kwargs.get("dt", 0.025))
    metadata = json.loads(json.dumps(metadata))  # as it reads back from disk (lists)
    ts = np.arange(n_t) * dt_save
    return Dataset(ts=ts, states=states[ok], currents=currents[ok][..., None].astype(dtype),
                   params={k: v[ok] for k, v in params.items()},
                   run_ids=np.flatnonzero(ok), state_names=names, voltage_index=index_v,
                   metadata=metadata)


def split_by_run(dataset: Dataset, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                 *, seed: int = 0) -> dict[str, Dataset]:
    """Split into `{"train", "val", "test"}` by whole runs (a run is in exactly one part),
    shuffled with `seed`.

    **Raises:** `ValueError` unless the three fractions are >= 0, sum to 1, and every part
    gets at least one run.
    """
    if np.shape(fractions) != (3,):
        raise ValueError(f"fractions must be three numbers >= 0 summing to 1; got "
                         f"{fractions!r}")
    fractions = tuple(check_real("fractions", f, ge=0) for f in fractions)
    seed = check_int("seed", seed, 0)
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three numbers >= 0 summing to 1; got {fractions}")
    n = dataset.n_runs
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    bounds = (0, n_train, n_train + n_val, n)
    parts = {name: np.sort(order[bounds[i]:bounds[i + 1]]) for i, name in enumerate(SPLITS)}
    empty = [k for k, v in parts.items() if v.size == 0]
    if empty:
        raise ValueError(f"fractions {fractions} of {n} runs leave {empty} empty: use more "
                         "runs or larger fractions")
    return {name: dataset.subset(index) for name, index in parts.items()}


class Standardizer(eqx.Module):
    """Affine scaling of states, input currents and one-step state changes, fitted on the
    training split only and stored with the surrogate.

    Each field is a per-column array: `state_*` `(n_states,)`, `input_*` `(n_inputs,)`,
    `delta_*` `(n_states,)` (the change of the state over one step).
    """

    state_mean: Float[Array, " n_states"]
    state_std: Float[Array, " n_states"]
    input_mean: Float[Array, " n_inputs"]
    input_std: Float[Array, " n_inputs"]
    delta_mean: Float[Array, " n_states"]
    delta_std: Float[Array, " n_states"]

    @classmethod
    def fit(cls, train: Dataset, *, dtype=None) -> Standardizer:
        """Means and standard deviations over all runs and times of `train` (a std of 0 is
        replaced by 1)."""
        def stats(x):
            x = x.reshape(-1, x.shape[-1])
            std = x.std(0)
            return (jnp.asarray(x.mean(0), dtype), jnp.asarray(np.where(std > 0, std, 1.0),
                                                               dtype))
        delta = np.diff(train.states, axis=1)
        return cls(*stats(train.states), *stats(train.currents), *stats(delta))

    def to_dict(self) -> dict[str, list[float]]:
        """The means and standard deviations as JSON-able lists, field name -> values
        (inverse of `from_dict`; saved with checkpoints)."""
        return {f.name: np.asarray(getattr(self, f.name)).tolist()
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict, *, dtype=None) -> Standardizer:
        """A `Standardizer` from the dict written by `to_dict` (arrays cast to `dtype`,
        JAX's default float if `None`)."""
        return cls(**{k: jnp.asarray(v, dtype) for k, v in values.items()})
