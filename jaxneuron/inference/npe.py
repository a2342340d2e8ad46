"""Amortized neural posterior estimation (NPE) with a conditional normalizing flow.

1. `simulate_observations`: draw parameters from a `Prior`, simulate them in one batched
   `jaxneuron.sweep`, add Gaussian observation noise, and optionally reduce each noisy
   observation to features (e.g. `analysis.summaries.HHSummaries`).
2. `train_npe`: fit a flowjax masked autoregressive flow with rational-quadratic spline
   transformers, $q(\\theta \\mid x)$, by maximum likelihood with Optax on the simulated
   pairs, optionally with a learned MLP embedding of x trained jointly.
3. `NPEPosterior.sample(key, x_obs, n)`: posterior draws for any new observation, in
   milliseconds, without new simulations.

On a recording: pass the `Recording` in the stimulus's place (its sweeps are simulated on
its grid, as `run_nuts` and `fit_recording` do) and a summary such as
`summaries.FeatureSummary.of(recording)` (exact eFEL features of every sweep); then
`posterior.sample(key, summary(recording), n)` is the posterior given the recording.

The flow lives in a standardised unconstrained space: parameters are mapped through the
prior's bijections (logit of the bounds) and standardised, observations are standardised.
Draws therefore always respect the prior bounds, and `log_prob` includes the Jacobian.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import paramax
from flowjax.bijections import RationalQuadraticSpline
from flowjax.distributions import Normal
from flowjax.flows import masked_autoregressive_flow
from tqdm.auto import tqdm

from .._checks import check_int, check_real, is_concrete
from .._keys import check_key
from ..models.base import AbstractNeuron
from ..observed import check_observed
from ..recordings import Recording
from ..stimuli import AbstractStimulus
from ..sweep import sweep
from ..trace import Trace
from .bayes import _simulation, voltage
from .priors import Prior


def simulate_observations(
    model: AbstractNeuron,
    stimulus: AbstractStimulus | Recording,
    prior: Prior,
    theta,
    *,
    key: jax.Array,
    t1: float | None = None,
    noise_std: float = 0.0,
    observable: Callable[[Trace], jax.Array] = voltage,
    features: Callable[[jax.Array], jax.Array] | None = None,
    summary: Callable[[np.ndarray], np.ndarray] | None = None,
    sweeps=None,
    area_cm2: float | None = None,
    capacitance_pF: float | None = None,
    scale=None,
    chunk_size: int = 10_000,
    progress: bool = True,
    **simulate_kwargs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy observations of the simulations at parameter sets `theta` `(n, dim)`.

    Each observation is `summary(features(observable(trace) + noise_std * eps))`, eps ~
    N(0, 1): with the defaults, V (mV) on the save grid plus Gaussian noise, the same
    observation model as `bayes.likelihood_model` with a fixed sigma.

    **Arguments:**
    - `stimulus`: the input; or a `Recording`, whose `sweeps` (default all) are each
      simulated on its grid (`t0`, `t1`, `save_every` from it; `dt` defaults to the
      sampling interval split into steps of at most 0.025 ms), one observation then
      holding every sweep: `(n_sweeps, ...)` before `features`/`summary`.
    - `theta`: parameter sets `(n, prior.dim)`, e.g. `prior.sample(key, n)`.
    - `key`: PRNG key of the noise.
    - `t1`, `simulate_kwargs`: passed to `sweep`/`simulate`; give `save_every` (the sweep
      otherwise keeps only the end points).
    - `noise_std`: observation noise (unit of the observable), >= 0.
    - `observable`: `Trace -> (k,)` array, default V on the save grid.
    - `features`: optional JAX function of one noisy observation (vmapped, jitted).
    - `summary`: optional NumPy function of one observation, applied row by row after
      `features`, e.g. `summaries.FeatureSummary` (exact eFEL features of every sweep).
    - `sweeps`, `area_cm2`, `capacitance_pF`, `scale`: with a recording only: the sweeps
      and the current conversion (`Recording.stimulus`).

    **Returns:** `(theta, x, ok)`: the parameter sets `(n, dim)`, observations `(n, m)`
    (a recording's `(n_sweeps, k)` flattened), and `ok` `(n,)`, False where a simulation
    failed or a feature is not finite (drop those rows before training).

    **Raises:** `ValueError` for a bad `theta` shape, a negative `noise_std`, prior names
    that are not fields of `model`, and for a recording as `run_nuts`.
    """
    prior.check(model)
    check_key(key)
    theta = check_observed("theta", theta, shape=(None, prior.dim), min_length=1)
    noise_std = check_real("noise_std", noise_std, ge=0)
    simulation = _simulation(model, stimulus, t1, sweeps,
                             {"area_cm2": area_cm2, "capacitance_pF": capacitance_pF,
                              "scale": scale}, simulate_kwargs)
    params = {n: theta[:, i] for i, n in enumerate(prior.names)}
    stimuli = ([jax.tree.map(lambda leaf, i=i: leaf[i], simulation.stimulus)
                for i in range(simulation.data.shape[0])] if simulation.batched
               else [simulation.stimulus])
    results = [sweep(model, params, s, summary=lambda trace: {"x": observable(trace)},
                     t1=simulation.t1, chunk_size=chunk_size, progress=progress,
                     **simulation.kwargs) for s in stimuli]
    clean = jnp.stack([jnp.asarray(r.summaries["x"]) for r in results], axis=1)
    if not simulation.batched:
        clean = clean[:, 0]
    x = clean + noise_std * jax.random.normal(key, clean.shape, clean.dtype)
    if features is not None:
        x = jax.jit(jax.vmap(features))(x)
    x = np.asarray(x)
    if summary is not None:
        rows = [np.asarray(summary(row), dtype=float).reshape(-1)
                if np.all(np.isfinite(row)) else None for row in x]  # None: a failed run
        size = next((row.size for row in rows if row is not None), 1)
        x = np.stack([np.full(size, np.nan) if row is None else row for row in rows])
    if x.ndim > 2:  # a recording's sweeps, (n, n_sweeps, k) -> (n, n_sweeps * k)
        x = x.reshape(x.shape[0], -1)
    ok = np.all([r.ok for r in results], axis=0) & np.all(
        np.isfinite(x.reshape(x.shape[0], -1)), axis=1)
    return theta, x, ok


