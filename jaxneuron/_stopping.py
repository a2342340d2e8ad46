"""When an optimisation stops: the convergence rule shared by `fit` (a Python loop) and
`fit_restarts` (a vmapped `lax.while_loop`), written once in JAX so both apply it alike."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._checks import check_int, check_real

# Why an optimisation stopped: `StopRule.step`'s codes and `StopRule.reason`'s text.
RUNNING = 0
TARGET = 1
CONVERGED = 2
MAX_STEPS = 3
FAILED = 4


class StopRule(eqx.Module):
    """Stop when the loss reaches `target_loss`, or when over `patience` steps in a row it
    has not gone below its reference (the loss at the last significant improvement) by
    more than `atol + rtol * |reference|`; `steps` updates at most. Build with `build`."""

    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    patience: int | None = eqx.field(static=True)
    target_loss: float | None = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    @classmethod
    def build(cls, *, rtol, atol, patience, target_loss, steps) -> StopRule:
        """Validate the options (`ValueError` naming the argument) and build the rule."""
        return cls(
            rtol=check_real("rtol", rtol, ge=0.0),
            atol=check_real("atol", atol, ge=0.0),
            patience=None if patience is None else check_int("patience", patience, 1),
            target_loss=None if target_loss is None else check_real(
                "target_loss", target_loss, finite=False),
            steps=check_int("steps", steps, 1))

    def init(self, dtype=float) -> tuple:
        """The state before the first loss: `(reference, steps without improvement)`."""
        return jnp.asarray(jnp.inf, dtype), jnp.asarray(0)

    def step(self, state: tuple, loss, k) -> tuple[tuple, object]:
        """Take the loss `loss` of the iterate after `k` updates; return the new state and
        the stop code (`RUNNING`, `TARGET`, `CONVERGED`, `MAX_STEPS` or `FAILED`, in this
        order of precedence but `FAILED` first). Pure JAX: works inside `jit` and `vmap`."""
        reference, stall = state
        margin = self.atol + self.rtol * jnp.abs(reference)
        improved = jnp.isinf(reference) | (loss < reference - margin)
        reference = jnp.where(improved, loss, reference)
        stall = jnp.where(improved, 0, stall + 1)
        code = jnp.where(k >= self.steps, MAX_STEPS, RUNNING)
        if self.patience is not None:
            code = jnp.where(stall >= self.patience, CONVERGED, code)
        if self.target_loss is not None:
            code = jnp.where(loss <= self.target_loss, TARGET, code)
        code = jnp.where(jnp.isfinite(loss), code, FAILED)
        return (reference, stall), code

    def reason(self, code: int) -> str:
        """The text of a stop code, e.g. for `FitResult.stop_reason`."""
        code = int(code)
        if code == TARGET:
            if self.target_loss == 0:
                return "target: the loss reached 0"
            return f"target: the loss reached target_loss={self.target_loss:g}"
        if code == CONVERGED:
            return (f"converged: the loss improved by less than atol={self.atol:g} + "
                    f"rtol={self.rtol:g} x |loss| over {self.patience} steps (patience)")
        if code == MAX_STEPS:
            return f"max steps: ran all {self.steps} steps without meeting a stop rule"
        if code == FAILED:
            return "failed: the loss became NaN/inf (the simulation failed there)"
        return "running"
