"""Expressions of imported models: parsed by Python's own parser into an allowed set of
operations, checked for units, and turned into SymPy (for the algebra) and JAX (to run).

Nothing here evaluates text: `parse` walks the syntax tree of `ast.parse(text,
mode="eval")` and accepts only numbers, names, `+ - * / **`, unary minus, comparisons and
calls of the functions in `FUNCTIONS`; anything else is a `ValueError` naming it. Every
value is tracked with its pint unit, so a dimensionally wrong expression is found when the
model is built, and every name is rewritten in SI (a variable stored in millivolts enters
as `v/1000` volt), so the arithmetic is right whatever units the model stores.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Callable, Mapping

import jax.numpy as jnp
import sympy

from ..units import registry


class Exprel(sympy.Function):
    """`(exp(x) - 1) / x`, 1 at x = 0 (Brian2's `exprel`)."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (x * sympy.exp(x) - sympy.exp(x) + 1) / x**2


class Clip(sympy.Function):
    """`x` clipped to `[low, high]` (Brian2's `clip`)."""


class Int(sympy.Function):
    """`x` truncated towards zero (Brian2's `int`)."""


FUNCTIONS: dict[str, tuple[Callable, str]] = {
    # name: (SymPy constructor, unit rule): "dimensionless" (argument and result), "same"
    # (the result has the argument's unit), "sign" (any argument, dimensionless result).
    "exp": (sympy.exp, "dimensionless"),
    "log": (sympy.log, "dimensionless"),
    "log10": (lambda x: sympy.log(x, 10), "dimensionless"),
    "sqrt": (sympy.sqrt, "sqrt"),
    "sin": (sympy.sin, "dimensionless"),
    "cos": (sympy.cos, "dimensionless"),
    "tan": (sympy.tan, "dimensionless"),
    "sinh": (sympy.sinh, "dimensionless"),
    "cosh": (sympy.cosh, "dimensionless"),
    "tanh": (sympy.tanh, "dimensionless"),
    "exprel": (Exprel, "dimensionless"),
    "abs": (sympy.Abs, "same"),
    "floor": (sympy.floor, "same"),
    "ceil": (sympy.ceiling, "same"),
    "int": (Int, "same"),
    "sign": (sympy.sign, "sign"),
    "clip": (Clip, "same"),
}
"""The functions an imported expression may call (Brian2's names)."""

_PREFIXES = ("Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m", "u", "µ", "n",
             "p", "f", "a", "z", "y")
_FULL_UNITS = ("metre", "meter", "gram", "gramme", "second", "amp", "ampere", "kelvin", "mole",
               "mol", "candle", "volt", "siemens", "farad", "ohm", "coulomb", "hertz", "molar",
               "liter", "litre", "joule", "watt", "newton", "pascal", "henry", "tesla",
               "weber", "becquerel", "gray", "katal", "lumen", "lux", "radian", "steradian")
_SHORT_UNITS = ("V", "A", "S", "F", "s", "m", "g", "M", "Hz", "Ohm", "ohm", "l", "L", "mol", "C",
                "W", "J", "N", "K", "Pa")
_EXTRA_UNITS = ("Hz", "hertz", "ohm", "Ohm")


def unit_of_name(name: str):
    """The pint unit that `name` stands for in an expression (`mV`, `msiemens`, `cm2`,
    `umetre`), or None. Only Brian2-style unit names count: a full SI name with an optional
    prefix, or a prefixed short symbol (`mV`, `nS`, `pA`; a bare `m`, `s` or `V` is not a
    unit here), with an optional trailing power 2 or 3."""
    base, power = (name[:-1], int(name[-1])) if name[-1:] in "23" else (name, 1)
    known = base in _FULL_UNITS or base in _EXTRA_UNITS or any(
        base == p + u for p in _PREFIXES for u in _FULL_UNITS + _SHORT_UNITS)
    if not known:
        return None
    try:
        unit = registry().parse_units(base.replace("µ", "u"))
    except Exception:  # noqa: BLE001 - pint raises many types for names it does not know
        return None
    return unit**power


@dataclasses.dataclass(frozen=True)
class Quantity:
    """A parsed expression: `expr` (SymPy, in SI: every symbol stands for its stored value,
    already multiplied by its factor to SI) and its `unit` (a pint unit)."""

    expr: sympy.Expr
    unit: object


def si_factor(unit) -> sympy.Rational:
    """The exact factor from `unit` to its SI base units (e.g. mV -> 1/1000), as a
    rational, so that products of factors cancel exactly."""
    magnitude = (1.0 * unit).to_base_units().magnitude
    return sympy.Rational(f"{magnitude:.15g}")


def _dimensionless(unit) -> bool:
    return (1.0 * unit).dimensionless


def _same(a, b) -> bool:
    return (1.0 * a).dimensionality == (1.0 * b).dimensionality


class ExpressionError(ValueError):
    """A bad expression (syntax, name, function or units); the message names it."""


def parse(text: str, symbols: Mapping[str, tuple[sympy.Symbol, object]], *,
          where: str, exact: bool = False) -> Quantity:
    """`text` as a `Quantity`.

    **Arguments:**
    - `text`: one expression (Python syntax, as Brian2 writes them: `a*(v - E)`, `v**2`,
      `exp(-v/(10*mV))`).
    - `symbols`: every name the expression may use -> (its SymPy symbol, its stored unit);
      the symbol enters multiplied by the unit's factor to SI. Unit names (`mV`) need not
      be listed.
    - `where`: what the expression is (e.g. "equation 'dv/dt = ...'"), for messages.
    - `exact`: decimal numbers as exact rationals (for values: `"80.5*pA"` is then exactly
      80.5 pA in any unit), else as floats.

    **Raises:** `ExpressionError` (a `ValueError`) for bad syntax, an operation or function
    that is not allowed, an undefined name, a stochastic `xi` term, or units that do not
    match (naming both).
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"{where}: cannot parse {text.strip()!r} ({error.msg})") from None
    return _Walker(symbols, where, exact).visit(tree.body)


class _Walker:
    def __init__(self, symbols, where, exact):
        self.symbols, self.where, self.exact = symbols, where, exact
        self.one = registry().dimensionless

    def fail(self, message):
        raise ExpressionError(f"{self.where}: {message}")

    def visit(self, node) -> Quantity:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            self.fail(f"{ast.unparse(node)!r} is not allowed (only numbers, names, + - * / "
                      "**, comparisons and the functions " + ", ".join(FUNCTIONS) + ")")
        return method(node)

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            self.fail(f"{node.value!r} is not a number")
        if isinstance(node.value, int):
            value = sympy.Integer(node.value)
        else:  # exact where asked, so that values convert between units without rounding
            value = sympy.Rational(repr(node.value)) if self.exact else sympy.Float(node.value)
        return Quantity(value, self.one)

    def visit_Name(self, node):
        name = node.id
        if name in self.symbols:
            symbol, unit = self.symbols[name]
            return Quantity(si_factor(unit) * symbol, unit)
        if name == "xi" or name.startswith("xi_"):
            self.fail(f"the stochastic term {name!r} is not supported (jaxneuron's models "
                      "are deterministic ODEs)")
        unit = unit_of_name(name)
        if unit is not None:
            return Quantity(si_factor(unit), unit)
        self.fail(f"undefined name {name!r} (not a variable, parameter, namespace constant "
                  "or unit)")

    def visit_UnaryOp(self, node):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return Quantity(-operand.expr, operand.unit)
        if isinstance(node.op, ast.UAdd):
            return operand
        self.fail(f"the operator in {ast.unparse(node)!r} is not allowed")

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, ast.Add | ast.Sub):
            if not _same(left.unit, right.unit):
                self.fail(f"units do not match in {ast.unparse(node)!r}: "
                          f"{ast.unparse(node.left)!r} is in {left.unit:~} and "
                          f"{ast.unparse(node.right)!r} in {right.unit:~}")
            expr = left.expr + right.expr if isinstance(op, ast.Add) else left.expr - right.expr
            return Quantity(expr, left.unit)
        if isinstance(op, ast.Mult):
            return Quantity(left.expr * right.expr, left.unit * right.unit)
        if isinstance(op, ast.Div):
            return Quantity(left.expr / right.expr, left.unit / right.unit)
        if isinstance(op, ast.Pow):
            if not _dimensionless(right.unit):
                self.fail(f"the exponent in {ast.unparse(node)!r} must be dimensionless; it is "
                          f"in {right.unit:~}")
            if _dimensionless(left.unit):
                return Quantity(left.expr**right.expr, left.unit)
            if not right.expr.is_number:
                self.fail(f"{ast.unparse(node.left)!r} has units ({left.unit:~}), so its "
                          "exponent must be a number")
            exponent = sympy.nsimplify(right.expr)
            return Quantity(left.expr**exponent, left.unit ** float(exponent))
        self.fail(f"the operator in {ast.unparse(node)!r} is not allowed")

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in ("rand", "randn", "poisson",
                                                                 "binomial"):
            self.fail(f"random numbers ({node.func.id}) are not supported (jaxneuron's models "
                      "are deterministic ODEs; drive noise through the stimulus)")
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            self.fail(f"unknown function {name!r} (allowed: {', '.join(FUNCTIONS)})")
        if node.keywords:
            self.fail(f"keyword arguments are not allowed in {ast.unparse(node)!r}")
        name = node.func.id
        args = [self.visit(a) for a in node.args]
        expected = 3 if name == "clip" else 1
        if len(args) != expected:
            self.fail(f"{name} takes {expected} argument(s); got {len(args)} in "
                      f"{ast.unparse(node)!r}")
        build, rule = FUNCTIONS[name]
        first = args[0]
        if rule == "dimensionless" and not _dimensionless(first.unit):
            self.fail(f"the argument of {name} must be dimensionless; "
                      f"{ast.unparse(node.args[0])!r} is in {first.unit:~}")
        if name == "clip" and not all(_same(a.unit, first.unit) for a in args[1:]):
            self.fail(f"units do not match in {ast.unparse(node)!r}: "
                      + ", ".join(f"{a.unit:~}" for a in args))
        expr = build(*(a.expr for a in args))
        unit = {"dimensionless": self.one, "same": first.unit, "sign": self.one,
                "sqrt": first.unit**0.5}[rule]
        return Quantity(expr, unit)

    def visit_Compare(self, node):
        if len(node.ops) != 1:
            self.fail(f"chained comparisons are not allowed in {ast.unparse(node)!r}")
        left, right = self.visit(node.left), self.visit(node.comparators[0])
        if not _same(left.unit, right.unit):
            self.fail(f"units do not match in {ast.unparse(node)!r}: {left.unit:~} and "
                      f"{right.unit:~}")
        op = node.ops[0]
        if isinstance(op, ast.Gt | ast.GtE):
            return Quantity(left.expr - right.expr, left.unit)
        if isinstance(op, ast.Lt | ast.LtE):
            return Quantity(right.expr - left.expr, left.unit)
        self.fail(f"only >, >=, < and <= are allowed in a condition; got {ast.unparse(node)!r}")


def is_comparison(text: str) -> bool:
    """Whether `text` parses as one comparison (`v > vt`)."""
    try:
        return isinstance(ast.parse(text.strip(), mode="eval").body, ast.Compare)
    except SyntaxError:
        return False


# ---------------------------------------------------------------- SymPy -> JAX


def evaluate(expr: sympy.Expr, values: Mapping[str, object]):
    """`expr` evaluated with JAX: each symbol's name looked up in `values` (arrays or
    floats)."""
    if expr.is_Symbol:
        return values[expr.name]
    if expr.is_Number:
        return float(expr)
    args = [evaluate(a, values) for a in expr.args]
    if expr.is_Add:
        return _fold(args, lambda a, b: a + b)
    if expr.is_Mul:
        return _fold(args, lambda a, b: a * b)
    if expr.is_Pow:
        base, exponent = args
        if expr.exp.is_Integer:
            return base ** int(expr.exp)
        if expr.exp == sympy.Rational(1, 2):
            return jnp.sqrt(base)
        return base**exponent
    head = type(expr)
    if head in _JAX:
        return _JAX[head](*args)
    raise ValueError(f"cannot evaluate {expr} ({head.__name__})")  # pragma: no cover


def _fold(args, op):
    out = args[0]
    for a in args[1:]:
        out = op(out, a)
    return out


def exprel(x):
    """`(exp(x) - 1) / x` with JAX, 1 at x = 0 (finite derivatives everywhere)."""
    small = jnp.abs(x) < 1e-6
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + x / 2.0 + x * x / 6.0, jnp.expm1(safe) / safe)


_JAX = {
    sympy.exp: jnp.exp, sympy.log: jnp.log, sympy.sin: jnp.sin, sympy.cos: jnp.cos,
    sympy.tan: jnp.tan, sympy.sinh: jnp.sinh, sympy.cosh: jnp.cosh, sympy.tanh: jnp.tanh,
    sympy.Abs: jnp.abs, sympy.floor: jnp.floor, sympy.ceiling: jnp.ceil, sympy.sign: jnp.sign,
    Exprel: exprel, Clip: jnp.clip, Int: jnp.trunc,
}


def is_finite_number(expr) -> bool:
    """Whether `expr` is a finite real number."""
    return bool(expr.is_number) and math.isfinite(float(expr))
