"""Likelihood-based inference through the solver: a NumPyro model and NUTS.

The NumPyro model draws the named parameters from a `Prior`, simulates the neuron with
`jaxneuron.simulate`, and scores the observation with independent Gaussian noise:
$y_k \\sim \\mathcal{N}(f_k(\\theta), \\sigma^2)$, where $f(\\theta)$ = `observable(trace)`
(the voltage on the save grid by default, or any summary of the trace) and $\\sigma$ is
fixed or inferred. NUTS differentiates the log density through the solver, in forward
mode by default (few parameters, many solver steps; see `jaxneuron.gradients`).
Diagnostics (R-hat, ESS, divergences) and the netCDF export go through ArviZ.

A `jaxneuron.recordings.Recording` can take the stimulus's place: the selected sweeps are
simulated together under `jax.vmap` on the recording's grid (the one `fit_recording`
uses: from the first sample to the last, saved at every sample), the observation is every
sweep's voltage jointly, `(n_sweeps, n_save)`, with one shared noise sigma, and it defaults
to the recorded voltages, so a fit can be followed by a posterior on the same data.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from .._checks import check_int, check_real
from .._fields import replace_parameters
from .._keys import check_key
from ..engines import with_engine
from ..models.base import AbstractNeuron
from ..observed import check_observed
from ..recordings import Recording
from ..recordings._grid import Grid, sweep_indices
from ..simulate import simulate
from ..stimuli import AbstractStimulus
from ..trace import Trace
from .priors import AbstractMarginal, LogUniform, Prior

if TYPE_CHECKING:
    import arviz


def _arviz():
    """ArviZ, imported on first use (it adds ~1.5 s to `import jaxneuron`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ArviZ announces its 1.0 refactor
        import arviz

    return arviz

CHAIN_METHODS = ("sequential", "parallel", "vectorized")
SIGMA = "sigma"
DEFAULT_SIGMA_PRIOR = LogUniform(0.1, 50.0)  # noise sd, unit of the observable


def voltage(trace: Trace) -> jax.Array:
    """The default observable: V (mV) on the save grid, shape `(n_save,)`."""
    return trace.v


def likelihood_model(
    model: AbstractNeuron,
    stimulus: AbstractStimulus | Recording,
    prior: Prior,
    *,
    t1: float | None = None,
    sigma: float | None = None,
    sigma_prior: AbstractMarginal = DEFAULT_SIGMA_PRIOR,
    observable: Callable[[Trace], jax.Array] = voltage,
    sweeps=None,
    area_cm2: float | None = None,
    capacitance_pF: float | None = None,
    scale=None,
    **simulate_kwargs,
) -> Callable:
    """A NumPyro model `fn(observed=None)` of the noisy observable of a simulation.

    Sites: one per name of `prior`, `"sigma"` when `sigma` is None (drawn from
    `sigma_prior`, in the observable's unit), and the observed site `"obs"`; a log-uniform
    parameter is sampled as `<name>_log` (uniform in log space, where NUTS moves) with
    `<name>` its deterministic exponential (see `LogUniform.numpyro_site`). A failed
    simulation (non-finite state) gets zero likelihood. With `observed=None` the model
    draws from the prior predictive.

    **Arguments:**
    - `model`: the neuron (unlisted fields keep their values).
    - `stimulus`: its input; or a `Recording`, whose `sweeps` (indices, default all) are
      simulated together (`jax.vmap`) on the recording's grid, the observation then being
      `observable` of every sweep, `(n_sweeps, ...)` (V: `(n_sweeps, n_save)`, mV).
    - `prior`: priors of the inferred model fields.
    - `t1`, `simulate_kwargs`: passed to `simulate` (`dt`, `save_every`, `solver`, ...).
      With a recording, `t0`, `t1` and `save_every` come from its grid (not given) and
      `dt` defaults to the sampling interval split into steps of at most 0.025 ms.
    - `sigma`: the noise standard deviation (a number, or an array broadcasting against
      the observable), or None to infer one shared sigma.
    - `observable`: maps the `Trace` to the predicted observation (default: V in mV).
    - `sweeps`, `area_cm2`, `capacitance_pF`, `scale`: with a recording only: the sweeps
      and the current conversion (`Recording.stimulus`).

    **Raises:** `ValueError` if a prior name is not a field of `model` or `sigma` <= 0,
    and for a recording as `NutsSampler`.
    """
    simulation = _simulation(model, stimulus, t1, sweeps,
                             {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF,
                              "scale": scale}, simulate_kwargs)
    return _likelihood(model, simulation, prior, sigma, sigma_prior, observable)


@dataclasses.dataclass(frozen=True)
class _Simulation:
    """What one likelihood evaluation simulates: one stimulus, or a batch of a recording's
    sweeps (`data`: their voltages on the grid, `(n_sweeps, n_save)` mV)."""

    stimulus: object
    t1: float
    kwargs: dict
    batched: bool
    data: np.ndarray | None = None

    def predict(self, model, observable):
        """`(observable of the run(s), all runs ok)`."""
        run = lambda s: simulate(model, s, t1=self.t1, **self.kwargs)  # noqa: E731
        if not self.batched:
            trace = run(self.stimulus)
            return observable(trace), trace.ok
        traces = jax.vmap(run)(self.stimulus)
        return jax.vmap(observable)(traces), jnp.all(traces.ok)


def _simulation(model, stimulus, t1, sweeps, conversion: dict,
                simulate_kwargs: dict) -> _Simulation:
    simulate_kwargs = {**simulate_kwargs, "throw": False}
    if not isinstance(stimulus, Recording):
        given = sorted(k for k, v in {"sweeps": sweeps, **conversion}.items()
                       if v is not None)
        if given:
            raise ValueError(f"{given[0]} is an option of the recording form (a Recording "
                             f"in place of the stimulus); got it with a "
                             f"{type(stimulus).__name__}")
        if t1 is None:
            raise ValueError("t1 is required with a stimulus (the end time, ms)")
        return _Simulation(stimulus, t1, simulate_kwargs, batched=False)
    recording = stimulus
    given = [k for k in ("t1", "t0", "save_every")
             if (t1 if k == "t1" else simulate_kwargs.get(k)) is not None]
    if given:
        raise ValueError(f"{given[0]} comes from the recording's grid (its first and last "
                         f"samples and the sampling interval {recording.dt_ms:g} ms); do not "
                         "give it with a recording")
    recording._check_equal("recording")
    selected = tuple(range(len(recording))) if sweeps is None else sweep_indices(
        "sweeps", sweeps, len(recording), allow_empty=False)
    recording = recording.select(list(selected))
    missing = [i for i, s in zip(selected, recording, strict=True) if s.current is None]
    if missing:
        raise ValueError(f"recording: sweep {missing[0]} has no current (read as "
                         "voltage-only data); the likelihood needs the injected current "
                         "of every selected sweep")
    grid = Grid.of(recording, simulate_kwargs.pop("dt", None))
    stimuli = recording.stimulus(model, **conversion)
    return _Simulation(stimuli, grid.t1, {**grid.simulate_kwargs(), **simulate_kwargs},
                       batched=True, data=recording.voltages_on(grid.ts))


def _likelihood(model, simulation: _Simulation, prior: Prior, sigma, sigma_prior,
                observable) -> Callable:
    prior.check(model)
    if sigma is not None and not np.all(np.isfinite(np.asarray(sigma, dtype=float))
                                        & (np.asarray(sigma, dtype=float) > 0)):
        raise ValueError(f"sigma must be > 0 and finite (or None to infer it); got {sigma!r}")
    if not isinstance(sigma_prior, AbstractMarginal):
        raise ValueError(f"sigma_prior must be Uniform or LogUniform; got {sigma_prior!r}")

    def numpyro_model(observed=None):
        values = {name: marginal.numpyro_site(name)
                  for name, marginal in zip(prior.names, prior.marginals, strict=True)}
        predicted, ok = simulation.predict(replace_parameters(model, values), observable)
        noise = sigma_prior.numpyro_site(SIGMA) if sigma is None else sigma
        numpyro.factor("simulation_ok", jnp.where(ok, 0.0, -jnp.inf))
        predicted = jnp.where(ok, predicted, 0.0)
        numpyro.sample("obs", dist.Normal(predicted, noise).to_event(predicted.ndim),
                       obs=observed)

    return numpyro_model


@dataclasses.dataclass
class NutsResult:
    """Posterior draws from `run_nuts`.

    **Fields:**
    - `samples`: site name -> draws `(n_chains, n_draws)`.
    - `names`: the inferred site names (prior names, then `"sigma"` if inferred).
    - `inference_data`: the ArviZ `InferenceData` (groups posterior, sample_stats and
      observed_data; no pointwise log-likelihood, which would cost one more compiled
      simulation pass per draw).
    - `seconds`: wall time of warm-up plus sampling, compilation included.
    """

    samples: dict[str, np.ndarray]
    names: tuple[str, ...]
    inference_data: arviz.InferenceData
    seconds: float

    def flat(self, names=None) -> np.ndarray:
        """Draws of `names` (default: all inferred sites) pooled over chains,
        `(n_chains * n_draws, len(names))`."""
        names = self.names if names is None else tuple(names)
        return np.stack([self.samples[n].reshape(-1) for n in names], axis=-1)

    @property
    def divergences(self) -> int:
        """Number of divergent transitions after warm-up, all chains."""
        return int(self.inference_data.sample_stats["diverging"].values.sum())

    def summary(self):
        """ArviZ summary table (pandas DataFrame): mean, sd, 94 % HDI, MCSE, ESS, R-hat."""
        return _arviz().summary(self.inference_data, var_names=list(self.names))

    def diagnostics(self) -> dict:
        """R-hat, bulk ESS per site, and the divergence count."""
        az = _arviz()
        rhat = az.rhat(self.inference_data, var_names=list(self.names))
        ess = az.ess(self.inference_data, var_names=list(self.names))
        return {"rhat": {n: float(rhat[n]) for n in self.names},
                "ess_bulk": {n: float(ess[n]) for n in self.names},
                "divergences": self.divergences}

    def to_netcdf(self, path) -> None:
        """Write the InferenceData as netCDF (h5netcdf or netCDF4 engine)."""
        self.inference_data.to_netcdf(str(path))


class NutsSampler:
    """NUTS for one model, stimulus (or recording), prior and likelihood, to `run` on one
    observation after another (for calibration over many observations). The model is
    traced with its arguments as inputs (`jit_model_args`), but NumPyro still compiles its
    initialisation and sampling loops again on each `run` (10–20 s on a 2-core CPU for HH).

    **Arguments:**
    - `model`, `stimulus`, `prior`, `t1`, `sigma`, `sigma_prior`, `observable`, `sweeps`,
      `area_cm2`, `capacitance_pF`, `scale`, `simulate_kwargs`: see `likelihood_model`.
      `stimulus` may be a `jaxneuron.recordings.Recording`: its selected sweeps are
      simulated together on its grid (no `t1`), and `run` observes every sweep jointly.
    - `num_warmup`, `num_samples`, `num_chains`: NUTS sizes (draws are per chain).
    - `chain_method`: `"vectorized"` (chains vmapped in one compiled loop, best on one
      device), `"parallel"` (one device each) or `"sequential"`.
    - `target_accept`, `max_tree_depth`: NUTS settings; `dense_mass`: adapt a full mass
      matrix (default True: conductances are often strongly correlated).
    - `gradient`: `"forward"` (jvp through the solver; default) or `"reverse"`.

    **Raises:** `ValueError` for unknown names, bad sizes, chain method or gradient mode;
    with a recording, for `sweeps` that name no sweep or repeat one, a selected sweep
    without current, sweeps of different lengths, `t1`/`t0`/`save_every` given, a `dt`
    that does not divide the sampling interval, or a current unit that does not convert.
    Not jit/vmap-able (it drives NumPyro's MCMC); everything inside is jitted.
    """

    def __init__(
        self,
        model: AbstractNeuron,
        stimulus: AbstractStimulus | Recording,
        *,
        prior: Prior,
        t1: float | None = None,
        sigma: float | None = None,
        sigma_prior: AbstractMarginal = DEFAULT_SIGMA_PRIOR,
        observable: Callable[[Trace], jax.Array] = voltage,
        num_warmup: int = 500,
        num_samples: int = 500,
        num_chains: int = 4,
        chain_method: str = "vectorized",
        target_accept: float = 0.8,
        max_tree_depth: int = 8,
        dense_mass: bool = True,
        gradient: str = "forward",
        progress: bool = False,
        sweeps=None,
        area_cm2: float | None = None,
        capacitance_pF: float | None = None,
        scale=None,
        **simulate_kwargs,
    ):
        num_warmup = check_int("num_warmup", num_warmup, 0)
        num_samples = check_int("num_samples", num_samples, 1)
        num_chains = check_int("num_chains", num_chains, 1)
        max_tree_depth = check_int("max_tree_depth", max_tree_depth, 1)
        if chain_method not in CHAIN_METHODS:
            raise ValueError(f"chain_method must be one of {CHAIN_METHODS}; got "
                             f"{chain_method!r}")
        if gradient not in ("forward", "reverse"):
            raise ValueError(f"gradient must be 'forward' or 'reverse'; got {gradient!r}")
        target_accept = check_real("target_accept", target_accept, gt=0, lt=1)
        if not isinstance(dense_mass, bool):
            raise ValueError(f"dense_mass must be True or False; got {dense_mass!r}")
        forward = gradient == "forward"
        simulate_kwargs = with_engine(model, simulate_kwargs, forward=forward)
        simulation = _simulation(model, stimulus, t1, sweeps,
                                 {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF,
                                  "scale": scale}, simulate_kwargs)
        numpyro_model = _likelihood(model, simulation, prior, sigma, sigma_prior, observable)
        kernel = NUTS(numpyro_model, target_accept_prob=target_accept,
                      max_tree_depth=max_tree_depth, dense_mass=dense_mass,
                      forward_mode_differentiation=forward)
        self.mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples,
                         num_chains=num_chains, chain_method=chain_method,
                         progress_bar=progress, jit_model_args=True)
        self.prior = prior
        self.names = prior.names + ((SIGMA,) if sigma is None else ())
        self._sigma_prior = sigma_prior if sigma is None else None
        self._num_chains = num_chains
        predicted = jax.eval_shape(lambda: simulation.predict(model, observable)[0])
        self.observed_shape = tuple(predicted.shape)
        """The shape `run` needs of `observed`: that of `observable(trace)` (with a
        recording, `(n_sweeps, ...)`)."""
        self.data = simulation.data
        """With a recording, its selected sweeps' voltages on the grid, `(n_sweeps,
        n_save)` mV (`run`'s default `observed` when the observable is the voltage);
        else None."""
        self._observable = observable
        if sigma is not None and _broadcast(np.shape(sigma), self.observed_shape) != (
                self.observed_shape):
            raise ValueError(f"sigma must be a number or an array that broadcasts to the "
                             f"observable's shape {self.observed_shape}; got shape "
                             f"{np.shape(sigma)}")

    def run(self, observed=None, *, key: jax.Array, init: dict | None = None) -> NutsResult:
        """Sample the posterior given `observed` (same shape as `observable(trace)`;
        default, with a recording and the voltage observable: the recorded voltages,
        `data`).

        `key`: a JAX PRNG key. `init`: starting values, {site: value or `(num_chains,)`
        values} in the parameter's units (e.g. `fit_restarts(...).top(num_chains)` or
        `fit_recording(...).restarts.top(num_chains)`); an inferred sigma left out starts
        at the centre of `sigma_prior` in its unconstrained coordinate; default: NumPyro's
        uniform draw in (-2, 2) in the unconstrained space.

        **Raises:** `ValueError` for an `observed` that is not finite or not of the shape
        `observed_shape` of `observable(trace)` (see `jaxneuron.observed.check_observed`),
        a missing `observed` (required with a stimulus or another observable), init values
        outside the prior bounds or wrong names.
        """
        check_key(key)
        if observed is None:
            if self.data is None or self._observable is not voltage:
                raise ValueError(f"observed is required (shape {self.observed_shape}); only "
                                 "a recording with the default voltage observable gives it")
            observed = self.data
        observed = jnp.asarray(check_observed("observed", observed,
                                              shape=self.observed_shape), dtype=float)
        init_params = None if init is None else _unconstrained_init(
            init, self.prior, self._sigma_prior, self._num_chains)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="There are not enough devices")
            self.mcmc.run(key, observed=observed, init_params=init_params,
                          extra_fields=("diverging",))
        samples = jax.tree.map(np.asarray, self.mcmc.get_samples(group_by_chain=True))
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = _arviz().from_numpyro(self.mcmc, log_likelihood=False)
        return NutsResult(samples={n: samples[n] for n in self.names}, names=self.names,
                          inference_data=idata, seconds=seconds)


