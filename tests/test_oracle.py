"""The differential oracle (see tests/oracle.py): random models inside their domains under
random stimuli, in float32 and float64, run by the default fixed-step engine and by the
adaptive/exact engine, each compared with a fine-step float64 reference. A run that says ok
must agree with the reference (counts, and spike times within the engine's stated
tolerance); otherwise it must be flagged. `make test` draws a few batches; `make test-slow`
draws enough for more than 5,000 checked runs."""

from __future__ import annotations

import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from oracle import MODELS, STIMULI, applicable, check_batch

COMBOS = [(m, kind, dtype) for m in MODELS for kind in STIMULI if applicable(m, kind)
          for dtype in (jnp.float64, jnp.float32)]
# The fast budget: a fixed handful of combinations (each compiles its own loops), drawn
# afresh by hypothesis within them.
FAST = [c for c in COMBOS if (c[0].id, c[1]) in {("LIF", "train"), ("Izhikevich", "step"),
                                                  ("HodgkinHuxley", "pulse"),
                                                  ("ConductanceLIF", "spikes")}
        and c[2] == jnp.float32]


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


TALLY: dict[str, int] = {}


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(combo=st.sampled_from(COMBOS), seed=st.integers(0, 2**31 - 1))
def test_oracle_thousands_of_random_cases(combo, seed):
    model, kind, dtype = combo
    findings, tally = check_batch(model, kind, dtype, seed, batch=8)
    for key, value in tally.items():
        TALLY[key] = TALLY.get(key, 0) + value
    assert not findings, _report(findings)


@pytest.mark.slow
def test_oracle_ran_enough_cases():
    # runs after the test above in the same process (pytest keeps file order)
    if not TALLY:
        pytest.skip("run with the oracle test above in the same process")
    print(f"oracle: {TALLY}")
    assert TALLY["cases"] >= 5000
