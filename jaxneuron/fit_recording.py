"""`fit_recording`: one parameter set fitted to every sweep of a current-clamp recording,
from many starts at once, with a report per sweep and per feature.

The sweeps are simulated together (`jax.vmap` over their stimuli), the starts are
optimised together (`jax.vmap` over `lax.while_loop`s, as `fit_restarts`), so the whole
fit is one compiled call. Each start stops on its own when converged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_int, check_real
from ._fields import check_parameter_names, replace_parameters
from ._keys import check_key
from ._stopping import StopRule
from .engines import with_engine
from .features import (
    SMOOTH_FEATURES,
    SPIKE_TIME_FEATURES,
    extract,
    from_spike_times,
    smooth,
)
from .gradients import GRADIENT_MODES, uses_forward_mode
from .inference.priors import Prior, Uniform
from .inference.restarts import RestartsResult, run_restarts
from .losses import (
    MultiscaleVoltageMSE,
    SoftDTW,
    SpikeMatchMSE,
    VoltageMSE,
    feature_zscores,
)
from .models.base import AbstractNeuron, AbstractSpikingNeuron, check_domain
from .recordings import Recording
from .recordings._grid import Grid, sweep_indices
from .simulate import simulate
from .units import conversion_factor

LOSSES = ("auto", "voltage", "multiscale", "spikes", "features", "dtw")
"""The loss names `fit_recording` takes (or pass a `jaxneuron.losses` loss)."""

DEFAULT_FEATURES = ("Spikecount", "time_to_first_spike", "mean_frequency", "ISI_CV",
                    "peak_voltage", "voltage_base", "steady_state_voltage", "sag_amplitude",
                    "ohmic_input_resistance")
"""The features of the default feature loss. Each sweep uses those the recording defines
there (e.g. `sag_amplitude` only on hyperpolarising steps, `ohmic_input_resistance` only on
sweeps that do not spike)."""

FEATURE_SD = {
    "Spikecount": (0.5, 0.05),
    "time_to_first_spike": (0.5, 0.05),
    "mean_frequency": (1.0, 0.05),
    "ISI_CV": (0.05, 0.1),
    "adaptation_index2": (0.02, 0.1),
    "peak_voltage": (1.0, 0.0),
    "voltage_base": (0.5, 0.0),
    "steady_state_voltage": (0.5, 0.0),
    "sag_amplitude": (0.5, 0.1),
    "ohmic_input_resistance": (1.0, 0.05),
}
"""The default SD of each feature's z-score: `max(floor, relative * |recorded value|)`, as
`(floor, relative)` in the feature's unit (ms, Hz, mV, MOhm; counts and ratios bare). With
one recording there is no experimental spread to take it from; pass `feature_sd` to use
yours."""

SPIKE_THRESHOLD = -20.0
"""mV: eFEL's spike threshold, used for the recording's spike times and features."""


@dataclasses.dataclass
class RecordingFit:
    """What `fit_recording` returns.

    **Fields:**
    - `model`: the model with the best start's fitted parameters; `params`: those values.
    - `loss`: the loss name (`"voltage"`, `"spikes"`, `"features"`, `"dtw"`, or the class
      name of a given loss); `restarts`: every start (`RestartsResult`, best first: their
      values, losses, loss histories, steps, stop reasons and objective evaluations).
    - `train`, `holdout`: the sweep indices fitted and held out (file order).
    - `time` `(n,)` ms; `data_v`, `model_v` `(n_sweeps, n)` mV: the recorded and the
      fitted voltage of every sweep of the recording on the simulation's save grid.
    - `sweeps`: one report per sweep (train and held out): index, role, voltage RMSE (mV),
      spike counts, spike-time error (ms), and per feature the recorded value, the fitted
      model's value (both exact, `jaxneuron.features.extract`) and its z-score.
    - `simulated_sweeps`: sweeps simulated during the fit (objective evaluations of all
      starts times the training sweeps; a gradient counts as one).
    """

    model: AbstractNeuron
    params: dict[str, float]
    loss: str
    restarts: RestartsResult
    train: tuple[int, ...]
    holdout: tuple[int, ...]
    time: np.ndarray
    data_v: np.ndarray
    model_v: np.ndarray
    sweeps: list[dict]
    simulated_sweeps: int

    def summary(self) -> dict:
        """A JSON-ready summary: fitted parameters, the loss, the starts, and the errors on
        the training and the held-out sweeps."""
        return {
            "params": self.params,
            "loss": self.loss,
            "best_loss": float(self.restarts.loss[0]),
            "starts": int(len(self.restarts.loss)),
            "steps": self.restarts.steps.tolist(),
            "stop_reason": self.restarts.stop_reason[0],
            "seconds": self.restarts.seconds,
            "simulated_sweeps": self.simulated_sweeps,
            "train": _pooled(self.sweeps, "train"),
            "holdout": _pooled(self.sweeps, "holdout"),
            "sweeps": [_jsonable(s) for s in self.sweeps],
        }

    def sweep_rows(self) -> list[dict]:
        """One flat row per sweep (for a CSV): index, role, RMSE and spike errors."""
        keys = ("index", "role", "voltage_rmse", "spikes_data", "spikes_model",
                "spike_count_error", "spike_time_error", "spike_time_error_max")
        return [{k: s[k] for k in keys} for s in self.sweeps]

    def feature_rows(self) -> list[dict]:
        """One row per sweep and feature: recorded value, fitted value, z-score."""
        return [{"index": s["index"], "role": s["role"], "feature": name, **values}
                for s in self.sweeps for name, values in s["features"].items()]


def fit_recording(
    recording: Recording,
    model: AbstractNeuron,
    params,
    *,
    loss="auto",
    sweeps: Sequence[int] | None = None,
    holdout: Sequence[int] = (),
    starts: int = 16,
    key: jax.Array | None = None,
    steps: int = 100,
    dt: float | None = None,
    features: Sequence[str] | None = None,
    feature_sd: Mapping[str, float] | None = None,
    penalty: float = 250.0,
    smoothing: float = 1.0,
    area_cm2: float | None = None,
    capacitance_pF: float | None = None,
    scale=None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    patience: int | None = 5,
    gradient: str = "auto",
    optimizer=None,
    **simulate_kwargs,
) -> RecordingFit:
    """Fit `params` of `model` to the sweeps of `recording`: one parameter set for all
    training sweeps (simulated together under `jax.vmap`), from `starts` starting points at
    once (each optimised by L-BFGS in its own `lax.while_loop`, vmapped), through the
    bijections onto the bounds.

    **Arguments:**
    - `recording`: the sweeps (`jaxneuron.recordings.load`), equal lengths, with currents;
      correct a junction offset when loading (`junction_offset=`).
    - `model`: the model to fit (its other fields stay as given); its class states its
      `input_unit`, into which the recorded current is converted.
    - `params`: the parameters and where to search: `{name: (low, high)}` (uniform starts)
      or a `jaxneuron.inference.Prior`.
    - `loss`: `"auto"` (default: `"voltage"` when no training sweep spikes; with spikes,
      `"multiscale"` for a conductance-based model and `"features"` for one that resets at
      a threshold), `"voltage"` (the voltage MSE, mV², mean over sweeps), `"multiscale"`
      (`MultiscaleVoltageMSE` at `MULTISCALE_MS`: the voltage MSE averaged with Gaussian-
      smoothed ones, which pull spikes that do not overlap yet), `"spikes"` (the
      matched spike-time loss `SpikeMatchMSE`, ms², mean over sweeps), `"features"` (the
      sum over sweeps and features of BluePyOpt's z-scores of smooth eFEL features, with
      `penalty` where the model leaves a feature undefined), `"dtw"` (soft-DTW on a
      max-pooled trace, mean over sweeps), or a `VoltageMSE` / `MultiscaleVoltageMSE` /
      `SoftDTW` / `SpikeMatchMSE` instance (e.g. `jaxneuron.losses.voltage_mse_in([(0,
      100)])` for subthreshold windows).
    - `sweeps`, `holdout`: indices (file order) to fit and to hold out; default: every
      sweep not held out is fitted. Held-out sweeps are simulated with the fitted model
      and reported.
    - `starts`: starting points (drawn from the prior with `key`, default `PRNGKey(0)`).
    - `steps`, `rtol`, `atol`, `patience`, `gradient`, `optimizer`: as in `fit_restarts`.
    - `dt`: the simulation step (ms); default the sampling interval divided into steps of
      at most 0.025 ms. The save grid is the recording's samples.
    - `features`, `feature_sd`, `penalty`, `smoothing`: the feature loss's names (default
      `DEFAULT_FEATURES`), SDs (default `FEATURE_SD`), undefined-feature penalty and the
      smoothing (mV) of its differentiable features (`jaxneuron.features.smooth`).
    - `area_cm2`, `capacitance_pF`, `scale`: the current conversion (`Sweep.stimulus`).
    - `simulate_kwargs`: passed to `simulate` (`solver`, `max_spikes`, ...).

    **Returns:** a `RecordingFit`: the best start's model and parameters, every start, and
    per-sweep and per-feature errors on training and held-out sweeps
    (`jaxneuron.plotting.recording_fit_figure` draws it).

    **Raises:** `ValueError` for an unknown parameter or loss, empty or out-of-range
    `sweeps`/`holdout` (naming the index), a sweep both fitted and held out, sweeps of
    different lengths, a recording without current, a unit that does not convert, bounds
    that do not hold the model's value range, or options out of range.
    """
    prior = _as_prior(params)
    train, held = _split(len(recording), sweeps, holdout)
    starts = check_int("starts", starts, 1)
    key = jax.random.PRNGKey(0) if key is None else key
    check_key(key)
    stop = StopRule.build(rtol=rtol, atol=atol, patience=patience, target_loss=0.0,
                          steps=steps)
    if gradient not in GRADIENT_MODES:
        raise ValueError(f"gradient must be one of {GRADIENT_MODES}; got {gradient!r}")
    simulate_kwargs = with_engine(model, simulate_kwargs,
                                  forward=uses_forward_mode(gradient, prior.dim))
    conversion = {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF, "scale": scale}
    problem = recording_objective(
        recording, model, prior, loss=loss, sweeps=train, dt=dt, features=features,
        feature_sd=feature_sd, penalty=penalty, smoothing=smoothing, **conversion,
        **simulate_kwargs)
    result = run_restarts(problem, prior, key=key, n_restarts=starts, optimizer=optimizer,
                          stop=stop, gradient=gradient)
    if not np.isfinite(result.loss[0]):
        raise FloatingPointError(
            f"fit_recording: no start reached a finite loss ({starts} starts; reasons: "
            f"{sorted(set(result.stop_reason))}); check the bounds, the units "
            "(area_cm2/capacitance_pF/scale) and dt")
    fitted = replace_parameters(model, result.best)
    all_stimuli = recording.stimulus(model, **conversion)
    traces = _simulate_all(fitted, all_stimuli, problem.t1, problem.simulate_items)
    grid = problem.grid
    reports = _reports(recording, traces, problem.data_v, grid, problem.window, train, held,
                       fitted, feature_sd=feature_sd, features=features)
    return RecordingFit(
        model=fitted, params=result.best, loss=problem.loss_name, restarts=result,
        train=train, holdout=held, time=grid.ts, data_v=problem.data_v,
        model_v=np.asarray(traces.v), sweeps=reports,
        simulated_sweeps=int(np.sum(result.evaluations)) * len(train))


def recording_objective(
    recording: Recording,
    model: AbstractNeuron,
    params,
    *,
    loss="auto",
    sweeps: Sequence[int] | None = None,
    dt: float | None = None,
    features: Sequence[str] | None = None,
    feature_sd: Mapping[str, float] | None = None,
    penalty: float = 250.0,
    smoothing: float = 1.0,
    area_cm2: float | None = None,
    capacitance_pF: float | None = None,
    scale=None,
    **simulate_kwargs,
) -> RecordingObjective:
    """The loss `fit_recording` minimises, as a function of the parameters: for other
    optimisers (CMA-ES, SciPy), for `jax.grad`, `jax.vmap` over parameter sets, or a
    likelihood. Arguments as `fit_recording` (`params`: names, `{name: (low, high)}` or a
    `Prior`; `sweeps`: the sweeps it scores, default all).

    **Returns:** a `RecordingObjective`: `objective(values)` for a dict name -> scalar,
    `objective(theta)` for an array `(dim,)` in the order of `objective.names`; inf where
    a sweep's simulation failed.

    **Raises:** `ValueError` as `fit_recording`.
    """
    if not isinstance(recording, Recording):
        raise ValueError(f"recording must be a jaxneuron.recordings.Recording (e.g. from "
                         f"recordings.load); got {type(recording).__name__}")
    if not isinstance(model, AbstractNeuron):
        raise ValueError(f"model must be a jaxneuron model; got {type(model).__name__}")
    if isinstance(params, str) or not isinstance(params, Mapping | Prior | Sequence):
        raise ValueError(f"params must name model parameters (a list, a dict name -> "
                         f"(low, high) or a Prior); got {params!r}")
    names = tuple(params.names if isinstance(params, Prior) else params)
    if not names:
        raise ValueError("params must name at least one model parameter")
    check_parameter_names(model, names, "params")
    if isinstance(params, Prior | Mapping):
        _check_bounds_in_domain(model, _as_prior(params))
    for i, sweep in enumerate(recording):
        if sweep.current is None:
            raise ValueError(f"recording: sweep {i} ({sweep.name!r}) has no injected current "
                             "(read as voltage-only data); a fit needs the stimulus: load "
                             "the file with its current channel")
    train = tuple(range(len(recording))) if sweeps is None else sweep_indices(
        "sweeps", sweeps, len(recording), allow_empty=False)
    penalty = check_real("penalty", penalty, ge=0.0)
    smoothing = check_real("smoothing", smoothing, gt=0.0)
    recording._check_equal("recording")
    conversion = {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF, "scale": scale}
    grid = Grid.of(recording, dt)
    window = _stim_window(recording)
    data_v = recording.voltages_on(grid.ts)
    loss_name, sweep_losses, targets = _build_loss(
        loss, recording, train, data_v, grid, window, model,
        features=features, feature_sd=feature_sd, penalty=penalty, smoothing=smoothing)
    simulate_kwargs = {**grid.simulate_kwargs(), **simulate_kwargs, "throw": False}
    simulate_kwargs.setdefault("max_spikes", _spike_capacity(recording, grid, window))
    stimuli = recording.select(list(train)).stimulus(model, **conversion)
    return RecordingObjective(
        model=model, stimuli=stimuli, targets=targets, names=names,
        sweep_losses=sweep_losses, summed=loss_name == "features", loss_name=loss_name,
        t1=grid.t1, simulate_items=tuple(sorted(simulate_kwargs.items())),
        grid=grid, window=window, data_v=data_v)


# ---------------------------------------------------------------- inputs


def _as_prior(params) -> Prior:
    if isinstance(params, Prior):
        return params
    if isinstance(params, Mapping) and params:
        marginals = {}
        for name, bounds in params.items():
            if np.ndim(bounds) != 1 or np.shape(bounds)[0] != 2:
                raise ValueError(f"params[{name!r}] must be (low, high); got {bounds!r}")
            marginals[name] = Uniform(*bounds)
        return Prior(marginals)
    raise ValueError("params must be a non-empty dict {name: (low, high)} or a "
                     f"jaxneuron.inference.Prior; got {params!r}")


def _check_bounds_in_domain(model, prior: Prior) -> None:
    """Each bound must give a valid model (the others at the model's values): a bound
    outside the domain (e.g. a negative time constant) would make starts that cannot run."""
    prior.check(model)
    for name, low, high in zip(prior.names, np.asarray(prior.low), np.asarray(prior.high),
                               strict=True):
        for value in (low, high):
            try:
                check_domain(replace_parameters(model, {name: float(value)}))
            except ValueError as error:
                raise ValueError(f"params[{name!r}]: the bound {float(value):g} lies outside "
                                 f"the model's domain ({error})") from None


def _split(n: int, sweeps, holdout) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The training and held-out sweep indices, checked."""
    held = sweep_indices("holdout", holdout, n, allow_empty=True)
    if sweeps is None:
        train = tuple(i for i in range(n) if i not in held)
    else:
        train = sweep_indices("sweeps", sweeps, n, allow_empty=False)
    both = sorted(set(train) & set(held))
    if both:
        raise ValueError(f"sweeps and holdout must not share a sweep; both name {both}")
    if not train:
        raise ValueError(f"holdout names every sweep (0 to {n - 1}); leave at least one to fit")
    return train, held


def _stim_window(recording: Recording) -> tuple[float, float]:
    return recording.stim_times()


def _spike_capacity(recording, grid, window) -> int:
    """Room for every recorded spike and as many extra (at least 64)."""
    most = max(_spike_count(grid.ts, v, window) for v in recording.voltages_on(grid.ts))
    return max(64, 2 * most + 8)


def _spike_count(t, v, window) -> int:
    return int(extract(t, v, "Spikecount", stim_start=window[0], stim_end=window[1],
                       threshold=SPIKE_THRESHOLD)["Spikecount"])


def _amplitude_nA(sweep, window) -> float | None:
    """The step's amplitude (nA): the mean current inside the window minus before it; None
    when the current's unit is not a current (a density, dimensionless)."""
    try:
        factor = conversion_factor(sweep.current_unit, "nA", argument="current")
    except ValueError:
        return None
    inside = (sweep.time >= window[0]) & (sweep.time < window[1])
    before = sweep.time < window[0]
    base = np.mean(sweep.current[before]) if before.any() else 0.0
    return float((np.mean(sweep.current[inside]) - base) * factor)


# ---------------------------------------------------------------- losses


def _build_loss(loss, recording, train, data_v, grid, window, model, *, features,
                feature_sd, penalty, smoothing):
    """`(name, per-sweep losses, per-sweep targets)` for the training sweeps."""
    spiking = any(_spike_count(grid.ts, data_v[i], window) > 0 for i in train)
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES} or a jaxneuron.losses loss; got "
                             f"{loss!r}")
        if loss == "auto":
            loss = _auto_loss(model, spiking)
        name = loss
        if loss == "features":
            return name, *_feature_losses(recording, train, data_v, grid, window, model,
                                          features=features, feature_sd=feature_sd,
                                          penalty=penalty, smoothing=smoothing)
        loss = {"voltage": VoltageMSE(), "spikes": SpikeMatchMSE(),
                "multiscale": MultiscaleVoltageMSE(MULTISCALE_MS, grid.save_every),
                "dtw": SoftDTW(gamma=1.0, pool=_pool_size(len(grid.ts)))}[loss]
    elif isinstance(loss, VoltageMSE | SoftDTW | SpikeMatchMSE | MultiscaleVoltageMSE):
        name = type(loss).__name__
    else:
        raise ValueError(f"loss must be one of {LOSSES} or a VoltageMSE, "
                         f"MultiscaleVoltageMSE, SoftDTW or SpikeMatchMSE instance; got "
                         f"{type(loss).__name__}")
    if isinstance(loss, SpikeMatchMSE):
        targets = tuple(jnp.asarray(_spike_times(grid.ts, data_v[i])) for i in train)
    else:
        targets = tuple(jnp.asarray(data_v[i]) for i in train)
    return name, (loss,) * len(train), targets


