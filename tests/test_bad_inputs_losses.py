"""Bad inputs to the losses (`jaxneuron.losses`) and to the convergence stop of `fit` and
`fit_restarts`: each raises `ValueError` naming the argument, before anything is simulated
(`check_target` only traces the shapes of one run). A table as in `test_bad_inputs.py`."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.fit import check_target
from jaxneuron.inference import Prior, fit_restarts
from jaxneuron.losses import (
    SoftDTW,
    VoltageMSE,
    feature_zscore_loss,
    feature_zscores,
    soft_dtw,
    spike_match_mse,
    voltage_mse_in,
)

PASSIVE = {"dt": 0.5, "save_every": 1.0}  # save grid 0, 1, ..., 10 ms for t1 = 10
T1 = 10.0


def passive():
    return jn.LIF(V_th=1000.0)


def check_windows(windows, n_save=11, **kwargs):
    return check_target(passive(), jn.StepCurrent(1.0), np.zeros(n_save),
                        voltage_mse_in(windows), T1, dict(PASSIVE, **kwargs))


def check_spikes(target):
    return check_target(jn.LIF(), jn.StepCurrent(2.0), target, spike_match_mse, T1,
                        dict(PASSIVE, max_spikes=4))


def fit_passive(**options):
    return jn.fit(passive(), jn.StepCurrent(1.0), np.zeros(11), params=["R"], t1=T1,
                  progress=False, **PASSIVE, **options)


def restarts_passive(**options):
    return fit_restarts(passive(), jn.StepCurrent(1.0), np.zeros(11),
                        prior=Prior({"R": (1.0, 20.0)}), key=jax.random.key(0), t1=T1,
                        **PASSIVE, **options)


MEAN, SD = {"a": 1.0, "b": 2.0}, {"a": 0.5, "b": 1.0}
FEATURES = {"a": 1.5, "b": np.nan}

CASES = {
    "window reversed": (lambda: voltage_mse_in((5.0, 2.0)), "start < end"),
    "VoltageMSE window reversed": (lambda: VoltageMSE(((4.0, 1.0),)), "start < end"),
    "window empty": (lambda: voltage_mse_in((3.0, 3.0)), "start < end"),
    "window not finite": (lambda: voltage_mse_in((0.0, np.inf)), "finite"),
    "window not a pair": (lambda: voltage_mse_in([(1.0, 2.0, 3.0)]), "pair"),
    "windows none given": (lambda: voltage_mse_in([]), "pair"),
    "window text": (lambda: voltage_mse_in(("a", "b")), "windows"),
    "window past t1": (lambda: check_windows((5.0, 20.0)), r"windows.*outside the run"),
    "window before t0": (lambda: check_windows((-1.0, 2.0)), r"windows.*outside the run"),
    "window before a later t0": (lambda: check_windows((0.0, 2.0), 10, t0=1.0),
                                 r"windows.*outside the run"),
    "window between save times": (lambda: check_windows((0.2, 0.4)), "no save time"),
    "windowed target wrong length": (
        lambda: check_target(passive(), jn.StepCurrent(1.0), np.zeros(5),
                             voltage_mse_in((0.0, 5.0)), T1, PASSIVE), r"target.*\(11,\)"),
    "soft_dtw gamma 0": (lambda: soft_dtw(np.ones(3), np.ones(3), 0.0), "gamma"),
    "soft_dtw gamma nan": (lambda: soft_dtw(np.ones(3), np.ones(3), np.nan), "gamma"),
    "soft_dtw 2-D x": (lambda: soft_dtw(np.ones((2, 3)), np.ones(3), 1.0), "x must be"),
    "soft_dtw empty y": (lambda: soft_dtw(np.ones(3), np.ones(0), 1.0), "y must be"),
    "SoftDTW gamma negative": (lambda: SoftDTW(gamma=-1.0), "gamma"),
    "SoftDTW pool 0": (lambda: SoftDTW(pool=0), "pool"),
    "SoftDTW pool float": (lambda: SoftDTW(pool=2.0), "pool"),
    "SoftDTW target wrong length": (
        lambda: check_target(passive(), jn.StepCurrent(1.0), np.zeros(3), SoftDTW(), T1,
                             PASSIVE), "target"),
    "spike target unsorted": (lambda: check_spikes([3.0, 1.0]), "sorted"),
    "spike target NaN": (lambda: check_spikes([1.0, np.nan]), "finite"),
    "spike target over max_spikes": (lambda: check_spikes(np.arange(5.0)), "max_spikes=4"),
    "spike target 2-D": (lambda: check_spikes([[1.0], [2.0]]), "1-D"),
    "spike times not recorded": (
        lambda: check_target(jn.LIF(), jn.StepCurrent(2.0), [1.0], spike_match_mse, T1,
                             dict(PASSIVE, record=jn.engines.SpikeRecord(times=False))),
        "records no spike times"),
    "penalty inf": (lambda: feature_zscore_loss(FEATURES, MEAN, SD, penalty=np.inf),
                    "penalty"),
    "penalty nan": (lambda: feature_zscores(FEATURES, MEAN, SD, penalty=np.nan), "penalty"),
    "penalty negative": (lambda: feature_zscore_loss(FEATURES, MEAN, SD, penalty=-1.0),
                         "penalty"),
    "sd names differ": (lambda: feature_zscore_loss(FEATURES, MEAN, {"a": 0.5, "c": 1.0}),
                        r"only in targets_mean: \['b'\], only in targets_sd: \['c'\]"),
    "sd zero": (lambda: feature_zscore_loss(FEATURES, MEAN, {"a": 0.0, "b": 1.0}),
                r"targets_sd\['a'\].*> 0"),
    "sd negative": (lambda: feature_zscore_loss(FEATURES, MEAN, {"a": 0.5, "b": -1.0}),
                    r"targets_sd\['b'\].*> 0"),
    "sd nan": (lambda: feature_zscore_loss(FEATURES, MEAN, {"a": np.nan, "b": 1.0}),
               r"targets_sd\['a'\]"),
    "mean nan": (lambda: feature_zscore_loss(FEATURES, {"a": np.nan, "b": 2.0}, SD),
                 r"targets_mean\['a'\] must be finite"),
    "feature missing": (lambda: feature_zscore_loss({"a": 1.0}, MEAN, SD),
                        r"features has no value.*'b'"),
    "feature shape": (lambda: feature_zscore_loss({"a": np.ones(3), "b": 1.0}, MEAN,
                                                  {"a": np.ones(2), "b": 1.0}),
                      r"features\['a'\].*broadcast"),
    "targets not a dict": (lambda: feature_zscore_loss(FEATURES, [1.0, 2.0], SD),
                           "targets_mean must be a non-empty dict"),
    "fit rtol negative": (lambda: fit_passive(rtol=-1e-6), "rtol must be"),
    "fit atol negative": (lambda: fit_passive(atol=-1.0), "atol must be"),
    "fit atol nan": (lambda: fit_passive(atol=np.nan), "atol must be"),
    "fit patience 0": (lambda: fit_passive(patience=0), "patience must be an int >= 1"),
    "fit patience float": (lambda: fit_passive(patience=2.5), "patience must be an int"),
    "fit target_loss nan": (lambda: fit_passive(target_loss=np.nan), "target_loss"),
    "fit target_loss text": (lambda: fit_passive(target_loss="0"), "target_loss"),
    "restarts rtol negative": (lambda: restarts_passive(rtol=-0.1), "rtol must be"),
    "restarts patience 0": (lambda: restarts_passive(patience=0), "patience must be"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_loss_or_stop_input_raises_naming_the_argument(case):
    call, match = CASES[case]
    with pytest.raises(ValueError, match=match):
        call()


def test_the_table_holds_at_least_12_distinct_rows():
    assert len(CASES) >= 12
    codes = [(c.__code__.co_code, c.__code__.co_consts, c.__code__.co_names)
             for c, _ in CASES.values()]
    assert len(set(codes)) == len(codes)
