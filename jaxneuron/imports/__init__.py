"""Models from other simulators: Brian2 equation strings (`from_brian2`)."""

from .brian2 import from_brian2

__all__ = ["from_brian2"]
