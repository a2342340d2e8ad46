"""NeuroML2 cells and LEMS runs -> Brian2 equation text -> jaxneuron models.

A cell is translated into an `EquationSource` (Brian2 equations with its namespace, initial
values, threshold, reset and refractory period) whose equations are exactly those of the
cell's ComponentType in NeuroML2CoreTypes (the LEMS definitions that jNeuroML runs), and
`jn.from_brian2` builds the model from it. Files are read with libNeuroML (a `.nml` file
is checked to be NeuroML2) and pylems (the component tree, for `.nml` and LEMS files
alike); no text from a file is ever evaluated: values are read as numbers with units, and
the expressions of a custom rate ComponentType are parsed by Python's parser into an
allowed set of operations.

Supported: `iafTauCell`, `iafTauRefCell`, `iafCell`, `iafRefCell`, `izhikevichCell`,
`izhikevich2007Cell`, `adExIaFCell`, `fitzHughNagumoCell`, `pointCellCondBased`, and
`cell` with one segment, `specificCapacitance`, `channelDensity`/`channelPopulation` of
`ionChannel`/`ionChannelHH`/`ionChannelPassive` with `gateHHrates`, `gateHHratesInf`,
`gateHHratesTau`, `gateHHtauInf` or `gateHHInstantaneous` gates (`HHExpRate`,
`HHSigmoidRate`, `HHExpLinearRate`, `HHSigmoidVariable`, `HHExpVariable`,
`HHExpLinearVariable`, `fixedTimeCourse`, or a custom rate, steady-state or time-course
ComponentType with derived variables only), `q10Fixed`/`q10ExpTemp`. Inputs:
`pulseGenerator`, `sineGenerator`, `rampGenerator` (and their dimensionless `...DL` forms),
`compoundInput`.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import io
import math
import re
from pathlib import Path

import numpy as np

from .source import EquationSource

# --- reading ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Node:
    """One element of a NeuroML/LEMS file: its type (tag or `type=`), id, attributes and
    child elements."""

    type: str
    id: str
    attrs: dict
    children: list

    def kids(self, *types):
        return [c for c in self.children if not types or c.type in types]


@dataclasses.dataclass
class _Document:
    path: Path
    nodes: list
    component_types: dict  # name -> pylems ComponentType (custom types included)

    def by_id(self, ident):
        for node in self.nodes:
            if node.id == ident:
                return node
        return None


def _node(component) -> _Node:
    return _Node(type=str(component.type), id=str(component.id),
                 attrs={str(k): str(v) for k, v in component.parameters.items()},
                 children=[_node(c) for c in component.children])


def _read(path) -> _Document:
    """The component tree of a NeuroML2 (`.nml`) or LEMS file; `ValueError` naming `path`
    when it is missing or not such a file."""
    if not isinstance(path, str | Path):
        raise ValueError(f"path must be a file path (str or Path); got {path!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no such file: {str(path)!r}")
    if path.suffix.lower() == ".nml":
        from neuroml import loaders

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                loaders.read_neuroml2_file(str(path), include_includes=False)
        except Exception as error:  # noqa: BLE001 - libNeuroML raises many types
            raise ValueError(f"path: {str(path)!r} is not a NeuroML2 file "
                             f"({type(error).__name__}: {error})") from error
    import lems.api as lems

    model = lems.Model(include_includes=True, fail_on_missing_includes=False)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pylems prints each include
            model.import_from_file(str(path))
    except Exception as error:  # noqa: BLE001 - pylems raises many types
        raise ValueError(f"path: {str(path)!r} is not a NeuroML2 or LEMS file "
                         f"({type(error).__name__}: {error})") from error
    return _Document(path=path, nodes=[_node(c) for c in model.components],
                     component_types={ct.name: ct for ct in model.component_types})


# --- quantities ------------------------------------------------------------------------

_DIMENSIONS = {
    # NeuroML dimension: (pint unit the value is stored in, Brian2 spelling of that unit)
    "voltage": ("mV", "mV"),
    "time": ("ms", "ms"),
    "conductance": ("nS", "nS"),
    "current": ("pA", "pA"),
    "capacitance": ("pF", "pF"),
    "conductanceDensity": ("mS/cm**2", "msiemens/cm**2"),
    "specificCapacitance": ("uF/cm**2", "uF/cm**2"),
    "per_time": ("1/ms", "1/ms"),
    "length": ("um", "um"),
    "area": ("um**2", "um**2"),
    "conductance_per_voltage": ("nS/mV", "nS/mV"),
    "none": ("dimensionless", ""),
}

_BRIAN_UNITS = {  # the unit of a subexpression or state of a dimension, in Brian2's words
    "voltage": "volt", "time": "second", "conductance": "siemens", "current": "amp",
    "per_time": "hertz", "none": "1", "conductanceDensity": "siemens/metre**2",
    "currentDensity": "amp/metre**2",
}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def _pint_unit(symbol: str) -> str:
    """A NeuroML unit symbol (`mS_per_cm2`, `per_ms`, `kohm_cm`) in pint's syntax."""
    def part(text):
        return "*".join(re.sub(r"^([A-Za-z]+)([23])$", r"\1**\2", token)
                        for token in text.split("_") if token) or "1"
    if symbol.startswith("per_"):
        symbol = "1_per_" + symbol[4:]
    pieces = symbol.split("_per_")
    text = part(pieces[0])
    for piece in pieces[1:]:
        text += f"/({part(piece)})"
    return text


def _temperature_K(text: str, where: str) -> float:
    match = _NUMBER.match(str(text))
    if not match or match.group(2) not in ("degC", "K"):
        raise ValueError(f"{where}: a temperature must be a number with unit degC or K; got "
                         f"{text!r}")
    value = float(match.group(1))
    return value + 273.15 if match.group(2) == "degC" else value


def _value(text, dimension: str, where: str) -> float:
    """The number in `text` (`"-65mV"`, `"3.0 S_per_m2"`) in the stored unit of
    `dimension`; `ValueError` naming `where` for a bad number or unit."""
    from ..units import registry

    match = _NUMBER.match(str(text))
    if match is None:
        raise ValueError(f"{where}: expected a number with a unit, got {text!r}")
    number, symbol = float(match.group(1)), match.group(2)
    target = _DIMENSIONS[dimension][0]
    if not math.isfinite(number):
        raise ValueError(f"{where} must be finite; got {text!r}")
    if not symbol:
        if dimension != "none":
            raise ValueError(f"{where}: missing unit in {text!r} (expected a {dimension}, "
                             f"e.g. in {target})")
        return number
    ureg = registry()
    try:
        quantity = number * ureg.parse_expression(_pint_unit(symbol))
        # 15 significant digits: the unit factor's rounding (0.08 nA -> 80.00000000000001
        # pA) is not part of the file's value
        return float(f"{float(quantity.to(target).magnitude):.15g}")
    except Exception as error:  # noqa: BLE001 - pint raises many types for bad units
        raise ValueError(f"{where}: {text!r} is not a {dimension} (in {target}): "
                         f"{error}") from error


