"""`Trace`: the result of one simulation."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


class Trace(eqx.Module):
    """A simulated trajectory with its spikes.

    Under `vmap` every field gains a leading batch axis.

    **Fields:**
    - `ts`: save times (ms), shape `(n_save,)`.
    - `states`: saved states, shape `(n_save, n_states)`, columns named by `state_names`.
    - `v`: membrane potential (mV) at the save times, shape `(n_save,)`.
    - `spike_times`: upward threshold crossings (ms), interpolated inside the step,
      shape `(max_spikes,)`, NaN after the last one.
    - `n_spikes`: total number of crossings (may exceed `max_spikes`; see `spikes_overflowed`).
    - `final_state`: state at `t1`, shape `(n_states,)`.
    - `ok`: False if the run blew up (non-finite state) or the solver failed (e.g. max_steps).
    """

    ts: Float[Array, " n_save"]
    states: Float[Array, "n_save n_states"]
    v: Float[Array, " n_save"]
    spike_times: Float[Array, " max_spikes"]
    n_spikes: Int[Array, ""]
    final_state: Float[Array, " n_states"]
    ok: Bool[Array, ""]
    state_names: tuple[str, ...] = eqx.field(static=True)

    @property
    def spikes_overflowed(self) -> Bool[Array, ""]:
        """True where more spikes occurred than `spike_times` can hold."""
        return self.n_spikes > self.spike_times.shape[-1]

    def state(self, name: str) -> Float[Array, " n_save"]:
        """The saved trajectory of the state called `name`."""
        if name not in self.state_names:
            raise ValueError(f"name must be one of {self.state_names}; got {name!r}")
        return self.states[..., self.state_names.index(name)]


def assemble_trace(model, ts, states, spike_times, n_spikes, ok, final_state=None) -> Trace:
    """A `Trace` of `model` from saved `states` `(n_save, n_states)`; `final_state`
    defaults to the last saved state, and a non-finite final state clears `ok`."""
    final = states[-1] if final_state is None else final_state
    return Trace(ts=ts, states=states, v=jax.vmap(model.voltage)(states),
                 spike_times=spike_times, n_spikes=n_spikes, final_state=final,
                 ok=ok & jnp.all(jnp.isfinite(final)), state_names=tuple(model.state_names))
