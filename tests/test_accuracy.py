"""The accuracy estimate of fixed-step runs (`jaxneuron.engines.accuracy`): coarse steps are
flagged (status 7, a warning: `ok` stays True), fine ones are not; the estimate is the
actual one-step error (checked against SciPy at tight tolerance) and shrinks with dt at the
solver's order; spikes, resets and declared input jumps never raise it; it works under
jit, vmap and grad; `sweep` counts flagged sets; the CLI prints one line of advice.

Expected values are independent of the code: spike counts of HH under 10 µA/cm² (4 in
50 ms, SciPy at 1e-10), the local error of a step from SciPy's solution over that step,
and the local-error order p + 1 of a solver of order p."""

from __future__ import annotations

import warnings
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jaxneuron as jn
from jaxneuron.apps.workflows import hh_simulate
from jaxneuron.baselines.scipy_models import hh_vector_field, step_current
from jaxneuron.engines.accuracy import V_TOLERANCE, _round_down, advice
from jaxneuron.trace import STATUS_INACCURATE, STATUS_OK, STATUS_SPIKES_OVERFLOWED

HH_PARAMS = dict(g_Na=120.0, g_K=36.0, g_L=0.3, E_Na=50.0, E_K=-77.0, E_L=-54.387, C_m=1.0,
                 temperature_c=6.3)


def _hh(dt, t1=20.0, max_spikes=64, **params):
    return jn.simulate(jn.HodgkinHuxley(**params), jn.StepCurrent(10.0), t1=t1, dt=dt,
                       throw=False, max_spikes=max_spikes)


def test_hh_parameters_match_the_scipy_baseline():
    model = jn.HodgkinHuxley()
    for name, value in HH_PARAMS.items():
        assert float(getattr(model, name)) == pytest.approx(value), name


@pytest.mark.parametrize("dt", [0.5, 1.0])
def test_coarse_hh_is_flagged_and_keeps_ok(dt):
    trace = _hh(dt)
    assert int(trace.status) == STATUS_INACCURATE
    assert bool(trace.ok)
    assert float(trace.accuracy.error) > 1
    assert float(trace.accuracy.v_error) > V_TOLERANCE
    assert 0 < float(trace.accuracy.dt_hint) < dt


def test_fine_hh_is_not_flagged():
    trace = _hh(0.025)
    assert int(trace.status) == STATUS_OK and int(trace.n_spikes) == 2  # at ~2 and ~16 ms
    assert float(trace.accuracy.error) < 0.1  # far from the line, not just under it


@pytest.mark.parametrize("dt, status", [(1.0, STATUS_INACCURATE), (0.1, STATUS_OK)])
def test_izhikevich_heun_coarse_flagged_fine_not(dt, status):
    trace = jn.simulate(jn.Izhikevich.preset("RS"), jn.StepCurrent(10.0), t1=100.0, dt=dt,
                        throw=False)
    assert int(trace.status) == status
    assert int(trace.n_spikes) >= 3  # resets inside the run: excluded, not false alarms


def test_many_resets_raise_no_false_alarm():
    # a fast-spiking Izhikevich cell (~20 resets in 100 ms) at a fine step: each reset moves
    # v by ~95 mV in one step, which the estimate must not count as error
    trace = jn.simulate(jn.Izhikevich.preset("FS"), jn.StepCurrent(10.0), t1=100.0, dt=0.025,
                        throw=False)
    assert int(trace.n_spikes) >= 10
    assert int(trace.status) == STATUS_OK
    assert float(trace.accuracy.v_error) < 0.1


def _scipy_hh_step(y, t, dt):
    sol = solve_ivp(hh_vector_field, (t, t + dt), y, args=(HH_PARAMS, step_current(10.0)),
                    method="DOP853", rtol=1e-12, atol=1e-12)
    return sol.y[:, -1]


@pytest.mark.parametrize("dt", [0.025, 0.5])
def test_estimate_is_the_actual_one_step_error(dt):
    # the engine's states before and after each step are saved (every step); SciPy
    # integrates each probed step from the same start: the difference is the actual local
    # error of V
    trace = _hh(dt)
    t = float(trace.accuracy.t)
    states = np.asarray(trace.states)
    k = int(round(t / dt))
    # the reported step is the probed step that errs most
    actual = abs(states[k + 1, 0] - _scipy_hh_step(states[k], k * dt, dt)[0])
    estimate = float(trace.accuracy.v_error)
    assert actual / 3 < estimate < 3 * actual, (estimate, actual)


class Passive(jn.AbstractNeuron):
    """tau dV/dt = E - V + R I: V in mV, tau in ms, R I in mV (R = 1 MΩ, I in nA)."""

    state_names: ClassVar[tuple[str, ...]] = ("V",)
    tau: float = 2.0
    E: float = -70.0

    def initial_state(self):
        return jnp.array([self.E])

    def vector_field(self, t, y, args):
        return (self.E - y + args) / self.tau

    def voltage(self, y):
        return y[0]


class SineDrive(jn.AbstractStimulus):
    """`amplitude` sin(t / 1 ms), nA: smooth, so every step of a run can be probed."""

    amplitude: float = 200.0

    def __call__(self, t):
        return self.amplitude * jnp.sin(t)


@pytest.mark.parametrize("solver, order", [("euler", 1), ("heun", 2), ("midpoint", 2)])
def test_estimate_shrinks_at_the_solvers_order(solver, order):
    dts = np.array([0.2, 0.1, 0.05, 0.025])
    errors = []
    for dt in dts:
        trace = jn.simulate(Passive(), SineDrive(), t1=4.0, dt=dt, solver=solver,
                            throw=False)
        errors.append(float(trace.accuracy.v_error))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - (order + 1)) < 0.35, (slope, errors)


