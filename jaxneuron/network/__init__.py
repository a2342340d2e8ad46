"""Spiking networks: populations of any jaxneuron spiking model, sparse connectivity,
synapses and inputs, simulated clock-driven in one `lax.scan` with event-driven synaptic
propagation (`simulate_network`)."""

from .connectivity import (
    Connectivity,
    all_to_all,
    fixed_in_degree,
    fixed_probability,
    from_edges,
    layered,
    ring,
    small_world,
)
from .engine import Network, NetworkResult, Population, Projection, simulate_network
from .inputs import AbstractRandomInput, CurrentInput, GaussianInput, PoissonInput
from .plasticity import STDP
from .synapses import AbstractSynapse, ExponentialCurrent, StateJump

__all__ = [
    "AbstractRandomInput", "AbstractSynapse", "Connectivity", "CurrentInput", "GaussianInput",
    "StateJump",
    "ExponentialCurrent", "Network", "NetworkResult", "PoissonInput", "Population",
    "Projection", "STDP", "all_to_all", "fixed_in_degree", "fixed_probability", "from_edges",
    "layered", "ring", "simulate_network", "small_world",
]
