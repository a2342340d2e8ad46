"""Brian2 equation strings of jaxneuron's built-in models: the same equations and parameter
values as `jn.LIF()`, `jn.Izhikevich.preset("RS")`, `jn.AdEx()` and `jn.HodgkinHuxley()`.

Each is a dict of `from_brian2`'s arguments (`jn.from_brian2(**catalog.ADEX)`): a starting
point for a model of your own, and the reference that the importer reproduces the built-ins
from (to 1e-10 mV in float64).
"""

from __future__ import annotations

LIF = dict(
    equations="""
        dv/dt = (V_rest - v + R*I)/tau_m : volt (unless refractory)
        I : amp
    """,
    threshold="v > V_th", reset="v = V_reset", refractory="2*ms",
    namespace={"V_rest": "-65*mV", "R": "10*Mohm", "tau_m": "10*ms", "V_th": "-50*mV",
               "V_reset": "-65*mV"},
    initial={"v": "-65*mV"}, name="LIFFromBrian2")
"""`jn.LIF()`; its input in pA (jn.LIF's in nA)."""

IZHIKEVICH = dict(
    equations="""
        dv/dt = (0.04/ms/mV)*v**2 + (5/ms)*v + 140*mV/ms - u + I : volt
        du/dt = a*(b*v - u) : volt/second
        a : 1/second
        b : 1/second
        I : volt/second
    """,
    threshold="v >= 30*mV", reset="v = c; u += d",
    namespace={"a": "0.02/ms", "b": "0.2/ms", "c": "-65*mV", "d": "8*mV/ms"},
    initial={"v": "-65*mV", "u": "-13*mV/ms"}, name="IzhikevichFromBrian2")
"""`jn.Izhikevich.preset("RS")`: b is per ms here (Brian2's units), so u starts at b v."""

ADEX = dict(
    equations="""
        dvm/dt = (gL*(EL - vm) + gL*DeltaT*exp((vm - VT)/DeltaT) + I - w)/C : volt
        dw/dt = (a*(vm - EL) - w)/tauw : amp
        I : amp
    """,
    threshold="vm > Vcut", reset="vm = Vr; w += b",
    namespace={"C": "281*pF", "gL": "30*nS", "EL": "-70.6*mV", "VT": "-50.4*mV",
               "DeltaT": "2*mV", "tauw": "144*ms", "a": "4*nS", "b": "0.0805*nA",
               "Vr": "-70.6*mV", "Vcut": "-40.4*mV"},
    initial={"vm": "-70.6*mV"}, name="AdExFromBrian2")
"""`jn.AdEx()` (Brette & Gerstner 2005, as Brian2's AdEx example writes it)."""

HH = dict(
    equations="""
        dv/dt = (I - gNa*m**3*h*(v - ENa) - gK*n**4*(v - EK) - gL*(v - EL))/Cm : volt
        dm/dt = alpha_m*(1 - m) - beta_m*m : 1
        dh/dt = alpha_h*(1 - h) - beta_h*h : 1
        dn/dt = alpha_n*(1 - n) - beta_n*n : 1
        alpha_m = phi/exprel(-(v + 40*mV)/(10*mV))/ms : Hz
        beta_m = phi*4*exp(-(v + 65*mV)/(18*mV))/ms : Hz
        alpha_h = phi*0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
        beta_h = phi/(1 + exp(-(v + 35*mV)/(10*mV)))/ms : Hz
        alpha_n = phi*0.1/exprel(-(v + 55*mV)/(10*mV))/ms : Hz
        beta_n = phi*0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz
        I : amp/metre**2
    """,
    namespace={"Cm": "1*uF/cm**2", "gNa": "120*msiemens/cm**2", "gK": "36*msiemens/cm**2",
               "gL": "0.3*msiemens/cm**2", "ENa": "50*mV", "EK": "-77*mV",
               "EL": "-54.387*mV", "phi": 1.0},
    name="HHFromBrian2")
"""`jn.HodgkinHuxley()` at its reference temperature (phi = 1); start values from
`hh_initial()`."""


def hh_initial() -> dict:
    """The built-in HH's initial state as `initial` (gates at steady state at -65 mV)."""
    from ..models import HodgkinHuxley

    v, m, h, n = (float(x) for x in HodgkinHuxley().initial_state())
    return {"v": f"{v!r}*mV", "m": m, "h": h, "n": n}
