"""Synaptic plasticity: pair-based spike-timing-dependent plasticity (STDP) with traces.

The rule's state (one presynaptic and one postsynaptic trace per neuron) and the weights
it changes are carried through the network's scan like every other state, so plastic
networks batch (`vmap`) and differentiate (through the spikes' surrogate) as static ones.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .._checks import check_finite, check_positive
from .._fields import param

STDP_RULES = ("additive", "multiplicative")


class STDP(eqx.Module):
    """Pair-based STDP (all-to-all pairing) with exponential traces (Song, Miller & Abbott
    2000, Nat. Neurosci. 3:919; traces as in Morrison, Diesmann & Gerstner 2008, Biol.
    Cybern. 98:459).

    A presynaptic spike at $t_{pre}$ and a postsynaptic one at $t_{post}$, with
    $\\Delta t = t_{post} - t_{pre}$, change the weight by
    $\\Delta w = A_+ f_+(w) e^{-\\Delta t / \\tau_+}$ for $\\Delta t > 0$ and
    $\\Delta w = -A_- f_-(w) e^{\\Delta t / \\tau_-}$ for $\\Delta t < 0$, where
    - `rule="additive"`: $f_\\pm = 1$, and the weight is clipped to `[w_min, w_max]`;
    - `rule="multiplicative"` (soft bounds, weight-dependent; van Rossum, Bi & Turrigiano
      2000, J. Neurosci. 20:8812): $f_+ = (w_{max} - w) / (w_{max} - w_{min})$,
      $f_- = (w - w_{min}) / (w_{max} - w_{min})$, so the bounds are approached
      gradually (and the weight is clipped to them should one step overshoot, which needs
      $A_\\pm$ times an accumulated trace above $w_{max} - w_{min}$).

    Pairs of spikes in the same step (`Δt = 0`) do not change the weight.

    **Arguments:** `A_plus`, `A_minus` (weight units: nS for conductance synapses, pA for
    current synapses), `tau_plus`, `tau_minus` (ms), `w_min`, `w_max` (weight units),
    `rule` (static).
    """

    A_plus: Float[Array, ""] = param(0.01)
    A_minus: Float[Array, ""] = param(0.0105)
    tau_plus: Float[Array, ""] = param(20.0)
    tau_minus: Float[Array, ""] = param(20.0)
    w_min: Float[Array, ""] = param(0.0)
    w_max: Float[Array, ""] = param(1.0)
    rule: str = eqx.field(static=True, default="additive")

    def __check_init__(self):
        if self.rule not in STDP_RULES:
            raise ValueError(f"rule must be one of {STDP_RULES}; got {self.rule!r}")
        check_positive("tau_plus", self.tau_plus)
        check_positive("tau_minus", self.tau_minus)
        check_positive("A_plus", self.A_plus, allow_zero=True)
        check_positive("A_minus", self.A_minus, allow_zero=True)
        check_finite("A_plus", self.A_plus)
        check_finite("A_minus", self.A_minus)
        check_finite("w_min", self.w_min)
        check_finite("w_max", self.w_max)
        check_positive("w_max - w_min", self.w_max - self.w_min)

    def window(self, delta_t, w) -> Float[Array, " *shape"]:
        """The analytic weight change of one pair at offset `delta_t` = t_post - t_pre (ms)
        from weight `w` (before clipping to the bounds; 0 at `delta_t = 0`)."""
        delta_t = jnp.asarray(delta_t)
        f_plus = f_minus = 1.0
        if self.rule == "multiplicative":
            span = self.w_max - self.w_min
            f_plus, f_minus = (self.w_max - w) / span, (w - self.w_min) / span
        ltp = self.A_plus * f_plus * jnp.exp(-jnp.abs(delta_t) / self.tau_plus)
        ltd = -self.A_minus * f_minus * jnp.exp(-jnp.abs(delta_t) / self.tau_minus)
        return jnp.where(delta_t > 0, ltp, jnp.where(delta_t < 0, ltd, 0.0))

    def init(self, n_pre: int, n_post: int, dtype) -> tuple[Float[Array, " n_pre"],
                                                             Float[Array, " n_post"]]:
        """Zero traces: presynaptic `(n_pre,)` and postsynaptic `(n_post,)`."""
        return jnp.zeros((n_pre,), dtype), jnp.zeros((n_post,), dtype)

    def step(self, traces, weights: Float[Array, " n_syn"], pre_of: Int[Array, " n_syn"],
             post_of: Int[Array, " n_syn"], pre_fired: Float[Array, " n_pre"],
             post_fired: Float[Array, " n_post"], dt: float):
        """Advance the traces by one step of `dt` (ms) and apply the step's spikes.

        Traces decay first; each postsynaptic spike then potentiates its synapses by the
        presynaptic traces, each presynaptic spike depresses its synapses by the
        postsynaptic traces (both from earlier steps), and finally the step's spikes are
        added to the traces. `pre_of`/`post_of` give each synapse's neurons; `pre_fired`,
        `post_fired` are the step's spikes (0/1, or surrogate-differentiable floats).

        **Returns:** `(traces, weights)`.
        """
        x_pre, y_post = traces
        x_pre = x_pre * jnp.exp(-dt / self.tau_plus)
        y_post = y_post * jnp.exp(-dt / self.tau_minus)
        potentiation = self.A_plus * x_pre[pre_of] * post_fired[post_of]
        depression = self.A_minus * y_post[post_of] * pre_fired[pre_of]
        if self.rule == "multiplicative":
            span = self.w_max - self.w_min
            potentiation = potentiation * (self.w_max - weights) / span
            depression = depression * (weights - self.w_min) / span
        weights = jnp.clip(weights + potentiation - depression, self.w_min, self.w_max)
        return (x_pre + pre_fired, y_post + post_fired), weights


def pairing_window(rule: STDP, delta_t, *, dt: float, w0: float) -> Float[Array, " k"]:
    """Weight change from one pre/post spike pair per offset `delta_t` (ms, t_post - t_pre,
    multiples of `dt`), measured by running `rule.step` on one synapse of initial weight
    `w0` over the pairing (vmapped over the offsets). Compare with the analytic window in
    the `STDP` docstring.

    **Returns:** `Δw`, shape `delta_t.shape`.
    """
    offsets = jnp.round(jnp.asarray(delta_t) / dt).astype(jnp.int32)
    span = int(jnp.max(jnp.abs(offsets))) if offsets.size else 0
    first = span + 1
    n_steps = 2 * span + 8 * int(max(float(rule.tau_plus), float(rule.tau_minus)) / dt) + 2
    synapse = jnp.zeros((1,), jnp.int32)

    def one(offset):
        def body(carry, k):
            pre = jnp.where(k == first, 1.0, 0.0)[None]
            post = jnp.where(k == first + offset, 1.0, 0.0)[None]
            return rule.step(*carry, synapse, synapse, pre, post, dt), None

        dtype = jnp.result_type(float)
        carry = (rule.init(1, 1, dtype), jnp.full((1,), w0, dtype))
        (_, w), _ = jax.lax.scan(body, carry, jnp.arange(n_steps))
        return w[0] - w0

    return jax.vmap(one)(offsets.ravel()).reshape(offsets.shape)


def synapse_sources(indptr: Int[Array, " n_pre+1"], n_synapses: int) -> Int[Array, " n_syn"]:
    """The presynaptic index of each synapse of a CSR connectivity (works under jit/vmap)."""
    return jnp.searchsorted(indptr, jnp.arange(n_synapses), side="right") - 1
