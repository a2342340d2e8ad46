"""`jaxneuron import-model FILE --out mymodel.py`: a model file (Brian2 equations in TOML,
NeuroML2, LEMS) written as a plain Python model file that the user can read, edit and own."""

from __future__ import annotations

from pathlib import Path

from ...imports import load_model, write_model
from ...imports.files import MODEL_FILE_SUFFIXES


def run(path: str, out: str | Path, *, cell: str | None = None, log=print) -> dict:
    """Import the model of `path` (see `jaxneuron.imports.load_model`) and write it to `out`
    (a `.py` file); returns a summary (class name, states, parameters, input unit)."""
    model = load_model(path, cell=cell)
    written = write_model(model, out)
    spec = type(model).spec
    summary = {"file": str(written), "class": spec.name, "states": dict(spec.state_units),
               "parameters": dict(spec.parameter_units), "input_unit": spec.input_unit}
    log(f"wrote {spec.name} ({len(spec.states)} states, {len(spec.parameters)} parameters, "
        f"input in {spec.input_unit}) to {Path(written).resolve()}; use it with "
        f"`from {Path(written).stem} import {spec.name}` or "
        f"--model {Path(written).stem}:{spec.name}")
    return summary


def register(commands) -> None:
    """Add `jaxneuron import-model` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "import-model", help="write a Brian2 (.toml), NeuroML2 (.nml) or LEMS (.xml) model as "
                             "a Python model file",
        description="Import a model file and write it as one plain Python model class in "
                    "jaxneuron's style, which imports and runs like the import.")
    parser.add_argument("path", metavar="FILE",
                        help="the model: " + ", ".join(MODEL_FILE_SUFFIXES))
    parser.add_argument("--out", required=True, metavar="FILE.py",
                        help="the Python file to write")
    parser.add_argument("--cell", default=None,
                        help="which cell (NeuroML) or population (LEMS) when there are several")
    parser.set_defaults(func=lambda a: run(a.path, a.out, cell=a.cell))
