"""jaxneuron: JAX-accelerated, differentiable neuron simulation."""

from . import (
    analysis,
    baselines,
    biophysics,
    engines,
    inference,
    learning,
    network,
    spike_surrogates,
    surrogate,
    workflows,
)
from ._fields import batch_axes, param, parameter_names
from .engines import (
    AbstractEngine,
    AdaptiveSteps,
    ClockSpiking,
    ExactSpiking,
    FixedSteps,
)
from .engines.solvers import ExponentialEuler, ExponentialMidpoint, StaggeredExponential
from .engines.terms import neuron_term
from .fit import FitResult, fit, spike_time_mse, voltage_mse
from .models import (
    LIF,
    AbstractGatedNeuron,
    AbstractNeuron,
    AbstractSpikingNeuron,
    AdEx,
    ConductanceLIF,
    GeneralizedNeuron,
    HodgkinHuxley,
    Izhikevich,
    RestingMembrane,
)
from .simulate import simulate
from .spike_surrogates import Arctan, FastSigmoid, Sigmoid, Triangle
from .stimuli import (
    AbstractStimulus,
    PulseTrain,
    RampCurrent,
    SampledCurrent,
    SineCurrent,
    SpikeInput,
    StepCurrent,
)
from .sweep import SweepResult, estimate_spike_counts, spike_summary, sweep
from .trace import Trace
from .transforms import Bounded, Identity, LogBounded, Negative, Positive

__version__ = "0.1.0"

__all__ = [
    "RestingMembrane",
    "biophysics",
    "LIF",
    "AbstractSpikingNeuron",
    "AdEx",
    "Arctan",
    "ConductanceLIF",
    "GeneralizedNeuron",
    "FastSigmoid",
    "Izhikevich",
    "Sigmoid",
    "SpikeInput",
    "Triangle",
    "Bounded",
    "FitResult",
    "Identity",
    "LogBounded",
    "Negative",
    "Positive",
    "SweepResult",
    "baselines",
    "batch_axes",
    "fit",
    "parameter_names",
    "estimate_spike_counts",
    "spike_summary",
    "sweep",
    "spike_time_mse",
    "voltage_mse",
    "AbstractGatedNeuron",
    "AbstractNeuron",
    "AbstractStimulus",
    "ExponentialEuler",
    "ExponentialMidpoint",
    "HodgkinHuxley",
    "neuron_term",
    "StaggeredExponential",
    "AbstractEngine",
    "AdaptiveSteps",
    "ClockSpiking",
    "ExactSpiking",
    "FixedSteps",
    "engines",
    "param",
    "PulseTrain",
    "RampCurrent",
    "SampledCurrent",
    "SineCurrent",
    "StepCurrent",
    "Trace",
    "analysis",
    "workflows",
    "inference",
    "learning",
    "network",
    "surrogate",
    "spike_surrogates",
    "simulate",
]