MULTISCALE_MS = (0.0, 2.0, 8.0)
"""The Gaussian SDs (ms) of the `"multiscale"` loss (`MultiscaleVoltageMSE`)."""


def _auto_loss(model, spiking: bool) -> str:
    """`"voltage"` below threshold; with spikes, `"multiscale"` for a model whose voltage
    makes its spikes (conductance-based: the whole trace is the model's), `"features"` for
    one that resets at a threshold (its voltage has no spike shape to compare)."""
    if not spiking:
        return "voltage"
    return "features" if isinstance(model, AbstractSpikingNeuron) else "multiscale"


def _pool_size(n: int) -> int:
    """Max-pool to about 400 points for soft-DTW (its cost is quadratic)."""
    return max(1, int(np.ceil(n / 400)))


class _SweepFeatureLoss(eqx.Module):
    """The summed z-scores of one sweep's smooth features against its recorded values; the
    `spike_names` from the run's spike times (`features.from_spike_times`: for a model that
    resets, whose voltage has no spike shape), the others from its voltage."""

    names: tuple[str, ...] = eqx.field(static=True)
    spike_names: tuple[str, ...] = eqx.field(static=True)
    window: tuple[float, float] = eqx.field(static=True)
    stimulus_current: float | None = eqx.field(static=True)
    smoothing: float = eqx.field(static=True)
    penalty: float = eqx.field(static=True)

    def values(self, trace) -> jax.Array:
        """The model's smooth feature values `(n_features,)` (per-spike ones averaged)."""
        start, end = self.window
        from_v = [n for n in self.names if n not in self.spike_names]
        vals = smooth(trace.ts, trace.v, from_v, stim_start=start, stim_end=end,
                      smoothing=self.smoothing, threshold=SPIKE_THRESHOLD,
                      stimulus_current=self.stimulus_current) if from_v else {}
        if self.spike_names:
            vals.update(from_spike_times(trace.spike_times, self.spike_names,
                                         stim_start=start, stim_end=end))
        return jnp.stack([_mean_defined(vals[n]) for n in self.names])

    def __call__(self, trace, target) -> jax.Array:
        mean, sd = target
        z = feature_zscores({"f": self.values(trace)}, {"f": mean}, {"f": sd},
                            penalty=self.penalty)["f"]
        return jnp.sum(z)


