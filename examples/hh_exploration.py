"""Hodgkin–Huxley exploration: how g_Na, g_K, g_L, E_L, C_m, temperature and the step
amplitude change the trace, f-I curve, rheobase and spike shape (`jaxneuron hh-explore`)."""

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.hh_exploration import run

if __name__ == "__main__":
    example_main(run, "results/hh_exploration")
