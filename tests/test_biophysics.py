"""Nernst and GHK against textbook values and hand calculations; properties; gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxneuron import biophysics as bp

F = 1.602176634e-19 * 6.02214076e23  # e N_A, C/mol (exact SI values since 2019)
R = 1.380649e-23 * 6.02214076e23  # k N_A, J/(mol K)
RT_F_37 = R * 310.15 / F * 1e3  # mV
MAMMALIAN = dict(p=[1.0, 0.05, 0.45], c_out=[5.0, 145.0, 110.0], c_in=[140.0, 15.0, 10.0],
                 z=[1, 1, -1])


def test_constants_are_codata_2018():
    assert bp.FARADAY == pytest.approx(96485.33212, rel=1e-10)
    assert bp.GAS_CONSTANT == pytest.approx(8.314462618, rel=1e-10)
    assert float(bp.thermal_voltage(37.0)) == pytest.approx(RT_F_37, rel=1e-9)
    assert float(bp.kelvin(-273.0)) == pytest.approx(0.15)


@pytest.mark.parametrize(("c_out", "c_in", "expected"), [(5.0, 140.0, -89.0), (145.0, 15.0, 60.6)])
def test_nernst_textbook_values_at_37_c(c_out, c_in, expected):
    assert float(bp.nernst(c_out, c_in, 1)) == pytest.approx(expected, abs=0.2)


@pytest.mark.parametrize(("name", "published", "tol"), [
    # Hille (2001) Table 1.1, mammalian skeletal muscle at 37 °C, whole mV.
    ("mammalian_skeletal_muscle", {"Na": 67.0, "K": -98.0, "Cl": -90.0}, 0.5),
    # Kandel et al. (2013) Table 7-1, squid axon; whole mV from 58 mV/decade (about 20 °C).
    ("squid_axon", {"Na": 55.0, "K": -75.0, "Cl": -60.0}, 1.0),
])
def test_nernst_matches_published_equilibrium_potentials(name, published, tol):
    s = bp.concentration_set(name)
    for ion, z in (("Na", 1), ("K", 1), ("Cl", -1)):
        e = bp.nernst(getattr(s, f"{ion}_o"), getattr(s, f"{ion}_i"), z, s.temperature_c)
        assert float(e) == pytest.approx(published[ion], abs=tol), ion


def test_ghk_voltage_mammalian_set_is_minus_64p9_mV():
    # By hand: (pK Ko + pNa Nao + pCl Cli) / (pK Ki + pNa Nai + pCl Clo) = 16.75 / 190.25.
    by_hand = RT_F_37 * math.log((5 + 0.05 * 145 + 0.45 * 10) / (140 + 0.05 * 15 + 0.45 * 110))
    v = float(bp.ghk_voltage(MAMMALIAN["p"], MAMMALIAN["c_out"], MAMMALIAN["c_in"],
                             MAMMALIAN["z"], 37.0))
    assert v == pytest.approx(-64.9, abs=0.2)
    assert v == pytest.approx(by_hand, abs=1e-9)


def test_ghk_voltage_is_the_zero_of_the_summed_ghk_currents():
    p = np.array(MAMMALIAN["p"]) * 1e-6
    v = bp.ghk_voltage(p, MAMMALIAN["c_out"], MAMMALIAN["c_in"], MAMMALIAN["z"])
    total = sum(bp.ghk_current(v, p[k], MAMMALIAN["c_out"][k], MAMMALIAN["c_in"][k],
                               MAMMALIAN["z"][k]) for k in range(3))
    assert abs(float(total)) < 1e-12
    # A single ion's GHK current vanishes at its Nernst potential.
    assert abs(float(bp.ghk_current(bp.nernst(5.0, 140.0, 1), 1e-6, 5.0, 140.0, 1))) < 1e-12


def _ghk_textbook(v, p, c_out, c_in, z, temperature_c=37.0):
    u = z * v * F / (R * (temperature_c + 273.15) * 1e3)
    return p * z * F * u * (c_in - c_out * math.exp(-u)) / (1.0 - math.exp(-u))


@pytest.mark.parametrize("v", [-120.0, -64.0, -13.0, -0.3, 0.2, 7.0, 55.0])
@pytest.mark.parametrize(("c_out", "c_in", "z"), [(5.0, 140.0, 1), (110.0, 10.0, -1),
                                                   (2.0, 1e-4, 2)])
def test_ghk_current_matches_the_textbook_formula(v, c_out, c_in, z):
    got = float(bp.ghk_current(v, 1e-6, c_out, c_in, z))
    assert got == pytest.approx(_ghk_textbook(v, 1e-6, c_out, c_in, z), rel=1e-11, abs=1e-15)


def test_ghk_current_at_zero_volts_value_and_gradients():
    p, c_out, c_in, z = 2e-6, 5.0, 140.0, 1
    assert float(bp.ghk_current(0.0, p, c_out, c_in, z)) == pytest.approx(
        p * z * bp.FARADAY * (c_in - c_out), rel=1e-14)
    # dI/dV at 0 = P z^2 F (c_in + c_out) / (2 RT/F), from the series of u / (1 - e^-u).
    slope = jax.grad(bp.ghk_current)(0.0, p, c_out, c_in, z)
    assert float(slope) == pytest.approx(p * bp.FARADAY * (c_in + c_out) / (2 * RT_F_37),
                                         rel=1e-12)
    second = jax.grad(jax.grad(bp.ghk_current))(0.0, p, c_out, c_in, z)
    assert np.isfinite(float(second))
    # No jump where the series hands over to the closed form (|u| = 0.5) in value or slope.
    for v_b in (0.5 * RT_F_37, -0.5 * RT_F_37):
        below, above = v_b * (1 - 1e-12), v_b * (1 + 1e-12)
        for f in (bp.ghk_current, jax.grad(bp.ghk_current)):
            lo, hi = float(f(below, p, c_out, c_in, z)), float(f(above, p, c_out, c_in, z))
            assert lo == pytest.approx(hi, rel=1e-12)


def test_functions_broadcast_and_work_under_jit_and_vmap():
    c_out = jnp.array([2.5, 5.0, 10.0, 20.0])
    expected = np.array([float(bp.nernst(c, 140.0, 1)) for c in c_out])
    np.testing.assert_allclose(jax.jit(bp.nernst)(c_out, 140.0, 1), expected, rtol=1e-14)
    np.testing.assert_allclose(jax.vmap(bp.nernst, (0, None, None))(c_out, 140.0, 1), expected,
                               rtol=1e-14)
    ghk = jax.vmap(lambda k: bp.ghk_voltage(jnp.array(MAMMALIAN["p"]),
                                            jnp.array([k, 145.0, 110.0]),
                                            jnp.array(MAMMALIAN["c_in"]), MAMMALIAN["z"]))
    batched = jax.jit(ghk)(c_out)
    by_loop = [float(bp.ghk_voltage(MAMMALIAN["p"], [float(k), 145.0, 110.0],
                                    MAMMALIAN["c_in"], MAMMALIAN["z"])) for k in c_out]
    np.testing.assert_allclose(batched, by_loop, rtol=1e-13)
    # Leading batch axes in the arrays themselves.
    stacked = bp.ghk_voltage(MAMMALIAN["p"], np.stack([[k, 145.0, 110.0] for k in c_out]),
                             MAMMALIAN["c_in"], MAMMALIAN["z"])
    np.testing.assert_allclose(stacked, by_loop, rtol=1e-13)


conc = st.floats(min_value=1e-3, max_value=1e3)
perm = st.floats(min_value=0.0, max_value=10.0)
temp = st.floats(min_value=-50.0, max_value=100.0)


@settings(max_examples=60, deadline=None)
@given(conc, conc, st.sampled_from([1, -1, 2, -2, 3]), temp)
def test_nernst_antisymmetry(c_out, c_in, z, temperature_c):
    e = float(bp.nernst(c_out, c_in, z, temperature_c))
    assert float(bp.nernst(c_in, c_out, z, temperature_c)) == pytest.approx(-e, abs=1e-9)
    assert float(bp.nernst(c_out, c_in, -z, temperature_c)) == pytest.approx(-e, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(perm, conc, conc, st.sampled_from([1, -1])), min_size=1, max_size=4),
       temp)
def test_ghk_lies_between_the_extreme_reversal_potentials(ions, temperature_c):
    ions = [ion for ion in ions if ion[0] > 1e-6] or [(1.0, *ions[0][1:])]
    p, c_out, c_in, z = (np.array(x) for x in zip(*ions, strict=True))
    v = float(bp.ghk_voltage(p, c_out, c_in, z, temperature_c))
    e = np.asarray(bp.nernst(c_out, c_in, z, temperature_c))
    slack = 1e-9 * (1.0 + np.max(np.abs(e)))
    assert e.min() - slack <= v <= e.max() + slack


@settings(max_examples=40, deadline=None)
@given(perm.filter(lambda x: x > 1e-3), perm, perm, conc, conc, conc, conc, temp,
       st.floats(min_value=-150.0, max_value=150.0))
def test_gradients_are_finite_across_the_valid_domain(p_k, p_na, p_cl, k_o, k_i, cl_o, cl_i,
                                                      temperature_c, v):
    def ghk(p, c_out, c_in, t):
        return bp.ghk_voltage(p, c_out, c_in, jnp.array([1.0, 1.0, -1.0]), t)

    args = (jnp.array([p_k, p_na, p_cl]), jnp.array([k_o, 145.0, cl_o]),
            jnp.array([k_i, 15.0, cl_i]), jnp.asarray(temperature_c))
    for g in jax.grad(ghk, argnums=(0, 1, 2, 3))(*args):
        assert np.all(np.isfinite(np.asarray(g)))
    grads = jax.grad(bp.ghk_current, argnums=(0, 1, 2, 3, 5))(v, 1e-6, k_o, k_i, 1.0,
                                                             temperature_c)
    assert all(np.isfinite(float(g)) for g in grads)
    grads = jax.grad(bp.nernst, argnums=(0, 1, 3))(k_o, k_i, 1.0, temperature_c)
    assert all(np.isfinite(float(g)) for g in grads)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: bp.nernst(0.0, 140.0, 1), "c_out"),
    (lambda: bp.nernst(5.0, -1.0, 1), "c_in"),
    (lambda: bp.nernst(5.0, 140.0, 0), "valence"),
    (lambda: bp.nernst(5.0, 140.0, 1, -300.0), "temperature_c"),
    (lambda: bp.nernst(5.0, 140.0, 1, -273.15), "absolute zero"),
    (lambda: bp.thermal_voltage(float("nan")), "temperature_c"),
    (lambda: bp.ghk_voltage([1, 0.05], [5.0, -145.0], [140.0, 15.0], [1, 1]), "c_out"),
    (lambda: bp.ghk_voltage([1, 0.05], [5.0, 145.0], [140.0, 15.0], [1, 2]), "valences"),
    (lambda: bp.ghk_voltage([-1, 0.05], [5.0, 145.0], [140.0, 15.0], [1, 1]),
     "permeabilities"),
    (lambda: bp.ghk_voltage([0, 0], [5.0, 145.0], [140.0, 15.0], [1, 1]), "permeabilities"),
    (lambda: bp.ghk_voltage([1, 0.05], [5.0, 145.0], [140.0, 15.0], [1, 1], -274.0),
     "temperature_c"),
    (lambda: bp.ghk_current(-60.0, 1e-6, 5.0, -140.0, 1), "c_in"),
    (lambda: bp.ghk_current(-60.0, 1e-6, 5.0, 140.0, 1, -280.0), "temperature_c"),
    (lambda: bp.concentration_set("octopus"), "name"),
])
def test_invalid_input_raises_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_concentration_sets_have_sources():
    for name, s in bp.CONCENTRATION_SETS.items():
        assert s.name == name and len(s.source) > 20
        assert set(s.as_dict()) == {"Na_o", "Na_i", "K_o", "K_i", "Cl_o", "Cl_i"}
        assert min(s.as_dict().values()) > 0
