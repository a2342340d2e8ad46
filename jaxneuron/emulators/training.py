"""Training surrogates with Optax: windows of training runs in minibatches, a warm-up +
cosine learning-rate schedule, early stopping on the validation rollout error, and
checkpoints (`eqx.tree_serialise_leaves` plus the scaler and config as JSON)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from .._checks import check_int, check_real
from ..observed import check_observed
from .data import Dataset, Standardizer, reset_flags
from .evaluation import rollout_rmse
from .nets import ARCHITECTURES, Emulator, GatedMLPEmulator, NetConfig, make_net

LOSSES = ("teacher", "rollout")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training options (all JSON-able, stored with the checkpoint).

    **Fields:**
    - `arch`, `hidden_size`, `depth`: the network (see `NetConfig`).
    - `window`: steps per training window (runs are cut into windows of `window + 1` save
      times, every `stride` steps; `stride` 0 means `window // 2`).
    - `loss`: `"teacher"` (one-step errors with true states fed in) or `"rollout"` (the
      window is run free from its first state: trains against error accumulation).
      Errors are measured in units of the training data's one-step change (`delta_std`).
    - `batch_size`, `epochs`, `learning_rate` (peak of a linear warm-up over
      `warmup_fraction` (in [0, 1)) of the steps, then cosine decay to 1 %),
      `weight_decay` (>= 0), `clip_norm` (global gradient norm, > 0; None: no clipping).
    - `patience`: stop after this many epochs without a better validation rollout RMSE
      (the best network is kept).
    - `seed`: network initialisation and minibatch order (an int >= 0).
    Integer fields accept NumPy integers (stored as ints).

    **Raises:** `ValueError` naming the field for an unknown `arch` or `loss`, a count
    that is not a positive int, a rate, fraction or norm out of its range or not finite.
    - `clip_states`: clip every predicted state into the range of the training states
      (`Emulator.bounds`; for spiking targets, whose free-running rollouts may otherwise
      leave the trained range and diverge).
    - `spike_drop` (mV), `gate_weight`: `"gated_mlp"` only: a save step in which a voltage
      column falls by more than `spike_drop` holds a spike (`reset_flags`); the gates'
      cross-entropy on those flags is added to the teacher-forced loss with this weight.
    - `n_substeps`: `"node"` only: Tsit5 steps per save step.
    """

    arch: str = "lstm"
    hidden_size: int = 64
    depth: int = 2
    window: int = 50
    stride: int = 0
    loss: str = "rollout"
    batch_size: int = 64
    epochs: int = 30
    learning_rate: float = 3e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    patience: int = 8
    seed: int = 0
    clip_states: bool = False
    spike_drop: float = 25.0
    gate_weight: float = 0.1
    n_substeps: int = 2

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}; got {self.arch!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {self.loss!r}")
        if self.arch == "gated_mlp" and self.loss != "teacher":
            raise ValueError("arch 'gated_mlp' trains teacher-forced (its spike gates learn "
                             "from the true spikes): loss must be 'teacher'; got "
                             f"{self.loss!r}")
        # NumPy integers are accepted and stored as ints (the config is saved as JSON)
        ints = {"hidden_size": 1, "depth": 1, "window": 1, "stride": 0, "batch_size": 1,
                "epochs": 1, "patience": 1, "seed": 0, "n_substeps": 1}
        values = {name: check_int(name, getattr(self, name), least)
                  for name, least in ints.items()}
        values.update(
            learning_rate=check_real("learning_rate", self.learning_rate, gt=0),
            warmup_fraction=check_real("warmup_fraction", self.warmup_fraction, ge=0, lt=1),
            weight_decay=check_real("weight_decay", self.weight_decay, ge=0),
            spike_drop=check_real("spike_drop", self.spike_drop, gt=0),
            gate_weight=check_real("gate_weight", self.gate_weight, ge=0))
        if self.clip_norm is not None:  # None: no clipping
            values["clip_norm"] = check_real("clip_norm", self.clip_norm, gt=0)
        if not isinstance(self.clip_states, bool):
            raise ValueError(f"clip_states must be True or False; got {self.clip_states!r}")
        for name, value in values.items():
            object.__setattr__(self, name, value)


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the best `emulator` (lowest validation rollout RMSE), its
    `net_config`, the `config`, per-epoch `history` rows (`epoch`, `train_loss`,
    `val_rollout_rmse_mv`, `seconds`, and `val_score` if `train` got one), `best_epoch`,
    `stopped_early`."""

    emulator: Emulator
    net_config: NetConfig
    config: TrainConfig
    history: list[dict]
    best_epoch: int
    stopped_early: bool


def windows(dataset: Dataset, window: int, stride: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cut every run into windows of `window + 1` save times, starting every `stride`
    steps (default `window // 2`; the last window ends at the run's end): states
    `(n_windows, window + 1, n_states)` and currents `(n_windows, window + 1, n_inputs)`."""
    window, stride = check_int("window", window, 1), check_int("stride", stride, 0)
    n_t = dataset.states.shape[1]
    if window + 1 > n_t:
        raise ValueError(f"window must be < the run length ({n_t} save times); got {window}")
    stride = stride or max(window // 2, 1)
    starts = list(range(0, n_t - window, stride))
    if starts[-1] != n_t - window - 1:
        starts.append(n_t - window - 1)
    index = np.asarray(starts)[:, None] + np.arange(window + 1)
    states = dataset.states[:, index].reshape(-1, window + 1, dataset.states.shape[-1])
    currents = dataset.currents[:, index].reshape(-1, window + 1, dataset.currents.shape[-1])
    return states, currents


def window_loss(net, scaler: Standardizer, states, currents, mode: str,
                bounds=None, gates: GateLabels | None = None) -> jax.Array:
    """Mean squared error over the window's steps 1..n, in units of `scaler.delta_std`,
    of the teacher-forced (`"teacher"`) or free-running (`"rollout"`) prediction.

    A `GatedMLPEmulator` (teacher-forced only) gets the true spike flags of each step
    from `gates` and adds `gates.weight` times its gates' binary cross-entropy."""
    emulator = Emulator(net, scaler, bounds)
    if isinstance(net, GatedMLPEmulator):
        flags = reset_flags(states[:, list(gates.columns)], gates.drop)
        features = jax.vmap(emulator.features)(states[:-1], emulator.step_inputs(currents))
        logits, out = jax.vmap(net.step_with)(features, flags)
        pred = jax.vmap(emulator.next_state)(states[:-1], out)
        cross_entropy = jnp.mean(optax.sigmoid_binary_cross_entropy(logits, flags))
        return (jnp.mean(((pred - states[1:]) / scaler.delta_std) ** 2)
                + gates.weight * cross_entropy)
    if mode == "teacher":
        pred = emulator.one_step(states, currents)
    else:
        pred = emulator.rollout(states[0], currents)
    return jnp.mean(((pred[1:] - states[1:]) / scaler.delta_std) ** 2)


@dataclasses.dataclass(frozen=True)
class GateLabels:
    """Where a gated emulator's spike labels come from: the voltage `columns` of the
    states, a reset being a fall of more than `drop` mV in one step; `weight` of the
    gates' cross-entropy in the loss."""

    columns: tuple[int, ...]
    drop: float
    weight: float


def default_optimizer(config: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """Gradient clipping, then AdamW on a warm-up + cosine schedule (see `TrainConfig`)."""
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, max(int(config.warmup_fraction * total_steps), 1),
        max(total_steps, 2), end_value=0.01 * config.learning_rate)
    adamw = optax.adamw(schedule, weight_decay=config.weight_decay)
    if config.clip_norm is None:
        return adamw
    return optax.chain(optax.clip_by_global_norm(config.clip_norm), adamw)


def train(train_data: Dataset, val_data: Dataset, config: TrainConfig = TrainConfig(), *,
          scaler: Standardizer | None = None,
          optimizer: optax.GradientTransformation | None = None,
          progress: bool = True, log: Callable[[str], None] | None = None,
          val_score: Callable[[Emulator], float] | None = None,
          augment: Callable | None = None) -> TrainResult:
    """Train a emulator on `train_data`, early-stopped on `val_data`.

    **Arguments:**
    - `train_data`, `val_data`: datasets from the same generator, split by run.
    - `config`: a `TrainConfig`.
    - `scaler`: defaults to `Standardizer.fit(train_data)` (never the validation data).
    - `optimizer`: any Optax transform; default `default_optimizer(config, total_steps)`.
    - `progress`: show a tqdm bar over epochs; `log`: called with one line per epoch.
    - `val_score`: the early-stopping score of a `Emulator` (lower is better; e.g. 1 -
      spike F1 of validation rollouts); default the validation rollout RMSE of V.
    - `augment`: `augment(rng, states, currents) -> (states, currents)`, applied to every
      minibatch of windows (NumPy, seeded from `config.seed`); e.g. `permute_neurons`.

    **Returns:** a `TrainResult`. The same data, config and seed give the same network.

    **Raises:** `ValueError` if `config` is not a `TrainConfig` or `val_data` has other
    state or input columns than `train_data`.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        if not isinstance(data, Dataset):
            raise ValueError(f"{name} must be a Dataset; got {type(data).__name__}")
    n_states, n_inputs = train_data.states.shape[-1], train_data.currents.shape[-1]
    check_observed("val_data.states", val_data.states, shape=("n_runs", "n_t", n_states),
                   finite=False)  # a Dataset is finite already
    check_observed("val_data.currents", val_data.currents, shape=("n_runs", "n_t", n_inputs),
                   finite=False)
    scaler = Standardizer.fit(train_data) if scaler is None else scaler
    dtype = scaler.state_mean.dtype
    bounds = None
    if config.clip_states:
        flat = train_data.states.reshape(-1, train_data.states.shape[-1])
        bounds = jnp.asarray(np.stack([flat.min(0), flat.max(0)]), dtype)
    columns = np.atleast_1d(train_data.voltage_index).tolist()
    gates = GateLabels(tuple(columns), config.spike_drop, config.gate_weight)
    net_config = NetConfig(config.arch, n_states=train_data.states.shape[-1],
                           n_inputs=train_data.currents.shape[-1],
                           hidden_size=config.hidden_size, depth=config.depth,
                           n_gates=len(columns), n_substeps=config.n_substeps)
    key = jax.random.PRNGKey(config.seed)
    net = _cast(make_net(net_config, key=key), dtype)
    w_states, w_currents = windows(train_data, config.window, config.stride)
    w_states, w_currents = w_states.astype(dtype), w_currents.astype(dtype)
    n_windows = w_states.shape[0]
    batch = min(config.batch_size, n_windows)
    per_epoch = n_windows // batch
    optimizer = optimizer or default_optimizer(config, per_epoch * config.epochs)
    opt_state = optimizer.init(eqx.filter(net, eqx.is_array))
    mode = config.loss

    @eqx.filter_jit
    def train_step(net, opt_state, states, currents):
        def loss_fn(net):
            losses = jax.vmap(lambda y, u: window_loss(net, scaler, y, u, mode, bounds, gates))(
                states, currents)
            return jnp.mean(losses)
        loss, grads = eqx.filter_value_and_grad(loss_fn)(net)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(net, eqx.is_array))
        return eqx.apply_updates(net, updates), opt_state, loss

    val_states = jnp.asarray(val_data.states, dtype)
    val_currents = jnp.asarray(val_data.currents, dtype)
    rng = np.random.default_rng(config.seed)
    history: list[dict] = []
    best = (np.inf, net, 0)
    stopped_early = False
    start = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=f"train {config.arch}", unit="epoch",
               disable=not progress)
    for epoch in bar:
        order = rng.permutation(n_windows)
        losses = []
        for b in range(per_epoch):
            index = order[b * batch:(b + 1) * batch]
            states, currents = w_states[index], w_currents[index]
            if augment is not None:
                states, currents = augment(rng, states, currents)
            net, opt_state, loss = train_step(net, opt_state, states, currents)
            losses.append(loss)
        rmse = rollout_rmse(Emulator(net, scaler, bounds), val_states, val_currents,
                            train_data.voltage_index)
        row = {"epoch": epoch, "train_loss": float(np.mean(jax.device_get(losses))),
               "val_rollout_rmse_mv": rmse, "seconds": time.perf_counter() - start}
        val = rmse
        if val_score is not None:
            val = row["val_score"] = float(val_score(Emulator(net, scaler, bounds)))
        val = val if np.isfinite(val) else np.inf  # a diverging rollout is the worst score
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3g}", val=f"{val:.3g}")
        if log is not None:
            log(f"epoch {epoch}: train loss {row['train_loss']:.4g}, validation rollout RMSE "
                f"{rmse:.4g} mV" + ("" if val_score is None else f", score {val:.4g}"))
        if val <= best[0] or (best[2] == 0 and epoch == config.epochs):  # ties: later
            best = (val, net, epoch)
        elif epoch - best[2] >= config.patience:
            stopped_early = True
            break
    bar.close()
    return TrainResult(emulator=Emulator(best[1], scaler, bounds), net_config=net_config,
                       config=config, history=history, best_epoch=best[2],
                       stopped_early=stopped_early)


def _cast(tree, dtype):
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


CHECKPOINT_LEAVES = "surrogate.eqx"
"""File of a checkpoint folder holding the emulator's arrays (`eqx.tree_serialise_leaves`)."""
CHECKPOINT_META = "surrogate.json"
"""File of a checkpoint folder holding its network config, scaler, dtype and training info."""


def save_checkpoint(path: str | Path, emulator: Emulator, net_config: NetConfig,
                    config: TrainConfig | None = None, extra: dict | None = None) -> Path:
    """Write `emulator` into the folder `path`: `surrogate.eqx` (the leaves, via
    `eqx.tree_serialise_leaves`) and `surrogate.json` (network config, scaler, dtype,
    training config and `extra`). Returns the folder."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    eqx.tree_serialise_leaves(path / CHECKPOINT_LEAVES, emulator)
    info = {"net": dataclasses.asdict(net_config), "scaler": emulator.scaler.to_dict(),
            "dtype": str(emulator.scaler.state_mean.dtype),
            "bounds": None if emulator.bounds is None else np.asarray(
                emulator.bounds).tolist(),
            "train": None if config is None else dataclasses.asdict(config),
            "extra": extra or {}}
    (path / CHECKPOINT_META).write_text(json.dumps(info, indent=2))
    return path


def load_checkpoint(path: str | Path) -> tuple[Emulator, dict]:
    """Read a folder written by `save_checkpoint`: the `Emulator` (bit-identical leaves)
    and the JSON info (`net`, `scaler`, `dtype`, `train`, `extra`).

    **Raises:** `ValueError` if the stored dtype is float64 and x64 is off.
    """
    path = Path(path)
    info = json.loads((path / CHECKPOINT_META).read_text())
    dtype = jnp.dtype(info["dtype"])
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("this emulator was saved in float64: enable jax_enable_x64 first")
    net = _cast(make_net(NetConfig(**info["net"]), key=jax.random.PRNGKey(0)), dtype)
    bounds = info.get("bounds")
    skeleton = Emulator(net, Standardizer.from_dict(info["scaler"], dtype=dtype),
                         None if bounds is None else jnp.asarray(bounds, dtype))
    return eqx.tree_deserialise_leaves(path / CHECKPOINT_LEAVES, skeleton), info
