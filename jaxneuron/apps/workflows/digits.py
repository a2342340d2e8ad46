"""`jaxneuron digits`: classify scikit-learn's 8x8 digits with a layered conductance-LIF
network (`jaxneuron.apps.digits.layered`), trained by evolution, by surrogate gradients, or by
unsupervised STDP with a linear readout.

The network: 64 pixel sources (Poisson rate coding, 600 Hz at full intensity, or latency
coding), 32 hidden and 10 output `ConductanceLIF` cells (C = 100 pF, tau_m = 10 ms) with a
tonic bias of 105 pA (just above the 100 pA rheobase), signed weights split into
excitatory (g_e) and inhibitory (g_i) conductance synapses; each image is presented for
`T_MS[method]` ms at dt = 1 ms (100 ms for every method: at 50 ms the Poisson noise of the
counts held OpenES at 79 % test accuracy); the class is the output cell with the most
spikes (the earliest first spike for latency coding). Methods (`learning.training.METHODS`):
- `evolution`: evosax SimpleGA and OpenES, each candidate population in one vmapped call;
- `gradient`: Adam through the simulation with surrogate spike derivatives;
- `stdp`: STDP with lateral inhibition and homeostasis in the hidden layer, then a
  logistic regression on the hidden spike counts (`jaxneuron.apps.digits.stdp`).
Everything runs on `jaxneuron.network.simulate_network` (training with a surrogate, whose
gradients reach every neuron; all-to-all projections propagate by a matrix product).

Writes into `out` (default `results/digits/<method>`): `summary.json` (`test_accuracy`,
`train_seconds`, `network_seconds` of the variant with the best validation accuracy, and
every variant's results), `history_<variant>.csv`,
`test_predictions.csv`, `confusion.csv`, `weights_<variant>.eqx` (+ `.json`; reload with
`jaxneuron.apps.digits.checkpoint.load`), `checkpoint_<variant>.eqx` (resume state),
`learning_curves.png`, `confusion.png`, `rasters.png`, `receptive_fields.png`; and
refreshes `comparison.csv`/`comparison.md` in the parent folder from every method's
`summary.json` found beside it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jax
import numpy as np

from ..arguments import nonnegative_int
from ..digits import checkpoint as ckpt, plotting as figures, training
from ..digits.digits import ENCODINGS, load_split
from ..digits.layered import HIDDEN, INPUT, OUTPUT, LayeredNetwork
from ..output import output_dir, write_rows, write_summary

T_MS = {"gradient": 100.0, "evolution": 100.0, "stdp": 100.0}  # window per method (ms)
DT_MS = 1.0
OBJECTIVES = {  # history key -> (axis label, step name) of the learning-curve figure
    "train_loss": ("cross-entropy", "epoch"),
    "mean_fitness": ("mean population fitness (cross-entropy)", "generation"),
    "hidden_spikes_per_image": ("hidden spikes per image (STDP phase)", "images seen"),
}
NETWORK = {"n_hidden": 32, "max_rate": 600.0, "bias_hidden": 105.0, "bias_out": 105.0,
           "t_first": 2.0, "t_last": 40.0}


def build_network(encoding: str = "poisson", *, t1: float = 100.0) -> LayeredNetwork:
    """The workflow's classifier (settings in `NETWORK`)."""
    return LayeredNetwork(64, NETWORK["n_hidden"], 10, encoding=encoding, t1=t1, dt=DT_MS,
                          max_rate=NETWORK["max_rate"], t_first=NETWORK["t_first"],
                          t_last=NETWORK["t_last"], bias_hidden=NETWORK["bias_hidden"],
                          bias_out=NETWORK["bias_out"])


