"""Learned surrogates of any jaxneuron model: datasets from batched simulations, Equinox
networks (MLP, LSTM, GRU), Optax training and honest evaluation (teacher-forced one-step
and free-running rollout errors, speed against the solver).

- `data`: `generate_dataset`, `Dataset` (`.npz` save/load), `split_by_run`, `Standardizer`.
- `nets`: `MLPSurrogate`, `LSTMSurrogate`, `GRUSurrogate`, `make_net`, `Surrogate`.
- `train`: `TrainConfig`, `train`, `save_checkpoint`, `load_checkpoint`.
- `evaluate`: `evaluate`, `rollout_rmse`, `speed_vs_solver`.
"""

from .data import (
    CurrentSpec,
    Dataset,
    Standardizer,
    generate_dataset,
    random_currents,
    simulate_runs,
    split_by_run,
)
from .evaluate import evaluate, one_steps, rollout_rmse, rollouts, speed_vs_solver
from .nets import (
    ARCHITECTURES,
    AbstractSurrogateNet,
    GRUSurrogate,
    LSTMSurrogate,
    MLPSurrogate,
    NetConfig,
    Surrogate,
    make_net,
)
from .train import (
    TrainConfig,
    TrainResult,
    load_checkpoint,
    save_checkpoint,
    train,
    window_loss,
    windows,
)

__all__ = [
    "ARCHITECTURES",
    "AbstractSurrogateNet",
    "CurrentSpec",
    "Dataset",
    "GRUSurrogate",
    "LSTMSurrogate",
    "MLPSurrogate",
    "NetConfig",
    "Standardizer",
    "Surrogate",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "generate_dataset",
    "load_checkpoint",
    "make_net",
    "one_steps",
    "random_currents",
    "rollout_rmse",
    "rollouts",
    "save_checkpoint",
    "simulate_runs",
    "speed_vs_solver",
    "split_by_run",
    "train",
    "window_loss",
    "windows",
]
