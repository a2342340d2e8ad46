"""Resting membrane potential: relaxation to rest, rest vs [K]o (GHK vs Nernst vs simulation),
and the run-down after a pump block.

    python examples/resting_potential.py [--out results/resting] [--quick]

The same as `jaxneuron resting`: see `jaxneuron/workflows/resting.py` for what it writes.
"""

import argparse

from jaxneuron.workflows.resting import run

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="results/resting")
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
run(args.out, quick=args.quick)
