"""`EquationSource`: a model written as Brian2 equation text, with its options.

The NeuroML importer translates a cell into one of these, and `jn.from_brian2` builds the
model from its fields, so both importers share one parser and one unit check.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class EquationSource:
    """The arguments of `jn.from_brian2` (see there for the grammar), as one value.

    **Fields:**
    - `equations`: Brian2 equations, one per line.
    - `threshold`: the spike condition (`"v > thresh"`), or None.
    - `reset`: reset statements separated by newlines or `;`, or None.
    - `refractory`: a time (`"2*ms"`, or a number in ms), or None.
    - `namespace`: parameter values, name -> number or Brian2 quantity string.
    - `initial`: start values of state variables, name -> number or quantity string.
    - `input`: the parameter that the stimulus drives (e.g. `"I"`).
    - `name`: the name of the model class.
    """

    equations: str
    threshold: str | None = None
    reset: str | None = None
    refractory: str | float | None = None
    namespace: dict = dataclasses.field(default_factory=dict)
    initial: dict = dataclasses.field(default_factory=dict)
    input: str = "I"
    name: str = "Brian2Model"

    def kwargs(self) -> dict:
        """The fields as keyword arguments: `jn.from_brian2(**source.kwargs())`."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
