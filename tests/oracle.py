"""The differential oracle: random models (parameters drawn inside each model's domain, in
physiological ranges) under random stimuli, run by the default fixed-step engine, by the
adaptive/exact engine and by a fine-step float64 reference, and the rule every run must
obey: a run that says ok agrees with the reference, or it is flagged.

The rule (what `check_batch` asserts), for every run with `status == 0`:
- its spike count equals the reference's, or differs by one where the case is *marginal*:
  the reference's count changes when the stimulus is scaled by 1 ± `MARGIN`, or one of
  the reference's spikes lies within `EDGE` ms of `t1` (a spike at the end of the run);
- each of its spike times lies within the engine's stated accuracy (`TOLERANCES`) of the
  reference's, widened by a quarter of the shift that a ±`MARGIN` change of the stimulus
  makes to that reference spike (about what a 0.5 % change does): a spike reached by a slow
  approach to threshold moves a lot for a tiny error, which no engine can avoid.
A case is unusable (counted, not checked) where the reference is not ok, or where it is
not settled: a second reference by an independent method (the adaptive or exact engine at
tolerances 1e-10 in float64) disagrees with it (another count, or a spike time off by more
than a tenth of the tolerance of the fixed-step engine). That happens for chaotic bursting,
where no engine can be checked, and where the fine fixed step itself errs (a crossing
grazed between its steps), where the reference would be wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxneuron as jn

MARGIN = 0.02  # relative change of the stimulus that decides whether a case is marginal
EDGE = 1.0  # ms: a spike of the reference this close to t1 may be missed by a run
REFINE = 16  # the reference's step is dt / REFINE, in float64
MAX_SPIKES = 64


@dataclasses.dataclass(frozen=True)
class OracleModel:
    """A model family: `make(rng)` draws one model inside its domain; `scale` is the size of
    a current that makes it fire (in the model's input unit); `t1`, `dt` (ms) the run."""

    id: str
    make: Callable[[np.random.Generator], jn.AbstractNeuron]
    scale: float
    t1: float
    dt: float
    jump_state: str | None = None  # a state input spikes may jump (conductance: >= 0)
    jump_scale: float = 0.0

    @property
    def spiking(self) -> bool:
        return isinstance(self.make(np.random.default_rng(0)), jn.models.AbstractSpikingNeuron)


def _u(rng, low, high):
    return float(rng.uniform(low, high))


def _izhikevich(rng):
    preset = rng.choice(["RS", "IB", "CH", "FS", "LTS"])
    return jn.Izhikevich.preset(str(preset), a=_u(rng, 0.01, 0.1), d=_u(rng, 0.5, 8.0))


def _generalized(rng):
    return jn.GeneralizedNeuron.preset("pyramidal", "cortex", C=_u(rng, 100.0, 300.0))


MODELS: list[OracleModel] = [
    OracleModel("LIF", lambda r: jn.LIF(tau_m=_u(r, 5.0, 30.0), R=_u(r, 5.0, 20.0),
                                         V_th=_u(r, -55.0, -45.0), V_reset=_u(r, -75.0, -60.0),
                                         t_ref=_u(r, 0.0, 4.0)),
                2.5, 100.0, 0.05, "V", 8.0),
    OracleModel("Izhikevich", _izhikevich, 12.0, 100.0, 0.05, "v", 10.0),
    OracleModel("AdEx", lambda r: jn.AdEx(C=_u(r, 100.0, 300.0), a=_u(r, 0.0, 8.0),
                                          b=_u(r, 0.0, 100.0), tau_w=_u(r, 50.0, 200.0)),
                900.0, 100.0, 0.05),
    OracleModel("ConductanceLIF", lambda r: jn.ConductanceLIF(
        C=_u(r, 100.0, 300.0), g_L=_u(r, 5.0, 20.0), t_ref=_u(r, 0.0, 5.0)),
        250.0, 100.0, 0.05, "g_e", 15.0),
    OracleModel("GeneralizedNeuron", _generalized, 700.0, 60.0, 0.05),
    OracleModel("HodgkinHuxley", lambda r: jn.HodgkinHuxley(
        g_Na=_u(r, 80.0, 160.0), g_K=_u(r, 20.0, 50.0), g_L=_u(r, 0.1, 0.5)),
        15.0, 50.0, 0.025),
]

STIMULI = ("step", "pulse", "train", "sine", "sampled", "spikes")


def make_stimulus(kind: str, model: OracleModel, rng: np.random.Generator, gain: float = 1.0
                  ) -> jn.AbstractStimulus:
    """A random stimulus of `kind` for `model`, its current scaled by `gain`."""
    a, t1 = model.scale * gain, model.t1
    if kind == "step":
        t_start = _u(rng, 0.0, t1 / 2)
        return jn.StepCurrent(a * _u(rng, 0.3, 2.0), t_start, t_start + _u(rng, 1.0, t1))
    if kind == "pulse":  # one short strong pulse
        t_start = _u(rng, 1.0, t1 / 2)
        return jn.StepCurrent(a * _u(rng, 2.0, 20.0), t_start, t_start + _u(rng, 0.02, 2.0))
    if kind == "train":
        width = _u(rng, 0.05, 3.0)
        return jn.PulseTrain(a * _u(rng, 1.0, 10.0), width, width + _u(rng, 0.5, 20.0),
                             t_start=_u(rng, 0.0, 20.0))
    if kind == "sine":
        return jn.SineCurrent(a * _u(rng, 0.2, 1.5), _u(rng, 1.0, 80.0),
                              offset=a * _u(rng, 0.0, 1.2), t_start=_u(rng, 0.0, 10.0))
    if kind == "sampled":
        n = 64
        values = a * np.clip(np.cumsum(rng.normal(0.0, 0.3, n)) + _u(rng, 0.0, 1.5), 0, None)
        return jn.SampledCurrent(values, t1 / (n - 1) * _u(rng, 0.5, 1.0))
    if kind == "spikes":
        times = np.sort(rng.uniform(0.0, t1, 24))
        jumps = model.jump_scale * gain * rng.uniform(0.2, 1.0, 24)
        current = jn.StepCurrent(a * _u(rng, 0.0, 0.8))
        return jn.SpikeInput.for_model(model.make(rng), {model.jump_state: (times, jumps)},
                                       current=current)
    raise ValueError(kind)


def applicable(model: OracleModel, kind: str) -> bool:
    return kind != "spikes" or (model.spiking and model.jump_state is not None)


def _stack(modules):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *modules)


