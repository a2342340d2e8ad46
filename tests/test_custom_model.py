"""A brand-new model, written in its own file outside jaxneuron with plain `float` fields,
works with every tool (simulate, vmap, sweep, fit, the CLI, plots) with no other edit.

Every check compares against an analytic result: the linear adapting membrane's exact
solution (a matrix exponential) and the LIF's spike times
T = tau_m ln(RI / (RI - (V_th - V_rest))), spaced by T + t_ref.
"""

import importlib
import math
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxneuron as jn
from jaxneuron._fields import replace_parameters
from jaxneuron.apps.cli import main
from jaxneuron.plotting.neurons import neuron_state_panels

PACKAGE = "jn_custom_models_under_test"

SMOOTH_SOURCE = '''
"""A passive membrane with a linear adaptation current (two states, no spikes)."""

from typing import ClassVar

import jax.numpy as jnp

import jaxneuron as jn


class AdaptingMembrane(jn.AbstractNeuron):
    """C dV/dt = -g_L (V - E_L) - w + I;  tau_w dw/dt = a (V - E_L) - w.

    V in mV, w and I in µA/cm², C in µF/cm², g_L and a in mS/cm², tau_w in ms.
    """

    state_names: ClassVar[tuple[str, ...]] = ("V", "w")

    C: float = 1.0
    g_L: float = 0.1
    E_L: float = -70.0
    a: float = 0.05
    tau_w: float = 50.0

    def initial_state(self):
        return jnp.array([self.E_L, 0.0])

    def vector_field(self, t, y, args):
        v, w = y[0], y[1]
        dv = (-self.g_L * (v - self.E_L) - w + args) / self.C
        dw = (self.a * (v - self.E_L) - w) / self.tau_w
        return jnp.stack([dv, dw])

    def voltage(self, y):
        return y[0]
'''

SPIKING_SOURCE = '''
"""A plain leaky integrate-and-fire neuron with float fields."""

from typing import ClassVar

import jax.numpy as jnp

import jaxneuron as jn


class PlainLIF(jn.AbstractSpikingNeuron):
    """tau_m dV/dt = -(V - V_rest) + R I; a spike at V = V_th, then V -> V_reset, held
    for t_ref. V in mV, I in nA, R in MΩ, tau_m and t_ref in ms."""

    state_names: ClassVar[tuple[str, ...]] = ("V",)

    tau_m: float = 10.0
    R: float = 10.0
    V_rest: float = -65.0
    V_th: float = -50.0
    V_reset: float = -65.0
    t_ref: float = 2.0

    def initial_state(self):
        return jnp.array([self.V_rest])

    def vector_field(self, t, y, args):
        return (-(y - self.V_rest) + self.R * args) / self.tau_m

    def voltage(self, y):
        return y[0]

    def spike_condition(self, y):
        return y[0] - self.V_th

    def reset(self, y):
        return jnp.array([self.V_reset])

    @property
    def refractory_period(self):
        return self.t_ref
'''

I_SMOOTH = 1.0  # µA/cm²
I_LIF = 2.0  # nA: R I = 20 mV against a 15 mV distance to threshold
T1_SMOOTH = 40.0
T1_LIF = 50.0


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """The two model classes, imported from a fresh package on `sys.path`, and its root."""
    root = tmp_path_factory.mktemp("user_models")
    package = root / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "adapting.py").write_text(textwrap.dedent(SMOOTH_SOURCE))
    (package / "plain_lif.py").write_text(textwrap.dedent(SPIKING_SOURCE))
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.syspath_prepend(str(root))
        smooth = importlib.import_module(f"{PACKAGE}.adapting").AdaptingMembrane
        spiking = importlib.import_module(f"{PACKAGE}.plain_lif").PlainLIF
        yield smooth, spiking, root
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]


# --- analytic references ----------------------------------------------------------------

