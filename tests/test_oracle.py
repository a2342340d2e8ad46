"""The differential oracle (see tests/oracle.py): random models inside their domains under
random stimuli, in float32 and float64, run by the default fixed-step engine and by the
adaptive/exact engine, each compared with a fine-step float64 reference. A run that says ok
must agree with the reference (counts, and spike times within the engine's stated
tolerance); otherwise it must be flagged. `make test` draws a few batches; `make test-slow`
draws enough for more than 5,000 checked runs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from oracle import MODELS, REFINE, STIMULI, applicable, case, check_batch

import jaxneuron as jn

COMBOS = [(m, kind, dtype) for m in MODELS for kind in STIMULI if applicable(m, kind)
          for dtype in (jnp.float64, jnp.float32)]
# The fast budget: one combination (it compiles its own loops), drawn by hypothesis.
FAST = [c for c in COMBOS if (c[0].id, c[1]) == ("LIF", "train") and c[2] == jnp.float32]


def _report(findings):
    return "\n".join(f"{f.model}/{f.stimulus}/{f.dtype}/{f.engine} set {f.index}: n={f.n} "
                     f"reference {f.n_ref}, worst spike-time error {f.worst_dt:.3g} ms; "
                     f"{f.description}" for f in findings[:5])


@settings(max_examples=len(FAST), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(combo=st.sampled_from(FAST), seed=st.integers(0, 2**31 - 1))
def test_oracle_every_ok_run_agrees_with_the_reference(combo, seed):
    model, kind, dtype = combo
    findings, tally = check_batch(model, kind, dtype, seed, batch=4)
    assert not findings, _report(findings)
    assert tally["cases"] > 0


# Classes of disagreement the oracle has found and no mechanism closes yet: (model,
# stimulus, engine) -> what goes wrong. Each has a regression case below, marked
# xfail(strict=True): when a change closes the class, its case passes, the strict xfail
# fails, and the class must leave this list. The slow test counts these findings apart and
# fails on any other.
OPEN = {
    ("GeneralizedNeuron", "train", "clock"):
        "a grazing crossing between two step ends (over threshold and back inside one "
        "fixed step) is missed, and the spike comes later",
    ("Izhikevich", "pulse", "clock"):
        "after a strong short pulse the spike upstroke errs by ~0.4 ms at dt 0.05; the "
        "local-error estimate does not probe steps with spikes",
    ("Izhikevich", "spikes", "clock"):
        "spike-time errors of bursting cells under input jumps accumulate into other "
        "counts without a flag",
    ("ConductanceLIF", "spikes", "clock"):
        "a spike reached by a slow approach to threshold errs by ~1.5 ms at dt 0.05 and "
        "the error carries into the next spike without a flag",
}

TALLY: dict[str, int] = {}


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(combo=st.sampled_from(COMBOS), seed=st.integers(0, 2**31 - 1))
def test_oracle_thousands_of_random_cases(combo, seed):
    model, kind, dtype = combo
    findings, tally = check_batch(model, kind, dtype, seed, batch=8)
    known = [f for f in findings if (f.model, f.stimulus, f.engine) in OPEN]
    tally["open"] = len(known)
    for key, value in tally.items():
        TALLY[key] = TALLY.get(key, 0) + value
    new = [f for f in findings if f not in known]
    assert not new, _report(new)


@pytest.mark.slow
def test_oracle_ran_enough_cases():
    # runs after the test above in the same process (pytest keeps file order)
    if not TALLY:
        pytest.skip("run with the oracle test above in the same process")
    print(f"oracle: {TALLY}")
    assert TALLY["cases"] >= 5000


def open_class(key):
    """Mark a regression case of an open class: it fails (AssertionError) until the class
    is closed; then the strict xfail fails and the class must leave `OPEN`. The cases run
    with `make test-slow` (each replays a fine float64 reference)."""
    def mark(test):
        test = pytest.mark.xfail(strict=True, raises=AssertionError, reason=OPEN[key])(test)
        return pytest.mark.slow(test)

    return mark


def _replay(model_id, kind, seed, index):
    """The clock run of a drawn case and the float64 reference at dt / REFINE."""
    family, model, stimulus = case(model_id, kind, seed, index)
    run = jn.simulate(model, stimulus, t1=family.t1, dt=family.dt, save_every=0, throw=False)
    ref = jn.simulate(model, stimulus, t1=family.t1, dt=family.dt / REFINE, save_every=0)
    return run, ref


def _agrees_or_flagged(run, ref, tolerance):
    if int(run.status) != 0:
        return True
    n = int(ref.n_spikes)
    return int(run.n_spikes) == n and np.all(np.abs(
        np.asarray(run.spike_times[:n]) - np.asarray(ref.spike_times[:n])) <= tolerance)


@open_class(("GeneralizedNeuron", "train", "clock"))
def test_open_clock_misses_a_grazing_crossing_between_steps():
    # L5 pyramidal cell under a 1.26-ms, 985-pA pulse train: the reference's first spike
    # at 34.76 ms (also the exact engine's) is a crossing by a fraction of a millivolt
    # that the 0.05-ms clock steps over; its first spike comes at 37.06 ms, status 0.
    run, ref = _replay("GeneralizedNeuron", "train", 5, 1)
    assert _agrees_or_flagged(run, ref, 0.5)


@open_class(("Izhikevich", "pulse", "clock"))
def test_open_clock_spike_after_a_strong_short_pulse():
    # Izhikevich (a = 0.054, c = -55, d = 5.6) under 144 for 0.56 ms: second spike at 6.565
    # ms at dt 0.05, 6.125 ms in the reference and the exact engine; status 0.
    run, ref = _replay("Izhikevich", "pulse", 5, 3)
    assert _agrees_or_flagged(run, ref, 0.2)


@open_class(("Izhikevich", "spikes", "clock"))
def test_open_clock_bursting_under_input_jumps():
    # Izhikevich (a = 0.092, c = -50, d = 0.8) under 24 input kicks: 28 spikes at dt 0.05,
    # 25 in the reference, the exact engine and the clock at dt 0.0125; status 0.
    run, ref = _replay("Izhikevich", "spikes", 7, 7)
    assert _agrees_or_flagged(run, ref, 1.0)


@open_class(("ConductanceLIF", "spikes", "clock"))
def test_open_clock_slow_approach_error_carries_to_the_next_spike():
    # conductance LIF under 24 excitatory kicks: spikes 14 and 15 at 92.77 and 97.78 ms at
    # dt 0.05, 91.25 and 96.03 ms in the reference (the exact engine at tolerance 1e-10:
    # 91.18 and 95.96); status 0.
    run, ref = _replay("ConductanceLIF", "spikes", 0, 1)
    assert _agrees_or_flagged(run, ref, 1.0)
