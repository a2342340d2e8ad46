"""Every code block of README.md and the docs site runs (see `tests/docs_blocks.py` for the
markers that skip a fragment or move a block to `make test-slow`). `make docs` runs this
module before building the site; `make test` leaves it to `make docs`."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
from docs_blocks import (
    PAGES,
    PYTHON,
    ROOT,
    SHELL,
    blocks,
    makefile_targets,
    page_script,
    shell_commands,
)

pytestmark = pytest.mark.docs  # `make docs` runs these; `make test` leaves them to it

ALL = {page: blocks(page) for page in PAGES}


def _python_pages():
    """Per page: its fast blocks (in `make test`), and all its blocks where some are slow."""
    for page, found in ALL.items():
        code = [b for b in found
                if b.language in PYTHON and b.mode != "skip" and b.included is None]
        name = str(page.relative_to(ROOT))
        fast = [b for b in code if b.mode == "run"]
        if fast:
            yield pytest.param(fast, id=name)
        if len(fast) < len(code):
            yield pytest.param(code, id=f"{name}-with-slow-blocks", marks=pytest.mark.slow)


def _shell_blocks():
    for found in ALL.values():
        for block in found:
            if block.language in SHELL and block.mode != "skip":
                yield pytest.param(block, id=block.label)


def test_the_docs_have_code_and_every_skip_says_why():
    python = [b for found in ALL.values() for b in found if b.language in PYTHON]
    skipped = [b for b in python if b.mode == "skip"]
    assert len(python) >= 30
    assert len(skipped) <= len(python) // 5, [b.label for b in skipped]
    assert all(b.reason for b in skipped)


@pytest.fixture(scope="session")
def compilation_cache(tmp_path_factory):
    """One JAX compilation cache for every page (README and the docs home share blocks)."""
    return tmp_path_factory.mktemp("jax-cache")


@pytest.mark.parametrize("page_blocks", list(_python_pages()))
def test_python_blocks_run(page_blocks, tmp_path, compilation_cache):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "JAX_COMPILATION_CACHE_DIR": str(compilation_cache),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    run = subprocess.run([sys.executable, "-c", page_script(page_blocks)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout[-3000:] + run.stderr[-6000:])


@pytest.mark.parametrize("block", [b for found in ALL.values() for b in found
                                   if b.language in PYTHON and b.included is not None],
                         ids=lambda b: b.label)
def test_included_scripts_exist_and_compile(block):
    assert block.included.is_file(), f"{block.label}: no file {block.included}"
    compile(block.included.read_text(), str(block.included), "exec")


@pytest.fixture(scope="module")
def parser():
    from jaxneuron.apps.cli import build_parser

    return build_parser()


@pytest.mark.parametrize("block", list(_shell_blocks()))
def test_shell_commands_parse(block, parser, capsys):
    targets = makefile_targets()
    for words in shell_commands(block):
        if words[0] == "jaxneuron":
            try:
                parser.parse_args(words[1:])
            except SystemExit as exit_:
                pytest.fail(f"{block.label}: {' '.join(words)} -> exit {exit_.code}: "
                            f"{capsys.readouterr().err.strip()}")
        elif words[0] == "make":
            named = {w for w in words[1:] if "=" not in w}  # VAR=value sets a variable
            assert named <= targets, f"{block.label}: unknown make target {words}"
        elif words[0] in ("python", "python3") and words[1].endswith(".py"):
            assert (ROOT / words[1]).exists(), f"{block.label}: no file {words[1]}"


def test_markers_are_read(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("text\n\n<!-- docs-test: skip a fragment -->\n```python\nx = 1\n```\n\n"
                    "<!-- docs-test: setup open('f.txt', 'w').write('1')\n-->\n\n"
                    "```python\nprint(open('f.txt').read())\n```\n\n"
                    "- item\n\n    ```bash\n    jaxneuron demo --quick \\\n"
                    "        --out r  # comment\n    jaxneuron spiking [--quick]\n    ```\n")
    monkeypatch.setattr("docs_blocks.ROOT", tmp_path)
    first, second, shell = blocks(page)
    assert (first.mode, first.reason, first.line) == ("skip", "a fragment", 4)
    assert (second.mode, second.setup) == ("run", "open('f.txt', 'w').write('1')")
    assert shell_commands(shell) == [["jaxneuron", "demo", "--quick", "--out", "r"]]
    run = subprocess.run([sys.executable, "-c", page_script([second])], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.stdout.splitlines()[-1] == "1"
    broken = subprocess.run([sys.executable, "-c", page_script([replace(first, code="model")])],
                            cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode != 0 and 'File "page.md:4"' in broken.stderr
    assert "NameError" in broken.stderr
