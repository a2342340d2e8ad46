"""jaxneuron: JAX-accelerated, differentiable neuron simulation."""

from . import analysis, baselines
from ._fields import batch_axes, parameter_names
from .fit import FitResult, fit, voltage_mse
from .models import AbstractGatedNeuron, AbstractNeuron, HodgkinHuxley
from .simulate import simulate
from .solvers import ExponentialEuler, ExponentialMidpoint, NeuronTerm
from .stimuli import (
    AbstractStimulus,
    PulseTrain,
    RampCurrent,
    SampledCurrent,
    SineCurrent,
    StepCurrent,
)
from .sweep import SweepResult, spike_summary, sweep
from .trace import Trace
from .transforms import Bounded, Identity, Negative, Positive

__version__ = "0.1.0"

__all__ = [
    "Bounded",
    "FitResult",
    "Identity",
    "Negative",
    "Positive",
    "SweepResult",
    "baselines",
    "batch_axes",
    "fit",
    "parameter_names",
    "spike_summary",
    "sweep",
    "voltage_mse",
    "AbstractGatedNeuron",
    "AbstractNeuron",
    "AbstractStimulus",
    "ExponentialEuler",
    "ExponentialMidpoint",
    "HodgkinHuxley",
    "NeuronTerm",
    "PulseTrain",
    "RampCurrent",
    "SampledCurrent",
    "SineCurrent",
    "StepCurrent",
    "Trace",
    "analysis",
    "simulate",
]
