"""No silent wrong results (issue 27, mechanisms 8 and 9): observed data is checked in one
place (`jaxneuron.observed.check_observed`) and every option is validated where it is
accepted, with NumPy integers accepted as integers and every error naming the argument.

Two tables of bad inputs (`API`: Python calls, `CLI`: command lines), built as in
`test_bad_inputs.py`, then the good paths: valid inputs (NumPy integers included) still
work. Every row fails before anything is compiled or simulated, so the file is fast."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flowjax.bijections import RationalQuadraticSpline
from flowjax.distributions import Normal
from flowjax.flows import masked_autoregressive_flow

import jaxneuron as jn
from jaxneuron import emulators as em, sampling
from jaxneuron._checks import check_int, check_real
from jaxneuron.analysis import burst_count, firing_rate
from jaxneuron.analysis.criticality import (
    bin_counts,
    branching_ratio,
    detect_avalanches,
    measure,
)
from jaxneuron.analysis.excitability import nth_spike_after, sustained_rate
from jaxneuron.analysis.summaries import HHSummaries
from jaxneuron.apps import arguments
from jaxneuron.apps.cli import main
from jaxneuron.fit import check_target
from jaxneuron.inference import Prior, fit_restarts, run_nuts
from jaxneuron.inference.bayes import NutsSampler
from jaxneuron.inference.calibration import c2st, coverage, coverage_interval, sbc_ranks
from jaxneuron.inference.npe import NPEPosterior, simulate_observations, train_npe
from jaxneuron.network import (
    STDP,
    CurrentInput,
    GaussianInput,
    Network,
    PoissonInput,
    Population,
    Projection,
    StateJump,
    all_to_all,
    fixed_in_degree,
    fixed_probability,
    ring,
    simulate_network,
)
from jaxneuron.observed import check_observed
from jaxneuron.plotting.figures import regimes_raster
from jaxneuron.plotting.neurons import typed_raster
from jaxneuron.trace import STATUS_OK, STATUS_OUTSIDE_DOMAIN
from jaxneuron.transforms import Bounded, LogBounded

KEY = jax.random.key(0)

# --- mechanism 8: observed data ---------------------------------------------------------

# A passive LIF (unreachable threshold) saved every 1 ms for 20 ms: 21 voltages.
PASSIVE = {"t1": 20.0, "dt": 0.5, "save_every": 1.0}
N_OBS = 21
LIF_PRIOR = Prior({"tau_m": (5.0, 20.0)})


def passive_lif():
    return jn.LIF(V_th=1000.0)


def nuts(observed, **options):
    options = {"prior": LIF_PRIOR, "sigma": 1.0, "num_warmup": 1, "num_samples": 1,
               "num_chains": 1, **PASSIVE, **options}
    return run_nuts(passive_lif(), jn.StepCurrent(1.5), observed, key=KEY, **options)


OBS = np.full(N_OBS, -60.0)
HH_PRIOR = Prior({"g_Na": (60.0, 180.0), "g_K": (18.0, 54.0)})


def sim_obs(theta, **kwargs):
    kwargs.setdefault("key", KEY)
    return simulate_observations(jn.HodgkinHuxley(), jn.StepCurrent(10.0), HH_PRIOR, theta,
                                 t1=1.0, progress=False, **kwargs)


THETA = np.column_stack([np.linspace(70.0, 170.0, 40), np.linspace(20.0, 50.0, 40)])
X = np.linspace(0.0, 1.0, 120).reshape(40, 3)


def npe(theta=THETA, x=X, **kwargs):
    kwargs.setdefault("key", KEY)
    return train_npe(theta, x, HH_PRIOR, batch_size=8, max_epochs=1, progress=False,
                     **kwargs)


@functools.cache
def tiny_posterior():
    """An untrained NPE posterior of one parameter a in (0, 1) given x `(2,)` (a small
    flow as `train_npe` builds it): the checks of its observations are what is tested."""
    flow = masked_autoregressive_flow(
        KEY, base_dist=Normal(jnp.zeros(1)),
        transformer=RationalQuadraticSpline(knots=2, interval=4.0), cond_dim=2,
        flow_layers=1, nn_width=4)
    return NPEPosterior(flow=flow, embedding=None, prior=Prior({"a": (0.0, 1.0)}),
                        x_mean=jnp.zeros(2), x_std=jnp.ones(2), u_mean=jnp.zeros(1),
                        u_std=jnp.ones(1))


def dataset(states=None, currents=None, ts=None, n_states=1):
    """A hand-made 2-run, 5-step emulator dataset."""
    states = np.zeros((2, 5, n_states)) if states is None else states
    currents = np.zeros((2, 5, 1)) if currents is None else currents
    ts = np.arange(5) * 0.5 if ts is None else ts
    return em.Dataset(ts=ts, states=states, currents=currents, params={},
                      run_ids=np.arange(2), state_names=("V",) * n_states, voltage_index=0,
                      metadata={})


def with_nan(shape, index):
    a = np.zeros(shape)
    a[index] = np.nan
    return a


def lif_fit_target(target, **kwargs):
    return check_target(passive_lif(), jn.StepCurrent(1.5), target, jn.voltage_mse,
                        PASSIVE["t1"], {k: v for k, v in PASSIVE.items() if k != "t1"},
                        **kwargs)


OBSERVED = {
    # run_nuts: the issue's example (posterior tau_m 29.96 +- 0.03 for a true 10) and kin
    "run_nuts observed (1,)": (lambda: nuts(OBS[:1]), ValueError,
                               r"observed must have shape \(21,\); got shape \(1,\)"),
    "run_nuts observed (21, 1)": (lambda: nuts(OBS[:, None]), ValueError,
                                  r"observed must have shape \(21,\); got shape \(21, 1\)"),
    "run_nuts observed (1, 21)": (lambda: nuts(OBS[None]), ValueError,
                                  r"observed must have shape \(21,\); got shape \(1, 21\)"),
    "run_nuts observed one short": (lambda: nuts(OBS[:-1]), ValueError,
                                    r"observed must have shape \(21,\); got shape \(20,\)"),
    "run_nuts observed scalar": (lambda: nuts(-60.0), ValueError,
                                 r"observed must have shape \(21,\); got shape \(\)"),
    "run_nuts observed NaN": (lambda: nuts(with_nan(N_OBS, 4)), ValueError,
                              r"observed must be finite; it has 1 NaN/inf.*\[4\]"),
    "run_nuts observed inf": (lambda: nuts(np.full(N_OBS, np.inf)), ValueError,
                              r"observed must be finite; it has 21 NaN/inf"),
    "run_nuts observed text": (lambda: nuts("v.csv"), ValueError,
                               r"observed must be a numeric array; got str"),
    "run_nuts observed vs custom observable": (
        lambda: nuts(OBS, observable=lambda tr: tr.v[::2]), ValueError,
        r"observed must have shape \(11,\); got shape \(21,\)"),
    # fit targets (checked by the same function)
    "fit target 2 columns": (lambda: lif_fit_target(np.zeros((N_OBS, 2))), ValueError,
                             r"target must be a 1-D voltage trace.*\(21,\).*\(21, 2\)"),
    "fit target named argument": (
        lambda: lif_fit_target(OBS[:3], argument="recording"), ValueError,
        r"recording must be a 1-D voltage trace"),
    # NPE
    "simulate_observations theta 1-D": (lambda: sim_obs(THETA[:, 0]), ValueError,
                                        r"theta must have shape \(n, 2\); got shape \(40,\)"),
    "simulate_observations theta 3 columns": (
        lambda: sim_obs(np.ones((4, 3))), ValueError, r"theta must have shape \(n, 2\)"),
    "simulate_observations theta NaN": (lambda: sim_obs(with_nan((4, 2), (2, 1))), ValueError,
                                        r"theta must be finite.*\[2, 1\]"),
    "simulate_observations theta empty": (lambda: sim_obs(np.ones((0, 2))), ValueError,
                                          r"theta must have shape \(n, 2\); got shape \(0, 2\)"),
    "simulate_observations noise_std NaN": (lambda: sim_obs(THETA, noise_std=np.nan),
                                            ValueError, r"noise_std must be a finite number"),
    "simulate_observations noise_std inf": (lambda: sim_obs(THETA, noise_std=np.inf),
                                            ValueError, r"noise_std must be a finite number"),
    "simulate_observations key int": (lambda: sim_obs(THETA, key=1), ValueError,
                                      r"key must be a JAX PRNG key"),
    "train_npe x 1-D": (lambda: npe(x=X[:, 0]), ValueError,
                        r"x must have shape \(40, m\); got shape \(40,\)"),
    "train_npe x inf": (lambda: npe(x=np.where(X > 0.5, np.inf, X)), ValueError,
                        r"x must be finite"),
    "train_npe theta NaN": (lambda: npe(theta=with_nan((40, 2), (0, 0))), ValueError,
                            r"theta must be finite"),
    "train_npe theta 1 column": (lambda: npe(theta=THETA[:, :1]), ValueError,
                                 r"theta must have shape \(n, 2\)"),
    "NPE sample x NaN": (lambda: tiny_posterior().sample(KEY, np.array([np.nan, 0.1]), 3),
                         ValueError, r"x must be finite; it has 1 NaN/inf"),
    "NPE sample x too short": (lambda: tiny_posterior().sample(KEY, np.array([0.1]), 3),
                               ValueError, r"x must have shape \(2,\); got shape \(1,\)"),
    "NPE sample x batched": (lambda: tiny_posterior().sample(KEY, np.ones((1, 2)), 3),
                             ValueError, r"x must have shape \(2,\); got shape \(1, 2\)"),
    "NPE sample n 0": (lambda: tiny_posterior().sample(KEY, np.ones(2), 0), ValueError,
                       r"n must be an int >= 1; got 0"),
    "NPE sample_many xs inf": (lambda: tiny_posterior().sample_many(KEY, np.full((2, 2), np.inf),
                                                                    3),
                               ValueError, r"xs must be finite"),
    # emulator training data
    "Dataset states NaN": (lambda: dataset(states=with_nan((2, 5, 1), (1, 3, 0))),
                           ValueError, r"states must be finite.*\[1, 3, 0\]"),
    "Dataset states 2-D": (lambda: dataset(states=np.zeros((2, 5))), ValueError,
                           r"states must have shape \(n_runs, n_t, n_states\)"),
    "Dataset currents inf": (lambda: dataset(currents=np.full((2, 5, 1), np.inf)),
                             ValueError, r"currents must be finite"),
    "Dataset currents wrong runs": (lambda: dataset(currents=np.zeros((3, 5, 1))), ValueError,
                                    r"currents must have shape \(2, 5, n_inputs\)"),
    "Dataset ts decreasing": (lambda: dataset(ts=np.arange(5)[::-1] * 0.5), ValueError,
                              r"ts must be increasing"),
    "Dataset ts NaN": (lambda: dataset(ts=with_nan(5, 2)), ValueError, r"ts must be finite"),
    "train val_data other states": (
        lambda: em.train(dataset(), dataset(n_states=2), em.TrainConfig(window=2)),
        ValueError, r"val_data.states must have shape \(n_runs, n_t, 1\)"),
    "match_spikes true_times NaN": (lambda: em.match_spikes([1.0, np.nan], [1.0]),
                                    ValueError, r"true_times must be finite"),
    "match_spikes pred_times 2-D": (lambda: em.match_spikes([1.0], [[1.0]]), ValueError,
                                    r"pred_times must be 1-D; got shape \(1, 1\)"),
    "train config a dict": (lambda: em.train(dataset(), dataset(), {"epochs": 1}), ValueError,
                            r"config must be a TrainConfig; got dict"),
}


# --- mechanism 9: options ---------------------------------------------------------------

def config(**kwargs):
    return em.TrainConfig(**kwargs)


def gen(**kwargs):
    kwargs = {"n_runs": 2, "t1": 2.0, "dt_save": 0.5, "progress": False, **kwargs}
    return em.generate_dataset(jn.RestingMembrane(), **kwargs)


def gen_net(**kwargs):
    kwargs = {"n_runs": 2, "t1": 2.0, "dt_save": 0.5, **kwargs}
    return em.generate_network_dataset(jn.Izhikevich(), **kwargs)


def tiny_emulator():
    net = em.make_net(em.NetConfig("mlp", n_states=1, hidden_size=2, depth=1), key=KEY)
    return em.Emulator(net, em.Standardizer.fit(dataset()))


def izh_net(proj=None, inputs=(), **pop):
    projs = [] if proj is None else [proj]
    return Network([Population(jn.Izhikevich(), 3, **pop)], projs, inputs)


def proj(**kwargs):
    kwargs = {"pre": 0, "post": 0, "connectivity": all_to_all(3, 3, 0.5),
              "synapse": StateJump("v"), **kwargs}
    return Projection(**kwargs)


def run_net(**kwargs):
    return simulate_network(izh_net(proj()), 1.0, 0.1, **kwargs)


BOUNDS = {"g_Na": (60.0, 180.0), "g_K": (18.0, 54.0)}

EMULATOR_OPTIONS = {
    "TrainConfig clip_norm 0": (lambda: config(clip_norm=0), ValueError,
                                r"clip_norm must be a finite number > 0; got 0"),
    "TrainConfig clip_norm -1": (lambda: config(clip_norm=-1.0), ValueError,
                                 r"clip_norm must be a finite number > 0; got -1"),
    "TrainConfig clip_norm NaN": (lambda: config(clip_norm=np.nan), ValueError,
                                  r"clip_norm must be a finite number > 0; got nan"),
    "TrainConfig clip_norm inf": (lambda: config(clip_norm=np.inf), ValueError,
                                  r"clip_norm must be a finite number > 0; got inf"),
    "TrainConfig learning_rate NaN": (lambda: config(learning_rate=np.nan), ValueError,
                                      r"learning_rate must be a finite number > 0"),
    "TrainConfig learning_rate inf": (lambda: config(learning_rate=np.inf), ValueError,
                                      r"learning_rate must be a finite number > 0"),
    "TrainConfig learning_rate text": (lambda: config(learning_rate="1e-3"), ValueError,
                                       r"learning_rate must be a finite number > 0; got '1e-3'"),
    "TrainConfig warmup_fraction 1": (lambda: config(warmup_fraction=1.0), ValueError,
                                      r"warmup_fraction must be a finite number >= 0 and < 1"),
    "TrainConfig warmup_fraction < 0": (lambda: config(warmup_fraction=-0.1), ValueError,
                                        r"warmup_fraction must be"),
    "TrainConfig weight_decay < 0": (lambda: config(weight_decay=-1e-4), ValueError,
                                     r"weight_decay must be a finite number >= 0"),
    "TrainConfig epochs float": (lambda: config(epochs=2.5), ValueError,
                                 r"epochs must be an int >= 1; got 2.5 \(float\)"),
    "TrainConfig epochs bool": (lambda: config(epochs=True), ValueError,
                                r"epochs must be an int >= 1; got True \(bool\)"),
    "TrainConfig batch_size 0": (lambda: config(batch_size=0), ValueError,
                                 r"batch_size must be an int >= 1; got 0"),
    "TrainConfig hidden_size 0": (lambda: config(hidden_size=0), ValueError,
                                  r"hidden_size must be an int >= 1"),
    "TrainConfig depth float64": (lambda: config(depth=np.float64(2.0)), ValueError,
                                  r"depth must be an int >= 1"),
    "TrainConfig stride < 0": (lambda: config(stride=-1), ValueError,
                               r"stride must be an int >= 0"),
    "TrainConfig seed < 0": (lambda: config(seed=-3), ValueError, r"seed must be an int >= 0"),
    "TrainConfig patience 0": (lambda: config(patience=0), ValueError,
                               r"patience must be an int >= 1"),
    "TrainConfig arch unknown": (lambda: config(arch="cnn"), ValueError,
                                 r"arch must be one of .*'lstm'.*got 'cnn'"),
    "TrainConfig clip_states text": (lambda: config(clip_states="yes"), ValueError,
                                     r"clip_states must be True or False"),
    "TrainConfig spike_drop NaN": (lambda: config(spike_drop=np.nan), ValueError,
                                   r"spike_drop must be a finite number > 0"),
    "TrainConfig gate_weight < 0": (lambda: config(gate_weight=-0.1), ValueError,
                                    r"gate_weight must be a finite number >= 0"),
    "NetConfig n_states 0": (lambda: em.NetConfig("mlp", n_states=0), ValueError,
                             r"n_states must be an int >= 1; got 0"),
    "NetConfig n_inputs bool": (lambda: em.NetConfig("mlp", 2, n_inputs=True), ValueError,
                                r"n_inputs must be an int >= 1; got True"),
    "CurrentSpec noise_std NaN": (lambda: em.CurrentSpec(noise_std=np.nan), ValueError,
                                  r"noise_std must be a finite number >= 0; got nan"),
    "CurrentSpec noise_std inf": (lambda: em.CurrentSpec(noise_std=np.inf), ValueError,
                                  r"noise_std must be a finite number >= 0; got inf"),
    "CurrentSpec noise_tau NaN": (lambda: em.CurrentSpec(noise_tau=np.nan), ValueError,
                                  r"noise_tau must be a finite number > 0"),
    "CurrentSpec amplitude NaN": (lambda: em.CurrentSpec(amplitude=(np.nan, 1.0)), ValueError,
                                  r"amplitude must be a finite number"),
    "CurrentSpec amplitude one value": (lambda: em.CurrentSpec(amplitude=(1.0,)), ValueError,
                                        r"amplitude must be a pair \(low, high\)"),
    "CurrentSpec steps_range float": (lambda: em.CurrentSpec(steps_range=(0, 2.5)),
                                      ValueError, r"steps_range must be an int >= 0; got 2.5"),
    "CurrentSpec p_zero NaN": (lambda: em.CurrentSpec(p_zero=np.nan), ValueError,
                               r"p_zero must be a finite number >= 0 and <= 1"),
    "generate_dataset seed < 0": (lambda: gen(seed=-1), ValueError,
                                  r"seed must be an int >= 0; got -1"),
    "generate_dataset chunk_size 0": (lambda: gen(chunk_size=0), ValueError,
                                      r"chunk_size must be an int >= 1"),
    "generate_dataset current dict": (lambda: gen(current={"noise_std": 0.1}), ValueError,
                                      r"current must be a CurrentSpec; got dict"),
    "generate_dataset n_runs bool": (lambda: gen(n_runs=True), ValueError,
                                     r"n_runs must be an int >= 1; got True"),
    "generate_dataset t1 NaN": (lambda: gen(t1=np.nan), ValueError,
                                r"t1 must be a finite number > 0"),
    "generate_dataset dt_save inf": (lambda: gen(dt_save=np.inf), ValueError,
                                     r"dt_save must be a finite number > 0"),
    "generate_dataset param range inf": (
        lambda: gen(param_ranges={"K_o": (4.0, np.inf)}), ValueError,
        r"param_ranges\['K_o'\] must be a finite number"),
    "split_by_run two fractions": (lambda: em.split_by_run(dataset(), (0.5, 0.5)), ValueError,
                                   r"fractions must be three numbers"),
    "split_by_run seed float": (lambda: em.split_by_run(dataset(), seed=1.5), ValueError,
                                r"seed must be an int >= 0"),
    "generate_network_dataset n_neurons 1": (lambda: gen_net(n_neurons=1), ValueError,
                                             r"n_neurons must be an int >= 2; got 1"),
    "generate_network_dataset weight NaN": (lambda: gen_net(weight_range=(np.nan, 1.0)),
                                            ValueError, r"weight_range must be a finite"),
    "generate_network_dataset dt 0": (lambda: gen_net(dt=0.0), ValueError,
                                      r"dt must be a finite number > 0"),
    "match_spikes tolerance < 0": (lambda: em.match_spikes([1.0], [1.0], -1.0), ValueError,
                                   r"tolerance \(ms\) must be a finite number >= 0"),
    "spike_scores duration 0": (lambda: em.spike_scores([[1.0]], [[1.0]], 0.0), ValueError,
                                r"duration \(ms\) must be a finite number > 0; got 0"),
    "reset_spike_times drop NaN": (lambda: em.reset_spike_times(np.arange(3.0), np.zeros(3),
                                                                np.nan), ValueError,
                                   r"drop \(mV\) must be a finite number > 0"),
    "speed_vs repeats 0": (lambda: em.speed_vs(tiny_emulator(), dataset(), lambda: 0,
                                               repeats=0), ValueError,
                           r"repeats must be an int >= 1; got 0"),
    "windows window 0": (lambda: em.training.windows(dataset(), 0), ValueError,
                         r"window must be an int >= 1; got 0"),
}

NETWORK_OPTIONS = {
    "PoissonInput rate inf": (lambda: PoissonInput(0, np.inf, 1.0), ValueError,
                              r"rate must be finite; got .*inf"),
    "PoissonInput rate NaN": (lambda: PoissonInput(0, np.nan, 1.0), ValueError,
                              r"rate must be >= 0 \(and not NaN\)"),
    "PoissonInput rates one inf": (lambda: PoissonInput(0, np.array([5.0, np.inf]), 1.0),
                                   ValueError, r"rate must be finite"),
    "PoissonInput weight inf": (lambda: PoissonInput(0, 10.0, np.inf), ValueError,
                                r"weight must be finite"),
    "PoissonInput target float": (lambda: PoissonInput(0.5, 10.0, 1.0), ValueError,
                                  r"target must be an int >= 0; got 0.5"),
    "PoissonInput target bool": (lambda: PoissonInput(True, 10.0, 1.0), ValueError,
                                 r"target must be an int >= 0; got True"),
    "GaussianInput std inf": (lambda: GaussianInput(0, 0.0, np.inf), ValueError,
                              r"std must be finite"),
    "GaussianInput target < 0": (lambda: GaussianInput(-1, 0.0, 1.0), ValueError,
                                 r"target must be an int >= 0; got -1"),
    "CurrentInput stimulus text": (lambda: CurrentInput(0, 1.0, "step"), ValueError,
                                   r"stimulus must be a jaxneuron stimulus or None; got str"),
    "Projection pre float": (lambda: proj(pre=0.0), ValueError,
                             r"pre must be an int >= 0; got 0.0"),
    "Projection gain NaN": (lambda: proj(gain=np.nan), ValueError, r"gain must be finite"),
    "StateJump delay float": (lambda: izh_net(proj(synapse=StateJump("v", delay=1.5))),
                              ValueError, r"delay \(steps\) must be an int >= 0; got 1.5"),
    "StateJump delay < 0": (lambda: izh_net(proj(synapse=StateJump("v", delay=-1))),
                            ValueError, r"delay \(steps\) must be an int >= 0; got -1"),
    "STDP A_plus inf": (lambda: STDP(A_plus=np.inf), ValueError, r"A_plus must be finite"),
    "Population max_events 0": (lambda: izh_net(max_events=0), ValueError,
                                r"max_events must be an int >= 1; got 0"),
    "Population n bool": (lambda: Population(jn.Izhikevich(), True), ValueError,
                          r"n must be a positive int"),
    "simulate_network record key bool": (lambda: run_net(record={True: [0]}), ValueError,
                                         r"record keys must index populations"),
    "simulate_network record_weights bool": (lambda: run_net(record_weights=[False]),
                                             ValueError, r"record_weights must list"),
    "fixed_probability n_pre bool": (lambda: fixed_probability(True, 3, 0.5, 1.0, seed=0),
                                     ValueError, r"n_pre must be an int >= 1; got True"),
    "ring sigma inf": (lambda: ring(20, 0.5, np.inf, 1.0, seed=0), ValueError,
                       r"sigma \(neurons\) must be a finite number > 0; got inf"),
    "fixed_in_degree k bool": (lambda: fixed_in_degree(3, 3, True, 1.0, seed=0), ValueError,
                               r"k must be an int in \[0, 3\]; got True"),
    "fixed_probability p bool": (lambda: fixed_probability(3, 3, True, 1.0, seed=0),
                                 ValueError, r"p must be a probability in \[0, 1\]"),
}

SAMPLING_OPTIONS = {
    "uniform log a lone unknown string": (
        lambda: sampling.uniform(BOUNDS, 4, log="a"), ValueError,
        r"log: \['a'\] not sampled; the sampled parameters are \['g_Na', 'g_K'\]"),
    "uniform log one unknown of two": (lambda: sampling.uniform(BOUNDS, 4, log=["g_Na", "gK"]),
                                       ValueError, r"log: \['gK'\] not sampled"),
    "sobol log an int": (lambda: sampling.sobol(BOUNDS, 4, log=3), ValueError,
                         r"log must be True, False or a collection of parameter names"),
    "latin_hypercube log a dict": (lambda: sampling.latin_hypercube(BOUNDS, 4, log={1: 2}),
                                   ValueError, r"log must be True, False or a collection"),
    "uniform bounds inf": (lambda: sampling.uniform({"a": (0.0, np.inf)}, 4), ValueError,
                           r"bounds: each must be \(low, high\) with finite low < high; got 'a'"),
    "uniform bounds NaN": (lambda: sampling.uniform({"a": (np.nan, 1.0)}, 4), ValueError,
                           r"bounds: each must be .*finite.*; got 'a': \(nan, 1.0\)"),
    "uniform bounds equal": (lambda: sampling.uniform({"a": (1.0, 1.0)}, 4), ValueError,
                             r"bounds: each must be \(low, high\) with finite low < high; got 'a': "
                             r"\(1.0, 1.0\)"),
    "uniform bounds a number": (lambda: sampling.uniform({"a": 5.0}, 4), ValueError,
                                r"bounds: each must be \(low, high\).*; got 'a': 5.0"),
    "uniform bounds a string": (lambda: sampling.uniform({"a": "01"}, 4), ValueError,
                                r"bounds: each must be \(low, high\).*; got 'a': '01'"),
    "uniform bounds three values": (lambda: sampling.uniform({"a": (0, 1, 2)}, 4), ValueError,
                                    r"bounds: each must be \(low, high\).*; got 'a': \(0, 1, 2\)"),
    "uniform bounds a list": (lambda: sampling.uniform([("a", (0, 1))], 4), ValueError,
                              r"bounds: give at least one parameter as \{name: \(low, high\)\}"),
    "uniform n bool": (lambda: sampling.uniform(BOUNDS, True), ValueError,
                       r"n must be a positive int; got True"),
    "uniform n float": (lambda: sampling.uniform(BOUNDS, 4.0), ValueError,
                        r"n must be a positive int; got 4.0"),
    "uniform seed < 0": (lambda: sampling.uniform(BOUNDS, 4, seed=-1), ValueError,
                         r"seed must be an int >= 0; got -1"),
    "sobol seed float": (lambda: sampling.sobol(BOUNDS, 4, seed=0.5), ValueError,
                         r"seed must be an int >= 0; got 0.5"),
    "latin_hypercube seed text": (lambda: sampling.latin_hypercube(BOUNDS, 4, seed="0"),
                                  ValueError, r"seed must be an int >= 0; got '0'"),
    "sample grid n 0": (lambda: sampling.sample("grid", BOUNDS, 0), ValueError,
                        r"n must be a positive int; got 0"),
    "grid axis empty": (lambda: sampling.grid({"a": []}), ValueError,
                        r"axes\['a'\] must have at least 1 rows; got shape \(0,\)"),
    "grid axis NaN": (lambda: sampling.grid({"a": [1.0, np.nan]}), ValueError,
                      r"axes\['a'\] must be finite"),
    "grid axis text": (lambda: sampling.grid({"a": ["x", "y"]}), ValueError,
                       r"axes\['a'\] must be a numeric array"),
}


def lif_sweep(**kwargs):
    return jn.sweep(jn.LIF(), {"tau_m": np.array([10.0, 20.0])}, jn.StepCurrent(2.0),
                    t1=1.0, progress=False, **kwargs)


def hh_fit(**kwargs):
    kwargs = {"params": ["g_Na"], "steps": 1, **kwargs}
    return jn.fit(jn.HodgkinHuxley(g_Na=100.0), jn.StepCurrent(10.0), np.zeros(81), t1=2.0,
                  progress=False, **kwargs)


SPIKES = np.array([[5.0, 12.0, np.nan]])
COUNTS = np.tile([0, 2, 1, 0, 3], 40)

OTHER_OPTIONS = {
    "sweep chunk_size 0": (lambda: lif_sweep(chunk_size=0), ValueError,
                           r"chunk_size must be an int >= 1; got 0"),
    "sweep chunk_size bool": (lambda: lif_sweep(chunk_size=True), ValueError,
                              r"chunk_size must be an int >= 1; got True"),
    "sweep tau_m 2-D": (lambda: jn.sweep(jn.LIF(), {"tau_m": np.ones((2, 2))},
                                         jn.StepCurrent(2.0), t1=1.0, progress=False),
                        ValueError, r"params: every value array must be 1-D.*\(2, 2\)"),
    "fit steps bool": (lambda: hh_fit(steps=True), ValueError,
                       r"steps must be an int >= 1; got True"),
    "fit steps float": (lambda: hh_fit(steps=10.0), ValueError,
                        r"steps must be an int >= 1; got 10.0"),
    "fit bounds inf": (lambda: hh_fit(bounds={"g_Na": (0.0, np.inf)}), ValueError,
                       r"bounds\['g_Na'\] must be a finite number"),
    "fit bounds reversed": (lambda: hh_fit(bounds={"g_Na": (200.0, 50.0)}), ValueError,
                            r"bounds\['g_Na'\] must be \(low, high\) with low < high"),
    "fit bounds one number": (lambda: hh_fit(bounds={"g_Na": 150.0}), ValueError,
                              r"bounds\['g_Na'\] must be a pair \(low, high\)"),
    "fit_restarts n_restarts float": (
        lambda: fit_restarts(jn.HodgkinHuxley(), jn.StepCurrent(10.0), np.zeros(81),
                             prior=HH_PRIOR, t1=2.0, key=KEY, n_restarts=4.0), ValueError,
        r"n_restarts must be an int >= 1; got 4.0"),
    "NUTS num_warmup < 0": (lambda: nuts(OBS, num_warmup=-1), ValueError,
                            r"num_warmup must be an int >= 0; got -1"),
    "NUTS num_chains float": (lambda: nuts(OBS, num_chains=2.0), ValueError,
                              r"num_chains must be an int >= 1; got 2.0"),
    "NUTS max_tree_depth 0": (lambda: nuts(OBS, max_tree_depth=0), ValueError,
                              r"max_tree_depth must be an int >= 1; got 0"),
    "NUTS target_accept NaN": (lambda: nuts(OBS, target_accept=np.nan), ValueError,
                               r"target_accept must be a finite number > 0 and < 1"),
    "NUTS dense_mass text": (lambda: nuts(OBS, dense_mass="yes"), ValueError,
                             r"dense_mass must be True or False"),
    "NUTS sigma inf": (lambda: nuts(OBS, sigma=np.inf), ValueError,
                       r"sigma must be > 0 and finite"),
    "NUTS sigma (21, 1) broadcasts wider": (lambda: nuts(OBS, sigma=np.ones((N_OBS, 1))),
                                            ValueError,
                                            r"sigma must be a number or an array that "
                                            r"broadcasts to the observable's shape \(21,\); "
                                            r"got shape \(21, 1\)"),
    "NUTS sigma wrong length": (lambda: nuts(OBS, sigma=np.ones(5)), ValueError,
                                r"sigma must .*broadcasts.*got shape \(5,\)"),
    "fit transforms a string": (lambda: hh_fit(transforms={"g_Na": "log"}), ValueError,
                                r"transforms\['g_Na'\] must be a jaxneuron.transforms "
                                r"transform.*got str"),
    "train_npe flow_layers 0": (lambda: npe(flow_layers=0), ValueError,
                                r"flow_layers must be an int >= 1; got 0"),
    "train_npe knots float": (lambda: npe(knots=4.5), ValueError,
                              r"knots must be an int >= 1; got 4.5"),
    "train_npe val_fraction 1": (lambda: npe(val_fraction=1.0), ValueError,
                                 r"val_fraction must be a finite number > 0 and < 1"),
    "train_npe embedding_dim 0": (lambda: npe(embedding_dim=0), ValueError,
                                  r"embedding_dim must be an int >= 1"),
    "train_npe key int": (lambda: npe(key=0), ValueError, r"key must be a JAX PRNG key"),
    "coverage samples NaN": (lambda: coverage(with_nan((2, 5, 1), (0, 1, 0)), np.ones((2, 1))),
                             ValueError, r"samples must be finite.*\[0, 1, 0\]"),
    "coverage truths wrong dim": (lambda: coverage(np.ones((2, 5, 1)), np.ones((2, 2))),
                                  ValueError, r"truths must have shape \(2, 1\)"),
    "sbc_ranks truths inf": (lambda: sbc_ranks(np.ones((2, 5, 1)), np.full((2, 1), np.inf)),
                             ValueError, r"truths must be finite"),
    "coverage level 1": (lambda: coverage(np.ones((2, 5, 1)), np.ones((2, 1)), 1.0),
                         ValueError, r"level must be a finite number > 0 and < 1"),
    "coverage_interval n_obs 0": (lambda: coverage_interval(0.9, 0), ValueError,
                                  r"n_obs must be an int >= 1; got 0"),
    "c2st seed < 0": (lambda: c2st(np.zeros((10, 1)), np.ones((10, 1)), seed=-1), ValueError,
                      r"seed must be an int >= 0; got -1"),
    "c2st folds bool": (lambda: c2st(np.zeros((10, 1)), np.ones((10, 1)), folds=True),
                        ValueError, r"folds must be an int >= 2; got True"),
    "FastSigmoid slope inf": (lambda: jn.FastSigmoid(slope=np.inf), ValueError,
                              r"slope must be finite"),
    "Arctan detach_reset text": (lambda: jn.Arctan(detach_reset="no"), ValueError,
                                 r"detach_reset must be True or False; got 'no'"),
    "Bounded infinite": (lambda: Bounded(-np.inf, np.inf), ValueError,
                         r"Bounded low must be finite"),
    "Bounded high NaN": (lambda: Bounded(0.0, np.nan), ValueError,
                         r"Bounded high must be finite"),
    "LogBounded high inf": (lambda: LogBounded(1.0, np.inf), ValueError,
                            r"LogBounded high must be finite"),
    "firing_rate empty window": (lambda: firing_rate(SPIKES, 10.0, 10.0), ValueError,
                                 r"t_stop must be > t_start \(ms\)"),
    "firing_rate t_stop inf": (lambda: firing_rate(SPIKES, 0.0, np.inf), ValueError,
                               r"t_stop must be finite"),
    "burst_count max_isi 0": (lambda: burst_count(SPIKES, 0.0), ValueError,
                              r"max_isi must be a finite number > 0"),
    "detect_avalanches dt inf": (lambda: detect_avalanches(COUNTS, np.inf), ValueError,
                                 r"dt \(ms\) must be a finite number > 0; got inf"),
    "detect_avalanches bin_ms NaN": (lambda: detect_avalanches(COUNTS, 0.1, bin_ms=np.nan),
                                     ValueError, r"bin_ms must be a finite number > 0"),
    "branching_ratio max_lag float": (lambda: branching_ratio(COUNTS, max_lag=4.0),
                                      ValueError, r"max_lag must be an int >= 2; got 4.0"),
    "measure n_neurons 0": (lambda: measure(COUNTS, 0.1, n_neurons=0), ValueError,
                            r"n_neurons must be an int >= 1; got 0"),
    "sustained_rate n_last 0": (lambda: sustained_rate(SPIKES, 0.0, 20.0, n_last=0),
                                ValueError, r"n_last must be an int >= 1; got 0"),
    "sustained_rate stop_factor NaN": (
        lambda: sustained_rate(SPIKES, 0.0, 20.0, stop_factor=np.nan), ValueError,
        r"stop_factor must be a finite number > 0"),
    "nth_spike_after n < 0": (lambda: nth_spike_after(SPIKES[0], 0.0, -1), ValueError,
                              r"n must be an int >= 0; got -1"),
    "regimes_raster rate_bin_ms 0": (
        lambda: regimes_raster({}, dt=0.1, rate_bin_ms=0.0), ValueError,
        r"rate_bin_ms must be a finite number > 0; got 0"),
    "typed_raster bin_ms < 0": (lambda: typed_raster({}, t1=10.0,
                                                                         bin_ms=-5.0),
                                ValueError, r"bin_ms must be a finite number > 0; got -5"),
    "HHSummaries window reversed": (lambda: HHSummaries(t_on=50.0, t_off=10.0), ValueError,
                                    r"t_off must be > t_on \(the stimulus window, ms\)"),
    "HHSummaries t_off NaN": (lambda: HHSummaries(t_on=10.0, t_off=np.nan), ValueError,
                              r"t_off must be a finite number; got nan"),
    "bin_counts bin_steps bool": (lambda: bin_counts(np.ones(10), True), ValueError,
                                  r"bin_steps must be an int >= 1; got True"),
}

API = {**OBSERVED, **EMULATOR_OPTIONS, **NETWORK_OPTIONS, **SAMPLING_OPTIONS, **OTHER_OPTIONS}


@pytest.mark.parametrize("case", list(API), ids=list(API))
def test_bad_python_input_raises_naming_the_argument(case):
    call, error, match = API[case]
    with pytest.raises(error, match=match):
        call()


# --- the command line -------------------------------------------------------------------

def sweep_args(tmp, *extra):
    return ["sweep", "--n", "4", "--t1", "5", "--chunk", "4", "--precision", "float64",
            "--store", str(tmp / "s.zarr"), "--out", str(tmp / "out"), *extra]


def simulate_args(tmp, *extra):
    return ["simulate", "--t1", "1", "--out", str(tmp / "out"), *extra]


CLI = {  # id: (argv builder (tmp_path -> argv), regex for the one stderr line)
    "sweep --n 0": (lambda t: sweep_args(t, "--n", "0"),
                    r"argument --n: must be an int >= 1; got '0'"),
    "sweep --n -3": (lambda t: sweep_args(t, "--n", "-3"), r"argument --n: must be an int >= 1"),
    "sweep --n 2.5": (lambda t: sweep_args(t, "--n", "2.5"),
                      r"argument --n: invalid int value: '2.5' \(must be an int >= 1\)"),
    "sweep --chunk 0": (lambda t: sweep_args(t, "--chunk", "0"),
                        r"argument --chunk: must be an int >= 1; got '0'"),
    "sweep --t1 0": (lambda t: sweep_args(t, "--t1", "0"),
                     r"argument --t1: must be a finite number > 0; got '0'"),
    "sweep --t1 nan": (lambda t: sweep_args(t, "--t1", "nan"),
                       r"argument --t1: must be a finite number > 0; got 'nan'"),
    "sweep --dt -0.1": (lambda t: sweep_args(t, "--dt", "-0.1"),
                        r"argument --dt: must be a finite number > 0; got '-0.1'"),
    "sweep --amplitude inf": (lambda t: sweep_args(t, "--amplitude", "inf"),
                              r"argument --amplitude: must be a finite number; got 'inf'"),
    "sweep --seed -1": (lambda t: sweep_args(t, "--seed", "-1"),
                        r"argument --seed: must be an int >= 0; got '-1'"),
    "sweep --precision float16 (parser)": (lambda t: sweep_args(t, "--precision", "float16"),
                                           r"--precision: invalid choice: 'float16'"),
    "sweep --log a lone letter": (lambda t: sweep_args(t, "--log", "g"),
                                  r"--log: \['g'\] not swept"),
    "simulate --t1 0": (lambda t: simulate_args(t, "--t1", "0"),
                        r"argument --t1: must be a finite number > 0; got '0'"),
    "simulate --t1 -5": (lambda t: simulate_args(t, "--t1", "-5"),
                         r"argument --t1: must be a finite number > 0"),
    "simulate --t1 inf": (lambda t: simulate_args(t, "--t1", "inf"),
                          r"argument --t1: must be a finite number > 0; got 'inf'"),
    "simulate --dt 0": (lambda t: simulate_args(t, "--dt", "0"),
                        r"argument --dt: must be a finite number > 0; got '0'"),
    "simulate --dt nan": (lambda t: simulate_args(t, "--dt", "nan"),
                          r"argument --dt: must be a finite number > 0; got 'nan'"),
    "simulate --amplitude nan": (lambda t: simulate_args(t, "--amplitude", "nan"),
                                 r"argument --amplitude: must be a finite number; got 'nan'"),
    "simulate --g-na -1": (lambda t: simulate_args(t, "--g-na", "-1"),
                           r"argument --g-na: must be a finite number >= 0; got '-1'"),
    "simulate --g-k text": (lambda t: simulate_args(t, "--g-k", "lots"),
                            r"argument --g-k: invalid float value: 'lots' \(must be a finite "
                            r"number >= 0\)"),
    "simulate --max-spikes 0": (lambda t: simulate_args(t, "--max-spikes", "0"),
                                r"argument --max-spikes: must be an int >= 1; got '0'"),
    "surrogate --hidden-size 0": (
        lambda t: ["surrogate", "resting", "--hidden-size", "0", "--out", str(t / "o")],
        r"argument --hidden-size: must be an int >= 1; got '0'"),
    "surrogate --plots -1": (
        lambda t: ["surrogate", "izhikevich", "--plots", "-1", "--out", str(t / "o")],
        r"argument --plots: must be an int >= 0; got '-1'"),
    "surrogate --arch of the other pipeline": (
        lambda t: ["surrogate", "resting", "--arch", "gated_mlp", "--out", str(t / "o")],
        r"--arch must be one of \['lstm', 'gru', 'mlp', 'node'\] for surrogate resting; "
        r"got 'gated_mlp'"),
    "digits --seed -1": (lambda t: ["digits", "--seed", "-1", "--out", str(t / "o")],
                         r"argument --seed: must be an int >= 0; got '-1'"),
    "izhikevich-network --seed 1.5": (
        lambda t: ["izhikevich-network", "--seed", "1.5", "--out", str(t / "o")],
        r"argument --seed: invalid int value: '1.5' \(must be an int >= 0\)"),
}


@pytest.mark.parametrize("case", list(CLI), ids=list(CLI))
def test_bad_cli_option_is_one_line_with_exit_code_2(case, tmp_path, capsys):
    argv = CLI[case][0](tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jaxneuron") and "Traceback" not in err
    assert re.search(CLI[case][1], lines[0]), lines[0]
    assert not (tmp_path / "s.zarr").exists() and not (tmp_path / "o").exists()


def test_the_tables_hold_at_least_70_distinct_rows():
    assert len(API) + len(CLI) >= 70
    calls = [(row[0].__code__.co_code, row[0].__code__.co_consts, row[0].__code__.co_names)
             for row in API.values()]
    assert len(set(calls)) == len(calls)  # no row is a copy of another


# --- good paths: valid inputs, NumPy integers included, still work -----------------------

def test_check_int_and_check_real_accept_numpy_numbers_and_return_python_ones():
    for value in (5, np.int64(5), np.int32(5), np.uint8(5)):
        out = check_int("n", value, 1)
        assert out == 5 and type(out) is int
    assert check_int("k", 0, 0, 3) == 0
    with pytest.raises(ValueError, match=r"k must be an int >= 0 and <= 3; got 4"):
        check_int("k", 4, 0, 3)
    with pytest.raises(ValueError, match=r"n must be an int; got np.True_"):
        check_int("n", np.bool_(True))
    for value in (2, 2.0, np.float32(2.0), np.int64(2), np.array(2.0)):
        out = check_real("x", value, gt=0)
        assert out == 2.0 and type(out) is float
    assert check_real("x", np.inf, gt=0, finite=False) == np.inf
    with pytest.raises(ValueError, match=r"x must be a number; got nan"):
        check_real("x", np.nan, finite=False)


def test_check_observed_returns_the_data_and_accepts_free_axes():
    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(check_observed("a", a, shape=(None, 2)), a)
    np.testing.assert_array_equal(check_observed("a", a, shape=("n", "m"), min_length=3), a)
    f32 = np.ones(3, np.float32)
    assert check_observed("a", f32, shape=(3,)).dtype == np.float32  # precision kept
    assert check_observed("a", [1, 2, 3], shape=(3,)).dtype == np.float64  # ints to floats
    with pytest.raises(ValueError, match=r"a must have at least 4 rows; got shape \(3, 2\)"):
        check_observed("a", a, min_length=4)
    with pytest.raises(ValueError, match=r"a must be 1-D; got shape \(3, 2\)"):
        check_observed("a", a, ndim=1)
    # a traced value: only its shape is checked (NaN cannot be seen inside jit)
    assert jax.jit(lambda x: check_observed("a", x, shape=(2,)) * 2)(np.ones(2)).shape == (2,)
    with pytest.raises(ValueError, match=r"a must have shape \(3,\)"):
        jax.jit(lambda x: check_observed("a", x, shape=(3,)))(np.ones(2))


def test_nuts_expects_the_observable_shape_and_accepts_it():
    """t1 = 20 ms saved every 1 ms: 21 voltages (both ends included)."""
    sampler = NutsSampler(passive_lif(), jn.StepCurrent(1.5), prior=LIF_PRIOR, sigma=1.0,
                          num_warmup=np.int64(1), num_samples=np.int64(1),
                          num_chains=np.int32(1), max_tree_depth=np.int64(3), **PASSIVE)
    assert sampler.observed_shape == (21,)
    custom = NutsSampler(passive_lif(), jn.StepCurrent(1.5), prior=LIF_PRIOR, sigma=1.0,
                         observable=lambda tr: tr.v[-1], **PASSIVE)
    assert custom.observed_shape == ()
    draws = tiny_posterior().sample(KEY, np.array([0.5, 0.25]), np.int64(3))
    assert draws.shape == (3, 1) and np.all((draws > 0.0) & (draws < 1.0))  # inside bounds
    per_point = NutsSampler(passive_lif(), jn.StepCurrent(1.5), prior=LIF_PRIOR,
                            sigma=np.ones(N_OBS), **PASSIVE)  # one sigma per saved voltage
    assert per_point.observed_shape == (21,)


def test_fit_target_of_the_right_shape_passes():
    target = lif_fit_target(list(OBS))  # a list is fine: converted to floats
    np.testing.assert_array_equal(target, OBS)


def test_emulator_configs_accept_numpy_integers_and_store_python_ints():
    cfg = em.TrainConfig(epochs=np.int64(3), batch_size=np.int32(8), hidden_size=np.int64(4),
                         seed=np.int64(2), window=np.int16(5), clip_norm=np.float32(2.0))
    values = dataclasses.asdict(cfg)
    assert values["epochs"] == 3 and type(values["epochs"]) is int
    assert type(values["clip_norm"]) is float and values["clip_norm"] == 2.0
    json.dumps(values)  # the checkpoint's JSON
    net = em.NetConfig("mlp", n_states=np.int64(2), n_inputs=np.int64(1))
    assert type(net.n_states) is int
    spec = em.CurrentSpec(steps_range=(np.int64(1), np.int64(3)), noise_std=0)
    assert spec.steps_range == (1, 3) and type(spec.steps_range[0]) is int
    json.dumps(dataclasses.asdict(spec))


def test_clip_norm_none_means_adamw_without_clipping():
    """With clip_norm=None the default optimiser is AdamW alone. Its learning rate warms up
    from 0 (step 0) to the peak 1e-2 (step 1, warm-up of one step); under a constant
    gradient g, Adam's bias-corrected moments are g and g^2, so the second update is
    -1e-2 * g / |g| (weight decay 0): a step of the peak rate against each sign."""
    cfg = em.TrainConfig(clip_norm=None, learning_rate=1e-2, warmup_fraction=0.0)
    optimizer = em.training.default_optimizer(cfg, total_steps=10)
    params = {"w": np.zeros(2)}
    grad = {"w": np.array([3e4, -4e4])}  # a norm far above the default clip norm
    state = optimizer.init(params)
    for _ in range(2):
        updates, state = optimizer.update(grad, state, params)
    np.testing.assert_allclose(updates["w"], [-1e-2, 1e-2], rtol=1e-6)


def test_sampling_log_takes_a_lone_name_and_numpy_integers():
    """With `log="b"` only b is log-uniform: from the same unit draws u, a = 1 + u_a and
    b = exp(u_b ln 10) (bounds (1, 2) and (1, 10))."""
    bounds = {"a": (1.0, 2.0), "b": (1.0, 10.0)}
    sets = sampling.uniform(bounds, np.int64(5), seed=np.int64(3), log="b")
    u = np.random.default_rng(3).random((5, 2))
    np.testing.assert_allclose(sets["a"], 1.0 + u[:, 0], rtol=1e-12)
    np.testing.assert_allclose(sets["b"], np.exp(u[:, 1] * np.log(10.0)), rtol=1e-12)
    same = sampling.uniform(bounds, 5, seed=3, log=("b",))
    np.testing.assert_array_equal(same["b"], sets["b"])
    assert sampling.sobol(bounds, np.int64(4), log={"a", "b"})["a"].shape == (4,)
    assert sampling.sample("grid", bounds, np.int32(3))["a"].shape == (9,)


def test_network_options_accept_numpy_integers():
    inp = PoissonInput(np.int64(0), 100.0, 1.0)
    assert inp.target == 0 and type(inp.target) is int
    p = proj(pre=np.int64(0), post=np.int32(0), synapse=StateJump("v", delay=np.int64(1)))
    assert type(p.pre) is int and type(p.synapse.delay) is int
    net = Network([Population(jn.Izhikevich(), np.int64(3), max_events=np.int64(2))], [p],
                  [GaussianInput(np.int64(0), 0.0, 0.0)])
    result = simulate_network(net, 1.0, 0.1, key=KEY, record={np.int64(0): [0]},
                              record_weights=[np.int64(0)])
    assert bool(result.ok)


def test_cli_argument_types_accept_valid_values():
    assert arguments.positive_int("7") == 7 and arguments.nonnegative_int("0") == 0
    assert arguments.positive_float("0.025") == 0.025
    assert arguments.finite_float("-2.5") == -2.5 and arguments.nonnegative_float("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a finite number > 0"):
        arguments.positive_float("-inf")


def test_analysis_windows_still_take_arrays_and_traced_values():
    rates = firing_rate(SPIKES, np.array([0.0]), np.array([20.0]))
    assert float(rates[0]) == pytest.approx(100.0)  # 2 spikes in 20 ms
    traced = jax.jit(lambda t: firing_rate(SPIKES, 0.0, t))(20.0)
    assert float(traced[0]) == pytest.approx(100.0)


def test_sweep_takes_a_numpy_chunk_size_and_flags_nan_sets_by_index():
    """A NaN or infinite parameter value is not an error of the whole sweep but a flagged
    set: `STATUS_OUTSIDE_DOMAIN` (tau_m must be > 0 and finite), never ok."""
    with pytest.warns(RuntimeWarning, match="2 of 3 parameter sets failed"):
        result = jn.sweep(jn.LIF(), {"tau_m": np.array([10.0, np.nan, np.inf])},
                          jn.StepCurrent(2.0), t1=1.0, chunk_size=np.int64(2), progress=False)
    np.testing.assert_array_equal(result.ok, [True, False, False])
    np.testing.assert_array_equal(result.status,
                                  [STATUS_OK, STATUS_OUTSIDE_DOMAIN, STATUS_OUTSIDE_DOMAIN])
