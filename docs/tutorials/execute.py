"""Execute the tutorial notebooks and store them with their outputs.

    python docs/tutorials/execute.py                 # all of docs/tutorials/*.ipynb
    python docs/tutorials/execute.py 01 03_spiking   # those whose name starts so

Each notebook runs top to bottom in a fresh kernel, in a temporary folder (the files it
writes go there), with figures drawn by the inline backend at a fixed resolution. The
outputs are stored in the notebook; volatile metadata (timings, kernel versions) are not.
tests/test_notebooks.py checks the stored outputs and compares them with a re-execution,
using `check_stored` and `compare` below: the same kinds of output and figures per cell,
and the same printed numbers within `RTOL`. For a notebook author: print wall-clock
durations in seconds ("12.3 s"), which the comparison lets vary; give a cell whose other
printed values vary from run to run (versions, devices, durations in ms) the cell metadata
`"volatile_output": true`, and it is compared by structure only.
"""

from __future__ import annotations

import base64
import copy
import math
import os
import re
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # docs/, for published_text
from published_text import INTERNAL_WORDS  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VOLATILE = "volatile_output"
"""Cell metadata key: `"volatile_output": true` says the cell's printed values change from
run to run (timings, versions), so a re-execution is compared with the stored outputs by
structure only. (Metadata, not a cell tag: the docs site shows tags above the cell.)"""
RTOL = 0.02
"""Relative tolerance on printed numbers between the stored and a fresh execution."""
TINY = 1e-6
"""Printed numbers below this in magnitude (round-off level errors) compare as equal."""
DPI = 100
"""Resolution of the stored figures (dots per inch)."""
FORBIDDEN = INTERNAL_WORDS
"""Words the published docs never contain (`docs/published_text.py`): in the notebook text,
and by chance in a figure's base64 text (see `clean_png`)."""
LOCAL_PATHS = ("/work/", "/tmp/", "/home/", "/root/", "/Users/", "C:\\")

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_DURATION = re.compile(r"\s*(?:s|ns|µs|us)\b")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WARNING_PLACE = re.compile(r"^\S*\.py:\d+: (?=\w*Warning)", re.MULTILINE)


def execute(path: Path, workdir: Path, *, timeout: int = 1200):
    """Run the notebook at `path` in a fresh kernel whose working folder is `workdir`.

    Returns the executed notebook (nbformat) and its run time in seconds. The kernel imports
    this repository's `jaxneuron`; the notebook's files go to `workdir`
    (`JAXNEURON_TUTORIAL_OUT` is "."); figures are PNG at `DPI`. Paths into the repository
    in the outputs (e.g. where a warning comes from) are made relative to it.
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    rc = Path(workdir) / "matplotlibrc"
    rc.write_text(f"figure.dpi: {DPI}\nsavefig.dpi: {DPI}\n")
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "MATPLOTLIBRC": str(rc), "JAXNEURON_TUTORIAL_OUT": ".",
           "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                record_timing=False,
                                resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds = time.perf_counter() - start
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                output["text"] = _join(output["text"]).replace(f"{ROOT}{os.sep}", "")
    return notebook, seconds


def strip_volatile(notebook, original_metadata) -> None:
    """Keep the notebook metadata as it was before execution (plus widget state) and drop
    per-cell execution metadata, so that re-storing an unchanged notebook changes nothing."""
    widgets = notebook.metadata.get("widgets")
    notebook.metadata = original_metadata
    notebook.metadata.pop("widgets", None)  # from an earlier execution
    if widgets:
        notebook.metadata["widgets"] = widgets
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce(cell.outputs)
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
                if "image/png" in output.get("data", {}):
                    output["data"]["image/png"] = clean_png(output["data"]["image/png"])


def clean_png(text: str) -> str:
    """A PNG image given as base64 `text`, with a padding chunk after its header if needed
    so that the base64 text is free of `FORBIDDEN` (about 1 figure in 10 has one by
    chance); the image itself is unchanged."""
    if not FORBIDDEN.search(text):
        return text
    png = base64.b64decode(text)
    head, rest = png[:33], png[33:]  # the signature (8 bytes) and the IHDR chunk (25)
    for n in range(1, 100):
        data = b"Comment\0" + b" " * n
        chunk = (struct.pack(">I", len(data)) + b"tEXt" + data
                 + struct.pack(">I", zlib.crc32(b"tEXt" + data)))
        padded = base64.b64encode(head + chunk + rest).decode()
        if not FORBIDDEN.search(padded):
            return padded
    raise RuntimeError("no padding frees this PNG's base64 text of " + FORBIDDEN.pattern)


def coalesce(outputs: list) -> list:
    """`outputs` with consecutive stream outputs of the same name joined into one: how a
    cell's printing is split into stream messages depends on timing."""
    joined = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (output["output_type"] == "stream" and last is not None
                and last["output_type"] == "stream" and last["name"] == output["name"]):
            last["text"] = _join(last["text"]) + _join(output["text"])
        else:
            joined.append(copy.deepcopy(output))
    return joined


def _join(text) -> str:
    return "".join(text) if isinstance(text, list) else text


def _text(output) -> str:
    if output["output_type"] == "stream":
        text = output["text"]
    elif output["output_type"] == "error":
        text = "\n".join(output.get("traceback", []))
    else:
        text = output.get("data", {}).get("text/plain", "")
    # "file.py:123: SomeWarning: ...": where a warning comes from is not an output
    return _WARNING_PLACE.sub("", _ANSI.sub("", _join(text)))


