"""Bad inputs of `fit_recording` and `recording_objective`: each a `ValueError` naming the
argument (or the sweep) and what is allowed; nothing is fitted to data it misread.

`CASES`: id -> (the bad call, exception, regex)."""

from __future__ import annotations

import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.recordings import Recording, Sweep

T = np.arange(0, 40.0 + 1e-9, 0.1)
STEP = np.where((T >= 10.0) & (T < 30.0), 200.0, 0.0)  # pA
V = np.full(T.size, -65.0)
BOUNDS = {"tau_m": (4.0, 30.0)}


def recording(n=3, **sweep_options):
    return Recording(tuple(Sweep(T, V, STEP * (i + 1), "pA", name=f"s{i}", **sweep_options)
                           for i in range(n)))


def fit(rec=None, model=None, params=BOUNDS, **options):
    return jn.fit_recording(recording() if rec is None else rec,
                            jn.LIF() if model is None else model, params, **options)


def voltage_only():
    return Recording(tuple(Sweep(T, V, None, None, name=f"v{i}") for i in range(2)))


def unequal():
    return Recording((Sweep(T, V, STEP, "pA"), Sweep(T[:-10], V[:-10], STEP[:-10], "pA")),
                     equal_lengths=False)


def no_stimulus():
    return Recording(tuple(Sweep(T, V, np.zeros(T.size), "pA", name=f"z{i}")
                           for i in range(2)))


def nan_sample():
    v = V.copy()
    v[17] = np.nan
    return Recording((Sweep(T, v, STEP, "pA"),))


CASES = {
    "recording not a Recording": (lambda: fit(rec=[1, 2]), ValueError, "recording must be"),
    "model not a model": (lambda: fit(model="LIF"), ValueError, "model must be"),
    "voltage-only recording": (lambda: fit(rec=voltage_only()), ValueError,
                               "sweep 0 .* has no injected current"),
    "sweeps of different lengths": (lambda: fit(rec=unequal()), ValueError,
                                    "equal lengths"),
    "recording without a stimulus": (lambda: fit(rec=no_stimulus()), ValueError,
                                     "departs from its baseline"),
    "NaN sample": (nan_sample, ValueError, "NaN|finite"),
    "holdout names no sweep": (lambda: fit(holdout=[3]), ValueError, "holdout"),
    "holdout negative": (lambda: fit(holdout=[-1]), ValueError, "holdout"),
    "holdout is everything": (lambda: fit(holdout=[0, 1, 2]), ValueError,
                              "holdout names every sweep"),
    "sweep fitted and held out": (lambda: fit(sweeps=[0, 1], holdout=[1]), ValueError,
                                  "must not share"),
    "sweep repeated": (lambda: fit(sweeps=[0, 0]), ValueError, "names a sweep twice"),
    "no sweeps": (lambda: fit(sweeps=[]), ValueError, "sweeps must name at least one"),
    "unknown parameter": (lambda: fit(params={"tau_x": (1.0, 2.0)}), ValueError, "tau_x"),
    "empty params": (lambda: fit(params={}), ValueError, "params"),
    "bounds not a pair": (lambda: fit(params={"tau_m": (1.0,)}), ValueError,
                          "params\\['tau_m'\\]"),
    "bounds reversed": (lambda: fit(params={"tau_m": (30.0, 4.0)}), ValueError, "low"),
    "bound outside the model's domain": (lambda: fit(params={"tau_m": (-5.0, 20.0)}),
                                         ValueError, "params\\['tau_m'\\].*tau_m must be > 0"),
    "unknown loss": (lambda: fit(loss="mse"), ValueError, "loss must be one of"),
    "loss of another kind": (lambda: fit(loss=jn.losses.spike_time_mse), ValueError,
                             "loss must be one of"),
    "starts zero": (lambda: fit(starts=0), ValueError, "starts"),
    "steps zero": (lambda: fit(steps=0), ValueError, "steps"),
    "dt not dividing the samples": (lambda: fit(dt=0.03), ValueError, "dt must divide"),
    "feature without smooth form": (lambda: fit(loss="features", features=["AP_amplitude"]),
                                    ValueError, "features must name"),
    "feature_sd of an unfitted feature": (
        lambda: fit(loss="features", features=["voltage_base"],
                    feature_sd={"Spikecount": 1.0}), ValueError, "feature_sd"),
    "density model without area": (lambda: fit(model=jn.HodgkinHuxley(),
                                               params={"g_L": (0.1, 0.5)}),
                                   ValueError, "area"),
    "dimensionless model without scale": (lambda: fit(model=jn.Izhikevich(),
                                                      params={"a": (0.01, 0.05)}),
                                          ValueError, "scale"),
    "unknown gradient mode": (lambda: fit(gradient="sideways"), ValueError, "gradient"),
    "negative penalty": (lambda: fit(penalty=-1.0), ValueError, "penalty"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_a_clear_error(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()
