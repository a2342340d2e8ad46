"""Fixed-step loops take steps of exactly dt, also in float32 far from t = 0."""

import jax
import jax.numpy as jnp
import numpy as np

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
