"""Shared test helpers."""

import dataclasses
import functools
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np

import jaxneuron as jn
from jaxneuron.baselines import simulate_hh_scipy, step_current
from jaxneuron.models import AbstractSpikingNeuron


def scipy_hh_spikes(amplitude, t1, **params):
    """Reference spike times (ms) from SciPy DOP853 at tight tolerance with event roots."""
    result = simulate_hh_scipy(step_current(amplitude), t1=t1, params=params, method="DOP853",
                               rtol=1e-11, atol=1e-11)
    return result.spike_times


def spike_time_error(trace: jn.Trace, reference) -> float:
    """Max |Δt| (ms) between matched spikes; inf if the counts differ."""
    n = int(trace.n_spikes)
    if n != len(reference):
        return float("inf")
    return float(np.max(np.abs(np.asarray(trace.spike_times[:n]) - reference))) if n else 0.0


# ---------------------------------------------------------------- the model × engine matrix
#
# Every model class in `jaxneuron.models` and every engine, so that tests/test_matrix.py and
# tests/test_fit_matrix.py run each model with each engine (and expect a ValueError where
# the pair cannot work). A new model or engine joins the matrix by adding one line here.


@functools.cache
def _imported(name: str) -> jn.AbstractNeuron:
    """A model of jaxneuron.imports.catalog imported once (one class, so compiled code is
    reused)."""
    from jaxneuron.imports import catalog as brian2_models

    extra = {"initial": brian2_models.hh_initial()} if name == "HH" else {}
    return jn.from_brian2(**getattr(brian2_models, name), **extra)


@dataclasses.dataclass(frozen=True, eq=False)
class ModelCase:
    """One model of the matrix: a factory for it, a stimulus that makes it do something in
    a short run (spiking models: a few spikes; smooth ones: V moves by millivolts), the run
    length `t1` and step `dt` (ms), `param`, the name of one float parameter that shapes
    the output smoothly and is recoverable from a 20 % perturbation, and `spikes`, the
    range (inclusive) of spike counts the run should have (estimated from the model's
    equations, see the comments in `MODELS`)."""

    id: str
    make: Callable[[], jn.AbstractNeuron]
    stimulus: jn.AbstractStimulus
    t1: float
    dt: float
    param: str
    spikes: tuple[int, int]

    @property
    def spiking(self) -> bool:
        """Whether the model is a threshold-and-reset model (from its abstract type)."""
        return isinstance(self.make(), AbstractSpikingNeuron)

    @property
    def value(self) -> float:
        """The parameter's default value in `make()`."""
        return float(getattr(self.make(), self.param))

    def with_value(self, value) -> jn.AbstractNeuron:
        """`make()` with `param` set to `value` (a float or a traced scalar)."""
        return eqx.tree_at(lambda m: getattr(m, self.param), self.make(),
                           jnp.asarray(value, dtype=float))

    def __str__(self):
        return self.id


