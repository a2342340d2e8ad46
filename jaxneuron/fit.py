"""`fit`: gradient descent through the solver on chosen model parameters, with Optax."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ._checks import check_int, check_real
from ._fields import check_parameter_names, replace_parameters
from .engines import with_engine
from .gradients import GRADIENT_MODES, uses_forward_mode, value_and_grad
from .models.base import AbstractNeuron
from .observed import check_observed
from .simulate import simulate
from .stimuli import AbstractStimulus
from .trace import Trace
from .transforms import AbstractTransform, Bounded, default_transform


def voltage_mse(trace: Trace, target) -> jax.Array:
    """Mean squared difference (mV²) between the simulated and the target voltage trace."""
    return jnp.mean((trace.v - target) ** 2)


def spike_time_mse(trace: Trace, target) -> jax.Array:
    """Mean squared difference (ms²) between the first k simulated spike times and the k
    `target` spike times (ms, shape `(k,)`, k <= `max_spikes`). A spike the model does not
    fire counts as one at the end of the run, so a missing spike costs more the earlier it
    was due. Spike times are differentiable with either spiking engine (`ClockSpiking`
    interpolates them inside the step, `ExactSpiking` root-finds them)."""
    target = jnp.asarray(target)
    times = trace.spike_times[..., : target.shape[-1]]
    times = jnp.where(jnp.isnan(times), trace.ts[..., -1:], times)
    return jnp.mean((times - target) ** 2)


def check_target(model: AbstractNeuron, stimulus: AbstractStimulus, target, loss, t1: float,
                 simulate_kwargs: dict, argument: str = "target"):
    """Check `target` against what `loss` compares it to, without running the simulation
    (`jax.eval_shape` of one `simulate` call and of the loss).

    - every numeric array in `target` must be finite;
    - `voltage_mse`: a 1-D array as long as the trace's save grid (`trace.v`);
    - `spike_time_mse`: a 1-D, non-empty, non-decreasing array of at most `max_spikes` times;
    - any loss: `loss(trace, target)` must evaluate to a scalar.

    **Returns:** `target` (as a float array for the built-in losses).

    **Raises:** `ValueError` naming `argument` and what is allowed.
    """
    builtin = loss in (voltage_mse, spike_time_mse)
    for leaf in ([target] if builtin else jax.tree.leaves(target)):
        if builtin or _is_numeric(leaf):  # a custom loss may take anything else as it is
            check_observed(argument, leaf)
    trace = jax.eval_shape(lambda: simulate(model, stimulus, t1=t1, **simulate_kwargs))
    if loss is voltage_mse:
        target = check_observed(
            argument, target, shape=trace.v.shape,
            what=f"a 1-D voltage trace on the save grid, shape {trace.v.shape} for t1={t1} "
                 "and these dt/save_every")
    elif loss is spike_time_mse:
        max_spikes = trace.spike_times.shape[-1]
        target = check_observed(
            argument, target, ndim=1, min_length=1, max_length=max_spikes,
            what=f"a 1-D array of 1 to max_spikes={max_spikes} spike times (ms)")
        if np.any(np.diff(target) < 0):
            raise ValueError(f"{argument} spike times must be sorted (non-decreasing); got "
                             f"{target.tolist()}")
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
    """`model`: the fitted model; `loss_history` `(steps + 1,)`: loss before each update and
    after the last; `param_history`: name -> values `(steps + 1,)`."""

    model: AbstractNeuron
    loss_history: np.ndarray
    param_history: dict[str, np.ndarray]

    @property
    def params(self) -> dict[str, float]:
        """Fitted values of the optimised parameters."""
        return {k: float(v[-1]) for k, v in self.param_history.items()}


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
    - `steps`: number of optimiser updates.
    - `gradient`: `"forward"`, `"reverse"` or `"auto"` mode of differentiation through the
      solver (see `jaxneuron.gradients.value_and_grad`; auto = forward for few parameters).

    **Returns:** a `FitResult`.

    **Raises:** `ValueError` for unknown names, a start outside its bounds, `steps < 1`, an
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
    steps = check_int("steps", steps, 1)
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
    bar = tqdm(range(steps), desc="fit", disable=not progress)
    for step in bar:
        values = problem.to_values(u)
        u, opt_state, value = _update(problem, optimizer, u, opt_state)
        losses.append(float(value))
        _check_finite_loss(losses[-1], step, values)
        for k in params:
            history[k].append(float(values[k]))
        bar.set_postfix(loss=f"{losses[-1]:.4g}")
    values = problem.to_values(u)
    losses.append(float(_objective(problem, u)))
    _check_finite_loss(losses[-1], steps, values)
    for k in params:
        history[k].append(float(values[k]))
    fitted = replace_parameters(model, values)
    return FitResult(model=fitted, loss_history=np.asarray(losses),
                     param_history={k: np.asarray(v) for k, v in history.items()})



def _check_interval(name: str, pair) -> tuple[float, float]:
    """A finite `(low, high)` with low < high."""
    if np.ndim(pair) != 1 or np.shape(pair)[0] != 2:
        raise ValueError(f"{name} must be a pair (low, high); got {pair!r}")
    low, high = (check_real(name, v) for v in pair)
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high; got {pair!r}")
    return low, high


def _is_numeric(leaf) -> bool:
    try:
        np.asarray(leaf, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


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
    the old `u`."""
    value, grad = value_and_grad(problem.objective, problem.gradient)(u)
    updates, opt_state = optimizer.update(grad, opt_state, u, value=value, grad=grad,
                                          value_fn=problem.objective)
    return optax.apply_updates(u, updates), opt_state, value

def _check_finite_loss(value: float, step: int, values: dict) -> None:
    if not np.isfinite(value) or not all(np.isfinite(float(v)) for v in values.values()):
        shown = ", ".join(f"{k}={float(v):.6g}" for k, v in values.items())
        raise FloatingPointError(
            f"fit: the loss became {value} at step {step} (parameters {shown}); the "
            "simulation failed or the target cannot be matched there: check the bounds, "
            "the start, dt, or use throw=True to see why the simulation failed")
