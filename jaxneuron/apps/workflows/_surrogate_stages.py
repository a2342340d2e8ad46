"""The stages every surrogate pipeline shares, each resumable from what the previous one
wrote into the output folder: `dataset` (simulate, write `dataset.npz`), `train` (split
by run, fit, write `checkpoint/` and `training.csv`/`.png`), `evaluate` (read both back,
judge on the held-out runs, write `summary.json`), `all` (the three in turn) and `sweep`
(train and judge a grid of sizes on one dataset, write `experiment_results.csv`/`.png`).

A pipeline (`Pipeline`) says how to make its dataset, how to train, and how to judge a
surrogate; the split is seeded by the dataset's own seed, so every stage sees the same
train/validation/test runs whatever the seed of the training.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
from tqdm.auto import tqdm

from ...emulators import (
    Dataset,
    Emulator,
    TrainConfig,
    load_checkpoint,
    save_checkpoint,
    split_by_run,
    train,
)
from ...emulators.training import CHECKPOINT_META
from ..output import output_dir, write_rows, write_summary

STAGES = ("dataset", "train", "evaluate", "all", "sweep")
SPLIT = (0.7, 0.15, 0.15)  # train / validation / test fractions of the runs
DATASET_FILE = "dataset.npz"
CHECKPOINT_DIR = "checkpoint"


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """One surrogate workflow.

    **Fields:**
    - `name`: used in messages.
    - `make_dataset(quick, seed, log) -> Dataset`.
    - `config(quick, seed) -> TrainConfig`.
    - `metrics(surrogate, test) -> dict`: scalar scores of a surrogate on the held-out runs
      (one row of a sweep); `speed(surrogate, test, dataset) -> dict` with `speedup`.
    - `report(out, surrogate, test, dataset, log) -> dict`: the full evaluation (figures,
      CSVs); returns the pipeline's part of `summary.json`.
    - `val_score(val) -> Callable[[Emulator], float] | None`: early-stopping score (lower is
      better) on the validation runs; `None` uses the validation rollout RMSE.
    - `augment`: data augmentation of the training windows (`train(..., augment=)`).
    """

    name: str
    make_dataset: Callable[..., Dataset]
    config: Callable[[bool, int], TrainConfig]
    metrics: Callable[[Emulator, Dataset], dict]
    speed: Callable[[Emulator, Dataset, Dataset], dict]
    report: Callable[..., dict]
    val_score: Callable[[Dataset], Callable[[Emulator], float] | None] = lambda val: None
    augment: Callable | None = None


def run_stages(pipeline: Pipeline, out: str | Path, *, stage: str = "all",
               quick: bool = False, seed: int = 0, config: TrainConfig | None = None,
               log=print) -> dict:
    """Run `stage` (one of `STAGES`) of `pipeline` in the folder `out`; returns the
    summary (`evaluate`, `all`), the sweep rows (`sweep`) or what was written.

    `config` replaces `pipeline.config(quick, seed)` for `train`/`all`.

    **Raises:** `ValueError` for an unknown stage, or if a stage's input (the dataset for
    `train`/`sweep`, the checkpoint for `evaluate`) is not in `out` yet.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}; got {stage!r}")
    out = output_dir(out)
    start = time.perf_counter()
    if stage in ("dataset", "all"):
        log(f"[dataset] simulating the {pipeline.name} runs")
        tic = time.perf_counter()
        dataset = pipeline.make_dataset(quick, seed, log)
        dataset.metadata["seconds"] = time.perf_counter() - tic
        dataset.save(out / DATASET_FILE)
        log(f"  {dataset.n_runs} runs of {dataset.ts[-1]:.0f} ms in "
            f"{dataset.metadata['seconds']:.1f} s -> {out / DATASET_FILE}")
        if stage == "dataset":
            return {"dataset": str(out / DATASET_FILE), "n_runs": dataset.n_runs}
    else:
        dataset = _load_dataset(out, stage)
    parts = split_by_run(dataset, SPLIT, seed=int(dataset.metadata.get("seed", 0)))
    if stage == "sweep":
        return run_sweep(pipeline, out, parts, quick=quick, seed=seed, log=log)
    if stage in ("train", "all"):
        config = config or pipeline.config(quick, seed)
        log(f"[train] {config.arch} ({config.hidden_size} units) on {parts['train'].n_runs} "
            f"runs, early-stopped on {parts['val'].n_runs}")
        _train_and_save(pipeline, out, parts, config, dataset)
        if stage == "train":
            return {"checkpoint": str(out / CHECKPOINT_DIR)}
    surrogate, info = _load_checkpoint(out)
    test = parts["test"]
    log(f"[evaluate] {test.n_runs} held-out runs, teacher-forced and free-running")
    summary = pipeline.report(out, surrogate, test, dataset, log)
    summary.update({
        "runs": {k: v.n_runs for k, v in parts.items()},
        "train": {**info["train"], **info["extra"]["training"]},
        "dataset": dataset.metadata,
        "quick": quick,
        "seconds": time.perf_counter() - start,
    })
    write_summary(out, summary)
    return summary


