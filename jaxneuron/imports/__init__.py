"""Models from other simulators: Brian2 equation strings (`from_brian2`), model files
(`load_model`: Brian2 equations in TOML, NeuroML2, LEMS), and an imported model written out
as a plain Python model file (`write_model`)."""

from . import catalog
from .brian2 import from_brian2
from .files import load_model
from .neuroml import LemsRun, from_neuroml, load_lems, neuroml_source
from .source import EquationSource
from .write import model_source, write_model

__all__ = ["EquationSource", "LemsRun", "catalog", "from_brian2", "from_neuroml", "load_lems",
           "load_model", "model_source", "neuroml_source", "write_model"]
