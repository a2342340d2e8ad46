"""Parameter sets for sweeps: grids, uniform / log-uniform random draws, Latin hypercube and
Sobol sequences (`scipy.stats.qmc`). Each returns `{name: values (n_sets,)}`, ready for
`jaxneuron.sweep(model, params=...)`."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

from ._checks import _is_text, check_int
from .observed import check_observed

SAMPLERS = ("grid", "uniform", "latin_hypercube", "sobol")


def _check_bounds(bounds: dict, log: bool | str | tuple = False):
    """Names, low and high arrays and the log-scaled mask of `bounds`.

    `log`: True/False for every parameter, or a collection of names (a lone string is one
    name) that must all be in `bounds`."""
    if not isinstance(bounds, dict) or not bounds:
        raise ValueError("bounds: give at least one parameter as {name: (low, high)}")
    names = list(bounds)
    for name in names:
        pair = bounds[name]
        if not _is_interval(pair):
            raise ValueError(f"bounds: each must be (low, high) with finite low < high; got "
                             f"{name!r}: {pair!r}")
    low = np.array([float(bounds[n][0]) for n in names])
    high = np.array([float(bounds[n][1]) for n in names])
    if isinstance(log, bool | np.bool_):
        logs = np.full(len(names), bool(log))
    else:
        log_names = [log] if isinstance(log, str) else log
        if not isinstance(log_names, list | tuple | set | frozenset) or not all(
                isinstance(n, str) for n in log_names):
            raise ValueError(f"log must be True, False or a collection of parameter names; "
                             f"got {log!r}")
        unknown = sorted(set(log_names) - set(names))
        if unknown:
            raise ValueError(f"log: {unknown} not sampled; the sampled parameters are "
                             f"{names}")
        logs = np.array([n in log_names for n in names])
    bad = [n for n, lg, lo in zip(names, logs, low, strict=True) if lg and lo <= 0]
    if bad:
        raise ValueError(f"bounds: log-scaled parameters need low > 0; got {bad}")
    return names, low, high, logs


def _is_interval(pair) -> bool:
    """True for a pair of finite real numbers `(low, high)` with low < high."""
    if _is_text(pair) or np.shape(pair) != (2,) or any(
            _is_text(v) or isinstance(v, bool) for v in pair):
        return False
    try:
        low, high = (float(v) for v in pair)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(low) and np.isfinite(high) and low < high)


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
    if not isinstance(axes, dict) or not axes:
        raise ValueError("axes: give at least one parameter with its values")
    arrays = [check_observed(f"axes[{n!r}]", v, min_length=1).ravel()
              for n, v in axes.items()]
    mesh = np.meshgrid(*arrays, indexing="ij")
    return {n: m.ravel() for n, m in zip(axes, mesh, strict=True)}


def uniform(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
            log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` independent uniform draws in `bounds` (`{name: (low, high)}`, finite, low <
    high); `log` (True, or a collection of names in `bounds`; a lone string is one name)
    draws those log-uniformly. `n`: an int >= 1, `seed`: an int >= 0 (NumPy ints too).

    **Raises:** `ValueError` naming `bounds`, `n`, `seed` or `log`."""
    names, low, high, logs = _check_bounds(bounds, log)
    n, seed = _check_n(n), _check_seed(seed)
    unit = np.random.default_rng(seed).random((n, len(names)))
    return _scale(unit, names, low, high, logs)


def latin_hypercube(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
                    log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` sets by Latin hypercube sampling (each parameter's range cut into `n` strata,
    one set per stratum), `scipy.stats.qmc.LatinHypercube`."""
    names, low, high, logs = _check_bounds(bounds, log)
    n, seed = _check_n(n), _check_seed(seed)
    unit = qmc.LatinHypercube(d=len(names), seed=seed).random(n)
    return _scale(unit, names, low, high, logs)


def sobol(bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
          log: bool | tuple = False) -> dict[str, np.ndarray]:
    """`n` sets from a scrambled Sobol sequence (`scipy.stats.qmc.Sobol`).

    The sequence is drawn with `2**ceil(log2(n))` points and its first `n` are returned, so
    any `n` works without SciPy's warning; Sobol's balance properties hold exactly only when
    `n` is a power of two.
    """
    names, low, high, logs = _check_bounds(bounds, log)
    n, seed = _check_n(n), _check_seed(seed)
    sampler = qmc.Sobol(d=len(names), scramble=True, seed=seed)
    unit = sampler.random_base2(max(0, math.ceil(math.log2(n))))[:n]
    return _scale(unit, names, low, high, logs)


def sample(method: str, bounds: dict[str, tuple[float, float]], n: int, *, seed: int = 0,
           log: bool | tuple = False) -> dict[str, np.ndarray]:
    """Dispatch by name to one of `SAMPLERS`; for `"grid"`, `n` is the number of values per
    parameter (evenly spaced, geometric where `log`)."""
    if method not in SAMPLERS:
        raise ValueError(f"method must be one of {SAMPLERS}; got {method!r}")
    if method == "grid":
        names, low, high, logs = _check_bounds(bounds, log)
        n = _check_n(n)
        unit = np.linspace(0.0, 1.0, n)[:, None].repeat(len(names), axis=1)
        return grid(_scale(unit, names, low, high, logs))
    return {"uniform": uniform, "latin_hypercube": latin_hypercube,
            "sobol": sobol}[method](bounds, n, seed=seed, log=log)


def _check_n(n) -> int:
    if isinstance(n, bool | np.bool_) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
    return int(n)


def _check_seed(seed) -> int:
    return check_int("seed", seed, 0)
