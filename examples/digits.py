"""Classify scikit-learn's 8x8 digits with a layered conductance-LIF network trained by
surrogate gradients (`jaxneuron digits`; use the CLI's `--method evolution` for the evosax
GA and OpenES)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.digits import run

if __name__ == "__main__":
    example_main(run, "results/digits/gradient")
