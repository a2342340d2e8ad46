"""The engine layer: options build the right engine, bad pairings are clear errors, and the
unrolled fixed-step Runge-Kutta step equals Diffrax's own step."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.engines import build_engine, default_engine, forward_mode
from jaxneuron.engines.solvers import solver_from_name
from jaxneuron.engines.solvers.runge_kutta import fixed_step, unrolls
from jaxneuron.engines.terms import SpikingVectorField, local_time_term, neuron_term

HH, LIF, STEP = jn.HodgkinHuxley(), jn.LIF(), jn.StepCurrent(10.0)


@pytest.mark.parametrize(("model", "options", "expected"), [
    (HH, {}, jn.FixedSteps()),
    (HH, dict(stepsize="adaptive", rtol=1e-8), jn.AdaptiveSteps(rtol=1e-8)),
    (HH, dict(solver="tsit5"), jn.FixedSteps("tsit5")),
    (LIF, {}, jn.ClockSpiking()),
    (LIF, dict(spiking="exact", atol=1e-9), jn.ExactSpiking(atol=1e-9)),
    (LIF, dict(surrogate=jn.FastSigmoid(0.5)), jn.ClockSpiking(surrogate=jn.FastSigmoid(0.5))),
])
def test_string_options_build_the_engine(model, options, expected):
    engine = build_engine(model, **options)
    assert type(engine) is type(expected)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(np.all(a == b)), engine, expected))


def test_default_engine_follows_the_model_type():
    assert isinstance(default_engine(HH), jn.FixedSteps)
    assert isinstance(default_engine(LIF), jn.ClockSpiking)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: build_engine(HH, jn.FixedSteps(), solver="tsit5"), "fields of the engine"),
    (lambda: build_engine(HH, "fixed"), "engine must be"),
    (lambda: build_engine(HH, spiking="exact"), "spiking model"),
    (lambda: build_engine(HH, surrogate=jn.FastSigmoid()), "spiking model"),
    (lambda: build_engine(LIF, stepsize="adaptive"), "spiking='clock'"),
    (lambda: build_engine(LIF, spiking="exact", surrogate=jn.FastSigmoid()), "clock"),
    (lambda: build_engine(LIF, adjoint=diffrax.BacksolveAdjoint()), "adjoint"),
    (lambda: jn.AdaptiveSteps(rtol=0.0), "rtol"),
    (lambda: jn.ExactSpiking(max_steps=0), "max_steps"),
    (lambda: jn.ClockSpiking(solver="rk99"), "solver must be one of"),
    (lambda: jn.ClockSpiking(surrogate=0.5), "surrogate"),
    (lambda: jn.simulate(HH, STEP, t1=5.0, engine=jn.AdaptiveSteps("euler")), "error estimate"),
    (lambda: jn.simulate(LIF, STEP, t1=5.0, engine=jn.ExactSpiking("staggered")),
     "error estimate"),
    (lambda: jn.simulate(LIF, STEP, t1=5.0, engine=jn.ClockSpiking("kvaerno5")), "implicit"),
    (lambda: jn.simulate(HH, STEP, t1=5.0, engine=jn.ClockSpiking()), "FixedSteps"),
    (lambda: jn.simulate(LIF, STEP, t1=5.0, engine=jn.AdaptiveSteps()), "ClockSpiking"),
    (lambda: jn.simulate(HH, jn.SpikeInput([1.0], [[1.0, 0, 0, 0]]), t1=5.0), "spiking model"),
    (lambda: forward_mode(jn.ExactSpiking(adjoint=diffrax.BacksolveAdjoint())),
     "reverse mode only"),
])
def test_bad_engine_options_are_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_forward_mode_swaps_only_reverse_only_adjoints():
    assert isinstance(forward_mode(jn.AdaptiveSteps()).adjoint, diffrax.DirectAdjoint)
    assert isinstance(forward_mode(jn.ExactSpiking()).adjoint, diffrax.DirectAdjoint)
    kept = jn.ExactSpiking(adjoint=diffrax.ForwardMode())
    assert forward_mode(kept) is kept
    fixed = jn.ClockSpiking()
    assert forward_mode(fixed) is fixed


@pytest.mark.parametrize("solver", [diffrax.Heun(), diffrax.Midpoint(), diffrax.Ralston(),
                                    diffrax.Bosh3(), diffrax.Tsit5(), diffrax.Dopri5(),
                                    diffrax.Dopri8()])
def test_unrolled_runge_kutta_step_equals_diffrax_step(solver):
    """The unrolled stages (FSAL stage skipped) give Diffrax's own step to rounding."""
    assert unrolls(solver)
    term = local_time_term(neuron_term(HH, jn.SineCurrent(5.0, 0.2)), jnp.asarray(3.0))
    y = jnp.array([-40.0, 0.2, 0.5, 0.4])
    ours, _ = fixed_step(solver, term, 0.05, y, None, None)
    state = solver.init(term, 0.0, 0.05, y, None)
    theirs = solver.step(term, 0.0, 0.05, y, None, state, made_jump=False)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13)


