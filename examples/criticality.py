"""Avalanches and branching ratio of a conductance-LIF network, tuned to criticality
(`jaxneuron criticality`)."""

from jaxneuron.workflows._output import example_main
from jaxneuron.workflows.criticality import run

if __name__ == "__main__":
    example_main(run, "results/criticality")