def _mean_defined(value) -> jax.Array:
    """A scalar feature as is; an array one (per spike) as the mean of its finite entries
    (NaN if none)."""
    value = jnp.asarray(value)
    if value.ndim == 0:
        return value
    finite = jnp.isfinite(value)
    count = jnp.sum(finite)
    total = jnp.sum(jnp.where(finite, value, 0.0))
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)


def _recorded_features(t, v, names, window, current, spike_times=None) -> dict[str, float]:
    """A trace's exact features (per-spike ones averaged), the defined ones; with
    `spike_times` (ms), the spike-timing features from those times instead of from `v`."""
    asked = [n for n in names if n != "ohmic_input_resistance" or current]
    by_time = [n for n in asked if n in SPIKE_TIME_FEATURES] if spike_times is not None else []
    from_v = [n for n in asked if n not in by_time]
    values = extract(t, v, from_v, stim_start=window[0], stim_end=window[1],
                     threshold=SPIKE_THRESHOLD, stimulus_current=current or None,
                     interp_step=None) if from_v else {}
    if by_time:
        timed = from_spike_times(np.asarray(spike_times, float), by_time,
                                 stim_start=window[0], stim_end=window[1])
        values.update({n: float(x) if np.isfinite(x) else None for n, x in timed.items()})
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        value = float(np.mean(value)) if np.ndim(value) else float(value)
        if np.isfinite(value) and (np.ndim(values[name]) == 0 or np.size(values[name])):
            out[name] = value
    return out


