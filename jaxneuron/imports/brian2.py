"""Brian2 equation strings -> jaxneuron models (`from_brian2`).

The equations are read line by line (`dx/dt = expr : unit [(flags)]`, `x = expr : unit`,
`x : unit [(flags)]`), every expression is parsed and unit-checked by
`jaxneuron.imports.expressions` (never evaluated as text), and the result is a new model
class whose fields are the parameters, built once per call. Time runs in ms, voltages in
mV, and every other quantity in the preferred unit of its dimension (`STORED_UNITS`), so
that the model fits the rest of jaxneuron (stimuli, recordings, priors) like a built-in one.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from collections.abc import Mapping

import sympy

from ..units import registry
from .expressions import ExpressionError, Quantity, is_comparison, parse, si_factor
from .model import ModelSpec, build_class, reserved_names

STORED_UNITS = ("mV", "ms", "pA", "uA/cm**2", "nS", "mS/cm**2", "pF", "uF/cm**2", "um**2",
                "mV/ms", "mM", "1/ms", "MOhm", "pC", "umol", "K", "kOhm*cm**2")
"""The unit a quantity of each dimension is stored in (the first of these with the same
dimension); a dimensionless quantity is stored as is, any other in SI base units."""

_FLAGS = {"diff": {"unless refractory"}, "sub": set(), "param": {"constant", "shared"}}
_UNSUPPORTED_FLAGS = {
    "summed": "summed variables (synaptic sums) belong to synapses, not to one neuron",
    "linked": "linked variables refer to another group",
    "event-driven": "event-driven variables belong to synapses",
    "constant over dt": "'constant over dt' subexpressions (random numbers per step)",
    "point current": "point currents belong to compartments of multicompartment neurons; in "
                     "a point neuron declare the current as a plain parameter (drop the flag)",
}


@dataclasses.dataclass(frozen=True)
class Equation:
    """One line of Brian2 equations: `kind` "diff" (dx/dt = expr), "sub" (x = expr) or
    "param" (x : unit); `expr` the right-hand side text (None for a parameter); `unit` the
    declared pint unit; `flags` the flags in parentheses; `line` the text as written."""

    kind: str
    name: str
    expr: str | None
    unit: object
    flags: frozenset
    line: str


_DIFF = re.compile(r"^d\s*(?P<name>[A-Za-z_]\w*)\s*/\s*dt\s*=\s*(?P<expr>.+)$")
_SUB = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<expr>.+)$")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_]\w*)$")
_FLAGS_AT_END = re.compile(r"\((?P<flags>[^()]*)\)\s*$")


def parse_equations(text: str) -> list[Equation]:
    """The lines of `text` (comments after `#`, blank lines skipped; a line whose
    parentheses are left open continues on the next).

    **Raises:** `ValueError` naming the line: no `: unit`, an unknown form, an unknown or
    unsupported flag, an unknown unit, or a name defined twice.
    """
    if not isinstance(text, str):
        raise ValueError(f"equations must be a string of Brian2 equations; got "
                         f"{type(text).__name__}")
    lines, pending = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pending = f"{pending} {line}".strip()
        if pending.count("(") > pending.count(")"):
            continue
        lines.append(pending)
        pending = ""
    if pending:
        lines.append(pending)
    equations, seen = [], set()
    for line in lines:
        equation = _parse_line(line)
        if equation.name in seen:
            raise ValueError(f"equations: {equation.name!r} is defined twice (line {line!r})")
        seen.add(equation.name)
        equations.append(equation)
    if not any(e.kind == "diff" for e in equations):
        raise ValueError("equations: no differential equation (dx/dt = ... : unit); a model "
                         "needs at least one state variable")
    return equations


def _parse_line(line: str) -> Equation:
    if ":" not in line:
        raise ValueError(f"equations: line {line!r} has no unit; write 'dx/dt = expr : unit', "
                         "'x = expr : unit' or 'x : unit'")
    left, unit_text = line.rsplit(":", 1)
    flags = frozenset()
    found = _FLAGS_AT_END.search(unit_text)
    if found:
        flags = frozenset(f.strip() for f in found.group("flags").split(",") if f.strip())
        unit_text = unit_text[: found.start()]
    left = left.strip()
    forms = [(kind, m) for kind, pattern in (("diff", _DIFF), ("sub", _SUB), ("param", _PARAM))
             if (m := pattern.match(left))]
    if not forms:
        raise ValueError(f"equations: cannot read line {line!r} (expected 'dx/dt = expr : "
                         "unit', 'x = expr : unit' or 'x : unit')")
    kind, match = forms[0]
    name = match.group("name")
    for flag in flags:
        if flag in _UNSUPPORTED_FLAGS:
            raise ValueError(f"equations: flag ({flag}) on {name!r} is not supported: "
                             f"{_UNSUPPORTED_FLAGS[flag]}")
        if flag not in _FLAGS[kind]:
            raise ValueError(f"equations: unknown flag ({flag}) on {name!r} in line {line!r}"
                             f" (allowed here: {sorted(_FLAGS[kind]) or 'none'})")
    unit = parse_unit_text(unit_text.strip(), f"equations: the unit of {name!r}")
    return Equation(kind=kind, name=name, expr=match.groupdict().get("expr"), unit=unit,
                    flags=flags, line=line)


def parse_unit_text(text: str, where: str):
    """A unit as Brian2 writes it after the colon (`volt`, `amp/metre**2`, `1`, `mV`), as a
    pint unit.

    **Raises:** `ValueError` starting with `where` for an unknown unit or a number."""
    if text in ("1", ""):
        if text == "":
            raise ValueError(f"{where}: missing unit (write ': 1' for a dimensionless one)")
        return registry().dimensionless
    try:
        quantity = parse(text, {}, where=where)
    except ExpressionError as error:
        raise ValueError(f"{where}: unknown unit {text!r} ({error})") from None
    if quantity.expr.free_symbols:  # pragma: no cover - parse allows no free names here
        raise ValueError(f"{where}: {text!r} is not a unit")
    value = float(quantity.expr)
    unit = quantity.unit
    if abs(value / float(si_factor(unit)) - 1.0) > 1e-12:
        raise ValueError(f"{where}: {text!r} is a quantity, not a unit")
    return unit


def stored_unit(unit):
    """The unit a quantity of `unit`'s dimension is stored in (see `STORED_UNITS`)."""
    ureg = registry()
    dims = (1.0 * unit).dimensionality
    if (1.0 * unit).dimensionless:
        return ureg.dimensionless
    for text in STORED_UNITS:
        candidate = ureg.parse_units(text)
        if (1.0 * candidate).dimensionality == dims:
            return candidate
    return (1.0 * unit).to_base_units().units


