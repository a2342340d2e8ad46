"""Unit strings and conversions at the boundary (models' `input_unit`, recordings, imports).

One shared `pint` registry reads unit strings (`"pA"`, `"uA/cm**2"`, `"mV"`, Brian2's
`"msiemens"`, `"umetre**2"`, `"cm2"`, and `"1"` for a dimensionless quantity) and gives
plain float factors. Everything here runs when data or models are built, never inside
traced JAX code: the numerics see only floats in the API's units (mV, ms, and the model's
stated current unit).

A current becomes a current density (or a conductance a conductance density) through the
membrane area, given as `area_cm2` (cm²) or as the cell's capacitance `capacitance_pF`
(pF) with the specific membrane capacitance 1 µF/cm², i.e. area (cm²) = 1e-6 × C (pF):
a 10 pF cell has 1e-5 cm² (1000 µm²). A dimensionless model current (`"1"`) is reached
only through an explicit `scale`, the current that one model unit stands for.
"""

from __future__ import annotations

import functools
import math
import re

SPECIFIC_CAPACITANCE_UF_PER_CM2 = 1.0
"""µF/cm²: the specific membrane capacitance used to turn a capacitance into an area."""

# Brian2 writes powers of a unit as a trailing digit: cm2, umetre3, msiemens2 (not mV2).
_POWER = re.compile(r"\b([A-Za-zµμ]+?)([23])\b")


@functools.cache
def registry():
    """The one shared `pint.UnitRegistry` (built on first use, about 1 s), with the
    spellings `Ohm`/`MOhm`/`GOhm` added."""
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("Ohm = ohm")
    return ureg


def _brian2_powers(text: str) -> str:
    ureg = registry()

    def power(match):
        base = match.group(1)
        try:
            ureg.parse_units(base)
        except Exception:  # noqa: BLE001 - not a unit name: leave the text as it is
            return match.group(0)
        return f"{base}**{match.group(2)}"

    return _POWER.sub(power, text)