def _feature_sds(recorded: dict, feature_sd) -> dict[str, float]:
    out = {}
    for name, value in recorded.items():
        if feature_sd is not None and name in feature_sd:
            out[name] = check_real(f"feature_sd[{name!r}]", feature_sd[name], gt=0.0)
        else:
            floor, relative = FEATURE_SD.get(name, (1.0, 0.05))
            out[name] = max(floor, relative * abs(value))
    return out


def _feature_names(features, model) -> tuple[str, ...]:
    """The features to fit: the given ones or the defaults; for a model that resets (no
    spike shape), without `peak_voltage`."""
    if features is None:
        names = DEFAULT_FEATURES
        if isinstance(model, AbstractSpikingNeuron):
            names = tuple(n for n in names if n != "peak_voltage")
        return names
    return (features,) if isinstance(features, str) else tuple(features)


def _sweep_feature_names(names, spikes: int) -> list[str]:
    """The features a sweep with `spikes` recorded spikes is scored on: the input
    resistance only where it does not spike (a spike during the window's end makes it
    meaningless)."""
    return [n for n in names if n != "ohmic_input_resistance" or spikes == 0]


def _data_spike_times(model, t, v):
    """The recording's spike times for a model that resets (upward crossings of eFEL's
    threshold, where the model's own spike times are threshold crossings), else None (its
    features come from the voltage, as eFEL computes them)."""
    return _spike_times(t, v) if isinstance(model, AbstractSpikingNeuron) else None