def unit_text(unit) -> str:
    """A unit as a short string that `jaxneuron.units.parse_unit` reads back: `"mV"`,
    `"uA/cm**2"`, `"1"`."""
    if (1.0 * unit).dimensionless:
        return "1"
    return f"{unit:~C}".replace("^", "**").replace("µ", "u")


def quantity_value(value, name: str, *, argument: str):
    """A namespace or initial value as `(SI value, pint unit)` (the value an exact SymPy
    number): a number is dimensionless, a
    string a quantity such as `"-65*mV"` or `"35*msiemens/cm**2"` (parsed like an
    expression, so only numbers and unit names).

    **Raises:** `ValueError` naming `argument[name]` for anything else."""
    where = f"{argument}[{name!r}]"
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a number or a quantity string such as '-65*mV'; "
                         f"got {value!r}")
    if isinstance(value, int | float):
        return sympy.Rational(repr(float(value))), registry().dimensionless
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a number or a quantity string such as '-65*mV'; "
                         f"got {value!r} ({type(value).__name__})")
    quantity: Quantity = parse(value, {}, where=where, exact=True)
    try:
        return sympy.nsimplify(quantity.expr), quantity.unit
    except TypeError:  # pragma: no cover - parse allows no free names here
        raise ValueError(f"{where}: {value!r} is not a quantity") from None


def check_identifier(name, argument: str) -> str:
    """`name` if it is a Python identifier that is not a keyword."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{argument} must be a Python identifier; got {name!r}")
    return name


def check_mapping(value, argument: str) -> Mapping:
    """`value` (a mapping of names) or `{}` for None."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{argument} must be a dict name -> value; got {type(value).__name__}")
    for key in value:
        check_identifier(key, f"{argument} key")
    return value


def split_statements(text: str, argument: str) -> list[str]:
    """Reset code as statements (separated by newlines or `;`, comments dropped)."""
    if not isinstance(text, str):
        raise ValueError(f"{argument} must be a string of statements such as 'v = vr'; got "
                         f"{type(text).__name__}")
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        out.extend(s.strip() for s in line.split(";") if s.strip())
    return out


