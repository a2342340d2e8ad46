"""No silent wrong results (issue 20, classes 3, 5, 6 and the key/path/CLI part of 7): every
bad input gives a clear error naming the argument and what is allowed.

One table (`CASES`) of bad inputs through the Python API and the command line, then
targeted tests of the checks' good paths (a correct input still works)."""

from __future__ import annotations

import functools
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxneuron as jn
from jaxneuron.apps.cli import main
from jaxneuron.apps.workflows.sweep_command import check_parameters_matter
from jaxneuron.fit import check_target
from jaxneuron.inference import Prior, Uniform, fit_restarts
from jaxneuron.network import (
    STDP,
    Network,
    PoissonInput,
    Population,
    Projection,
    StateJump,
    all_to_all,
    fixed_in_degree,
    fixed_probability,
    layered,
    ring,
    simulate_network,
    small_world,
)

T1 = 2.0  # ms: fit targets are checked before anything is compiled, so keep runs tiny
HH = jn.HodgkinHuxley
STEP = jn.StepCurrent(10.0)


@functools.cache
def hh_v():
    """The HH voltage on the default save grid of a T1 run: a valid `voltage_mse` target."""
    return np.asarray(jn.simulate(HH(), STEP, t1=T1).v)


def fit_hh(target, **kwargs):
    kwargs.setdefault("params", ["g_Na"])
    kwargs.setdefault("steps", 1)
    return jn.fit(HH(g_Na=100.0), STEP, target, t1=T1, progress=False, **kwargs)


def restarts_hh(target, key=None):
    key = jax.random.key(0) if key is None else key
    return fit_restarts(HH(), STEP, target, prior=Prior({"g_Na": Uniform(60.0, 180.0)}),
                        t1=T1, key=key, n_restarts=2, steps=1)


def cond_lif_net(weight=1.0, gain=1.0, target="g_e", plasticity=None, inputs=()):
    pop = Population(jn.ConductanceLIF(), 4)
    proj = Projection(0, 0, all_to_all(4, 4, weight), StateJump(target),
                      gain=gain, plasticity=plasticity)
    return Network([pop], [proj], inputs)


def tree_at_negative():
    net = cond_lif_net(1.0)
    net = eqx.tree_at(lambda n: n.projections[0].connectivity.weights, net,
                      -jnp.ones(16))
    return simulate_network(net, 2.0, 0.1)


def prior():
    return Prior({"g_Na": Uniform(60.0, 180.0), "g_K": Uniform(18.0, 54.0)})


def nonscalar_loss(trace, target):
    return trace.v - target


def shape_loss(trace, target):
    return jnp.mean((trace.v @ target) ** 2)  # matmul: fails for a target of wrong length


def nan_loss(trace, target):
    return jnp.mean((trace.v - target) ** 2) * jnp.nan


# --- the command line -------------------------------------------------------------------

def sweep_args(tmp, *extra, out=None, store=None):
    out = str(tmp / "out") if out is None else out
    store = str(tmp / "s.zarr") if store is None else store
    return ["sweep", "--n", "4", "--t1", "5", "--chunk", "4", "--precision", "float64",
            "--store", store, "--out", out, *extra]


def a_file(tmp):
    path = tmp / "a_file.txt"
    path.write_text("not a folder")
    return str(path)


