"""`fit`: gradient descent through the solver on chosen model parameters, with Optax."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ._checks import check_real
from ._fields import check_parameter_names, replace_parameters
from ._stopping import RUNNING, TARGET, StopRule
from .engines import with_engine
from .gradients import GRADIENT_MODES, reverse_by, uses_forward_mode, value_and_grad
from .losses import (
    AbstractLoss,
    check_numeric_target,
    spike_time_mse as spike_time_mse,  # public here too (jaxneuron.fit)
    voltage_mse,
)
from .models.base import AbstractNeuron, AbstractSpikingNeuron
from .simulate import simulate
from .stimuli import AbstractStimulus
from .trace import Trace
from .transforms import AbstractTransform, Bounded, default_transform


def check_target(model: AbstractNeuron, stimulus: AbstractStimulus, target, loss, t1: float,
                 simulate_kwargs: dict, argument: str = "target"):
    """Check `target` against what `loss` compares it to, without running the simulation
    (`jax.eval_shape` of one `simulate` call and of the loss).

    - a loss of `jaxneuron.losses` (an `AbstractLoss`) checks it itself
      (`AbstractLoss.check_target`: e.g. `voltage_mse` takes a 1-D array as long as the
      save grid, `spike_time_mse` a sorted 1-D array of 1 to `max_spikes` times);
    - any other loss: every numeric array in `target` must be finite;
    - any loss: `loss(trace, target)` must evaluate to a scalar.

    **Returns:** `target` (as a float array for the built-in losses).

    **Raises:** `ValueError` naming `argument` and what is allowed.
    """
    trace = jax.eval_shape(lambda: simulate(model, stimulus, t1=t1, **simulate_kwargs))
    if isinstance(loss, AbstractLoss):
        with warnings.catch_warnings():
            if not isinstance(model, AbstractSpikingNeuron):
                # a smooth (conductance-based) model's spikes are part of its voltage
                # trajectory, which voltage MSE fits well: warn only for models that reset
                warnings.filterwarnings("ignore", message=".*voltage MSE is the wrong loss")
            target = loss.check_target(trace, target, argument=argument,
                                       t0=float(simulate_kwargs.get("t0", 0.0)), t1=t1)
    else:  # a custom loss may take anything: only its numeric arrays are checked
        target = check_numeric_target(argument, target)
    try:
        value = jax.eval_shape(lambda tr: loss(tr, target), trace)
    except Exception as error:  # noqa: BLE001 - any failure of the user's loss on this target
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(f"{argument}: loss(trace, target) fails for this target "
                         f"({type(error).__name__}: {first})") from error
    if not (hasattr(value, "shape") and value.shape == ()):
        raise ValueError(f"{argument}: loss(trace, target) must be a scalar; got "
                         f"{jax.tree.map(lambda x: x.shape, value)}")
    return target


@dataclasses.dataclass
class FitResult:
    """What `fit` returns.

    **Fields:**
    - `model`: the fitted model: the iterate with the lowest loss seen (`best_step`).
    - `loss_history` `(steps + 1,)`: the loss before each update and after the last one.
    - `param_history`: name -> values `(steps + 1,)`, the iterates the losses belong to.
    - `steps`: how many optimiser updates ran (`steps` of `fit` at most).
    - `stop_reason`: why it stopped: `"target: ..."` (the loss reached `target_loss`),
      `"converged: ..."` (no improvement beyond the tolerances for `patience` steps) or
      `"max steps: ..."`.
    - `best_step`: index in the histories of the fitted model.
    """

    model: AbstractNeuron
    loss_history: np.ndarray
    param_history: dict[str, np.ndarray]
    steps: int = 0
    stop_reason: str = ""
    best_step: int = -1

    @property
    def params(self) -> dict[str, float]:
        """Fitted values of the optimised parameters (those of `model`)."""
        return {k: float(v[self.best_step]) for k, v in self.param_history.items()}

    @property
    def loss(self) -> float:
        """The loss of the fitted model (`loss_history[best_step]`)."""
        return float(self.loss_history[self.best_step])


def fit(
    model: AbstractNeuron,
    stimulus: AbstractStimulus,
    target,
    *,
    params: Sequence[str],
    t1: float,
    loss: Callable[[Trace, object], jax.Array] = voltage_mse,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 300,
    rtol: float = 1e-6,
    atol: float = 0.0,
    patience: int | None = 5,
    target_loss: float | None = 0.0,
    bounds: dict[str, tuple[float, float]] | None = None,
    transforms: dict[str, AbstractTransform] | None = None,
    gradient: str = "auto",
    progress: bool = True,
    **simulate_kwargs,
) -> FitResult:
    """Fit the named parameters of `model` so its simulation matches `target`.

    Each parameter is optimised in an unconstrained space through an explicit transform:
    `Bounded(low, high)` where `bounds` gives an interval, otherwise one that keeps its
    starting sign (`Positive`/`Negative`), unless `transforms` says otherwise.

    **Arguments:**
    - `model`, `stimulus`: the starting model and the input that produced `target`.
    - `target`: what `loss(trace, target)` compares against; for the default
      `voltage_mse`, a voltage array on the simulation's save grid, shape `(n_save,)`.
    - `params`: names of the model fields to fit.
    - `t1`, `simulate_kwargs`: passed to `simulate` (`dt`, `solver`, `save_every`, ...).
    - `optimizer`: any Optax transform on the unconstrained values (default `optax.lbfgs()`,
      whose line search copes with the long narrow valleys of spiking-trace losses; it
      receives `value`, `grad` and `value_fn` as extra arguments).
    - `steps`: the most optimiser updates; the fit stops earlier when converged:
    - `rtol`, `atol`, `patience`: stop as converged once, over `patience` updates in a row,
      the loss has not fallen below its reference (its value at the last larger
      improvement) by more than `atol + rtol * |reference|` (`patience=None`: never).
    - `target_loss`: stop once the loss is `<= target_loss` (default 0, a perfect match for
      the losses of `jaxneuron.losses`, which are >= 0; `None` for a loss that can be
      negative).
    - `gradient`: `"forward"`, `"reverse"` or `"auto"` mode of differentiation through the
      solver (see `jaxneuron.gradients.value_and_grad`; auto = forward for few parameters).

    **Returns:** a `FitResult` (its `model` is the iterate of lowest loss; `steps` and
    `stop_reason` say how many updates ran and why it stopped). A start already at
    `target_loss` warns (no update is made).

    **Raises:** `ValueError` for unknown names, a start outside its bounds, `steps < 1`,
    `rtol < 0`, `atol < 0`, `patience < 1`, a NaN `target_loss`, an
    unknown gradient mode, or a `target` that does not fit the loss (see `check_target`:
    NaN/inf values, a wrong shape, unsorted spike times, a non-scalar loss);
    `FloatingPointError` if the loss becomes NaN/inf during the optimisation (naming the
    step and the parameter values there) instead of returning non-finite parameters.
    """
    params = list(params)
    if not params:
        raise ValueError("params: name at least one model parameter to fit")
    check_parameter_names(model, params, "params")
    bounds = bounds or {}
    transforms = dict(transforms or {})
    check_parameter_names(model, bounds, "bounds")
    check_parameter_names(model, transforms, "transforms")
    for name, transform in transforms.items():
        if not isinstance(transform, AbstractTransform):
            raise ValueError(f"transforms[{name!r}] must be a jaxneuron.transforms transform "
                             f"(e.g. Positive(), Bounded(low, high)); got "
                             f"{type(transform).__name__}")
    stop = StopRule.build(rtol=rtol, atol=atol, patience=patience, target_loss=target_loss,
                          steps=steps)
    if gradient not in GRADIENT_MODES:
        raise ValueError(f"gradient must be one of {GRADIENT_MODES}; got {gradient!r}")
    # Forward-mode gradients, reverse-mode line search: an engine that supports both.
    simulate_kwargs = with_engine(model, simulate_kwargs,
                                  forward=uses_forward_mode(gradient, len(params)))
    for name in params:
        value = float(getattr(model, name))
        if name in bounds:
            low, high = _check_interval(f"bounds[{name!r}]", bounds[name])
            if not low < value < high:
                raise ValueError(f"bounds: starting {name}={value} is outside ({low}, {high})")
            transforms.setdefault(name, Bounded(float(low), float(high)))
        transforms.setdefault(name, default_transform(value))
    optimizer = _DEFAULT_OPTIMIZER if optimizer is None else (
        optax.with_extra_args_support(optimizer))
    simulate_kwargs.setdefault("throw", False)
    target = check_target(model, stimulus, target, loss, t1, simulate_kwargs)
    problem = _Problem(model, stimulus, jnp.asarray(target), tuple(params),
                       {k: transforms[k] for k in params}, t1, loss,
                       simulate_kwargs, gradient)

    # Strongly typed from the start (a Python-float field would give weak types, and the
    # line search's state starts weak too), so `_update` compiles once.
    u = {k: jnp.asarray(transforms[k].inverse(getattr(model, k)), dtype=float) for k in params}
    opt_state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype) if eqx.is_array(x) else x,
                             optimizer.init(u))
    losses, history = [], {k: [] for k in params}
    state, best_u, best_step = stop.init(), u, 0
    bar = tqdm(total=steps, desc="fit", disable=not progress)
    for step in range(steps + 1):  # the loss after `step` updates; an update if running
        values = problem.to_values(u)
        if step < steps:
            new_u, opt_state, value = _update(problem, optimizer, u, opt_state)
        else:
            value = _objective(problem, u)
        losses.append(float(value))
        _check_finite_loss(losses[-1], step, values)
        for k in params:
            history[k].append(float(values[k]))
        if losses[-1] < losses[best_step]:
            best_u, best_step = u, step
        state, code = stop.step(state, value, step)
        if int(code) != RUNNING:
            break
        u = new_u
        bar.update()
        bar.set_postfix(loss=f"{losses[-1]:.4g}")
    bar.close()
    if step == 0 and int(code) == TARGET:
        warnings.warn(f"fit: the starting loss {losses[0]:.6g} is already <= target_loss="
                      f"{target_loss}; no update was made (pass target_loss=None for a loss "
                      "that can be negative)", UserWarning, stacklevel=2)
    fitted = replace_parameters(model, problem.to_values(best_u))
    return FitResult(model=fitted, loss_history=np.asarray(losses),
                     param_history={k: np.asarray(v) for k, v in history.items()},
                     steps=step, stop_reason=stop.reason(code), best_step=best_step)


def _check_interval(name: str, pair) -> tuple[float, float]:
    """A finite `(low, high)` with low < high."""
    if np.ndim(pair) != 1 or np.shape(pair)[0] != 2:
        raise ValueError(f"{name} must be a pair (low, high); got {pair!r}")
    low, high = (check_real(name, v) for v in pair)
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high; got {pair!r}")
    return low, high


_DEFAULT_OPTIMIZER = optax.with_extra_args_support(optax.lbfgs())
"""`fit`'s default optimiser, built once so that its compiled update is reused."""


