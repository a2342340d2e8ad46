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
from .scipy_spiking import izhikevich_spikes_scipy, lif_spikes_scipy, simulate_spiking_scipy

__all__ = [
    "izhikevich_spikes_scipy",
    "lif_spikes_scipy",
    "simulate_spiking_scipy",
    "HH_DEFAULTS",
    "ScipyResult",
    "hh_initial_state",
    "hh_rates",
    "hh_vector_field",
    "simulate_hh_scipy",
    "step_current",
]
