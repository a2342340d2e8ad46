"""eFEL-named features: the exact ones agree with `efel` (the reference) on real recordings
and on simulated HH and Izhikevich traces; the smooth ones tend to the exact ones as their
smoothing goes to zero and give finite, useful gradients under grad, vmap and jit."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.features import (
    FEATURES,
    NO_SMOOTH_FORM,
    SMOOTH_FEATURES,
    extract,
    smooth,
    trace_arrays,
)

efel = pytest.importorskip("efel")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("JAXNEURON_EFEL_DATA", REPO.parent / "shared" / "data" / "efel"))
CURRENT = 0.5  # nA: the real files carry no current; any nonzero value checks the definition
TIMES = ("time_to_first_spike", "AP_duration_half_width")  # compared within one sample

# file, stim_start, stim_end (ms): the windows eFEL's own tests use (the data's README)
REAL = [
    ("testdata.txt", 700.0, 2700.0),
    ("zero_ISI_log_slope_skip95824004.abf.csv", 31.2, 431.2),
    ("AP_begin_indices_95810005.abf.csv", 31.2, 431.2),
    ("mean_frequency_1.txt", 500.0, 900.0),
    ("init_burst1.txt", 250.0, 1600.0),
    ("spontaneous.txt", 200.0, 400.0),
]


def load_real(name):
    """Time (ms) and voltage (mV) of one shared eFEL trace; skip when the data is absent."""
    path = DATA / name
    if not path.exists():
        pytest.skip(f"eFEL test data not found at {path} (set JAXNEURON_EFEL_DATA)")
    table = np.loadtxt(path)
    if table.ndim == 1:  # voltage only, sampled every 0.1 ms
        return np.arange(table.size) * 0.1, table
    return table[:, 0], table[:, 1]


def efel_values(t, v, start, end, names, current=CURRENT, **settings):
    trace = {"T": t, "V": v, "stim_start": [start], "stim_end": [end],
             "stimulus_current": [current]}
    efel.reset()
    for key, value in settings.items():
        efel.set_setting(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = efel.get_feature_values([trace], list(names), raise_warnings=False)[0]
    efel.reset()
    return values


def undefined_in_efel(value):
    return value is None or (value.size == 1 and np.isnan(value[0]))


def compare(ours, ref, step):
    """Per feature, the max relative error (absolute, in samples of `step`, for times);
    asserts definedness and agreement."""
    errors = {}
    for name, value in ref.items():
        if undefined_in_efel(value):
            assert ours[name] is None, (name, ours[name])
            continue
        assert ours[name] is not None, (name, value)
        mine = np.atleast_1d(ours[name])
        assert mine.shape == value.shape, (name, mine, value)
        if name == "AP_duration_half_width":  # eFEL's negative width where no end: NaN
            assert np.array_equal(np.isnan(mine), value < 0), (mine, value)
            mine, value = mine[value >= 0], value[value >= 0]
        if name in TIMES:
            errors[name] = float(np.max(np.abs(mine - value)) / step)
            assert errors[name] <= 1.0 + 1e-9, (name, mine, value)
        else:
            errors[name] = float(np.max(np.abs(mine - value) / np.maximum(np.abs(value),
                                                                            1e-12)))
            assert errors[name] <= 0.01, (name, mine, value)
    return errors


@pytest.mark.parametrize("name,start,end", REAL, ids=[r[0] for r in REAL])
def test_every_feature_agrees_with_efel_on_real_recordings(name, start, end):
    t, v = load_real(name)
    ref = efel_values(t, v, start, end, FEATURES)
    ours = extract(t, v, FEATURES, stim_start=start, stim_end=end, stimulus_current=CURRENT)
    compare(ours, ref, 0.1)


def test_real_recordings_cover_the_spiking_features():
    """The agreement above is not vacuous: across the files each feature is defined
    somewhere (sag_amplitude needs a hyperpolarising step, tested below)."""
    defined = set()
    for name, start, end in REAL:
        t, v = load_real(name)
        ours = extract(t, v, FEATURES, stim_start=start, stim_end=end,
                       stimulus_current=CURRENT)
        defined |= {key for key, value in ours.items() if value is not None}
    assert defined == set(FEATURES) - {"sag_amplitude"}


def test_settings_pass_through_like_efel():
    t, v = load_real("testdata.txt")
    names = ["Spikecount", "peak_voltage", "AP_amplitude", "voltage_base", "ISI_CV"]
    ref = efel_values(t, v, 700.0, 2700.0, names, Threshold=7.0, interp_step=0.25,
                      voltage_base_mode="median", ignore_first_ISI=False)
    ours = extract(t, v, names, stim_start=700.0, stim_end=2700.0, threshold=7.0,
                   interp_step=0.25, voltage_base_mode="median", ignore_first_isi=False)
    compare(ours, ref, 0.25)
    assert ours["Spikecount"] < 6  # the higher threshold changed something


@functools.cache
def hh_trace(amplitude, t1=200.0):
    trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(amplitude=amplitude, t_start=50.0,
                                                           t_stop=150.0), t1=t1, dt=0.025)
    return trace_arrays(trace)


@functools.cache
def izhikevich_trace(preset, amplitude=10.0):
    trace = jn.simulate(jn.Izhikevich.preset(preset),
                        jn.StepCurrent(amplitude=amplitude, t_start=50.0, t_stop=150.0),
                        t1=200.0, dt=0.05)
    return trace_arrays(trace)


def check_simulated(t, v, current):
    ref = efel_values(t, v, 50.0, 150.0, FEATURES, current=current)
    ours = extract(t, v, FEATURES, stim_start=50.0, stim_end=150.0, stimulus_current=current)
    return compare(ours, ref, 0.1), ours


@pytest.mark.parametrize("amplitude", [-5.0, 2.0, 10.0])
def test_every_feature_agrees_with_efel_on_hodgkin_huxley(amplitude):
    errors, ours = check_simulated(*hh_trace(amplitude), amplitude)
    if amplitude == 10.0:  # tonic firing: every spiking feature is defined and compared
        assert {"AP_amplitude", "adaptation_index2", "ISI_CV"} <= set(errors)
    if amplitude == -5.0:  # hyperpolarising step: sag defined (and >= 0), one rebound spike
        assert ours["sag_amplitude"] >= 0 and ours["Spikecount"] == 1
    if amplitude == 2.0:  # subthreshold
        assert ours["Spikecount"] == 0 and ours["time_to_first_spike"] is None


def test_every_feature_agrees_with_efel_on_izhikevich():
    errors, _ = check_simulated(*izhikevich_trace("IB"), 10.0)
    assert {"AP_amplitude", "adaptation_index2", "AHP_depth_abs"} <= set(errors)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["RS", "CH", "FS", "LTS", "TC", "RZ"])
def test_every_feature_agrees_with_efel_on_izhikevich_presets(preset):
    check_simulated(*izhikevich_trace(preset), 10.0)


@pytest.mark.slow
@pytest.mark.parametrize("amplitude", [-20.0, 6.5, 40.0, 100.0])
def test_every_feature_agrees_with_efel_on_hodgkin_huxley_more(amplitude):
    check_simulated(*hh_trace(amplitude), amplitude)


def sag_trace(depth=8.0, sag=3.0):
    """A hyperpolarising step with an exponential sag back towards the steady state."""
    t = np.arange(0.0, 300.0, 0.1)
    on = (t >= 100.0) & (t < 250.0)
    s = t - 100.0
    v = -70.0 + np.where(on, -depth * (1 - np.exp(-s / 5.0)) + sag * (1 - np.exp(-s / 30.0)),
                         0.0)
    return t, v


def test_sag_amplitude_agrees_with_efel_and_is_undefined_for_depolarising_steps():
    t, v = sag_trace()
    names = ["sag_amplitude", "voltage_base", "steady_state_voltage", "ohmic_input_resistance"]
    ref = efel_values(t, v, 100.0, 250.0, names, current=-0.1)
    ours = extract(t, v, names, stim_start=100.0, stim_end=250.0, stimulus_current=-0.1)
    compare(ours, ref, 0.1)
    # analytic: f(s) = -8 (1 - e^(-s/5)) + 3 (1 - e^(-s/30)) is lowest at s* = ln 16 / (1/5 -
    # 1/30) and close to f(150) over the last 10 % of the step
    f = lambda s: -8.0 * (1 - np.exp(-s / 5.0)) + 3.0 * (1 - np.exp(-s / 30.0))  # noqa: E731
    lowest = f(np.log(16.0) / (1 / 5 - 1 / 30))
    # (within 0.05 mV: eFEL's grid, built by repeated addition, ends 1e-11 ms short of 250,
    # so its steady-state window takes in the first sample after the step)
    assert ours["sag_amplitude"] == pytest.approx(f(142.5) - lowest, abs=0.05)
    up = extract(t, 2 * -70.0 - v, ["sag_amplitude"], stim_start=100.0, stim_end=250.0)
    assert up["sag_amplitude"] is None
    assert efel_values(t, 2 * -70.0 - v, 100.0, 250.0, ["sag_amplitude"])[
        "sag_amplitude"] is None


def test_repeated_time_stamps_are_interpolated_like_efel():
    t, v = load_real("mean_frequency_1.txt")
    assert np.any(np.diff(t) == 0)  # rounded time stamps
    with pytest.raises(ValueError, match="time_ms must be strictly increasing"):
        extract(t, v, ["Spikecount"], stim_start=500.0, stim_end=900.0, interp_step=None)


def test_window_at_the_end_of_the_trace_leaves_steady_state_undefined_as_in_efel():
    t, v = hh_trace(10.0)
    names = ["steady_state_voltage", "Spikecount", "voltage_base"]
    ref = efel_values(t, v, 50.0, float(t[-1]), names)
    assert np.isnan(ref["steady_state_voltage"][0])  # eFEL: mean of nothing
    ours = extract(t, v, names, stim_start=50.0, stim_end=float(t[-1]))
    compare(ours, ref, 0.1)
    assert ours["steady_state_voltage"] is None


def test_extract_accepts_one_name_and_a_trace():
    t, v = hh_trace(10.0)
    assert extract(t, v, "Spikecount", stim_start=50.0, stim_end=150.0) == {"Spikecount": 7}


# --- smooth features ---------------------------------------------------------------

def spike_train(shift=0.0, height=100.0, centres=(20.0, 31.0, 44.0, 59.0, 76.0)):
    """Gaussian spikes (width 0.5 ms) on a -65 mV rest, sampled every 0.05 ms."""
    t = jnp.arange(0.0, 100.0, 0.05)
    c = jnp.asarray(centres) + shift
    v = -65.0 + height * jnp.sum(jnp.exp(-((t[:, None] - c) / 0.5) ** 2), axis=1)
    return t, v


def errors_to_exact(t, v, names, smoothing, **kwargs):
    exact = extract(np.asarray(t), np.asarray(v), names, interp_step=None, **kwargs)
    soft = smooth(t, v, names, smoothing=smoothing, **kwargs)
    out = {}
    for name in names:
        if exact[name] is None:
            assert np.all(np.isnan(np.asarray(soft[name]))), name
            continue
        want = np.atleast_1d(exact[name])
        got = np.atleast_1d(np.asarray(soft[name]))[:want.size]
        out[name] = float(np.max(np.abs(got - want)))
    return out


@pytest.mark.parametrize("amplitude", [-5.0, 10.0])
def test_smooth_features_tend_to_the_exact_ones(amplitude):
    t, v = hh_trace(amplitude)
    kwargs = dict(stim_start=50.0, stim_end=150.0, stimulus_current=amplitude)
    coarse = errors_to_exact(t, v, SMOOTH_FEATURES, 2.0, **kwargs)
    fine = errors_to_exact(t, v, SMOOTH_FEATURES, 0.02, **kwargs)
    assert set(fine) == set(coarse) and len(fine) >= 7
    for name, error in fine.items():
        assert error <= coarse[name] + 1e-9, (name, error, coarse[name])
        scale = 0.025 if name in TIMES else max(0.01 * abs(np.mean(
            extract(t, v, name, interp_step=None, **kwargs)[name])), 1e-3)
        if name == "sag_amplitude":  # a soft minimum of a smooth trough is s/2 too high
            scale = 0.02
        assert error <= scale, (name, error)
    assert any(fine[n] < 0.5 * coarse[n] for n in fine if coarse[n] > 1e-6)


def test_smooth_spike_features_on_a_known_train():
    t, v = spike_train()
    out = smooth(t, v, SMOOTH_FEATURES, stim_start=10.0, stim_end=90.0, smoothing=0.05,
                 stimulus_current=0.1)
    isis = np.diff([20.0, 31.0, 44.0, 59.0, 76.0])
    # eFEL's adaptation_index2: from the second spike, mean of (d_i - d_(i-1)) / (d_i + d_(i-1))
    assert out["adaptation_index2"] == pytest.approx((2 / 28 + 2 / 32) / 2, rel=1e-3)
    assert out["Spikecount"] == pytest.approx(5.0, abs=1e-9)
    assert out["time_to_first_spike"] == pytest.approx(10.0, abs=0.05)
    assert out["mean_frequency"] == pytest.approx(5 * 1000 / 66.0, rel=1e-3)
    assert out["ISI_CV"] == pytest.approx(np.std(isis[1:], ddof=1) / np.mean(isis[1:]),
                                          rel=1e-2)
    assert np.asarray(out["peak_voltage"])[:5] == pytest.approx(35.0, abs=0.05)
    assert np.all(np.isnan(np.asarray(out["peak_voltage"])[5:]))  # no 6th spike


def test_smooth_gradients_are_finite_and_right():
    """The soft peak moves with the spike and grows with it (derivatives 1), once the
    softmax spans a few samples (s = 2 mV: about 0.05 ms here, one sample)."""
    names = ["time_to_first_spike", "peak_voltage"]

    def first_peak(shift, height):
        t, v = spike_train(shift, height)
        out = smooth(t, v, names, stim_start=10.0, stim_end=90.0, smoothing=2.0,
                     max_spikes=8)
        return out["time_to_first_spike"], out["peak_voltage"][0]

    (dt_dshift, dt_dheight), (dv_dshift, dv_dheight) = jax.jacfwd(
        first_peak, argnums=(0, 1))(0.013, 100.0)
    assert dt_dshift == pytest.approx(1.0, abs=0.01)
    assert dv_dheight == pytest.approx(1.0, abs=0.01)
    assert abs(dv_dshift) < 0.05 and abs(dt_dheight) < 0.01


def test_smooth_works_under_jit_and_vmap_and_flags_undefined_as_nan():
    def features(shift):
        t, v = spike_train(shift)
        v = v + 5.0 * ((t >= 10.0) & (t < 90.0))  # a depolarising step under the spikes
        out = smooth(t, v, ["mean_frequency", "adaptation_index2", "sag_amplitude"],
                     stim_start=10.0, stim_end=90.0, smoothing=0.1)
        return out["mean_frequency"], out["adaptation_index2"], out["sag_amplitude"]

    freq, adaptation, sag = jax.jit(jax.vmap(features))(jnp.array([0.0, 20.0]))
    # shifted by 20 ms the last spike (96 ms) leaves the window: 4 spikes in 10-90 ms
    assert np.asarray(freq) == pytest.approx([5000 / 66.0, 4000 / 69.0], rel=1e-3)
    assert np.all(np.isfinite(np.asarray(adaptation)))
    assert np.all(np.isnan(np.asarray(sag)))  # depolarising "step": undefined, as in eFEL


def test_smooth_agrees_with_efel_on_a_real_recording():
    t, v = load_real("testdata.txt")
    names = ["Spikecount", "time_to_first_spike", "mean_frequency", "voltage_base"]
    ref = efel_values(t, v, 700.0, 2700.0, names)
    soft = smooth(t, v, names, stim_start=700.0, stim_end=2700.0, smoothing=0.05,
                  interp_step=0.1)
    assert float(soft["Spikecount"]) == pytest.approx(ref["Spikecount"][0], abs=1e-6)
    assert float(soft["time_to_first_spike"]) == pytest.approx(
        ref["time_to_first_spike"][0], abs=0.1)
    assert float(soft["mean_frequency"]) == pytest.approx(ref["mean_frequency"][0], rel=0.01)
    assert float(soft["voltage_base"]) == pytest.approx(ref["voltage_base"][0], rel=1e-9)


def test_no_smooth_form_is_listed_and_complete():
    assert set(SMOOTH_FEATURES) | set(NO_SMOOTH_FORM) == set(FEATURES)
    assert not set(SMOOTH_FEATURES) & set(NO_SMOOTH_FORM)


@pytest.mark.slow
def test_smooth_gradient_through_a_simulation_matches_finite_differences():
    def first_spike(amplitude):
        trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(amplitude=amplitude,
                            t_start=10.0, t_stop=50.0), t1=60.0, dt=0.025)
        return smooth(trace.ts, trace.v, "time_to_first_spike", stim_start=10.0,
                      stim_end=50.0, smoothing=1.0)["time_to_first_spike"]

    grad = float(jax.grad(first_spike)(10.0))
    step = 1e-3
    fd = float((first_spike(10.0 + step) - first_spike(10.0 - step)) / (2 * step))
    assert np.isfinite(grad) and grad < 0  # more current, earlier spike
    assert grad == pytest.approx(fd, rel=1e-4)
