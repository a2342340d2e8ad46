"""Models from other simulators: Brian2 equation strings (`from_brian2`), model files
(`load_model`: Brian2 equations in TOML, NeuroML2, LEMS), and an imported model written out
as a plain Python model file (`write_model`)."""

from .brian2 import from_brian2
from .files import load_model
from .write import model_source, write_model

__all__ = ["from_brian2", "load_model", "model_source", "write_model"]