def adapting_voltage(ts, *, C=1.0, g_L=0.1, E_L=-70.0, a=0.05, tau_w=50.0, current=I_SMOOTH):
    """Exact V(t) of the linear adapting membrane from rest under a step from t = 0:
    y(t) = y* + expm(A t) (y0 - y*), with expm(A t) = P diag(exp(lambda t)) P^-1."""
    A = np.array([[-g_L / C, -1.0 / C], [a / tau_w, -1.0 / tau_w]])
    y_star = np.array([E_L + current / (g_L + a), a * current / (g_L + a)])
    y0 = np.array([E_L, 0.0])
    rates, P = np.linalg.eig(A)
    assert np.allclose(scipy.linalg.expm(A * 7.0), (P * np.exp(rates * 7.0)) @ np.linalg.inv(P))
    coefficients = np.linalg.solve(P, y0 - y_star)
    ts = np.asarray(ts, dtype=float)[:, None]
    return np.real(y_star[0] + (P[0] * coefficients * np.exp(rates * ts)).sum(axis=1))


def lif_period(tau_m=10.0, R=10.0, V_rest=-65.0, V_th=-50.0, current=I_LIF):
    """Time from V_rest to V_th under a constant current (ms)."""
    drive = R * current
    return tau_m * math.log(drive / (drive - (V_th - V_rest)))


def lif_spike_times(t1, t_ref=2.0, **kwargs):
    """Spike times up to `t1`: T, 2T + t_ref, 3T + 2 t_ref, ... (reset to V_rest)."""
    period = lif_period(**kwargs)
    times, k = [], 1
    while k * period + (k - 1) * t_ref <= t1:
        times.append(k * period + (k - 1) * t_ref)
        k += 1
    return np.array(times)


# --- the tests ----------------------------------------------------------------------------

def test_float_fields_are_the_parameters(custom):
    smooth, spiking, _ = custom
    assert jn.parameter_names(smooth()) == ("C", "g_L", "E_L", "a", "tau_w")
    assert jn.parameter_names(spiking()) == ("tau_m", "R", "V_rest", "V_th", "V_reset", "t_ref")
    axes = jn.batch_axes(smooth())
    assert all(getattr(axes, n) is None for n in jn.parameter_names(smooth()))
    changed = replace_parameters(smooth(), {"g_L": 0.2})
    assert float(changed.g_L) == 0.2 and changed.C == 1.0 and smooth().g_L == 0.1


def test_smooth_model_matches_the_exact_solution_and_vmaps_and_differentiates(custom):
    smooth, _, _ = custom
    stim = jn.StepCurrent(I_SMOOTH)
    trace = jn.simulate(smooth(), stim, t1=T1_SMOOTH)
    assert trace.state_names == ("V", "w")
    np.testing.assert_allclose(trace.v, adapting_voltage(trace.ts), atol=1e-6)

    g_values = jnp.array([0.05, 0.1, 0.2])

    def v_end(g):
        return jn.simulate(replace_parameters(smooth(), {"g_L": g}), stim, t1=T1_SMOOTH).v[-1]

    np.testing.assert_allclose(jax.jit(jax.vmap(v_end))(g_values),
                               [adapting_voltage([T1_SMOOTH], g_L=float(g))[0] for g in g_values],
                               atol=1e-6)
    h = 1e-5
    slope = (adapting_voltage([T1_SMOOTH], g_L=0.1 + h)[0]
             - adapting_voltage([T1_SMOOTH], g_L=0.1 - h)[0]) / (2 * h)
    assert float(jax.jit(jax.grad(v_end))(0.1)) == pytest.approx(slope, rel=1e-5)


def test_spiking_model_fires_at_the_analytic_times_and_vmaps(custom):
    _, spiking, _ = custom
    stim = jn.StepCurrent(I_LIF)
    trace = jn.simulate(spiking(), stim, t1=T1_LIF)
    expected = lif_spike_times(T1_LIF)
    assert int(trace.n_spikes) == expected.size == 3
    np.testing.assert_allclose(trace.spike_times[:3], expected, atol=0.02)  # dt = 0.025 ms

    taus = jnp.array([8.0, 10.0, 12.0])
    batched = eqx.tree_at(lambda m: m.tau_m, spiking(), taus)
    first = jax.vmap(lambda m: jn.simulate(m, stim, t1=T1_LIF).spike_times[0],
                     in_axes=(jn.batch_axes(batched),))(batched)
    np.testing.assert_allclose(first, [lif_period(tau_m=float(t)) for t in taus], atol=0.02)


