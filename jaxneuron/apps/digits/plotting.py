"""Figures of the digits classifier: learning curves, confusion matrix, an example's
input/hidden/output rasters and the hidden layer's receptive fields."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def learning_curves(curves: dict, *, path, title: str = ""):
    """Training objective and validation accuracy per method.

    `curves`: `{label: {"step": [...], "objective": [...], "val_accuracy": [...],
    "seconds": [...], "objective_name": str, "step_name": str}}`; the left panel plots the
    objective against the step (epoch or generation), the right one the validation
    accuracy against training wall time (s)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, c in curves.items():
        ax1.plot(c["step"], c["objective"], marker=".", label=label)
        ax2.plot(c["seconds"], c["val_accuracy"], marker=".", label=label)
    first = next(iter(curves.values()))
    ax1.set(xlabel=first.get("step_name", "step"), ylabel=first.get("objective_name", "loss"),
            title="training objective")
    ax2.set(xlabel="training wall time (s)", ylabel="validation accuracy", ylim=(0, 1),
            title="validation accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def confusion_matrix(matrix, *, path, title: str = ""):
    """Heatmap of a confusion matrix `(n, n)` (rows true, columns predicted) with counts."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    mesh = ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                    color="white" if value > matrix.max() / 2 else "black")
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title,
           xticks=range(matrix.shape[1]), yticks=range(matrix.shape[0]))
    fig.colorbar(mesh, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def example_rasters(image, layers: dict, *, t1: float, path, title: str = ""):
    """The input image (8 x 8) and one spike raster per layer.

    `layers`: `{name: (times_ms, neuron_indices, n_neurons)}` in plotting order."""
    fig, axes = plt.subplots(1, len(layers) + 1, figsize=(3.2 * (len(layers) + 1), 3.2),
                             gridspec_kw={"width_ratios": [0.8] + [1.0] * len(layers)})
    side = int(round(math.sqrt(np.size(image))))
    axes[0].imshow(np.asarray(image).reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set(title="input image", xticks=[], yticks=[])
    for ax, (name, (times, idx, n)) in zip(axes[1:], layers.items(), strict=True):
        ax.scatter(times, idx, s=4, marker="|", color="k")
        ax.set(xlim=(0, t1), ylim=(-0.5, n - 0.5), xlabel="time (ms)", ylabel="neuron",
               title=f"{name} ({len(times)} spikes)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def receptive_fields(w_in, *, path, title: str = "", max_fields: int = 40):
    """Input weights of each hidden neuron as an image (`w_in`: `(n_pixels, n_hidden)`, nS;
    red excitatory, blue inhibitory, one colour scale for all)."""
    w_in = np.asarray(w_in)
    n = min(w_in.shape[1], max_fields)
    side = int(round(math.sqrt(w_in.shape[0])))
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    limit = float(np.max(np.abs(w_in[:, :n]))) or 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set(xticks=[], yticks=[])
        if k < n:
            mesh = ax.imshow(w_in[:, k].reshape(side, side), cmap="RdBu_r", vmin=-limit,
                             vmax=limit)
            ax.set_title(str(k), fontsize=7)
        else:
            ax.axis("off")
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="weight (nS)")
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