class NPEPosterior(eqx.Module):
    """An amortized posterior $q(\\theta \\mid x)$ from `train_npe`.

    **Fields:** `flow` (flowjax conditional flow on standardised unconstrained parameters),
    `embedding` (MLP on the standardised observation, or None), `prior`, and the
    standardisation constants `x_mean`, `x_std` `(m,)`, `u_mean`, `u_std` `(dim,)`.
    """

    flow: eqx.Module
    embedding: eqx.Module | None
    prior: Prior
    x_mean: jax.Array
    x_std: jax.Array
    u_mean: jax.Array
    u_std: jax.Array

    def _condition(self, x):
        m = self.x_mean.shape[0]
        if np.ndim(x) < 1 or np.shape(x)[-1] != m:
            raise ValueError(f"x must have shape (..., {m}); got shape {np.shape(x)}")
        check_observed("x", x)  # finite (when concrete)
        x = jnp.asarray(x, dtype=self.x_mean.dtype)
        c = (x - self.x_mean) / self.x_std
        if self.embedding is None:
            return c
        embed = paramax.unwrap(self.embedding)
        return jnp.vectorize(embed, signature="(m)->(e)")(c)

    def sample(self, key: jax.Array, x, n: int) -> jax.Array:
        """`n` posterior draws for one observation `x` `(m,)`: `theta` `(n, dim)`, inside
        the prior bounds. Jitted; a new `n` recompiles.

        **Raises:** `ValueError` for an `x` of the wrong shape or with NaN/inf values, or
        an `n` that is not an int >= 1."""
        if is_concrete(x):  # checks x before compiling
            check_observed("x", x, shape=self.x_mean.shape)
        return self._sample(key, x, check_int("n", n, 1))

    @eqx.filter_jit
    def _sample(self, key: jax.Array, x, n: int) -> jax.Array:
        c = self._condition(x)
        z = paramax.unwrap(self.flow).sample(key, (n,), condition=c)
        return self.prior.from_unconstrained(self.u_mean + self.u_std * z)

    def sample_many(self, key: jax.Array, xs, n: int) -> jax.Array:
        """`n` draws for each of the observations `xs` `(n_obs, m)`: `(n_obs, n, dim)`."""
        xs = check_observed("xs", xs, shape=("n_obs", self.x_mean.shape[0]))
        n = check_int("n", n, 1)
        keys = jax.random.split(key, xs.shape[0])
        return jax.lax.map(lambda a: self.sample(a[0], a[1], n), (keys, jnp.asarray(xs)))

    @eqx.filter_jit
    def log_prob(self, theta, x) -> jax.Array:
        """Log posterior density of `theta` `(..., dim)` given `x` `(..., m)` (broadcast);
        -inf outside the prior bounds."""
        theta = jnp.asarray(theta, dtype=self.u_mean.dtype)
        inside = self.prior.contains(theta)
        theta = jnp.where(inside[..., None], theta, 0.5 * (self.prior.low + self.prior.high))
        u = self.prior.to_unconstrained(theta)
        z = (u - self.u_mean) / self.u_std
        logq = paramax.unwrap(self.flow).log_prob(z, self._condition(x))
        logq = logq - jnp.sum(jnp.log(self.u_std)) - self.prior.log_abs_det_jacobian(u)
        return jnp.where(inside, logq, -jnp.inf)