class UndeclaredStep(jn.AbstractStimulus):
    """A step current that does not declare its jump (discontinuities() is empty)."""

    amplitude: float
    t_start: float

    def __call__(self, t):
        return jnp.where(t >= self.t_start, self.amplitude, 0.0)


def test_declared_input_jumps_are_not_probed():
    # a 500-mV drive switched on 0.02 ms into a 0.1-ms step: Tsit5's stages see it for a
    # different share of the step than the truth, an error of ~ 500 * 0.02 / 2 = 5 mV;
    # a declared jump excludes the step (and its neighbour), an undeclared one is flagged
    kw = dict(t1=3.0, dt=0.1, throw=False)
    declared = jn.simulate(Passive(), jn.StepCurrent(500.0, t_start=1.02), **kw)
    hidden = jn.simulate(Passive(), UndeclaredStep(500.0, 1.02), **kw)
    assert int(declared.status) == STATUS_OK
    assert float(hidden.accuracy.v_error) > 10 * float(declared.accuracy.v_error)


def test_accuracy_false_skips_the_estimate():
    trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(10.0), t1=20.0, dt=1.0,
                        engine=jn.FixedSteps(accuracy=False), throw=False)
    assert int(trace.n_spikes) == int(_hh(1.0).n_spikes)  # the same run, not estimated
    assert trace.accuracy is None and int(trace.status) == STATUS_OK
    trace = jn.simulate(jn.Izhikevich.preset("RS"), jn.StepCurrent(10.0), t1=50.0, dt=1.0,
                        engine=jn.ClockSpiking(accuracy=False), throw=False)
    assert trace.accuracy is None and int(trace.status) == STATUS_OK


def test_inaccurate_outranks_an_overflowed_spike_list():
    trace = _hh(1.0, t1=50.0, max_spikes=1)  # spikes into a list of 1 (status 3), coarse
    assert int(trace.n_spikes) >= 2
    assert int(trace.status) == STATUS_INACCURATE  # 7 comes before 3 in STATUS_PRECEDENCE


@pytest.mark.slow
def test_throw_warns_instead_of_raising_and_not_under_jit():
    with pytest.warns(UserWarning, match=r"dt=1 ms is too coarse .* try dt <= 0\.\d+ ms"):
        trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(10.0), t1=20.0, dt=1.0)
    assert bool(trace.ok)

    @jax.jit
    def status(amplitude):
        return jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(amplitude), t1=20.0,
                           dt=1.0).status

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert int(status(10.0)) == STATUS_INACCURATE


@pytest.mark.slow
def test_vmap_and_grad():
    def run(dt):
        return jax.vmap(lambda g: jn.simulate(jn.HodgkinHuxley(g_K=g), jn.StepCurrent(10.0),
                                              t1=20.0, dt=dt, throw=False).status)
    assert np.all(np.asarray(run(1.0)(jnp.array([30.0, 36.0]))) == STATUS_INACCURATE)

    def loss(g_k):
        trace = _hh(0.5, g_K=g_k)
        return jnp.mean(trace.v) + trace.accuracy.error

    def loss_without(g_k):
        return jnp.mean(_hh(0.5, g_K=g_k).v)

    grad = jax.grad(loss)(36.0)
    assert np.isfinite(grad)  # the estimate carries no gradient (stop_gradient)
    assert float(grad) == pytest.approx(float(jax.grad(loss_without)(36.0)), rel=1e-12)


def test_sweep_counts_inaccurate_sets_as_flagged():
    with pytest.warns(RuntimeWarning, match="the fixed step's local error"):
        result = jn.sweep(jn.HodgkinHuxley(), {"g_K": np.array([36.0, 30.0])},
                          jn.StepCurrent(10.0), t1=20.0, dt=1.0, progress=False)
    assert list(result.status) == [STATUS_INACCURATE] * 2
    assert list(result.failed) == [0, 1]


def test_cli_simulate_prints_one_line_of_advice(tmp_path):
    lines = []
    summary = hh_simulate.run(tmp_path, t1=20.0, dt=1.0, log=lines.append)
    advice_lines = [line for line in lines if "too coarse" in line]
    assert len(advice_lines) == 1 and "\n" not in advice_lines[0]
    assert "try dt <=" in advice_lines[0]
    assert summary["n_spikes"] == int(_hh(1.0).n_spikes)  # the coarse run's own count
    lines.clear()
    hh_simulate.run(tmp_path, t1=20.0, dt=0.025, log=lines.append)
    assert not any("too coarse" in line for line in lines)


def test_advice_rounds_the_step_down_to_a_plain_number():
    assert [_round_down(x) for x in (0.435, 0.112, 0.03, 1.0, 0.26)] == [0.25, 0.1, 0.025,
                                                                           1.0, 0.25]
    trace = _hh(1.0, t1=20.0)
    assert "status 7" in advice(trace.accuracy, 1.0)


def test_overflow_alone_keeps_status_3():
    trace = _hh(0.025, max_spikes=1)
    assert int(trace.status) == STATUS_SPIKES_OVERFLOWED


def test_coarse_spike_count_estimate_keeps_flagged_counts():
    # the cost pre-pass of an exact sweep runs at a coarse step on purpose: a set flagged 7
    # there still has its spike count (Izhikevich RS at dt = 1 ms: flagged, 3 spikes in
    # 100 ms as at fine steps)
    counts = jn.estimate_spike_counts(jn.Izhikevich.preset("RS"), {"d": np.array([8.0, 8.0])},
                                      jn.StepCurrent(10.0), dt=1.0, t1=100.0)
    assert np.all(np.isfinite(counts)) and list(counts) == [3, 3]
