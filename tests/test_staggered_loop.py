"""The fixed-step engine runs the staggered scheme with its loop rotated (it carries the
voltages and the half-step gates, and synchronises the gates only where they are used):
every saved state, the final state and the spike times must be those of the solver's own
unrotated step (`StaggeredExponential.step`) taken in a plain Python loop."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.engines.solvers import StaggeredExponential
from jaxneuron.engines.solvers.runge_kutta import init_fixed_step
from jaxneuron.engines.terms import local_time_term, neuron_term, step_input

DT, T1 = 0.025, 20.0
# on at 1 ms, off at 15.0125 ms (inside a step): the step means differ step by step
STIMULUS = jn.StepCurrent(20.0, t_start=1.0, t_stop=15.0125)


@functools.cache
def unrotated(n_steps):
    """HH's states under STIMULUS at every step and the upward 0-mV crossings, stepping
    `StaggeredExponential.step` on the stacked state as a Diffrax user would."""
    model, stimulus, solver = jn.HodgkinHuxley(), STIMULUS, StaggeredExponential()
    y = model.initial_state()

    def term_at(t):
        return local_time_term(neuron_term(model, step_input(stimulus, t, DT)), t)

    @jax.jit
    def step(t, y, state):
        return solver.step(term_at(t), 0.0, DT, y, None, state, False)

    state = init_fixed_step(solver, term_at(0.0), DT, y, None)
    states, spikes = [y], []
    for k in range(n_steps):
        t = k * DT
        y1, _, _, state, _ = step(t, y, state)
        if y[0] < 0.0 <= y1[0]:
            spikes.append(t + DT * float(y[0] / (y[0] - y1[0])))
        states.append(y1)
        y = y1
    return jnp.stack(states), np.asarray(spikes)


@pytest.mark.parametrize("save_every", [pytest.param(DT, marks=pytest.mark.slow), 2 * DT,
                                        pytest.param(1.0, marks=pytest.mark.slow),
                                        pytest.param(0, marks=pytest.mark.slow)])
def test_the_rotated_staggered_loop_saves_the_unrotated_steps_states(save_every):
    model = jn.HodgkinHuxley()
    n_steps = int(round(T1 / DT))
    states, spikes = unrotated(n_steps)
    trace = jn.simulate(model, STIMULUS, t1=T1, dt=DT, solver="staggered",
                        save_every=save_every, max_spikes=8)
    every = n_steps if save_every == 0 else int(round(save_every / DT))
    expected = states[::every]
    assert trace.states.shape == expected.shape
    np.testing.assert_allclose(trace.states, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(trace.final_state, states[-1], rtol=1e-12, atol=1e-12)
    assert int(trace.n_spikes) == len(spikes) >= 2  # the step current makes it fire
    np.testing.assert_allclose(trace.spike_times[: len(spikes)], spikes, atol=1e-10)
    assert int(trace.status) == 0
