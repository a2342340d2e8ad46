"""Tests compare against references in float64."""

import jax

jax.config.update("jax_enable_x64", True)


# The heaviest cases of `make test` (12-45 s each on 2 cores), run by `make test-slow`
# instead: each one's kind is still covered in `make test` by a lighter case of the same
# test (another model, engine, parameter or mode).
HEAVY = {
    "tests/test_saving.py::test_save_states_under_jit_vmap_and_grad_equal_the_full_save"
    "[RestingMembrane-FixedSteps]",
    "tests/test_hodgkin_huxley.py::test_gradient_matches_central_finite_differences[g_Na]",
    "tests/test_matrix.py::test_gradient[Brian2HH-FixedSteps-reverse-vmap]",
    "tests/test_hodgkin_huxley.py::test_convergence_order_of_exponential_solvers[staggered-2]",
    "tests/test_saving.py::test_saving_some_states_keeps_v_spikes_and_the_kept_columns_of_the_"
    "full_save[Izhikevich-ClockSpiking]",
    "tests/test_matrix.py::test_gradient[RestingMembrane-FixedSteps-reverse-vmap]",
    "tests/test_matrix.py::test_gradient[GeneralizedNeuron-ClockSpiking-reverse-vmap]",
    "tests/test_hodgkin_huxley.py::test_spike_times_match_scipy_reference"
    "[tsit5-0.02-fixed-0.001]",
    "tests/test_saving.py::test_saving_some_states_keeps_v_spikes_and_the_kept_columns_of_the_"
    "full_save[HodgkinHuxley-FixedSteps]",
    "tests/test_matrix.py::test_gradient[HodgkinHuxley-FixedSteps-reverse-vmap]",
}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if item.nodeid in HEAVY:
            item.add_marker(pytest.mark.slow)
