"""Bad inputs to the inference tools given a recording: each raises ValueError naming the
argument (rows: id -> (callable, exception, regex))."""

import jax
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.inference import (
    FeatureSummary,
    NutsSampler,
    Prior,
    likelihood_model,
    run_nuts,
    simulate_observations,
)
from jaxneuron.recordings import Recording, Sweep

KEY = jax.random.key(0)
PRIOR = Prior({"tau_m": (4.0, 30.0)})
T = np.arange(0.0, 10.0 + 1e-9, 0.5)
STEP = np.where((T >= 2.0) & (T < 6.0), 100.0, 0.0)  # pA


def rec(n=2, current=STEP, unit="pA", **sweep_options):
    return Recording(tuple(Sweep(time=T, voltage=np.full(T.size, -65.0), current=current,
                                 current_unit=unit, name=f"s{i}", **sweep_options)
                           for i in range(n)))


def sampler(recording=None, **options):
    options = {"prior": PRIOR, "dt": 0.5, "num_warmup": 1, "num_samples": 1,
               "num_chains": 1, **options}
    return NutsSampler(jn.LIF(V_th=1000.0), rec() if recording is None else recording,
                       **options)


def nuts(observed=None, recording=None, **options):
    options = {"prior": PRIOR, "sigma": 1.0, "dt": 0.5, "num_warmup": 1, "num_samples": 1,
               "num_chains": 1, **options}
    return run_nuts(jn.LIF(V_th=1000.0), rec() if recording is None else recording,
                    observed, key=KEY, **options)


VOLTAGE_ONLY = Recording((rec()[0], Sweep(time=T, voltage=np.full(T.size, -65.0),
                                          current=None, current_unit=None, name="v")))
UNEQUAL = Recording((rec()[0], Sweep(time=T[:-1], voltage=np.full(T.size - 1, -65.0),
                                     current=STEP[:-1], current_unit="pA")),
                    equal_lengths=False)
N = T.size


def simulated(recording=None, **options):
    options = {"key": KEY, "dt": 0.5, "progress": False, **options}
    return simulate_observations(jn.LIF(V_th=1000.0), rec() if recording is None
                                 else recording, PRIOR, np.array([[10.0]]), **options)


def summary(**options):
    return FeatureSummary.of(rec(), **options)

