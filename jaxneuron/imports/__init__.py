"""Models from other simulators: Brian2 equation strings (`from_brian2`), and an imported
model written out as a plain Python model file (`write_model`)."""

from .brian2 import from_brian2
from .write import model_source, write_model

__all__ = ["from_brian2", "model_source", "write_model"]
