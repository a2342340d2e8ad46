"""Engines: how a neuron model is integrated, one final `eqx.Module` per way.

- `FixedSteps`: smooth models on a fixed step (`lax.scan` over solver steps).
- `AdaptiveSteps`: smooth models under `diffrax.diffeqsolve` with error control.
- `ClockSpiking`: threshold-and-reset models on a fixed step, interpolated spike times,
  surrogate gradients through resets.
- `ExactSpiking`: threshold-and-reset models, adaptive steps, root-found spike times.

Each holds its solver and options as fields and implements `run`. `jaxneuron.simulate`
picks `default_engine(model)` when none is given. Spike detection and recording live in
`spikes`, the Diffrax terms in `terms`, the solvers in `solvers/`.
"""

from . import solvers
from .adaptive import AdaptiveSteps
from .base import AbstractAdaptiveEngine, AbstractEngine
from .clock import ClockSpiking, ClockStep
from .exact import ExactSpiking
from .fixed import FixedSteps
from .grid import SaveSpec, TimeGrid
from .options import ENGINE_OPTIONS, build_engine, default_engine, forward_mode, with_engine
from .spikes import SpikeRecord, SpikeStats

__all__ = ["AbstractAdaptiveEngine", "AbstractEngine", "AdaptiveSteps", "ClockSpiking",
           "ClockStep", "ExactSpiking", "FixedSteps", "SaveSpec", "SpikeRecord", "SpikeStats",
           "TimeGrid", "ENGINE_OPTIONS", "build_engine", "default_engine", "forward_mode",
           "solvers", "with_engine"]
