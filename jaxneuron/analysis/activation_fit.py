"""Artificial-neuron activation functions fitted to f-I curves by least squares.

An artificial neuron's rate is a fixed nonlinearity of its input; a biological model's
f-I curve is its nearest equivalent. Each activation here maps a current I (any unit) to a
rate (Hz) through a gain (1/current unit), an offset (current unit) and a scale (Hz):

- `sigmoid`:  $r = s\\,\\sigma(g (I - I_0))$, the logistic function;
- `tanh`:     $r = s \\max(\\tanh(g (I - I_0)), 0)$, rectified because rates are >= 0;
- `relu`:     $r = g \\max(I - I_0, 0)$; a scale would only multiply the gain, so the gain
  (Hz per current unit) is the scale;
- `softplus`: $r = s \\log(1 + e^{g (I - I_0)})$, a smooth ReLU (slope $s g$ far above $I_0$).

`activation` evaluates them in JAX (jit/vmap/grad safe). `fit_activation` fits one with
`scipy.optimize.least_squares` (trust region, float64 NumPy, scale >= 0, gain at most
`MAX_GAIN` / current range, several starts over offset and gain with the linear factor of
each start set by linear least squares), on the host; it is not itself jit-able.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares

from .._checks import check_int


# Each function takes the array namespace `xp` (numpy for fitting on the host, jax.numpy
# for `activation`), so one definition serves both.
def _sigmoid(xp, current, scale, gain, offset):
    z = gain * (current - offset)
    return scale * 0.5 * (1.0 + xp.tanh(0.5 * z))  # = scale / (1 + exp(-z)), overflow-free


def _tanh(xp, current, scale, gain, offset):
    return scale * xp.maximum(xp.tanh(gain * (current - offset)), 0.0)


def _relu(xp, current, gain, offset):
    return gain * xp.maximum(current - offset, 0.0)


def _softplus(xp, current, scale, gain, offset):
    return scale * xp.logaddexp(0.0, gain * (current - offset))


_FUNCTIONS = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu, "softplus": _softplus}
PARAMETERS: dict[str, tuple[str, ...]] = {
    "sigmoid": ("scale", "gain", "offset"),
    "tanh": ("scale", "gain", "offset"),
    "relu": ("gain", "offset"),
    "softplus": ("scale", "gain", "offset"),
}
ACTIVATIONS = tuple(_FUNCTIONS)
# Upper bound of the gain, in units of 1 / (current range of the data): a knee sharper than
# 1/1000 of the range cannot be told from a corner on the data, and without the bound a
# softplus fitted to a thresholded curve runs off towards a ReLU (gain -> inf, scale -> 0).
MAX_GAIN = 1000.0


def activation(name: str, current, params: dict):
    """Rate (Hz) of activation `name` at `current` (array, any shape) with `params`
    (`PARAMETERS[name]` -> value). Pure JAX: works under jit, vmap and grad.

    **Raises:** `ValueError` for an unknown `name` or missing/extra parameters.
    """
    _check_name(name)
    if set(params) != set(PARAMETERS[name]):
        raise ValueError(f"params of {name!r} must be exactly {PARAMETERS[name]}; got "
                         f"{tuple(params)}")
    return _FUNCTIONS[name](jnp, jnp.asarray(current),
                            *(params[k] for k in PARAMETERS[name]))


@dataclasses.dataclass
class ActivationFit:
    """A fitted activation: `name`, `params` (name -> value; gain in 1/current unit or, for
    relu, Hz per current unit; offset in the current unit; scale in Hz), `rmse_hz` and
    `max_error_hz` over the fitted points, `n_points`, and `converged` (the optimiser's
    success flag of the best start)."""

    name: str
    params: dict[str, float]
    rmse_hz: float
    max_error_hz: float
    n_points: int
    converged: bool

    def __call__(self, current) -> np.ndarray:
        """The fitted rate (Hz) at `current`, as NumPy (float64)."""
        return _FUNCTIONS[self.name](np, np.asarray(current, dtype=float),
                                     *(self.params[k] for k in PARAMETERS[self.name]))


def fit_activation(current, rate, name: str, *, n_offsets: int = 7,
                   gains: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)) -> ActivationFit:
    """Least-squares fit of activation `name` to the points `(current, rate)`.

    **Arguments:**
    - `current`, `rate`: `(n,)` finite arrays, rate in Hz; at least as many points as the
      activation has parameters.
    - `name`: one of `ACTIVATIONS`.
    - `n_offsets`, `gains`: the starts: offsets spread evenly over the current range, times
      gains given in units of 1 / (current range); the best fit over all starts is kept.

    **Returns:** an `ActivationFit` (RMSE in Hz).

    **Raises:** `ValueError` for an unknown `name`, mismatched or non-finite data, or too
    few points.
    """
    _check_name(name)
    x = np.asarray(current, dtype=float)
    y = np.asarray(rate, dtype=float)
    n_params = len(PARAMETERS[name])
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"current and rate must be 1-D arrays of the same shape; got "
                         f"{x.shape} and {y.shape}")
    if x.size < n_params or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"current and rate must be finite with at least {n_params} points "
                         f"for {name!r}; got {x.size} points")
    n_offsets = check_int("n_offsets", n_offsets, 1)
    span = max(float(np.ptp(x)), 1e-12)
    model = _internal_model(name)
    lower = np.array([0.0] * (n_params - 1) + [-np.inf])
    upper = np.full(n_params, np.inf)
    if name != "relu":
        lower[1] = span / MAX_GAIN  # the knee width 1 / gain
    best = None
    for offset, gain in itertools.product(np.linspace(x.min(), x.max(), n_offsets),
                                          np.asarray(gains, dtype=float) / span):
        start = _start(model, name, x, y, max(1.0 / float(gain), lower[1]), float(offset))
        if start is None:
            continue
        result = least_squares(lambda q: model(x, q) - y, start, jac="3-point",
                               bounds=(lower, upper), method="trf", x_scale="jac",
                               xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=500)
        if best is None or result.cost < best.cost:
            best = result
    errors = best.fun
    params = _external(name, best.x)
    return ActivationFit(name=name, params=dict(zip(PARAMETERS[name], params, strict=True)),
                         rmse_hz=float(np.sqrt(np.mean(errors**2))),
                         max_error_hz=float(np.max(np.abs(errors))), n_points=int(x.size),
                         converged=bool(best.success))


def fit_activations(current, rate, names: tuple[str, ...] = ACTIVATIONS, **kwargs
                    ) -> dict[str, ActivationFit]:
    """`fit_activation` for each of `names`: name -> `ActivationFit`."""
    return {name: fit_activation(current, rate, name, **kwargs) for name in names}


# The fit runs in coordinates in which the degenerate limits are finite bounds: the knee
# width 1 / gain instead of the gain, and for softplus the slope scale * gain instead of the
# scale. `q` = (linear factor, width, offset), or (gain, offset) for relu.
def _external(name, q) -> list[float]:
    """The `PARAMETERS[name]` values from fit coordinates `q`."""
    q = [float(v) for v in q]
    if name == "relu":
        return q
    factor, width, offset = q
    scale = factor * width if name == "softplus" else factor
    return [scale, 1.0 / width, offset]


def _internal_model(name):
    fn = _FUNCTIONS[name]
    return lambda x, q: fn(np, x, *_external(name, q))


def _start(model, name, x, y, width, offset):
    """Fit coordinates for the given knee width and offset, with the linear factor at its
    least-squares optimum; None if degenerate (the activation is 0 on every point)."""
    q = np.array([1.0, offset]) if name == "relu" else np.array([1.0, width, offset])
    basis = model(x, q)
    norm = float(basis @ basis)
    if norm <= 0:
        return None
    q[0] = max(float(basis @ y) / norm, 1e-6)
    return q


def _check_name(name):
    if name not in _FUNCTIONS:
        raise ValueError(f"name must be one of {ACTIVATIONS}; got {name!r}")


__all__ = ["ACTIVATIONS", "MAX_GAIN", "PARAMETERS", "ActivationFit", "activation",
           "fit_activation", "fit_activations"]
