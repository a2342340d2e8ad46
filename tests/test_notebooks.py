"""The tutorial notebooks in docs/tutorials run top to bottom (nbclient, fresh kernel),
and are stored without outputs. Notebooks listed in FAST run in `make test`; the others
are marked slow (`make test-slow`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
FAST = {"01_first_simulation.ipynb"}
"""Notebooks cheap enough for `make test` (each under ~1 minute on 2 cores)."""


def _cases():
    for path in NOTEBOOKS:
        marks = () if path.name in FAST else (pytest.mark.slow,)
        yield pytest.param(path, id=path.stem, marks=marks)


def test_there_are_at_least_six_tutorials():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, "a tutorial without code"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)


@pytest.mark.parametrize("path", list(_cases()))
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    env = {"MPLBACKEND": "Agg", "JAXNEURON_TUTORIAL_OUT": str(tmp_path)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