def _parse(text, argument: str, what: str):
    """`text` as a pint Quantity, or a ValueError naming `argument`."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    examples = "'pA', 'nA', 'uA/cm**2', 'mV', 'ms' or '1' (dimensionless)"
    if text is None or isinstance(text, str) and not text.strip():
        raise ValueError(f"{argument}: missing unit; give {what} as a unit string such as "
                         f"{examples}; got {text!r}")
    if not isinstance(text, str):
        raise ValueError(f"{argument} must be a unit string such as {examples}; got "
                         f"{text!r} ({type(text).__name__})")
    ureg = registry()
    try:
        return ureg.parse_expression(_brian2_powers(text.strip()))
    except Exception as error:  # noqa: BLE001 - pint raises many types for bad text
        raise ValueError(f"{argument}: unknown unit {text!r} ({error}); give {what} as a "
                         "unit string such as 'pA', 'uA/cm**2', 'mV' or 'ms'") from error


def parse_unit(text: str, argument: str):
    """The unit that `text` names, as a `pint.Unit`.

    **Arguments:**
    - `text`: a unit string: any pint spelling (`"pA"`, `"uA/cm**2"`, `"µA/cm²"`,
      `"volts"`, `"MOhm"`), Brian2's (`"msiemens"`, `"mvolt"`, `"umetre**2"`, `"cm2"`),
      or `"1"` for a dimensionless quantity.
    - `argument`: the name of the argument the string came from, used in every message.

    **Raises:** `ValueError` naming `argument`: not a string, empty (a missing unit), a name
    the registry does not know, or a quantity with a number other than 1 (`"10 pA"`).
    """
    quantity = _parse(text, argument, "the unit")
    magnitude = getattr(quantity, "magnitude", quantity)
    if not hasattr(quantity, "units") or not math.isclose(float(magnitude), 1.0,
                                                          rel_tol=1e-12):
        raise ValueError(f"{argument}: {text!r} is a quantity, not a unit; give the unit "
                         "alone (e.g. 'pA')")
    return quantity.units


def parse_quantity(text, argument: str):
    """A number with its unit (`"10 pA"`, `"0.5 nA"`) as a `pint.Quantity`; a pint
    Quantity is returned as it is.

    **Raises:** `ValueError` naming `argument` for a missing or unknown unit, or a value
    that is not finite and non-zero.
    """
    ureg = registry()
    if isinstance(text, ureg.Quantity):
        quantity = text
    else:
        quantity = _parse(text, argument, "a quantity")
    if not hasattr(quantity, "units"):
        raise ValueError(f"{argument}: give a number with its unit, e.g. '1 pA'; got "
                         f"{text!r}")
    magnitude = float(quantity.magnitude)
    if not math.isfinite(magnitude) or magnitude == 0:
        raise ValueError(f"{argument} must be finite and non-zero; got {text!r}")
    return quantity


def conversion_factor(from_unit: str, to_unit: str, *, argument: str,
                      area_cm2: float | None = None, capacitance_pF: float | None = None,
                      scale=None) -> float:
    """The float `f` with `value in to_unit = f × value in from_unit`.

    Same dimensions convert directly (pA -> nA: 1e-3; V -> mV: 1e3; s -> ms: 1e3). A
    pair that differs by an area (a current and a current density such as pA -> uA/cm**2,
    or a conductance and a conductance density) needs the membrane area: `area_cm2`, or
    `capacitance_pF` with the specific capacitance 1 µF/cm² (area = 1e-6 cm² per pF).
    E.g. 100 pA into a 1e-5 cm² (1000 µm², 10 pF) cell is 10 uA/cm**2. A dimensionless
    side (`"1"`) needs `scale`, the quantity that one dimensionless unit stands for
    (`"1 pA"`, or a pint Quantity): pA -> "1" with `scale="2 pA"` is 0.5.

    **Arguments:**
    - `from_unit`, `to_unit`: unit strings (see `parse_unit`).
    - `argument`: the name of the argument being converted, used in every message.
    - `area_cm2`: membrane area, cm² (> 0); or `capacitance_pF`: cell capacitance, pF (> 0).
    - `scale`: for a dimensionless side only.

    **Raises:** `ValueError` naming `argument` and both units: an unknown or missing unit,
    dimensions that no area or scale relates, a density without an area, both an area and a
    capacitance, a dimensionless side without `scale` (never guessed), or `scale` where no
    side is dimensionless.
    """
    from ._checks import check_real

    ureg = registry()
    source = parse_unit(from_unit, argument)
    target = parse_unit(to_unit, argument)
    pair = f"from {from_unit!r} to {to_unit!r}"
    if area_cm2 is not None and capacitance_pF is not None:
        raise ValueError(f"{argument}: give area_cm2 or capacitance_pF, not both (converting "
                         f"{pair})")
    if (source.dimensionless or target.dimensionless) and source.dimensionality \
            != target.dimensionality:
        if scale is None:
            raise ValueError(f"{argument}: a dimensionless current needs an explicit scale "
                             f"(the current one unit stands for, e.g. scale='1 pA'); never "
                             f"guessed (converting {pair})")
        unit = parse_quantity(scale, "scale")
        other = target if source.dimensionless else source
        if unit.dimensionality != other.dimensionality:
            raise ValueError(f"scale must be a quantity in the units of "
                             f"{to_unit if source.dimensionless else from_unit!r} "
                             f"(converting {argument} {pair}); got {scale!r}")
        ratio = float((unit / (1 * other)).to("dimensionless").magnitude)
        return ratio if source.dimensionless else 1.0 / ratio
    if scale is not None:
        raise ValueError(f"scale applies only to a dimensionless unit ('1'); {argument} "
                         f"converts {pair}")
    try:
        ratio = (1 * source) / (1 * target)
    except Exception as error:  # noqa: BLE001 - pint's offset units (degC) have no factor
        raise ValueError(f"{argument}: no conversion factor {pair} ({error}); a unit with an "
                         "offset (degC, degF) converts by a shift, not a factor") from error
    if ratio.dimensionless:
        return float(ratio.to("dimensionless").magnitude)
    area_dims = ureg.cm.dimensionality ** 2
    for power in (1, -1):  # source / target = area (current -> density), or 1/area
        if ratio.dimensionality == area_dims ** power:
            area = _area(argument, pair, area_cm2, capacitance_pF, check_real)
            return float((ratio * (area * ureg.cm ** 2) ** -power).to("dimensionless")
                         .magnitude)
    raise ValueError(f"{argument}: cannot convert {pair}: their dimensions "
                     f"({source.dimensionality} and {target.dimensionality}) differ")


def _area(argument, pair, area_cm2, capacitance_pF, check_real) -> float:
    if area_cm2 is not None:
        return check_real("area_cm2", area_cm2, gt=0)
    if capacitance_pF is not None:
        return check_real("capacitance_pF", capacitance_pF, gt=0) * 1e-6 \
            / SPECIFIC_CAPACITANCE_UF_PER_CM2
    raise ValueError(f"{argument}: converting {pair} needs the membrane area: give "
                     "area_cm2 (cm²) or capacitance_pF (pF, with 1 µF/cm²)")


def model_input_unit(model) -> str:
    """The unit string of `model`'s input current (its class attribute `input_unit`).

    **Raises:** `ValueError` naming the model's class when it states no `input_unit` (a
    user model must state its own: e.g. `input_unit: ClassVar[str] = "pA"`) or states one
    the registry cannot read.
    """
    unit = getattr(type(model), "input_unit", None)
    name = type(model).__name__
    if unit is None:
        raise ValueError(f"model: {name} states no input_unit, so a current cannot be "
                         f"converted for it; set the class attribute, e.g. "
                         f"`input_unit: ClassVar[str] = 'pA'` ('nA', 'uA/cm**2', or '1' for "
                         "a dimensionless current)")
    parse_unit(unit, f"{name}.input_unit")
    return unit


def check_current_unit(text: str, argument: str) -> str:
    """`text` if it names a current (`"pA"`), a current density (`"uA/cm**2"`) or a
    dimensionless current (`"1"`).

    **Raises:** `ValueError` naming `argument` otherwise (a missing or unknown unit, or a
    voltage, time, ... unit).
    """
    unit = parse_unit(text, argument)
    ureg = registry()
    current = ureg.A.dimensionality
    if unit.dimensionality not in (current, current / ureg.cm.dimensionality ** 2) \
            and not unit.dimensionless:
        raise ValueError(f"{argument} must be a unit of current ('pA', 'nA', 'A'), of "
                         f"current density ('uA/cm**2') or '1'; got {text!r}")
    return text
