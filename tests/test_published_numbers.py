"""Published numbers agree with their source: the benchmark JSON in `benchmarks/results/`.

The tables of `benchmarks/README.md` and the headline figures of `README.md` are generated
by `benchmarks/report.py`; these tests fail when either is edited by hand or a JSON changes
without `python benchmarks/report.py --write`. Also: the published text speaks to users
(no internal issue numbers, no "session", no word containing "lent").
"""

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load(path: str, name: str):
    """The script at `path` (relative to the repository) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load("benchmarks/report.py", "benchmarks_report")


def test_every_table_and_headline_matches_its_json():
    assert report.drift() == []


def test_every_result_is_published_and_every_table_has_a_result():
    page = (ROOT / "benchmarks" / "README.md").read_text()
    marked = set(re.findall(r"<!-- results:([\w/]+) -->", page))
    tables = {t["name"] for path in RESULTS.glob("*.json")
              for t in json.loads(path.read_text())["tables"]}
    assert marked == tables
    assert "<!-- headline -->" in (ROOT / "README.md").read_text()


def test_a_changed_json_value_is_reported(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    path = results / "hh_sweep.json"
    record = json.loads(path.read_text())
    row = next(r for r in record["rows"] if r["case"] == "staggered dt=0.025 float32 1 device(s)"
               and r["baseline"].startswith("scipy"))
    row["speedup"] *= 2.0
    path.write_text(json.dumps(record))
    stale = report.drift(results=results)
    assert "README.md: results:hh_sweep" in stale
    # the first SciPy row is the README's headline figure
    assert any(s.endswith("headline") for s in stale)
    assert not any("spiking_sweep" in s for s in stale)


def test_a_table_edited_by_hand_is_reported(tmp_path):
    page = tmp_path / "README.md"
    text = (ROOT / "benchmarks" / "README.md").read_text()
    block = text.index("<!-- results:hh_sweep -->")
    row = text.index("\n| ", text.index("|---", block)) + 1  # first data row
    cells = text[row:text.index("\n", row)].split(" | ")
    cells[2] = "0.00001"  # the ms/set cell
    page.write_text(text[:row] + " | ".join(cells) + text[text.index("\n", row):])
    assert report.drift([page]) == ["README.md: results:hh_sweep"]


def test_a_missing_result_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no results for 'hh_sweep'"):
        report.load("hh_sweep", tmp_path)


INTERNAL = _load("docs/published_text.py", "published_text").INTERNAL_WORDS


def _docs_files() -> list[Path]:
    return sorted(p for p in (ROOT / "docs").rglob("*")
                  if p.suffix in {".md", ".ipynb", ".py", ".json", ".yml"}
                  and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts)


def _internal_words(paths, root: Path = ROOT) -> list[str]:
    hits = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if INTERNAL.search(line):
                hits.append(f"{path.relative_to(root)}:{number}: {line.strip()[:80]}")
    return hits


def test_the_internal_word_check_finds_a_planted_word(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("fine\nit fails silently\nsee Issue 3\n")
    assert _internal_words([page], tmp_path) == ["page.md:2: it fails silently",
                                                 "page.md:3: see Issue 3"]


def test_readme_and_benchmark_page_have_no_internal_words():
    assert _internal_words([ROOT / "README.md", ROOT / "benchmarks" / "README.md"]) == []


def test_docs_have_no_internal_words():
    assert _internal_words(_docs_files()) == []
