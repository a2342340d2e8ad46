"""A sweep store cannot mix results: its fingerprint covers the call's whole static
structure (static fields, engine, record, the summary function's code and closure), a
different call is refused naming what differs, and a set never computed reads back with
status 9 ("not computed"), never 0."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron import store as store_module
from jaxneuron.analysis.summaries import HHSummaries
from jaxneuron.store import describe, open_sweep, split
from jaxneuron.trace import STATUS_NOT_COMPUTED, STATUS_OK

K_O = np.array([5.0, 20.0])  # mM
TAU = np.array([5.0, 10.0, 20.0, 40.0, 80.0])  # ms, chunks of 2: rows 0-1, 2-3, 4
CHUNK = 2


def _resting(leak, store=None):
    return jn.sweep(jn.RestingMembrane(leak=leak), {"K_o": K_O}, jn.StepCurrent(0.0),
                    t1=5.0, progress=False, store=store)


def _lif(store, summary, **kw):
    return jn.sweep(jn.LIF(), {"tau_m": TAU}, jn.StepCurrent(2.0), t1=5.0, chunk_size=CHUNK,
                    summary=summary, progress=False, store=store, **kw)


def test_a_static_field_change_is_refused_naming_the_field(tmp_path):
    store = tmp_path / "s.zarr"
    ghk = _resting("ghk", store)
    with pytest.raises(ValueError, match=r"holds a different sweep; this call differs in "
                                         r"model \(RestingMembrane\): leak: 'ghk' in the store, "
                                         r"'conductance' in this call\. Use a new path"):
        _resting("conductance", store)
    np.testing.assert_array_equal(_resting("ghk", store)["v_final"].values,
                                  ghk["v_final"].values)  # the same call resumes


def last(tr):
    return {"x": tr.v[-1]}


def first(tr):
    return {"x": tr.v[0]}


def scaled(c):
    return lambda tr: {"x": tr.v[-1] * c}


def test_two_lambda_summaries_are_told_apart(tmp_path):
    store = tmp_path / "s.zarr"
    ds = _lif(store, lambda tr: {"x": tr.v[-1]})
    v0 = jn.LIF().V_rest  # the first saved V is the rest potential, -65 mV
    assert not np.allclose(ds["x"].values, float(v0))
    with pytest.raises(ValueError, match=r"summary function \(<lambda>\): code: \w+ in the "
                                         r"store, \w+ in this call"):
        _lif(store, lambda tr: {"x": tr.v[0]})


def test_named_summaries_with_other_code_are_told_apart(tmp_path):
    _lif(tmp_path / "s.zarr", last)
    with pytest.raises(ValueError, match=r"summary function: type: function .*last in the "
                                         r"store, function .*first in this call"):
        _lif(tmp_path / "s.zarr", first)


def test_the_same_lambda_closing_over_another_constant_is_refused(tmp_path):
    _lif(tmp_path / "s.zarr", scaled(1.0))
    _lif(tmp_path / "s.zarr", scaled(1.0))  # an equal closure: the same sweep, resumed
    with pytest.raises(ValueError, match=r"summary function \(<lambda>\): closure\.c: 1\.0 "
                                         r"in the store, 2\.0 in this call"):
        _lif(tmp_path / "s.zarr", scaled(2.0))


SCALE = 1.0


def scaled_by_global(tr):
    return {"x": tr.v[-1] * SCALE}


def test_a_summary_reading_a_changed_global_is_refused(tmp_path, monkeypatch):
    _lif(tmp_path / "s.zarr", scaled_by_global)
    monkeypatch.setitem(globals(), "SCALE", 3.0)
    with pytest.raises(ValueError, match=r"summary function \(scaled_by_global\): "
                                         r"globals\.SCALE: 1\.0 in the store, 3\.0 in this "
                                         r"call"):
        _lif(tmp_path / "s.zarr", scaled_by_global)


def test_an_option_given_at_its_default_is_the_same_sweep(tmp_path):
    ds = _lif(tmp_path / "s.zarr", last)
    again = _lif(tmp_path / "s.zarr", last, t0=0, dt=0.025, spiking="clock")
    np.testing.assert_array_equal(again["x"].values, ds["x"].values)


def test_a_changed_swept_value_is_named_with_its_first_set(tmp_path):
    _lif(tmp_path / "s.zarr", last)
    other = TAU.copy()
    other[3] = 41.0
    with pytest.raises(ValueError, match=r"swept parameters: tau_m: .* in the store.* tau_m "
                                         r"first differs at set 3 \(run order\): "
                                         r"40\.0 in the store, 41\.0 in this call\. "
                                         r"Use a new path"):
        jn.sweep(jn.LIF(), {"tau_m": other}, jn.StepCurrent(2.0), t1=5.0, chunk_size=CHUNK,
                 summary=last, progress=False, store=tmp_path / "s.zarr")


FINGERPRINT_JOB = """
import jax, sys
jax.config.update("jax_enable_x64", True)
import numpy as np
import jaxneuron as jn
from jaxneuron.store import fingerprint
from jaxneuron.sweep import _describe_call

