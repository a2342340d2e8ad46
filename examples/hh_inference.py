"""Bayesian inference of Hodgkin–Huxley g_Na and g_K from a noisy voltage trace: amortized
NPE with its coverage, checked against NUTS through the solver by a C2ST
(`jaxneuron infer --method npe`; `--method nuts` and `--method fit` run the other routes)."""

from functools import partial

from jaxneuron.apps.output import example_main
from jaxneuron.apps.workflows.infer import run

if __name__ == "__main__":
    example_main(partial(run, method="npe"), "results/infer")