def run(out: str | Path | None = None, *, method: str = "gradient", quick: bool = False,
        encoding: str = "poisson", seed: int = 0, log=print) -> dict:
    """Train the classifier with `method`, test it, write and return the summary.

    **Raises:** `ValueError` for an unknown method or encoding."""
    variants = training.get_method(method)
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}; got {encoding!r}")
    out = output_dir(Path("results/digits") / method if out is None else out)
    start = time.perf_counter()
    split = load_split(seed)
    net = build_network(encoding, t1=T_MS.get(method, 100.0))
    log(f"digits: {split.sizes()} images (stratified, seed {seed}); network 64-"
        f"{net.n_hidden}-{net.n_out} conductance LIF, {encoding} coding, {net.t1:.0f} ms "
        f"per image at dt {net.dt} ms; method {method}{' (quick)' if quick else ''}")
    key = jax.random.key(seed)
    results, curves = {}, {}
    for i, (variant, train) in enumerate(variants):
        log(f"[{i + 1}/{len(variants)}] training: {variant}")
        result = train(net, split, quick=quick, key=jax.random.fold_in(key, i),
                       checkpoint=out / f"checkpoint_{variant}.eqx", log=log)
        test_key = jax.random.fold_in(key, 99)
        if result.predict is None:
            accuracy, predictions, readout = training.evaluate(
                net, result.weights, split.x_test, split.y_test, test_key)
            scores = readout.counts
        else:
            predictions, scores = result.predict(split.x_test, test_key)
            accuracy = float(np.mean(predictions == split.y_test))
        extras = {}
        for name, value in result.extras.items():
            if callable(value):  # a reference predictor: report its test accuracy
                name = name.removesuffix("_predict") + "_test_accuracy"
                value = float(np.mean(value(split.x_test, test_key)[0] == split.y_test))
                log(f"  {name}: {value:.3f}")
            extras[name] = value
        ckpt.save(out / f"weights_{variant}.eqx", result.weights,
                  {"config": result.config, "network": NETWORK, "t1_ms": net.t1})
        write_rows(out / f"history_{variant}.csv", result.history)
        results[variant] = {
            "test_accuracy": accuracy,
            "val_accuracy": float(np.nanmax([r["val_accuracy"] for r in result.history])),
            "train_seconds": result.seconds, "network_seconds": result.network_seconds,
            "config": result.config, "extras": extras, "predictions": predictions,
            "scores": np.asarray(scores), "weights": result.weights}
        objective = next(k for k in OBJECTIVES if k in result.history[0])
        curves[variant] = {
            "step": [r["step"] for r in result.history],
            "objective": [r[objective] for r in result.history],
            "val_accuracy": [r["val_accuracy"] for r in result.history],
            "seconds": [r["seconds"] for r in result.history],
            "objective_name": OBJECTIVES[objective][0],
            "step_name": OBJECTIVES[objective][1]}
        log(f"  {variant}: test accuracy {accuracy:.3f} (simulate_network), training "
            f"{result.seconds:.0f} s, {result.network_seconds:.0f} network-seconds")
    chosen = max(results, key=lambda v: results[v]["val_accuracy"])
    best = results[chosen]
    labels, predictions = np.asarray(split.y_test), best["predictions"]
    matrix = training.confusion_matrix(labels, predictions)
    np.savetxt(out / "confusion.csv", matrix, fmt="%d", delimiter=",",
               header=",".join(f"pred_{k}" for k in range(10)), comments="")
    write_rows(out / "test_predictions.csv", [
        {"digits_index": int(j), "label": int(y), "prediction": int(p),
         **{f"score_{k}": float(c) for k, c in enumerate(scores)}}
        for j, y, p, scores in zip(np.asarray(split.index_test), labels, predictions,
                                   best["scores"], strict=True)])
    _figures(out, net, split, best["weights"], matrix, curves, chosen, method, key)

    summary = {
        "workflow": "digits", "method": method, "encoding": encoding, "quick": quick,
        "selected_variant": chosen,
        "test_accuracy": best["test_accuracy"],
        "train_seconds": best["train_seconds"],
        "network_seconds": best["network_seconds"],
        "all_variants_train_seconds": sum(r["train_seconds"] for r in results.values()),
        "variants": {v: {k: r[k] for k in ("test_accuracy", "val_accuracy", "train_seconds",
                                           "network_seconds", "config", "extras")}
                     for v, r in results.items()},
        "network": {**NETWORK, "t1_ms": net.t1, "dt_ms": net.dt, "n_in": net.n_in,
                    "n_out": net.n_out, "cell": "ConductanceLIF(C=100 pF)",
                    "synapses": "signed weights: + into g_e, - into g_i (nS)"},
        "split": split.sizes(), "seed": seed, "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "seconds": time.perf_counter() - start,
    }
    write_summary(out, summary)
    table = write_comparison(out.parent)
    log(f"wrote summary.json, history_*.csv, test_predictions.csv, confusion.csv, "
        f"weights_*.eqx, learning_curves.png, confusion.png, rasters.png, "
        f"receptive_fields.png to {out.resolve()}" + (f"; comparison table {table}"
                                                      if table else ""))
    return summary


