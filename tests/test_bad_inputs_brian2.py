"""Bad inputs of `jaxneuron.from_brian2`: each a one-line `ValueError` that names the
equation or argument (and both units where units disagree).

`CASES`: id -> (call, exception, regex)."""

from __future__ import annotations

import pytest

from jaxneuron import from_brian2

LIF = "dv/dt = (EL - v + R*I)/tau : volt\nI : amp"
NS = {"EL": "-70*mV", "R": "100*Mohm", "tau": "20*ms"}


def lif(equations=LIF, namespace=NS, **kw):
    return lambda: from_brian2(equations, namespace=namespace, **kw)


CASES = {
    "unit error in an equation": (
        lif("dv/dt = (EL - v + I)/tau : volt\nI : amp"), ValueError,
        r"equations: 'dv/dt = \(EL - v \+ I\)/tau : volt': units do not match in "
        r"'EL - v \+ I': 'EL - v' is in mV and 'I' in pA"),
    "wrong unit of a derivative": (
        lif("dv/dt = (EL - v + R*I) : volt\nI : amp"), ValueError,
        r"dv/dt is in mV, but the equation declares V/s"),
    "unknown function": (
        lif("dv/dt = (EL - v + R*I)/tau + erf(v/mV)*mV/ms : volt\nI : amp"), ValueError,
        r"unknown function 'erf' \(allowed: exp, log"),
    "stochastic term": (
        lif("dv/dt = (EL - v + R*I)/tau + sigma*xi*tau**-0.5 : volt\nI : amp\nsigma : volt"),
        ValueError, r"the stochastic term 'xi' is not supported"),
    "random numbers": (
        lif("dv/dt = (EL - v + R*I)/tau + 0*rand()*mV/ms : volt\nI : amp"), ValueError,
        r"random numbers \(rand\) are not supported"),
    "undefined name": (
        lif("dv/dt = (EL - v + R*I)/taux : volt\nI : amp"), ValueError,
        r"undefined name 'taux'"),
    "a bare single-letter unit is not a unit": (
        lif("dv/dt = (EL - v + R*I)/tau + 0*V/s : volt\nI : amp"), ValueError,
        r"undefined name 'V'"),
    "summed variable": (
        lif(LIF + "\ng_syn : siemens (summed)"), ValueError,
        r"flag \(summed\) on 'g_syn' is not supported"),
    "unknown flag": (
        lif(LIF + "\ng : siemens (sticky)"), ValueError, r"unknown flag \(sticky\) on 'g'"),
    "line without a unit": (
        lif("dv/dt = (EL - v + R*I)/tau\nI : amp"), ValueError,
        r"line 'dv/dt = \(EL - v \+ R\*I\)/tau' has no unit"),
    "unknown unit": (
        lif("dv/dt = (EL - v + R*I)/tau : volts_per_fortnight\nI : amp"), ValueError,
        r"equations: the unit of 'v': unknown unit 'volts_per_fortnight'"),
    "syntax error": (
        lif("dv/dt = (EL - v + R*I)/tau) : volt\nI : amp"), ValueError,
        r"cannot parse"),
    "code in an expression": (
        lif("dv/dt = __import__('os').getcwd() : volt\nI : amp"), ValueError,
        r"unknown function \"__import__\('os'\).getcwd\"|is not allowed"),
    "attribute access": (
        lif("dv/dt = (EL - v.real + R*I)/tau : volt\nI : amp"), ValueError,
        r"'v.real' is not allowed"),
    "a name defined twice": (
        lif(LIF + "\nv : volt"), ValueError, r"'v' is defined twice"),
    "no differential equation": (
        lambda: from_brian2("I : amp"), ValueError, r"no differential equation"),
    "equations not a string": (
        lambda: from_brian2(["dv/dt = -v/ms : volt"]), ValueError,
        r"equations must be a string of Brian2 equations; got list"),
    "namespace value in the wrong unit": (
        lif(namespace={**NS, "tau": "20*mV"}), ValueError,
        r"units do not match|dv/dt is in"),
    "namespace value for a declared parameter in the wrong unit": (
        lif(LIF + "\ngL : siemens", namespace={**NS, "gL": "2*mV"}), ValueError,
        r"namespace\['gL'\]: '2\*mV' is in mV, but the equations declare 'gL' in S"),
    "namespace entry that is not used": (
        lif(namespace={**NS, "tau_typo": "5*ms"}), ValueError,
        r"namespace\['tau_typo'\] is not used by the equations"),
    "namespace names a state": (
        lif(namespace={**NS, "v": "-70*mV"}), ValueError,
        r"namespace\['v'\] names a state variable; give state start values in initial"),
    "namespace value that is not a quantity": (
        lif(namespace={**NS, "tau": "twenty ms"}), ValueError, r"namespace\['tau'\]"),
    "namespace value of a bad type": (
        lif(namespace={**NS, "tau": [20.0]}), ValueError,
        r"namespace\['tau'\] must be a number or a quantity string"),
    "namespace not a dict": (
        lambda: from_brian2(LIF, namespace=[("EL", 1.0)]), ValueError,
        r"namespace must be a dict name -> value; got list"),
    "initial of an unknown state": (
        lif(initial={"w": "1*mV"}), ValueError,
        r"initial\['w'\] is not a state variable \(states: \['v'\]\)"),
    "initial in the wrong unit": (
        lif(initial={"v": "-70*ms"}), ValueError,
        r"initial\['v'\]: '-70\*ms' is in ms, but 'v' is in V"),
    "input not declared": (
        lif(input="I_ext"), ValueError,
        r"input: 'I_ext' is not a parameter of the equations; declare it"),
    "threshold not a condition": (
        lif(threshold="v - 10*mV"), ValueError,
        r"threshold must be a condition such as 'v > vt'; got 'v - 10\*mV'"),
    "threshold in mixed units": (
        lif(threshold="v > 10*ms"), ValueError, r"threshold 'v > 10\*ms': units do not match"),
    "reset of a parameter": (
        lif(threshold="v > -50*mV", reset="EL = -60*mV"), ValueError,
        r"reset: 'EL = -60\*mV' assigns to 'EL', which is not a state variable"),
    "reset in the wrong unit": (
        lif(threshold="v > -50*mV", reset="v = 5*nA"), ValueError,
        r"reset 'v = 5\*nA': the value is in nA, but the equation declares V"),
    "reset that is not a statement": (
        lif(threshold="v > -50*mV", reset="v == -60*mV"), ValueError,
        r"reset: cannot read 'v == -60\*mV'"),
    "reset without a threshold": (
        lif(reset="v = -60*mV"), ValueError, r"reset needs a threshold"),
    "refractory condition": (
        lif(threshold="v > -50*mV", reset="v = -65*mV", refractory="v > -40*mV"), ValueError,
        r"refractory: a condition \('v > -40\*mV'\) is not supported; give a time"),
    "refractory not a time": (
        lif(threshold="v > -50*mV", refractory="2*mV"), ValueError,
        r"refractory must be a time such as '2\*ms'; '2\*mV' is in mV"),
    "negative refractory": (
        lif(threshold="v > -50*mV", refractory=-1.0), ValueError,
        r"refractory must be a finite time >= 0; got -1.0"),
    "refractory without a threshold": (
        lif(refractory="2*ms"), ValueError, r"refractory needs a threshold"),
    "name clashes with a model method": (
        lif("dv/dt = (EL - v + R*I)/tau : volt\nI : amp\nreset : volt"), ValueError,
        r"the name 'reset' clashes with a model attribute"),
    "class name not an identifier": (
        lif(name="my model"), ValueError, r"name must be a Python identifier; got 'my model'"),
    "exponent with units": (
        lif("dv/dt = (EL - v + R*I)/tau + (v/mV)**(v)*0*mV/ms : volt\nI : amp"), ValueError,
        r"the exponent in '\(v / mV\) \*\* v' must be dimensionless"),
    "exp of a voltage": (
        lif("dv/dt = (EL - v + R*I)/tau*exp(v) : volt\nI : amp"), ValueError,
        r"the argument of exp must be dimensionless; 'v' is in mV"),
    "cyclic subexpressions": (
        lif("dv/dt = (EL - v + R*I)/tau + a : volt\na = b : volt/second\n"
            "b = a : volt/second\nI : amp"), ValueError, r"refer to each other in a cycle"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_a_clear_error(case):
    call, exception, pattern = CASES[case]
    with pytest.raises(exception, match=pattern) as info:
        call()
    assert "\n" not in str(info.value), "the message must be one line"
