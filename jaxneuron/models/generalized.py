"""Generalized two-compartment adaptive integrate-and-fire neuron with cell-type presets."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._fields import param
from .base import (
    AbstractGatedNeuron,
    AbstractSpikingNeuron,
    finite,
    non_negative,
    positive,
    reset_below,
)

# Cell-type presets as data: (cell_type, region) -> parameter values, with the source of
# the electrophysiology they reproduce. Values are rounded typical figures of each type
# (input resistance R_in = 1 / total somatic conductance, membrane time constant
# tau = C / g, resting potential, spike threshold, rheobase, firing pattern). `I_bias`
# stands in for intrinsic pacemaker currents (resurgent/persistent Na+) of spontaneously
# active cells and is chosen to give their published spontaneous rate.
PRESETS: dict[tuple[str, str], dict] = {
    ("pyramidal", "cortex"): dict(
        source="Layer-5 pyramidal cell. NeuroElectro summary for neocortex L5 pyramidal "
               "cells (Tripathy et al. 2015, J. Neurophysiol. 113:3474): R_in ~ 60 MOhm, "
               "tau_m ~ 20 ms, V_rest ~ -68 mV, threshold ~ -48 mV; spike-frequency "
               "adaptation (tau_w ~ 150 ms) as in Brette & Gerstner 2005.",
        C=250.0, g_L=12.0, E_L=-68.0, V_th=-48.0, V_reset=-55.0, t_ref=2.0,
        a=2.0, b=40.0, tau_w=150.0, delta_theta=1.0, tau_theta=50.0,
        C_d=150.0, g_L_d=7.5, g_c=15.0, lambda_d=300.0,
    ),
    ("interneuron", "cortex"): dict(
        source="Fast-spiking (parvalbumin basket) interneuron. NeuroElectro summary for "
               "neocortex basket cells: R_in ~ 100 MOhm, tau_m ~ 8 ms, threshold ~ -42 mV, "
               "brief spikes with little or no adaptation and rates > 100 Hz "
               "(Kawaguchi & Kubota 1997, Cereb. Cortex 7:476).",
        C=80.0, g_L=8.5, E_L=-68.0, V_th=-42.0, V_reset=-58.0, t_ref=1.0,
        a=0.0, b=0.0, tau_w=100.0, delta_theta=0.0, tau_theta=50.0,
        C_d=20.0, g_L_d=2.5, g_c=5.0, lambda_d=200.0,
    ),
    ("interneuron", "cerebellum"): dict(
        source="Cerebellar molecular-layer (stellate/basket) interneuron: R_in ~ 0.6 GOhm, "
               "C ~ 15 pF, spontaneous firing ~ 10-30 Hz in slices (Hausser & Clark 1997, "
               "Neuron 19:665).",
        C=15.0, g_L=1.5, E_L=-60.0, V_th=-50.0, V_reset=-62.0, t_ref=1.5,
        a=0.0, b=2.0, tau_w=50.0, delta_theta=0.0, tau_theta=50.0,
        C_d=5.0, g_L_d=0.5, g_c=1.0, lambda_d=150.0, I_bias=20.0,
    ),
    ("sensory", "brainstem"): dict(
        source="Primary sensory relay neuron: ventral cochlear nucleus bushy cell, which "
               "fires at stimulus onset and then little (phasic), owing to a low-threshold "
               "K+ current; R_in ~ 50 MOhm, tau_m ~ 2 ms (Rothman & Manis 2003, "
               "J. Neurophysiol. 89:3097, type II). Electrically compact, its main input "
               "(endbulbs of Held) on the soma: x_proximal = 0.",
        C=20.0, g_L=10.0, E_L=-63.0, V_th=-50.0, V_reset=-60.0, t_ref=1.0,
        a=80.0, b=5.0, tau_w=10.0, delta_theta=5.0, tau_theta=30.0,
        C_d=5.0, g_L_d=1.0, g_c=50.0, x_proximal=0.0, lambda_d=150.0,
    ),
    ("purkinje", "cerebellum"): dict(
        source="Cerebellar Purkinje cell: large dendritic tree, somatic R_in ~ 30 MOhm, "
               "spontaneous simple-spike firing at ~ 40 Hz without synaptic input "
               "(Hausser & Clark 1997, Neuron 19:665; Raman & Bean 1999, J. Neurosci. "
               "19:1663).",
        C=200.0, g_L=10.0, E_L=-65.0, V_th=-55.0, V_reset=-60.0, t_ref=2.0,
        a=1.0, b=10.0, tau_w=50.0, delta_theta=0.0, tau_theta=50.0,
        C_d=600.0, g_L_d=20.0, g_c=30.0, lambda_d=200.0, I_bias=275.0,
    ),
    ("granule", "cerebellum"): dict(
        source="Cerebellar granule cell: tiny (C ~ 3 pF), R_in ~ 1 GOhm, quiet at rest "
               "near -65 mV, a few pA of current make it fire (D'Angelo et al. 1995, "
               "J. Physiol. 484:397; Chadderton et al. 2004, Nature 428:856).",
        C=3.0, g_L=1.0, E_L=-65.0, V_th=-42.0, V_reset=-70.0, t_ref=1.5,
        a=0.0, b=1.0, tau_w=50.0, delta_theta=0.0, tau_theta=50.0,
        C_d=1.0, g_L_d=0.2, g_c=1.0, lambda_d=50.0,
    ),
    ("motor", "brainstem"): dict(
        source="Brainstem (hypoglossal) motoneuron: large, R_in ~ 25 MOhm, rheobase ~ "
               "0.5 nA, a medium afterhyperpolarisation of ~ 50-100 ms that sets the "
               "rate (Viana et al. 1993, J. Neurophysiol. 69:2137; Powers & Binder 2001, "
               "Rev. Physiol. Biochem. Pharmacol. 143:137).",
        C=400.0, g_L=25.0, E_L=-65.0, V_th=-50.0, V_reset=-60.0, t_ref=3.0,
        a=0.0, b=60.0, tau_w=80.0, delta_theta=0.0, tau_theta=50.0,
        C_d=600.0, g_L_d=15.0, g_c=40.0, lambda_d=600.0,
    ),
}
CELL_TYPES = tuple(dict.fromkeys(cell for cell, _ in PRESETS))
REGIONS = tuple(dict.fromkeys(region for _, region in PRESETS))


class GeneralizedNeuron(AbstractGatedNeuron, AbstractSpikingNeuron):
    """Two-compartment (soma + dendrite) adaptive integrate-and-fire neuron with a moving
    threshold, in the spirit of the generalized LIF models of Teeter et al. 2018
    (Nat. Commun. 9:709) with the dendritic compartment of Pinsky & Rinzel 1994:

    $C V' = g_L (E_L - V) + g_c (V_d - V) + g_i (E_i - V) - w + I + I_{bias}$,
    $C_d V_d' = g_{L,d} (E_L - V_d) + g_c (V - V_d)
    + (\\alpha_p g_e + \\alpha_d g_{e,d}) (E_e - V_d)$,
    $\\tau_w w' = a (V - E_L) - w$, $\\tau_\\theta \\theta' = -\\theta$,
    $g' = -g / \\tau$ for each synaptic conductance;
    a spike when $V$ reaches $V_{th} + \\theta$: $V \\to V_{reset}$, $w \\to w + b$,
    $\\theta \\to \\theta + \\Delta\\theta$, then $V$ is held for `t_ref`.

    Excitatory synapses sit on the dendrite, at a proximal (`g_e`) and a distal
    (`g_e_distal`) site whose currents reach the dendritic compartment attenuated by
    $\\alpha = e^{-x/\\lambda_d}$ (distance $x$ along a passive cable of length constant
    $\\lambda_d$); inhibition (`g_i`) is perisomatic. Input current (`args`) enters the soma.

    State `(V, V_d, w, theta, g_e, g_e_distal, g_i)`: mV, mV, pA, mV, nS, nS, nS. Current in
    pA, conductance nS, capacitance pF, time ms, distance um. `GeneralizedNeuron.preset`
    gives cell types of cortex, cerebellum and brainstem (`PRESETS`, with sources).

    **Arguments:** `C`, `g_L`, `E_L`, `V_th`, `V_reset`, `t_ref` (soma); `a` (nS), `b` (pA),
    `tau_w` (ms) (adaptation); `delta_theta` (mV), `tau_theta` (ms) (threshold adaptation);
    `C_d`, `g_L_d`, `g_c` (dendrite and coupling); `x_proximal`, `x_distal`, `lambda_d` (um);
    `E_e`, `E_i`, `tau_e`, `tau_i` (synapses); `I_bias` (pA); `v_init` (mV).
    """

    state_names: ClassVar[tuple[str, ...]] = ("V", "V_d", "w", "theta", "g_e", "g_e_distal",
                                              "g_i")
    input_unit: ClassVar[str] = "pA"
    """Unit of the input current (`args`): pA."""

    C: Float[Array, ""] = param(250.0)
    g_L: Float[Array, ""] = param(12.0)
    E_L: Float[Array, ""] = param(-68.0)
    V_th: Float[Array, ""] = param(-48.0)
    V_reset: Float[Array, ""] = param(-55.0)
    t_ref: Float[Array, ""] = param(2.0)
    a: Float[Array, ""] = param(2.0)
    b: Float[Array, ""] = param(40.0)
    tau_w: Float[Array, ""] = param(150.0)
    delta_theta: Float[Array, ""] = param(1.0)
    tau_theta: Float[Array, ""] = param(50.0)
    C_d: Float[Array, ""] = param(150.0)
    g_L_d: Float[Array, ""] = param(7.5)
    g_c: Float[Array, ""] = param(15.0)
    x_proximal: Float[Array, ""] = param(50.0)
    x_distal: Float[Array, ""] = param(400.0)
    lambda_d: Float[Array, ""] = param(300.0)
    E_e: Float[Array, ""] = param(0.0)
    E_i: Float[Array, ""] = param(-80.0)
    tau_e: Float[Array, ""] = param(5.0)
    tau_i: Float[Array, ""] = param(10.0)
    I_bias: Float[Array, ""] = param(0.0)
    v_init: Float[Array, ""] = param(float("nan"))

    def domain(self):
        """Capacitances, leaks, time and length constants > 0; t_ref, g_c, distances >= 0;
        the rest finite (`v_init` NaN means "start at rest")."""
        return {**positive(self, "C", "g_L", "tau_w", "tau_theta", "C_d", "g_L_d", "lambda_d",
                           "tau_e", "tau_i"),
                **non_negative(self, "t_ref", "g_c", "x_proximal", "x_distal"),
                **finite(self, "E_L", "V_th", "V_reset", "a", "b", "delta_theta", "E_e", "E_i",
                         "I_bias"),
                **reset_below(self, "V_reset", "V_th")}

    @classmethod
    def preset(cls, cell_type: str, region: str | None = None, **overrides) -> GeneralizedNeuron:
        """The preset of `cell_type` in `region` (default: the type's first listed region),
        with any field overridden. See `PRESETS` for the values and their sources.

        **Raises:** `ValueError` for an unknown cell type, region, or combination, listing
        the allowed names.
        """
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell_type must be one of {list(CELL_TYPES)}; got {cell_type!r}")
        regions = [r for c, r in PRESETS if c == cell_type]
        if region is None:
            region = regions[0]
        if region not in REGIONS:
            raise ValueError(f"region must be one of {list(REGIONS)}; got {region!r}")
        if (cell_type, region) not in PRESETS:
            raise ValueError(f"region: {cell_type!r} has presets for {regions}; got {region!r}")
        values = {k: v for k, v in PRESETS[cell_type, region].items() if k != "source"}
        return cls(**{**values, **overrides})

    @property
    def resting_potential(self) -> Float[Array, ""]:
        """Resting somatic potential (mV) with no input: the leak reversal shifted by
        `I_bias` through the input resistance (it may lie above threshold: pacemakers)."""
        return self.E_L + self.I_bias / self.input_conductance

    @property
    def input_conductance(self) -> Float[Array, ""]:
        """Somatic input conductance (nS) at rest, dendrite included, adaptation excluded."""
        g_dend = self.g_c * self.g_L_d / (self.g_c + self.g_L_d)
        return self.g_L + g_dend

    @property
    def rheobase(self) -> Float[Array, ""]:
        """Current (pA) above which the cell fires repetitively under a long step: where the
        steady somatic potential $E_L + (I + I_{bias}) / (g_{in} + a)$ reaches `V_th`
        (negative for pacemakers, which fire without input)."""
        return (self.V_th - self.E_L) * (self.input_conductance + self.a) - self.I_bias

    def initial_state(self):
        v0 = jnp.where(jnp.isnan(self.v_init), jnp.minimum(self.resting_potential, self.V_th
                                                           - 1.0), self.v_init)
        zero = jnp.zeros_like(v0)
        # a subthreshold start: both compartments at v0, adaptation at its steady state there
        return jnp.stack([v0, v0, self.a * (v0 - self.E_L), zero, zero, zero, zero])

    def voltage(self, y):
        return y[0]

    def attenuation(self) -> tuple[Float[Array, ""], Float[Array, ""]]:
        """Fractions of the proximal and distal synaptic currents that reach the dendritic
        compartment: $e^{-x/\\lambda_d}$."""
        return jnp.exp(-self.x_proximal / self.lambda_d), jnp.exp(-self.x_distal / self.lambda_d)

    def exponential_split(self, t, y, args):
        V, V_d, w, theta, g_e, g_ed, g_i = (y[i] for i in range(7))
        alpha_p, alpha_d = self.attenuation()
        g_syn_d = alpha_p * g_e + alpha_d * g_ed
        g_soma = self.g_L + self.g_c + g_i
        v_target = (self.g_L * self.E_L + self.g_c * V_d + g_i * self.E_i - w + args
                    + self.I_bias) / g_soma
        g_dend = self.g_L_d + self.g_c + g_syn_d
        vd_target = (self.g_L_d * self.E_L + self.g_c * V + g_syn_d * self.E_e) / g_dend
        one = jnp.ones_like(V)
        rate = jnp.stack([g_soma / self.C, g_dend / self.C_d, one / self.tau_w,
                          one / self.tau_theta, one / self.tau_e, one / self.tau_e,
                          one / self.tau_i])
        target = jnp.stack([v_target, vd_target, self.a * (V - self.E_L), 0 * theta,
                            0 * g_e, 0 * g_ed, 0 * g_i])
        return rate, target

    def spike_condition(self, y):
        return y[0] - (self.V_th + y[3])

    def reset(self, y):
        return y.at[0].set(self.V_reset).at[2].add(self.b).at[3].add(self.delta_theta)

    @property
    def refractory_period(self):
        return self.t_ref
