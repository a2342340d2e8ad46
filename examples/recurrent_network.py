"""A recurrent circuit of typed neurons with STDP, calibrated to the interneuron-rate and
onset-latency objectives (`jaxneuron recurrent-network`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.recurrent import run

if __name__ == "__main__":
    example_main(run, "results/recurrent_network")
