"""f-I curves of Hodgkin–Huxley, LIF, Izhikevich and AdEx next to sigmoid, tanh, ReLU and
softplus fitted to them (`jaxneuron bio-vs-artificial`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.bio_vs_artificial import run

if __name__ == "__main__":
    example_main(run, "results/bio_vs_artificial")
