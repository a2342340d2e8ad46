"""The spike-timing features of eFEL computed from spike times instead of a voltage trace:
for models that reset at a threshold, whose voltage on the save grid has no spike shape
(it never reaches eFEL's -20 mV threshold), but whose spike times the engines record and
differentiate (`Trace.spike_times`)."""

from __future__ import annotations

import jax.numpy as jnp

SPIKE_TIME_FEATURES = ("Spikecount", "time_to_first_spike", "mean_frequency", "ISI_CV",
                       "adaptation_index2")
"""The features `from_spike_times` computes."""


def from_spike_times(times, names, *, stim_start: float, stim_end: float,
                     ignore_first_isi: bool = True) -> dict:
    """eFEL's spike-timing features with the spikes at `times` (ms, shape `(k,)`, ascending,
    NaN-padded after the last spike, as `Trace.spike_times`), with eFEL's definitions as
    `jaxneuron.features.extract` applies them to peak times.

    Works under `jax.jit`, `jax.grad` (through the times) and `jax.vmap`, and on NumPy
    arrays. `names` from `SPIKE_TIME_FEATURES`; an undefined feature is NaN.

    **Raises:** `ValueError` for a name not in `SPIKE_TIME_FEATURES`.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in SPIKE_TIME_FEATURES]
    if unknown:
        raise ValueError(f"names: {unknown} have no spike-time form; use "
                         f"{list(SPIKE_TIME_FEATURES)}")
    t = jnp.asarray(times, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"times must be 1-D (k,); got shape {t.shape}")
    if t.shape[0] < 2:  # room for the first spike and one ISI
        t = jnp.concatenate([t, jnp.full(2 - t.shape[0], jnp.nan, t.dtype)])
    exists = jnp.isfinite(t)
    count = jnp.sum(exists)
    safe = jnp.where(exists, t, 0.0)
    inside = exists & (safe >= stim_start) & (safe <= stim_end)
    n_in = jnp.sum(inside)
    out = {}
    if "Spikecount" in names:
        out["Spikecount"] = count.astype(t.dtype)
    if "time_to_first_spike" in names:
        out["time_to_first_spike"] = jnp.where(count > 0, safe[0] - stim_start, jnp.nan)
    if "mean_frequency" in names:
        last = jnp.max(jnp.where(inside, safe, -jnp.inf))
        span = jnp.where(n_in > 0, last - stim_start, -stim_start)
        ok = (count > 0) & (span != 0)
        out["mean_frequency"] = jnp.where(ok, 1000.0 * n_in / jnp.where(ok, span, 1.0),
                                          jnp.nan)
    pair = exists[1:] & exists[:-1]  # ISI i: spike i -> i + 1
    isis = jnp.where(pair, safe[1:] - safe[:-1], 0.0)
    if "ISI_CV" in names:
        use = pair.at[0].set(False) if ignore_first_isi and pair.shape[0] else pair
        n = jnp.sum(use)
        ok = n >= 2
        mean = jnp.sum(jnp.where(use, isis, 0.0)) / jnp.maximum(n, 1)
        var = jnp.sum(jnp.where(use, (isis - mean) ** 2, 0.0)) / jnp.maximum(n - 1, 1)
        out["ISI_CV"] = jnp.where(ok, jnp.sqrt(jnp.where(ok, var, 1.0))
                                  / jnp.where(ok, mean, 1.0), jnp.nan)
    if "adaptation_index2" in names:
        # the ISIs between spikes inside the window, from the window's second spike
        first_inside = jnp.argmax(inside)
        index = jnp.arange(t.shape[0] - 1)
        isi_in = pair & inside[1:] & inside[:-1] & (index > first_inside)
        both = isi_in[1:] & isi_in[:-1]
        total = isis[1:] + isis[:-1]
        ratio = (isis[1:] - isis[:-1]) / jnp.where(both, total, 1.0)
        ok = (count >= 4) & (n_in >= 4)
        out["adaptation_index2"] = jnp.where(
            ok, jnp.sum(jnp.where(both, ratio, 0.0)) / jnp.maximum(jnp.sum(both), 1), jnp.nan)
    return {n: out[n] for n in names}
