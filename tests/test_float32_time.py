"""Fixed-step loops take steps of exactly dt, also in float32 far from t = 0."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ENGINES, MODELS, supports

import jaxneuron as jn


def test_float32_steps_far_from_zero_keep_the_analytic_relaxation():
    # At t0 = 10 s, (t + dt) - t in float32 is off by up to 4 % of a 0.025-ms step; the
    # solvers step over [0, dt] in local time instead. A ConductanceLIF that cannot fire
    # relaxes exactly (exponential integrator) to V_inf = E_L + I / g_L = -55 mV.
    t0, dt, span = 10_000.0, 0.025, 20.0
    with jax.enable_x64(False):
        trace = jn.simulate(jn.ConductanceLIF(V_th=100.0),
                            jn.StepCurrent(50.0, t_start=0.0, t_stop=1e9),
                            t0=t0, t1=t0 + span, dt=dt, save_every=1.0,
                            y0=jnp.asarray([-60.0, 0.0, 0.0], jnp.float32))
        v = np.asarray(trace.states[:, 0], np.float64)
        assert trace.states.dtype == jnp.float32
    s = np.arange(v.size) * 1.0
    exact = -55.0 - 5.0 * np.exp(-s / 20.0)
    assert np.abs(v - exact).max() < 5e-4  # float32 resolution near -55 mV is 4e-6
    assert jax.config.jax_enable_x64  # the rest of the suite stays in float64


@pytest.mark.slow
def test_float32_sampled_current_holds_its_last_sample_to_the_end():
    # The last step's stages land within rounding of t1 = 200 ms, where one float32 ulp is
    # 3e-5 sample intervals: the current must still read its last sample there, or the
    # last saved V is off (0.4 mV here before the fix). Reference: the same run in float64.
    values = np.random.default_rng(0).uniform(-3.0, 3.0, 401)

    def final_v(x64):
        with jax.enable_x64(x64):
            dtype = jnp.float64 if x64 else jnp.float32
            trace = jn.simulate(jn.RestingMembrane(),
                                jn.SampledCurrent(jnp.asarray(values, dtype), 0.5),
                                t1=200.0, dt=0.1, save_every=0.5)
            return float(trace.states[-1, 0])

    assert abs(final_v(False) - final_v(True)) < 1e-3
    with jax.enable_x64(False):
        current = jn.SampledCurrent(jnp.asarray(values, jnp.float32), 0.5)
        beyond = jnp.nextafter(jnp.float32(200.0), jnp.float32(1e9))
        assert float(current(beyond)) == np.float32(values[-1])
        assert float(current(jnp.float32(200.5))) == 0.0  # a real step beyond: zero


def _in_float32(module):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32) if eqx.is_inexact_array(x)
                        else x, module)


@pytest.mark.parametrize("engine_case", ENGINES, ids=str)
@pytest.mark.parametrize("model_case", MODELS, ids=str)
def test_float32_model_runs_in_float32_under_x64(model_case, engine_case):
    # Under jax_enable_x64 a model and stimulus with float32 fields are stepped in float32
    # (the precision they compute in), not silently promoted to float64: every pair is
    # traced for its dtypes; the cell of the float32 Izhikevich sweep benchmark is also run
    # and compared with the float64 run of the same model.
    if not supports(model_case, engine_case):
        pytest.skip("the engine does not run this kind of model")
    engine = engine_case.make()
    if isinstance(engine, (jn.AdaptiveSteps, jn.ExactSpiking)):
        engine = eqx.tree_at(lambda e: (e.rtol, e.atol), engine, (1e-5, 1e-5))
    kwargs = dict(t1=model_case.t1, dt=model_case.dt, engine=engine, save_every=1.0)
    model, stimulus = _in_float32(model_case.make()), _in_float32(model_case.stimulus)
    shapes = jax.eval_shape(lambda: jn.simulate(model, stimulus, **kwargs))
    assert shapes.states.dtype == jnp.float32 and shapes.spike_times.dtype == jnp.float32
    if model_case.id != "Izhikevich" or not isinstance(
            engine, jn.ClockSpiking):
        return
    single = jn.simulate(model, stimulus, **kwargs)
    double = jn.simulate(model_case.make(), model_case.stimulus, **kwargs)
    assert double.states.dtype == jnp.float64
    assert int(single.n_spikes) == int(double.n_spikes)
    # Spike times agree to a small fraction of a step; between spikes float32 follows
    # float64 to a fraction of a millivolt (compared where V moves < 2 mV/ms).
    n = int(double.n_spikes)
    np.testing.assert_allclose(np.asarray(single.spike_times[:n], np.float64),
                               np.asarray(double.spike_times[:n]), atol=0.05)
    v32, v64 = np.asarray(single.v, np.float64), np.asarray(double.v, np.float64)
    quiet = np.abs(np.gradient(v64)) < 2.0
    assert np.abs(v32 - v64)[quiet].max(initial=0.0) < 0.05
