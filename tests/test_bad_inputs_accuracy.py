"""Bad inputs of the accuracy estimate's option (same table shape as test_bad_inputs.py)."""

from __future__ import annotations

import pytest

import jaxneuron as jn

API = {  # id: (callable, exception, regex)
    "FixedSteps accuracy text": (lambda: jn.FixedSteps(accuracy="yes"), ValueError,
                                 r"accuracy must be True .* or False; got 'yes'"),
    "FixedSteps accuracy int": (lambda: jn.FixedSteps(accuracy=1), ValueError,
                                r"accuracy must be True .* or False; got 1"),
    "FixedSteps accuracy None": (lambda: jn.FixedSteps(accuracy=None), ValueError,
                                 r"accuracy must be True .* or False; got None"),
    "ClockSpiking accuracy text": (lambda: jn.ClockSpiking(accuracy="off"), ValueError,
                                   r"accuracy must be True .* or False; got 'off'"),
    "ClockSpiking accuracy float": (lambda: jn.ClockSpiking(accuracy=0.0), ValueError,
                                    r"accuracy must be True .* or False; got 0.0"),
}


@pytest.mark.parametrize("case", list(API), ids=list(API))
def test_bad_python_input_raises_naming_the_argument(case):
    call, error, match = API[case]
    with pytest.raises(error, match=match):
        call()


def test_good_options_pass():
    assert jn.FixedSteps(accuracy=False).accuracy is False
    assert jn.ClockSpiking("heun", accuracy=True).accuracy is True
