"""Matplotlib figures from traces and results (kept out of the simulation core)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def rate_heatmap(x, y, rate, *, xlabel, ylabel, title, path):
    """Heatmap of a firing rate (Hz) over a 2-D parameter grid.

    `rate` has shape `(len(y), len(x))`.
    """
    fig, ax = plt.subplots(figsize=(6, 4.8))
    mesh = ax.pcolormesh(x, y, rate, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="firing rate (Hz)")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fit_overview(ts, target, before, after, loss_history, *, title, path):
    """Target vs model voltage before and after a fit, and the loss curve."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    ax1.plot(ts, target, color="0.6", lw=2.5, label="target (noisy)")
    ax1.plot(ts, before, color="tab:red", lw=1, label="start")
    ax1.plot(ts, after, color="tab:blue", lw=1, ls="--", label="fitted")
    ax1.set(xlabel="time (ms)", ylabel="V (mV)", title=title)
    ax1.legend(loc="upper right")
    ax2.semilogy(np.arange(len(loss_history)), loss_history, color="k")
    ax2.set(xlabel="iteration", ylabel="loss (mV²)", title="loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def voltage_panels(traces: dict, *, path, title=""):
    """One voltage panel per named `Trace` (`{label: trace}`), stacked, shared time axis."""
    fig, axes = plt.subplots(len(traces), 1, figsize=(7, 1.4 * len(traces) + 0.6), sharex=True)
    for ax, (label, trace) in zip(np.atleast_1d(axes), traces.items(), strict=True):
        ax.plot(np.asarray(trace.ts), np.asarray(trace.v), lw=0.8)
        ax.set_ylabel(label)
    np.atleast_1d(axes)[-1].set_xlabel("time (ms)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def spike_time_errors(dts, errors: dict, *, path, title=""):
    """Log-log plot of spike-time error (ms) against time step (ms), one line per label."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, err in errors.items():
        ax.loglog(dts, err, "o-", label=label)
    ax.set(xlabel="dt (ms)", ylabel="max spike-time error (ms)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def spike_fit_overview(rows: dict, loss_history, *, path, title=""):
    """Spike rasters (`{label: spike_times}`, one row each, NaN-padded) above the loss curve."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    for row, times in enumerate(rows.values()):
        times = np.asarray(times)
        ax1.vlines(times[~np.isnan(times)], row - 0.4, row + 0.4, color=f"C{row}", lw=1.5)
    ax1.set_yticks(range(len(rows)), list(rows))
    ax1.set(xlabel="time (ms)", title=title)
    ax2.semilogy(np.arange(len(loss_history)), loss_history, color="k")
    ax2.set(xlabel="iteration", ylabel="loss (ms²)", title="spike-time loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