CLI = {  # id: (argv builder (tmp_path -> argv), regex for the one stderr line)
    "sweep --log not swept": (
        lambda t: sweep_args(t, "--log", "g_L"), r"--log: \['g_L'\] not swept.*g_Na"),
    "sweep --log misspelt": (
        lambda t: sweep_args(t, "--param", "g_Na=60:180", "--log", "gNa"),
        r"--log.*not swept.*\['g_Na'\]"),
    "sweep --param repeated": (
        lambda t: sweep_args(t, "--param", "g_Na=60:180", "--param", "g_Na=90:100"),
        r"--param: each parameter may be given once; \['g_Na'\] repeated"),
    "sweep restingmembrane without --param": (
        lambda t: sweep_args(t, "--model", "restingmembrane"),
        r"--param is required for --model restingmembrane"),
    "sweep lif without --param": (
        lambda t: sweep_args(t, "--model", "lif"), r"--param is required.*LIF"),
    "sweep restingmembrane unused g_Na": (
        lambda t: sweep_args(t, "--model", "restingmembrane", "--param", "g_Na=0.01:0.05"),
        r"--param: parameter g_Na does not affect model RestingMembrane"),
    "sweep unknown parameter": (
        lambda t: sweep_args(t, "--model", "lif", "--param", "g_Na=60:180"),
        r"--param: unknown parameter\(s\) \['g_Na'\] of LIF"),
    "sweep bad --param form": (
        lambda t: sweep_args(t, "--param", "g_Na=60"), r"--param must look like name=low:high"),
    "sweep --out is a file": (
        lambda t: sweep_args(t, out=a_file(t)), r"--out: .*a_file.txt is an existing file"),
    "sweep --out below a file": (
        lambda t: sweep_args(t, out=a_file(t) + "/sub"), r"--out: .*part of the path.*file"),
    "sweep --store is a file": (
        lambda t: sweep_args(t, store=a_file(t)),
        r"--store: .*a_file.txt is an existing file; give a folder"),
    "simulate --out is a file": (
        lambda t: ["simulate", "--t1", "1", "--out", a_file(t)], r"--out: .*existing file"),
    "sweep --sampler unknown (parser)": (
        lambda t: sweep_args(t, "--sampler", "bogus"), r"--sampler: invalid choice.*sobol"),
    "sweep --n not an int (parser)": (
        lambda t: sweep_args(t, "--n", "many"), r"--n: invalid int value: 'many'"),
    "unknown command (parser)": (
        lambda t: ["no-such-command"], r"invalid choice: 'no-such-command'.*simulate"),
    "sweep --model unknown": (
        lambda t: sweep_args(t, "--model", "nosuchmodel"), r"--model must be one of"),
}