class _Problem(eqx.Module):
    """What `fit` minimises, as one PyTree: arrays (the model's and stimulus's fields, the
    target) are traced, everything else is static, so `_update` compiles once per kind of
    problem and later `fit` calls with new values reuse it."""

    model: AbstractNeuron
    stimulus: AbstractStimulus
    target: jax.Array
    params: tuple[str, ...] = eqx.field(static=True)
    transforms: dict[str, AbstractTransform]
    t1: float = eqx.field(static=True)
    loss: Callable = eqx.field(static=True)
    simulate_kwargs: dict  # arrays in it (e.g. `y0`) are traced, options static
    gradient: str = eqx.field(static=True)

    def to_values(self, u: dict) -> dict:
        """Parameter values from their unconstrained counterparts `u`."""
        return {k: self.transforms[k].forward(u[k]) for k in self.params}

    def objective(self, u: dict) -> jax.Array:
        """The loss of the model with the parameters given by `u`."""
        trace = simulate(replace_parameters(self.model, self.to_values(u)), self.stimulus,
                         t1=self.t1, **self.simulate_kwargs)
        return self.loss(trace, self.target)


@eqx.filter_jit
def _objective(problem: _Problem, u: dict) -> jax.Array:
    return problem.objective(u)


@eqx.filter_jit
def _update(problem: _Problem, optimizer, u: dict, opt_state):
    """One optimiser step on `problem` from `u`: returns the new `u`, state and the loss at
    the old `u` (the line search's where it evaluated it)."""
    both = value_and_grad(problem.objective, problem.gradient)
    kept = searched_value_and_grad(opt_state)
    if kept is None:
        value, grad = both(u)
    else:  # the first step, or after a failed run, has no finite kept value
        value, grad = jax.lax.cond(jnp.isfinite(kept[0]), lambda: kept, lambda: both(u))
    updates, opt_state = optimizer.update(grad, opt_state, u, value=value, grad=grad,
                                          value_fn=reverse_by(problem.objective,
                                                              problem.gradient))
    return optax.apply_updates(u, updates), opt_state, value


def searched_value_and_grad(opt_state) -> tuple | None:
    """The loss and gradient at the point the last update led to, where the optimiser's
    state keeps them (Optax's line searches, e.g. L-BFGS: `value`, `grad`); else None."""
    found = [optax.tree_utils.tree_get(opt_state, name, None) for name in ("value", "grad")]
    return None if any(f is None for f in found) else tuple(found)


def _check_finite_loss(value: float, step: int, values: dict) -> None:
    if not np.isfinite(value) or not all(np.isfinite(float(v)) for v in values.values()):
        shown = ", ".join(f"{k}={float(v):.6g}" for k, v in values.items())
        raise FloatingPointError(
            f"fit: the loss became {value} at step {step} (parameters {shown}); the "
            "simulation failed or the target cannot be matched there: check the bounds, "
            "the start, dt, or use throw=True to see why the simulation failed")
