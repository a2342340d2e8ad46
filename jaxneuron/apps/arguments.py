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
