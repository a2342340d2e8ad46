"""Matplotlib figures from traces and results (kept out of the simulation core)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._checks import check_real
from ._figure import finish


def rate_heatmap(x, y, rate, *, xlabel, ylabel, title, path=None):
    """Heatmap of a firing rate (Hz) over a 2-D parameter grid.

    `rate` has shape `(len(y), len(x))`.
    """
    fig, ax = plt.subplots(figsize=(6, 4.8))
    mesh = ax.pcolormesh(x, y, rate, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="firing rate (Hz)")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return finish(fig, path)


def fit_overview(ts, target, before, after, loss_history, *, title, path=None):
    """Target vs model voltage before and after a fit, and the loss curve."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    ax1.plot(ts, target, color="0.6", lw=2.5, label="target (noisy)")
    ax1.plot(ts, before, color="tab:red", lw=1, label="start")
    ax1.plot(ts, after, color="tab:blue", lw=1, ls="--", label="fitted")
    ax1.set(xlabel="time (ms)", ylabel="V (mV)", title=title)
    ax1.legend(loc="upper right")
    ax2.semilogy(np.arange(len(loss_history)), loss_history, color="k")
    ax2.set(xlabel="iteration", ylabel="loss (mV²)", title="loss")
    return finish(fig, path)


def voltage_panels(traces: dict, *, path=None, title=""):
    """One voltage panel per named `Trace` (`{label: trace}`), stacked, shared time axis."""
    fig, axes = plt.subplots(len(traces), 1, figsize=(7, 1.4 * len(traces) + 0.6), sharex=True)
    for ax, (label, trace) in zip(np.atleast_1d(axes), traces.items(), strict=True):
        ax.plot(np.asarray(trace.ts), np.asarray(trace.v), lw=0.8)
        ax.set_ylabel(label)
    np.atleast_1d(axes)[-1].set_xlabel("time (ms)")
    fig.suptitle(title)
    return finish(fig, path)


def spike_time_errors(dts, errors: dict, *, path=None, title=""):
    """Log-log plot of spike-time error (ms) against time step (ms), one line per label."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, err in errors.items():
        ax.loglog(dts, err, "o-", label=label)
    ax.set(xlabel="dt (ms)", ylabel="max spike-time error (ms)", title=title)
    ax.legend()
    return finish(fig, path)


def spike_fit_overview(rows: dict, loss_history, *, path=None, title=""):
    """Spike rasters (`{label: spike_times}`, one row each, NaN-padded) above the loss curve."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    for row, times in enumerate(rows.values()):
        times = np.asarray(times)
        ax1.vlines(times[~np.isnan(times)], row - 0.4, row + 0.4, color=f"C{row}", lw=1.5)
    ax1.set_yticks(range(len(rows)), list(rows))
    ax1.set(xlabel="time (ms)", title=title)
    ax2.semilogy(np.arange(len(loss_history)), loss_history, color="k")
    ax2.set(xlabel="iteration", ylabel="loss (ms²)", title="spike-time loss")
    return finish(fig, path)


def regimes_raster(panels: dict, *, path=None, dt: float, rate_bin_ms: float = 5.0, title=""):
    """Raster (top) and population rate (bottom) side by side for each regime.

    `panels` maps a label to `(times_ms, neuron_indices, counts_per_step, n_neurons)`."""
    dt = check_real("dt (ms)", dt, gt=0)
    rate_bin_ms = check_real("rate_bin_ms", rate_bin_ms, gt=0)
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 5.2), sharex="col",
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for col, (label, (times, idx, counts, n)) in enumerate(panels.items()):
        axes[0, col].plot(times, idx, ",k", ms=1)
        axes[0, col].set(title=label, ylabel="neuron" if col == 0 else None)
        steps = max(1, int(round(rate_bin_ms / dt)))
        counts = np.asarray(counts)
        n_bins = counts.size // steps
        binned = counts[: n_bins * steps].reshape(n_bins, steps).sum(1)
        t = (np.arange(n_bins) + 0.5) * steps * dt
        axes[1, col].plot(t, 1000.0 * binned / (n * steps * dt), color="tab:red", lw=0.8)
        axes[1, col].set(xlabel="time (ms)", ylabel="rate (Hz)" if col == 0 else None)
    fig.suptitle(title)
    return finish(fig, path)


def avalanche_distributions(data: dict, *, path=None, title=""):
    """Log-log avalanche size and duration distributions with power-law fits.

    `data` maps a label to `(sizes, durations, size_exponent, size_xmin, duration_exponent,
    duration_xmin)`; NaN exponents are not drawn."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, (label, (sizes, durations, *fits)) in enumerate(data.items()):
        for ax, x, exponent, xmin in ((axes[0], sizes, fits[0], fits[1]),
                                      (axes[1], durations, fits[2], fits[3])):
            x = np.asarray(x)
            if x.size == 0:
                continue
            values, freq = np.unique(x, return_counts=True)
            ax.loglog(values, freq / x.size, "o", ms=3, color=f"C{k}", alpha=0.6,
                      label=label)
            if np.isfinite(exponent):
                grid = np.geomspace(max(xmin, 1), values.max(), 20)
                tail = np.mean(x >= xmin)
                # density normalised to the fitted tail (discrete approximation)
                norm = tail * (-exponent - 1) * xmin ** (-exponent - 1)
                ax.loglog(grid, norm * grid**exponent, "-", color=f"C{k}",
                          label=f"fit {exponent:.2f}")
    axes[0].set(xlabel="avalanche size (spikes)", ylabel="P(size)")
    axes[1].set(xlabel="avalanche duration (bins)", ylabel="P(duration)")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return finish(fig, path)