def is_condition(text: str) -> bool:
    """Whether `text` is a comparison (a threshold, or a refractoriness condition)."""
    return is_comparison(text)


def _symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)




_RESET = re.compile(r"^(?P<target>[A-Za-z_]\w*)\s*(?P<op>\+=|-=|\*=|/=|=(?!=))\s*(?P<expr>.+)$")


def from_brian2(equations: str, *, threshold: str | None = None, reset: str | None = None,
                refractory=None, namespace: Mapping | None = None,
                initial: Mapping | None = None, input: str | None = "I",
                name: str = "Brian2Model"):
    """A jaxneuron model from Brian2 equations.

    **Arguments:**
    - `equations`: Brian2 equations, one per line: `dx/dt = expr : unit` (optionally
      `(unless refractory)`), subexpressions `x = expr : unit`, parameters `x : unit`
      (optionally `(constant)`/`(shared)`). Expressions use numbers, names, unit names
      (`40*mV`), `t`, `+ - * / **` and `exp`, `log`, `sqrt`, `sin`, `tanh`, `clip`,
      `exprel`, `int`, ... (`jaxneuron.imports.expressions.FUNCTIONS`).
    - `threshold`: a condition such as `"v > vt"` (a spike when it becomes true); None for
      a model without spikes.
    - `reset`: statements run at a spike (`"v = vr; w += b"`, newlines or `;` between).
    - `refractory`: a time (`"2*ms"`, or a number in ms): states marked `(unless
      refractory)` are held, and no spike is emitted, for that long after a spike.
    - `namespace`: constants and parameter values, numbers (dimensionless) or quantity
      strings (`{"gNa": "35*msiemens/cm**2"}`). Each one the equations use, and each
      declared parameter, becomes a model parameter (a float field, in the unit of
      `model.parameter_units`); a declared parameter not given is 0, as in Brian2.
    - `initial`: start values of states (same forms); unset ones start at 0, as in Brian2.
      Each becomes a parameter `<state>_init`.
    - `input`: the declared parameter that the stimulus drives (`I : amp` -> the model's
      `input_unit` is "pA"); None for a model without input.
    - `name`: the model class's name.

    Units: time is in ms, voltages in mV, and each other quantity in the stored unit of
    its dimension (`STORED_UNITS`: pA, uA/cm**2, nS, mS/cm**2, pF, uF/cm**2, ...); the
    model's `state_units`, `parameter_units` and `input_unit` say which.

    **Returns:** an instance of a new model class (an `AbstractNeuron`; an
    `AbstractSpikingNeuron` with a threshold; an `AbstractGatedNeuron` too where every
    state relaxes linearly towards a target, as in conductance-based models).

    **Raises:** `ValueError` (one line, naming the equation or argument) for a syntax
    error, a unit mismatch (naming both units), an unknown function, an undefined name, a
    stochastic `xi` term, a `summed`/`linked`/event-driven variable, a refractory condition
    (only a time is supported), a namespace entry the equations do not use, or a name that
    clashes with a model attribute.
    """
    spec = brian2_spec(equations, threshold=threshold, reset=reset, refractory=refractory,
                       namespace=namespace, initial=initial, input=input, name=name)
    return build_class(spec)()