def hh_fit_rows():
    n = T1 / 0.025 + 1
    shape = rf"shape \({int(n)},\)"
    return {
        # class 3: fit targets against what the loss compares them with
        "fit target length 1": (lambda: fit_hh(hh_v()[:1]), ValueError,
                                rf"target must be a 1-D voltage trace.*{shape}.*got shape \(1,\)"),
        "fit target (n, 1)": (lambda: fit_hh(hh_v()[:, None]), ValueError,
                              rf"target must be a 1-D voltage.*{shape}.*got shape \(\d+, 1\)"),
        "fit target too short": (lambda: fit_hh(hh_v()[:-1]), ValueError,
                                 rf"target .*{shape}.*got shape"),
        "fit target too long": (lambda: fit_hh(np.append(hh_v(), 0.0)), ValueError,
                                rf"target .*{shape}"),
        "fit target (1, n)": (lambda: fit_hh(hh_v()[None]), ValueError, rf"target .*{shape}"),
        "fit target scalar": (lambda: fit_hh(-65.0), ValueError,
                              r"target must be a 1-D voltage.*got shape \(\)"),
        "fit target NaN": (lambda: fit_hh(np.where(np.arange(hh_v().size) == 3, np.nan,
                                                   hh_v())), ValueError,
                           r"target must be finite; it has 1 NaN/inf value\(s\) .*index \[3\]"),
        "fit target inf": (lambda: fit_hh(np.full_like(hh_v(), np.inf)), ValueError,
                           r"target must be finite"),
        "fit target not numeric": (lambda: fit_hh("trace.csv"), ValueError,
                                   r"target must be a numeric array"),
        "fit spike target unsorted": (
            lambda: fit_hh([1.5, 0.5], loss=jn.spike_time_mse), ValueError,
            r"target spike times must be sorted"),
        "fit spike target NaN": (lambda: fit_hh([0.5, np.nan], loss=jn.spike_time_mse),
                                 ValueError, r"target must be finite"),
        "fit spike target empty": (lambda: fit_hh([], loss=jn.spike_time_mse), ValueError,
                                   r"target must be a 1-D array of 1 to max_spikes=64"),
        "fit spike target > max_spikes": (
            lambda: fit_hh(np.arange(65.0), loss=jn.spike_time_mse), ValueError,
            r"target must be a 1-D array of 1 to max_spikes=64 spike times.*\(65,\)"),
        "fit spike target 2-D": (lambda: fit_hh([[0.5], [1.0]], loss=jn.spike_time_mse),
                                 ValueError, r"target must be a 1-D array.*\(2, 1\)"),
        "fit custom loss not scalar": (lambda: fit_hh(hh_v(), loss=nonscalar_loss), ValueError,
                                       r"target: loss\(trace, target\) must be a scalar"),
        "fit custom loss fails on target": (
            lambda: fit_hh(hh_v()[:5], loss=shape_loss), ValueError,
            r"target: loss\(trace, target\) fails for this target \(TypeError"),
        "fit custom loss NaN target": (lambda: fit_hh(hh_v() * np.nan, loss=shape_loss),
                                       ValueError, r"target must be finite"),
        "fit loss NaN in optimisation": (
            lambda: fit_hh(hh_v(), loss=nan_loss, optimizer=optax.sgd(1e-3)), FloatingPointError,
            r"fit: the loss became nan at step 0 \(parameters g_Na=100"),
        "fit_restarts target (n, 1)": (lambda: restarts_hh(hh_v()[:, None]), ValueError,
                                       rf"target must be a 1-D voltage.*{shape}"),
        "fit_restarts target NaN": (lambda: restarts_hh(hh_v() * np.nan), ValueError,
                                    r"target must be finite"),
        "fit_restarts key int": (lambda: restarts_hh(hh_v(), key=0), ValueError,
                                 r"key must be a JAX PRNG key; got int 0: use "
                                 r"jax.random.key\(seed\)"),
    }