def _cast(tree, dtype):
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


@eqx.filter_jit
def _run(models, stimuli, t1, dt, engine):
    def one(m, s):
        return jn.simulate(m, s, t1=t1, dt=dt, engine=engine, save_every=0, throw=False,
                           max_spikes=MAX_SPIKES)

    return eqx.filter_vmap(one)(models, stimuli)


def run(models, stimuli, model: OracleModel, engine, *, dt=None, dtype=jnp.float64):
    """Simulate a batch (lists of models and stimuli) with `engine` in `dtype`; returns
    `(n_spikes, spike_times, status)` as NumPy arrays."""
    trace = _run(_cast(_stack(models), dtype), _cast(_stack(stimuli), dtype), model.t1,
                 model.dt if dt is None else dt, engine)
    return (np.asarray(trace.n_spikes), np.asarray(trace.spike_times, float),
            np.asarray(trace.status))


SETTLE_TOL = 1e-10  # rtol and atol of the independent second reference


def engines(model: OracleModel):
    """`(under_test, reference, second)`: `(name, engine)` of the engines under test (the
    default fixed-step one and the adaptive (smooth) or exact (spiking) one at its default
    tolerances), the reference engine (fixed steps of dt / REFINE in float64) and the
    independent second reference (the adaptive or exact engine at `SETTLE_TOL`)."""
    tight = dict(rtol=SETTLE_TOL, atol=SETTLE_TOL)
    if model.spiking:
        return ([("clock", jn.ClockSpiking()), ("exact", jn.ExactSpiking())],
                jn.ClockSpiking(), jn.ExactSpiking(**tight))
    return ([("fixed", jn.FixedSteps()), ("adaptive", jn.AdaptiveSteps())], jn.FixedSteps(),
            jn.AdaptiveSteps(**tight))


# The stated accuracy of spike times against the reference: `base + per_ms * t` (ms), t the
# reference spike time. A fixed step's error grows along the run (each interval is off by
# about the same fraction); an adaptive/exact engine at rtol 1e-6 is far tighter.
TOLERANCES = {"clock": (0.1, 0.01), "fixed": (0.1, 0.01), "exact": (0.02, 0.002),
              "adaptive": (0.02, 0.002)}