def _feature_losses(recording, train, data_v, grid, window, model, *, features,
                    feature_sd, penalty, smoothing):
    names = _feature_names(features, model)
    unknown = [n for n in names if n not in SMOOTH_FEATURES]
    if unknown or not names:
        raise ValueError(f"features must name features with a differentiable form, from "
                         f"{list(SMOOTH_FEATURES)}; got {list(names)}")
    if feature_sd is not None:
        extra = sorted(set(feature_sd) - set(names))
        if extra:
            raise ValueError(f"feature_sd names features that are not fitted: {extra}")
    losses, targets = [], []
    for i in train:
        current = _amplitude_nA(recording[i], window)
        spikes = _spike_count(grid.ts, data_v[i], window)
        use = _sweep_feature_names(names, spikes)
        recorded = _recorded_features(grid.ts, data_v[i], use, window, current,
                                      _data_spike_times(model, grid.ts, data_v[i]))
        if not recorded:
            raise ValueError(f"features: none of {list(use)} is defined on sweep {i}; pick "
                             "other features or another loss")
        sds = _feature_sds(recorded, feature_sd)
        keys = tuple(recorded)
        reset = isinstance(model, AbstractSpikingNeuron)
        losses.append(_SweepFeatureLoss(
            names=keys, window=window,
            spike_names=tuple(k for k in keys if reset and k in SPIKE_TIME_FEATURES),
            stimulus_current=current if "ohmic_input_resistance" in keys else None,
            smoothing=smoothing, penalty=penalty))
        targets.append((jnp.asarray([recorded[k] for k in keys]),
                        jnp.asarray([sds[k] for k in keys])))
    return tuple(losses), tuple(targets)


