"""Figure functions: with `path=` they write a PNG and close the figure; without, they
return the figure for a notebook, detached from pyplot so that a notebook shows it once.
Importing plotting chooses no backend."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from types import SimpleNamespace

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

import jaxneuron as jn
from jaxneuron import plotting
from jaxneuron.plotting import neurons


def test_without_a_path_the_figure_is_returned_once_and_still_renders():
    before = set(plt.get_fignums())
    fig = plotting.rate_heatmap(np.arange(3), np.arange(2), np.ones((2, 3)), xlabel="x",
                                ylabel="y", title="t")
    assert isinstance(fig, Figure)
    assert set(plt.get_fignums()) == before  # the inline backend will not show it again
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [t.get_text() for t in fig.texts].count("t") <= 1


def _trace(names, values):
    ts = jnp.linspace(0.0, 1.0, 5)
    states = jnp.stack([jnp.full(5, v) for v in values], axis=1)
    return jn.Trace(ts=ts, states=states, v=states[:, 0], spike_times=jnp.full(2, jnp.nan),
                    n_spikes=jnp.array(0), final_state=states[-1], ok=jnp.array(True),
                    state_names=names)


def test_state_panels_take_units_from_the_model():
    dimensionless = SimpleNamespace(state_units={"v": "1", "w": "1"})
    fig = neurons.neuron_state_panels({"FHN": _trace(("v", "w"), (0.5, 0.1))},
                                      models={"FHN": dimensionless}, title="FitzHugh")
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["dimensionless", "w (dimensionless)"]
    assert [t.get_text() for t in fig.texts] == ["FitzHugh"]
    fig = neurons.neuron_state_panels({"LIF": _trace(("V", "u"), (-65.0, 2.0))},
                                      units={"u": "pA"})
    assert [ax.get_ylabel() for ax in fig.axes] == ["mV", "u (pA)"]


def test_with_a_path_a_png_is_written_and_the_figure_closed(tmp_path):
    before = set(plt.get_fignums())
    path = neurons.curves(np.arange(4), {"a": np.arange(4) ** 2}, xlabel="x", ylabel="y",
                          path=tmp_path / "c.png")
    assert path == tmp_path / "c.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(plt.get_fignums()) == before


def test_importing_plotting_does_not_choose_a_backend():
    code = ("import matplotlib, jaxneuron.plotting\n"
            "print(matplotlib.rcParams._get_backend_or_none())")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "None"
