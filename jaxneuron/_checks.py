"""Input validation shared by every public function: clear `ValueError`s at trace time."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np


def as_float_array(x) -> jax.Array:
    """Convert a parameter to a JAX array of the default float dtype (float64 under x64)."""
    return jnp.asarray(x, dtype=float)


def as_float(x) -> jax.Array:
    """`x` as a JAX float array that keeps its precision: a float32 array stays float32,
    Python numbers stay weakly typed (they take the precision of what they meet), and
    integers become floats."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x + 0.0


def is_concrete(x) -> bool:
    """True when `x` holds a value known now (not an abstract tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def check_positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise `ValueError` if a concrete `value` (scalar or array) is not positive or is NaN.

    Traced values cannot be inspected here; they pass and are checked where the engine runs.
    """
    if not is_concrete(value):
        return
    _check_number(name, value)
    arr = np.asarray(value, dtype=float)
    bad = np.isnan(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if np.any(bad):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {allowed} (and not NaN); got {value!r}")


def check_finite(name: str, value) -> None:
    """Raise `ValueError` if a concrete `value` contains NaN or infinity."""
    if not is_concrete(value):
        return
    _check_number(name, value)
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {value!r}")


def exact_time(value) -> Fraction:
    """A time (ms) as the exact rational number its shortest decimal form states (the
    number the user typed: `0.1` is 1/10, not the binary double next to it), so that grid
    arithmetic has no rounding that grows with the number of steps."""
    return Fraction(Decimal(str(float(value))))


def check_time_grid(t0: float, t1: float, dt: float) -> int:
    """Validate a fixed time grid and return its number of steps.

    The times are compared as exact decimals (`exact_time`): `t1 - t0` must be a whole
    number of steps of `dt`, with no tolerance, so that no run ends short of `t1`.

    **Raises:** `ValueError` if `dt <= 0`, `t1 <= t0`, or `t1 - t0` is not a whole
    number of steps of `dt`.
    """
    for name, val in (("t0", t0), ("t1", t1), ("dt", dt)):
        if isinstance(val, bool) or not isinstance(val, int | float | np.integer | np.floating) \
                or not math.isfinite(val):
            raise ValueError(f"{name} must be a finite Python number (ms); got {val!r}")
    if dt <= 0:
        raise ValueError(f"dt must be > 0 ms; got {dt}")
    if t1 <= t0:
        raise ValueError(f"t1 must be > t0; got t0={t0}, t1={t1}")
    n = (exact_time(t1) - exact_time(t0)) / exact_time(dt)
    if n.denominator != 1:
        below = math.floor(n) * exact_time(dt) + exact_time(t0)
        raise ValueError(
            f"t1 - t0 = {float(exact_time(t1) - exact_time(t0))!r} ms must be a whole number "
            f"of steps of dt = {dt} ms (e.g. t1 = {float(below)!r} or "
            f"{float(below + exact_time(dt))!r})")
    return int(n)


def _is_text(x) -> bool:
    """True for a string/bytes value or a NumPy array of strings or objects."""
    if isinstance(x, str | bytes):
        return True
    if isinstance(x, list | tuple):
        return any(_is_text(v) for v in x)
    return isinstance(x, np.ndarray) and x.dtype.kind in "USO"


def as_parameter(x):
    """The converter of parameter fields (`jaxneuron.param`): like `as_float_array`, but a
    string (or an array of strings) is kept as it is, so that the Module's check
    (`check_parameter_values`) can reject it with a message naming the field."""
    if _is_text(x):
        return x
    return as_float_array(x)


def _check_number(name: str, value) -> None:
    if _is_text(value):
        raise ValueError(f"{name} must be a number (a float or an array of floats); "
                         f"got {value!r} ({type(value).__name__})")


def check_parameter_values(module) -> None:
    """Raise `ValueError` naming the field if a non-static field of `module` holds text
    (a string, or an array of strings) where a number is expected."""
    for f in dataclasses.fields(module):
        if not f.metadata.get("static", False):
            _check_number(f.name, getattr(module, f.name, None))


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as a Python int: a Python or NumPy integer (not a bool, not a float) in
    `[minimum, maximum]` (either end optional).

    **Raises:** `ValueError` naming `name` and the allowed range.
    """
    allowed = "an int" + ("" if minimum is None else f" >= {minimum}") + (
        "" if maximum is None else f" and <= {maximum}")
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be {allowed}; got {value!r} ({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}; got {value}")
    return value


def check_real(name: str, value, *, gt=None, ge=None, lt=None, le=None,
               finite: bool = True) -> float:
    """`value` as a Python float: a real number (Python or NumPy int or float, or a 0-d
    array; not a bool or text), finite unless `finite=False` (NaN never passes), and
    `> gt`, `>= ge`, `< lt`, `<= le` where given.

    **Raises:** `ValueError` naming `name` and the allowed range.
    """
    bounds = [f"{op} {b:g}" for op, b in ((">", gt), (">=", ge), ("<", lt), ("<=", le))
              if b is not None]
    allowed = ("a finite number" if finite else "a number") + (
        f" {' and '.join(bounds)}" if bounds else "")
    if isinstance(value, bool | np.bool_) or _is_text(value) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be {allowed}; got {value!r}") from error
    if (math.isnan(number) or (finite and math.isinf(number))
            or (gt is not None and not number > gt) or (ge is not None and not number >= ge)
            or (lt is not None and not number < lt) or (le is not None and not number <= le)):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def static_int(value):
    """Converter of static int fields: a NumPy integer becomes a Python int (hashable and
    JSON-able); anything else is kept as it is, for the class's check to reject."""
    if isinstance(value, np.integer) and not isinstance(value, np.bool_):
        return int(value)
    return value