def brian2_spec(equations, *, threshold=None, reset=None, refractory=None, namespace=None,
                initial=None, input="I", name="Brian2Model") -> ModelSpec:
    """The `ModelSpec` of `from_brian2` (same arguments and errors)."""
    name = check_identifier(name, "name")
    eqs = parse_equations(equations)
    namespace = check_mapping(namespace, "namespace")
    initial = check_mapping(initial, "initial")
    by_name = {e.name: e for e in eqs}
    ureg = registry()
    ms = ureg.ms
    if input is not None:
        check_identifier(input, "input")
        if input not in by_name or by_name[input].kind != "param":
            raise ValueError(f"input: {input!r} is not a parameter of the equations; declare "
                             f"it, e.g. '{input} : amp' (or pass input=None)")
    # Membrane potentials first (as jaxneuron's models order their states, and as the
    # exponential solvers of conductance-based models need), the rest in written order.
    states = sorted((e for e in eqs if e.kind == "diff"),
                    key=lambda e: (1.0 * e.unit).dimensionality != (1.0 * ureg.mV).dimensionality)
    subs = {e.name: e for e in eqs if e.kind == "sub"}
    constants = {e.name: (sympy.Integer(0), e.unit) for e in eqs
                 if e.kind == "param" and e.name != input}
    for key, value in namespace.items():
        si, unit = quantity_value(value, key, argument="namespace")
        known = by_name.get(key)
        if key == input or (known is not None and known.kind != "param"):
            what = "the input" if key == input else {"diff": "a state variable",
                                                       "sub": "a subexpression"}[known.kind]
            raise ValueError(f"namespace[{key!r}] names {what}; give state start values in "
                             "initial, and the input as a stimulus")
        if key in constants and not _same(unit, constants[key][1]):
            raise ValueError(f"namespace[{key!r}]: {value!r} is in {unit_text(unit)}, but the "
                             f"equations declare {key!r} in {unit_text(constants[key][1])}")
        constants[key] = (si, constants[key][1] if key in constants else unit)

    stored = {e.name: stored_unit(e.unit) for e in eqs}
    stored.update({k: stored_unit(u) for k, (_, u) in constants.items()})
    symbols = {k: (_symbol(k), stored[k]) for k in stored}
    symbols["t"] = (_symbol("t"), ms)

    def expression(text, where):
        return parse(text, symbols, where=where)

    sub_exprs, used = {}, set()
    for sub in subs.values():
        q = expression(sub.expr, f"equations: {sub.line!r}")
        _check_unit(q, sub.unit, f"equations: {sub.line!r}", sub.name)
        sub_exprs[_symbol(sub.name)] = q.expr / si_factor(stored[sub.name])
    inline = _inliner(sub_exprs, used)

    derivatives = []
    for e in states:
        where = f"equations: {e.line!r}"
        q = expression(e.expr, where)
        _check_unit(q, e.unit / ureg.second, where, f"d{e.name}/dt")
        derivatives.append(sympy.factor_terms(inline(q.expr / si_factor(stored[e.name] / ms))))

    condition = None
    if threshold is not None:
        if not isinstance(threshold, str) or not is_comparison(threshold):
            raise ValueError(f"threshold must be a condition such as 'v > vt'; got "
                             f"{threshold!r}")
        q = expression(threshold, f"threshold {threshold!r}")
        condition = inline(q.expr / si_factor(stored_unit(q.unit)))

    state_index = {e.name: i for i, e in enumerate(states)}
    resets = []
    if reset is not None:
        if threshold is None:
            raise ValueError("reset needs a threshold (a reset runs at a spike)")
        for statement in split_statements(reset, "reset"):
            resets.append(_reset_statement(statement, state_index, states, stored, expression,
                                           inline))

    parameters = list(constants)
    defaults = defaults_of(constants, stored)
    units = {k: unit_text(stored[k]) for k in constants}
    positive = [k for k in constants if _is_positive_kind(stored[k])]
    non_negative = []

    detect_only = threshold is not None and reset is None
    if detect_only:
        flagged = [e.name for e in states if "unless refractory" in e.flags]
        if flagged:
            raise ValueError(f"threshold without reset: the states {flagged} are held "
                             "'(unless refractory)', which needs a reset; give one")
        # Spikes are only detected (Brian2's HH examples): a smooth model that counts upward
        # crossings of the potential, which never counts a spike twice, so refractoriness
        # has nothing to do.
        spike_threshold = _detection_threshold(condition, states, defaults_of(constants,
                                                                              stored), threshold)
        if not (isinstance(refractory, str) and is_comparison(refractory)):
            _refractory(refractory, threshold)  # a bad time is still an error
        condition, refractory = None, None
    else:
        spike_threshold = None
    period = _refractory(refractory, threshold)
    if period is not None:
        parameters.append("refractory")
        defaults["refractory"], units["refractory"] = period, "ms"
        non_negative.append("refractory")

    for key in initial:
        if key not in state_index:
            raise ValueError(f"initial[{key!r}] is not a state variable (states: "
                             f"{sorted(state_index)})")
    for e in states:
        field = f"{e.name}_init"
        si, unit = (sympy.Integer(0), e.unit) if e.name not in initial else quantity_value(
            initial[e.name], e.name, argument="initial")
        if e.name in initial and not _same(unit, e.unit) and si != 0.0:
            raise ValueError(f"initial[{e.name!r}]: {initial[e.name]!r} is in "
                             f"{unit_text(unit)}, but {e.name!r} is in {unit_text(e.unit)}")
        parameters.append(field)
        defaults[field] = float(si / si_factor(stored[e.name]))
        units[field] = unit_text(stored[e.name])

    _check_names(parameters, constants, state_index, subs, input)
    _check_used(namespace, constants, derivatives, condition, resets, used)

    voltage_dims = ureg.mV.dimensionality
    is_voltage = [(1.0 * e.unit).dimensionality == voltage_dims for e in states]
    voltage_index = is_voltage.index(True) if any(is_voltage) else 0
    clamped = tuple(i for i, e in enumerate(states) if "unless refractory" in e.flags)
    if not clamped and period is None:
        # No refractoriness: the engines still start the potential afresh at the spike
        # time inside a step (as the built-in models do), so it is the held state.
        clamped = (voltage_index,)
    split = _gated_split(states, derivatives, is_voltage)
    n_voltages = sum(is_voltage) if split is not None else 1
    doc = _docstring(name, equations, threshold, reset, refractory, units, stored, states)
    return ModelSpec(
        name=name, states=tuple(e.name for e in states),
        state_units={e.name: unit_text(stored[e.name]) for e in states},
        parameters=tuple(parameters), defaults=defaults, parameter_units=units,
        positive=tuple(positive), non_negative=tuple(non_negative), input=input,
        input_unit=None if input is None else unit_text(stored[input]),
        derivatives=tuple(derivatives), split=split, n_voltages=n_voltages,
        threshold=condition, reset=tuple(resets), clamped=clamped,
        spike_threshold=spike_threshold,
        voltage_index=voltage_index, doc=doc,
        source={"equations": equations, "threshold": threshold, "reset": reset,
                "refractory": refractory, "namespace": dict(namespace),
                "initial": dict(initial), "input": input, "name": name})