class RecordingObjective(eqx.Module):
    """The loss of one parameter set on a recording's sweeps (simulated together under
    `jax.vmap`): the per-sweep losses averaged (summed for the feature loss), inf where a
    sweep's run failed. Build it with `recording_objective`; works under `jax.grad`,
    `jax.vmap` (over `theta`) and `jax.jit` of a function that calls it
    (`jax.jit(jax.vmap(objective))`, `eqx.filter_jit(objective)`: the module itself is not
    a hashable static argument).

    **Fields:** `names` (the parameters, in `theta`'s order), `loss_name`, `window` (the
    stimulus window, ms), `data_v` `(n_sweeps, n)` (the recorded voltage of every sweep on
    the save grid, mV), and what the simulation needs.
    """

    model: AbstractNeuron
    stimuli: object
    targets: tuple
    names: tuple[str, ...] = eqx.field(static=True)
    sweep_losses: tuple = eqx.field(static=True)
    summed: bool = eqx.field(static=True)
    loss_name: str = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    simulate_items: tuple = eqx.field(static=True)
    grid: Grid = eqx.field(static=True)
    window: tuple[float, float] = eqx.field(static=True)
    data_v: np.ndarray

    def __call__(self, theta) -> jax.Array:
        """The loss at `theta` `(dim,)` (values in the order of `names`)."""
        return self.objective({n: theta[i] for i, n in enumerate(self.names)})

    def objective(self, values: dict) -> jax.Array:
        """The loss of the model with the parameter `values` (name -> scalar)."""
        model = replace_parameters(self.model, values)
        traces = _simulate_batch(model, self.stimuli, self.t1, self.simulate_items)
        per_sweep = []
        for i, (loss, target) in enumerate(zip(self.sweep_losses, self.targets, strict=True)):
            trace = jax.tree.map(lambda x, i=i: x[i], traces)
            per_sweep.append(jnp.where(trace.ok, loss(trace, target), jnp.inf))
        total = jnp.sum(jnp.stack(per_sweep))
        return total if self.summed else total / len(per_sweep)


