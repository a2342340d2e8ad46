"""The tutorial notebooks in docs/tutorials are stored executed, with their outputs, so that
the docs site shows them (`python docs/tutorials/execute.py` stores them). Here: the stored
outputs are whole (fast), and a re-execution in a fresh kernel still gives them (within a
tolerance). Notebooks listed in FAST are re-executed in `make test`; the others are marked
slow (`make test-slow`)."""

from __future__ import annotations

import base64
import copy
import importlib.util
import io
import json
import struct
import zlib
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
FAST = {"01_first_simulation.ipynb"}
"""Notebooks cheap enough for `make test` (each under ~1 minute on 2 cores)."""

_spec = importlib.util.spec_from_file_location("tutorial_execute", TUTORIALS / "execute.py")
tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tools)


def _cases():
    for path in NOTEBOOKS:
        marks = () if path.name in FAST else (pytest.mark.slow,)
        yield pytest.param(path, id=path.stem, marks=marks)


def _read(path):
    return json.loads(path.read_text())


def test_there_are_at_least_six_tutorials():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_executed(path):
    notebook = _read(path)
    assert tools.check_stored(notebook) == []
    assert path.stat().st_size < 2_000_000, "figures too large: lower execute.DPI"
    for cell in notebook["cells"]:
        assert "execution" not in cell["metadata"], "volatile metadata: store with execute.py"
    found = tools.FORBIDDEN.search(path.read_text())  # sources, outputs and figures
    assert found is None, f"{found.group()!r} at character {found.start()}"


# --- the checks themselves, on small hand-made notebooks -------------------------------

def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _figure():
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480>"}}


def _notebook(*cells):
    """A notebook whose code cells have these (outputs, metadata), executed in order."""
    return {"cells": [{"cell_type": "code", "execution_count": i, "source": "",
                       "metadata": dict(metadata), "outputs": list(outputs)}
                      for i, (outputs, metadata) in enumerate(cells, 1)]}


STORED = _notebook(([_stream("spikes: 3 at [ 6.9  21.83 36.48] ms\nrate 66.0 Hz\n")], {}),
                   ([_stream("16 simulations in 12.9 s\n"), _figure()], {}),
                   ([_stream("second call: 88.3 ms\n")], {"volatile_output": True}))


@pytest.mark.parametrize("cell, old, new, agree", [
    (0, "rate 66.0 Hz", "rate 66.9 Hz", True),              # 1.4 % off
    (0, "rate 66.0 Hz", "rate 68.0 Hz", False),             # 3 % off
    (0, "spikes: 3 at", "spikes: 4 at", False),             # a count
    (0, "36.48] ms", "36.48 50.1] ms", False),              # one spike more
    (0, "[ 6.9 ", "[ -6.9 ", False),                       # a sign
    (1, "12.9 s", "31.0 s", True),                          # a duration in seconds
    (2, "88.3 ms", "240.1 ms", True),                       # a volatile_output cell
])
def test_compare_finds_changed_numbers(cell, old, new, agree):
    fresh = copy.deepcopy(STORED)
    output = fresh["cells"][cell]["outputs"][0]
    assert old in output["text"]
    output["text"] = output["text"].replace(old, new)
    assert (tools.compare(STORED, fresh) == []) is agree


def test_compare_allows_one_unit_of_the_last_printed_decimal():
    a = _notebook(([_stream("error +0.02 %, relative 3.1e-09, x 1.2e-08")], {}))
    b = _notebook(([_stream("error +0.03 %, relative 8.7e-11, x 1.3e-08")], {}))
    c = _notebook(([_stream("error +0.05 %, relative 8.7e-11, x 1.3e-08")], {}))
    assert tools.compare(a, b) == []
    assert len(tools.compare(a, c)) == 1


def test_compare_ignores_where_a_warning_comes_from():
    warning = "{}: RuntimeWarning: sweep: 152 of 2000 parameter sets failed\n"
    here = _notebook(([_stream(warning.format("jaxneuron/npe.py:111"), "stderr")], {}))
    there = _notebook(([_stream(warning.format("/ci/src/jaxneuron/npe.py:118"), "stderr")], {}))
    more = _notebook(([_stream(warning.format("jaxneuron/npe.py:111").replace("152", "170"),
                               "stderr")], {}))
    assert tools.compare(here, there) == []
    assert len(tools.compare(here, more)) == 1


