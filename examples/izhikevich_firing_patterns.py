"""Izhikevich (2003) firing patterns, clock vs exact spike times, and spike-time gradients.

    python examples/izhikevich_firing_patterns.py [--out results/spiking] [--quick]

The same as `jaxneuron spiking`: see `jaxneuron/workflows/spiking.py` for what it writes.
"""

from jaxneuron.workflows._output import example_main
from jaxneuron.workflows.spiking import run

example_main(run, "results/spiking")
