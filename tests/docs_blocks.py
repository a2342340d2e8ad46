"""The fenced code blocks of README.md and the docs pages, as the docs test runs them.

A block runs unless the HTML comment right above its fence says otherwise:

- `<!-- docs-test: skip REASON -->`: a fragment on purpose (the reason is required);
- `<!-- docs-test: slow -->`: the block runs in `make test-slow` only (with the rest of its
  page), not in `make test`;
- `<!-- docs-test: setup CODE -->`: hidden Python run just before the block (e.g. to place
  an input file in the working folder); `<!-- docs-test: slow setup CODE -->` does both.

Python blocks of one page run in order in one namespace (as a reader types them), in a fresh
interpreter whose working folder is a temporary one. A block that only includes a file with
`--8<-- "PATH"` (the gallery shows each `examples/` script so) is not run here: the file
must exist and compile, and the gallery's generator runs it and records its run time.
Shell blocks are checked without being run: every `jaxneuron ...` line must parse with the
command line's own parser, every `make TARGET` must name a Makefile target and every
`python PATH.py` an existing file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PYTHON, SHELL = ("python", "py"), ("bash", "sh", "shell", "console")
_FENCE = re.compile(r"^(\s*)```\s*([\w-]*)")
_INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')
_MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|slow|setup)\b(.*?)-->", re.S)


@dataclass(frozen=True)
class Block:
    """One fenced block: `page` (relative path), `line` (1-based, of the opening fence),
    `language`, `code` (dedented), `mode` ("run", "skip" or "slow") and `setup` code."""

    page: str
    line: int
    language: str
    code: str
    mode: str = "run"
    setup: str = ""
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def included(self) -> Path | None:
        """The file a block includes with `--8<-- "PATH"` and nothing else, or None."""
        match = _INCLUDE.match(self.code.strip())
        return ROOT / match.group(1) if match else None


def _marker_above(lines: list[str], fence: int) -> tuple[str, str]:
    """The docs-test marker in the HTML comment ending just above line `fence` (0-based):
    `(mode, text)`, or `("run", "")` when there is none."""
    end = fence - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return "run", ""
    start = end
    while start >= 0 and "<!--" not in lines[start]:
        start -= 1
    match = _MARKER.search("\n".join(lines[max(start, 0):end + 1]))
    if match is None:
        return "run", ""
    return match.group(1), match.group(2).strip()


def blocks(page: Path) -> list[Block]:
    """Every fenced block of `page` with a language, in order."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, language = len(match.group(1)), match.group(2).lower()
        body, j = [], i + 1
        while j < len(lines) and lines[j].strip() != "```":
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        if language:
            mode, text = _marker_above(lines, i)
            if mode == "skip" and not text:
                raise ValueError(f"{page}:{i + 1}: a docs-test skip marker needs a reason")
            if mode == "slow" and text.startswith("setup"):
                mode, text = "slow", text.removeprefix("setup").strip()
            elif mode == "slow":
                text = ""
            found.append(Block(str(page.relative_to(ROOT)), i + 1, language, "\n".join(body),
                               mode="run" if mode == "setup" else mode,
                               setup=text if mode in ("setup", "slow") else "",
                               reason=text if mode == "skip" else ""))
        i = j + 1
    return found


def page_script(page_blocks: list[Block]) -> str:
    """A Python program running the page's Python blocks in order in one namespace, each
    compiled under its `page:line` label so that a traceback names the block."""
    parts = []
    for block in page_blocks:
        if block.setup:
            parts.append((f"{block.label} (setup)", block.setup))
        parts.append((block.label, block.code))
    return ("namespace = {'__name__': '__main__'}\n"
            f"for label, code in {parts!r}:\n"
            "    print(f'--- {label}', flush=True)\n"
            "    exec(compile(code, label, 'exec'), namespace)\n")


def shell_commands(block: Block) -> list[list[str]]:
    """The commands of a shell block as argument lists: continuation lines joined, comments
    and prompts removed; usage synopses (with `[...]` or `{a,b}`) are left out."""
    text = re.sub(r"\\\n\s*", " ", block.code)
    commands = []
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        if any(re.search(r"\[.*\]|\{\w+(,\w+)+\}", w) for w in words):
            continue  # a synopsis, not a command
        commands.append(words)
    return commands


def makefile_targets() -> set[str]:
    """The targets the Makefile defines."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w-]+):", text, re.M))
