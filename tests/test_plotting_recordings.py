"""`plotting.recording_fit_figure`: data vs fit per sweep, loss curves, feature table."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import jaxneuron as jn
from jaxneuron import plotting
from jaxneuron.inference.restarts import RestartsResult

matplotlib.use("Agg")


def fake_fit(n_sweeps: int, holdout=(), n_starts: int = 3, features=True):
    """A RecordingFit built by hand: sweeps of a decaying voltage, fitted exactly but for
    an offset, starts whose losses fall geometrically and stop at different steps."""
    t = np.arange(0.0, 50.0, 0.1)
    data = np.stack([-65.0 + i * np.exp(-t / 10.0) for i in range(n_sweeps)])
    history = np.full((n_starts, 11), np.nan)
    for k in range(n_starts):
        history[k, :6 + k] = 10.0 ** (-np.arange(6 + k) + k)
    reports = []
    for i in range(n_sweeps):
        feats = {"voltage_base": {"data": -65.0, "model": -64.0, "zscore": 2.0},
                 "Spikecount": {"data": 3.0, "model": None, "zscore": None}} if features \
            else {}
        if i == 0 and features:
            feats["sag_amplitude"] = {"data": 1.5, "model": 1.4, "zscore": 0.2}
        reports.append({"index": i, "role": "holdout" if i in holdout else "train",
                        "voltage_rmse": 1.0, "features": feats})
    restarts = RestartsResult(
        names=("tau_m",), theta=np.ones((n_starts, 1)), start=np.ones((n_starts, 1)),
        loss=np.nanmin(history, axis=1), loss_history=history, seconds=0.1,
        steps=np.arange(5, 5 + n_starts), stop_reason=("converged",) * n_starts,
        evaluations=np.arange(5, 5 + n_starts))
    return jn.RecordingFit(
        model=jn.LIF(), params={"tau_m": 1.0}, loss="voltage", restarts=restarts,
        train=tuple(i for i in range(n_sweeps) if i not in holdout), holdout=tuple(holdout),
        time=t, data_v=data, model_v=data + 1.0, sweeps=reports, simulated_sweeps=1)


@pytest.mark.parametrize("n_sweeps, holdout", [(1, ()), (4, (3,)), (12, (0, 11))])
def test_one_axis_per_sweep_plus_loss_features_and_colour_bar(n_sweeps, holdout):
    fig = plotting.recording_fit_figure(fake_fit(n_sweeps, holdout))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_sweeps + 3
    titles = [ax.get_title() for ax in fig.axes[:n_sweeps]]
    assert sum("held out" in t for t in titles) == len(holdout)
    assert sum("(train)" in t for t in titles) == n_sweeps - len(holdout)
    loss_ax = fig.axes[n_sweeps]
    assert loss_ax.get_yscale() == "log" and len(loss_ax.lines) == 3
    best = max(loss_ax.lines, key=lambda line: line.get_linewidth())
    assert np.allclose(best.get_ydata()[:6], 10.0 ** -np.arange(6))  # row 0 is the best
    feature_ax = fig.axes[n_sweeps + 1]
    labels = [t.get_text() for t in feature_ax.get_xticklabels()]
    assert labels == ["voltage_base", "Spikecount", "sag_amplitude"]
    cells = [t.get_text() for t in feature_ax.texts]
    assert "-65\n-64" in cells and "3\nn/a" in cells and "1.5\n1.4" in cells
    assert len(cells) == 2 * n_sweeps + 1
    matplotlib.pyplot.close(fig)


def test_with_a_path_it_writes_a_png_and_without_features_says_so(tmp_path):
    path = plotting.recording_fit_figure(fake_fit(2, features=False), path=tmp_path / "f.png")
    assert path == tmp_path / "f.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = plotting.recording_fit_figure(fake_fit(2, features=False))
    assert len(fig.axes) == 2 + 2  # no colour bar without a z-score
    assert "no feature" in fig.axes[3].texts[0].get_text()
    matplotlib.pyplot.close(fig)
