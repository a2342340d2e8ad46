"""Bad inputs of `jaxneuron.features` (same table shape as test_bad_inputs.py): each is a
`ValueError` naming the argument and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

from jaxneuron.features import FEATURES, extract, smooth, trace_arrays

T = np.arange(0.0, 100.0, 0.1)
V = -65.0 + 100.0 * np.exp(-((T - 50.0) / 0.5) ** 2)
WINDOW = dict(stim_start=20.0, stim_end=80.0)


def with_nan():
    v = V.copy()
    v[10] = np.nan
    return v


def backwards():
    t = T.copy()
    t[5], t[6] = t[6], t[5]
    return t


class Batched:
    """A stand-in for a vmapped Trace (a batch of two)."""

    ts = np.stack([T, T])
    v = np.stack([V, V])


API = {  # id: (callable, exception, regex)
    "unknown name": (lambda: extract(T, V, ["spikecount"], **WINDOW), ValueError,
                     r"names: unknown feature 'spikecount'; supported: \['Spikecount'"),
    "no names": (lambda: extract(T, V, [], **WINDOW), ValueError,
                 r"names must name at least one feature"),
    "name not text": (lambda: extract(T, V, [3], **WINDOW), ValueError,
                      r"names: unknown feature 3"),
    "lengths differ": (lambda: extract(T, V[:-1], FEATURES, **WINDOW), ValueError,
                       r"voltage_mv must have the length of time_ms \(1000\); got 999"),
    "time backwards": (lambda: extract(backwards(), V, FEATURES, **WINDOW), ValueError,
                       r"time_ms must be non-decreasing; time_ms\[6\]"),
    "time repeated without interpolation": (
        lambda: extract(np.repeat(T, 2)[1:-1], np.repeat(V, 2)[1:-1], ["Spikecount"],
                        interp_step=None, **WINDOW), ValueError,
        r"time_ms must be strictly increasing"),
    "NaN voltage": (lambda: extract(T, with_nan(), FEATURES, **WINDOW), ValueError,
                    r"voltage_mv must be finite; it has 1 NaN/inf value\(s\) \(first at "
                    r"index \[10\]\)"),
    "NaN time": (lambda: extract(np.where(T == T[3], np.nan, T), V, FEATURES, **WINDOW),
                 ValueError, r"time_ms must be finite"),
    "2-D voltage": (lambda: extract(T, np.stack([V, V]), FEATURES, **WINDOW), ValueError,
                    r"voltage_mv must be 1-D; got shape \(2, 1000\)"),
    "too short": (lambda: extract(T[:2], V[:2], FEATURES, **WINDOW), ValueError,
                  r"time_ms must hold at least 3 samples; got 2"),
    "stim_start before trace": (
        lambda: extract(T, V, FEATURES, stim_start=-5.0, stim_end=80.0), ValueError,
        r"stim_start must lie inside the trace, in \[0.0, 99.9"),
    "stim_end after trace": (
        lambda: extract(T, V, FEATURES, stim_start=20.0, stim_end=150.0), ValueError,
        r"stim_end must be > stim_start \(20.0 ms\) and <= the trace's last time \(99.9"),
    "stim_end before stim_start": (
        lambda: extract(T, V, FEATURES, stim_start=50.0, stim_end=40.0), ValueError,
        r"stim_end must be > stim_start \(50.0 ms\)"),
    "stim_end equals stim_start": (
        lambda: extract(T, V, FEATURES, stim_start=50.0, stim_end=50.0), ValueError,
        r"stim_end must be > stim_start"),
    "stim_start NaN": (lambda: extract(T, V, FEATURES, stim_start=np.nan, stim_end=80.0),
                       ValueError, r"stim_start must be a finite number"),
    "stim_start text": (lambda: extract(T, V, FEATURES, stim_start="20", stim_end=80.0),
                        ValueError, r"stim_start must be a finite number"),
    "ohmic without current": (
        lambda: extract(T, V, ["ohmic_input_resistance"], **WINDOW), ValueError,
        r"stimulus_current \(nA\) is needed for ohmic_input_resistance; got None"),
    "ohmic zero current": (
        lambda: extract(T, V, ["ohmic_input_resistance"], stimulus_current=0.0, **WINDOW),
        ValueError, r"stimulus_current must be nonzero \(nA\)"),
    "interp_step zero": (lambda: extract(T, V, ["Spikecount"], interp_step=0.0, **WINDOW),
                         ValueError, r"interp_step must be a finite number > 0"),
    "voltage_base_mode": (lambda: extract(T, V, ["voltage_base"], voltage_base_mode="max",
                                          **WINDOW), ValueError,
                          r"voltage_base_mode must be 'mean' or 'median'; got 'max'"),
    "derivative_window float": (lambda: extract(T, V, ["AP_amplitude"], derivative_window=2.5,
                                                **WINDOW), ValueError,
                                r"derivative_window must be an int >= 1"),
    "smooth no smooth form": (
        lambda: smooth(T, V, ["AP_amplitude"], **WINDOW), ValueError,
        r"names: 'AP_amplitude' has no smooth form \(its spike onset"),
    "smooth unknown name": (lambda: smooth(T, V, ["mean_freq"], **WINDOW), ValueError,
                            r"names: unknown feature 'mean_freq'; supported: \['Spikecount'"),
    "smooth smoothing zero": (lambda: smooth(T, V, ["Spikecount"], smoothing=0.0, **WINDOW),
                              ValueError, r"smoothing must be a finite number > 0"),
    "smooth stim window outside": (
        lambda: smooth(T, V, ["Spikecount"], stim_start=20.0, stim_end=200.0), ValueError,
        r"stim_end must be > stim_start \(20.0 ms\) and <= the trace's last time"),
    "smooth NaN voltage": (lambda: smooth(T, with_nan(), ["Spikecount"], **WINDOW),
                           ValueError, r"voltage_mv must be finite"),
    "smooth lengths differ": (lambda: smooth(T, V[:-3], ["Spikecount"], **WINDOW),
                              ValueError, r"voltage_mv must have the length of time_ms"),
    "smooth ohmic without current": (
        lambda: smooth(T, V, ["ohmic_input_resistance"], **WINDOW), ValueError,
        r"stimulus_current \(nA\) is needed for ohmic_input_resistance"),
    "smooth max_spikes zero": (lambda: smooth(T, V, ["ISI_CV"], max_spikes=0, **WINDOW),
                               ValueError, r"max_spikes must be an int >= 1"),
    "trace_arrays batched": (lambda: trace_arrays(Batched()), ValueError,
                             r"trace must be one trace .* index the batch first"),
}


@pytest.mark.parametrize("case", list(API), ids=list(API))
def test_bad_python_input_raises_naming_the_argument(case):
    call, error, match = API[case]
    with pytest.raises(error, match=match):
        call()


def test_good_inputs_pass():
    out = extract(T, V, ["Spikecount", "peak_voltage"], **WINDOW)
    assert out["Spikecount"] == 1 and out["peak_voltage"] == pytest.approx([35.0])
    assert float(smooth(T, V, "Spikecount", smoothing=0.1, **WINDOW)["Spikecount"]) \
        == pytest.approx(1.0)
