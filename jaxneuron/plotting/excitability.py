"""Figures of excitability: parameter-exploration grids (traces, f-I curves, rheobase,
spike shape) and biological f-I curves next to fitted artificial activations.

Every function takes arrays (NumPy); with `path=` it writes a PNG and returns the path,
without it returns the open figure (see `jaxneuron.plotting`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._figure import finish


def _colors(n):
    return plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(n, 1)))




def _stacked_traces(ax, t, traces, labels, colors, spacing):
    """Voltage traces `(n, n_t)` stacked `spacing` mV apart, labelled at their left end."""
    for k, (v, label) in enumerate(zip(traces, labels, strict=True)):
        ax.plot(t, np.asarray(v) + k * spacing, color=colors[k], lw=0.8)
        ax.text(t[0], k * spacing - 60.0 + 5.0, label, fontsize=7, color=colors[k],
                va="bottom")
    ax.set(xlabel="time from step onset (ms)", ylabel=f"V (mV), offset {spacing:.0f} mV each")
    ax.set_yticks([])


def parameter_grid(label: str, values, amplitudes, rate, rheobase_spike, rheobase_repetitive,
                   trace_t, traces, probe_amplitude: float, shape_t, shapes, *, path=None,
                   current_unit: str = "µA/cm²", title: str = ""):
    """2 x 2 grid for one swept parameter called `label` (with unit), `n` values:

    - traces `(n, n_t)` at `probe_amplitude` against `trace_t` (ms from step onset);
    - f-I curves: `rate` `(n, n_amplitudes)` (Hz) against `amplitudes`;
    - rheobase (single spike and repetitive firing, each `(n,)`) against `values`;
    - first spikes `shapes` `(n, n_s)` aligned at their detection time, against `shape_t`.
    """
    values = np.asarray(values)
    colors = _colors(values.size)
    names = [f"{v:g}" for v in values]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    _stacked_traces(axes[0, 0], trace_t, traces, names, colors, spacing=120.0)
    axes[0, 0].set_title(f"V at {probe_amplitude:g} {current_unit}")
    for k, name in enumerate(names):
        axes[0, 1].plot(amplitudes, rate[k], ".-", ms=3, lw=1, color=colors[k], label=name)
        axes[1, 1].plot(shape_t, shapes[k], color=colors[k], lw=1, label=name)
    axes[0, 1].set(xlabel=f"step amplitude ({current_unit})", ylabel="sustained rate (Hz)",
                   title="f-I curves")
    axes[0, 1].legend(title=label, fontsize=7, title_fontsize=7)
    axes[1, 0].plot(values, rheobase_spike, "o-", label="single spike")
    axes[1, 0].plot(values, rheobase_repetitive, "s-", label="repetitive firing")
    axes[1, 0].set(xlabel=label, ylabel=f"rheobase ({current_unit})", title="rheobase")
    axes[1, 0].legend(fontsize=8)
    axes[1, 1].set(xlabel="time from spike detection (ms)", ylabel="V (mV)",
                   title=f"first spike at {probe_amplitude:g} {current_unit}")
    axes[1, 1].legend(title=label, fontsize=7, title_fontsize=7)
    return finish(fig, path, title=title)


def amplitude_grid(shown_amplitudes, trace_t, traces, amplitudes, rate, mean_rate,
                   rheobase_spike: float, rheobase_repetitive: float, features: dict, *, path=None,
                   current_unit: str = "µA/cm²", title: str = ""):
    """2 x 2 grid for the stimulus amplitude of one model:

    - traces `(n, n_t)` at `shown_amplitudes` `(n,)` (ms from step onset);
    - the f-I curve (`rate`, sustained, and `mean_rate`, spikes / step duration, both
      `(n_amplitudes,)`), with the two rheobases marked;
    - two panels of first-spike features against `amplitudes`: `features` maps a label
      (with unit) to `(n_amplitudes,)` values; the first two go left, the rest right.
    """
    colors = _colors(len(shown_amplitudes))
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    _stacked_traces(axes[0, 0], trace_t, traces, [f"{a:g} {current_unit}" for a in
                                                  shown_amplitudes], colors, spacing=120.0)
    axes[0, 0].set_title("V per step amplitude")
    ax = axes[0, 1]
    ax.plot(amplitudes, rate, ".-", label="sustained (steady) rate")
    ax.plot(amplitudes, mean_rate, ".", color="0.5", ms=3, label="spikes / step duration")
    for x, style, name in ((rheobase_spike, ":", "single-spike rheobase"),
                           (rheobase_repetitive, "--", "repetitive-firing rheobase")):
        if np.isfinite(x):
            ax.axvline(x, color="k", ls=style, lw=1, label=f"{name} {x:.3g}")
    ax.set(xlabel=f"step amplitude ({current_unit})", ylabel="rate (Hz)", title="f-I curve")
    ax.legend(fontsize=7)
    items = list(features.items())
    for ax, group in ((axes[1, 0], items[:2]), (axes[1, 1], items[2:])):
        for k, (name, y) in enumerate(group):
            target = ax if k == 0 else ax.twinx()
            target.plot(amplitudes, y, ".-", color=f"C{k}", ms=3)
            target.set_ylabel(name, color=f"C{k}")
        ax.set(xlabel=f"step amplitude ({current_unit})", title="first spike")
    return finish(fig, path, title=title)


def fi_overview(panels: dict, *, path=None, current_unit: str = "µA/cm²", title: str = ""):
    """One f-I panel per swept parameter: `panels` maps a label (with unit) to
    `(values (n,), amplitudes (n_amplitudes,), rate (n, n_amplitudes))`."""
    n = len(panels)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (label, (values, amplitudes, rate)) in zip(axes.flat, panels.items(), strict=False):
        colors = _colors(len(values))
        for k, value in enumerate(values):
            ax.plot(amplitudes, rate[k], lw=1.2, color=colors[k], label=f"{value:g}")
        ax.set(xlabel=f"I ({current_unit})", ylabel="rate (Hz)")
        ax.legend(title=label, fontsize=7, title_fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return finish(fig, path, title=title)


def activation_comparison(curves: dict, errors: dict, *, path=None, title: str = ""):
    """Biological f-I curves with the activations fitted to them, a normalised overlay, and
    the fit errors.

    - `curves` maps a model label to a dict with `current` and `rate` `(n,)` (the f-I
      points), `unit` (current unit), `rheobase` (current where sustained firing starts)
      and `fits`: activation name -> `(current_fine, rate_fine, rmse_hz)`.
    - `errors` maps a model label to {activation name: RMSE (Hz)}.
    """
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    panels = [axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]]
    for ax, (label, c) in zip(panels, curves.items(), strict=False):
        ax.plot(c["current"], c["rate"], "o", color="k", ms=3, label=label)
        for k, (name, (x, y, rmse)) in enumerate(c["fits"].items()):
            ax.plot(x, y, color=f"C{k}", lw=1.2, label=f"{name} (RMSE {rmse:.1f} Hz)")
        ax.set(xlabel=f"step amplitude ({c['unit']})", ylabel="rate (Hz)", title=label)
        ax.legend(fontsize=7)
    ax = axes[0, 2]
    models = list(errors)
    names = list(next(iter(errors.values())))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        ax.bar(np.arange(len(models)) + (k - (len(names) - 1) / 2) * width,
               [errors[m][name] for m in models], width, color=f"C{k}", label=name)
    ax.set_xticks(np.arange(len(models)), [m.split(" (")[0] for m in models], fontsize=8)
    ax.set(ylabel="fit RMSE (Hz)", title="fit error per model and activation")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    for k, (label, c) in enumerate(curves.items()):
        rate = np.asarray(c["rate"])
        if rate.max() > 0 and np.isfinite(c["rheobase"]) and c["rheobase"] > 0:
            ax.plot(np.asarray(c["current"]) / c["rheobase"], rate / rate.max(), ".-",
                    ms=3, lw=1, color=f"C{k}", label=label.split(" (")[0])
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.set(xlabel="I / rheobase", ylabel="rate / max rate",
           title="f-I curves on a common scale")
    ax.legend(fontsize=7)
    return finish(fig, path, title=title)


__all__ = ["activation_comparison", "amplitude_grid", "fi_overview", "parameter_grid"]