MODELS: list[ModelCase] = [
    # HH: 10 µA/cm² is above the repetitive-firing threshold (~6 µA/cm²): a spike within
    # ~3 ms, then one every ~15 ms; g_K sets the repolarisation and the interval.
    ModelCase("HodgkinHuxley", jn.HodgkinHuxley, jn.StepCurrent(10.0), 20.0, 0.025, "g_K",
              (1, 3)),
    # Resting membrane: 1 µA/cm² depolarises V by ~5 mV with a ~10 ms time constant; C_m
    # sets the time course (not the rest, so V(0) is the same for every C_m).
    ModelCase("RestingMembrane", jn.RestingMembrane, jn.StepCurrent(1.0), 20.0, 0.1, "C_m",
              (0, 0)),
    # LIF: 2 nA x 10 MΩ = 20 mV drive, 15 mV to threshold: spikes every ~16 ms, 3 in 50 ms.
    # tau_m scales every interval (10 ms x ln 4 + 2 ms refractory).
    ModelCase("LIF", jn.LIF, jn.StepCurrent(2.0), 50.0, 0.05, "tau_m", (3, 3)),
    # Izhikevich RS under I = 10: 3 adapting spikes in 100 ms; `a` as in issue 18.
    ModelCase("Izhikevich", lambda: jn.Izhikevich.preset("RS"), jn.StepCurrent(10.0), 100.0,
              0.05, "a", (3, 4)),
    # AdEx (Brette & Gerstner 2005 cell): 800 pA, above the ~550 pA rheobase: 3 spikes.
    ModelCase("AdEx", jn.AdEx, jn.StepCurrent(800.0), 100.0, 0.05, "C", (3, 5)),
    # COBA cell: 150 pA over a 100 pA rheobase (10 nS x 10 mV): 3 spikes in 100 ms.
    # Interval 20 ms x ln 3 + 5 ms refractory ~ 27 ms.
    ModelCase("ConductanceLIF", jn.ConductanceLIF, jn.StepCurrent(150.0), 100.0, 0.05, "C",
              (3, 4)),
    # L5 pyramidal preset: 600 pA over its ~380 pA rheobase: 4 adapting spikes in 60 ms.
    ModelCase("GeneralizedNeuron", lambda: jn.GeneralizedNeuron.preset("pyramidal", "cortex"),
              jn.StepCurrent(600.0), 60.0, 0.05, "C", (3, 6)),
    # Imported from Brian2 strings (jaxneuron.imports.catalog): the same equations as the
    # built-in HH (a gated model found by the importer), so the same run. Imported spiking
    # models are checked against the built-ins in test_import_brian2.py.
    ModelCase("Brian2HH", lambda: _imported("HH"), jn.StepCurrent(10.0), 20.0, 0.025, "gK",
              (1, 3)),
]


@dataclasses.dataclass(frozen=True, eq=False)
class EngineCase:
    """One engine of the matrix: a factory, and the kind of model it runs (`spiking`:
    threshold-and-reset models, i.e. `AbstractSpikingNeuron`s; else smooth models)."""

    id: str
    make: Callable[[], jn.engines.AbstractEngine]
    spiking: bool

    def __str__(self):
        return self.id


# Adaptive engines at tolerances tight enough for finite-difference checks in float64. The
# cases of `MODELS` take at most ~2000 steps at these tolerances (HH); a budget of 4096
# (16^3) instead of 10^6 makes the bounded and checkpointed loops one level shallower,
# which cuts their compile time by about a quarter. A run over budget is flagged (ok False).
_TIGHT = dict(rtol=1e-10, atol=1e-10, max_steps=4096)
ENGINES: list[EngineCase] = [
    EngineCase("FixedSteps", jn.FixedSteps, spiking=False),
    EngineCase("AdaptiveSteps", lambda: jn.AdaptiveSteps(**_TIGHT), spiking=False),
    EngineCase("ClockSpiking", jn.ClockSpiking, spiking=True),
    EngineCase("ExactSpiking", lambda: jn.ExactSpiking(**_TIGHT), spiking=True),
]


def supports(model_case: ModelCase, engine_case: EngineCase) -> bool:
    """Whether the engine can run the model: spiking engines run `AbstractSpikingNeuron`s,
    the others smooth models (decided by the model's abstract type)."""
    return model_case.spiking == engine_case.spiking


def engine_to_use(model_case: ModelCase) -> str:
    """The engines a ValueError should point a model to (a regex for `pytest.raises`)."""
    if model_case.spiking:
        return r"ClockSpiking\(\) or engine=ExactSpiking\(\)"
    return r"FixedSteps\(\) or engine=AdaptiveSteps\(\)"


# What a run records of its spikes (`simulate(record=...)`): the spike-time list (the
# default), online statistics without a list (`sweep`'s default for `spike_summary`), both,
# and the count only. tests/test_recording.py runs every model with every engine and each.
RECORDS: list[tuple[str, jn.engines.SpikeRecord]] = [
    ("times", jn.engines.SpikeRecord()),
    ("stats", jn.engines.SpikeRecord(times=False, stats=True)),
    ("times+stats", jn.engines.SpikeRecord(stats=True)),
    ("count", jn.engines.SpikeRecord(times=False)),
]
