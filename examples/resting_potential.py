"""Resting membrane potential: relaxation to rest, rest vs [K]o (GHK vs Nernst vs simulation),
and the run-down after a pump block.

    python examples/resting_potential.py [--out results/resting] [--quick]

The same as `jaxneuron resting`: see `jaxneuron/apps/workflows/resting.py` for what it writes.
"""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.resting import run

example_main(run, "results/resting")
