"""Recordings (issue 28, item 1): units, sweeps, NWB/ABF/text round trips, stimuli in the
model's unit, anti-aliased resampling and stimulus on/off times.

Expected values are hand-computed (unit factors), analytic (sines, steps) or the data that
was written; never the code's own output."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import MODELS

import jaxneuron as jn
from jaxneuron import recordings
from jaxneuron.recordings import Recording, Sweep
from jaxneuron.units import conversion_factor, model_input_unit, parse_unit, registry

DT = 0.05  # ms: 20 kHz
N = 4000  # 200 ms


def step_sweep(amplitude, *, start=50.0, end=150.0, holding=0.0, name="s", unit="pA"):
    """A current step of `amplitude` on `[start, end)` ms over a `holding` current, and a
    voltage that follows it (anything finite will do)."""
    t = np.arange(N) * DT
    current = np.where((t >= start) & (t < end), holding + amplitude, holding)
    voltage = -65.0 + 0.02 * current + np.sin(2 * np.pi * t / 40.0)
    return Sweep(t, voltage, current, unit, name=name, metadata={"amplitude": amplitude})


def step_recording(amplitudes=(-50.0, 0.0, 100.0, 250.0)):
    return Recording([step_sweep(a, name=f"step {a:g}") for a in amplitudes])


# ---- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target", "options", "expected"), [
    ("pA", "uA/cm**2", {"area_cm2": 1e-5}, 0.1),  # 100 pA on 1000 um^2 = 10 uA/cm^2
    ("pA", "uA/cm**2", {"capacitance_pF": 10.0}, 0.1),  # 10 pF at 1 uF/cm^2 = 1e-5 cm^2
    ("uA/cm**2", "nA", {"area_cm2": 1e-4}, 0.1),  # 1e-6 A/cm^2 x 1e-4 cm^2 = 1e-10 A
    ("nA", "pA", {}, 1e3),
    ("A", "pA", {}, 1e12),
    ("V", "mV", {}, 1e3),
    ("volts", "mV", {}, 1e3),
    ("s", "ms", {}, 1e3),
    ("msiemens/cm2", "mS/cm**2", {}, 1.0),  # Brian2 spelling
    ("nS", "mS/cm**2", {"area_cm2": 1e-5}, 0.1),  # 1e-9 S / 1e-5 cm^2 = 1e-4 S/cm^2
    ("MOhm", "ohm", {}, 1e6),
    ("pA", "1", {"scale": "2 pA"}, 0.5),  # one model unit stands for 2 pA
    ("1", "nA", {"scale": "2 pA"}, 2e-3),
])
def test_conversion_factor_matches_hand_computed_factors(source, target, options, expected):
    got = conversion_factor(source, target, argument="x", **options)
    assert got == pytest.approx(expected, rel=1e-12)


def test_100_pA_into_a_1000_um2_cell_is_10_uA_per_cm2():
    area_cm2 = 1000.0 * 1e-8  # 1000 um^2, 1 um = 1e-4 cm
    assert 100.0 * conversion_factor("pA", "uA/cm**2", argument="I",
                                     area_cm2=area_cm2) == pytest.approx(10.0, rel=1e-12)


@pytest.mark.parametrize("text", ["msiemens", "uA/cm**2", "mV", "mvolt", "umetre**2", "cm2",
                                  "µA/cm²", "MOhm", "nS", "pF", "1", "ms", "Hz", "mM",
                                  "namp", "uamp/cm2", "nsiemens", "ufarad/cm2", "kohm"])
def test_brian2_and_pint_spellings_parse(text):
    parse_unit(text, "unit")


# The model's own equations fix its current unit: conductance x voltage (or V / R) must be
# one input unit, e.g. R (MOhm) x I (nA) = mV for the LIF.
UNIT_CHECKS = {
    "HodgkinHuxley": ("mS/cm**2 * mV", "uA/cm**2"),  # g_L (mS/cm^2) (V - E_L) (mV)
    "RestingMembrane": ("mS/cm**2 * mV", "uA/cm**2"),
    "LIF": ("mV / megaohm", "nA"),  # R I in mV for R in MOhm
    "AdEx": ("nS * mV", "pA"),  # g_L (V - E_L)
    "ConductanceLIF": ("nS * mV", "pA"),
    "GeneralizedNeuron": ("nS * mV", "pA"),
    "Izhikevich": ("1", "1"),  # dimensionless (mV/ms with C = 1)
    "Brian2HH": ("mS/cm**2 * mV", "uA/cm**2"),  # as HodgkinHuxley, I : amp/metre**2
}


@pytest.mark.parametrize("case", MODELS, ids=str)
def test_every_model_states_an_input_unit_its_equations_give(case):
    model = case.make()
    unit = model_input_unit(model)
    parse_unit(unit, "input_unit")
    product, expected = UNIT_CHECKS[case.id]
    assert unit == expected
    quantity = registry()(product)
    assert float(quantity.to(unit).magnitude) == pytest.approx(1.0, rel=1e-12)


# ---- Sweep and Recording -------------------------------------------------------------------


def test_sweep_holds_its_samples_and_interval():
    sweep = step_sweep(100.0)
    assert len(sweep) == N and sweep.dt_ms == pytest.approx(DT, rel=1e-12)
    assert sweep.current_unit == "pA" and sweep.metadata == {"amplitude": 100.0}
    with pytest.raises(ValueError, match="read-only"):
        sweep.voltage[0] = 0.0


def test_recording_indexing_iteration_and_select():
    rec = step_recording()
    assert len(rec) == 4
    assert [s.name for s in rec] == ["step -50", "step 0", "step 100", "step 250"]
    assert rec[2].name == "step 100" and rec[-1].name == "step 250"
    chosen = rec.select([3, 0])
    assert [s.name for s in chosen] == ["step 250", "step -50"]
    assert len(rec.select(1)) == 1


def test_recordings_of_different_lengths_are_held_when_asked():
    short = step_sweep(10.0).window(0.0, 100.0)
    rec = Recording([step_sweep(10.0), short], equal_lengths=False)
    assert [len(s) for s in rec] == [N, 2001]
    with pytest.raises(ValueError, match="equal lengths"):
        rec.stimulus(jn.AdEx())


# ---- stimulus on/off ----------------------------------------------------------------------


def test_stim_times_of_a_step_protocol_are_the_known_times():
    # A step on [100, 600) ms over a -20 pA holding current at 20 kHz, 1 s.
    t = np.arange(20000) * DT
    current = np.where((t >= 100.0) & (t < 600.0), 180.0, -20.0)
    sweep = Sweep(t, np.full_like(t, -70.0), current, "pA")
    assert sweep.stim_times() == pytest.approx((100.0, 600.0), abs=1e-9)


def test_stim_times_given_take_precedence_and_protocol_window_spans_sweeps():
    assert step_sweep(10.0).replace(stim_start=40.0, stim_end=160.0).stim_times() == (
        40.0, 160.0)
    rec = Recording([step_sweep(0.0), step_sweep(5.0, start=60.0, end=120.0),
                     step_sweep(-5.0, start=55.0, end=170.0)])
    assert rec.stim_times() == pytest.approx((55.0, 170.0), abs=1e-9)


def test_stim_times_threshold_ignores_a_small_prepulse():
    t = np.arange(N) * DT
    current = np.where((t >= 10.0) & (t < 20.0), -10.0, 0.0) + np.where(
        (t >= 50.0) & (t < 150.0), 200.0, 0.0)
    sweep = Sweep(t, np.zeros(N), current, "pA")
    assert sweep.stim_times() == pytest.approx((10.0, 150.0), abs=1e-9)
    assert sweep.stim_times(threshold=50.0) == pytest.approx((50.0, 150.0), abs=1e-9)


# ---- stimuli in the model's unit ----------------------------------------------------------


@pytest.mark.parametrize(("model", "options", "factor"), [
    (jn.AdEx(), {}, 1.0),  # pA -> pA
    (jn.LIF(), {}, 1e-3),  # pA -> nA
    (jn.HodgkinHuxley(), {"area_cm2": 1e-5}, 0.1),  # pA -> uA/cm^2 on 1000 um^2
    (jn.HodgkinHuxley(), {"capacitance_pF": 100.0}, 0.01),  # 1e-4 cm^2
    (jn.Izhikevich(), {"scale": "4 pA"}, 0.25),
])
def test_stimulus_reproduces_the_command_at_the_samples(model, options, factor):
    sweep = step_sweep(120.0, holding=-10.0)
    k = 1000  # the step's first sample: its value jumps from -10 to 110 pA
    for hold, kind, middle in ((False, jn.SampledCurrent, (-10.0 + 110.0) / 2),
                               ("auto", jn.HeldCurrent, -10.0)):
        stimulus = sweep.stimulus(model, hold=hold, **options)
        assert isinstance(stimulus, kind)
        at_samples = np.asarray(jax.vmap(stimulus)(sweep.time))
        np.testing.assert_allclose(at_samples, sweep.current * factor, rtol=1e-12,
                                   atol=1e-12)
        # Between samples: linear (SampledCurrent), or the earlier sample held.
        assert float(stimulus(sweep.time[k - 1] + DT / 2)) == pytest.approx(
            middle * factor, rel=1e-9)
    # Held: jumps at the sweep's start (0 -> -10 pA), the step's edges, and its end.
    np.testing.assert_allclose(stimulus.times, [0.0, 50.0, 150.0, N * DT], rtol=1e-12)
    np.testing.assert_allclose(stimulus.levels, np.array([0, -10, 110, -10, 0]) * factor,
                               rtol=1e-12)


def test_stimulus_t0_moves_the_first_sample():
    sweep = step_sweep(100.0)
    stimulus = sweep.stimulus(jn.AdEx(), t0=10.0)
    assert float(stimulus(10.0 + 50.0)) == pytest.approx(100.0)  # sweep time 50 ms
    assert float(stimulus(10.0 + 49.0)) == 0.0


def test_recording_stimulus_is_batched_over_sweeps():
    rec = step_recording()
    batched = rec.stimulus(jn.LIF(), hold=False)
    assert batched.values.shape == (4, N) and batched.dt.shape == (4,)
    for row, sweep in zip(np.asarray(batched.values), rec, strict=True):
        np.testing.assert_allclose(row, sweep.current * 1e-3, rtol=1e-12)
    at_80 = jax.vmap(lambda s: s(80.0))(batched)  # inside every step
    np.testing.assert_allclose(at_80, np.array([-50.0, 0.0, 100.0, 250.0]) * 1e-3, rtol=1e-12)


@pytest.mark.slow  # 7 s: one vmapped LIF compile
def test_a_recorded_step_family_drives_the_lif_as_the_analytic_solution():
    # Two sweeps of a 20 kHz recording, steps of 2500 and 3000 pA on [10, 50) ms, batched
    # and vmapped through simulate. The LIF (nA, R = 10 MOhm, tau = 10 ms, 15 mV from rest
    # to threshold, reset to rest, 2 ms refractory) fires first at 10 + tau ln(RI / (RI -
    # 15)) ms and then every 2 + tau ln(RI / (RI - 15)) ms while the step lasts. The
    # recorded step is held (a HeldCurrent with jumps at 10 and 50 ms), so it is the step
    # itself; as a SampledCurrent (hold=False) it would be a one-sample ramp before each
    # edge, its charge arriving dt/2 = 0.025 ms early.
    t = np.arange(1200) * DT
    amplitudes = (2500.0, 3000.0)
    rec = Recording([Sweep(t, np.full_like(t, -65.0), np.where((t >= 10) & (t < 50), a, 0.0),
                           "pA") for a in amplitudes])
    stimulus = rec.stimulus(jn.LIF())
    assert isinstance(stimulus, jn.HeldCurrent)
    trace = jax.vmap(lambda s: jn.simulate(jn.LIF(), s, t1=59.0, dt=0.025))(stimulus)
    for k, amplitude in enumerate(amplitudes):
        drive = 10.0 * amplitude * 1e-3  # R I, mV
        rise = 10.0 * np.log(drive / (drive - 15.0))
        expected = 10.0 + rise + np.arange(10) * (2.0 + rise)
        expected = expected[expected < 50.0]
        n = int(trace.n_spikes[k])
        assert n == expected.size
        np.testing.assert_allclose(trace.spike_times[k, :n], expected, atol=0.005)


# ---- resampling ----------------------------------------------------------------------------


def _sines(t):
    """A 100 Hz sine (kept) plus a 7 kHz one (above the 5 kHz Nyquist of a 0.1 ms grid)."""
    keep = np.sin(2 * np.pi * 0.1 * t)  # t in ms: 0.1 cycles/ms = 100 Hz
    return keep, keep + 0.5 * np.sin(2 * np.pi * 7.0 * t + 0.3)


def test_voltage_on_a_coarser_grid_keeps_the_signal_and_removes_aliases():
    t = np.arange(N) * DT  # 20 kHz
    keep, both = _sines(t)
    ts = np.arange(0, 1999) * 0.1  # 0.1 ms grid, inside [0, 199.95]
    expected, _ = _sines(ts)
    # The 100 Hz sine alone is kept on the whole grid (amplitude 1).
    assert np.max(np.abs(Sweep(t, keep, None, None).voltage_on(ts) - expected)) < 1e-3
    # The 7 kHz component is removed, away from the ends by half the filter's length
    # (103 taps at 20 kHz: 2.6 ms), where the filter sees the reflected extension.
    sweep = Sweep(t, both, None, None)
    inner = (ts > 3.0) & (ts < t[-1] - 3.0)
    assert np.max(np.abs(sweep.voltage_on(ts) - expected)[inner]) < 1e-3
    # Without anti-aliasing it would fold onto 3 kHz at full amplitude:
    assert np.max(np.abs(both[::2][: ts.size] - expected)[inner]) > 0.4
    # A grid that is not a whole multiple of the samples (0.13 ms) is filtered too.
    ts = np.arange(0, 1500) * 0.13
    expected, _ = _sines(ts)
    inner = (ts > 3.0) & (ts < t[-1] - 3.0)
    assert np.max(np.abs(sweep.voltage_on(ts) - expected)[inner]) < 1e-3
    assert np.max(np.abs(Sweep(t, keep, None, None).voltage_on(ts) - expected)) < 1e-3


def test_voltage_on_a_finer_grid_is_exact_at_samples_and_linear_between():
    t = np.arange(N) * DT
    v = np.sin(2 * np.pi * 0.1 * t) ** 3
    sweep = Sweep(t, v, None, None)
    ts = np.arange(0, 7996) * 0.025
    got = sweep.voltage_on(ts)
    np.testing.assert_allclose(got[::2], v[:3998], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[1::2], (v[:3998] + v[1:3999]) / 2, rtol=0, atol=1e-12)


def test_voltages_on_stacks_every_sweep():
    rec = step_recording()
    ts = np.arange(0, 100) * 0.05
    out = rec.voltages_on(ts)
    assert out.shape == (4, 100)
    np.testing.assert_allclose(out[3], rec[3].voltage[:100], rtol=1e-12)


# ---- files: NWB, ABF, text round trips ----------------------------------------------------


def _same(a: Recording, b: Recording, *, voltage_atol=1e-12):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(y.time, x.time, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(y.voltage, x.voltage, rtol=1e-12, atol=voltage_atol)
        assert y.current_unit == x.current_unit
        if x.current is None:
            assert y.current is None
        else:
            np.testing.assert_allclose(y.current, x.current, rtol=1e-12, atol=1e-12)


def test_nwb_round_trip_keeps_values_units_names_and_metadata(tmp_path):
    rec = step_recording()
    rec = rec.replace(sweeps=(rec[0].with_current_unit("nA"), *rec.sweeps[1:3],
                              rec[3].replace(stim_start=50.0, stim_end=150.0,
                                             metadata={"gain": np.int64(3),
                                                       "levels": np.array([1.5, 2.0])})))
    path = tmp_path / "cell.nwb"
    recordings.write_nwb(rec, path)
    back = recordings.read_nwb(path)
    _same(rec, back)
    assert back[0].current_unit == "nA" and back[1].current_unit == "pA"
    assert [s.name for s in back] == [s.name for s in rec]
    assert back[2].metadata["amplitude"] == 100.0 and back[2].metadata["sweep_number"] == 2
    assert (back[3].stim_start, back[3].stim_end) == (50.0, 150.0)
    assert back[3].metadata["gain"] == 3 and back[3].metadata["levels"] == [1.5, 2.0]
    assert recordings.load(path).select([1])[0].name == "step 0"


def test_nwb_written_by_pynwb_pairs_by_sweep_number_in_the_file_units(tmp_path):
    # A file written directly with pynwb, no icephys table: responses in volts (conversion
    # 1), stimuli stored in nA (conversion 1e-9 to amperes), listed in reverse order.
    import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwb = NWBFile(session_description="test", identifier="x",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    device = nwb.create_device(name="amp")
    electrode = nwb.create_icephys_electrode(name="e", description="e", device=device)
    volts = {n: -0.065 + 0.001 * n + 0.0001 * np.arange(100) for n in (3, 7)}
    nanoamps = {n: 0.01 * n * np.ones(100) for n in (3, 7)}
    for n in (7, 3):
        nwb.add_acquisition(CurrentClampSeries(
            name=f"v{n}", data=volts[n], electrode=electrode, gain=1.0, rate=10000.0,
            starting_time=1.5 * n, sweep_number=np.uint32(n)))
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name=f"i{n}", data=nanoamps[n], electrode=electrode, gain=1.0, rate=10000.0,
            starting_time=1.5 * n, conversion=1e-9, sweep_number=np.uint32(n)))
    path = tmp_path / "pynwb.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    rec = recordings.read_nwb(path)
    assert [s.metadata["sweep_number"] for s in rec] == [3, 7]
    for sweep, n in zip(rec, (3, 7), strict=True):
        assert sweep.current_unit == "pA" and sweep.dt_ms == pytest.approx(0.1)
        np.testing.assert_allclose(sweep.voltage, volts[n] * 1e3, rtol=1e-12)
        np.testing.assert_allclose(sweep.current, nanoamps[n] * 1e3, rtol=1e-12)
        assert sweep.time[0] == 0.0 and sweep.metadata["starting_time_s"] == 1.5 * n
    on_file_clock = recordings.read_nwb(path, time_origin="file")
    assert on_file_clock[1].time[0] == pytest.approx(10500.0)  # 7 x 1.5 s


def test_nwb_voltage_only_round_trip(tmp_path):
    rec = Recording([Sweep(np.arange(50) * 0.1, np.linspace(-70, -60, 50), None, None)])
    path = tmp_path / "v.nwb"
    recordings.write_nwb(rec, path)
    _same(rec, recordings.read_nwb(path, current=None))


def test_abf_round_trip_through_pyabfs_writer(tmp_path):
    # pyabf writes ABF1 with one channel and no command waveform, as 16-bit integers: the
    # voltage comes back within one digitiser step (10 mV range / 2^15 x 100 / 10 scaling),
    # the time grid exactly.
    from pyabf.abfWriter import writeABF1

    t = np.arange(2000) * DT
    voltages = np.stack([-65.0 + 10.0 * np.sin(2 * np.pi * t / 20.0) + k for k in range(3)])
    path = tmp_path / "cell.abf"
    writeABF1(voltages, str(path), 20000.0, units="mV")
    rec = recordings.load(path, current=None)
    step = 1.0 / (2**15 / 10.0 * 0.1)  # mV per digitiser step at this file's scale factor
    assert len(rec) == 3
    for sweep, v in zip(rec, voltages, strict=True):
        np.testing.assert_allclose(sweep.time, t, rtol=1e-9, atol=1e-9)
        assert np.max(np.abs(sweep.voltage - v)) <= step * 1.0001
        assert sweep.current is None and sweep.current_unit is None


def test_text_round_trip_in_declared_units(tmp_path):
    rec = step_recording((30.0,))
    sweep = rec[0]
    table = np.column_stack([sweep.time * 1e-3, sweep.voltage * 1e-3, sweep.current * 1e-3])
    path = tmp_path / "cell.csv"
    np.savetxt(path, table, delimiter=",", header="t_s,v_V,i_nA", comments="", fmt="%.17g")
    back = recordings.load(path, columns={"time": "t_s", "voltage": "v_V", "current": 2},
                           time_unit="s", voltage_unit="V", current_unit="nA")
    np.testing.assert_allclose(back[0].time, sweep.time, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(back[0].voltage, sweep.voltage, rtol=1e-12)
    assert back[0].current_unit == "nA"
    np.testing.assert_allclose(back[0].current, sweep.current * 1e-3, rtol=1e-12)
    for delimiter, suffix in ((";", ".csv"), ("\t", ".tsv"), (" ", ".txt")):
        other = tmp_path / f"cell{suffix}"
        np.savetxt(other, table, delimiter=delimiter, fmt="%.17g")
        again = recordings.load(other, columns={"time": 0, "voltage": 1}, time_unit="s",
                                voltage_unit="V")
        np.testing.assert_allclose(again[0].voltage, sweep.voltage, rtol=1e-12)
        assert again[0].current is None


def test_npy_and_npz_round_trip_with_several_sweeps(tmp_path):
    rec = step_recording((-20.0, 40.0))
    npy = tmp_path / "table.npy"
    np.save(npy, np.column_stack([rec[0].time, rec[0].voltage, rec[1].voltage,
                                  rec[0].current, rec[1].current]))
    back = recordings.load(npy, columns={"time": 0, "voltage": [1, 2], "current": [3, 4]},
                           time_unit="ms", voltage_unit="mV", current_unit="pA")
    _same(rec, back)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, v=np.stack([s.voltage for s in rec]), i=np.stack([s.current for s in rec]))
    back = recordings.load(npz, columns={"voltage": "v", "current": "i"}, dt=DT,
                           voltage_unit="mV", current_unit="pA")
    _same(rec, back)


def test_shared_efel_traces_read_as_voltage_only_text():
    folder = "/work/shared/data/efel"
    try:
        rec = recordings.load(f"{folder}/testdata.txt", columns={"time": 0, "voltage": 1},
                              time_unit="ms", voltage_unit="mV")
    except ValueError as error:
        if "no such file" in str(error):
            pytest.skip("the shared eFEL data are not on this machine")
        raise
    assert rec[0].dt_ms == pytest.approx(0.25, rel=1e-6) and len(rec[0]) > 10000
    rec = recordings.load(f"{folder}/AP_begin_indices_95810005.abf.csv",
                          columns={"voltage": 0}, dt=0.1, voltage_unit="mV")
    assert rec[0].time[-1] == pytest.approx(0.1 * (len(rec[0]) - 1))


def test_reader_options_junction_window_sweeps_and_stim_times(tmp_path):
    rec = step_recording()
    path = tmp_path / "cell.nwb"
    recordings.write_nwb(rec, path)
    back = recordings.load(path, sweeps=[3, 1], junction_offset=7.0, window=(20.0, 180.0),
                           stim_start=50.0, stim_end=150.0)
    assert [s.name for s in back] == ["step 250", "step 0"]
    first = back[0]
    assert first.time[0] == pytest.approx(20.0) and first.time[-1] == pytest.approx(180.0)
    np.testing.assert_allclose(first.voltage, rec[3].voltage[400:3601] - 7.0, rtol=1e-12)
    assert first.stim_times() == (50.0, 150.0)
