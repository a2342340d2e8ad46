"""Neuron models. Each concrete model lives in its own module."""

from .base import AbstractGatedNeuron, AbstractNeuron
from .hodgkin_huxley import HodgkinHuxley

__all__ = ["AbstractNeuron", "AbstractGatedNeuron", "HodgkinHuxley"]