def _quantity(value: float, dimension: str) -> str | float:
    """`value` (in the stored unit of `dimension`) as a Brian2 quantity string."""
    unit = _DIMENSIONS[dimension][1]
    if not unit:
        return float(value)
    if unit.startswith("1/"):
        return f"{value!r}/{unit[2:]}"
    return f"{value!r}*{unit}"


class _Cell:
    """What the translation of one cell collects."""

    def __init__(self, node: _Node, doc: _Document):
        self.node, self.doc = node, doc
        self.lines: list[str] = []
        self.namespace: dict = {}
        self.values: dict = {}  # name -> float in stored units, for start values
        self.initial: dict = {}
        self.problems: list[str] = []

    def param(self, name: str, node: _Node, attr: str, dimension: str, default=None, *,
              declare: bool = True):
        """Declare namespace entry `name` from `node`'s attribute `attr` (only read its
        value with `declare=False`)."""
        text = node.attrs.get(attr, default)
        where = f"{node.type} {node.id!r} attribute {attr!r}"
        if text is None:
            self.problems.append(f"{where} is missing")
            value = 0.0
        else:
            try:
                value = _value(text, dimension, where)
            except ValueError as error:
                self.problems.append(str(error))
                value = 0.0
        if declare:
            self.namespace[name] = _quantity(value, dimension)
            self.values[name] = value
        return value

    def unsupported(self, node: _Node, why: str = ""):
        self.problems.append(f"<{node.type} id={node.id!r}>" + (f" ({why})" if why else ""))


# --- abstract cells --------------------------------------------------------------------

_IGNORED = ("notes", "annotation", "property")  # no effect on the dynamics


def _children_ok(cell: _Cell, node: _Node, allowed=()):
    for child in node.children:
        if child.type not in allowed and child.type not in _IGNORED:
            cell.unsupported(child, f"inside {node.type} {node.id!r}")


def _iaf(cell: _Cell, kind: str) -> dict:
    node = cell.node
    _children_ok(cell, node)
    cell.param("thresh", node, "thresh", "voltage")
    cell.param("vreset", node, "reset", "voltage")  # `reset` is a model method
    rest = cell.param("leakReversal", node, "leakReversal", "voltage")
    refractory = kind.endswith("Ref")
    period = _refractory(cell, node) if refractory else None
    flag = " (unless refractory)" if refractory else ""
    if kind.startswith("iafTau"):
        cell.param("tau", node, "tau", "time")
        cell.lines += [f"dv/dt = (leakReversal - v)/tau : volt{flag}",
                       "I : amp  # no input: NeuroML's iafTauCell takes none"]
    else:
        cell.param("leakConductance", node, "leakConductance", "conductance")
        cell.param("C", node, "C", "capacitance")
        cell.lines += [f"dv/dt = (leakConductance*(leakReversal - v) + I)/C : volt{flag}",
                       "I : amp"]
    cell.initial["v"] = _quantity(rest, "voltage")
    return {"threshold": "v > thresh", "reset": "v = vreset", "refractory": period}


def _refractory(cell: _Cell, node: _Node) -> str:
    """The refractory period `refract` as a quantity string (the model's `refractory`
    parameter)."""
    where = f"{node.type} {node.id!r} attribute 'refract'"
    try:
        return _quantity(_value(node.attrs.get("refract"), "time", where), "time")
    except ValueError as error:
        cell.problems.append(str(error))
        return "0*ms"


def _izhikevich(cell: _Cell) -> dict:
    node = cell.node
    _children_ok(cell, node)
    v0 = cell.param("v0", node, "v0", "voltage", declare=False)
    cell.param("thresh", node, "thresh", "voltage")
    b = 0.0
    for name in "abcd":
        value = cell.param(name, node, name, "none")
        b = value if name == "b" else b
    cell.lines += ["dv/dt = (0.04*v**2/mV + 5*v + (140 - U + I)*mV)/ms : volt",
                   "dU/dt = a*(b*v/mV - U)/ms : 1",
                   "I : 1  # dimensionless, as NeuroML's izhikevichCell"]
    cell.initial.update(v=_quantity(v0, "voltage"), U=v0 * b)
    return {"threshold": "v > thresh", "reset": "v = c*mV\nU += d"}


def _izhikevich2007(cell: _Cell) -> dict:
    node = cell.node
    _children_ok(cell, node)
    v0 = cell.param("v0", node, "v0", "voltage", declare=False)
    for name, dimension in (("C", "capacitance"), ("k", "conductance_per_voltage"),
                            ("vr", "voltage"), ("vt", "voltage"), ("vpeak", "voltage"),
                            ("a", "per_time"), ("b", "conductance"), ("c", "voltage"),
                            ("d", "current")):
        cell.param(name, node, name, dimension)
    cell.lines += ["dv/dt = (k*(v - vr)*(v - vt) + I - u)/C : volt",
                   "du/dt = a*(b*(v - vr) - u) : amp",
                   "I : amp"]
    cell.initial.update(v=_quantity(v0, "voltage"), u=_quantity(0.0, "current"))
    return {"threshold": "v > vpeak", "reset": "v = c\nu += d"}


def _adex(cell: _Cell) -> dict:
    node = cell.node
    _children_ok(cell, node)
    rest = 0.0
    for name, dimension in (("C", "capacitance"), ("gL", "conductance"), ("EL", "voltage"),
                            ("reset", "voltage"), ("VT", "voltage"), ("thresh", "voltage"),
                            ("delT", "voltage"), ("tauw", "time"), ("a", "conductance"),
                            ("b", "current")):
        value = cell.param("vreset" if name == "reset" else name, node, name, dimension)
        rest = value if name == "EL" else rest
    cell.lines += ["dv/dt = (-gL*(v - EL) + gL*delT*exp((v - VT)/delT) - w + I)/C : volt "
                   "(unless refractory)",
                   "dw/dt = (a*(v - EL) - w)/tauw : amp",
                   "I : amp"]
    cell.initial.update(v=_quantity(rest, "voltage"), w=_quantity(0.0, "current"))
    return {"threshold": "v > thresh", "reset": "v = vreset\nw += b",
            "refractory": _refractory(cell, node)}


