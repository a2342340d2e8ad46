"""Models from files: Brian2 equations in a TOML file, NeuroML2 cells and LEMS runs
(`load_model`, used by `jaxneuron import-model` and by every CLI `--model FILE`)."""

from __future__ import annotations

import os
import tomllib

from .brian2 import from_brian2

MODEL_FILE_SUFFIXES = (".toml", ".nml", ".xml")
"""What `load_model` reads: `.toml` (Brian2 equations), `.nml` (NeuroML2), `.xml` (LEMS)."""

BRIAN2_KEYS = ("equations", "threshold", "reset", "refractory", "namespace", "initial",
               "input", "name")
"""The keys of a Brian2 model file: `from_brian2`'s arguments."""


def is_model_file(text: str) -> bool:
    """Whether `text` names a model file by its suffix (see `MODEL_FILE_SUFFIXES`)."""
    return isinstance(text, str) and text.lower().endswith(MODEL_FILE_SUFFIXES)


def load_model(path, *, cell: str | None = None):
    """The model a file describes.

    - `.toml`: Brian2 equations, the keys being `from_brian2`'s arguments
      (`equations = \"\"\"...\"\"\"`, `threshold`, `reset`, `refractory`, `input`, `name`, and
      the tables `[namespace]` and `[initial]`).
    - `.nml`: a NeuroML2 cell (`from_neuroml`; `cell` picks one of several).
    - `.xml`: a LEMS run (`load_lems`): the cell model of its one population (`cell` names
      the population when there are several).

    **Raises:** `ValueError` naming `path` for a missing file, an unknown suffix, TOML that
    does not parse, unknown or missing keys, and whatever the importer raises.
    """
    path = os.fspath(path)
    if not is_model_file(path):
        raise ValueError(f"path must be a model file ending in {', '.join(MODEL_FILE_SUFFIXES)}"
                         f"; got {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".toml":
        return from_brian2(**_brian2_arguments(path))
    if suffix == ".nml":
        from .neuroml import from_neuroml

        return from_neuroml(path, cell=cell)
    from .neuroml import load_lems

    cells = load_lems(path).cells
    if cell is None and len(cells) != 1:
        raise ValueError(f"{path}: the LEMS run has {len(cells)} populations "
                         f"({sorted(cells)}); name one with cell=")
    name = next(iter(cells)) if cell is None else cell
    if name not in cells:
        raise ValueError(f"cell: {name!r} is not a population of {path} ({sorted(cells)})")
    return cells[name][0]


def _brian2_arguments(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(BRIAN2_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown} (allowed: {', '.join(BRIAN2_KEYS)})")
    if "equations" not in data:
        raise ValueError(f"{path}: no 'equations' (the Brian2 equations, a string)")
    data.setdefault("name", _class_name(path))
    return data


def _class_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    words = [w for w in "".join(c if c.isalnum() else " " for c in stem).split() if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "ImportedModel"
    return name if name[0].isalpha() else f"Model{name}"