def _simulate_batch(model, stimuli, t1, simulate_items):
    return jax.vmap(lambda s: simulate(model, s, t1=t1, **dict(simulate_items)))(stimuli)


_simulate_all = eqx.filter_jit(_simulate_batch)


# ---------------------------------------------------------------- reports


def _spike_times(t, v, threshold: float = SPIKE_THRESHOLD) -> np.ndarray:
    """Upward crossings of `threshold` (ms), linearly interpolated between samples."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    up = np.flatnonzero((v[:-1] < threshold) & (v[1:] >= threshold))
    frac = (threshold - v[up]) / (v[up + 1] - v[up])
    return t[up] + frac * (t[up + 1] - t[up])


def _model_spike_times(model, trace_i, ts, v) -> np.ndarray:
    """The fitted model's spike times: its own threshold crossings for a model that resets
    (its voltage on the save grid misses the spike), else the crossings of its voltage."""
    if isinstance(model, AbstractSpikingNeuron):
        times = np.asarray(trace_i.spike_times, float)
        return times[np.isfinite(times)]
    return _spike_times(ts, v)


def _reports(recording, traces, data_v, grid, window, train, held, fitted, *, feature_sd,
             features):
    names = _feature_names(features, fitted)
    reports = []
    for i in sorted(train + held):
        trace_i = jax.tree.map(lambda x, i=i: x[i], traces)
        model_v = np.asarray(trace_i.v, float)
        data_spikes = _spike_times(grid.ts, data_v[i])
        model_spikes = _model_spike_times(fitted, trace_i, grid.ts, model_v)
        k = min(len(data_spikes), len(model_spikes))
        diffs = np.abs(data_spikes[:k] - model_spikes[:k])
        current = _amplitude_nA(recording[i], window)
        reset = isinstance(fitted, AbstractSpikingNeuron)
        recorded = _recorded_features(grid.ts, data_v[i],
                                      _sweep_feature_names(names, len(data_spikes)), window,
                                      current, data_spikes if reset else None)
        sds = _feature_sds(recorded, feature_sd)
        simulated = (_recorded_features(grid.ts, model_v, tuple(recorded), window, current,
                                        model_spikes if reset else None)
                     if np.all(np.isfinite(model_v)) else {})
        feats = {}
        for name, value in recorded.items():
            fitted_value = simulated.get(name)
            z = (abs(fitted_value - value) / sds[name]) if fitted_value is not None else None
            feats[name] = {"data": value, "model": fitted_value, "zscore": z}
        reports.append({
            "index": i, "role": "train" if i in train else "holdout",
            "name": recording[i].name, "ok": bool(trace_i.ok),
            "voltage_rmse": float(np.sqrt(np.mean((model_v - data_v[i]) ** 2))),
            "spikes_data": len(data_spikes), "spikes_model": len(model_spikes),
            "spike_count_error": len(model_spikes) - len(data_spikes),
            "spike_time_error": float(np.mean(diffs)) if k else None,
            "spike_time_error_max": float(np.max(diffs)) if k else None,
            "spike_times_data": data_spikes.tolist(),
            "spike_times_model": model_spikes.tolist(),
            "features": feats,
        })
    return reports


def _pooled(reports, role) -> dict | None:
    rows = [r for r in reports if r["role"] == role]
    if not rows:
        return None
    times = [r["spike_time_error_max"] for r in rows if r["spike_time_error_max"] is not None]
    zs = [f["zscore"] for r in rows for f in r["features"].values() if f["zscore"] is not None]
    return {
        "sweeps": [r["index"] for r in rows],
        "voltage_rmse": float(np.sqrt(np.mean([r["voltage_rmse"] ** 2 for r in rows]))),
        "spike_count_error": int(sum(abs(r["spike_count_error"]) for r in rows)),
        "spike_time_error_max": max(times) if times else None,
        "feature_zscore_mean": float(np.mean(zs)) if zs else None,
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