CASES = {
    "observed one sweep too few": (lambda: nuts(np.full((1, N), -65.0)), ValueError,
                                   r"observed.*\(2, 21\)"),
    "observed flat": (lambda: nuts(np.full(2 * N, -65.0)), ValueError, "observed"),
    "observed one sample short": (lambda: nuts(np.full((2, N - 1), -65.0)), ValueError,
                                  "observed"),
    "observed NaN": (lambda: nuts(np.where(np.arange(N) == 3, np.nan, np.full((2, N), -65.))),
                     ValueError, "observed"),
    "observed of a custom observable, missing": (
        lambda: nuts(observable=lambda tr: tr.v[:3]), ValueError, "observed is required"),
    "recording without current": (lambda: sampler(VOLTAGE_ONLY), ValueError,
                                  "recording: sweep 1 has no current"),
    "recording without current, selected by sweeps": (
        lambda: sampler(VOLTAGE_ONLY, sweeps=[1]), ValueError, "recording: sweep 1"),
    "sweeps out of range": (lambda: sampler(sweeps=[0, 2]), ValueError, "sweeps"),
    "sweeps negative": (lambda: sampler(sweeps=-1), ValueError, "sweeps"),
    "sweeps repeated": (lambda: sampler(sweeps=[1, 1]), ValueError, "sweeps names a sweep"),
    "sweeps empty": (lambda: sampler(sweeps=[]), ValueError, "sweeps must name"),
    "sweeps of different lengths": (lambda: sampler(UNEQUAL), ValueError,
                                    "recording: sweeps of one protocol"),
    "t1 with a recording": (lambda: sampler(t1=10.0), ValueError, "t1 comes from"),
    "save_every with a recording": (lambda: sampler(save_every=1.0), ValueError,
                                    "save_every comes from"),
    "t0 with a recording": (lambda: sampler(t0=0.0), ValueError, "t0 comes from"),
    "dt not dividing the sampling interval": (lambda: sampler(dt=0.3), ValueError,
                                              "dt must divide"),
    "a density model without an area": (
        lambda: NutsSampler(jn.HodgkinHuxley(), rec(), prior=Prior({"g_K": (20.0, 40.0)})),
        ValueError, "area"),
    "sweeps with a stimulus": (
        lambda: NutsSampler(jn.LIF(), jn.StepCurrent(1.0), prior=PRIOR, t1=5.0, sweeps=[0]),
        ValueError, "sweeps is an option of the recording form"),
    "area_cm2 with a stimulus": (
        lambda: likelihood_model(jn.LIF(), jn.StepCurrent(1.0), PRIOR, t1=5.0,
                                 area_cm2=1e-5),
        ValueError, "area_cm2 is an option of the recording form"),
    "t1 missing with a stimulus": (
        lambda: NutsSampler(jn.LIF(), jn.StepCurrent(1.0), prior=PRIOR), ValueError,
        "t1 is required"),
    "observed missing with a stimulus": (
        lambda: run_nuts(jn.LIF(), jn.StepCurrent(1.0), key=KEY, prior=PRIOR, t1=5.0),
        ValueError, "observed is required"),
    "init outside the prior": (
        lambda: nuts(init={"tau_m": 100.0}), ValueError, r"init\['tau_m'\]"),
    "init with an unknown name": (
        lambda: nuts(init={"tau_m": 10.0, "R": 1.0}), ValueError, "init: .*unknown"),
    "simulate_observations: sweeps out of range": (lambda: simulated(sweeps=[3]), ValueError,
                                                   "sweeps"),
    "simulate_observations: recording without current": (
        lambda: simulated(VOLTAGE_ONLY), ValueError, "recording: sweep 1 has no current"),
    "simulate_observations: t1 with a recording": (lambda: simulated(t1=10.0), ValueError,
                                                   "t1 comes from"),
    "simulate_observations: scale with a stimulus": (
        lambda: simulate_observations(jn.LIF(), jn.StepCurrent(1.0), PRIOR,
                                      np.array([[10.0]]), key=KEY, t1=5.0, scale="1 pA"),
        ValueError, "scale is an option of the recording form"),
    "FeatureSummary: not a recording": (
        lambda: FeatureSummary.of(np.zeros((2, N))), ValueError, "recording must be"),
    "FeatureSummary: unknown feature": (lambda: summary(names=["spike_count"]), ValueError,
                                        "spike_count"),
    "FeatureSummary: no feature": (lambda: summary(names=[]), ValueError, "names"),
    "FeatureSummary: ohmic_input_resistance": (
        lambda: summary(names=["ohmic_input_resistance"]), ValueError, "names"),
    "FeatureSummary: sweeps out of range": (lambda: summary(sweeps=[2]), ValueError,
                                            "sweeps"),
    "FeatureSummary: fill NaN": (lambda: summary(fill=np.nan), ValueError, "fill"),
    "FeatureSummary: voltages of one sweep too few": (
        lambda: summary()(np.full((1, N), -65.0)), ValueError, "voltages"),
    "FeatureSummary: voltages NaN": (
        lambda: summary()(np.where(np.arange(N) == 2, np.nan, np.full((2, N), -65.0))),
        ValueError, "voltages"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_naming_the_argument(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_the_accepted_neighbours_work():
    """Each refusal has a neighbour that passes: the right observed shape, the sweeps with
    a current, an area for a density, the right voltages for a summary."""
    assert sampler(VOLTAGE_ONLY, sweeps=[0]).observed_shape == (1, N)
    assert sampler(sweeps=1).observed_shape == (1, N)
    assert NutsSampler(jn.HodgkinHuxley(), rec(), prior=Prior({"g_K": (20.0, 40.0)}),
                       area_cm2=1e-5).observed_shape == (2, N)
    assert summary()(np.full((2, N), -65.0)).shape == (summary().size,)
    assert simulated(sweeps=[1])[1].shape == (1, N)


@pytest.mark.slow
def test_an_init_without_sigma_is_accepted():
    """A fit's top starts name no sigma: it starts at the centre of its prior."""
    result = nuts(np.full((2, N), -65.0), init={"tau_m": 10.0}, sigma=None)
    assert result.samples["sigma"].shape == (1, 1)