def _load_dataset(out: Path, stage: str) -> Dataset:
    path = out / DATASET_FILE
    if not path.exists():
        raise ValueError(f"stage {stage!r} needs {path}: run the 'dataset' stage first")
    return Dataset.load(path)


def _load_checkpoint(out: Path):
    path = out / CHECKPOINT_DIR
    if not (path / CHECKPOINT_META).exists():
        raise ValueError(f"stage 'evaluate' needs a checkpoint in {path}: run the 'train' "
                         "stage first")
    return load_checkpoint(path)


def _train_and_save(pipeline, out, parts, config, dataset):
    tic = time.perf_counter()
    result = train(parts["train"], parts["val"], config,
                   val_score=pipeline.val_score(parts["val"]), augment=pipeline.augment)
    seconds = time.perf_counter() - tic
    training = {"best_epoch": result.best_epoch, "epochs_run": len(result.history),
                "stopped_early": result.stopped_early, "seconds": seconds}
    save_checkpoint(out / CHECKPOINT_DIR, result.emulator, result.net_config, config,
                    extra={"dataset_metadata": dataset.metadata, "training": training})
    write_rows(out / "training.csv", result.history)
    training_figure(result.history, result.best_epoch, out / "training.png")


def training_figure(history, best_epoch, path) -> None:
    """Training loss and validation score per epoch."""
    epochs = [r["epoch"] for r in history]
    score = "val_score" if "val_score" in history[0] else "val_rollout_rmse_mv"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.semilogy(epochs, [r["train_loss"] for r in history])
    ax1.set(xlabel="epoch", ylabel="training loss (delta_std units²)", title="training")
    ax2.semilogy(epochs, [r[score] for r in history], color="tab:orange")
    ax2.axvline(best_epoch, color="0.6", ls="--", lw=0.8, label=f"best (epoch {best_epoch})")
    ax2.set(xlabel="epoch", title="validation (free-running)",
            ylabel="1 - spike F1" if score == "val_score" else "rollout RMSE (mV)")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_sweep(pipeline: Pipeline, out: Path, parts: dict, *, quick: bool, seed: int,
              hidden_sizes=None, windows=None, log=print) -> list[dict]:
    """Train one surrogate per (hidden size, training window) on the same split and judge
    each on the held-out runs; write `experiment_results.csv` and `.png`.

    Defaults: hidden sizes 8, 16, 32, 64 and windows 10, 25, 50 steps (`quick`: 8, 16, 32
    and 10, 25). Returns the rows.
    """
    hidden_sizes = hidden_sizes or ((8, 16, 32) if quick else (8, 16, 32, 64))
    windows = windows or ((10, 25) if quick else (10, 25, 50))
    base = pipeline.config(quick, seed)
    rows = []
    grid = [(h, w) for w in windows for h in hidden_sizes]
    for h, w in tqdm(grid, desc=f"sweep {pipeline.name}", unit="model"):
        config = dataclasses.replace(base, hidden_size=h, window=w)
        tic = time.perf_counter()
        result = train(parts["train"], parts["val"], config, progress=False,
                       val_score=pipeline.val_score(parts["val"]), augment=pipeline.augment)
        train_s = time.perf_counter() - tic
        row = {"arch": config.arch, "hidden_size": h, "window": w,
               **pipeline.metrics(result.emulator, parts["test"]),
               "speedup_vs_solver": pipeline.speed(result.emulator, parts["test"],
                                                   parts["test"])["speedup"],
               "best_epoch": result.best_epoch, "train_seconds": train_s}
        rows.append(row)
        log("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in row.items()))
        write_rows(out / "experiment_results.csv", rows)  # after every model: nothing lost
    _sweep_figure(rows, out / "experiment_results.png")
    return rows


def _sweep_figure(rows, path) -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for w in sorted({r["window"] for r in rows}):
        mine = [r for r in rows if r["window"] == w]
        h = [r["hidden_size"] for r in mine]
        ax1.loglog(h, [r["rollout_rmse_mv"] for r in mine], "o-", label=f"window {w}")
        ax2.semilogx(h, [r["speedup_vs_solver"] for r in mine], "o-", label=f"window {w}")
    ax1.set(xlabel="hidden units", ylabel="held-out rollout RMSE (mV)",
            title="accuracy (free-running)")
    ax2.axhline(1.0, color="0.6", ls="--", lw=0.8)
    ax2.set(xlabel="hidden units", ylabel="speed-up vs the solver", title="speed")
    sizes = sorted({r["hidden_size"] for r in rows})
    for ax in (ax1, ax2):
        ax.set_xticks(sizes, [str(h) for h in sizes])
        ax.xaxis.set_minor_locator(plt.NullLocator())
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
