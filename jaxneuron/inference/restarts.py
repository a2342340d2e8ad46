"""Point estimates by gradient descent from many random starts, vmapped in one call.

`jaxneuron.fit` runs one optimisation in a Python loop (with progress and history), so it
cannot be vmapped. `fit_restarts` runs the same optimisation — the same loss functions
(`jaxneuron.losses`), the same `jaxneuron.transforms` bijections onto the bounds (taken
from the `Prior`), the same `jaxneuron.gradients.value_and_grad`, the same default
optimiser (L-BFGS) and the same stop rule — in one compiled call, vmapped over starts drawn from
the prior.

Each start stops on its own when it converges (`rtol`, `atol`, `patience`, `target_loss`,
as in `fit`): the optimisation is a `lax.while_loop`, vmapped over the starts, so a start
that has stopped is frozen (the batched loop keeps its state unchanged: masking) and the
whole call ends as soon as every start has stopped or reached `steps`. The starts run in
lockstep: until the last one stops, every iteration still costs one update per start.
Within uniform bounds the best restart is the least-squares (= MAP for a
Gaussian likelihood with a flat prior) estimate, and the best few make starting points
for NUTS.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import check_int
from .._fields import replace_parameters
from .._keys import check_key
from .._stopping import RUNNING, StopRule
from ..engines import with_engine
from ..fit import check_target, searched_value_and_grad
from ..gradients import GRADIENT_MODES, reverse_by, uses_forward_mode, value_and_grad
from ..losses import voltage_mse
from ..models.base import AbstractNeuron
from ..simulate import simulate
from ..stimuli import AbstractStimulus
from ..trace import Trace
from .priors import Prior


@dataclasses.dataclass
class RestartsResult:
    """Results of `fit_restarts`, sorted from the lowest final loss up.

    **Fields:**
    - `names`: the fitted parameters (the prior's order).
    - `theta`: fitted values `(n_restarts, dim)`, each start's iterate of lowest loss;
      `start`: starting values, same shape.
    - `loss`: the loss of `theta` `(n_restarts,)` (inf where no iterate had a finite loss).
    - `loss_history`: loss before each update and after the last, `(n_restarts, s + 1)`
      with s the most updates any start ran; NaN after a start stopped.
    - `steps`: updates each start ran `(n_restarts,)`.
    - `stop_reason`: why each start stopped (`"target: ..."`, `"converged: ..."`,
      `"max steps: ..."`, or `"failed: ..."` where its loss became NaN/inf).
    - `seconds`: wall time of the whole vmapped run, compilation included.
    - `evaluations`: objective evaluations (each a value and gradient) each start made
      `(n_restarts,)`: the start's, then the line search's for each update (L-BFGS keeps
      the value and gradient at the point it accepts), or one per update for an optimiser
      without a line search (a lower bound for one that evaluates the loss in other
      ways).
    """

    names: tuple[str, ...]
    theta: np.ndarray
    start: np.ndarray
    loss: np.ndarray
    loss_history: np.ndarray
    seconds: float
    steps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, int))
    stop_reason: tuple[str, ...] = ()
    evaluations: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, int))

    @property
    def best(self) -> dict[str, float]:
        """The values with the lowest final loss."""
        return {n: float(v) for n, v in zip(self.names, self.theta[0], strict=True)}

    def top(self, k: int) -> dict[str, np.ndarray]:
        """The `k` best restarts as {name: `(k,)` values} (e.g. `run_nuts(init=...)`)."""
        return {n: self.theta[:k, i] for i, n in enumerate(self.names)}


def fit_restarts(
    model: AbstractNeuron,
    stimulus: AbstractStimulus,
    target,
    *,
    prior: Prior,
    t1: float,
    key: jax.Array,
    n_restarts: int = 32,
    loss: Callable[[Trace, object], jax.Array] = voltage_mse,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 50,
    rtol: float = 1e-6,
    atol: float = 0.0,
    patience: int | None = 5,
    target_loss: float | None = 0.0,
    gradient: str = "auto",
    **simulate_kwargs,
) -> RestartsResult:
    """Fit `prior.names` of `model` to `target` from `n_restarts` starts drawn from `prior`.

    **Arguments:**
    - `model`, `stimulus`, `target`, `loss`, `t1`, `simulate_kwargs`: as in `jaxneuron.fit`
      (`target` is what `loss(trace, target)` compares against, e.g. V on the save grid).
    - `prior`: the parameters to fit, their bounds (each is optimised unconstrained
      through the prior's bijection, so every iterate stays inside) and the distribution
      the starts are drawn from.
    - `key`: PRNG key for the starts.
    - `optimizer`: any Optax transform (default `optax.lbfgs()`, as in `fit`).
    - `steps`: the most optimiser updates per restart.
    - `rtol`, `atol`, `patience`, `target_loss`: when a restart stops early, as in
      `jaxneuron.fit` (each restart on its own; the call ends when all have stopped).
    - `gradient`: `"forward"`, `"reverse"` or `"auto"` (see `jaxneuron.gradients`).

    **Returns:** a `RestartsResult`, best first.

    **Raises:** `ValueError` for unknown names, `n_restarts < 1`, `steps < 1`, `rtol < 0`,
    `atol < 0`, `patience < 1`, a NaN `target_loss`, an unknown gradient mode, a `key`
    that is not a JAX PRNG key, or a `target` that does not fit the loss (as in `fit`:
    see `jaxneuron.fit.check_target`). Restarts whose loss becomes NaN/inf are not an
    error: they stop there ("failed") and keep their best finite iterate, or get
    `loss = inf` and sort last if they had none. The function
    itself is not jit-able (it returns NumPy results); all restarts run in one jitted,
    vmapped call.
    """
    prior.check(model)
    check_key(key)
    n_restarts = check_int("n_restarts", n_restarts, 1)
    stop = StopRule.build(rtol=rtol, atol=atol, patience=patience, target_loss=target_loss,
                          steps=steps)
    if gradient not in GRADIENT_MODES:
        raise ValueError(f"gradient must be one of {GRADIENT_MODES}; got {gradient!r}")
    simulate_kwargs = with_engine(model, simulate_kwargs,
                                  forward=uses_forward_mode(gradient, prior.dim))
    simulate_kwargs["throw"] = False
    target = check_target(model, stimulus, target, loss, t1, simulate_kwargs)
    problem = TraceProblem(model=model, stimulus=stimulus, target=jnp.asarray(target),
                           loss=loss, t1=t1, simulate_items=tuple(sorted(simulate_kwargs.items())))
    return run_restarts(problem, prior, key=key, n_restarts=n_restarts, optimizer=optimizer,
                        stop=stop, gradient=gradient)


class TraceProblem(eqx.Module):
    """`loss(simulate(model with values, stimulus), target)`, inf where the run failed: the
    objective of `fit_restarts`. Arrays are traced and options static, so a second problem
    of the same shapes reuses the compiled restarts."""

    model: AbstractNeuron
    stimulus: AbstractStimulus
    target: object
    loss: Callable = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    simulate_items: tuple = eqx.field(static=True)

    def objective(self, values: dict) -> jax.Array:
        """The loss of the model with the parameter `values` (name -> scalar)."""
        trace = simulate(replace_parameters(self.model, values), self.stimulus, t1=self.t1,
                         **dict(self.simulate_items))
        return jnp.where(trace.ok, self.loss(trace, self.target), jnp.inf)


def run_restarts(problem, prior: Prior, *, key: jax.Array, n_restarts: int,
                 optimizer: optax.GradientTransformation | None, stop: StopRule,
                 gradient: str, start: np.ndarray | None = None) -> RestartsResult:
    """Minimise `problem.objective(values)` (an `eqx.Module`; values: name -> scalar of
    `prior.names`) from `n_restarts` starts drawn from `prior` (or the given `start`,
    `(n_restarts, dim)`), all in one compiled, vmapped call; see `fit_restarts`."""
    optimizer = _DEFAULT_OPTIMIZER if optimizer is None else (
        optax.with_extra_args_support(optimizer))
    start_theta = prior.sample(key, n_restarts) if start is None else jnp.asarray(start)
    begin = time.perf_counter()
    theta, loss, history, ran, codes, evaluations = _run_restarts(
        problem, start_theta, prior, optimizer, stop, gradient)
    theta, loss, history = np.asarray(theta), np.asarray(loss), np.asarray(history)
    ran, codes, evaluations = np.asarray(ran), np.asarray(codes), np.asarray(evaluations)
    seconds = time.perf_counter() - begin
    final = np.where(np.isfinite(loss) & np.all(np.isfinite(theta), axis=1), loss, np.inf)
    order = np.argsort(final, kind="stable")
    return RestartsResult(names=prior.names, theta=theta[order],
                          start=np.asarray(start_theta)[order], loss=final[order],
                          loss_history=history[order, : int(ran.max()) + 1], seconds=seconds,
                          steps=ran[order], stop_reason=tuple(stop.reason(c) for c in codes[order]),
                          evaluations=evaluations[order])


_DEFAULT_OPTIMIZER = optax.with_extra_args_support(optax.lbfgs())


@eqx.filter_jit
def _run_restarts(problem, start_theta, prior, optimizer, stop, gradient):
    """All restarts in one compiled call; a module-level jit, so a second call with new
    arrays of the same shapes (another target, model values or starts) does not recompile.
    Returns, per restart, the best iterate, its loss, the loss history (NaN after the stop),
    the updates run, the stop code and the objective evaluations (line search included)."""
    transforms = prior.transforms()

    def to_values(u):
        return {k: transforms[k].forward(u[k]) for k in prior.names}

    def objective(u):
        return problem.objective(to_values(u))

    objective_and_grad = value_and_grad(objective, gradient)
    # The line search differentiates its `value_fn` itself, in reverse mode: give it the
    # same gradient mode as the updates.
    searched_objective = reverse_by(objective, gradient)

    def running(carry):
        return carry[-1] == RUNNING

    def iterate(carry):
        """Record the loss after k updates and check the stop rule, then make the next
        update (unused once stopped) and evaluate its point: taken from the line search's
        state where the optimiser keeps it (L-BFGS), else evaluated."""
        k, u, value, grad, opt_state, best_u, best_loss, history, evaluations, state, _ = carry
        history = history.at[k].set(value)
        better = value < best_loss
        best_u = jax.tree.map(lambda a, b: jnp.where(better, a, b), u, best_u)
        best_loss = jnp.where(better, value, best_loss)
        state, code = stop.step(state, value, k)
        updates, opt_state = optimizer.update(grad, opt_state, u, value=value, grad=grad,
                                              value_fn=searched_objective)
        new_u = optax.apply_updates(u, updates)
        cost = jnp.asarray(optax.tree_utils.tree_get(opt_state, "num_linesearch_steps", 0))
        kept = searched_value_and_grad(opt_state)
        if kept is not None:
            new_value, new_grad = kept
        else:
            new_value, new_grad = objective_and_grad(new_u)
            cost = cost + 1
        evaluations = evaluations + jnp.where(code == RUNNING, cost, 0)
        return (k + 1, new_u, new_value, new_grad, opt_state, best_u, best_loss, history,
                evaluations, state, code)

    def one_restart(u0):
        history = jnp.full(stop.steps + 1, jnp.nan)
        value, grad = objective_and_grad(u0)
        carry = (jnp.asarray(0), u0, value, grad, optimizer.init(u0), u0,
                 jnp.asarray(jnp.inf, history.dtype), history, jnp.asarray(1),
                 stop.init(history.dtype), jnp.asarray(RUNNING))
        k, *_, best_u, best_loss, history, evaluations, _, code = jax.lax.while_loop(
            running, iterate, carry)
        theta = jnp.stack([to_values(best_u)[name] for name in prior.names])
        return theta, best_loss, history, k - 1, code, evaluations

    u0 = {k: transforms[k].inverse(start_theta[:, i]) for i, k in enumerate(prior.names)}
    return jax.vmap(one_restart)(u0)