names = {"x", "y", "z"}
def summary(tr, table={"b": 2.0, "a": 1.0}):
    return {k: tr.v[-1] for k in ("x", "q") if k in {"x", "y", "z"} and k in names}

parts = _describe_call(jn.RestingMembrane(leak="conductance"), jn.StepCurrent(1.0), summary,
                       {"t1": 5, "solver": "heun", "save_states": ["V"]},
                       {"K_o": np.array([5.0, 20.0])}, np.arange(2), 2, False,
                       {"x": ((), np.dtype("float64"))})
print(fingerprint(parts))
"""


def test_the_fingerprint_is_the_same_in_every_process():
    """Sets, dicts and functions are described in a fixed order, whatever the string hash
    seed: a resumed sweep (a new process) must find its store."""
    root = Path(__file__).parent.parent
    prints = {subprocess.run([sys.executable, "-c", FINGERPRINT_JOB], cwd=root, check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
              for seed in ("1", "2")}
    assert len(prints) == 1 and len(next(iter(prints))) == 64


def _interrupt_at(monkeypatch, chunk):
    write = store_module.SweepStore.write

    def interrupted(self, k, *args, **kwargs):
        if k == chunk:
            raise KeyboardInterrupt
        write(self, k, *args, **kwargs)

    monkeypatch.setattr(store_module.SweepStore, "write", interrupted)


def test_an_interrupted_sweep_reads_its_unfinished_sets_as_not_computed(tmp_path, monkeypatch):
    store = tmp_path / "s.zarr"
    expected = _lif(None, last)
    assert (expected.status == STATUS_OK).all()
    _interrupt_at(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        _lif(store, last)
    monkeypatch.undo()
    ds = open_sweep(store)
    assert ds.attrs["complete"] == 0 and ds.attrs["chunks_done"] == 1
    # chunk 0 (sets 0-1) finished; chunk 1 (sets 2-3) and chunk 2 (set 4) never written
    np.testing.assert_array_equal(ds["status"].values, [0, 0, 9, 9, 9])
    np.testing.assert_array_equal(ds["ok"].values, [True, True, False, False, False])
    resumed = _lif(store, last)
    np.testing.assert_array_equal(resumed["status"].values, np.zeros(5))
    np.testing.assert_array_equal(resumed["x"].values, expected.summaries["x"])


def test_a_chunk_with_data_but_no_marker_reads_as_not_computed(tmp_path):
    store = tmp_path / "s.zarr"
    _lif(store, last)
    (store / ".done" / "chunk-1").unlink()  # as if killed between its data and its marker
    ds = open_sweep(store)
    np.testing.assert_array_equal(ds["status"].values,
                                  [0, 0, STATUS_NOT_COMPUTED, STATUS_NOT_COMPUTED, 0])
    np.testing.assert_array_equal(ds["ok"].values, [True, True, False, False, True])


def test_a_store_of_an_older_format_is_refused(tmp_path):
    store = tmp_path / "s.zarr"
    _lif(store, last)
    record = json.loads((store / ".done" / "created").read_text())
    record["format"] = 2
    del record["parts"]  # format 2 had no description of the call
    (store / ".done" / "created").write_text(json.dumps(record))
    message = r"written by another jaxneuron version \(store format 2, this version reads 3"
    with pytest.raises(ValueError, match="path: .*" + message):
        open_sweep(store)
    with pytest.raises(ValueError, match="store: .*" + message):
        _lif(store, last)


def times(tr, c):
    return {"x": tr.v[-1] * c}


def with_default(c):
    def summary(tr, c=c):
        return {"x": tr.v[-1] * c}
    return summary


@pytest.mark.parametrize("stored, this, match", [
    (with_default(1.0), with_default(2.0),
     r"summary function \(summary\): defaults\[0\]: 1\.0 in the store, 2\.0 in this call"),
    (functools.partial(times, c=1.0), functools.partial(times, c=2.0),
     r"summary function \(partial\): keywords\['c'\]: 1\.0 in the store, 2\.0 in this call"),
    (HHSummaries(t_on=1.0, t_off=4.0), HHSummaries(t_on=1.0, t_off=4.5),
     r"summary function \(HHSummaries\): t_off: 4\.0 in the store, 4\.5 in this call"),
    (HHSummaries(t_on=1.0, t_off=4.0), HHSummaries(t_on=1.0, t_off=4.0, shape=True),
     r"summary function \(HHSummaries\): shape: False in the store, True in this call"),
    (jax.jit(lambda tr: {"x": tr.v[-1]}), jax.jit(lambda tr: {"x": tr.v[0]}),
     r"summary function \(<lambda>\): __wrapped__\.code: \w+ in the store, \w+ in this call"),
], ids=["defaults", "partial", "module field", "module static field", "jitted lambdas"])
def test_summaries_differing_in_a_value_are_told_apart(tmp_path, stored, this, match):
    kw = {"save_every": 0.1} if isinstance(stored, HHSummaries) else {}
    _lif(tmp_path / "s.zarr", stored, **kw)
    with pytest.raises(ValueError, match=match):
        _lif(tmp_path / "s.zarr", this, **kw)


def _own_class(scale):
    """Two classes of one name whose method code differs (an own model edited between two
    runs)."""
    if scale == 1:
        class Own(eqx.Module):
            a: float = 1.0

            def __call__(self, x):
                return self.a * x
    else:
        class Own(eqx.Module):
            a: float = 1.0

            def __call__(self, x):
                return self.a * x * 2
    return Own()


def test_the_code_of_a_class_defined_outside_the_libraries_is_described():
    first, second = (split(describe(_own_class(s)))[0] for s in (1, 2))
    assert first[""] == second[""] and first[""].endswith("_own_class.<locals>.Own")
    assert first["(class code)"] != second["(class code)"]
    assert "(class code)" not in describe(jn.LIF())  # library classes: the version covers them


class Scaled:
    """A summary as a plain callable object of the caller's own class."""

    def __init__(self, c):
        self.c = c

    def __call__(self, tr):
        return {"x": tr.v[-1] * self.c}


def test_a_summary_object_is_described_by_its_attributes():
    a, b = describe(Scaled(1.0)), describe(Scaled(2.0))
    assert a[""] == b[""] and a["(class code)"] == b["(class code)"]
    assert (a["c"], b["c"]) == (("value", "1.0"), ("value", "2.0"))
    cyclic = Scaled(1.0)
    cyclic.me = cyclic
    assert describe(cyclic)["me"][1].endswith("Scaled (described above)")


def test_the_base_value_of_a_swept_field_is_not_part_of_the_sweep(tmp_path):
    """The model's own `tau_m` is replaced by the swept values: changing it changes nothing,
    and the store is resumed, not refused."""
    ds = _lif(tmp_path / "s.zarr", last)
    again = jn.sweep(jn.LIF(tau_m=12.0), {"tau_m": TAU}, jn.StepCurrent(2.0), t1=5.0,
                     chunk_size=CHUNK, summary=last, progress=False, store=tmp_path / "s.zarr")
    np.testing.assert_array_equal(again["x"].values, ds["x"].values)
