"""Figures for Bayesian inference: pair plots, posterior-predictive traces, calibration.

Every function takes arrays (NumPy); with `path=` it writes a PNG and returns the path,
without it returns the open figure (see `jaxneuron.plotting`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._figure import finish

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")


def pair_plot(samples: dict, names, *, truth=None, path=None, title: str = "posterior",
              bins: int = 40):
    """Corner plot of one or more sets of posterior draws.

    **Arguments:**
    - `samples`: label -> draws `(n, dim)` (e.g. {"NUTS": ..., "NPE": ...}), overlaid.
    - `names`: the `dim` axis labels.
    - `truth`: the true values `(dim,)`, drawn as black lines and a star, or None.
    """
    names = list(names)
    dim = len(names)
    sets = {k: np.asarray(v, dtype=float).reshape(-1, dim) for k, v in samples.items()}
    pooled = np.concatenate(list(sets.values()))
    low, high = np.quantile(pooled, 0.001, axis=0), np.quantile(pooled, 0.999, axis=0)
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        low, high = np.minimum(low, truth), np.maximum(high, truth)
    pad = 0.05 * (high - low + 1e-12)
    low, high = low - pad, high + pad
    fig, axes = plt.subplots(dim, dim, figsize=(2.6 * dim + 0.6, 2.6 * dim + 0.3),
                             squeeze=False)
    for i in range(dim):
        for j in range(dim):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            for (label, draws), color in zip(sets.items(), _COLORS, strict=False):
                if i == j:
                    ax.hist(draws[:, i], bins=np.linspace(low[i], high[i], bins),
                            density=True, histtype="step", color=color, lw=1.5, label=label)
                else:
                    ax.scatter(draws[:, j], draws[:, i], s=2, alpha=0.25, color=color,
                               rasterized=True)
            if truth is not None:
                ax.axvline(truth[j], color="k", lw=1)
                if i != j:
                    ax.axhline(truth[i], color="k", lw=1)
                    ax.plot(truth[j], truth[i], "k*", ms=10)
            ax.set_xlim(low[j], high[j])
            if i != j:
                ax.set_ylim(low[i], high[i])
            if i == dim - 1:
                ax.set_xlabel(names[j])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i])
            if i == j:
                ax.set_yticks([])
    axes[0, 0].legend(loc="upper left", fontsize=8, frameon=False,
                      bbox_to_anchor=(1.05, 1.0) if dim > 1 else None)
    fig.suptitle(title)
    return finish(fig, path)


def posterior_predictive(ts, observed, predicted: dict, *, clean=None, path=None,
                         title: str = "posterior predictive", ylabel: str = "V (mV)"):
    """Observed data against simulations at posterior draws.

    **Arguments:**
    - `ts`: save times (ms) `(n,)`; `observed`: the noisy observation `(n,)`.
    - `predicted`: label -> noise-free simulations at posterior draws `(k, n)`: median
      and central 90 % band per label.
    - `clean`: the noise-free simulation at the true parameters `(n,)`, or None.
    """
    ts = np.asarray(ts)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(ts, observed, ".", color="0.45", ms=4, label="observation")
    if clean is not None:
        ax.plot(ts, clean, color="k", lw=1, ls="--", label="truth (noise-free)")
    for (label, sims), color in zip(predicted.items(), _COLORS, strict=False):
        sims = np.asarray(sims)
        lo, mid, hi = np.quantile(sims, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(ts, lo, hi, color=color, alpha=0.25, lw=0)
        ax.plot(ts, mid, color=color, lw=1.3, label=f"{label} median, 90 % band")
    ax.set(xlabel="time (ms)", ylabel=ylabel, title=title)
    ax.legend(loc="upper right", fontsize=8)
    return finish(fig, path)


def calibration(curves: dict, names, *, ranks: dict | None = None, n_draws: int | None = None,
                path=None, title: str = "calibration"):
    """Coverage of central credible intervals against their level, and SBC rank histograms.

    **Arguments:**
    - `curves`: label -> `(levels (k,), covered (k, dim), n_obs)` from
      `inference.calibration.coverage_curve`; a calibrated posterior lies on the diagonal,
      inside the shaded binomial 95 % band.
    - `names`: parameter names `(dim,)`.
    - `ranks`: label -> SBC ranks `(n_obs, dim)` in `0..n_draws` (uniform when
      calibrated), or None.
    """
    names = list(names)
    n_cols = 1 + (len(names) if ranks else 0)
    fig, axes = plt.subplots(1, n_cols, figsize=(4.2 * n_cols, 3.8), squeeze=False)
    ax = axes[0, 0]
    grid = np.linspace(0, 1, 101)
    n_min = min(c[2] for c in curves.values())
    band = 1.96 * np.sqrt(grid * (1 - grid) / n_min)
    ax.fill_between(grid, grid - band, grid + band, color="0.85", lw=0,
                    label=f"95 % band, n = {n_min}")
    ax.plot(grid, grid, color="k", lw=0.8)
    styles = ("-", "--", ":", "-.")
    for (label, (levels, covered, _)), color in zip(curves.items(), _COLORS, strict=False):
        covered = np.asarray(covered)
        for d, name in enumerate(names):
            ax.plot(levels, covered[:, d], styles[d % len(styles)], color=color, marker=".",
                    label=f"{label}: {name}")
    ax.set(xlabel="credible level", ylabel="empirical coverage", xlim=(0, 1), ylim=(0, 1),
           title="coverage of central intervals")
    ax.legend(fontsize=7, loc="upper left")
    if ranks:
        for d, name in enumerate(names):
            ax = axes[0, 1 + d]
            for (label, r), color in zip(ranks.items(), _COLORS, strict=False):
                r = np.asarray(r)
                edges = np.linspace(0, n_draws + 1, 11)
                ax.hist(r[:, d], bins=edges, histtype="step", color=color, lw=1.5,
                        label=f"{label} (n = {r.shape[0]})")
                ax.axhline(r.shape[0] / 10, color=color, lw=0.8, ls=":")
            ax.set(xlabel=f"rank of true {name} among {n_draws} draws", ylabel="count",
                   title=f"SBC ranks: {name}")
            ax.legend(fontsize=7)
    fig.suptitle(title)
    return finish(fig, path)
