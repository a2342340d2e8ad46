"""SciPy/NumPy reference implementations, for tests and benchmarks only."""

from .scipy_models import (
    HH_DEFAULTS,
    ScipyResult,
    hh_initial_state,
    hh_rates,
    hh_vector_field,
    simulate_hh_scipy,
    step_current,
)

__all__ = [
    "HH_DEFAULTS",
    "ScipyResult",
    "hh_initial_state",
    "hh_rates",
    "hh_vector_field",
    "simulate_hh_scipy",
    "step_current",
]
