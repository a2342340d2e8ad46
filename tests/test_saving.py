"""`simulate(..., save_states=...)` saves only the chosen state columns; `Trace.v`, the spikes
and the final state stay those of the full save, for every model and engine, under `jit`,
`vmap` and `grad`. The expected values are the full save's columns of the same run."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ENGINES, MODELS, supports

import jaxneuron as jn
from jaxneuron.analysis import detect_spikes
from jaxneuron.engines import SaveSpec
from jaxneuron.trace import STATUS_NONFINITE

# Each pair compiles three runs (every state, one, none): 3-10 s per pair on a 2-core CPU.
# By default one model per engine runs (the adaptive engine in make test-slow); the other
# pairs are slow.
DEFAULT_PAIRS = {("HodgkinHuxley", "FixedSteps"), ("Izhikevich", "ClockSpiking"),
                 ("LIF", "ExactSpiking")}  # the adaptive engine's SaveAt path: slow (17 s)


def _one_name(model) -> str:
    """A state to keep: the second one where there is one (so not V), else the first."""
    names = model.state_names
    return names[1] if len(names) > 1 else names[0]


def _pairs():
    for case in MODELS:
        for engine in ENGINES:
            if not supports(case, engine):
                continue  # tests/test_matrix.py checks that these pairs raise
            slow = (case.id, engine.id) not in DEFAULT_PAIRS
            yield pytest.param(case, engine, id=f"{case}-{engine}",
                               marks=[pytest.mark.slow] if slow else [])


def _assert_same(a, b):
    """The same computation, only saved differently: to the last bits (a loop that must also
    output the states it does not carry, such as the staggered scheme's synchronised
    gates, is fused differently, which may round a few values differently in the last
    bit)."""
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=4e-15, atol=0)


def _assert_close(a, b):
    """To rounding: the same computation compiled in a different program (jit, vmap)."""
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case, engine", list(_pairs()))
def test_saving_some_states_keeps_v_spikes_and_the_kept_columns_of_the_full_save(case,
                                                                                  engine):
    model = case.make()
    # smooth models under adaptive steps find spikes on the saved trace: save every dt;
    # spiking models save every 10 steps (the strided save path)
    run = functools.partial(jn.simulate, model, case.stimulus, t1=case.t1, dt=case.dt,
                            engine=engine.make(),
                            save_every=10 * case.dt if case.spiking else None)
    full = run()
    name = _one_name(model)
    column = model.state_names.index(name)
    assert full.states.shape == (full.ts.shape[0], len(model.state_names))

    one = run(save_states=(name,))
    none = run(save_states=())
    n_save = full.ts.shape[0]
    for trace in (one, none):
        _assert_same(trace.ts, full.ts)
        _assert_same(trace.v, full.v)
        _assert_same(trace.v, full.states[:, 0])  # V is the first state of every model
        _assert_same(trace.spike_times, full.spike_times)
        assert int(trace.n_spikes) == int(full.n_spikes)
        assert case.spikes[0] <= int(trace.n_spikes) <= case.spikes[1]
        _assert_same(trace.final_state, full.final_state)
        assert trace.final_state.shape == (len(model.state_names),)
        assert int(trace.status) == 0 and bool(trace.ok)
    assert one.states.shape == (n_save, 1) and one.state_names == (name,)
    _assert_same(one.state(name), full.states[:, column])
    assert none.states.shape == (n_save, 0) and none.state_names == ()
    with pytest.raises(ValueError, match="name must be one of"):
        none.state(name)
    if not case.spiking:  # threshold spikes of a smooth model: found on v alone
        found, count = detect_spikes(none.ts, none.v, 0.0, 8)
        expected, expected_count = detect_spikes(full.ts, full.states[:, 0], 0.0, 8)
        _assert_same(found, expected)
        assert int(count) == int(expected_count)


@pytest.mark.parametrize("bad", [("X",), ("V", "V"), (0,), "V", 3, {"V": 1}],
                         ids=["unknown", "twice", "not-a-string", "lone-string", "int", "dict"])
def test_bad_save_states_raise_naming_the_argument_and_the_allowed_names(bad):
    with pytest.raises(ValueError, match=r"save_states.*\('V', 'm', 'h', 'n'\)"):
        jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(10.0), t1=1.0, save_states=bad)
    with pytest.raises(ValueError, match="save_states"):
        SaveSpec.build(("V", "m", "h", "n"), bad)


def test_a_blow_up_is_detected_from_the_full_final_state_with_no_state_saved():
    bad = jn.HodgkinHuxley(g_Na=5000.0)
    kwargs = dict(t1=20.0, dt=0.1, solver="euler", save_every=0, save_states=())
    trace = jn.simulate(bad, jn.StepCurrent(10.0), throw=False, **kwargs)
    assert int(trace.status) == STATUS_NONFINITE and not bool(trace.ok)
    assert trace.states.shape == (2, 0) and trace.final_state.shape == (4,)
    with pytest.raises(Exception, match="simulation failed"):
        jn.simulate(bad, jn.StepCurrent(10.0), **kwargs)


# jit, vmap and grad: by default the resting membrane on fixed steps (the fixed-step save
# path that the clock engine shares); HH, the clock engine and the adaptive engines (a
# gradient through diffrax's SaveAt fn and through the exact loop) are slow (their vmapped
# reverse-mode loops compile for 10-60 s).
TRANSFORM_CASES = [
    pytest.param("RestingMembrane", "FixedSteps", id="RestingMembrane-FixedSteps"),
    pytest.param("HodgkinHuxley", "FixedSteps", id="HodgkinHuxley-FixedSteps",
                 marks=pytest.mark.slow),
    pytest.param("Izhikevich", "ClockSpiking", id="Izhikevich-ClockSpiking",
                 marks=pytest.mark.slow),
    pytest.param("RestingMembrane", "AdaptiveSteps", id="RestingMembrane-AdaptiveSteps",
                 marks=pytest.mark.slow),
    pytest.param("LIF", "ExactSpiking", id="LIF-ExactSpiking", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("model_id, engine_id", TRANSFORM_CASES)
def test_save_states_under_jit_vmap_and_grad_equal_the_full_save(model_id, engine_id):
    case = next(m for m in MODELS if m.id == model_id)
    engine = next(e for e in ENGINES if e.id == engine_id).make()
    names = case.make().state_names
    name = _one_name(case.make())
    target = 1.0 + jn.simulate(case.make(), case.stimulus, t1=case.t1, dt=case.dt,
                               engine=engine, save_every=20 * case.dt).v

    def loss(value, save_states):
        trace = jn.simulate(case.with_value(value), case.stimulus, t1=case.t1, dt=case.dt,
                            engine=engine, save_every=20 * case.dt, save_states=save_states)
        return jnp.mean((trace.v - target) ** 2), trace

    # jit(vmap(grad)) over two values of the parameter: v, the kept column and the gradient
    # of a loss on v are the full save's, each member its own
    values = jnp.asarray([case.value, 1.02 * case.value])

    def batched(save_states):
        return jax.jit(jax.vmap(jax.value_and_grad(
            functools.partial(loss, save_states=save_states), has_aux=True)))(values)

    (loss_full, full), grad_full = batched(None)
    (loss_one, one), grad_one = batched((name,))
    (loss_none, none), grad_none = batched(())
    n_save = full.ts.shape[-1]
    assert full.states.shape == (2, n_save, len(names))
    assert one.states.shape == (2, n_save, 1) and none.states.shape == (2, n_save, 0)
    assert none.final_state.shape == (2, len(names))
    assert np.all(np.isfinite(grad_full)) and np.all(np.asarray(grad_full) != 0.0)
    assert not np.allclose(full.v[0], full.v[1])  # the members differ
    for trace, value, grad in ((one, loss_one, grad_one), (none, loss_none, grad_none)):
        _assert_close(trace.v, full.v)
        _assert_close(trace.final_state, full.final_state)
        _assert_close(value, loss_full)
        _assert_close(grad, grad_full)
    _assert_close(one.states[..., 0], full.states[..., names.index(name)])


@pytest.mark.slow
def test_sweep_keeps_only_the_chosen_states_of_its_traces_in_the_order_asked_for():
    params = {"g_K": np.array([30.0, 36.0, 42.0])}
    kwargs = dict(t1=10.0, dt=0.025, save_every=0.5, keep_traces=True, progress=False)
    full = jn.sweep(jn.HodgkinHuxley(), params, jn.StepCurrent(10.0), **kwargs)
    some = jn.sweep(jn.HodgkinHuxley(), params, jn.StepCurrent(10.0), save_states=["n", "V"],
                    **kwargs)
    assert some.ok.all() and full.ok.all()
    assert full.traces.states.shape == (3, 21, 4)
    assert some.traces.states.shape == (3, 21, 2) and some.traces.state_names == ("n", "V")
    _assert_same(some.traces.states, full.traces.states[..., [3, 0]])
    _assert_same(some.traces.v, full.traces.v)
    for name, values in full.summaries.items():
        _assert_same(some.summaries[name], values)
