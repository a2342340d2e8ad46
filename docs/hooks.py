"""MkDocs hooks for the jaxneuron docs (listed under `hooks:` in mkdocs.yml).

- `ListSpacing`: jaxneuron's docstrings follow Diffrax's style, a `**Arguments:**` line
  directly followed by a `- name: ...` list. Python-Markdown needs a blank line before a
  list, so this preprocessor inserts one (outside code fences), for the pages and for the
  docstrings mkdocstrings renders.
- The API index gets its table of every top-level name from `jaxneuron/__init__.pyi`, the
  one list of the public names, so the table cannot drift from the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ROOT = Path(__file__).resolve().parent.parent
_MARKER = "<!-- jaxneuron-top-level-names -->"


class _ListSpacingPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = in_list = False
        for line in lines:
            if _FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence:
                if not line.strip():
                    in_list = False
                elif _LIST_ITEM.match(line):
                    if out and out[-1].strip() and not in_list and not out[-1].lstrip(
                    ).startswith("|"):
                        out.append("")
                    in_list = True
            out.append(line)
        return out


class ListSpacing(Extension):
    """Allow a Markdown list right after a paragraph line (Diffrax-style docstrings)."""

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's API)
        md.preprocessors.register(_ListSpacingPreprocessor(md), "jaxneuron_list_spacing", 31)


def on_config(config, **kwargs):
    config.markdown_extensions.append(ListSpacing())
    return config


def _top_level_names() -> list[tuple[str, str]]:
    """(name, canonical documented path) for every re-export in `jaxneuron/__init__.pyi`."""
    tree = ast.parse((_ROOT / "jaxneuron" / "__init__.pyi").read_text())
    rows = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            base = "jaxneuron" + (f".{node.module}" if node.module else "")
            for alias in node.names:
                rows.append((alias.asname or alias.name, f"{base}.{alias.name}"))
    # Subpackages first, then every other name alphabetically.
    return sorted(rows, key=lambda r: (r[1] != f"jaxneuron.{r[0]}", r[0].lower()))


def _summary(package, path: str) -> str:
    """The first sentence of the docstring of `path` (read statically by griffe)."""
    try:
        doc = package[path.removeprefix("jaxneuron.")].docstring
    except Exception:  # noqa: BLE001 (a name griffe cannot resolve keeps an empty summary)
        return ""
    if doc is None:
        return ""
    first = " ".join(doc.value.split("\n\n")[0].split())
    for end in re.finditer(r"(?<=[a-z0-9)\]`]{2}\.)\s+(?=[A-Z`$])", first):
        head = first[:end.start()]
        if head.count("(") == head.count(")") and head.count("$") % 2 == 0:
            first = head
            break
    # A table cell cannot hold a bare "|": \vert inside math, an escaped pipe outside.
    parts = first.split("$")
    return "$".join(p.replace("|", r"\vert ") if i % 2 else p.replace("|", "\\|")
                    for i, p in enumerate(parts))


def _names_table() -> str:
    import griffe

    package = griffe.load("jaxneuron", search_paths=[str(_ROOT)], resolve_aliases=True,
                          resolve_external=False)
    lines = ["| name | what it is |", "|---|---|"]
    for name, path in _top_level_names():
        lines.append(f"| [`jaxneuron.{name}`][{path}] | {_summary(package, path)} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files, **kwargs):
    if _MARKER in markdown:
        markdown = markdown.replace(_MARKER, _names_table())
    return markdown