def test_compare_finds_a_changed_structure():
    lost_figure = copy.deepcopy(STORED)
    del lost_figure["cells"][1]["outputs"][1]
    assert "outputs" in tools.compare(STORED, lost_figure)[0]
    to_stderr = copy.deepcopy(STORED)
    to_stderr["cells"][2]["outputs"][0]["name"] = "stderr"   # volatile cells too
    assert "stderr" in tools.compare(STORED, to_stderr)[0]
    fewer_cells = copy.deepcopy(STORED)
    fewer_cells["cells"].pop()
    assert tools.compare(STORED, fewer_cells) == ["3 stored code cells, 2 executed"]
    split = copy.deepcopy(STORED)          # the same text in two stream messages
    split["cells"][0]["outputs"] = [_stream("spikes: 3 at [ 6.9  21.83 36.48] ms\n"),
                                    _stream("rate 66.0 Hz\n")]
    assert tools.compare(STORED, split) == []


def test_compare_fails_on_a_perturbed_stored_tutorial():
    stored = _read(TUTORIALS / "01_first_simulation.ipynb")
    perturbed = copy.deepcopy(stored)
    changed = 0
    for cell in perturbed["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and "spikes in 100 ms" in "".join(
                    output["text"]):
                text = "".join(output["text"])
                output["text"] = text.replace(" 7 spikes", " 6 spikes")
                changed += text.count(" 7 spikes")
    assert changed, "notebook 01 no longer prints spike counts: update this test"
    assert tools.compare(stored, stored) == []
    problems = tools.compare(stored, perturbed)
    assert len(problems) == 1 and "differ" in problems[0], problems


@pytest.mark.parametrize("change, expected", [
    (lambda nb: nb["cells"][1].update(execution_count=None), "execution counts"),
    (lambda nb: nb["cells"][0]["outputs"].append(
        {"output_type": "error", "ename": "NameError", "evalue": "", "traceback": []}),
     "error output"),
    (lambda nb: nb["cells"][0]["outputs"].append(_stream("wrote /tmp/x/cell.nwb\n")),
     "local path"),
    (lambda nb: nb["cells"][1]["outputs"].pop(), "no figure"),
])
def test_check_stored_finds_an_unfit_notebook(change, expected):
    assert tools.check_stored(STORED) == []
    notebook = copy.deepcopy(STORED)
    change(notebook)
    problems = tools.check_stored(notebook)
    assert len(problems) == 1 and expected in problems[0], problems


def test_clean_png_frees_the_base64_text_and_keeps_the_image():
    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (3, 2), (200, 30, 60)).save(buffer, format="PNG")
    png = buffer.getvalue()
    # a text chunk after the header whose bytes read "lent" in base64 (data from byte 41)
    data = b"x" + base64.b64decode("lentLENT")
    chunk = (struct.pack(">I", len(data)) + b"tEXt" + data
             + struct.pack(">I", zlib.crc32(b"tEXt" + data)))
    text = base64.b64encode(png[:33] + chunk + png[33:]).decode()
    assert "lentLENT" in text
    cleaned = tools.clean_png(text)
    assert tools.FORBIDDEN.search(cleaned) is None
    pixels = image.open(io.BytesIO(base64.b64decode(cleaned))).convert("RGB")
    assert pixels.size == (3, 2) and pixels.getpixel((2, 1)) == (200, 30, 60)
    assert tools.clean_png(base64.b64encode(png).decode()) == base64.b64encode(png).decode()


# --- re-execution ------------------------------------------------------------------------

@pytest.mark.parametrize("path", list(_cases()))
def test_notebook_reexecution_matches_stored(path, tmp_path):
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    fresh, _ = tools.execute(path, tmp_path)
    assert tools.check_stored(fresh) == []
    assert tools.compare(_read(path), fresh) == []