def _same(a, b) -> bool:
    return (1.0 * a).dimensionality == (1.0 * b).dimensionality


def _check_unit(q: Quantity, expected, where: str, what: str) -> None:
    if not _same(q.unit, expected):
        raise ValueError(f"{where}: {what} is in {unit_text(q.unit)}, but the equation "
                         f"declares {unit_text(expected)}")


def _inliner(sub_exprs: dict, used: set):
    """A function that replaces subexpression symbols by their expressions (recursively)
    and records, in `used`, every symbol name it meets."""
    def inline(expr):
        for _ in range(len(sub_exprs) + 1):
            used.update(s.name for s in expr.free_symbols)
            present = {s: sub_exprs[s] for s in expr.free_symbols if s in sub_exprs}
            if not present:
                return expr
            expr = expr.xreplace(present)
        cycle = sorted(s.name for s in expr.free_symbols if s in sub_exprs)
        raise ValueError(f"equations: the subexpressions {cycle} refer to each other in a "
                         "cycle")
    return inline


def _reset_statement(statement, state_index, states, stored, expression, inline):
    match = _RESET.match(statement)
    if not match:
        raise ValueError(f"reset: cannot read {statement!r} (expected 'x = expr', 'x += "
                         "expr', 'x -= expr', 'x *= expr' or 'x /= expr')")
    target, op = match.group("target"), match.group("op")
    if target not in state_index:
        raise ValueError(f"reset: {statement!r} assigns to {target!r}, which is not a state "
                         f"variable (states: {sorted(state_index)})")
    index = state_index[target]
    unit = states[index].unit
    q = expression(match.group("expr"), f"reset {statement!r}")
    symbol = _symbol(target)
    if op in ("*=", "/="):
        _check_unit(q, registry().dimensionless, f"reset {statement!r}", "the factor")
        value = symbol * q.expr if op == "*=" else symbol / q.expr
    else:
        _check_unit(q, unit, f"reset {statement!r}", "the value")
        value = q.expr / si_factor(stored[target])
        value = {"=": value, "+=": symbol + value, "-=": symbol - value}[op]
    return index, inline(value)


def defaults_of(constants: dict, stored: dict) -> dict:
    """Each constant's default value in its stored unit (name -> float)."""
    return {k: float(v / si_factor(stored[k])) for k, (v, _) in constants.items()}


