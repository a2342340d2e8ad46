"""Figure functions: with `path=` they write a PNG and close the figure; without, they
return the open figure for a notebook. Importing plotting chooses no backend."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from jaxneuron import plotting
from jaxneuron.plotting import neurons


def test_without_a_path_the_figure_is_returned_open():
    fig = plotting.rate_heatmap(np.arange(3), np.arange(2), np.ones((2, 3)), xlabel="x",
                                ylabel="y", title="t")
    assert isinstance(fig, Figure) and plt.fignum_exists(fig.number)
    plt.close(fig)


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