def test_sweep_over_float_fields_matches_the_analytic_values(custom):
    smooth, spiking, _ = custom
    g_values = np.array([0.05, 0.1, 0.15, 0.2])
    result = jn.sweep(smooth(), {"g_L": g_values}, jn.StepCurrent(I_SMOOTH), t1=T1_SMOOTH,
                      progress=False)
    np.testing.assert_allclose(result.summaries["v_final"],
                               [adapting_voltage([T1_SMOOTH], g_L=g)[0] for g in g_values],
                               atol=1e-6)

    taus = np.array([6.0, 9.0, 12.0, 15.0])
    result = jn.sweep(spiking(), {"tau_m": taus}, jn.StepCurrent(I_LIF), t1=T1_LIF,
                      progress=False)
    np.testing.assert_allclose(result.summaries["first_spike_ms"],
                               [lif_period(tau_m=t) for t in taus], atol=0.02)
    np.testing.assert_array_equal(result.summaries["n_spikes"],
                                  [lif_spike_times(T1_LIF, tau_m=t).size for t in taus])


def test_fit_recovers_a_perturbed_float_parameter_of_the_smooth_model(custom):
    smooth, _, _ = custom
    stim = jn.StepCurrent(I_SMOOTH)
    t1 = 20.0
    ts = jn.simulate(smooth(), stim, t1=t1).ts  # the save grid only
    target = jnp.asarray(adapting_voltage(ts, g_L=0.1))
    result = jn.fit(smooth(g_L=0.12), stim, target, params=["g_L"], t1=t1, steps=20,
                    progress=False)
    assert result.params["g_L"] == pytest.approx(0.1, rel=1e-3)
    assert result.loss_history[-1] < 1e-3 * result.loss_history[0]


def test_fit_recovers_a_perturbed_float_parameter_of_the_spiking_model(custom):
    _, spiking, _ = custom
    stim = jn.StepCurrent(I_LIF)
    target = jnp.asarray(lif_spike_times(T1_LIF, tau_m=10.0))
    result = jn.fit(spiking(tau_m=12.0), stim, target, params=["tau_m"], t1=T1_LIF,
                    loss=jn.spike_time_mse, steps=30, progress=False)
    assert result.params["tau_m"] == pytest.approx(10.0, rel=5e-3)


def test_cli_sweeps_a_model_given_by_import_path(custom, tmp_path, capsys):
    _, _, root = custom
    store = tmp_path / "lif.zarr"
    args = ["sweep", "--model", f"{PACKAGE}.plain_lif:PlainLIF", "--param", "tau_m=5:20",
            "--n", "8", "--amplitude", str(I_LIF), "--t1", "40", "--chunk", "8",
            "--precision", "float64", "--store", str(store), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    from jaxneuron.store import open_sweep

    ds = open_sweep(store)
    assert ds.sizes["set"] == 8 and bool(ds["ok"].values.all())
    taus = ds["tau_m"].values
    assert taus.min() >= 5.0 and taus.max() <= 20.0
    np.testing.assert_allclose(ds["first_spike_ms"].values, [lif_period(tau_m=t) for t in taus],
                               atol=0.02)
    assert (tmp_path / "out" / "summary.json").exists()
    capsys.readouterr()

    for bad in (f"{PACKAGE}.no_such_module:PlainLIF", f"{PACKAGE}.plain_lif:NoSuchClass",
                "jaxneuron.models.base:AbstractNeuron", "math:pi", "no_such_name"):
        assert main(["sweep", "--model", bad, "--store", str(tmp_path / "x.zarr"),
                     "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert "--model" in err and "package.module:ClassName" in err and "\n" not in err


def test_state_panels_plot_any_model(custom, tmp_path):
    smooth, spiking, _ = custom
    traces = {"adapting membrane": jn.simulate(smooth(), jn.StepCurrent(I_SMOOTH), t1=20.0),
              "plain LIF": jn.simulate(spiking(), jn.StepCurrent(I_LIF), t1=20.0)}
    path = neuron_state_panels(traces, path=tmp_path / "states.png", units={"w": "µA/cm²"},
                               extra_lines={"plain LIF": {"threshold": np.full(
                                   traces["plain LIF"].ts.shape, -50.0)}})
    assert path.exists() and path.stat().st_size > 0
