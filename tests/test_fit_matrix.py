"""`fit`, `fit_restarts` and `run_nuts` with their default options on every model and engine
that can run it (issue 18), float64.

Synthetic data come from the true model with the same engine, so the loss is exactly zero
at the true parameter: a fit started 20 % away must land within 1 % of it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ENGINES, MODELS, supports

import jaxneuron as jn
from jaxneuron.inference import fit_restarts, run_nuts
from jaxneuron.inference.priors import Prior

STEPS = 20
START = 1.2  # the fit starts at 120 % of the true value

# The default run keeps LIF in clock mode (smooth fits run in tests/test_sweep_fit.py and
# tests/test_custom_model.py); the others, exact mode included, take 20-90 s each on a
# 2-core CPU and run with `-m slow`.
DEFAULT_RUN = {("LIF", "ClockSpiking")}


def _pairs():
    for m in MODELS:
        for e in ENGINES:
            if supports(m, e):
                slow = (m.id, e.id) not in DEFAULT_RUN
                yield pytest.param(m, e, id=f"{m.id}-{e.id}",
                                   marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize(("model_case", "engine_case"), list(_pairs()))
def test_fit_recovers_a_perturbed_parameter(model_case, engine_case):
    engine = engine_case.make()
    options = dict(t1=model_case.t1, dt=model_case.dt, engine=engine)
    truth = jn.simulate(model_case.make(), model_case.stimulus, **options)
    low, high = model_case.spikes
    assert bool(truth.ok) and low <= int(truth.n_spikes) <= high
    if model_case.spiking:
        target, loss = truth.spike_times[: int(truth.n_spikes)], jn.spike_time_mse
    else:
        target, loss = truth.v, jn.voltage_mse
    start = model_case.with_value(START * model_case.value)
    result = jn.fit(start, model_case.stimulus, target, params=[model_case.param], loss=loss,
                    steps=STEPS, progress=False, **options)
    assert result.params[model_case.param] == pytest.approx(model_case.value, rel=0.01)
    assert result.loss_history[-1] < result.loss_history[0]


@pytest.mark.slow
def test_issue_18_izhikevich_fit_recovers_a():
    """The reproduction of issue 18: default engine (ClockSpiking), default gradient
    ("auto" = forward for one parameter), default optimizer (L-BFGS); ~10 s."""
    stim = jn.StepCurrent(10.0)
    st = jn.simulate(jn.Izhikevich.preset("RS"), stim, t1=200.0, dt=0.05).spike_times[:5]
    r = jn.fit(jn.Izhikevich.preset("RS", a=0.024), stim, st, params=["a"], t1=200.0,
               dt=0.05, loss=jn.spike_time_mse, steps=40, progress=False)
    assert r.params["a"] == pytest.approx(0.0200, abs=5e-5)  # "recovers a = 0.0200"


# ---------------------------------------------------------------- restarts and NUTS
#
# LIF with ClockSpiking (the default engine of a spiking model): spike times are
# k (tau_m ln 4 + t_ref) - t_ref, so the first three spikes pin tau_m down.

LIF_TRUE_TAU = 10.0
LIF_OPTIONS = dict(t1=50.0, dt=0.05)


def _lif_spikes():
    trace = jn.simulate(jn.LIF(tau_m=LIF_TRUE_TAU), jn.StepCurrent(2.0), **LIF_OPTIONS)
    assert int(trace.n_spikes) == 3
    return trace.spike_times[:3]


def test_fit_restarts_with_default_gradient_on_a_spiking_model():
    """Noise-free data: the loss is zero at the truth and every restart that fires three
    spikes descends to it, so the best of four lands on tau_m = 10 ms to 0.1 %."""
    result = fit_restarts(jn.LIF(tau_m=12.0), jn.StepCurrent(2.0), _lif_spikes(),
                          prior=Prior({"tau_m": (7.0, 14.0)}), key=jax.random.key(0),
                          n_restarts=4, steps=20, loss=jn.spike_time_mse, **LIF_OPTIONS)
    assert result.best["tau_m"] == pytest.approx(LIF_TRUE_TAU, rel=1e-3)
    assert result.loss[0] < 1e-6


@pytest.mark.slow
def test_run_nuts_with_default_gradient_on_a_spiking_model():
    """Spike times observed with sigma = 0.5 ms noise (noise-free data here) and a flat
    prior: the posterior of tau_m is centred on the truth with sd about
    sigma / sqrt(sum_k (dt_k / dtau_m)^2) = 0.5 / (ln 4 sqrt(1 + 4 + 9)) = 0.10 ms. With
    100 draws (effective size >= 20) the Monte Carlo error of the mean is <= 0.03 ms, so
    the mean lies within 0.3 ms (3 posterior sd) of 10 ms, and the sd within a factor 2
    of 0.10 ms."""
    observed = _lif_spikes()

    def spike_times(trace):  # a missing spike counts as one at t1, as in spike_time_mse
        times = trace.spike_times[:3]
        return jnp.where(jnp.isnan(times), trace.ts[-1], times)

    result = run_nuts(jn.LIF(), jn.StepCurrent(2.0), observed, key=jax.random.key(0),
                      init={"tau_m": 11.0}, prior=Prior({"tau_m": (5.0, 20.0)}), sigma=0.5,
                      observable=spike_times, num_warmup=100, num_samples=100, num_chains=1,
                      **LIF_OPTIONS)
    draws = result.samples["tau_m"]
    assert draws.shape == (1, 100) and result.divergences == 0
    sd = 0.5 / (np.log(4.0) * np.sqrt(14.0))
    assert abs(draws.mean() - LIF_TRUE_TAU) < 3 * sd
    assert sd / 2 < draws.std() < 2 * sd
