"""The one place where `simulate`'s string options become an engine, and where the
default engine of a model is chosen."""

from __future__ import annotations

import diffrax
import equinox as eqx

from ..models.base import AbstractNeuron, AbstractSpikingNeuron
from .adaptive import AdaptiveSteps
from .base import AbstractAdaptiveEngine, AbstractEngine, check_tolerances
from .clock import ClockSpiking
from .exact import ExactSpiking
from .fixed import FixedSteps

# The keyword options of `simulate` that choose the engine (see `build_engine`).
ENGINE_OPTIONS = ("engine", "solver", "stepsize", "spiking", "surrogate", "rtol", "atol",
                  "max_steps", "adjoint")
"""The keyword options of `simulate` (and `sweep`, `fit`) that choose or build an engine."""
STEPSIZE_MODES = ("fixed", "adaptive")
SPIKING_MODES = ("clock", "exact")
# Adjoints that fixed-step engines accept and ignore: they differentiate through the steps.
_STEPPED_ADJOINTS = (diffrax.ForwardMode, diffrax.RecursiveCheckpointAdjoint,
                     diffrax.DirectAdjoint)


def default_engine(model: AbstractNeuron) -> AbstractEngine:
    """The engine `simulate` uses for `model` when none is given: `ClockSpiking()` for
    spiking models, `FixedSteps()` otherwise."""
    return ClockSpiking() if isinstance(model, AbstractSpikingNeuron) else FixedSteps()


def build_engine(model: AbstractNeuron, engine: AbstractEngine | None = None, *,
                 solver=None, stepsize: str | None = None, spiking: str | None = None,
                 surrogate=None, rtol: float | None = None, atol: float | None = None,
                 max_steps: int | None = None,
                 adjoint: diffrax.AbstractAdjoint | None = None) -> AbstractEngine:
    """The engine for `model`: `engine` itself, or one built from the keyword options.

    The options are conveniences: `stepsize="fixed"`/`"adaptive"` for smooth models gives
    `FixedSteps(solver)`/`AdaptiveSteps(solver, rtol, atol, max_steps, adjoint)`;
    `spiking="clock"`/`"exact"` for spiking models gives `ClockSpiking(solver, surrogate)`/
    `ExactSpiking(solver, rtol, atol, max_steps, adjoint)`. Unset options take the
    engine's defaults. Fixed-step engines accept and ignore `rtol`, `atol`, `max_steps`
    and the adjoints `ForwardMode`, `RecursiveCheckpointAdjoint` and `DirectAdjoint` (they
    differentiate through the steps in either mode).

    **Raises:** `ValueError` for an engine given together with options, unknown modes, or
    options that do not apply to the model (e.g. `spiking="exact"` for a smooth model).
    """
    options = dict(solver=solver, stepsize=stepsize, spiking=spiking, surrogate=surrogate,
                   rtol=rtol, atol=atol, max_steps=max_steps, adjoint=adjoint)
    given = sorted(k for k, v in options.items() if v is not None)
    if engine is not None:
        if not isinstance(engine, AbstractEngine):
            raise ValueError(f"engine must be a jaxneuron engine such as FixedSteps(), "
                             f"AdaptiveSteps(), ClockSpiking() or ExactSpiking(); got "
                             f"{engine!r}")
        if given:
            raise ValueError(f"pass the options {given} as fields of the engine, not next to "
                             f"engine={type(engine).__name__}(...)")
        return engine
    if stepsize is not None and stepsize not in STEPSIZE_MODES:
        raise ValueError(f"stepsize must be one of {STEPSIZE_MODES}; got {stepsize!r}")
    if spiking is not None and spiking not in SPIKING_MODES:
        raise ValueError(f"spiking must be one of {SPIKING_MODES}; got {spiking!r}")
    tolerances = {k: v for k, v in dict(rtol=rtol, atol=atol, max_steps=max_steps,
                                         adjoint=adjoint).items() if v is not None}
    # Checked even where a fixed-step engine ignores them.
    check_tolerances(1.0 if rtol is None else rtol, 1.0 if atol is None else atol,
                     1 if max_steps is None else max_steps)
    if isinstance(model, AbstractSpikingNeuron):
        if stepsize == "adaptive":
            raise ValueError("spiking models choose their stepping with spiking='clock' "
                             "(fixed steps) or spiking='exact' (adaptive, event-driven); "
                             "leave stepsize at 'fixed'")
        if spiking == "exact":
            if surrogate is not None:
                raise ValueError("surrogate applies to spiking='clock' only: exact spike "
                                 "times are differentiable without one")
            return ExactSpiking(solver=solver, **tolerances)
        _check_stepped_adjoint(adjoint)
        return ClockSpiking(solver=solver, surrogate=surrogate)
    if spiking == "exact":
        raise ValueError(f"spiking='exact' needs a spiking model; {type(model).__name__} is "
                         "not an AbstractSpikingNeuron (use stepsize='adaptive')")
    if surrogate is not None:
        raise ValueError(f"surrogate needs a spiking model; {type(model).__name__} is not "
                         "an AbstractSpikingNeuron")
    if stepsize == "adaptive":
        return AdaptiveSteps(solver=solver, **tolerances)
    _check_stepped_adjoint(adjoint)
    return FixedSteps(solver=solver)


def _check_stepped_adjoint(adjoint) -> None:
    if adjoint is not None and not isinstance(adjoint, _STEPPED_ADJOINTS):
        raise ValueError("fixed steps are differentiated through the steps in either mode; "
                         f"adjoint {type(adjoint).__name__} applies to adaptive solves only")


def with_engine(model: AbstractNeuron, simulate_kwargs: dict, *, forward: bool) -> dict:
    """`simulate_kwargs` with its engine options replaced by the engine they build
    (`engine=`), made differentiable in forward mode too when `forward` (see
    `forward_mode`). For tools that differentiate `simulate`: `fit`, `fit_restarts`,
    `run_nuts`.

    **Raises:** `ValueError` as `build_engine` and `forward_mode` do.
    """
    rest = {k: v for k, v in simulate_kwargs.items() if k not in ENGINE_OPTIONS}
    options = {k: v for k, v in simulate_kwargs.items() if k in ENGINE_OPTIONS}
    engine = build_engine(model, **options)
    return {**rest, "engine": forward_mode(engine) if forward else engine}


def forward_mode(engine: AbstractEngine) -> AbstractEngine:
    """`engine` made differentiable by `jax.jvp` as well as by reverse mode.

    Fixed-step engines already are. An adaptive engine with the default adjoint (a
    checkpointed loop, reverse mode only) gets `diffrax.DirectAdjoint()`; one with
    `ForwardMode` or `DirectAdjoint` is returned unchanged.

    **Raises:** `ValueError` for an adjoint that supports reverse mode only (e.g.
    `BacksolveAdjoint`), naming it.
    """
    if not isinstance(engine, AbstractAdaptiveEngine):
        return engine
    adjoint = engine.adjoint
    if isinstance(adjoint, diffrax.ForwardMode | diffrax.DirectAdjoint):
        return engine
    if adjoint is not None and not isinstance(adjoint, diffrax.RecursiveCheckpointAdjoint):
        raise ValueError(f"adjoint {type(adjoint).__name__} supports reverse mode only: use "
                         "gradient='reverse', or adjoint=diffrax.DirectAdjoint()")
    return eqx.tree_at(lambda e: e.adjoint, engine, diffrax.DirectAdjoint(),
                       is_leaf=lambda x: x is None)
