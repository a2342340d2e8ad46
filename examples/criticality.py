"""Avalanches and branching ratio of a conductance-LIF network, tuned to criticality
(`jaxneuron criticality`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.criticality import run

if __name__ == "__main__":
    example_main(run, "results/criticality")
