"""Sparse connectivity: synapses stored by presynaptic neuron (CSR), built from a seed.

A `Connectivity` holds, for `n_pre` source and `n_post` target neurons, the row pointers
`indptr` (`n_pre + 1`), and per synapse its target and weight (`n_synapses` each), sorted
by source. Memory is proportional to the number of synapses, never to `n_pre * n_post`,
and every builder here draws its synapses without forming a dense matrix. Builders use a
NumPy random generator seeded with `seed`, so the same arguments give the same network.
The seed is required (an int >= 0 or a JAX PRNG key): `seed=None` would draw a different
network on every call with nothing recording which, so it is an error.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._checks import check_int, check_real


class Connectivity(eqx.Module):
    """Synapses from `n_pre` to `n_post` neurons in compressed sparse rows by source.

    **Fields:**
    - `indptr`: `(n_pre + 1,)` int; the synapses of source `i` are `indptr[i]:indptr[i+1]`.
    - `targets`: `(n_synapses,)` int, the postsynaptic index of each synapse.
    - `weights`: `(n_synapses,)` float, the jump per spike (nS for conductance synapses,
      pA for current synapses). Differentiable and batchable (vmap over weights).
    - `n_pre`, `n_post`, `max_degree` (the largest out-degree): static ints; the engine
      gathers `max_degree` synapses per spiking neuron.
    - `complete`: static; True when every pre -> post pair is a synapse exactly once (then
      synapse `i * n_post + j` joins `i` to `j`, and `weights` is the flattened
      `(n_pre, n_post)` matrix); set by `from_edges`. The engine then propagates spikes by
      one matrix product instead of gathering events.
    """

    indptr: Int[Array, " n_pre+1"]
    targets: Int[Array, " n_synapses"]
    weights: Float[Array, " n_synapses"]
    n_pre: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    max_degree: int = eqx.field(static=True)
    complete: bool = eqx.field(static=True, default=False)

    @property
    def n_synapses(self) -> int:
        """Number of synapses (length of `targets` and `weights`)."""
        return int(self.targets.shape[-1])

    def out_degrees(self) -> np.ndarray:
        """Number of synapses of each source neuron, `(n_pre,)` (NumPy)."""
        return np.diff(np.asarray(self.indptr))

    def in_degrees(self) -> np.ndarray:
        """Number of synapses onto each target neuron, `(n_post,)` (NumPy)."""
        return np.bincount(np.asarray(self.targets), minlength=self.n_post)

    def sources(self) -> np.ndarray:
        """The presynaptic index of each synapse, `(n_synapses,)` (NumPy)."""
        return np.repeat(np.arange(self.n_pre), self.out_degrees())

    def to_dense(self) -> np.ndarray:
        """Dense `(n_pre, n_post)` weight matrix (summing duplicates); for small tests only."""
        dense = np.zeros((self.n_pre, self.n_post))
        np.add.at(dense, (self.sources(), np.asarray(self.targets)), np.asarray(self.weights))
        return dense

    def scaled(self, factor) -> Connectivity:
        """The same synapses with weights multiplied by `factor`."""
        return eqx.tree_at(lambda c: c.weights, self, self.weights * factor)


def from_edges(pre, post, weights, n_pre: int, n_post: int) -> Connectivity:
    """A `Connectivity` from edge lists `pre`, `post` (ints) and `weights` (scalar or one per
    edge), in any order.

    **Raises:** `ValueError` for indices out of range or mismatched lengths.
    """
    _check_size("n_pre", n_pre)
    _check_size("n_post", n_post)
    pre = np.asarray(pre, dtype=np.int64).ravel()
    post = np.asarray(post, dtype=np.int64).ravel()
    weights = np.broadcast_to(np.asarray(weights, dtype=float), pre.shape)
    if pre.shape != post.shape:
        raise ValueError(f"pre and post must have the same length; got {pre.size}, {post.size}")
    if pre.size and (pre.min() < 0 or pre.max() >= n_pre):
        raise ValueError(f"pre indices must lie in [0, {n_pre}); got [{pre.min()}, {pre.max()}]")
    if post.size and (post.min() < 0 or post.max() >= n_post):
        raise ValueError(f"post indices must lie in [0, {n_post}); got "
                         f"[{post.min()}, {post.max()}]")
    ordered = pre.size < 2 or bool(np.all((pre[1:] > pre[:-1]) | (
        (pre[1:] == pre[:-1]) & (post[1:] >= post[:-1]))))
    order = slice(None) if ordered else np.lexsort((post, pre))  # builders give sorted edges
    counts = np.bincount(pre, minlength=n_pre)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    complete = (pre.size == n_pre * n_post > 0
                and np.array_equal(pre[order], np.repeat(np.arange(n_pre), n_post))
                and np.array_equal(post[order], np.tile(np.arange(n_post), n_pre)))
    return Connectivity(
        indptr=jnp.asarray(indptr, dtype=jnp.int32),
        targets=jnp.asarray(post[order], dtype=jnp.int32),
        weights=jnp.asarray(weights[order], dtype=float),
        n_pre=int(n_pre),
        n_post=int(n_post),
        max_degree=int(counts.max()) if n_pre else 0,
        complete=bool(complete),
    )


def all_to_all(n_pre: int, n_post: int, weight) -> Connectivity:
    """Every `pre -> post` synapse once (autapses included for a population onto itself);
    `weight` a scalar or an `(n_pre, n_post)` matrix. Stored so that `weights` is the
    matrix flattened row by row (`Connectivity.complete`)."""
    _check_size("n_pre", n_pre)
    _check_size("n_post", n_post)
    weight = np.asarray(weight, dtype=float)
    if weight.ndim and weight.shape != (n_pre, n_post):
        raise ValueError(f"weight must be a scalar or an ({n_pre}, {n_post}) matrix; got "
                         f"shape {weight.shape}")
    pre = np.repeat(np.arange(n_pre), n_post)
    post = np.tile(np.arange(n_post), n_pre)
    return from_edges(pre, post, np.broadcast_to(weight, (n_pre, n_post)).ravel(), n_pre,
                      n_post)


def fixed_probability(n_pre: int, n_post: int, p: float, weight: float, *, seed: int,
                      autapses: bool = True) -> Connectivity:
    """Each of the `n_pre * n_post` possible synapses exists independently with
    probability `p` (Erdős–Rényi), weight `weight`.

    `autapses=False` (for a population onto itself, `n_pre == n_post`) excludes `i -> i`;
    then in-degrees are Binomial(n_pre - 1, p). Work and memory scale with the number of
    synapses: each source draws its out-degree, then that many distinct targets.
    """
    n_pre, n_post = _check_size("n_pre", n_pre), _check_size("n_post", n_post)
    _check_probability("p", p)
    if not autapses and n_pre != n_post:
        raise ValueError(f"autapses=False needs n_pre == n_post; got {n_pre}, {n_post}")
    rng = _rng(seed)
    pool = n_post if autapses else n_post - 1
    degrees = rng.binomial(pool, p, size=n_pre)
    post = _distinct_rows(rng, pool, degrees)
    pre = np.repeat(np.arange(n_pre), degrees)
    if not autapses:
        post = post + (post >= pre)  # skip the diagonal
    return from_edges(pre, post, weight, n_pre, n_post)


def fixed_in_degree(n_pre: int, n_post: int, k: int, weight: float, *, seed: int,
                    autapses: bool = True) -> Connectivity:
    """Every target receives exactly `k` synapses from distinct random sources."""
    n_pre, n_post = _check_size("n_pre", n_pre), _check_size("n_post", n_post)
    pool = n_pre if autapses else n_pre - 1
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= pool:
        raise ValueError(f"k must be an int in [0, {pool}]; got {k!r}")
    if not autapses and n_pre != n_post:
        raise ValueError(f"autapses=False needs n_pre == n_post; got {n_pre}, {n_post}")
    rng = _rng(seed)
    pre = np.concatenate([_distinct(rng, pool, k) for _ in range(n_post)]) if n_post else []
    pre = np.asarray(pre, dtype=np.int64)
    post = np.repeat(np.arange(n_post), k)
    if not autapses:
        pre = pre + (pre >= post)
    return from_edges(pre, post, weight, n_pre, n_post)


def layered(sizes, p_forward: float, weight: float, *, seed: int, p_lateral: float = 0.0,
            lateral_weight: float | None = None) -> Connectivity:
    """Feed-forward layers inside one population of `sum(sizes)` neurons (layer `l` holds
    the next `sizes[l]` indices): each synapse from layer `l` to `l + 1` exists with
    probability `p_forward`; with `p_lateral > 0`, also synapses within a layer (no
    autapses) with weight `lateral_weight` (default `weight`)."""
    seed = _seed_entropy(seed)
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least 2 positive layer sizes; got {sizes}")
    _check_probability("p_lateral", p_lateral)
    lateral_weight = weight if lateral_weight is None else lateral_weight
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    pre, post, w = [], [], []
    for layer in range(len(sizes)):
        parts = []
        if layer + 1 < len(sizes):
            parts.append((fixed_probability(sizes[layer], sizes[layer + 1], p_forward, weight,
                                            seed=_subseed(seed, layer, 0)), offsets[layer + 1]))
        if p_lateral > 0 and sizes[layer] > 1:
            parts.append((fixed_probability(sizes[layer], sizes[layer], p_lateral,
                                            lateral_weight, seed=_subseed(seed, layer, 1),
                                            autapses=False), offsets[layer]))
        for conn, post_offset in parts:
            pre.append(conn.sources() + offsets[layer])
            post.append(np.asarray(conn.targets) + post_offset)
            w.append(np.asarray(conn.weights))
    n = int(offsets[-1])
    cat = (lambda parts: np.concatenate(parts)) if pre else (lambda parts: np.zeros(0))
    return from_edges(cat(pre), cat(post), cat(w), n, n)


def ring(n: int, p_max: float, sigma: float, weight: float, *, seed: int,
         cutoff: float = 5.0) -> Connectivity:
    """Neurons on a circle; `i -> j` exists with probability
    $p_{max} \\exp(-d^2 / 2\\sigma^2)$, $d$ the circular distance $\\min(|i-j|, n-|i-j|)$
    (in neurons), for $1 \\le d \\le$ `cutoff * sigma` (no autapses)."""
    n = _check_size("n", n)
    _check_probability("p_max", p_max)
    sigma = check_real("sigma (neurons)", sigma, gt=0)
    cutoff = check_real("cutoff", cutoff, gt=0)
    rng = _rng(seed)
    reach = min(int(math.ceil(cutoff * sigma)), n // 2)
    pre, post = [], []
    for offset in range(-reach, reach + 1):
        if offset == 0 or (2 * abs(offset) == n and offset < 0):  # count d = n/2 once
            continue
        mask = rng.random(n) < p_max * math.exp(-(offset**2) / (2.0 * sigma**2))
        source = np.nonzero(mask)[0]
        pre.append(source)
        post.append((source + offset) % n)
    cat = (lambda parts: np.concatenate(parts)) if pre else (lambda parts: np.zeros(0))
    return from_edges(cat(pre), cat(post), weight, n, n)


def small_world(n: int, k: int, beta: float, weight: float, *, seed: int) -> Connectivity:
    """Directed Watts–Strogatz graph (Watts & Strogatz 1998, Nature 393:440): each neuron
    projects to its `k` nearest neighbours on a ring (`k // 2` on each side; `k` even), then
    each synapse is rewired with probability `beta` to a uniformly chosen target that is
    neither the source nor already one of its targets."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2 or k % 2 or k >= n:
        raise ValueError(f"k must be an even int in [2, n); got {k!r}")
    _check_probability("beta", beta)
    rng = _rng(seed)
    half = k // 2
    offsets = np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])
    targets = (np.arange(n)[:, None] + offsets[None, :]) % n
    rewire = rng.random(targets.shape) < beta
    for i in np.nonzero(rewire.any(axis=1))[0]:
        taken = set(targets[i].tolist()) | {int(i)}
        for slot in np.nonzero(rewire[i])[0]:
            while True:
                j = int(rng.integers(n))
                if j not in taken:
                    break
            taken.discard(int(targets[i, slot]))
            taken.add(j)
            targets[i, slot] = j
    pre = np.repeat(np.arange(n), k)
    return from_edges(pre, targets.ravel(), weight, n, n)


