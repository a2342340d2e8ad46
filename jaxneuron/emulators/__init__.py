"""Learned surrogates of any jaxneuron model: datasets from batched simulations, Equinox
networks (MLP, LSTM, GRU), Optax training and honest evaluation (teacher-forced one-step
and free-running rollout errors, speed against the solver).

- `data`: `generate_dataset`, `Dataset` (`.npz` save/load), `split_by_run`, `Standardizer`,
  `reset_flags` (which save steps hold a spike's reset).
- `nets`: `MLPEmulator`, `LSTMEmulator`, `GRUEmulator`, `GatedMLPEmulator` (spiking
  targets: a learned spike gate switches the state map), `NeuralODEEmulator` (an MLP
  vector field integrated with Diffrax), `make_net`, `Emulator`.
- `train`: `TrainConfig`, `train`, `save_checkpoint`, `load_checkpoint`.
- `network_data`: `generate_network_dataset`, `simulate_network_runs` (small spiking
  networks, one batched call of the network engine), `permute_neurons` (augmentation).
- `evaluate`: `evaluate`, `rollout_rmse`, `speed_vs_solver`, `speed_vs`; for spiking
  targets `evaluate_spiking`, `spike_metrics`, `spike_scores`, `match_spikes`,
  `reset_spike_times`.
"""

from .data import (
    CurrentSpec,
    Dataset,
    Standardizer,
    generate_dataset,
    random_currents,
    reset_flags,
    simulate_runs,
    split_by_run,
)
from .evaluation import (
    evaluate,
    evaluate_spiking,
    match_spikes,
    one_steps,
    reset_spike_times,
    rollout_rmse,
    rollouts,
    speed_vs,
    speed_vs_solver,
    spike_metrics,
    spike_scores,
)
from .nets import (
    ARCHITECTURES,
    AbstractEmulatorNet,
    Emulator,
    GatedMLPEmulator,
    GRUEmulator,
    LSTMEmulator,
    MLPEmulator,
    NetConfig,
    NeuralODEEmulator,
    make_net,
)
from .network_data import generate_network_dataset, permute_neurons, simulate_network_runs
from .training import (
    GateLabels,
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
    "AbstractEmulatorNet",
    "CurrentSpec",
    "Dataset",
    "GateLabels",
    "GRUEmulator",
    "GatedMLPEmulator",
    "LSTMEmulator",
    "MLPEmulator",
    "NetConfig",
    "NeuralODEEmulator",
    "Standardizer",
    "Emulator",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "evaluate_spiking",
    "generate_dataset",
    "generate_network_dataset",
    "load_checkpoint",
    "make_net",
    "match_spikes",
    "one_steps",
    "permute_neurons",
    "random_currents",
    "reset_flags",
    "reset_spike_times",
    "rollout_rmse",
    "rollouts",
    "save_checkpoint",
    "simulate_network_runs",
    "simulate_runs",
    "speed_vs",
    "speed_vs_solver",
    "spike_metrics",
    "spike_scores",
    "split_by_run",
    "train",
    "window_loss",
    "windows",
]