def _figures(out, net, split, weights, matrix, curves, chosen, method, key):
    figures.learning_curves(curves, path=out / "learning_curves.png",
                            title=f"digits, {method}")
    accuracy = np.trace(matrix) / matrix.sum()
    figures.confusion_matrix(matrix, path=out / "confusion.png",
                             title=f"{chosen}: test accuracy {accuracy:.3f}")
    example = int(np.nonzero(np.asarray(split.y_test) == 3)[0][0])
    image = split.x_test[example]
    result = net.simulate(weights, image, jax.random.fold_in(key, 7))
    layers = {}
    for name, p in (("input", INPUT), ("hidden", HIDDEN), ("output", OUTPUT)):
        times, idx = result.spike_times(p)
        layers[name] = (times, idx, result.sizes[p])
    counts = np.bincount(layers["output"][1], minlength=net.n_out)
    figures.example_rasters(image, layers, t1=net.t1, path=out / "rasters.png",
                            title=f"test digit {int(split.y_test[example])}: output spike "
                                  f"counts {counts.tolist()}")
    figures.receptive_fields(weights.w_in, path=out / "receptive_fields.png",
                             title=f"{chosen}: input weights of the hidden neurons")


def write_comparison(folder: Path) -> Path | None:
    """Collect the `summary.json` of every digits run in the subfolders of `folder` into
    `comparison.csv` and `comparison.md`; returns the CSV path (None if there is none)."""
    rows = []
    for path in sorted(Path(folder).glob("*/summary.json")):
        summary = json.loads(path.read_text())
        if summary.get("workflow") != "digits":
            continue
        rows.append({"method": summary["method"], "variant": summary["selected_variant"],
                     "encoding": summary["encoding"], "quick": summary["quick"],
                     "test_accuracy": round(summary["test_accuracy"], 4),
                     "train_seconds": round(summary["train_seconds"], 1),
                     "network_seconds": round(summary["network_seconds"], 1),
                     "folder": path.parent.name})
    if not rows:
        return None
    write_rows(folder / "comparison.csv", rows)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows]
    (folder / "comparison.md").write_text("\n".join(lines) + "\n")
    return folder / "comparison.csv"


def register(commands) -> None:
    """Add `jaxneuron digits` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "digits", help="8x8 digits with a layered conductance-LIF network trained by "
                       "evolution (evosax GA, OpenES), surrogate gradients, or STDP")
    parser.add_argument("--method", default="gradient", choices=sorted(training.METHODS),
                        help="training method")
    parser.add_argument("--encoding", default="poisson", choices=ENCODINGS,
                        help="pixel encoding")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="split and training seed")
    parser.add_argument("--out", default=None, help="output folder (default "
                                                     "results/digits/<method>)")
    parser.add_argument("--quick", action="store_true",
                        help="few epochs/generations (~2 min on CPU)")
    parser.set_defaults(func=lambda args: run(args.out, method=args.method, quick=args.quick,
                                              encoding=args.encoding, seed=args.seed))