def run_nuts(model: AbstractNeuron, stimulus: AbstractStimulus | Recording, observed=None, *,
             key: jax.Array, init: dict | None = None, **options) -> NutsResult:
    """Sample the posterior of `prior.names` (and sigma) given `observed` with NUTS:
    `NutsSampler(model, stimulus, **options).run(observed, key=key, init=init)`; see
    `NutsSampler` for the options (`prior` is required, and `t1` with a stimulus).

    `stimulus` may be a `jaxneuron.recordings.Recording`: the likelihood is then Gaussian
    noise on the voltage of every selected sweep (`sweeps=`, default all) jointly, the
    sweeps simulated together on the recording's grid (as `fit_recording`), and `observed`
    defaults to the recorded voltages `(n_sweeps, n_save)`. A fit, then its posterior::

        rec = jn.recordings.load("cell.nwb")
        fit = jn.fit_recording(rec, jn.LIF(), {"tau_m": (4, 30), "R": (3, 30)})
        prior = jn.inference.Prior({"tau_m": (4.0, 30.0), "R": (3.0, 30.0)})
        post = run_nuts(jn.LIF(), rec, key=jax.random.key(0), prior=prior, num_chains=2,
                        init=fit.restarts.top(2))
        post.summary()                                   # tau_m, R and sigma (mV)
    """
    check_key(key)
    return NutsSampler(model, stimulus, **options).run(observed, key=key, init=init)


def _broadcast(*shapes) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _unconstrained_init(init: dict, prior: Prior, sigma_prior, num_chains: int) -> dict:
    marginals = dict(zip(prior.names, prior.marginals, strict=True))
    if sigma_prior is not None:
        marginals[SIGMA] = sigma_prior
    if sigma_prior is not None and SIGMA not in init:  # e.g. a fit's top starts
        middle = sigma_prior.transform().forward(jnp.zeros(()))
        init = {**init, SIGMA: middle}
    missing = [n for n in marginals if n not in init]
    unknown = [n for n in init if n not in marginals]
    if missing or unknown:
        raise ValueError(f"init: needs exactly the sites {list(marginals)}; missing "
                         f"{missing}, unknown {unknown}")
    out = {}
    for name, marginal in marginals.items():
        value = jnp.broadcast_to(jnp.asarray(init[name], dtype=float), (num_chains,))
        if not bool(jnp.all((value > marginal.low) & (value < marginal.high))):
            raise ValueError(f"init[{name!r}] must lie inside the prior bounds "
                             f"({marginal.low}, {marginal.high}); got {init[name]!r}")
        for site, u in marginal.unconstrained_init(name, value).items():
            out[site] = u if num_chains > 1 else u[0]
    return out
