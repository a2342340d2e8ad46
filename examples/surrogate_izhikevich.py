"""Learned surrogate of a 5-neuron Izhikevich network: 300 runs with random weights and
currents, split by run, a spike-gated MLP trained with Optax, judged free-running on
held-out runs (spike F1 within ±2 ms, voltage RMSE) and timed against the network engine.

    python examples/surrogate_izhikevich.py [--out results/surrogate_izhikevich] [--quick]

The same as `jaxneuron surrogate izhikevich`: see
`jaxneuron/apps/workflows/surrogate_izhikevich.py` for what it writes.
"""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.surrogate import run_izhikevich

example_main(run_izhikevich, "results/surrogate_izhikevich")
