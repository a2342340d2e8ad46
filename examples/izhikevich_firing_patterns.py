"""Izhikevich (2003) firing patterns, clock vs exact spike times, and spike-time gradients.

    python examples/izhikevich_firing_patterns.py [--out results/spiking] [--quick]

The same as `jaxneuron spiking`: see `jaxneuron/apps/workflows/spiking.py` for what it writes.
"""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.spiking import run

example_main(run, "results/spiking")
