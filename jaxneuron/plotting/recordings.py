"""The figure of a recording fit (`jaxneuron.fit_recording`): data vs fit for every sweep,
the loss curves of every start, and a table of feature z-scores.

With `path=` it writes a PNG and returns the path, without it returns the open figure (see
`jaxneuron.plotting`).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ._figure import finish

_ROLE_COLORS = {"train": "tab:blue", "holdout": "tab:orange"}
_ROLE_LABELS = {"train": "train", "holdout": "held out"}


def recording_fit_figure(result, *, path=None):
    """One figure of a `RecordingFit` (readable for 1 to about 12 sweeps).

    - (a) one small axis per reported sweep (training and held-out, file order): the
      recorded voltage (black) and the fitted model's (blue: training, orange: held out),
      mV against ms, titled with the sweep's index, role and voltage RMSE (mV);
    - (b) the loss of every start against its optimiser step (log scale where the losses
      are positive), the best start highlighted;
    - (c) a heatmap of the feature z-scores, one row per sweep and one column per feature,
      each cell annotated with the recorded and the fitted value (blank where the recording
      leaves the feature undefined, "n/a" where the model does), with a colour bar.

    **Arguments:**
    - `result`: a `jaxneuron.RecordingFit`.
    - `path`: where to write the PNG (120 dpi); None returns the open figure.

    **Returns:** the `matplotlib.figure.Figure` (axes: one per sweep, the loss axis, the
    feature axis and, when a z-score is defined, its colour bar), or `path`.
    """
    reports = list(result.sweeps)
    n = len(reports)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    names = list(dict.fromkeys(f for r in reports for f in r["features"]))
    table_height = max(3.0, 0.4 * n + 1.2)
    fig = plt.figure(figsize=(12.0, 2.1 * rows + table_height + 0.6), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[2.1 * rows, table_height])
    axes = upper.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for k, report in enumerate(reports):
        _sweep_axis(axes[k], result, report, bottom_row=k + cols >= n, left=k % cols == 0)
    for ax in axes[n:]:
        ax.remove()
    loss_ax, feature_ax = lower.subplots(1, 2, width_ratios=[1.0, 2.0])
    _loss_axis(loss_ax, result.restarts)
    _feature_axis(lower, feature_ax, reports, names)
    title = (f"{type(result.model).__name__} fitted to {n} sweep{'s' * (n != 1)} "
             f"({result.loss} loss, {len(result.restarts.loss)} starts)")
    return finish(fig, path, title=title)


def _sweep_axis(ax, result, report, *, bottom_row: bool, left: bool) -> None:
    i, role = report["index"], report["role"]
    ax.plot(result.time, result.data_v[i], color="k", lw=0.9, label="data")
    ax.plot(result.time, result.model_v[i], color=_ROLE_COLORS[role], lw=0.9, label="fit")
    ax.set_title(f"sweep {i} ({_ROLE_LABELS[role]}), RMSE {report['voltage_rmse']:.2g} mV",
                 fontsize=8, color=_ROLE_COLORS[role])
    ax.tick_params(labelsize=7)
    if bottom_row:  # also above an empty slot of the last row
        ax.tick_params(labelbottom=True)
        ax.set_xlabel("time (ms)", fontsize=8)
    if left:
        ax.set_ylabel("V (mV)", fontsize=8)
    if i == result.sweeps[0]["index"]:
        ax.legend(fontsize=7, loc="best", frameon=False)


def _loss_axis(ax, restarts) -> None:
    history = np.asarray(restarts.loss_history, dtype=float)
    steps = np.arange(history.shape[1])
    for k in range(history.shape[0] - 1, -1, -1):  # the best (row 0) drawn last, on top
        best = k == 0
        ax.plot(steps, history[k], color="tab:red" if best else "0.6", lw=2.0 if best else 0.8,
                alpha=1.0 if best else 0.7, zorder=3 if best else 2,
                label=f"best start (loss {restarts.loss[0]:.3g})" if best else None)
    finite = history[np.isfinite(history)]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title=f"loss of {history.shape[0]} starts")
    ax.legend(fontsize=8, frameon=False)


def _feature_axis(fig, ax, reports, names) -> None:
    ax.set_title("features: recorded / fitted, colour = |z-score| (grey: none)")
    if not names:
        ax.axis("off")
        ax.text(0.5, 0.5, "no feature defined on these sweeps", ha="center", va="center",
                transform=ax.transAxes)
        return
    z = np.full((len(reports), len(names)), np.nan)
    for r, report in enumerate(reports):
        for c, name in enumerate(names):
            entry = report["features"].get(name)
            if entry is not None and entry["zscore"] is not None:
                z[r, c] = entry["zscore"]
    top = max(3.0, min(10.0, float(np.nanmax(z)))) if np.isfinite(z).any() else 3.0
    cmap = plt.get_cmap("Reds").with_extremes(bad="0.88")  # grey: no z-score
    image = ax.imshow(np.ma.masked_invalid(z), cmap=cmap, vmin=0.0, vmax=top,
                      aspect="auto")
    small = 6 if len(names) * len(reports) > 40 else 7
    for r, report in enumerate(reports):
        for c, name in enumerate(names):
            entry = report["features"].get(name)
            if entry is None:
                continue
            fitted = "n/a" if entry["model"] is None else f"{entry['model']:.3g}"
            dark = np.isfinite(z[r, c]) and z[r, c] > 0.6 * top
            ax.text(c, r, f"{entry['data']:.3g}\n{fitted}", ha="center", va="center",
                    fontsize=small, color="w" if dark else "k")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(reports)),
                  [f"{r['index']} ({_ROLE_LABELS[r['role']]})" for r in reports], fontsize=7)
    ax.set_ylabel("sweep")
    if np.isfinite(z).any():
        fig.colorbar(image, ax=ax, label="|z|", fraction=0.04, pad=0.02)