API = {
    **hh_fit_rows(),
    # class 5: random connectivity needs a seed (else each call draws another network)
    "fixed_probability seed None": (lambda: fixed_probability(10, 10, 0.2, 1.0, seed=None),
                                    ValueError, r"seed must be an int >= 0 or a JAX PRNG key"),
    "fixed_probability seed negative": (
        lambda: fixed_probability(10, 10, 0.2, 1.0, seed=-1), ValueError, r"seed must be.*-1"),
    "fixed_probability seed text": (
        lambda: fixed_probability(10, 10, 0.2, 1.0, seed="abc"), ValueError, r"seed must be"),
    "fixed_in_degree seed None": (lambda: fixed_in_degree(10, 10, 2, 1.0, seed=None),
                                  ValueError, r"seed must be an int >= 0"),
    "ring seed None": (lambda: ring(20, 0.5, 2.0, 1.0, seed=None), ValueError,
                       r"seed must be an int >= 0"),
    "small_world seed None": (lambda: small_world(20, 4, 0.1, 1.0, seed=None), ValueError,
                              r"seed must be an int >= 0"),
    "layered seed None": (lambda: layered([5, 5], 0.5, 1.0, seed=None), ValueError,
                          r"seed must be an int >= 0"),
    "parameter without effect": (
        lambda: check_parameters_matter(jn.RestingMembrane(), ["g_K"]), ValueError,
        r"parameter g_K does not affect model RestingMembrane"),
    # class 6: physically invalid network settings
    "negative weight into g_e": (
        lambda: cond_lif_net(-0.5), ValueError,
        r"projections\[0\]: weights \* gain into the conductance 'g_e'.*>= 0 nS.*-0.5"),
    "negative weight into g_i": (lambda: cond_lif_net(-0.5, target="g_i"), ValueError,
                                 r"conductance 'g_i' of ConductanceLIF must be >= 0"),
    "negative gain on a conductance": (lambda: cond_lif_net(1.0, gain=-2.0), ValueError,
                                       r"weights \* gain.*>= 0 nS.*got a minimum of -2"),
    "one negative weight in a matrix": (
        lambda: cond_lif_net(np.where(np.eye(4) > 0, -1e-3, 1.0)), ValueError,
        r"weights \* gain.*minimum of -0.001"),
    "negative weight set by tree_at": (tree_at_negative, ValueError,
                                       r"weights \* gain into the conductance 'g_e'"),
    "Poisson input negative into g_e": (
        lambda: cond_lif_net(1.0, inputs=[PoissonInput(0, 100.0, -1.0)]), ValueError,
        r"inputs\[0\].weight into the conductance 'g_e' must be >= 0 nS"),
    "STDP bounds below the weights": (
        lambda: cond_lif_net(2.0, plasticity=STDP(w_min=0.0, w_max=1.0)), ValueError,
        r"initial weights must lie within the STDP bounds \[w_min, w_max\] = \[0, 1\].*"
        r"\[2, 2\]"),
    "STDP bounds above the weights": (
        lambda: Network([Population(jn.Izhikevich(), 3)],
                        [Projection(0, 0, all_to_all(3, 3, 0.1), StateJump("v"),
                                    plasticity=STDP(w_min=0.5, w_max=1.0))]), ValueError,
        r"STDP bounds \[w_min, w_max\] = \[0.5, 1\].*got weights in \[0.1, 0.1\]"),
    "STDP w_min < 0 on a conductance": (
        lambda: cond_lif_net(0.5, plasticity=STDP(w_min=-1.0, w_max=1.0)), ValueError,
        r"plasticity: w_min must be >= 0 for a conductance synapse"),
    # class 7: keys and sample sizes
    "simulate_network key int": (
        lambda: simulate_network(cond_lif_net(1.0, inputs=[PoissonInput(0, 100.0, 1.0)]),
                                 2.0, 0.1, 0), ValueError,
        r"key must be a JAX PRNG key; got int 0: use jax.random.key\(seed\)"),
    "simulate_network key int array": (
        lambda: simulate_network(cond_lif_net(1.0), 2.0, 0.1, np.array([0, 1])), ValueError,
        r"key must be a JAX PRNG key.*use jax.random.key\(seed\)"),
    "Prior.sample n = -1": (lambda: prior().sample(jax.random.key(0), -1), ValueError,
                            r"n must be an int >= 0 \(number of draws\); got -1"),
    "Prior.sample n float": (lambda: prior().sample(jax.random.key(0), 2.5), ValueError,
                             r"n must be an int >= 0.*2.5"),
    "Prior.sample key int": (lambda: prior().sample(0, 3), ValueError,
                             r"key must be a JAX PRNG key; got int 0: use jax.random.key"),
    "Prior.sample key None": (lambda: prior().sample(None, 3), ValueError,
                              r"key must be a JAX PRNG key; got NoneType"),
}


@pytest.mark.parametrize("case", list(API), ids=list(API))
def test_bad_python_input_raises_naming_the_argument(case):
    call, error, match = API[case]
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("case", list(CLI), ids=list(CLI))
def test_bad_cli_input_is_one_line_with_exit_code_2(case, tmp_path, capsys):
    build, match = CLI[case]
    argv = build(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("jaxneuron")
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "s.zarr").exists()  # nothing was swept


def test_table_is_large_enough():
    assert len(API) + len(CLI) >= 45


# --- targeted tests: the good paths still work --------------------------------------------

def test_targets_of_the_right_shape_pass_the_check():
    kwargs = {"throw": False}
    target = check_target(HH(), STEP, hh_v(), jn.voltage_mse, T1, kwargs)
    np.testing.assert_array_equal(target, hh_v())
    check_target(HH(), STEP, [0.5, 0.5, 1.5], jn.spike_time_mse, T1, kwargs)
    check_target(HH(), STEP, {"v": hh_v()}, lambda tr, tg: jnp.mean((tr.v - tg["v"]) ** 2),
                 T1, kwargs)  # a custom loss may take any target, e.g. a dict


