"""Bad inputs of `HeldCurrent` and of the held stimulus of a sweep (`Sweep.stimulus(hold=...)`):
every one a `ValueError` naming the argument and what is allowed.

`CASES`: id -> (call, exception, regex)."""

from __future__ import annotations

import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.recordings import Recording, Sweep

HeldCurrent = jn.HeldCurrent
T = np.arange(400) * 0.05  # ms
STEP = np.where((T >= 5.0) & (T < 15.0), 100.0, 0.0)  # pA
RAMP = np.linspace(0.0, 100.0, T.size)


def sweep(current=STEP, name="s"):
    return Sweep(T, np.full(T.size, -65.0), current, "pA", name=name)


NOT_HELD = r"values must be piecewise constant to be held"
CASES = {
    "NaN time": (lambda: HeldCurrent(times=[1.0, np.nan], levels=[0.0, 1.0, 0.0]),
                 ValueError, r"times must be ascending and not NaN \(use \+inf for padding\)"),
    "descending times": (lambda: HeldCurrent(times=[2.0, 1.0], levels=[0.0, 1.0, 0.0]),
                         ValueError, r"times must be ascending.*got times = \[2\. 1\.\]"),
    "padding before a jump": (lambda: HeldCurrent(times=[np.inf, 1.0], levels=[0, 1, 1.0]),
                              ValueError, r"times must be ascending"),
    "infinite level": (lambda: HeldCurrent(times=[1.0], levels=[0.0, np.inf]), ValueError,
                       r"levels must be finite"),
    "NaN level": (lambda: HeldCurrent(times=[1.0], levels=[np.nan, 0.0]), ValueError,
                  r"levels must be finite"),
    "levels as many as times": (lambda: HeldCurrent(times=[1.0, 2.0], levels=[0.0, 1.0]),
                                ValueError, r"times must have shape \(k,\) and levels "
                                            r"\(k \+ 1,\); got \(2,\) and \(2,\)"),
    "2-D times": (lambda: HeldCurrent(times=[[1.0]], levels=[0.0, 1.0]), ValueError,
                  r"times must have shape \(k,\).*got \(1, 1\)"),
    "scalar times": (lambda: HeldCurrent(times=1.0, levels=[0.0, 1.0]), ValueError,
                     r"times must have shape \(k,\).*got \(\)"),
    "text time": (lambda: HeldCurrent(times="1.0", levels=[0.0, 1.0]), ValueError,
                  r"times must be a number.*got .1\.0. \(str\)"),
    # from_samples
    "2-D samples": (lambda: HeldCurrent.from_samples(np.ones((2, 3)), 1.0), ValueError,
                    r"values must be a 1-D array of numbers.*\(2, 3\)"),
    "no samples": (lambda: HeldCurrent.from_samples([], 1.0), ValueError,
                   r"values must be a 1-D array of numbers \(at least 1 sample\)"),
    "text samples": (lambda: HeldCurrent.from_samples(["1"], 1.0), ValueError,
                     r"values must be a 1-D array of numbers"),
    "NaN sample": (lambda: HeldCurrent.from_samples([0.0, 1.0, np.nan], 1.0), ValueError,
                   r"values must be finite; sample 2"),
    "zero dt": (lambda: HeldCurrent.from_samples(STEP, 0.0), ValueError,
                r"dt must be a finite number > 0"),
    "infinite t0": (lambda: HeldCurrent.from_samples(STEP, 0.05, np.inf), ValueError,
                    r"t0 must be"),
    "negative tolerance": (lambda: HeldCurrent.from_samples(STEP, 0.05, tolerance=-1.0),
                           ValueError, r"tolerance must be"),
    "float max_jumps": (lambda: HeldCurrent.from_samples(STEP, 0.05, max_jumps=2.0),
                        ValueError, r"max_jumps must be an int >= 0"),
    "ramp": (lambda: HeldCurrent.from_samples(RAMP, 0.05), ValueError,
             NOT_HELD + r".*use SampledCurrent"),
    "slow ramp": (lambda: HeldCurrent.from_samples(np.linspace(0, 1, 5000), 0.05),
                  ValueError, NOT_HELD + r"; samples 0 to 4999 drift by 1"),
    "too many jumps": (lambda: HeldCurrent.from_samples(STEP, 0.05, max_jumps=1),
                       ValueError, NOT_HELD + r"; 2 jumps .* > max_jumps = 1"),
    # Sweep.stimulus / Recording.stimulus
    "hold text": (lambda: sweep().stimulus(jn.AdEx(), hold="yes"), ValueError,
                  r"hold must be 'auto', True or False; got 'yes'"),
    "hold int": (lambda: sweep().stimulus(jn.AdEx(), hold=1), ValueError,
                 r"hold must be 'auto', True or False; got 1"),
    "hold a ramp": (lambda: sweep(RAMP, "ramp").stimulus(jn.AdEx(), hold=True), ValueError,
                    r"hold=True needs a piecewise-constant command; sweep 'ramp'"),
    "hold a recording with a ramp": (
        lambda: Recording([sweep(), sweep(RAMP, "ramp")]).stimulus(jn.AdEx(), hold=True),
        ValueError, r"hold=True needs a piecewise-constant command; sweep 'ramp'"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_raises_naming_the_argument(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_the_accepted_neighbours_of_the_bad_inputs_work():
    """Padding at the end, equal jump times, a zero tolerance, a step at hold=True."""
    padded = HeldCurrent(times=[1.0, np.inf], levels=[0.0, 2.0, 2.0])
    assert float(padded(5.0)) == 2.0
    assert float(HeldCurrent(times=[1.0, 1.0], levels=[0.0, 7.0, 3.0])(1.0)) == 3.0
    assert HeldCurrent.from_samples(STEP, 0.05, tolerance=0.0).times.shape == (2,)
    assert HeldCurrent.from_samples(STEP, 0.05, max_jumps=2).times.shape == (2,)
    assert isinstance(sweep().stimulus(jn.AdEx(), hold=True), HeldCurrent)
    assert isinstance(sweep(RAMP).stimulus(jn.AdEx()), jn.SampledCurrent)
