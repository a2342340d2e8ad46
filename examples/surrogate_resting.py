"""Learned surrogate of the resting membrane: an LSTM trained on simulated trajectories,
judged by its free-running rollout on held-out runs, and timed against the solver.

    python examples/surrogate_resting.py [--out results/surrogate_resting] [--quick]

The same as `jaxneuron surrogate resting`: see
`jaxneuron/apps/workflows/surrogate_resting.py` for what it writes.
"""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.surrogate import run_resting

example_main(run_resting, "results/surrogate_resting")
