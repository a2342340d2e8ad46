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

from ._fields import check_parameter_names, replace_parameters
from .engines import with_engine
from .gradients import GRADIENT_MODES, uses_forward_mode, value_and_grad
from .models.base import AbstractNeuron
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

    **Raises:** `ValueError` for unknown names, a start outside its bounds, `steps < 1`, or an
    unknown gradient mode.
    """
    params = list(params)
    if not params:
        raise ValueError("params: name at least one model parameter to fit")
    check_parameter_names(model, params, "params")
    bounds = bounds or {}
    transforms = dict(transforms or {})
    check_parameter_names(model, bounds, "bounds")
    check_parameter_names(model, transforms, "transforms")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if gradient not in GRADIENT_MODES:
        raise ValueError(f"gradient must be one of {GRADIENT_MODES}; got {gradient!r}")
    # Forward-mode gradients, reverse-mode line search: an engine that supports both.
    simulate_kwargs = with_engine(model, simulate_kwargs,
                                  forward=uses_forward_mode(gradient, len(params)))
    for name in params:
        value = float(getattr(model, name))
        if name in bounds:
            low, high = bounds[name]
            if not low < value < high:
                raise ValueError(f"bounds: starting {name}={value} is outside ({low}, {high})")
            transforms.setdefault(name, Bounded(float(low), float(high)))
        transforms.setdefault(name, default_transform(value))
    optimizer = optax.with_extra_args_support(optax.lbfgs() if optimizer is None else optimizer)
    simulate_kwargs.setdefault("throw", False)

    def to_values(u):
        return {k: transforms[k].forward(u[k]) for k in params}

    def objective(u):
        trace = simulate(replace_parameters(model, to_values(u)), stimulus, t1=t1,
                         **simulate_kwargs)
        return loss(trace, target)

    objective_and_grad = value_and_grad(objective, gradient)

    @eqx.filter_jit
    def update(u, opt_state):
        value, grad = objective_and_grad(u)
        updates, opt_state = optimizer.update(grad, opt_state, u, value=value, grad=grad,
                                              value_fn=objective)
        return optax.apply_updates(u, updates), opt_state, value

    # Strongly typed from the start (a Python-float field would give weak types, and the
    # line search's state starts weak too), so `update` compiles once.
    u = {k: jnp.asarray(transforms[k].inverse(getattr(model, k)), dtype=float) for k in params}
    opt_state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype) if eqx.is_array(x) else x,
                             optimizer.init(u))
    losses, history = [], {k: [] for k in params}
    bar = tqdm(range(steps), desc="fit", disable=not progress)
    for _ in bar:
        values = to_values(u)
        u, opt_state, value = update(u, opt_state)
        losses.append(float(value))
        for k in params:
            history[k].append(float(values[k]))
        bar.set_postfix(loss=f"{losses[-1]:.4g}")
    values = to_values(u)
    losses.append(float(jax.jit(objective)(u)))
    for k in params:
        history[k].append(float(values[k]))
    fitted = replace_parameters(model, values)
    return FitResult(model=fitted, loss_history=np.asarray(losses),
                     param_history={k: np.asarray(v) for k, v in history.items()})
