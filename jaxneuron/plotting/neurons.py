"""Figures for single neurons (the states of any model over time), for STDP, and for
networks of typed populations."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._checks import check_real
from ._figure import finish


def neuron_state_panels(traces: dict, *, path=None, title="", states=None, extra_lines=None,
                        units=None, models=None):
    """Plot the saved states of any model's `Trace`s, one column per trace.

    The top row shows the membrane potential `trace.v` (mV) with a tick per spike, plus
    every other selected state whose name starts with "V" (another compartment's
    potential, mV) and any `extra_lines`; each remaining selected state gets its own row
    below, labelled with its state name (left empty in the columns of traces whose model
    lacks that state). Works for every model: nothing here knows a model's states beyond
    the names in `trace.state_names`.

    **Arguments:**
    - `traces`: `{label: Trace}`, the column titles and their traces (e.g. from
      `jaxneuron.simulate`); the traces may come from different models.
    - `path`: where to write the PNG.
    - `title`: the figure title.
    - `states`: names of the states to show (default all of each trace's states).
    - `extra_lines`: `{label: {line_name: values (n_save,) in mV}}`, curves drawn dashed on
      the top panel of that label's column, e.g. a moving spike threshold.
    - `units`: `{state_name: unit}` appended to the row labels, e.g. `{"w": "pA"}`; the
      top row's label is the unit of the potential (mV unless `units` or a model says
      otherwise; "1" is shown as "dimensionless").
    - `models`: `{label: model}`, whose `state_units` (imported models state them) supply
      the units of the states `units` does not name.

    **Returns:** `path`.
    """
    extra_lines = extra_lines or {}
    units = {**{name: unit for model in (models or {}).values()
                for name, unit in getattr(model, "state_units", {}).items()}, **(units or {})}
    chosen = {label: [n for n in trace.state_names if states is None or n in states]
              for label, trace in traces.items()}
    potential = {label: [n for i, n in enumerate(trace.state_names)
                         if np.allclose(np.asarray(trace.states)[:, i], np.asarray(trace.v),
                                        equal_nan=True)]
                 for label, trace in traces.items()}
    rows = []
    for label, names in chosen.items():
        rows += [n for n in names
                 if not n.startswith("V") and n not in potential[label] and n not in rows]
    fig, axes = plt.subplots(1 + len(rows), len(traces),
                             figsize=(3.2 * len(traces), 3.0 + 1.6 * len(rows)), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [2] + [1] * len(rows)})
    for col, (label, trace) in enumerate(traces.items()):
        ts, ys = np.asarray(trace.ts), np.asarray(trace.states)
        v = np.asarray(trace.v)
        names, same_as_v = list(trace.state_names), potential[label]
        top = axes[0, col]
        top.plot(ts, v, lw=0.7, color="k", label=same_as_v[0] if same_as_v else "voltage")
        for k, name in enumerate(n for n in chosen[label]
                                 if n.startswith("V") and n not in same_as_v):
            top.plot(ts, ys[:, names.index(name)], lw=0.7, color=f"C{k + 2}", label=name)
        for k, (name, values) in enumerate(extra_lines.get(label, {}).items()):
            top.plot(ts, np.asarray(values), lw=0.8, ls="--", color=f"C{(k + 3) % 10}",
                     label=name)
        spikes = np.asarray(trace.spike_times)
        spikes = spikes[np.isfinite(spikes)]
        if spikes.size:
            top.plot(spikes, np.full(spikes.shape, top.get_ylim()[1]), "|", color="tab:blue",
                     ms=8, label="spikes")
        v_unit = _unit_label(units.get(same_as_v[0] if same_as_v else "", "mV"))
        top.set(title=label, ylabel=v_unit if col == 0 else None)
        top.legend(loc="lower right", fontsize=7)
        lowest = top
        for row, name in enumerate(rows, start=1):
            ax = axes[row, col]
            if name not in chosen[label]:  # a state this trace's model does not have
                ax.set_visible(False)
                continue
            ax.plot(ts, ys[:, names.index(name)], color="tab:purple", lw=0.8)
            ax.set_ylabel(f"{name} ({_unit_label(units[name])})" if name in units else name)
            lowest = ax
        lowest.set_xlabel("time (ms)")
        lowest.tick_params(labelbottom=True)
    fig.suptitle(title)
    return finish(fig, path)


def _unit_label(unit: str) -> str:
    return "dimensionless" if unit in ("1", "") else unit


def curves(x, ys: dict, *, xlabel, ylabel, path=None, title="", marker="o-"):
    """Line plot of several named curves `{label: y}` over one `x`."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, y in ys.items():
        ax.plot(x, y, marker, ms=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=7)
    return finish(fig, path)


