"""Neuron models. Each concrete model lives in its own module."""

from .adex import AdEx
from .base import AbstractGatedNeuron, AbstractNeuron, AbstractSpikingNeuron
from .conductance_lif import ConductanceLIF
from .generalized import GeneralizedNeuron
from .hodgkin_huxley import HodgkinHuxley
from .izhikevich import Izhikevich
from .lif import LIF
from .resting import RestingMembrane

__all__ = ["AbstractNeuron", "AbstractGatedNeuron", "AbstractSpikingNeuron", "AdEx",
           "ConductanceLIF", "GeneralizedNeuron", "HodgkinHuxley", "Izhikevich", "LIF",
           "RestingMembrane"]