def test_fixed_probability_seed_is_reproducible_int_or_key():
    a = fixed_probability(50, 40, 0.2, 1.0, seed=3)
    b = fixed_probability(50, 40, 0.2, 1.0, seed=3)
    c = fixed_probability(50, 40, 0.2, 1.0, seed=4)
    np.testing.assert_array_equal(a.to_dense(), b.to_dense())
    assert not np.array_equal(a.to_dense(), c.to_dense())
    k1 = fixed_probability(50, 40, 0.2, 1.0, seed=jax.random.key(7))
    k2 = fixed_probability(50, 40, 0.2, 1.0, seed=jax.random.key(7))
    np.testing.assert_array_equal(k1.to_dense(), k2.to_dense())
    assert 0.15 < k1.n_synapses / (50 * 40) < 0.25
    # an int seed gives the same network as before this check (seeded the same way)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(a.out_degrees(), rng.binomial(40, 0.2, size=50))


def test_physical_networks_still_build_and_run():
    net = cond_lif_net(0.5, plasticity=STDP(w_min=0.0, w_max=1.0),
                       inputs=[PoissonInput(0, 500.0, 2.0)])
    result = simulate_network(net, 5.0, 0.1, jax.random.key(0))
    assert bool(result.ok)
    # signed weights are fine on a non-conductance state (a jump of v)
    Network([Population(jn.Izhikevich(), 3)],
            [Projection(0, 0, all_to_all(3, 3, -1.0), StateJump("v"))])
    # under jit the weights are tracers: not checked there (and not rejected)
    run = jax.jit(lambda w: simulate_network(
        eqx.tree_at(lambda n: n.projections[0].connectivity.weights, cond_lif_net(0.5), w),
        2.0, 0.1).ok)
    assert bool(run(jnp.full(16, 0.5)))


def test_parameters_that_act_away_from_rest_are_not_flagged():
    # g_L of LIF-like models multiplies (V - E_L), which is 0 at rest: probed off rest too
    check_parameters_matter(jn.ConductanceLIF(), ["g_L", "V_th", "V_reset", "t_ref", "E_e"])
    check_parameters_matter(jn.LIF(), ["tau_m", "R", "V_th", "t_ref"])
    check_parameters_matter(HH(), ["g_Na", "g_K"])
    with pytest.raises(ValueError, match="does not affect"):
        check_parameters_matter(jn.RestingMembrane(), ["g_Na"])


def test_cli_interrupt_exits_130_and_other_errors_stay_visible(monkeypatch, tmp_path, capsys):
    from jaxneuron.apps.workflows import hh_simulate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hh_simulate, "run", interrupted)
    assert main(["simulate", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == "jaxneuron simulate: interrupted"

    def exists(*args, **kwargs):
        raise FileExistsError(17, "File exists", "x.zarr")

    monkeypatch.setattr(hh_simulate, "run", exists)
    assert main(["simulate", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "FileExistsError" in err

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a real bug")

    monkeypatch.setattr(hh_simulate, "run", bug)
    with pytest.raises(ZeroDivisionError):
        main(["simulate", "--out", str(tmp_path)])


def test_cli_reports_a_run_time_check_inside_jit_as_one_line(capsys, monkeypatch):
    """A failure found by `eqx.error_if` inside compiled code (here: a full spike buffer,
    raised by simulate's run-time check) is one stderr line with exit code 2."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from jaxneuron.apps import cli
    from jaxneuron.apps.workflows import hh_simulate

    def failing_run(*args, **kwargs):
        check = jax.jit(lambda x: eqx.error_if(x, x > 0, "more spikes than max_spikes = 4"))
        check(jnp.ones(()))

    monkeypatch.setattr(hh_simulate, "run", failing_run)
    code = cli.main(["simulate"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "jaxneuron simulate: more spikes than max_spikes = 4"
