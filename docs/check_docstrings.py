"""Fail (exit 1) if a public name of jaxneuron has no docstring.

Checked: every name in `jaxneuron.__all__`; every name in the `__all__` of each public
subpackage/module (or, for a module without `__all__`, every non-underscore name defined in
it); and the public methods and properties of every public class defined in jaxneuron.
Objects defined outside jaxneuron (e.g. `plotting.plt`, re-exported matplotlib) and
constants (dicts, tuples, numbers) are skipped: their documentation lives elsewhere.

Run: `python docs/check_docstrings.py` (part of `make docs`).
"""

from __future__ import annotations

import importlib
import inspect
import sys

PUBLIC_MODULES = [
    "jaxneuron",
    "jaxneuron.engines",
    "jaxneuron.engines.solvers",
    "jaxneuron.models",
    "jaxneuron.stimuli",
    "jaxneuron.network",
    "jaxneuron.analysis",
    "jaxneuron.inference",
    "jaxneuron.emulators",
    "jaxneuron.features",
    "jaxneuron.plotting",
    "jaxneuron.baselines",
    "jaxneuron.biophysics",
    "jaxneuron.transforms",
    "jaxneuron.spike_surrogates",
    "jaxneuron.simulate",
    "jaxneuron.sweep",
    "jaxneuron.fit",
    "jaxneuron.losses",
    "jaxneuron.trace",
    "jaxneuron.store",
    "jaxneuron.sampling",
    "jaxneuron.units",
    "jaxneuron.recordings",
    "jaxneuron.imports",
]

# Methods inherited from Equinox / dataclasses / object that need no docstring of ours.
_SKIP_METHODS = {"tree_flatten", "tree_unflatten", "tree_at"}


def _own_doc(obj) -> str | None:
    doc = getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


def _generated_doc(cls) -> bool:
    """True if a class's docstring is the one dataclasses/Equinox write (its signature) or
    one inherited from a base class, not written for it."""
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}(") and doc.rstrip().endswith(")"):
        return True
    return "__doc__" not in vars(cls) or any(doc is k.__doc__ for k in cls.__mro__[1:])


def _defined_in_jaxneuron(obj) -> bool:
    mod = getattr(obj, "__module__", None)
    return isinstance(mod, str) and mod.split(".")[0] == "jaxneuron"


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
            and (inspect.isclass(v) or inspect.isfunction(v))]


def _class_members(cls) -> list[tuple[str, object]]:
    """Public methods/properties defined by `cls` itself or by a jaxneuron base class."""
    out = []
    for name in sorted(dir(cls)):
        if name.startswith("_") or name in _SKIP_METHODS:
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or not _defined_in_jaxneuron(owner):
            continue
        raw = vars(owner)[name]
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if isinstance(raw, property):
            func = raw.fget
        elif inspect.isfunction(raw):
            func = raw
        else:
            continue  # fields, ClassVars, constants
        # An override of an abstract method inherits its documentation (as griffe does).
        doc = _own_doc(func) or next(
            (_own_doc(getattr(k, name)) for k in owner.__mro__[1:]
             if name in vars(k) and _own_doc(getattr(k, name))), None)
        out.append((f"{owner.__module__}.{owner.__qualname__}.{name}", doc))
    return out


def main() -> int:
    missing: set[str] = set()
    seen_classes: set[type] = set()
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        if not _own_doc(module):
            missing.add(f"{modname} (module)")
        for name in _public_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                if obj.__name__.startswith("jaxneuron") and not _own_doc(obj):
                    missing.add(f"{obj.__name__} (module)")
                continue
            if not (inspect.isclass(obj) or callable(obj)) or not _defined_in_jaxneuron(obj):
                continue
            if not _own_doc(obj) or (inspect.isclass(obj) and _generated_doc(obj)):
                missing.add(f"{getattr(obj, '__module__', modname)}.{name}")
            if inspect.isclass(obj) and obj not in seen_classes:
                seen_classes.add(obj)
                for qual, doc in _class_members(obj):
                    if not doc:
                        missing.add(qual)
    if missing:
        print(f"{len(missing)} public names have no docstring:")
        for qual in sorted(missing):
            print(f"  {qual}")
        return 1
    print(f"docstrings: all public names of {len(PUBLIC_MODULES)} modules documented "
          f"({len(seen_classes)} classes checked with their methods)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
