"""Checks of posterior quality: credible-interval coverage, simulation-based calibration
ranks, and the classifier two-sample test (C2ST).

All functions work on NumPy arrays of draws, on the host (they are not jit-able).
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int, check_real
from ..observed import check_observed


def _draws_and_truths(samples, truths) -> tuple[np.ndarray, np.ndarray]:
    """Finite draws `(n_obs, n_draws, dim)` and truths `(n_obs, dim)` (NaN draws would
    count as misses and bias the coverage)."""
    samples = check_observed("samples", samples, shape=("n_obs", "n_draws", "dim"))
    truths = check_observed("truths", truths, shape=(samples.shape[0], samples.shape[2]))
    return samples, truths


def central_interval_hits(samples, truths, level: float = 0.9) -> np.ndarray:
    """Whether each true value lies inside the central `level` credible interval of its
    posterior draws (the `(1 - level)/2` and `(1 + level)/2` quantiles).

    **Arguments:** `samples` `(n_obs, n_draws, dim)` posterior draws, one set per
    observation; `truths` `(n_obs, dim)` the parameters that generated each observation.

    **Returns:** booleans `(n_obs, dim)`.

    **Raises:** `ValueError` for mismatched shapes or `level` outside (0, 1).
    """
    samples, truths = _draws_and_truths(samples, truths)
    level = check_real("level", level, gt=0, lt=1)
    low = np.quantile(samples, (1 - level) / 2, axis=1)
    high = np.quantile(samples, (1 + level) / 2, axis=1)
    return (truths >= low) & (truths <= high)


def coverage(samples, truths, level: float = 0.9) -> np.ndarray:
    """Fraction of observations whose truth lies in the central `level` interval, per
    parameter, `(dim,)`. A calibrated posterior gives `level` up to binomial error
    $\\sqrt{level (1 - level) / n_{obs}}$ (see `coverage_interval`)."""
    return central_interval_hits(samples, truths, level).mean(axis=0)


def coverage_curve(samples, truths, levels=None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical coverage of central intervals at each credibility level.

    **Returns:** `(levels, covered)`, shapes `(k,)` and `(k, dim)`; `levels` defaults to
    0.05, 0.10, ..., 0.95."""
    levels = np.arange(0.05, 0.951, 0.05) if levels is None else np.asarray(levels, float)
    return levels, np.stack([coverage(samples, truths, lv) for lv in levels])


def coverage_interval(level: float, n_obs: int, z: float = 1.96) -> tuple[float, float]:
    """Range `level ± z * sqrt(level (1 - level) / n_obs)`, clipped to [0, 1], that the
    empirical coverage of a calibrated posterior falls in with about 95 % probability
    (z = 1.96; normal approximation to the binomial)."""
    level = check_real("level", level, gt=0, lt=1)
    n_obs = check_int("n_obs", n_obs, 1)
    z = check_real("z", z, gt=0)
    half = z * np.sqrt(level * (1 - level) / n_obs)
    return float(max(level - half, 0.0)), float(min(level + half, 1.0))


def sbc_ranks(samples, truths) -> np.ndarray:
    """Simulation-based calibration ranks (Talts et al. 2018): for each observation and
    parameter, the number of posterior draws below the truth, `(n_obs, dim)` in
    `0..n_draws`. Uniform when the posterior is calibrated."""
    samples, truths = _draws_and_truths(samples, truths)
    return np.sum(samples < truths[:, None, :], axis=1)


def c2st(a, b, *, folds: int = 5, seed: int = 0, max_iter: int = 1000) -> float:
    """Classifier two-sample test: k-fold cross-validated accuracy of an MLP that tells
    draws `a` from draws `b` (each `(n, dim)`, or `(n,)` for one dimension).

    0.5 means indistinguishable, 1.0 perfectly separable. Follows the sbi benchmark
    (Lueckmann et al. 2021): features standardised, an MLP with two hidden layers of
    10 * dim units, equal class sizes (the larger set is subsampled), stratified folds.

    **Raises:** `ValueError` for mismatched dimensions, non-finite draws, fewer than
    `folds` draws per set, or `folds < 2`.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be (n, dim) with the same dim; got {a.shape}, "
                         f"{b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite")
    folds = check_int("folds", folds, 2)
    seed = check_int("seed", seed, 0)
    max_iter = check_int("max_iter", max_iter, 1)
    rng = np.random.default_rng(seed)
    n = min(a.shape[0], b.shape[0])
    if n < folds:
        raise ValueError(f"need at least folds = {folds} draws in each set; got {n}")
    a = a[rng.permutation(a.shape[0])[:n]]
    b = b[rng.permutation(b.shape[0])[:n]]
    data = np.concatenate([a, b])
    labels = np.concatenate([np.zeros(n), np.ones(n)])
    width = 10 * data.shape[1]
    classifier = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(width, width), activation="relu",
                      max_iter=max_iter, solver="adam", early_stopping=True,
                      n_iter_no_change=50, random_state=seed))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(classifier, data, labels, cv=splits,
                                         scoring="accuracy")))