@dataclasses.dataclass
class Finding:
    """A run that said ok and disagreed with the reference."""

    model: str
    stimulus: str
    dtype: str
    engine: str
    index: int
    n: int
    n_ref: int
    worst_dt: float
    description: str


def draw(model: OracleModel, kind: str, seed: int, batch: int):
    """The `batch` cases of `seed`: lists of models and of their stimuli at gains 1,
    1 - MARGIN and 1 + MARGIN (the same draw scaled)."""
    rng = np.random.default_rng(seed)
    models, stimuli, low, high = [], [], [], []
    for _ in range(batch):
        m = model.make(rng)
        state = rng.bit_generator.state
        models.append(m)
        for gain, out in ((1.0, stimuli), (1.0 - MARGIN, low), (1.0 + MARGIN, high)):
            rng.bit_generator.state = state  # the same draw at three gains
            out.append(make_stimulus(kind, model, rng, gain))
    return models, stimuli, low, high


def case(model_id: str, kind: str, seed: int, index: int, batch: int = 8):
    """`(family, model, stimulus)` of one drawn case, e.g. to replay a finding."""
    model = next(m for m in MODELS if m.id == model_id)
    models, stimuli, _, _ = draw(model, kind, seed, batch)
    return model, models[index], stimuli[index]


def check_batch(model: OracleModel, kind: str, dtype, seed: int, batch: int = 8):
    """Draw `batch` cases, run them, and return `(findings, counts)`: the unflagged
    disagreements and a tally (`cases`, `flagged`, `unusable`, `marginal`)."""
    models, stimuli, low, high = draw(model, kind, seed, batch)
    under_test, reference, second = engines(model)
    dt_ref = model.dt / REFINE
    n_ref, t_ref, s_ref = run(models, stimuli, model, reference, dt=dt_ref)
    n_two, t_two, s_two = run(models, stimuli, model, second)
    base, per_ms = TOLERANCES[under_test[0][0]]
    settled = (n_two == n_ref) & (s_two == 0) & np.all(
        ~(np.abs(t_two - t_ref) > 0.1 * (base + per_ms * t_ref)), axis=1)
    n_low, t_low, s_low = run(models, low, model, reference, dt=dt_ref)
    n_high, t_high, s_high = run(models, high, model, reference, dt=dt_ref)
    # the shift of each reference spike under the stimulus change (inf where counts differ)
    shift = np.maximum(np.abs(t_low - t_ref), np.abs(t_high - t_ref))
    shift = np.where((n_low == n_ref)[:, None] & (n_high == n_ref)[:, None], shift, np.inf)
    usable = (s_ref == 0) & settled
    marginal = (n_low != n_ref) | (n_high != n_ref) | (s_low != 0) | (s_high != 0) | np.any(
        (t_ref > model.t1 - EDGE) & np.isfinite(t_ref), axis=1)
    findings = []
    tally = {"cases": 0, "flagged": 0, "unusable": int(np.sum(~usable)) * len(under_test),
             "marginal": 0}
    for name, engine in under_test:
        n, t, status = run(models, stimuli, model, engine, dtype=dtype)
        base, per_ms = TOLERANCES[name]
        for i in np.flatnonzero(usable):
            tally["cases"] += 1
            if status[i] != 0:
                tally["flagged"] += 1
                continue
            tally["marginal"] += bool(marginal[i])
            k = min(n[i], n_ref[i], MAX_SPIKES)
            error = np.abs(t[i, :k] - t_ref[i, :k])
            allowed = base + per_ms * t_ref[i, :k] + 0.25 * shift[i, :k]
            worst = float(np.max(error - allowed, initial=-np.inf))
            count_ok = n[i] == n_ref[i] or (abs(int(n[i]) - int(n_ref[i])) == 1
                                            and marginal[i])
            if not count_ok or worst > 0:
                findings.append(Finding(
                    model.id, kind, jnp.dtype(dtype).name, name, int(i), int(n[i]),
                    int(n_ref[i]), float(np.max(error, initial=0.0)),
                    f"{models[i]!r} under {stimuli[i]!r}"))
    return findings, tally
