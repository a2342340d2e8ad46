"""The 1000-neuron random Izhikevich (2003) network: raster and population spectrum
(`jaxneuron izhikevich-network`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.izhikevich_network import run

if __name__ == "__main__":
    example_main(run, "results/izhikevich_network")
