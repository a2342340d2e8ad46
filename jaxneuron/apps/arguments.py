"""Argument types of the command line: each checks one option's value where the parser
accepts it, so a bad value is one line naming the option (`jaxneuron CMD: argument --n:
must be an int >= 1; got '0'`) with exit code 2, before any work starts."""

from __future__ import annotations

import argparse
import math


def _int(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r} (must be an int >= "
                                         f"{minimum})") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an int >= {minimum}; got {text!r}")
    return value


def _float(text: str, *, gt: float | None = None, ge: float | None = None) -> float:
    allowed = "a finite number" + (f" > {gt:g}" if gt is not None else "") + (
        f" >= {ge:g}" if ge is not None else "")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r} (must be "
                                         f"{allowed})") from None
    if not math.isfinite(value) or (gt is not None and not value > gt) or (
            ge is not None and not value >= ge):
        raise argparse.ArgumentTypeError(f"must be {allowed}; got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (a count: sets, spikes, chunk size, hidden units)."""
    return _int(text, 1)


def nonnegative_int(text: str) -> int:
    """An int >= 0 (a seed, a number of plots)."""
    return _int(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0 (a time such as t1 or dt, ms)."""
    return _float(text, gt=0.0)


def nonnegative_float(text: str) -> float:
    """A finite number >= 0 (a conductance, mS/cm²)."""
    return _float(text, ge=0.0)


def finite_float(text: str) -> float:
    """Any finite number (an input current amplitude; NaN and inf are refused)."""
    return _float(text)


def index_list(text: str) -> tuple[int, ...]:
    """Comma-separated indices >= 0 (sweeps, numbered from 0 in file order): `"0,2,3"`."""
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be indices >= 0 separated by commas (e.g. "
                                         f"0,2,3); got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be indices >= 0 separated by commas (e.g. "
                                         f"0,2,3); got {text!r}")
    return values


def time_window(text: str) -> tuple[float | None, float | None]:
    """`"START:END"` (ms, finite, START < END; either may be empty for open):
    `"100:700"` -> `(100.0, 700.0)`, `":700"` -> `(None, 700.0)`."""
    start, colon, end = text.partition(":")
    try:
        if not colon:
            raise ValueError
        ends = tuple(None if not x.strip() else float(x) for x in (start, end))
    except ValueError:
        ends = None
    if ends is None or any(x is not None and not math.isfinite(x) for x in ends) or (
            None not in ends and not ends[0] < ends[1]):
        raise argparse.ArgumentTypeError(f"must be START:END in ms with START < END "
                                         f"(either may be empty); got {text!r}")
    return ends
