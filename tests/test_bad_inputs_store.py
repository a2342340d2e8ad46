"""Bad inputs for sweep stores: a call that differs from the one that made a store in any
one part (model, stimulus, engine, record, run options, precision, summary function, swept
values, sizes) is refused with a `ValueError` naming `store`, the part and what differs
(the store's value, then this call's), before anything is computed or written.

`CASES`: id -> (call (store path -> sweep into it), exception, regex); `SUMMARY_CASES`: the
same for summaries named like the sweep's own results."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron._fields import is_parameter_value
from jaxneuron.engines import SpikeRecord
from jaxneuron.spike_surrogates import Arctan

T_REF = np.array([1.0, 2.0, 3.0])  # ms


def call(path, *, model=None, params=None, stimulus=None, **kw):
    """The store's own call (LIF over three refractory periods), with one part changed."""
    kw = {"t1": 5.0, "chunk_size": 2, **kw}
    return jn.sweep(jn.LIF() if model is None else model,
                    {"t_ref": T_REF} if params is None else params,
                    jn.StepCurrent(2.0) if stimulus is None else stimulus, progress=False,
                    store=path, **kw)


def float32(module):
    """`module` with its parameters in float32."""
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32) if is_parameter_value(x) else x,
                        module)


DIFFERS = r"store: .*s\.zarr holds a different sweep; this call differs in "
CASES = {
    "model class": (lambda p: call(p, model=jn.ConductanceLIF()), ValueError,
                    DIFFERS + r"model: type: jaxneuron\.models\.lif\.LIF in the store, "
                              r"jaxneuron\.models\.conductance_lif\.ConductanceLIF in this call"),
    "model parameter value": (lambda p: call(p, model=jn.LIF(V_th=-49.0)), ValueError,
                              r"model parameter values: V_th: float64\[\] -50\.0 in the store, "
                              r"float64\[\] -49\.0 in this call"),
    "model initial potential set": (lambda p: call(p, model=jn.LIF(v_init=-60.0)), ValueError,
                                    r"model \(LIF\): v_init: None in the store, absent in "
                                    r"this call.*model parameter values: v_init: absent in the "
                                    r"store, float64\[\] -60\.0 in this call"),
    "stimulus class": (lambda p: call(p, stimulus=jn.PulseTrain(2.0, 1.0, 2.0)), ValueError,
                       r"stimulus: type: jaxneuron\.stimuli\.StepCurrent in the store, "
                       r"jaxneuron\.stimuli\.PulseTrain in this call"),
    "stimulus amplitude": (lambda p: call(p, stimulus=jn.StepCurrent(2.5)), ValueError,
                           r"stimulus parameter values: amplitude: float64\[\] 2\.0 in the "
                           r"store, float64\[\] 2\.5 in this call"),
    "stimulus t_stop": (lambda p: call(p, stimulus=jn.StepCurrent(2.0, t_stop=4.0)),
                        ValueError, r"stimulus parameter values: t_stop: float64\[\] inf in "
                                    r"the store, float64\[\] 4\.0 in this call"),
    "engine exact": (lambda p: call(p, spiking="exact"), ValueError,
                     r"engine: type: .*ClockSpiking in the store, .*ExactSpiking in this call"),
    "engine solver": (lambda p: call(p, solver="heun"), ValueError,
                      r"engine \(ClockSpiking\): solver: None in the store, .*Heun in this "
                      r"call"),
    "engine surrogate": (lambda p: call(p, surrogate=Arctan()), ValueError,
                         r"engine \(ClockSpiking\): surrogate: None in the store, "
                         r"jaxneuron\.spike_surrogates\.Arctan in this call"),
    "engine object": (lambda p: call(p, engine=jn.engines.ClockSpiking(solver="midpoint")),
                      ValueError, r"engine \(ClockSpiking\): solver: None in the store, "
                                  r".*Midpoint in this call"),
    "record max_spikes": (lambda p: call(p, max_spikes=8), ValueError,
                          r"record \(SpikeRecord\): max_spikes: 64 in the store, 8 in this "
                          r"call"),
    "record times": (lambda p: call(p, record=SpikeRecord(times=True, stats=True)),
                     ValueError, r"record \(SpikeRecord\): times: False in the store, True "
                                 r"in this call"),
    "record threshold": (lambda p: call(p, threshold=-20.0), ValueError,
                         r"record \(SpikeRecord\): threshold: 0\.0 in the store, -20\.0 in "
                         r"this call"),
    "t1": (lambda p: call(p, t1=6.0), ValueError,
           DIFFERS + r"run options: t1: 5\.0 in the store, 6\.0 in this call"),
    "dt": (lambda p: call(p, dt=0.05), ValueError,
           r"run options: dt: 0\.025 in the store, 0\.05 in this call"),
    "t0": (lambda p: call(p, t0=-1.0), ValueError,
           r"run options: t0: 0\.0 in the store, -1\.0 in this call"),
    "save_every": (lambda p: call(p, save_every=1.0), ValueError,
                   r"run options: save_every: 0\.0 in the store, 1\.0 in this call"),
    "save_states": (lambda p: call(p, save_states=("V",)), ValueError,
                    r"run options: save_states: None in the store, tuple of 1 in this call"),
    "y0": (lambda p: call(p, y0=jnp.array([-60.0])), ValueError,
           r"run options: y0: None in the store, float64\[1\] \[-60\.0\] in this call"),
    "keep_traces": (lambda p: call(p, keep_traces=True), ValueError,
                    r"sizes: keep_traces: False in the store, True in this call"),
    "chunk_size": (lambda p: call(p, chunk_size=3), ValueError,
                   DIFFERS + r"sizes: chunk: 2 in the store, 3 in this call"),
    "swept value": (lambda p: call(p, params={"t_ref": np.array([1.0, 2.0, 3.5])}), ValueError,
                    DIFFERS + r"swept parameters: t_ref: float64\[3\] \[1\.0, 2\.0, 3\.0\] in "
                              r"the store, float64\[3\] \[1\.0, 2\.0, 3\.5\] in this call.*"
                              r"t_ref first differs at set 2"),
    "swept extra parameter": (lambda p: call(p, params={"t_ref": T_REF, "R": T_REF}),
                              ValueError, r"swept parameters: R: absent in the store, "
                                          r"float64\[3\] \[1\.0, 2\.0, 3\.0\] in this call"),
    "swept stimulus parameter": (
        lambda p: call(p, stimulus_params={"amplitude": np.array([1.0, 2.0, 3.0])}),
        ValueError, r"swept parameters: stimulus\.amplitude: absent in the store"),
    "one set more": (lambda p: call(p, params={"t_ref": np.array([1.0, 2.0, 3.0, 4.0])}),
                     ValueError, r"sizes: sets: 3 in the store, 4 in this call"),
    "cost order": (lambda p: call(p, cost=np.array([3.0, 2.0, 1.0])), ValueError,
                   r"swept parameters: t_ref: .*\(run order\): sha256 \w+ in the store, "
                   r"sha256 \w+ in this call\. t_ref first differs at set 0 \(run order\): "
                   r"1\.0 in the store, 3\.0 in this call\. Use a new path"),
    "summary function": (lambda p: call(p, summary=lambda tr: {"n_spikes": tr.n_spikes}),
                         ValueError, r"summary function: type: function "
                                     r"jaxneuron\.sweep\.spike_summary in the store, function "
                                     r".*<lambda> in this call"),
    "float32": (lambda p: call(p, model=float32(jn.LIF()),
                               stimulus=float32(jn.StepCurrent(2.0))), ValueError,
                r"precision: dtype: float64 in the store, float32 in this call"),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The store of the unchanged call."""
    path = tmp_path_factory.mktemp("store") / "s.zarr"
    call(path)
    return path


def _files(path):
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()
            and ".locks" not in p.parts}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_different_call_on_a_store_is_refused_naming_what_differs(case, made):
    run, error, match = CASES[case]
    before = _files(made)
    with pytest.raises(error, match=match):
        run(made)
    assert _files(made) == before  # nothing computed or written


def test_the_unchanged_call_reads_its_store_back(made):
    """The table's refusals are not a store that refuses every call."""
    ds = call(made)
    assert ds.attrs["complete"] == 1 and ds["ok"].values.all()
    np.testing.assert_array_equal(ds["t_ref"].values, T_REF)


SUMMARY_CASES = {  # a summary named like one of the sweep's own results or store variables
    "summary named status": (lambda p: call(None, summary=lambda tr: {"status": tr.v[-1]}),
                             ValueError, r"summary: the name\(s\) \['status'\] are taken"),
    "summary named ok": (lambda p: call(p, summary=lambda tr: {"ok": tr.v[-1]}), ValueError,
                         r"summary: the name\(s\) \['ok'\] are taken"),
    "summary named like a swept parameter": (
        lambda p: call(p, summary=lambda tr: {"t_ref": tr.v[-1]}), ValueError,
        r"summary: the name\(s\) \['t_ref'\] are taken by the sweep's own results"),
    "summary named v with traces": (
        lambda p: call(p, summary=lambda tr: {"v": tr.v[-1]}, keep_traces=True), ValueError,
        r"summary: the name\(s\) \['v'\] are taken"),
}


@pytest.mark.parametrize("case", list(SUMMARY_CASES), ids=list(SUMMARY_CASES))
def test_a_summary_cannot_take_a_reserved_name(case, tmp_path):
    run, error, match = SUMMARY_CASES[case]
    with pytest.raises(error, match=match):
        run(tmp_path / "new.zarr")
    assert not (tmp_path / "new.zarr").exists()


def test_table_is_large_enough():
    assert len(CASES) + len(SUMMARY_CASES) >= 10