def _detection_threshold(condition, states, defaults, text) -> float:
    """The potential (mV) at which `condition` (stored units, > 0 past threshold) turns
    true: it must be `V - c` (or `c - V` with <) for the membrane potential V and a `c`
    made of constants."""
    voltage = [e for e in states if (1.0 * e.unit).dimensionality
               == (1.0 * registry().mV).dimensionality]
    symbol = _symbol(voltage[0].name) if voltage else None
    slope = sympy.diff(condition, symbol) if symbol is not None else 0
    others = {s.name for s in condition.free_symbols} - {symbol.name if symbol else ""}
    if slope != 1 or others & {e.name for e in states} or "t" in others:
        raise ValueError(f"threshold {text!r} without a reset must compare the membrane "
                         "potential with a constant (e.g. 'v > -20*mV'); give a reset to use "
                         "any other condition")
    return float(-condition.xreplace({symbol: sympy.S.Zero}).xreplace(
        {_symbol(k): v for k, v in defaults.items()}))


def _refractory(refractory, threshold) -> float | None:
    """The refractory period in ms (None for none)."""
    if refractory is None:
        return None
    if threshold is None:
        raise ValueError("refractory needs a threshold (it starts at a spike)")
    if isinstance(refractory, str) and is_comparison(refractory):
        raise ValueError(f"refractory: a condition ({refractory!r}) is not supported; give a "
                         "time such as '2*ms'")
    if isinstance(refractory, bool) or not isinstance(refractory, int | float | str):
        raise ValueError(f"refractory must be a time ('2*ms', or a number in ms); got "
                         f"{refractory!r}")
    if isinstance(refractory, str):
        si, unit = quantity_value(refractory, "refractory", argument="refractory")
        if not _same(unit, registry().second):
            raise ValueError(f"refractory must be a time such as '2*ms'; {refractory!r} is in "
                             f"{unit_text(unit)}")
        value = float(si * 1000)
    else:
        value = float(refractory)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"refractory must be a finite time >= 0; got {refractory!r}")
    return value


def _is_positive_kind(unit) -> bool:
    """Times and capacitances must be > 0."""
    ureg = registry()
    dims = (1.0 * unit).dimensionality
    return dims in ((1.0 * ureg.ms).dimensionality, (1.0 * ureg.pF).dimensionality,
                    (1.0 * ureg.uF / ureg.cm**2).dimensionality)


def _check_names(parameters, constants, state_index, subs, input) -> None:
    taken = reserved_names() | {"t"}
    for name in [*parameters, *state_index, *subs, *([input] if input else [])]:
        if name in taken:
            raise ValueError(f"equations: the name {name!r} clashes with a model attribute or "
                             "with t; rename it")
    for field in parameters:
        if field.endswith("_init") and field in constants:
            raise ValueError(f"equations: the parameter {field!r} clashes with the start value "
                             f"of state {field[:-5]!r}; rename it")


def _check_used(namespace, constants, derivatives, condition, resets, used) -> None:
    for key in namespace:
        if key not in used:
            raise ValueError(f"namespace[{key!r}] is not used by the equations, threshold or "
                             "reset (a misspelt name?)")


def _gated_split(states, derivatives, is_voltage):
    """`(rates, targets)` when every dx/dt = rate (target - x) with rate and target free of
    x (and a membrane potential among the states), else None."""
    if not any(is_voltage):
        return None
    order = sorted(range(len(states)), key=lambda i: not is_voltage[i])
    if order != list(range(len(states))):
        return None  # the staggered solvers need the potentials first
    rates, targets = [], []
    for e, f in zip(states, derivatives, strict=True):
        x = _symbol(e.name)
        slope = sympy.diff(f, x)
        if slope == 0 or x in slope.free_symbols or slope.has(sympy.Derivative):
            return None
        rate = _expand(-slope)
        targets.append(_expand(f.xreplace({x: sympy.S.Zero})) / rate)
        rates.append(rate)
    return tuple(rates), tuple(targets)


def _expand(expr):
    """Products multiplied out (signs and factors gathered), exponentials left alone."""
    return sympy.expand(expr, power_exp=False, power_base=False, log=False, multinomial=False)


def _docstring(name, equations, threshold, reset, refractory, units, stored, states) -> str:
    lines = [f"{name}: imported from Brian2 equations (jaxneuron.from_brian2).", "",
             "Equations:", *("    " + line.strip() for line in equations.strip().splitlines())]
    for label, value in (("Threshold", threshold), ("Reset", reset),
                         ("Refractory", refractory)):
        if value is not None:
            lines.append(f"{label}: {value}")
    lines += ["", "States (units): " + ", ".join(
        f"{e.name} ({unit_text(stored[e.name])})" for e in states),
        "Parameters (units): " + ", ".join(f"{k} ({u})" for k, u in units.items())]
    return "\n".join(lines)