def _fitzhugh_nagumo(cell: _Cell) -> dict:
    node = cell.node
    _children_ok(cell, node)
    cell.param("I", node, "I", "none")
    cell.lines += ["dV/dt = (V - V**3/3 - W + I + I_ext)/second : 1",
                   "dW/dt = 0.08*(V + 0.7 - 0.8*W)/second : 1",
                   "I_ext : 1  # an added input (NeuroML's cell takes none)"]
    return {"input": "I_ext"}


# --- conductance-based cells -----------------------------------------------------------

_RATES = {
    # type: (Brian2 text of r (1/ms) or x (1); its value at v (mV) from rate, midpoint, scale)
    "HHExpRate": ("{rate}*exp((v - {midpoint})/{scale})",
                  lambda v, r, m, s: r * math.exp((v - m) / s)),
    "HHSigmoidRate": ("{rate}/(1 + exp(-(v - {midpoint})/{scale}))",
                      lambda v, r, m, s: r / (1 + math.exp(-(v - m) / s))),
    "HHExpLinearRate": ("{rate}/exprel(-(v - {midpoint})/{scale})",
                        lambda v, r, m, s: r if v == m else
                        r * ((v - m) / s) / (1 - math.exp(-(v - m) / s))),
}
_VARIABLES = {name.replace("Rate", "Variable"): rate for name, rate in _RATES.items()}
_KINDS = {
    # kind: (built-in types, the bases of custom types, exposure, its dimension, Brian2 unit)
    "rate": (_RATES, ("baseVoltageDepRate", "baseHHRate"), "r", "per_time", "hertz"),
    "variable": (_VARIABLES, ("baseVoltageDepVariable", "baseHHVariable"), "x", "none", "1"),
    "time": ({}, ("baseVoltageDepTime",), "t", "time", "second"),
}
_LEMS_FUNCTIONS = {"exp": "exp", "ln": "log", "log": "log10", "sqrt": "sqrt", "sin": "sin",
                   "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
                   "abs": "abs"}


