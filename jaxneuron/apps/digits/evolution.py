"""Training the layered classifier by evolution with evosax (>= 0.2 API: `ask`/`tell`).

A population of weight sets is evaluated in ONE vmapped call per generation (vmap over
candidate networks and over the images of a minibatch; all candidates see the same images
and Poisson spikes); fitness, minimised, is the cross-entropy of the scaled output spike
counts. Strategies:
- `"ga"`: evosax `SimpleGA` (truncation selection of the better half, Gaussian mutation,
  Such et al. 2017), a genetic algorithm as in the original proof of concept;
- `"openes"`: evosax `Open_ES` (Salimans et al. 2017: antithetic sampling, centred ranks,
  Adam on the search mean).
Every `eval_every` generations the current solution (the OpenES mean; the GA's best
candidate of the generation) is scored on the validation set; the best is returned. The
state is checkpointed then, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from tqdm.auto import tqdm

from ..._checks import check_int
from . import checkpoint as ckpt
from .digits import DigitsSplit
from .layered import LayeredNetwork, LayeredWeights, init_weights
from .training import TrainResult, cross_entropy, evaluate

STRATEGIES = ("ga", "openes")
GENERATIONS = {"ga": 300, "openes": 600}
"""Default number of generations per strategy (full runs)."""


def make_strategy(name: str, population_size: int, template: LayeredWeights, *,
                  sigma: float, learning_rate: float | optax.Schedule):
    """The evosax algorithm `name` for solutions shaped like `template`; `learning_rate`
    (OpenES's Adam step, nS) may be an Optax schedule over generations.

    **Raises:** `ValueError` for an unknown name or an odd OpenES population."""
    from evosax.algorithms import Open_ES, SimpleGA

    if name == "ga":
        return SimpleGA(population_size, template, std_schedule=optax.constant_schedule(sigma))
    if name == "openes":
        if population_size % 2:
            raise ValueError(f"population_size must be even for OpenES (antithetic "
                             f"pairs); got {population_size}")
        return Open_ES(population_size, template, optimizer=optax.adam(learning_rate),
                       std_schedule=optax.constant_schedule(sigma))
    raise ValueError(f"strategy must be one of {STRATEGIES}; got {name!r}")


def population_fitness(net: LayeredNetwork, population: LayeredWeights, images, labels,
                       key, *, scale: float = 2.0):
    """Fitness (cross-entropy, lower is better) and accuracy of every candidate
    (leading axis of `population`) on one minibatch, in one vmapped call."""
    readout = net.population_readout(population, images, key)
    return (cross_entropy(net, readout, labels, scale),
            jnp.mean(net.predict(readout) == labels, axis=-1))


def train(net: LayeredNetwork, split: DigitsSplit, *, strategy: str = "openes",
          quick: bool = False, key: jax.Array | None = None, generations: int | None = None,
          population_size: int = 64, batch_size: int = 64, sigma: float | None = None,
          learning_rate: float = 0.05, scale: float = 2.0, eval_every: int = 10,
          checkpoint: str | Path | None = None, log=print,
          progress: bool = True) -> TrainResult:
    """Evolve the weights of `net` on `split.x_train`.

    **Arguments:**
    - `strategy`: one of `STRATEGIES`.
    - `generations` (default `GENERATIONS[strategy]`; 20 with `quick`), `population_size`,
      `batch_size` (images
      per generation, a new random minibatch each generation).
    - `sigma`: mutation / search standard deviation (nS; default 0.03 for GA, 0.05 for
      OpenES); `learning_rate`: OpenES Adam step (nS), decayed on a cosine to 10 % over
      the generations.
    - `scale`: logits = `scale` x spike counts in the fitness.
    - `checkpoint`: file to save every `eval_every` generations and resume from.

    **Returns:** a `TrainResult` (`history` has one row per evaluated generation).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    if generations is None:
        generations = 20 if quick else GENERATIONS[strategy]
    for name, value in (("generations", generations), ("population_size", population_size),
                        ("batch_size", batch_size), ("eval_every", eval_every)):
        check_int(name, value, 1)
    sigma = (0.03 if strategy == "ga" else 0.05) if sigma is None else sigma
    key = jax.random.key(0) if key is None else key
    config = {"method": "evolution", "strategy": strategy, "generations": generations,
              "population_size": population_size, "batch_size": batch_size, "sigma": sigma,
              "learning_rate": learning_rate, "scale": scale, "n_hidden": net.n_hidden,
              "encoding": net.encoding, "t1_ms": net.t1, "dt_ms": net.dt}
    k_init, k_data, k_es, k_val = jax.random.split(key, 4)
    template = init_weights(k_init, net.n_in, net.n_hidden, net.n_out, mean_in=0.0,
                            mean_out=0.0)
    es = make_strategy(strategy, population_size, template, sigma=sigma,
                       learning_rate=optax.cosine_decay_schedule(learning_rate, generations,
                                                                 alpha=0.1))
    params = es.default_params
    x_train, y_train = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    n_train = x_train.shape[0]

    def minibatch(g):
        idx = jax.random.choice(jax.random.fold_in(k_data, g), n_train, (batch_size,),
                                replace=False)
        return x_train[idx], y_train[idx], jax.random.fold_in(k_es, 10**6 + g)

    @eqx.filter_jit
    def fitness(population, g):
        images, labels, k = minibatch(g)
        return population_fitness(net, population, images, labels, k, scale=scale)

    @eqx.filter_jit
    def generation(state, g):
        k_ask, k_tell = jax.random.split(jax.random.fold_in(k_es, g))
        population, state = es.ask(k_ask, state, params)
        loss, acc = fitness(population, g)
        state, _ = es.tell(k_tell, population, loss, state, params)
        best = jax.tree.map(lambda x: x[jnp.argmin(loss)], population)
        return state, best, jnp.mean(loss), jnp.min(loss), jnp.mean(acc), jnp.max(acc)

    if strategy == "ga":
        initial = jax.vmap(lambda k: init_weights(k, net.n_in, net.n_hidden, net.n_out,
                                                  mean_in=0.0, mean_out=0.0))(
            jax.random.split(k_init, population_size))
        state = es.init(k_es, initial, fitness(initial, jnp.asarray(generations))[0], params)
    else:
        state = es.init(k_es, template, params)
    best_weights, best_val, history, start, past_seconds = template, -1.0, [], 0, 0.0
    if (resumed := ckpt.resume(checkpoint, (state, best_weights), config)) is not None:
        (state, best_weights), meta = resumed
        history, start = meta["history"], meta["generation"]
        best_val, past_seconds = meta["best_val"], meta["seconds"]
        log(f"  resuming from {checkpoint} after generation {start}")

    t_start = time.perf_counter()
    bar = tqdm(range(start, generations), desc=f"{strategy} generations",
               disable=not progress, leave=False)
    for g in bar:
        state, gen_best, mean_loss, min_loss, mean_acc, max_acc = generation(
            state, jnp.asarray(g))
        if (g + 1) % eval_every and g + 1 != generations:
            continue
        current = es.get_mean(state) if strategy == "openes" else gen_best
        val, _, _ = evaluate(net, current, split.x_val, split.y_val, k_val)
        if val > best_val:
            best_val, best_weights = val, current
        seconds = past_seconds + time.perf_counter() - t_start
        row = {"step": g + 1, "mean_fitness": float(mean_loss), "best_fitness": float(min_loss),
               "mean_accuracy": float(mean_acc), "best_accuracy": float(max_acc),
               "val_accuracy": val, "seconds": seconds,
               "network_seconds": _network_seconds(net, g + 1, population_size, batch_size)}
        history.append(row)
        bar.set_postfix(fitness=f"{row['mean_fitness']:.3f}", val=f"{val:.3f}")
        if checkpoint is not None:
            ckpt.save(checkpoint, (state, best_weights),
                      {"config": config, "history": history, "generation": g + 1,
                       "best_val": best_val, "seconds": seconds})
        log(f"  {strategy} generation {g + 1}/{generations}: mean fitness "
            f"{row['mean_fitness']:.3f}, best minibatch accuracy {row['best_accuracy']:.3f}, "
            f"validation {val:.3f} ({seconds:.0f} s)")
    seconds = past_seconds + time.perf_counter() - t_start
    return TrainResult(weights=best_weights, history=history, seconds=seconds,
                       network_seconds=_network_seconds(net, generations, population_size,
                                                        batch_size),
                       config=config)


def _network_seconds(net, generations, population_size, batch_size) -> float:
    return generations * population_size * batch_size * net.t1 / 1e3
