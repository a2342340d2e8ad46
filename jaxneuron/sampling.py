"""Parameter sets for sweeps: grids, uniform / log-uniform random draws, Latin hypercube and
Sobol sequences (`scipy.stats.qmc`). Each returns `{name: values (n_sets,)}`, ready for
`jaxneuron.sweep(model, params=...)`."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

SAMPLERS = ("grid", "uniform", "latin_hypercube", "sobol")


def _check_bounds(bounds: dict, log: bool | tuple = False):
    if not bounds:
        raise ValueError("bounds: give at least one parameter as name=(low, high)")
    names = list(bounds)
    low = np.array([float(bounds[n][0]) for n in names])
    high = np.array([float(bounds[n][1]) for n in names])
    if not np.all(np.isfinite(low) & np.isfinite(high) & (low < high)):
        raise ValueError(f"bounds: each must be (low, high) with finite low < high; got {bounds}")
    logs = np.array([n in log for n in names]) if isinstance(log, tuple | list | set) \
        else np.full(len(names), bool(log))
    if np.any(logs & (low <= 0)):
        raise ValueError("bounds: log-scaled parameters need low > 0")
    return names, low, high, logs


def _scale(unit: np.ndarray, names, low, high, logs) -> dict[str, np.ndarray]:
    """Map points of the unit cube `(n, d)` into the bounds (log-uniformly where asked)."""
    lin = low + unit * (high - low)
    log_low, log_high = np.log(np.where(logs, low, 1.0)), np.log(np.where(logs, high, 1.0))
    geo = np.exp(log_low + unit * (log_high - log_low))
    values = np.where(logs, geo, lin)
    return {n: values[:, i] for i, n in enumerate(names)}


def grid(axes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every combination of the given values (Cartesian product; the last name varies
    fastest), `prod(len(v))` sets."""
    if not axes:
        raise ValueError("axes: give at least one parameter with its values")
    arrays = [np.asarray(v, dtype=float).ravel() for v in axes.values()]
    if any(a.size == 0 for a in arrays):
        raise ValueError("axes: every parameter needs at least one value")
    mesh = np.meshgrid(*arrays, indexing="ij")
    return {n: m.ravel() for n, m in zip(axes, mesh, strict=True)}


def uniform(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
            log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` independent uniform draws in `bounds` (`{name: (low, high)}`); `log` (True or a
    tuple of names) draws those log-uniformly."""
    names, low, high, logs = _check_bounds(bounds, log)
    _check_n(n)
    unit = np.random.default_rng(seed).random((n, len(names)))
    return _scale(unit, names, low, high, logs)


def latin_hypercube(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
                    log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` sets by Latin hypercube sampling (each parameter's range cut into `n` strata,
    one set per stratum), `scipy.stats.qmc.LatinHypercube`."""
    names, low, high, logs = _check_bounds(bounds, log)
    _check_n(n)
    unit = qmc.LatinHypercube(d=len(names), seed=seed).random(n)
    return _scale(unit, names, low, high, logs)


def sobol(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
          log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` sets from a scrambled Sobol sequence (`scipy.stats.qmc.Sobol`); `n` should be a
    power of two for its balance properties (other sizes are allowed and warned about by
    SciPy)."""
    names, low, high, logs = _check_bounds(bounds, log)
    _check_n(n)
    sampler = qmc.Sobol(d=len(names), scramble=True, seed=seed)
    unit = sampler.random_base2(int(math.log2(n))) if n & (n - 1) == 0 else sampler.random(n)
    return _scale(unit, names, low, high, logs)


def sample(method: str, bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
           log: bool | tuple = False) -> dict[str, np.ndarray]:
    """Dispatch by name to one of `SAMPLERS`; for `"grid"`, `n` is the number of values per
    parameter (evenly spaced, geometric where `log`)."""
    if method not in SAMPLERS:
        raise ValueError(f"method must be one of {SAMPLERS}; got {method!r}")
    if method == "grid":
        names, low, high, logs = _check_bounds(bounds, log)
        _check_n(n)
        unit = np.linspace(0.0, 1.0, n)[:, None].repeat(len(names), axis=1)
        return grid(_scale(unit, names, low, high, logs))
    return {"uniform": uniform, "latin_hypercube": latin_hypercube,
            "sobol": sobol}[method](bounds, n, seed=seed, log=log)


def _check_n(n) -> None:
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
