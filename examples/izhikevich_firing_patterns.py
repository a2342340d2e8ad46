"""Izhikevich (2003) firing patterns, clock vs exact spike times, and spike-time gradients.

    python examples/izhikevich_firing_patterns.py [--out results/spiking] [--quick]

The same as `jaxneuron spiking`: see `jaxneuron/workflows/spiking.py` for what it writes.
"""

import argparse

from jaxneuron.workflows.spiking import run

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="results/spiking")
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
run(args.out, quick=args.quick)
