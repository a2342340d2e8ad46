"""One check for observed data (fit targets, NUTS observations, NPE and emulator training
data): numeric, finite, and of the shape and length the caller needs."""

from __future__ import annotations

import numpy as np

from ._checks import is_concrete


def _shape_text(shape) -> str:
    dims = ["n" if d is None else str(d) for d in shape]  # a str entry is a free axis's name
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def check_observed(name: str, value, *, shape: tuple | None = None, ndim: int | None = None,
                   min_length: int | None = None, max_length: int | None = None,
                   what: str | None = None, finite: bool = True):
    """Check observed data `value` and return it as a float NumPy array (a float array as
    it is, anything else converted to float64).

    **Arguments:**
    - `name`: the argument's name, used in every message.
    - `shape`: the exact shape required; a `None` or text entry (the axis's name, e.g.
      `"m"`) accepts any size on that axis.
    - `ndim`: the number of axes required (when the sizes are free).
    - `min_length`, `max_length`: bounds on the size of the first axis.
    - `what`: a description of what is expected (e.g. "a 1-D voltage trace on the save
      grid, shape (81,)"), used instead of the bare shape in the message.
    - `finite`: reject NaN and infinity (default True).

    A traced value (inside `jit`/`vmap`) is checked for its shape only and returned as is.

    **Raises:** `ValueError` naming `name`: not numeric, NaN/inf values, a wrong number of
    axes, a wrong shape or a first axis too short or too long.
    """
    if not is_concrete(value):
        array = value
    else:
        try:  # float arrays are kept as they are (no copy; float32 stays float32)
            array = np.asarray(value)
            if array.dtype.kind not in "f":
                array = array.astype(float)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be a numeric array; got "
                             f"{type(value).__name__}") from error
        if finite:
            bad = ~np.isfinite(array)
            if np.any(bad):
                raise ValueError(f"{name} must be finite; it has {int(bad.sum())} NaN/inf "
                                 f"value(s) (first at index {np.argwhere(bad)[0].tolist()})")
    actual = tuple(array.shape)
    expected = None if what is None else f"be {what}"
    ok = True
    if shape is not None:
        expected = expected or f"have shape {_shape_text(shape)}"
        ok = len(actual) == len(shape) and all(
            want is None or isinstance(want, str) or want == got
            for want, got in zip(shape, actual, strict=True))
    if ndim is not None:
        expected = expected or f"be {ndim}-D"
        ok = ok and len(actual) == ndim
    if min_length is not None or max_length is not None:
        length = actual[0] if actual else None
        expected = expected or (f"have {min_length} to {max_length} rows"
                                if max_length is not None else
                                f"have at least {min_length} rows")
        ok = ok and length is not None and (min_length is None or length >= min_length) and (
            max_length is None or length <= max_length)
    if not ok:
        raise ValueError(f"{name} must {expected}; got shape {actual}")
    return array
