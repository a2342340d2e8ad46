"""An imported model as a plain Python model file (`write_model`, `jaxneuron import-model`).

The file is one class in the project's own style: the parameters as fields with their
units in the docstring, `domain()`, and the equations as JAX code printed from the same
SymPy expressions the imported model evaluates. It depends only on jaxneuron, so a user
can read, edit and own it; importing it gives the same model.
"""

from __future__ import annotations

import os
import textwrap

import sympy
from sympy.printing.numpy import JaxPrinter

from .expressions import Exprel
from .model import ImportedNeuron, ModelSpec


class _Printer(JaxPrinter):
    """JAX code with `jnp.` for `jax.numpy.`, floats to full precision, and Brian2's
    exprel/clip/int."""

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Exprel(self, expr):
        return f"exprel({self._print(expr.args[0])})"

    def _print_Clip(self, expr):
        return "jnp.clip({}, {}, {})".format(*(self._print(a) for a in expr.args))

    def _print_Int(self, expr):
        return f"jnp.trunc({self._print(expr.args[0])})"


def _code(expr, spec: ModelSpec) -> str:
    names = {sympy.Symbol(p, real=True): sympy.Symbol(f"self.{p}", real=True)
             for p in spec.parameters}
    text = _Printer().doprint(sympy.sympify(expr).xreplace(names))
    return text.replace("jax.numpy.", "jnp.")


def model_source(model) -> str:
    """The Python source of a model file for an imported model (`from_brian2`,
    `from_neuroml`): one class named like the model's, its current parameter values as
    defaults.

    **Raises:** `ValueError` for a model that was not imported.
    """
    if not isinstance(model, ImportedNeuron):
        raise ValueError(f"model must be an imported model (from_brian2, from_neuroml); got "
                         f"{type(model).__name__}")
    spec = type(model).spec
    gated, spiking = spec.split is not None, spec.threshold is not None
    bases = [b for b, used in (("AbstractGatedNeuron", gated),
                               ("AbstractSpikingNeuron", spiking)) if used] or ["AbstractNeuron"]
    units = spec.parameter_units
    lines = [
        f'"""{spec.name}: a jaxneuron model written by `jaxneuron import-model`."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import ClassVar",
        "",
        "import jax.numpy as jnp",
        "from jaxtyping import Array, Float",
        "",
        "from jaxneuron import param",
        "from jaxneuron.models.base import (",
        *(f"    {b}," for b in sorted({*bases, "finite", "non_negative", "positive"})),
        ")",
    ]
    if any(e.has(Exprel) for e in _all_exprs(spec)):
        lines.append("from jaxneuron.imports.expressions import exprel")
    lines += ["", "", f"class {spec.name}({', '.join(bases)}):"]
    doc = spec.doc + "\n\nFields (units): " + ", ".join(
        f"`{p}` ({units[p]})" for p in spec.parameters)
    wrapped = []
    for paragraph in doc.splitlines():
        wrapped.extend(textwrap.wrap(paragraph, 88, break_long_words=False,
                                     break_on_hyphens=False) or [""])
    lines += ['    """' + wrapped[0], *(("    " + w) if w else "" for w in wrapped[1:]),
              '    """', ""]
    lines += [
        f"    state_names: ClassVar[tuple[str, ...]] = {tuple(spec.states)!r}",
        f"    state_units: ClassVar[dict] = {dict(spec.state_units)!r}",
        "    parameter_units: ClassVar[dict] = {",
        *(f"        {k!r}: {u!r}," for k, u in units.items()),
        "    }",
        f"    input_unit: ClassVar[str | None] = {spec.input_unit!r}",
    ]
    if spec.spike_threshold is not None:
        lines.append(f"    spike_threshold: ClassVar[float] = {spec.spike_threshold!r}  # mV")
    if gated:
        lines.append(f"    n_voltages: ClassVar[int] = {spec.n_voltages}")
    if spiking:
        lines.append(f"    clamped_states: ClassVar[tuple[int, ...]] = {tuple(spec.clamped)!r}")
    lines.append("")
    for p in spec.parameters:
        lines.append(f"    {p}: Float[Array, \"\"] = param({float(getattr(model, p))!r})  "
                     f"# {units[p]}")
    lines += [
        "",
        "    def domain(self):",
        f'        """{_domain_doc(spec)}"""',
        "        return {" + ",\n                ".join(
            f"**{check}(self, {_names(names)})" for check, names in (
                ("positive", spec.positive), ("non_negative", spec.non_negative),
                ("finite", spec.parameters)) if names) + "}",
        "",
        "    def initial_state(self):",
        "        return jnp.stack([" + ", ".join(f"self.{s}_init" for s in spec.states) + "])",
        "",
        "    def voltage(self, y):",
        f"        return y[{spec.voltage_index}]",
        "",
    ]
    unpack = f"        {', '.join(spec.states)}{',' if len(spec.states) == 1 else ''} = y"
    input_line = [f"        {spec.input} = args"] if spec.input else []
    if gated:
        rates, targets = spec.split
        lines += ["    def exponential_split(self, t, y, args):", unpack, *input_line,
                  "        rate = jnp.stack([", *_items(rates, spec), "        ])",
                  "        target = jnp.stack([", *_items(targets, spec), "        ])",
                  "        return rate, target", ""]
    else:
        lines += ["    def vector_field(self, t, y, args):", unpack, *input_line,
                  "        return jnp.stack([", *_items(spec.derivatives, spec), "        ])",
                  ""]
    if spiking:
        lines += ["    def spike_condition(self, y):", unpack,
                  f"        return {_code(spec.threshold, spec)}", "",
                  "    def reset(self, y):", unpack]
        for index, expr in spec.reset:
            lines.append(f"        {spec.states[index]} = {_code(expr, spec)}")
        lines += ["        return jnp.stack([" + ", ".join(
            f"jnp.broadcast_to({s}, jnp.shape(y[0]))" for s in spec.states) + "])", "",
            "    @property", "    def refractory_period(self):",
            "        return " + ("jnp.asarray(self.refractory)" if "refractory" in
                                 spec.parameters else "jnp.zeros(())"), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_model(model, path) -> str:
    """Write `model_source(model)` to `path` (a `.py` file); returns the path.

    **Raises:** `ValueError` for a model that was not imported or a path that does not end
    in `.py`."""
    path = os.fspath(path)
    if not path.endswith(".py"):
        raise ValueError(f"path must be a Python file ending in .py; got {path!r}")
    source = model_source(model)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)
    return path


def _all_exprs(spec):
    exprs = list(spec.derivatives) + [e for _, e in spec.reset]
    if spec.split is not None:
        exprs += [*spec.split[0], *spec.split[1]]
    if spec.threshold is not None:
        exprs.append(spec.threshold)
    return [sympy.sympify(e) for e in exprs]


def _items(exprs, spec) -> list[str]:
    return [f"            {_code(e, spec)}," for e in exprs]


def _names(names) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _domain_doc(spec) -> str:
    parts = []
    if spec.positive:
        parts.append(", ".join(spec.positive) + " > 0")
    if spec.non_negative:
        parts.append(", ".join(spec.non_negative) + " >= 0")
    parts.append("every parameter finite")
    return "; ".join(parts) + "."
