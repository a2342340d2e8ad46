"""Likelihood-based inference through the solver: a NumPyro model and NUTS.

The NumPyro model draws the named parameters from a `Prior`, simulates the neuron with
`jaxneuron.simulate`, and scores the observation with independent Gaussian noise:
$y_k \\sim \\mathcal{N}(f_k(\\theta), \\sigma^2)$, where $f(\\theta)$ = `observable(trace)`
(the voltage on the save grid by default, or any summary of the trace) and $\\sigma$ is
fixed or inferred. NUTS differentiates the log density through the solver, in forward
mode by default (few parameters, many solver steps; see `jaxneuron.gradients`).
Diagnostics (R-hat, ESS, divergences) and the netCDF export go through ArviZ.
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
    stimulus: AbstractStimulus,
    prior: Prior,
    *,
    t1: float,
    sigma: float | None = None,
    sigma_prior: AbstractMarginal = DEFAULT_SIGMA_PRIOR,
    observable: Callable[[Trace], jax.Array] = voltage,
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
    - `model`, `stimulus`: the neuron (unlisted fields keep their values) and its input.
    - `prior`: priors of the inferred model fields.
    - `t1`, `simulate_kwargs`: passed to `simulate` (`dt`, `save_every`, `solver`, ...).
    - `sigma`: the noise standard deviation (a number, or an array broadcasting against
      the observable), or None to infer one shared sigma.
    - `observable`: maps the `Trace` to the predicted observation (default: V in mV).

    **Raises:** `ValueError` if a prior name is not a field of `model` or `sigma` <= 0.
    """
    prior.check(model)
    if sigma is not None and not np.all(np.isfinite(np.asarray(sigma, dtype=float))
                                        & (np.asarray(sigma, dtype=float) > 0)):
        raise ValueError(f"sigma must be > 0 and finite (or None to infer it); got {sigma!r}")
    if not isinstance(sigma_prior, AbstractMarginal):
        raise ValueError(f"sigma_prior must be Uniform or LogUniform; got {sigma_prior!r}")
    simulate_kwargs["throw"] = False

    def numpyro_model(observed=None):
        values = {name: marginal.numpyro_site(name)
                  for name, marginal in zip(prior.names, prior.marginals, strict=True)}
        trace = simulate(replace_parameters(model, values), stimulus, t1=t1,
                         **simulate_kwargs)
        predicted = observable(trace)
        noise = sigma_prior.numpyro_site(SIGMA) if sigma is None else sigma
        numpyro.factor("simulation_ok", jnp.where(trace.ok, 0.0, -jnp.inf))
        predicted = jnp.where(trace.ok, predicted, 0.0)
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
    """NUTS for one model, stimulus, prior and likelihood, to `run` on one observation
    after another (for calibration over many observations). The model is traced with its
    arguments as inputs (`jit_model_args`), but NumPyro still compiles its initialisation
    and sampling loops again on each `run` (10–20 s on a 2-core CPU for HH).

    **Arguments:**
    - `model`, `stimulus`, `prior`, `t1`, `sigma`, `sigma_prior`, `observable`,
      `simulate_kwargs`: see `likelihood_model`.
    - `num_warmup`, `num_samples`, `num_chains`: NUTS sizes (draws are per chain).
    - `chain_method`: `"vectorized"` (chains vmapped in one compiled loop, best on one
      device), `"parallel"` (one device each) or `"sequential"`.
    - `target_accept`, `max_tree_depth`: NUTS settings; `dense_mass`: adapt a full mass
      matrix (default True: conductances are often strongly correlated).
    - `gradient`: `"forward"` (jvp through the solver; default) or `"reverse"`.

    **Raises:** `ValueError` for unknown names, bad sizes, chain method or gradient mode.
    Not jit/vmap-able (it drives NumPyro's MCMC); everything inside is jitted.
    """

    def __init__(
        self,
        model: AbstractNeuron,
        stimulus: AbstractStimulus,
        *,
        prior: Prior,
        t1: float,
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
        numpyro_model = likelihood_model(model, stimulus, prior, t1=t1, sigma=sigma,
                                         sigma_prior=sigma_prior, observable=observable,
                                         **simulate_kwargs)
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
        predicted = jax.eval_shape(lambda: observable(simulate(model, stimulus, t1=t1,
                                                               **simulate_kwargs)))
        self.observed_shape = tuple(predicted.shape)
        """The shape `run` needs of `observed`: that of `observable(trace)`."""
        if sigma is not None and _broadcast(np.shape(sigma), self.observed_shape) != (
                self.observed_shape):
            raise ValueError(f"sigma must be a number or an array that broadcasts to the "
                             f"observable's shape {self.observed_shape}; got shape "
                             f"{np.shape(sigma)}")

    def run(self, observed, *, key: jax.Array, init: dict | None = None) -> NutsResult:
        """Sample the posterior given `observed` (same shape as `observable(trace)`).

        `key`: a JAX PRNG key. `init`: starting values, {site: value or `(num_chains,)`
        values} in the parameter's units (e.g. `fit_restarts(...).top(num_chains)`);
        default: NumPyro's uniform draw in (-2, 2) in the unconstrained space.

        **Raises:** `ValueError` for an `observed` that is not finite or not of the shape
        `observed_shape` of `observable(trace)` (see `jaxneuron.observed.check_observed`),
        init values outside the prior bounds or wrong names.
        """
        check_key(key)
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


def run_nuts(model: AbstractNeuron, stimulus: AbstractStimulus, observed, *, key: jax.Array,
             init: dict | None = None, **options) -> NutsResult:
    """Sample the posterior of `prior.names` (and sigma) given `observed` with NUTS:
    `NutsSampler(model, stimulus, **options).run(observed, key=key, init=init)`; see
    `NutsSampler` for the options (`prior` and `t1` are required)."""
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