def _kind(output) -> str:
    """What an output is: its type, the stream name, or its richest MIME type."""
    kind = output["output_type"]
    if kind == "stream":
        return f"stream:{output['name']}"
    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        rich = [m for m in data if m != "text/plain"]
        return f"display:{','.join(sorted(rich)) or 'text/plain'}"
    return kind


def numbers(text: str) -> list[tuple[float, float | None]]:
    """The numbers printed in `text`, each with its resolution (one unit of its last
    printed decimal; None for an integer). A number directly followed by "s", "ns" or "µs"
    is a wall-clock duration (the tutorials give simulated times in ms): it comes back as
    NaN (it must be there, but its value is free)."""
    found = []
    for match in _NUMBER.finditer(text):
        token = match.group()
        if _DURATION.match(text, match.end()):
            found.append((math.nan, None))
            continue
        mantissa, _, exponent = token.lower().partition("e")
        ulp = None
        if "." in mantissa:
            decimals = len(mantissa.split(".")[1])
            ulp = 10.0 ** (int(exponent or 0) - decimals)
        found.append((float(token), ulp))
    return found


def _close(a: tuple[float, float | None], b: tuple[float, float | None], rtol: float) -> bool:
    (x, ulp_x), (y, ulp_y) = a, b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if abs(x) < TINY and abs(y) < TINY:
        return True
    ulp = max(ulp_x or 0.0, ulp_y or 0.0)  # a printed 0.02 may be 0.03 in another run
    return abs(x - y) <= max(rtol * max(abs(x), abs(y)), ulp * 1.0001)


def images(cell) -> int:
    """The number of PNG figures among a code cell's outputs."""
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def check_stored(notebook) -> list[str]:
    """What is wrong with a stored notebook's outputs: not executed top to bottom in one
    run, an error output, no figure, or a local path in an output. Empty when all is well."""
    problems = []
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts {counts}, not 1..{len(code)}: execute it again")
    for number, cell in enumerate(code, 1):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                problems.append(f"code cell {number}: an error output ({output.get('ename')})")
            text = _text(output)
            if FORBIDDEN.search(text):
                problems.append(f"code cell {number}: {FORBIDDEN.search(text).group()!r} "
                                "in an output: reword the notebook")
            for local in LOCAL_PATHS:
                if local in text:
                    problems.append(f"code cell {number}: a local path {local!r} in an output")
    if not sum(images(c) for c in code):
        problems.append("no figure in any output")
    return problems


def compare(stored, fresh, *, rtol: float = RTOL) -> list[str]:
    """Differences between the stored outputs and a fresh execution of the same notebook:
    per code cell, the output kinds, the number of figures and the printed numbers (within
    `rtol`, or one unit of the last printed decimal). Cells marked `VOLATILE` are
    compared by output kinds and figure counts only. Empty when they agree."""
    problems = []
    old = [c for c in stored["cells"] if c["cell_type"] == "code"]
    new = [c for c in fresh["cells"] if c["cell_type"] == "code"]
    if len(old) != len(new):
        return [f"{len(old)} stored code cells, {len(new)} executed"]
    for number, (a, b) in enumerate(zip(old, new, strict=True), 1):
        where = f"code cell {number}"
        outs_a, outs_b = coalesce(a.get("outputs", [])), coalesce(b.get("outputs", []))
        kinds_a, kinds_b = [_kind(o) for o in outs_a], [_kind(o) for o in outs_b]
        if kinds_a != kinds_b:
            problems.append(f"{where}: outputs {kinds_a} stored, {kinds_b} now")
            continue
        if images(a) != images(b):
            problems.append(f"{where}: {images(a)} figures stored, {images(b)} now")
        if a.get("metadata", {}).get(VOLATILE):
            continue
        for k, (oa, ob) in enumerate(zip(outs_a, outs_b, strict=True)):
            if "image/png" in oa.get("data", {}):
                continue  # a figure's text/plain is "<Figure size ...>"
            na, nb = numbers(_text(oa)), numbers(_text(ob))
            if len(na) != len(nb):
                problems.append(f"{where}, output {k}: {len(na)} numbers stored, "
                                f"{len(nb)} now")
                continue
            bad = [(x[0], y[0]) for x, y in zip(na, nb, strict=True) if not _close(x, y, rtol)]
            if bad:
                problems.append(f"{where}, output {k}: {len(bad)} numbers differ by more "
                                f"than {rtol:.0%}, first {bad[0][0]:g} stored, {bad[0][1]:g} now")
    return problems


def main(argv: list[str]) -> int:
    import nbformat

    paths = sorted(HERE.glob("*.ipynb"))
    if argv:
        paths = [p for p in paths if any(p.name.startswith(a) for a in argv)]
        if not paths:
            raise SystemExit(f"no notebook in {HERE} starts with {' or '.join(argv)}")
    for path in paths:
        original = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as workdir:
            notebook, seconds = execute(path, Path(workdir))
        strip_volatile(notebook, original.metadata)
        problems = check_stored(notebook)
        nbformat.write(notebook, path)
        size = path.stat().st_size / 1e6
        print(f"{path.name}: {seconds:.0f} s, {size:.2f} MB, "
              f"{sum(images(c) for c in notebook.cells)} figures"
              + "".join(f"\n  problem: {p}" for p in problems), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
