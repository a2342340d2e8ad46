"""Electrophysiology features with eFEL's names and definitions: exact (NumPy,
`extract`) and differentiable (JAX, `smooth`).

- `extract(time_ms, voltage_mv, names, *, stim_start, stim_end, ...)`: eFEL's values;
  an undefined feature is None.
- `smooth(time_ms, voltage_mv, names, *, stim_start, stim_end, smoothing, ...)`: smooth
  versions for losses (`jax.grad`, `jax.vmap`, `jax.jit`), which tend to the exact values
  as `smoothing` goes to zero.
- `from_spike_times(times, names, *, stim_start, stim_end)`: the spike-timing features from
  spike times (for models that reset, whose voltage has no spike shape).
- `trace_arrays(trace)`: the times and voltage of a `jaxneuron.Trace`.
"""

from .exact import extract
from .inputs import FEATURES, trace_arrays
from .smooth import NO_SMOOTH_FORM, SMOOTH_FEATURES, smooth
from .spike_times import SPIKE_TIME_FEATURES, from_spike_times

__all__ = ["FEATURES", "NO_SMOOTH_FORM", "SMOOTH_FEATURES", "SPIKE_TIME_FEATURES", "extract",
           "from_spike_times", "smooth", "trace_arrays"]