def stdp_window(delta_t, measured, analytic, *, path=None, title="STDP window"):
    """Measured weight changes (points) over spike-pair offsets against the analytic window
    (line); `delta_t` = t_post - t_pre (ms)."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    order = np.argsort(delta_t)
    ax.plot(np.asarray(delta_t)[order], np.asarray(analytic)[order], color="0.5", lw=2,
            label="analytic")
    ax.plot(delta_t, measured, "o", ms=3, color="tab:red", label="simulated")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set(xlabel="Δt = t_post - t_pre (ms)", ylabel="Δw", title=title)
    ax.legend()
    return finish(fig, path)


def weights_over_time(ts, history, *, path=None, title="STDP: weights over time", ylabel="w (nS)"):
    """Individual synaptic weights (thin lines) and their mean (thick) over time;
    `history` has shape `(n_times, n_synapses)`."""
    fig, ax = plt.subplots(figsize=(6, 4))
    history = np.asarray(history)
    ax.plot(ts, history, color="tab:blue", lw=0.4, alpha=0.4)
    ax.plot(ts, history.mean(axis=1), color="k", lw=2, label="mean")
    ax.set(xlabel="time (ms)", ylabel=ylabel, title=title)
    ax.legend()
    return finish(fig, path)


def typed_raster(spikes: dict, *, t1: float, path=None, bin_ms: float = 5.0, title=""):
    """Raster of several populations stacked (colour per population) above their
    population rates. `spikes` maps a population name to `(times_ms, indices, n)`."""
    t1 = check_real("t1 (ms)", t1, gt=0)
    bin_ms = check_real("bin_ms", bin_ms, gt=0)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    offset = 0
    edges = np.arange(0.0, t1 + bin_ms, bin_ms)
    for k, (name, (times, idx, n)) in enumerate(spikes.items()):
        color = f"C{k}"
        ax1.plot(times, np.asarray(idx) + offset, "|", ms=2, color=color, label=name)
        offset += n
        hist, _ = np.histogram(times, edges)
        ax2.plot(edges[:-1] + bin_ms / 2, 1000.0 * hist / (n * bin_ms), color=color, lw=1,
                 label=name)
    ax1.set(ylabel="neuron", title=title)
    ax1.legend(loc="upper right", fontsize=7, markerscale=4)
    ax2.set(xlabel="time (ms)", ylabel="rate (Hz)")
    return finish(fig, path)


def spike_count_histograms(counts: dict, *, path=None, title="spike counts per neuron"):
    """Histogram of spikes per neuron, one panel per population (`{name: counts}`)."""
    fig, axes = plt.subplots(1, len(counts), figsize=(3.2 * len(counts), 3), squeeze=False)
    for ax, (name, c) in zip(axes[0], counts.items(), strict=True):
        ax.hist(np.asarray(c), bins=20, color="0.4")
        ax.set(title=name, xlabel="spikes")
    axes[0, 0].set_ylabel("neurons")
    fig.suptitle(title)
    return finish(fig, path)


def weight_matrices(before, after, *, path=None, title="recurrent weights (nS)"):
    """Dense weight matrices before and after plasticity, and their difference."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    vmax = max(np.max(before), np.max(after))
    diff = np.asarray(after) - np.asarray(before)
    span = max(np.max(np.abs(diff)), 1e-12)
    for ax, data, label, kw in ((axes[0], before, "before", dict(vmin=0, vmax=vmax)),
                                (axes[1], after, "after", dict(vmin=0, vmax=vmax)),
                                (axes[2], diff, "after - before",
                                 dict(vmin=-span, vmax=span, cmap="RdBu_r"))):
        image = ax.imshow(data, aspect="auto", interpolation="nearest", **kw)
        ax.set(title=label, xlabel="post", ylabel="pre")
        fig.colorbar(image, ax=ax)
    fig.suptitle(title)
    return finish(fig, path)


def power_spectrum(freqs, power, *, path=None, bands: dict | None = None,
                   title="population rate spectrum"):
    """Power spectral density (log scale) over frequency (Hz), with named bands shaded
    (`{name: (low, high)}`)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(freqs, power, color="k", lw=1)
    for k, (name, (low, high)) in enumerate((bands or {}).items()):
        ax.axvspan(low, high, color=f"C{k}", alpha=0.15, label=name)
    ax.set(xlabel="frequency (Hz)", ylabel="power (spikes²/s² per Hz)", title=title,
           xlim=(0, min(150.0, float(np.max(freqs)))))
    if bands:
        ax.legend()
    return finish(fig, path)


def topology_activity(panels: dict, *, path=None, max_edges: int = 3000,
                      title="topologies and their activity"):
    """Network graphs with activity: one panel per `{title: (positions (n, 2), pre, post,
    rates_hz (n,))}`; nodes coloured by firing rate, edges drawn thinly (a random subset of
    at most `max_edges`)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    rng = np.random.default_rng(0)
    vmax = max(float(np.max(p[3])) for p in panels.values()) or 1.0
    for ax, (label, (xy, pre, post, rates)) in zip(axes[0], panels.items(), strict=True):
        xy, pre, post = np.asarray(xy), np.asarray(pre), np.asarray(post)
        shown = rng.permutation(pre.size)[:max_edges]
        segments = np.stack([xy[pre[shown]], xy[post[shown]]], axis=1)
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segments, colors="0.7", linewidths=0.2, alpha=0.5))
        points = ax.scatter(xy[:, 0], xy[:, 1], c=rates, s=12, cmap="inferno", vmin=0,
                            vmax=vmax, edgecolors="k", linewidths=0.2, zorder=3)
        ax.set(title=label, aspect="equal")
        ax.axis("off")
    fig.colorbar(points, ax=axes[0].tolist(), label="rate (Hz)", shrink=0.8)
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
