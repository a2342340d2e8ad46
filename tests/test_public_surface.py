"""The library/application split and the public surface (design.md, "The layers").

`import jaxneuron` loads the library lazily and never the applications in
`jaxneuron.apps`; no library module imports `jaxneuron.apps`; every public name resolves."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jaxneuron"


def _python(code: str) -> dict:
    """Run `code` in a fresh interpreter (nothing imported yet) and return its JSON output."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_is_fast_and_loads_neither_jax_nor_applications():
    out = _python(
        "import json, sys, time\n"
        "t = time.perf_counter(); import jaxneuron; seconds = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': seconds, 'modules': sorted(sys.modules)}))")
    assert "jax" not in out["modules"] and "equinox" not in out["modules"]
    assert not [m for m in out["modules"] if m.startswith("jaxneuron.")]
    assert out["seconds"] < 1.0  # measured 0.02 s: only lazy_loader and the stub are read


def test_every_public_name_resolves_without_loading_applications():
    out = _python(
        "import json, sys, jaxneuron\n"
        "missing = [n for n in jaxneuron.__all__ if getattr(jaxneuron, n, None) is None]\n"
        "apps = [m for m in sys.modules if m.startswith('jaxneuron.apps')]\n"
        "print(json.dumps({'missing': missing, 'apps': apps, 'n': len(jaxneuron.__all__),"
        " 'dir': sorted(set(jaxneuron.__all__) - set(dir(jaxneuron)))}))")
    assert out == {"missing": [], "apps": [], "n": out["n"], "dir": []}
    assert out["n"] >= 50


def test_unknown_attribute_is_an_attribute_error():
    import jaxneuron

    with pytest.raises(AttributeError, match="no_such_name"):
        jaxneuron.no_such_name  # noqa: B018


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the jaxneuron modules that `path` imports (relative ones resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    package = package.removesuffix(".__init__")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] == "jaxneuron"}


def test_no_library_module_imports_the_applications():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "apps"):
            continue
        apps = [m for m in _imported_modules(path) if m.startswith("jaxneuron.apps")]
        if apps:
            offenders[str(path.relative_to(PACKAGE))] = apps
    assert offenders == {}


LAYERS = (
    {"_arrays", "_checks", "_fields", "_keys", "biophysics", "gradients", "spike_surrogates",
     "transforms", "observed", "_stopping"},
    {"models"},
    {"stimuli"},
    {"units"},
    {"imports"},
    {"trace"},
    {"engines"},
    {"simulate"},
    {"store", "sampling"},
    {"sweep"},
    {"network"},
    {"analysis"},
    {"recordings"},
    {"features"},
    {"fit", "losses"},
    {"inference"},
    {"fit_recording"},
    {"emulators"},
    {"plotting"},
    {"baselines"},
)
"""The library's layers in the order of design.md: a module may import its own layer and
the layers above it, never one below (data flows top to bottom, never back up)."""


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_library_modules_import_only_their_own_or_earlier_layers():
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    parts = {_part("jaxneuron." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts))
             for p in PACKAGE.rglob("*.py")} - {"__init__", "apps", "py"}
    assert parts <= set(rank), f"add {sorted(parts - set(rank))} to LAYERS"
    upward = []
    for path in PACKAGE.rglob("*.py"):
        here = _part(".".join(("jaxneuron", *path.relative_to(PACKAGE).with_suffix("").parts)))
        if here in ("__init__", "apps"):
            continue
        for target in _imported_modules(path):
            there = _part(target)
            if there in rank and rank[there] > rank[here]:
                upward.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert upward == []


def test_the_package_is_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "__init__.pyi").is_file()
