"""`fit` and `fit_restarts` stop when converged and say why (issue 28, item 4).

A passive membrane (LIF with an unreachable threshold) under a step: the voltage is
linear in R and smooth in tau_m, the data are noise-free, so L-BFGS drives the loss to
round-off (or exactly 0) within about 15 updates and then cannot improve it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxneuron as jn
from jaxneuron.inference import LogUniform, Prior, fit_restarts

PASSIVE = {"t1": 30.0, "dt": 0.5, "save_every": 1.0}
STIM = jn.StepCurrent(1.5)
TRUTH = {"R": 12.0, "tau_m": 10.0}


def target():
    return jn.simulate(jn.LIF(V_th=1000.0, **TRUTH), STIM, **PASSIVE).v


def fit_passive(start, **options):
    return jn.fit(jn.LIF(V_th=1000.0, **start), STIM, target(), params=list(start),
                  progress=False, **PASSIVE, **options)


def test_a_fit_that_converges_in_a_few_steps_takes_a_few_steps():
    result = fit_passive({"R": 8.0, "tau_m": 14.0}, steps=300)
    assert result.steps < 20
    assert result.stop_reason.startswith(("converged", "target"))
    history = result.loss_history
    assert len(history) == result.steps + 1 == len(result.param_history["R"])
    assert result.params == pytest.approx(TRUTH, rel=1e-6)
    assert result.loss == history.min() < 1e-20
    if result.stop_reason.startswith("converged"):  # the last 5 losses brought no gain
        assert history[-5:].min() >= history[:-5].min() * (1 - 1e-6)
    else:
        assert history[-1] == 0.0 and np.all(history[:-1] > 0.0)


def test_target_loss_stops_at_the_first_loss_at_or_below_it():
    result = fit_passive({"R": 8.0, "tau_m": 14.0}, steps=300, target_loss=1e-2)
    history = result.loss_history
    assert result.stop_reason.startswith("target") and "1e-02" not in result.stop_reason
    assert history[-1] <= 1e-2 and np.all(history[:-1] > 1e-2)
    assert result.steps == len(history) - 1


def test_a_start_at_the_optimum_warns_and_makes_no_update():
    with pytest.warns(UserWarning, match="no update"):
        result = fit_passive(dict(TRUTH), steps=50)
    assert result.steps == 0 and result.loss == 0.0
    assert result.stop_reason == "target: the loss reached 0"


def test_a_fit_still_improving_keeps_going_to_max_steps():
    result = fit_passive({"R": 8.0}, steps=8, optimizer=optax.sgd(1e-3))
    history = result.loss_history
    assert np.all(np.diff(history) < -1e-3 * history[:-1])  # still gaining > 0.1 % a step
    assert result.steps == 8 and result.stop_reason.startswith("max steps")
    no_stop = fit_passive({"R": 8.0}, steps=8, optimizer=optax.sgd(1e-3), patience=None,
                          target_loss=None)
    np.testing.assert_array_equal(no_stop.loss_history, history)


def test_restarts_stop_one_by_one_and_the_call_ends_when_all_have():
    prior = Prior({"R": LogUniform(2.0, 40.0)})
    result = fit_restarts(jn.LIF(V_th=1000.0, tau_m=TRUTH["tau_m"]), STIM, target(),
                          prior=prior, key=jax.random.key(0), n_restarts=3, steps=100,
                          **PASSIVE)
    assert np.all(result.steps < 30)  # 100 allowed: each stopped on its own
    assert all(r.startswith(("converged", "target")) for r in result.stop_reason)
    assert result.loss_history.shape == (3, result.steps.max() + 1)
    for history, steps, loss in zip(result.loss_history, result.steps, result.loss,
                                    strict=True):
        assert np.all(np.isfinite(history[: steps + 1])) and np.all(np.isnan(history[steps + 1:]))
        assert loss == np.nanmin(history)
    assert result.best["R"] == pytest.approx(TRUTH["R"], rel=1e-6)


def test_a_restart_whose_loss_fails_stops_there_and_sorts_last():
    def loss(trace, target):  # undefined (NaN) where V rises more than 28.5 mV: R > 20
        rise = trace.v[-1] - trace.v[0]
        return jnp.where(rise > 1.5 * 20.0 * (1 - np.exp(-3.0)), jnp.nan,
                         jn.voltage_mse(trace, target))

    result = fit_restarts(jn.LIF(V_th=1000.0, tau_m=TRUTH["tau_m"]), STIM, target(),
                          prior=Prior({"R": (2.0, 40.0)}), key=jax.random.key(0),
                          n_restarts=4, steps=10, loss=loss, **PASSIVE)
    failed = result.start[:, 0] > 20.0
    assert 0 < failed.sum() < 4  # both kinds present
    assert np.all(np.diff(failed.astype(int)) >= 0)  # the failed ones come last
    for bad, reason, steps, value in zip(failed, result.stop_reason, result.steps,
                                         result.loss, strict=True):
        assert reason.startswith("failed") == bad
        assert (steps == 0 and value == np.inf) if bad else np.isfinite(value)
