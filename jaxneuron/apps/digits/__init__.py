"""Learning with spiking networks: the 8x8 digits task (`digits`), a layered
conductance-LIF classifier built with `jaxneuron.network` (`layered`, with the spike-source
populations of `sources`), and its training by evolution strategies (`evolution`, evosax)
by surrogate gradients through the network engine (`gradient`, Optax), and by unsupervised
STDP with a trained readout (`stdp`); shared loss,
evaluation and method registry in `training`, checkpoints in `checkpoint`."""

from . import checkpoint, digits, evolution, gradient, layered, sources, stdp, training
from .digits import DigitsSplit, load_split
from .layered import LayeredNetwork, LayeredWeights, Readout, init_weights
from .sources import LatencySource, PoissonRelay, SpikeCounter
from .training import METHODS, TrainResult, evaluate

__all__ = [
    "METHODS", "DigitsSplit", "LatencySource", "LayeredNetwork", "LayeredWeights",
    "PoissonRelay", "Readout", "SpikeCounter", "TrainResult", "checkpoint", "digits",
    "evaluate", "evolution", "gradient", "init_weights", "layered", "load_split", "sources",
    "stdp", "training",
]
