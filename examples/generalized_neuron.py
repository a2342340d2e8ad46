"""GeneralizedNeuron cell types of cortex, cerebellum and brainstem: signatures, dendritic
attenuation, adaptation and STDP (`jaxneuron generalized-neuron`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.generalized import run

if __name__ == "__main__":
    example_main(run, "results/generalized_neuron")