@dataclasses.dataclass
class TrainHistory:
    """Mean negative log likelihood per epoch on the training and validation sets, and the
    epoch whose parameters were kept (lowest validation loss)."""

    train: list[float]
    val: list[float]
    best_epoch: int


def train_npe(
    theta,
    x,
    prior: Prior,
    *,
    key: jax.Array,
    embedding_dim: int | None = None,
    embedding_width: int = 64,
    flow_layers: int = 5,
    nn_width: int = 64,
    knots: int = 8,
    optimizer: optax.GradientTransformation | None = None,
    batch_size: int = 256,
    max_epochs: int = 200,
    patience: int = 20,
    val_fraction: float = 0.1,
    augment: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    progress: bool = True,
) -> tuple[NPEPosterior, TrainHistory]:
    """Train a conditional flow $q(\\theta \\mid x)$ on simulated pairs.

    **Arguments:**
    - `theta`: `(n, dim)` parameters drawn from `prior`; `x`: `(n, m)` observations.
    - `key`: PRNG key (initialisation, validation split, shuffling).
    - `embedding_dim`: if given, an MLP (`embedding_width` wide, 2 hidden layers) maps
      the standardised x to this many features, trained with the flow; None conditions
      the flow on the standardised x directly.
    - `flow_layers`, `nn_width`, `knots`: masked autoregressive flow size, spline knots.
    - `optimizer`: any Optax transform (default: Adam with global-norm clipping 5 and a
      learning rate decaying from 1e-3 to 2e-5 over `max_epochs` on a cosine).
    - `batch_size`, `max_epochs`, `patience`, `val_fraction`: training loop; stops when
      the validation loss has not improved for `patience` epochs and keeps the best.
    - `augment`: optional `augment(key, x_batch) -> observations` that turns stored
      noise-free simulations into noisy observations (e.g. `x + sigma * N(0, 1)`, then
      summary features). It is applied afresh to every batch, so each epoch sees new
      noise draws of the same simulations: the simulation budget stays `n` while the
      flow cannot overfit one noise realisation. The validation set gets one fixed draw.

    **Returns:** `(posterior, history)`.

    **Raises:** `ValueError` for mismatched shapes, non-finite data, parameters outside
    the prior bounds, or too few rows for the split.
    """
    check_key(key)
    # NaN/inf rows are failed simulations: the caller drops them (`ok` of
    # `simulate_observations`)
    theta = jnp.asarray(check_observed("theta", theta, shape=(None, prior.dim)))
    x = jnp.asarray(check_observed("x", x, shape=(theta.shape[0], "m")))
    if not bool(jnp.all(prior.contains(theta))):
        raise ValueError("theta must lie strictly inside the prior bounds")
    val_fraction = check_real("val_fraction", val_fraction, gt=0, lt=1)
    for name, value in (("flow_layers", flow_layers), ("nn_width", nn_width),
                        ("knots", knots), ("embedding_width", embedding_width),
                        ("batch_size", batch_size), ("max_epochs", max_epochs),
                        ("patience", patience)):
        check_int(name, value, 1)
    if embedding_dim is not None:
        check_int("embedding_dim", embedding_dim, 1)
    n_val = int(round(val_fraction * theta.shape[0]))
    if n_val < 1 or theta.shape[0] - n_val < batch_size:
        raise ValueError(f"need at least batch_size = {batch_size} training rows plus a "
                         f"validation set; got n = {theta.shape[0]}")

    k_flow, k_embed, k_split, k_train, k_noise = jax.random.split(key, 5)
    observe = (lambda _, batch: batch) if augment is None else augment
    x_seen = jnp.asarray(observe(k_noise, x), dtype=float)
    if x_seen.ndim != 2 or x_seen.shape[0] != x.shape[0]:
        raise ValueError(f"augment must map x {x.shape} to (n, m) observations; got "
                         f"{x_seen.shape}")
    u = prior.to_unconstrained(theta)
    x_mean, x_std = jnp.mean(x_seen, 0), jnp.std(x_seen, 0)
    x_std = jnp.where(x_std > 0, x_std, 1.0)
    u_mean, u_std = jnp.mean(u, 0), jnp.std(u, 0)
    z = (u - u_mean) / u_std

    cond_dim = x_seen.shape[1] if embedding_dim is None else embedding_dim
    flow = masked_autoregressive_flow(
        k_flow, base_dist=Normal(jnp.zeros(prior.dim)),
        transformer=RationalQuadraticSpline(knots=knots, interval=4.0),
        cond_dim=cond_dim, flow_layers=flow_layers, nn_width=nn_width)
    embedding = None if embedding_dim is None else eqx.nn.MLP(
        x_seen.shape[1], embedding_dim, embedding_width, depth=2, activation=jax.nn.gelu,
        key=k_embed)
    posterior = NPEPosterior(flow=flow, embedding=embedding, prior=prior, x_mean=x_mean,
                             x_std=x_std, u_mean=u_mean, u_std=u_std)

    order = jax.random.permutation(k_split, theta.shape[0])
    val, train = order[:n_val], order[n_val:]
    z_train, x_train, z_val = z[train], x[train], z[val]
    c_val = (x_seen[val] - x_mean) / x_std
    n_batches = z_train.shape[0] // batch_size

    is_frozen = lambda leaf: isinstance(leaf, paramax.NonTrainable)  # noqa: E731
    params, static = eqx.partition((flow, embedding), eqx.is_inexact_array,
                                   is_leaf=is_frozen)
    if optimizer is None:
        schedule = optax.cosine_decay_schedule(1e-3, max_epochs * n_batches, alpha=0.02)
        optimizer = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(schedule))
    opt_state = optimizer.init(params)

    def nll(params, z_batch, c_batch):
        flow_, embed_ = paramax.unwrap(eqx.combine(params, static))
        cond = c_batch if embed_ is None else jax.vmap(embed_)(c_batch)
        return -jnp.mean(flow_.log_prob(z_batch, cond))

    @eqx.filter_jit
    def epoch(params, opt_state, key):
        k_perm, k_obs = jax.random.split(key)
        perm = jax.random.permutation(k_perm, z_train.shape[0])[: n_batches * batch_size]
        batches = (z_train[perm].reshape(n_batches, batch_size, -1),
                   x_train[perm].reshape(n_batches, batch_size, -1),
                   jax.random.split(k_obs, n_batches))

        def step(carry, batch):
            params, opt_state = carry
            z_batch, x_batch, k_batch = batch
            c_batch = (observe(k_batch, x_batch) - x_mean) / x_std
            loss, grads = jax.value_and_grad(nll)(params, z_batch, c_batch)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), batches)
        return params, opt_state, jnp.mean(losses), nll(params, z_val, c_val)

    history = TrainHistory(train=[], val=[], best_epoch=0)
    best = params
    bar = tqdm(range(max_epochs), desc="npe", disable=not progress)
    for i in bar:
        k_train, k_epoch = jax.random.split(k_train)
        params, opt_state, train_loss, val_loss = epoch(params, opt_state, k_epoch)
        history.train.append(float(train_loss))
        history.val.append(float(val_loss))
        if history.val[-1] <= min(history.val):
            best, history.best_epoch = params, i
        elif i - history.best_epoch >= patience:
            break
        bar.set_postfix(train=f"{history.train[-1]:.3f}", val=f"{history.val[-1]:.3f}")
    flow, embedding = eqx.combine(best, static)
    return dataclasses.replace(posterior, flow=flow, embedding=embedding), history