def _distinct(rng, pool: int, k: int) -> np.ndarray:
    """`k` distinct ints from `range(pool)`, in O(k) expected time for k << pool."""
    if k == 0:
        return np.zeros(0, np.int64)
    if 4 * k > pool:
        return rng.permutation(pool)[:k]
    chosen = np.unique(rng.integers(pool, size=k))
    while chosen.size < k:
        chosen = np.unique(np.concatenate([chosen, rng.integers(pool, size=k - chosen.size)]))
    return chosen


def _distinct_rows(rng, pool: int, degrees: np.ndarray) -> np.ndarray:
    """For each row `i`, `degrees[i]` distinct ints from `range(pool)`, ascending within a
    row, rows concatenated: `(degrees.sum(),)` int64. Drawn for all rows at once (a few
    vectorised passes that redraw the repeats within a row), so the time and memory are
    O(synapses); rows denser than a quarter of the pool are drawn one by one."""
    degrees = np.asarray(degrees, dtype=np.int64)
    if degrees.size == 0 or degrees.sum() == 0:
        return np.zeros(0, np.int64)
    if 4 * int(degrees.max()) > pool:
        return np.concatenate([_distinct(rng, pool, int(k)) for k in degrees])
    row = np.repeat(np.arange(degrees.size, dtype=np.int64), degrees)
    drawn = rng.integers(pool, size=row.size)
    todo = slice(None)  # the synapses of the rows that may still hold a repeat
    while True:
        offset = row[todo] * pool
        key = offset + drawn[todo]
        key.sort()  # the rows stay in place (each row's keys lie in its own range)
        part = key - offset
        repeated = np.zeros(key.size, bool)
        repeated[1:] = key[1:] == key[:-1]
        part[repeated] = rng.integers(pool, size=int(repeated.sum()))
        drawn[todo] = part
        if not repeated.any():
            return drawn
        bad_rows = np.zeros(degrees.size, bool)
        bad_rows[row[todo][repeated]] = True
        todo = np.flatnonzero(bad_rows[row])


def _subseed(seed, *parts: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([*_seed_entropy(seed), *parts])


def _seed_entropy(seed) -> list[int]:
    """The seed as a list of ints for `np.random.SeedSequence`: an int >= 0, a JAX PRNG key,
    or a `SeedSequence` (as `layered` passes on). **Raises:** `ValueError` otherwise."""
    if isinstance(seed, np.random.SeedSequence):
        return [int(x) for x in np.atleast_1d(seed.entropy)] + [int(x) for x in seed.spawn_key]
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return [int(seed)]
    if isinstance(seed, list) and seed and all(isinstance(x, int) and x >= 0 for x in seed):
        return list(seed)
    dtype = getattr(seed, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key) and seed.shape == ():
        return [int(x) for x in np.asarray(jax.random.key_data(seed)).ravel()]
    raise ValueError(f"seed must be an int >= 0 or a JAX PRNG key (jax.random.key(seed)), so "
                     f"that the network is reproducible; got {seed!r}")


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(_seed_entropy(seed)))


def _check_probability(name: str, p) -> None:
    if isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1]; got {p!r}")


def _check_size(name: str, n) -> int:
    return check_int(name, n, 1)
