"""fit_recording: one parameter set fitted to every sweep of a recording from many starts."""

import jax
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.recordings import Recording, Sweep

TRUE_LIF = {"tau_m": 10.0, "R": 10.0, "V_rest": -65.0}
AMPS_NA = (-0.5, 0.25, 0.5, 1.0)  # the last two spike (R I = 5, 10 mV; V_th 15 mV above rest)


def lif_voltage(t, amp, on, off, tau_m=10.0, R=10.0, V_rest=-65.0):
    """The LIF's subthreshold voltage (mV) under a step of `amp` nA on [on, off): analytic."""
    v = np.full_like(t, V_rest)
    inside = (t >= on) & (t < off)
    v[inside] = V_rest + R * amp * (1 - np.exp(-(t[inside] - on) / tau_m))
    after = t >= off
    v_off = V_rest + R * amp * (1 - np.exp(-(off - on) / tau_m))
    v[after] = V_rest + (v_off - V_rest) * np.exp(-(t[after] - off) / tau_m)
    return v


def subthreshold_recording(noise=0.0, seed=0, amps=(-0.5, -0.25, 0.25, 0.5)):
    """Sweeps of an LIF below threshold (analytic voltage), 10 kHz, current in pA."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 80.0 + 1e-9, 0.1)
    sweeps = []
    for i, amp in enumerate(amps):
        v = lif_voltage(t, amp, 10.0, 50.0) + noise * rng.standard_normal(t.size)
        current = np.where((t >= 10.0) & (t < 50.0), 1000.0 * amp, 0.0)
        sweeps.append(Sweep(time=t, voltage=v, current=current, current_unit="pA",
                            name=f"s{i}"))
    return Recording(tuple(sweeps))


BOUNDS = {"tau_m": (4.0, 30.0), "R": (3.0, 30.0), "V_rest": (-80.0, -50.0)}


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_subthreshold_voltage_fit_recovers_lif_parameters():
    """Below threshold the LIF voltage is analytic: the default (voltage) loss recovers
    tau_m, R and V_rest from 0.2 mV noise within 1 %, and the held-out sweep's RMSE is
    the noise level."""
    rec = subthreshold_recording(noise=0.2)
    result = jn.fit_recording(rec, jn.LIF(), BOUNDS, holdout=[3], starts=4, steps=60)
    assert result.loss == "voltage"
    for name, value in TRUE_LIF.items():
        assert result.params[name] == pytest.approx(value, rel=0.01), name
    assert result.train == (0, 1, 2) and result.holdout == (3,)
    held = [s for s in result.sweeps if s["role"] == "holdout"][0]
    assert held["voltage_rmse"] == pytest.approx(0.2, rel=0.15)
    summary = result.summary()
    assert summary["holdout"]["sweeps"] == [3]
    assert summary["starts"] == 4 and summary["simulated_sweeps"] >= 4 * 3


@pytest.mark.slow  # about 25 s on 2 cores; the windowed loss itself is tested in test_losses
def test_windowed_voltage_loss_ignores_what_lies_outside_its_windows():
    """A voltage MSE restricted to a window scores only that window: a recording damaged
    after 60 ms (a 20 mV jump) fits as well as the clean one when the window stops at 60."""
    rec = subthreshold_recording()
    damaged = rec.map(lambda s: s.replace(voltage=np.where(s.time > 60, s.voltage + 20,
                                                           s.voltage)))
    loss = jn.losses.voltage_mse_in([(0.0, 60.0)])
    result = jn.fit_recording(damaged, jn.LIF(), BOUNDS, loss=loss, starts=2, steps=60)
    for name, value in TRUE_LIF.items():
        assert result.params[name] == pytest.approx(value, rel=1e-3), name


def test_objective_is_zero_at_the_truth_and_vmaps_over_parameter_sets():
    """The recording objective of noise-free analytic sweeps is ~0 at the true parameters
    and positive elsewhere; it works under jit, vmap and grad."""
    rec = subthreshold_recording()
    objective = jn.recording_objective(rec, jn.LIF(), ["tau_m", "R", "V_rest"],
                                       dt=0.1 / 4)
    truth = np.array([10.0, 10.0, -65.0])
    thetas = np.stack([truth, truth * np.array([1.2, 1.0, 1.0])])
    values = jax.jit(jax.vmap(objective))(thetas)
    assert values[0] < 1e-3 < values[1]
    grad = jax.grad(objective)(thetas[1])
    assert np.all(np.isfinite(grad)) and grad[0] > 0  # tau_m too large: loss grows with it


@pytest.mark.parametrize("kwargs, match", [
    ({"holdout": [9]}, "holdout"),
    ({"holdout": [0, 1, 2, 3]}, "holdout names every sweep"),
    ({"sweeps": [0, 1], "holdout": [1]}, "must not share"),
    ({"sweeps": []}, "sweeps must name at least one"),
    ({"loss": "mse"}, "loss must be one of"),
    ({"starts": 0}, "starts"),
    ({"dt": 0.03}, "dt must divide"),
    ({"features": ["AP_amplitude"], "loss": "features"}, "features must name"),
])
def test_bad_options_are_named(kwargs, match):
    rec = subthreshold_recording()
    with pytest.raises(ValueError, match=match):
        jn.fit_recording(rec, jn.LIF(), BOUNDS, **kwargs)


def test_bad_params_are_named():
    rec = subthreshold_recording()
    with pytest.raises(ValueError, match="tau_x"):
        jn.fit_recording(rec, jn.LIF(), {"tau_x": (1.0, 2.0)})
    with pytest.raises(ValueError, match="params"):
        jn.fit_recording(rec, jn.LIF(), {})
    with pytest.raises(ValueError, match="recording must be"):
        jn.fit_recording([rec[0]], jn.LIF(), BOUNDS)


# ---------------------------------------------------------------- a resetting model

ADEX_TRUE = {"g_L": 30.0, "E_L": -70.6, "b": 80.5}


def adex_recording(noise=0.5, seed=0, dt=0.05):
    """AdEx sweeps (-100 to 800 pA, 300-ms steps) drawn as a rig records them: each spike
    painted as a 2-ms peak to +20 mV at the model's spike time, plus noise."""
    rng = np.random.default_rng(seed)
    cell = jn.AdEx(**ADEX_TRUE)
    t = np.arange(0, 500.0 + 1e-9, dt)
    sweeps = []
    for amplitude in (-100.0, 100.0, 400.0, 600.0, 800.0):
        trace = jn.simulate(cell, jn.StepCurrent(amplitude, 100.0, 400.0), t1=500.0,
                            dt=dt / 2, save_every=dt)
        v = np.asarray(trace.v).copy()
        for s in np.asarray(trace.spike_times)[np.isfinite(trace.spike_times)]:
            near = np.abs(t - s) < 1.0
            v[near] = np.maximum(v[near], 20.0 - 60.0 * np.abs(t[near] - s))
        current = np.where((t >= 100.0) & (t < 400.0), amplitude, 0.0)
        sweeps.append(Sweep(t, v + noise * rng.standard_normal(t.size), current, "pA",
                            name=f"{amplitude:+.0f} pA"))
    return Recording(tuple(sweeps))


@pytest.mark.slow
def test_adex_feature_fit_converges_with_defaults():
    """A resetting model on a spiking recording: the default loss is the feature loss
    (spike timing from the model's spike times), the best start stops as converged with the
    recorded features matched within 2 SD on average, g_L and E_L come back within 5 % and
    0.5 % (b, the spike-triggered adaptation, is weakly identified by these features), and
    the held-out sweep fires as many spikes as recorded."""
    rec = adex_recording()
    bounds = {"g_L": (15.0, 60.0), "E_L": (-80.0, -60.0), "b": (40.0, 160.0)}
    result = jn.fit_recording(rec, jn.AdEx(), bounds, holdout=[3], starts=8)
    assert result.loss == "features"
    assert result.restarts.stop_reason[0].startswith(("converged", "target"))
    errors = {k: abs(result.params[k] / ADEX_TRUE[k] - 1) for k in ADEX_TRUE}
    assert errors["g_L"] < 0.05 and errors["E_L"] < 0.005, errors  # b: weakly identified
    assert result.summary()["train"]["feature_zscore_mean"] < 2.0
    held = [s for s in result.sweeps if s["role"] == "holdout"][0]
    assert held["spikes_data"] >= 1 and held["spike_count_error"] == 0