def _lems_expression(text: str, names: dict, where: str) -> tuple[str, object]:
    """A LEMS expression (`^` is a power) as Brian2 text with its names renamed by
    `names`, and a function of a name -> float mapping that computes it. Only numbers,
    names, + - * / ^, unary minus and the functions of `_LEMS_FUNCTIONS`; anything else is
    a `ValueError` naming `where`."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"{where}: cannot parse {text!r} ({error.msg})") from error
    binary = {ast.Add: ("+", lambda a, b: a + b), ast.Sub: ("-", lambda a, b: a - b),
              ast.Mult: ("*", lambda a, b: a * b), ast.Div: ("/", lambda a, b: a / b),
              ast.BitXor: ("**", lambda a, b: a**b), ast.Pow: ("**", lambda a, b: a**b)}
    functions = {"exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt,
                 "sin": math.sin, "cos": math.cos, "tan": math.tan, "sinh": math.sinh,
                 "cosh": math.cosh, "tanh": math.tanh, "abs": abs}

    def walk(node):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return repr(node.value), lambda env: float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ValueError(f"{where}: unknown name {node.id!r} in {text!r}")
            new = names[node.id]
            return new, lambda env: env[new]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner, f = walk(node.operand)
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return f"({'-' if sign < 0 else '+'}{inner})", lambda env: sign * f(env)
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            (left, f), (right, g) = walk(node.left), walk(node.right)
            op, fn = binary[type(node.op)]
            return f"({left} {op} {right})", lambda env: fn(f(env), g(env))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _LEMS_FUNCTIONS and len(node.args) == 1
                and not node.keywords):
            name = _LEMS_FUNCTIONS[node.func.id]
            inner, f = walk(node.args[0])
            return f"{name}({inner})", lambda env: functions[name](f(env))
        raise ValueError(f"{where}: {ast.unparse(node)!r} is not supported in {text!r} "
                         "(numbers, names, + - * / ^ and exp, ln, log, sqrt, sin, cos, tan, "
                         "sinh, cosh, tanh, abs)")

    return walk(tree.body)


def _rate(cell: _Cell, node: _Node, prefix: str, kind: str):
    """Brian2 text of a rate (1/ms), a steady state (1) or a time course (ms) (`kind`:
    "rate", "variable", "time") and its value at v (mV)."""
    table = _KINDS[kind][0]
    if node.type in table:
        text, fn = table[node.type]
        _children_ok(cell, node)
        values = []
        for attr, dimension in (("rate", "none" if kind == "variable" else "per_time"),
                                ("midpoint", "voltage"), ("scale", "voltage")):
            values.append(cell.param(f"{prefix}_{attr}", node, attr, dimension))
        names = {attr: f"{prefix}_{attr}" for attr in ("rate", "midpoint", "scale")}
        return text.format(**names), lambda v: fn(v, *values)
    if kind == "time" and node.type == "fixedTimeCourse":
        _children_ok(cell, node)
        tau = cell.param(f"{prefix}_tau", node, "tau", "time")
        return f"{prefix}_tau", lambda v: tau
    return _custom_rate(cell, node, prefix, kind)


def _custom_rate(cell: _Cell, node: _Node, prefix: str, kind: str):
    """A rate, steady state or time course of a ComponentType defined in the file, with
    derived variables only."""
    ctype = cell.doc.component_types.get(node.type)
    _, bases, exposure, exposed_dimension, _ = _KINDS[kind]
    if ctype is None or ctype.extends not in bases:
        what = {"rate": "a rate", "variable": "a steady state", "time": "a time course"}[kind]
        cell.unsupported(node, f"{what} of an unsupported type")
        return "0", lambda v: 0.0
    dynamics = ctype.dynamics
    if (len(dynamics.state_variables) or len(dynamics.time_derivatives)
            or len(dynamics.conditional_derived_variables) or len(dynamics.regimes)
            or len(dynamics.event_handlers) or exposure not in dynamics.derived_variables):
        cell.unsupported(node, f"ComponentType {node.type!r}: only derived variables "
                         f"(with the exposure {exposure!r}) are supported")
        return "0", lambda v: 0.0
    names = {"v": "v"}
    for constant in ctype.constants:
        name = f"{prefix}_{constant.name}"
        cell.param(name, _Node(node.type, node.id, {constant.name: constant.value}, []),
                   constant.name, constant.dimension or "none")
        names[constant.name] = name
    for parameter in ctype.parameters:
        name = f"{prefix}_{parameter.name}"
        cell.param(name, node, parameter.name, parameter.dimension or "none")
        names[parameter.name] = name
    functions = []
    for derived in dynamics.derived_variables:
        if derived.value is None or derived.select is not None:
            cell.unsupported(node, f"ComponentType {node.type!r}: derived variable "
                             f"{derived.name!r} has no value expression")
            return "0", lambda v: 0.0
        name = f"{prefix}_{derived.name}"
        dimension = derived.dimension or (
            exposed_dimension if derived.name == exposure else "none")
        unit = _BRIAN_UNITS.get(dimension)
        try:
            text, fn = _lems_expression(derived.value, names,
                                        f"ComponentType {node.type!r} {derived.name!r}")
        except ValueError as error:
            cell.problems.append(str(error))
            return "0", lambda v: 0.0
        if unit is None:
            cell.unsupported(node, f"dimension {dimension!r} of {derived.name!r}")
            return "0", lambda v: 0.0
        cell.lines.append(f"{name} = {text} : {unit}")
        names[derived.name] = name
        functions.append((name, fn))

    def value(v):
        env = {"v": v, **cell.values}
        for name, fn in functions:
            env[name] = fn(env)
        return env[names[exposure]]

    return names[exposure], value


def _gate(cell: _Cell, gate: _Node, prefix: str, temperature_K: float | None, v0: float):
    """Declare gate `gate` as state `prefix`; its fraction open is `prefix**instances`."""
    allowed = {"gateHHrates": ("forwardRate", "reverseRate"),
               "gateHHratesInf": ("forwardRate", "reverseRate", "steadyState"),
               "gateHHratesTau": ("forwardRate", "reverseRate", "timeCourse"),
               "gateHHtauInf": ("timeCourse", "steadyState"),
               "gateHHInstantaneous": ("steadyState",)}
    if gate.type not in allowed:
        cell.unsupported(gate, f"gates of HH form only: {', '.join(allowed)}")
        return None
    roles = {}
    scale = 1.0
    for child in gate.children:
        if child.type in _IGNORED:
            continue
        if child.type == "q10Fixed":
            _children_ok(cell, child)
            scale *= _value(child.attrs.get("fixedQ10", "nan"), "none",
                            f"q10Fixed of gate {gate.id!r} fixedQ10")
        elif child.type == "q10ExpTemp":
            _children_ok(cell, child)
            if temperature_K is None:
                cell.problems.append(f"q10ExpTemp of gate {gate.id!r} needs the network "
                                     "temperature (networkWithTemperature), and none is given")
                continue
            factor = _value(child.attrs.get("q10Factor", "nan"), "none",
                            f"q10ExpTemp of gate {gate.id!r} q10Factor")
            experimental = _temperature_K(child.attrs.get("experimentalTemp"),
                                          f"q10ExpTemp of gate {gate.id!r} experimentalTemp")
            scale *= factor ** ((temperature_K - experimental) / 10.0)
        elif child.id in allowed[gate.type] and child.id not in roles:
            roles[child.id] = child
        else:
            cell.unsupported(child, f"inside {gate.type} {gate.id!r}")
    missing = [role for role in allowed[gate.type] if role not in roles]
    if missing:
        cell.problems.append(f"{gate.type} {gate.id!r} lacks {', '.join(missing)}")
        return None
    instances = gate.attrs.get("instances", "1")
    if not re.fullmatch(r"\s*\d+\s*", instances):
        cell.problems.append(f"{gate.type} {gate.id!r}: instances must be a whole number; "
                             f"got {instances!r}")
        return None
    roles_of = allowed[gate.type]
    if "forwardRate" in roles_of:
        alpha, alpha_v = _rate(cell, roles["forwardRate"], f"{prefix}_alpha", "rate")
        beta, beta_v = _rate(cell, roles["reverseRate"], f"{prefix}_beta", "rate")
        cell.lines += [f"alpha_{prefix} = {alpha} : hertz", f"beta_{prefix} = {beta} : hertz"]
    if "steadyState" in roles_of:
        inf, inf_v = _rate(cell, roles["steadyState"], f"{prefix}_inf", "variable")
        cell.lines.append(f"inf_{prefix} = {inf} : 1")
    else:
        cell.lines.append(f"inf_{prefix} = alpha_{prefix}/(alpha_{prefix} + beta_{prefix}) : 1")

        def inf_v(v):
            a, b = alpha_v(v), beta_v(v)
            return a / (a + b)
    if gate.type == "gateHHInstantaneous":  # q = inf at once: no state
        cell.lines.append(f"{prefix} = inf_{prefix} : 1")
        power = int(instances)
        return prefix if power == 1 else f"{prefix}**{power}"
    cell.namespace[f"{prefix}_q10"] = scale
    cell.values[f"{prefix}_q10"] = scale
    if "timeCourse" in roles_of:
        tau, _ = _rate(cell, roles["timeCourse"], f"{prefix}_tau", "time")
        cell.lines.append(f"tau_{prefix} = ({tau})/{prefix}_q10 : second")
    else:
        cell.lines.append(
            f"tau_{prefix} = 1/((alpha_{prefix} + beta_{prefix})*{prefix}_q10) : second")
    cell.lines.append(f"d{prefix}/dt = (inf_{prefix} - {prefix})/tau_{prefix} : 1")
    try:
        cell.initial[prefix] = float(inf_v(v0))
    except (ArithmeticError, ValueError, KeyError) as error:
        cell.problems.append(f"gate {gate.id!r}: its steady state at the start potential "
                             f"cannot be computed ({error})")
    power = int(instances)
    return prefix if power == 1 else f"{prefix}**{power}"


def _channel(cell: _Cell, density: _Node, name: str, temperature_K, v0):
    """The open fraction (Brian2 text) of the ion channel that `density` refers to."""
    ident = density.attrs.get("ionChannel")
    channel = cell.doc.by_id(ident) if ident else None
    if channel is None:
        cell.problems.append(f"{density.type} {density.id!r}: ion channel {ident!r} not found")
        return "1"
    if channel.type not in ("ionChannel", "ionChannelHH", "ionChannelPassive"):
        cell.unsupported(channel, "ion channels of HH form only")
        return "1"
    factors = []
    for gate in channel.children:
        if gate.type in _IGNORED:
            continue
        factor = _gate(cell, gate, f"{name}_{gate.id}", temperature_K, v0)
        if factor is not None:
            factors.append(factor)
    if channel.type == "ionChannelPassive" and factors:
        cell.unsupported(channel, "a passive channel with gates")
    return "*".join(factors) or "1"


def _segment_area_um2(cell: _Cell, segment: _Node) -> float:
    """A segment's surface area (um²) as NeuroML2CoreTypes computes it: a sphere of the
    distal diameter when proximal and distal coincide, else the side of a cylinder of the
    distal radius."""
    points = {}
    for child in segment.children:
        if child.type in ("proximal", "distal"):
            try:
                points[child.type] = [_value(child.attrs.get(k, "nan"), "none",
                                             f"segment {segment.id!r} {child.type} {k}")
                                      for k in ("x", "y", "z", "diameter")]
            except ValueError as error:
                cell.problems.append(str(error))
                return 0.0
        elif child.type not in _IGNORED:
            cell.unsupported(child, f"inside segment {segment.id!r}")
    if "distal" not in points:
        cell.problems.append(f"segment {segment.id!r} has no distal point")
        return 0.0
    distal = points["distal"]
    proximal = points.get("proximal", [0.0, 0.0, 0.0, distal[3]])
    radius = distal[3] / 2
    length = math.dist(distal[:3], proximal[:3])
    if length == 0:
        return 4 * math.pi * radius**2
    return 2 * math.pi * radius * length


def _lookup(cell: _Cell, node: _Node, child_type: str) -> list:
    """The children of `node` of type `child_type`, or the element that `node`'s attribute
    of that name refers to."""
    found = node.kids(child_type)
    ident = node.attrs.get(child_type)
    if ident is not None:
        ref = cell.doc.by_id(ident)
        if ref is None:
            cell.problems.append(f"{node.type} {node.id!r}: {child_type} {ident!r} not found")
        else:
            found.append(ref)
    return found


def _conductance_cell(cell: _Cell, temperature_K) -> dict:
    """`cell` (one segment) or `pointCellCondBased`."""
    node = cell.node
    if node.type == "pointCellCondBased":
        _children_ok(cell, node, ("channelPopulation",))
        v0 = cell.param("v0", node, "v0", "voltage", declare=False)
        thresh = cell.param("thresh", node, "thresh", "voltage", declare=False)
        cell.param("C", node, "C", "capacitance")
        populations, densities, capacitance = node.kids("channelPopulation"), [], "C"
    else:
        _children_ok(cell, node, ("morphology", "biophysicalProperties"))
        morphologies = _lookup(cell, node, "morphology")
        biophysics = _lookup(cell, node, "biophysicalProperties")
        segments = [s for m in morphologies for s in m.kids("segment")]
        for morphology in morphologies:
            _children_ok(cell, morphology, ("segment", "segmentGroup"))
        if len(segments) != 1:
            cell.problems.append(f"a morphology of {len(segments)} segments (only "
                                 "single-compartment cells, one segment, are supported)")
        area = _segment_area_um2(cell, segments[0]) if len(segments) == 1 else 0.0
        cell.namespace["area"] = _quantity(area, "area")
        membranes = []
        for bio in biophysics:
            _children_ok(cell, bio, ("membraneProperties", "intracellularProperties"))
            membranes += bio.kids("membraneProperties")
            for intra in bio.kids("intracellularProperties"):
                _children_ok(cell, intra, ("resistivity",))
        if len(membranes) != 1:
            cell.problems.append(f"{len(membranes)} membraneProperties (need one)")
        membrane = membranes[0] if membranes else _Node("membraneProperties", "", {}, [])
        _children_ok(cell, membrane, ("channelDensity", "channelPopulation", "spikeThresh",
                                      "specificCapacitance", "initMembPotential"))
        v0 = thresh = 0.0  # as jNeuroML, where an element is absent
        caps = membrane.kids("specificCapacitance")
        for element in membrane.kids("initMembPotential"):
            v0 = _value(element.attrs.get("value"), "voltage", "initMembPotential value")
        for element in membrane.kids("spikeThresh"):
            thresh = _value(element.attrs.get("value"), "voltage", "spikeThresh value")
        total = 0.0
        for element in caps:
            total += _value(element.attrs.get("value"), "specificCapacitance",
                            "specificCapacitance value")
        if not caps:
            cell.problems.append("no specificCapacitance")
        cell.namespace["specific_capacitance"] = _quantity(total, "specificCapacitance")
        populations = membrane.kids("channelPopulation")
        densities = membrane.kids("channelDensity")
        capacitance = "(specific_capacitance*area)"
    currents = []
    for density in densities:
        name = _identifier(density.id)
        _children_ok(cell, density)
        cell.param(f"g_{name}", density, "condDensity", "conductanceDensity")
        cell.param(f"erev_{name}", density, "erev", "voltage")
        fopen = _channel(cell, density, name, temperature_K, v0)
        gates = "" if fopen == "1" else f"*{fopen}"
        cell.lines.append(f"i_{name} = g_{name}{gates}*(erev_{name} - v) : amp/metre**2")
        currents.append(f"area*i_{name}")
    for population in populations:
        name = _identifier(population.id)
        _children_ok(cell, population)
        channel = cell.doc.by_id(population.attrs.get("ionChannel", ""))
        cell.param(f"erev_{name}", population, "erev", "voltage")
        number = cell.param(f"number_{name}", population, "number", "none")
        if channel is not None:
            cell.param(f"gchannel_{name}", channel, "conductance", "conductance")
        fopen = _channel(cell, population, name, temperature_K, v0)
        gates = "" if fopen == "1" else f"*{fopen}"
        cell.lines.append(f"i_{name} = number_{name}*gchannel_{name}{gates}*(erev_{name} - v)"
                          " : amp")
        currents.append(f"i_{name}")
        if number != int(number) or number < 0:
            cell.problems.append(f"channelPopulation {population.id!r}: number must be a "
                                 "whole number >= 0")
    total = " + ".join(currents) or "0*amp"
    cell.lines[:0] = [f"dv/dt = ({total} + I)/{capacitance} : volt", "I : amp"]
    cell.initial["v"] = _quantity(v0, "voltage")
    # A threshold without reset: the cell does not reset, so it is a smooth model whose
    # spikes are upward crossings of `thresh` (its `spike_threshold`, simulate's default).
    return {"spike_threshold": thresh, "threshold": f"v > {_quantity(thresh, 'voltage')}"}


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    return name if name and not name[0].isdigit() else f"c_{name}"


_ABSTRACT = {
    "iafTauCell": lambda c, t: _iaf(c, "iafTau"),
    "iafTauRefCell": lambda c, t: _iaf(c, "iafTauRef"),
    "iafCell": lambda c, t: _iaf(c, "iaf"),
    "iafRefCell": lambda c, t: _iaf(c, "iafRef"),
    "izhikevichCell": lambda c, t: _izhikevich(c),
    "izhikevich2007Cell": lambda c, t: _izhikevich2007(c),
    "adExIaFCell": lambda c, t: _adex(c),
    "fitzHughNagumoCell": lambda c, t: _fitzhugh_nagumo(c),
    "cell": _conductance_cell,
    "pointCellCondBased": _conductance_cell,
}
SUPPORTED_CELLS = tuple(_ABSTRACT)
"""The NeuroML2 cell types that `neuroml_source` translates."""

_NO_INPUT = ("iafTauCell", "iafTauRefCell", "fitzHughNagumoCell")
_OTHER_CELLS = ("cell2CaPools", "baseCell", "hindmarshRose1984Cell", "pinskyRinzelCA3Cell",
                "IF_curr_alpha", "IF_curr_exp", "IF_cond_alpha", "IF_cond_exp",
                "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista", "HH_cond_exp",
                "iafCell2", "pointCellCondBased2")


def _is_cell(node: _Node) -> bool:
    return node.type in _ABSTRACT or node.type in _OTHER_CELLS or node.type.endswith("Cell")


def _translate(node: _Node, doc: _Document, temperature_K: float | None) -> EquationSource:
    return _translate_cell(node, doc, temperature_K)[0]


def _translate_cell(node: _Node, doc: _Document, temperature_K: float | None):
    """`(EquationSource, spike threshold in mV or None)` of a cell."""
    cell = _Cell(node, doc)
    if node.type not in _ABSTRACT:
        raise ValueError(f"cell {node.id!r} in {str(doc.path)!r}: unsupported NeuroML "
                         f"elements: <{node.type} id={node.id!r}> (supported cell types: "
                         f"{', '.join(SUPPORTED_CELLS)})")
    options = _ABSTRACT[node.type](cell, temperature_K)
    if cell.problems:
        raise ValueError(f"cell {node.id!r} in {str(doc.path)!r}: unsupported NeuroML "
                         f"elements: {'; '.join(dict.fromkeys(cell.problems))}")
    source = EquationSource(
        equations="\n".join(cell.lines), threshold=options.get("threshold"),
        reset=options.get("reset"), refractory=options.get("refractory"),
        namespace=dict(cell.namespace), initial=dict(cell.initial),
        input=options.get("input", "I"), name=_class_name(node.id))
    threshold = options.get("spike_threshold", cell.values.get("thresh", cell.values.get(
        "vpeak")))
    return source, threshold


def _class_name(ident: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"\W|_", ident) if part)
    return name if name and not name[0].isdigit() else f"Cell{name}"


def _network_temperature(network: _Node) -> float | None:
    text = network.attrs.get("temperature")
    return None if text is None else _temperature_K(text, f"network {network.id!r} temperature")


def _pick_cell(doc: _Document, cell) -> _Node:
    cells = [node for node in doc.nodes if _is_cell(node)]
    ids = [node.id for node in cells]
    if cell is None:
        if not cells:
            raise ValueError(f"path: {str(doc.path)!r} defines no cell (looked for "
                             f"{', '.join(SUPPORTED_CELLS)})")
        if len(cells) > 1:
            raise ValueError(f"cell: {str(doc.path)!r} defines {len(cells)} cells "
                             f"({', '.join(ids)}); name one with cell=...")
        return cells[0]
    if not isinstance(cell, str) or cell not in ids:
        raise ValueError(f"cell must be the id of a cell in {str(doc.path)!r} (one of "
                         f"{', '.join(ids) or 'none'}); got {cell!r}")
    return cells[ids.index(cell)]


def neuroml_source(path, cell: str | None = None, *,
                   temperature: float | None = None) -> EquationSource:
    """The Brian2 equations of a single-compartment NeuroML2 cell, as jNeuroML runs it.

    **Arguments:**
    - `path`: a NeuroML2 file (`.nml`) or a LEMS file holding NeuroML2 elements.
    - `cell`: the id of the cell to translate; None picks the file's only cell.
    - `temperature`: °C, for `q10ExpTemp` rate scaling; default the temperature of the
      file's network (`networkWithTemperature`), if it has exactly one.

    **Returns:** an `EquationSource` whose input is the current parameter `I` (amp), or
    dimensionless `I` for `izhikevichCell`, `I_ext` for `fitzHughNagumoCell` (an added
    input: NeuroML's cell takes none; so do `iafTauCell` and `iafTauRefCell`, whose `I`
    acts on nothing). Time in the equations is in seconds for `fitzHughNagumoCell` as in
    NeuroML (so a run of 200 s is `t1 = 200000` ms).

    **Raises:** `ValueError` for a missing or non-NeuroML file, no cell, several cells
    and `cell=None`, an unknown cell id, and one listing all unsupported elements of the
    cell (several segments, concentration dynamics, kinetic-scheme channels, ...).
    """
    doc = _read(path)
    node = _pick_cell(doc, cell)
    if temperature is not None:
        from .._checks import check_real

        temperature_K = check_real("temperature", temperature, gt=-273.15) + 273.15
    else:
        temps = [t for n in doc.nodes if n.type.startswith("network")
                 if (t := _network_temperature(n)) is not None]
        temperature_K = temps[0] if len(set(temps)) == 1 else None
    return _translate(node, doc, temperature_K)


def from_neuroml(path, cell: str | None = None, *, temperature: float | None = None):
    """A jaxneuron model of a single-compartment NeuroML2 cell: `jn.from_brian2` of
    `neuroml_source(path, cell, temperature=temperature)` (see there for the arguments,
    the input and the errors)."""
    from .brian2 import from_brian2

    return from_brian2(**neuroml_source(path, cell, temperature=temperature).kwargs())


# --- inputs ----------------------------------------------------------------------------

_INPUTS = {  # type: (kind, dimension of its amplitudes)
    "pulseGenerator": ("pulse", "current"), "pulseGeneratorDL": ("pulse", "none"),
    "sineGenerator": ("sine", "current"), "sineGeneratorDL": ("sine", "none"),
    "rampGenerator": ("ramp", "current"), "rampGeneratorDL": ("ramp", "none"),
    "compoundInput": ("compound", "current"), "compoundInputDL": ("compound", "none"),
}


@dataclasses.dataclass(frozen=True)
class _Input:
    kind: str
    dimension: str
    values: dict  # in ms and the stored unit of `dimension`


def _read_input(node: _Node, problems: list) -> list:
    """An input element as a list of `_Input` (a compound input is several)."""
    if node.type not in _INPUTS:
        problems.append(f"<{node.type} id={node.id!r}> (inputs: {', '.join(_INPUTS)})")
        return []
    kind, dimension = _INPUTS[node.type]
    if kind == "compound":
        parts = []
        for child in node.children:
            if child.type not in _IGNORED:
                parts += _read_input(child, problems)
        return parts
    fields = {"pulse": ("delay", "duration", "amplitude"),
              "sine": ("delay", "duration", "amplitude", "period", "phase"),
              "ramp": ("delay", "duration", "startAmplitude", "finishAmplitude",
                       "baselineAmplitude")}[kind]
    values = {}
    for field in fields:
        field_dim = ("time" if field in ("delay", "duration", "period") else
                     "none" if field == "phase" else dimension)
        text = node.attrs.get(field)
        if text is None:
            problems.append(f"{node.type} {node.id!r} lacks {field!r}")
            continue
        try:
            values[field] = _value(text, field_dim, f"{node.type} {node.id!r} {field!r}")
        except ValueError as error:
            problems.append(str(error))
    for child in node.children:
        if child.type not in _IGNORED:
            problems.append(f"<{child.type} id={child.id!r}> inside {node.type} {node.id!r}")
    return [_Input(kind, dimension, values)]


def _input_current(part: _Input, t):
    """The current of `part` at times `t` (ms, array), as NeuroML2CoreTypes defines it."""
    v = part.values
    start, stop = v["delay"], v["delay"] + v["duration"]
    on = (t >= start) & (t < stop)
    if part.kind == "pulse":
        return np.where(on, v["amplitude"], 0.0)
    if part.kind == "sine":
        return np.where(on, v["amplitude"] * np.sin(v["phase"] + 2 * np.pi * (t - start)
                                                    / v["period"]), 0.0)
    ramp = v["startAmplitude"] + (v["finishAmplitude"] - v["startAmplitude"]) * (
        t - start) / v["duration"]
    return np.where(on, ramp, v["baselineAmplitude"])


def _stimulus(parts: list, input_unit: str, t1: float, dt: float, where: str):
    """One jaxneuron stimulus for the sum of `parts`, in `input_unit`: exact where the
    sum is one pulse, one ramp, one sine that lasts to `t1`, or pulses only (a
    `HeldCurrent`); otherwise the current sampled at the run's steps `dt` (ms) from 0 to
    `t1` (a `SampledCurrent`, as jNeuroML evaluates its inputs once a step)."""
    from .. import stimuli
    from ..units import conversion_factor

    units = {part.dimension for part in parts}
    if not parts:
        return stimuli.StepCurrent(0.0)
    if len(units) > 1:
        raise ValueError(f"{where}: inputs mix currents and dimensionless currents")
    source_unit = _DIMENSIONS[units.pop()][0]
    source_unit = "1" if source_unit == "dimensionless" else source_unit
    factor = conversion_factor(source_unit, input_unit, argument=where)
    if len(parts) == 1:
        part = parts[0]
        v = part.values
        start, stop = v["delay"], v["delay"] + v["duration"]
        if part.kind == "pulse":
            return stimuli.StepCurrent(v["amplitude"] * factor, t_start=start, t_stop=stop)
        if part.kind == "ramp" and v["baselineAmplitude"] == 0:
            return stimuli.RampCurrent(v["startAmplitude"] * factor,
                                       v["finishAmplitude"] * factor, t_start=start,
                                       t_stop=stop)
        if part.kind == "sine" and stop >= t1:
            return stimuli.SineCurrent(v["amplitude"] * factor, 1e3 / v["period"],
                                       phase=v["phase"], t_start=start)
    if all(part.kind == "pulse" for part in parts):
        times = sorted({t for p in parts for t in (p.values["delay"],
                                                   p.values["delay"] + p.values["duration"])})
        levels = [0.0] + [float(sum(_input_current(p, np.asarray(t)) for p in parts)) * factor
                          for t in times]
        return stimuli.HeldCurrent(times=np.asarray(times), levels=np.asarray(levels))
    n = int(round(t1 / dt))
    grid = np.arange(n + 1) * dt
    values = sum(_input_current(part, grid) for part in parts) * factor
    return stimuli.SampledCurrent(values=values, dt=dt)


def neuroml_stimulus(path, inputs, input_unit: str, *, t1: float, dt: float):
    """The jaxneuron stimulus of NeuroML inputs (summed), in `input_unit`.

    **Arguments:**
    - `path`: the NeuroML2 or LEMS file that defines them.
    - `inputs`: input ids (`pulseGenerator`, `sineGenerator`, `rampGenerator`, their
      `...DL` forms, `compoundInput`), or `(id, weight)` pairs.
    - `input_unit`: the driven model's input unit (`model.input_unit`, e.g. `"pA"`).
    - `t1`, `dt`: the run's length and step, ms (a sum that no exact stimulus represents
      is sampled at these steps, as jNeuroML evaluates its inputs once a step).

    **Raises:** `ValueError` for an unknown id, an unsupported input type, or units that
    do not convert (a current into a dimensionless model, or the reverse).
    """
    doc = _read(path)
    return _inputs_stimulus(doc, [(i, 1.0) if isinstance(i, str) else i for i in inputs],
                            input_unit, t1, dt, "inputs")


def _inputs_stimulus(doc: _Document, inputs: list, input_unit: str, t1, dt, where: str):
    problems: list[str] = []
    parts = []
    for ident, weight in inputs:
        node = doc.by_id(ident)
        if node is None:
            problems.append(f"input {ident!r} not found")
            continue
        for part in _read_input(node, problems):
            scaled = {k: (x * weight if "mplitude" in k else x)
                      for k, x in part.values.items()}
            parts.append(dataclasses.replace(part, values=scaled))
    if problems:
        raise ValueError(f"{where}: unsupported NeuroML elements: {'; '.join(problems)}")
    return _stimulus(parts, input_unit, t1, dt, where)


# --- LEMS runs -------------------------------------------------------------------------


@dataclasses.dataclass
class LemsRun:
    """A LEMS run file read by `load_lems`.

    **Fields:**
    - `cells`: cell instance -> `(model, stimulus)`; the key is the population id, or
      `"pop[i]"` for instance `i` of a population of several cells.
    - `options`: `{"t1": ms, "dt": ms}` of the `Simulation` element, for
      `jn.simulate(model, stimulus, **run.options)`.
    - `outputs`: file name -> list of `(column id, cell key, quantity)` that the file's
      `OutputFile` elements record (`quantity` as written after the cell, e.g. `"v"`); the
      first column of jNeuroML's `.dat` files is the time (s), then these columns in SI.
    - `sources`: cell key -> the `EquationSource` its model was built from.
    - `spike_thresholds`: cell key -> the cell's spike threshold (mV; None for a cell
      without one). A cell that does not reset (`cell`, `pointCellCondBased`) is a smooth
      model: pass `threshold=run.spike_thresholds[key]` to `jn.simulate` for its spikes.
    """

    cells: dict
    options: dict
    outputs: dict
    sources: dict
    spike_thresholds: dict


_TARGET = re.compile(r"^\s*(\w+)\s*\[\s*(\d+)\s*\]\s*$")
_LIST_TARGET = re.compile(r"^\s*\.\./(\w+)/(\d+)/\w+\s*$")
_CONNECTIONS = ("projection", "synapticConnection", "electricalProjection",
                "continuousProjection", "electricalConnection", "continuousConnection")


def load_lems(path) -> LemsRun:
    """A LEMS run file (e.g. jNeuroML's `LEMS_NML2_Ex*.xml`) as jaxneuron models, stimuli
    and run options: `for key, (model, stim) in run.cells.items(): jn.simulate(model,
    stim, **run.options)` reproduces the file's run.

    **Arguments:**
    - `path`: the LEMS file (its NeuroML2 elements inline or in `<Include>`d `.nml` files).

    **Returns:** a `LemsRun`.

    **Raises:** `ValueError` for a missing or non-LEMS file, no `Simulation`, and one
    listing every unsupported element used by the target network (connections, inputs
    of other types, unsupported cells or cell contents).
    """
    doc = _read(path)
    simulation = _simulation(doc)
    t1 = _value(simulation.attrs.get("length"), "time", "Simulation length")
    dt = _value(simulation.attrs.get("step"), "time", "Simulation step")
    network = doc.by_id(simulation.attrs.get("target", ""))
    if network is None:
        raise ValueError(f"path: the Simulation's target {simulation.attrs.get('target')!r} "
                         f"is not in {str(doc.path)!r}")
    temperature_K = _network_temperature(network)
    problems: list[str] = []
    populations: dict = {}
    inputs: dict = {}
    for child in network.children:
        if child.type in ("population", "populationList"):
            size = child.attrs.get("size")
            count = (int(size) if size and size.strip().isdigit()
                     else len(child.kids("instance")))
            populations[child.id] = (child.attrs.get("component", ""), count)
        elif child.type == "explicitInput":
            match = _TARGET.match(child.attrs.get("target", ""))
            if match is None:
                problems.append(f"explicitInput target {child.attrs.get('target')!r}")
                continue
            weight = float(child.attrs.get("weight", 1.0))
            key = (match.group(1), int(match.group(2)))
            inputs.setdefault(key, []).append((child.attrs.get("input", ""), weight))
        elif child.type == "inputList":
            for item in child.kids("input", "inputW"):
                match = _LIST_TARGET.match(item.attrs.get("target", ""))
                if match is None:
                    problems.append(f"inputList {child.id!r} target "
                                    f"{item.attrs.get('target')!r}")
                    continue
                key = (match.group(1), int(match.group(2)))
                weight = float(item.attrs.get("weight", 1.0))
                inputs.setdefault(key, []).append((child.attrs.get("component", ""), weight))
        elif child.type in _CONNECTIONS:
            problems.append(f"<{child.type} id={child.id!r}> (connections between cells)")
        elif child.type not in _IGNORED:
            problems.append(f"<{child.type} id={child.id!r}> in network {network.id!r}")
    for ident in dict.fromkeys(i for items in inputs.values() for i, _ in items):
        node = doc.by_id(ident)
        if node is None:
            problems.append(f"input {ident!r} not found")
        else:
            _read_input(node, problems)
    for (population, index) in inputs:
        if population not in populations or index >= populations[population][1]:
            problems.append(f"an input targets {population}[{index}], which is not a cell "
                            "of the network")
    sources: dict = {}
    for component, _ in populations.values():
        node = doc.by_id(component)
        if node is None:
            problems.append(f"population component {component!r} not found")
        elif component not in sources:
            try:
                sources[component] = _translate_cell(node, doc, temperature_K)
            except ValueError as error:
                problems.append(str(error))
            if node.type in _NO_INPUT and any(
                    populations[p][0] == component for p, _ in inputs):
                problems.append(f"inputs to {node.type} {component!r} (it takes none in "
                                "NeuroML)")
    if problems:
        raise ValueError(f"path: {str(doc.path)!r} uses unsupported NeuroML elements: "
                         f"{'; '.join(dict.fromkeys(problems))}")
    from .brian2 import from_brian2

    models = {component: from_brian2(**source.kwargs())
              for component, (source, _) in sources.items()}
    cells, cell_sources, thresholds = {}, {}, {}
    for population, (component, count) in populations.items():
        for index in range(count):
            key = population if count == 1 else f"{population}[{index}]"
            stim = _inputs_stimulus(doc, inputs.get((population, index), []),
                                    models[component].input_unit, t1, dt, f"input of {key}")
            cells[key] = (models[component], stim)
            cell_sources[key], thresholds[key] = sources[component]
    return LemsRun(cells=cells, options={"t1": t1, "dt": dt},
                   outputs=_outputs(simulation, populations), sources=cell_sources,
                   spike_thresholds=thresholds)


def _simulation(doc: _Document) -> _Node:
    simulations = [n for n in doc.nodes if n.type == "Simulation"]
    if not simulations:
        raise ValueError(f"path: {str(doc.path)!r} has no <Simulation> (a LEMS run file "
                         "is needed)")
    if len(simulations) > 1:
        raise ValueError(f"path: {str(doc.path)!r} has {len(simulations)} <Simulation> "
                         "elements; need one")
    return simulations[0]


def _outputs(simulation: _Node, populations: dict) -> dict:
    outputs = {}
    for output in simulation.kids("OutputFile"):
        columns = []
        for column in output.kids("OutputColumn"):
            quantity = column.attrs.get("quantity", "")
            head, _, rest = quantity.partition("/")
            match = _TARGET.match(head)
            if match is None:
                continue
            population, index = match.group(1), int(match.group(2))
            count = populations.get(population, ("", 1))[1]
            key = population if count == 1 else f"{population}[{index}]"
            columns.append((column.id, key, rest))
        outputs[output.attrs.get("fileName", output.id)] = columns
    return outputs


def state_of(quantity: str) -> str | None:
    """The state name of an imported cell for a LEMS quantity recorded on it (`"v"` ->
    `"v"`, `"bioPhys1/membraneProperties/naChans/naChan/m/q"` -> `"naChans_m"`), or None
    where the quantity is not a state."""
    parts = quantity.split("/")
    if len(parts) == 1:
        return parts[0]
    if len(parts) >= 4 and parts[-1] == "q":
        return f"{_identifier(parts[-4])}_{parts[-2]}"
    return None
