"""The examples gallery (docs/gallery/) agrees with examples/ and with its own record.

The fast tests read files only; the slow test reruns the cheapest example with figures.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "gallery"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))


def _build():
    spec = importlib.util.spec_from_file_location("gallery_build", GALLERY / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def records():
    return json.loads((GALLERY / "gallery.json").read_text())


def test_every_example_has_a_page_and_a_record(records):
    assert EXAMPLES, "examples/ holds no scripts"
    assert sorted(records) == EXAMPLES
    for name in EXAMPLES:
        assert (GALLERY / f"{name}.md").is_file(), name


def test_records_are_complete(records):
    for name, rec in records.items():
        assert rec["mode"] in ("full", "quick"), name
        expected = f"python examples/{name}.py" + (" --quick" if rec["mode"] == "quick" else "")
        assert rec["command"] == expected, name
        assert rec["seconds"] > 0, name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rec["date"]), name
        assert re.search(r"\(\d+ cores\)$", rec["machine"]), name
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", rec["jax"]), name


def test_every_listed_figure_exists_and_the_total_is_small(records):
    listed = {fig for rec in records.values() for fig in rec["figures"]}
    for fig in listed:
        path = GALLERY / fig
        assert path.is_file(), fig
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
    on_disk = {p.relative_to(GALLERY).as_posix() for p in (GALLERY / "img").rglob("*")
               if p.is_file()}
    assert on_disk == listed, "figures in docs/gallery/img/ that gallery.json does not list"
    assert sum((GALLERY / f).stat().st_size for f in listed) < 6_000_000


def test_every_page_includes_its_script_and_shows_its_run(records):
    for name in EXAMPLES:
        text = (GALLERY / f"{name}.md").read_text()
        assert f'--8<-- "examples/{name}.py"' in text, name
        rec = records[name]
        assert f"**{rec['seconds']:.0f} s**" in text, name
        assert rec["command"] in text, name
        for fig in rec["figures"]:
            assert f"]({fig})" in text, (name, fig)


def test_pages_match_the_generator(records):
    build = _build()
    for name in EXAMPLES:
        assert (GALLERY / f"{name}.md").read_text() == build.page(name, records.get(name)), (
            f"{name}.md is stale: run `python docs/gallery/build.py render`")
    assert (GALLERY / "index.md").read_text() == build.index(records)


def test_published_text_passes_the_docs_word_check():
    # The same pattern CI greps for in docs/.
    for path in [*GALLERY.glob("*.md"), GALLERY / "gallery.json"]:
        found = re.search(r"session|lent|issue [0-9]", path.read_text(), re.IGNORECASE)
        assert found is None, (path.name, found)


def test_navigation_lists_every_page():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in ["index", *EXAMPLES]:
        assert f"gallery/{page}.md" in nav, page
    assert "gallery/build.py" in nav   # excluded from the site (exclude_docs)


@pytest.mark.slow
def test_cheapest_example_still_writes_the_listed_figures(records, tmp_path):
    seconds, name = min((rec["seconds"], name) for name, rec in records.items()
                        if rec["figures"])
    rec = records[name]
    args = [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--out", str(tmp_path)]
    if rec["mode"] == "quick":
        args.append("--quick")
    env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}
    subprocess.run(args, cwd=tmp_path, env=env, check=True, capture_output=True,
                   timeout=max(600, 4 * seconds))
    written = {"__".join(p.relative_to(tmp_path).parts) for p in tmp_path.rglob("*.png")}
    assert written == {Path(fig).name for fig in rec["figures"]}