@pytest.mark.slow  # 15-20 s on 2 idle cores; keeps make test under 15 min
def test_unrolled_step_differentiates_in_both_modes():
    """Forward and reverse derivatives of a tsit5 clock run agree (the old checkpointed
    stage loop had no forward mode)."""

    def first_spike(a):
        return jn.simulate(jn.Izhikevich.preset("RS", a=a), STEP, t1=60.0, dt=0.05,
                           engine=jn.ClockSpiking("tsit5")).spike_times[1]

    forward = jax.jacfwd(first_spike)(0.02)
    reverse = jax.grad(first_spike)(0.02)
    central = (first_spike(0.02 + 1e-6) - first_spike(0.02 - 1e-6)) / 2e-6
    np.testing.assert_allclose(forward, reverse, rtol=1e-10)
    np.testing.assert_allclose(forward, central, rtol=1e-4)


@pytest.mark.parametrize("engine", [jn.ExactSpiking(rtol=1e-10, atol=1e-10),
                                    jn.AdaptiveSteps(rtol=1e-8)])
def test_a_tolerance_finer_than_float32_resolves_is_a_value_error(engine):
    from jaxneuron.engines.base import check_precision

    with pytest.raises(ValueError, match=r"rtol=1e-\d+ is below what float32 states resolve"):
        check_precision(engine, jnp.float32)
    check_precision(engine, jnp.float64)  # fine in float64
    check_precision(jn.ExactSpiking(), jnp.float32)  # the default rtol 1e-6 is fine


@pytest.mark.parametrize("name", ["exp_euler", "exp_midpoint"])
def test_exponential_solvers_step_the_same_on_columns_as_on_the_stacked_state(name):
    # The clock engine steps these solvers column by column (`step_columns`); the result
    # must be the solver's own `step` on the stacked state, clamped state slowed included.
    solver = solver_from_name(name)
    model, drive = jn.ConductanceLIF(), jn.StepCurrent(150.0)
    y, t, dt, free = jnp.array([-55.0, 12.0, 40.0]), 3.0, 0.1, 0.4
    term = local_time_term(diffrax.ODETerm(SpikingVectorField(model, drive, clock=True)), t)
    stacked = solver.step(term, 0.0, dt, y, free, None, False)[0]
    held = set(model.clamped_states)

    def split(tau, columns):
        rate, target = model.exponential_split(t + tau, jnp.stack(columns), drive(t + tau))
        return (tuple(r * free if i in held else r for i, r in enumerate(rate)),
                tuple(target))

    columns = solver.step_columns(split, dt, tuple(y))
    np.testing.assert_allclose(jnp.stack(columns), stacked, rtol=1e-14)
    assert not np.allclose(stacked, y)  # the step moved every state
