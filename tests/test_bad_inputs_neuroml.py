"""Bad inputs of the NeuroML2/LEMS importer (`neuroml_source`, `neuroml_stimulus`,
`load_lems`): every one a `ValueError` naming the argument or the element and what is
allowed; unsupported elements are listed together in one error.

`CASES`: id -> (call, exception, regex)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from jaxneuron.imports.neuroml import load_lems, neuroml_source, neuroml_stimulus

HEADER = ('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="bad">')
FOLDER = Path(tempfile.mkdtemp(prefix="jaxneuron_bad_nml_"))


def file(name: str, body: str, *, raw: bool = False) -> Path:
    path = FOLDER / name
    path.write_text(body if raw else HEADER + body + "</neuroml>")
    return path


IAF = ('<iafCell id="iaf" leakConductance="0.2nS" leakReversal="-53mV" thresh="-55mV" '
       'reset="-70mV" C="3.2pF"/>')
MULTI = """
<ionChannelKS id="ks" conductance="10pS"><gateKS id="n" instances="4"/></ionChannelKS>
<cell id="big">
  <morphology id="m">
    <segment id="0"><proximal x="0" y="0" z="0" diameter="10"/>
                    <distal x="10" y="0" z="0" diameter="10"/></segment>
    <segment id="1"><parent segment="0"/><distal x="20" y="0" z="0" diameter="2"/></segment>
  </morphology>
  <biophysicalProperties id="b">
    <membraneProperties>
      <channelDensity id="kdens" ionChannel="ks" condDensity="1 mS_per_cm2" erev="-77mV"/>
      <channelDensityGHK id="ca_all" ionChannel="ks" permeability="1 m_per_s" ion="ca"/>
      <specificCapacitance value="1.0 uF_per_cm2"/>
    </membraneProperties>
    <intracellularProperties><species id="ca" concentrationModel="x" ion="ca"
        initialConcentration="1e-4 mM" initialExtConcentration="2 mM"/></intracellularProperties>
  </biophysicalProperties>
</cell>"""
Q10 = """
<ionChannelHH id="k" conductance="10pS">
  <gateHHrates id="n" instances="4">
    <q10Settings type="q10ExpTemp" q10Factor="3" experimentalTemp="6.3 degC"/>
    <forwardRate type="HHExpRate" rate="0.1per_ms" midpoint="-55mV" scale="10mV"/>
    <reverseRate type="HHExpRate" rate="0.125per_ms" midpoint="-65mV" scale="-80mV"/>
  </gateHHrates>
</ionChannelHH>
<pointCellCondBased id="pc" C="10pF" v0="-65mV" thresh="20mV">
  <channelPopulation id="kc" ionChannel="k" number="10" erev="-77mV"/>
</pointCellCondBased>"""
INPUTS = """
<pulseGenerator id="p" delay="10ms" duration="10ms" amplitude="0.1nA"/>
<voltageClampTriple id="vc" active="1" delay="50ms" duration="200ms"
   conditioningVoltage="-70mV" testingVoltage="-50mV" returnVoltage="-70mV"
   simpleSeriesResistance="1e6ohm"/>"""


def lems(name: str, body: str) -> Path:
    return file(name, f"<Lems>{body}</Lems>", raw=True)


RUN = '<Simulation id="sim" length="100ms" step="0.01ms" target="net"/>'
CASES = {
    "missing file": (lambda: neuroml_source(FOLDER / "none.nml"), ValueError,
                     r"path: no such file: '.*none\.nml'"),
    "path not a path": (lambda: neuroml_source(3), ValueError,
                        r"path must be a file path \(str or Path\); got 3"),
    "not NeuroML (.nml)": (lambda: neuroml_source(file("junk.nml", "just text", raw=True)),
                           ValueError, r"path: '.*junk\.nml' is not a NeuroML2 file"),
    "not LEMS (.xml)": (lambda: load_lems(file("other.xml", "<html><p>x</p></html>",
                                               raw=True)),
                        ValueError, r"path: '.*other\.xml' is not a NeuroML2 or LEMS file"),
    "no cell": (lambda: neuroml_source(file("nocell.nml", INPUTS)), ValueError,
                r"path: '.*nocell\.nml' defines no cell \(looked for iafTauCell, "),
    "several cells, none named": (
        lambda: neuroml_source(file("two.nml", IAF + IAF.replace('"iaf"', '"iaf2"'))),
        ValueError, r"cell: '.*two\.nml' defines 2 cells \(iaf, iaf2\); name one with "
                    r"cell=\.\.\."),
    "unknown cell id": (lambda: neuroml_source(file("one.nml", IAF), "nope"), ValueError,
                        r"cell must be the id of a cell in '.*one\.nml' \(one of iaf\); "
                        r"got 'nope'"),
    "unsupported elements listed": (
        lambda: neuroml_source(file("multi.nml", MULTI)), ValueError,
        r"cell 'big' in '.*multi\.nml': unsupported NeuroML elements: a morphology of 2 "
        r"segments \(only single-compartment.*\); <species id='ca'> \(inside "
        r"intracellularProperties.*<channelDensityGHK id='ca_all'>.*<ionChannelKS id='ks'> "
        r"\(ion channels of HH form only\)"),
    "unsupported cell type": (
        lambda: neuroml_source(file("pr.nml", '<pinskyRinzelCA3Cell id="pr" iSoma="1"/>')),
        ValueError, r"cell 'pr'.*unsupported NeuroML elements: <pinskyRinzelCA3Cell "
                    r"id='pr'> \(supported cell types: iafTauCell, "),
    "q10ExpTemp without temperature": (
        lambda: neuroml_source(file("q10.nml", Q10)), ValueError,
        r"q10ExpTemp of gate 'n' needs the network temperature \(networkWithTemperature\)"),
    "temperature below absolute zero": (
        lambda: neuroml_source(file("q10b.nml", Q10), temperature=-300.0), ValueError,
        r"temperature must be a finite number > -273\.15; got -300\.0"),
    "wrong unit": (lambda: neuroml_source(file("unit.nml", IAF.replace('C="3.2pF"',
                                                                       'C="3.2mV"'))),
                   ValueError, r"iafCell 'iaf' attribute 'C': '3\.2mV' is not a capacitance"),
    "missing unit": (lambda: neuroml_source(file("nounit.nml", IAF.replace(
        'thresh="-55mV"', 'thresh="-55"'))), ValueError,
        r"attribute 'thresh': missing unit in '-55' \(expected a voltage, e\.g\. in mV\)"),
    "missing attribute": (lambda: neuroml_source(file("noattr.nml", IAF.replace(
        ' C="3.2pF"', ""))), ValueError, r"iafCell 'iaf' attribute 'C' is missing"),
    "unknown input": (lambda: neuroml_stimulus(file("in1.nml", INPUTS), ["zz"], "pA",
                                               t1=100.0, dt=0.1),
                      ValueError, r"inputs: unsupported NeuroML elements: input 'zz' not "
                                  r"found"),
    "unsupported input": (lambda: neuroml_stimulus(file("in2.nml", INPUTS), ["vc"], "pA",
                                                   t1=100.0, dt=0.1),
                          ValueError, r"<voltageClampTriple id='vc'> \(inputs: "
                                      r"pulseGenerator, "),
    "current into a dimensionless model": (
        lambda: neuroml_stimulus(file("in3.nml", INPUTS), ["p"], "1", t1=100.0, dt=0.1),
        ValueError, r"inputs: a dimensionless current needs an explicit scale"),
    "LEMS without Simulation": (lambda: load_lems(file("nosim.nml", IAF)), ValueError,
                                r"path: '.*nosim\.nml' has no <Simulation>"),
    "LEMS with connections and unsupported inputs": (
        lambda: load_lems(lems("net.xml", IAF + INPUTS + """
            <network id="net"><population id="a" component="iaf" size="2"/>
              <synapticConnection from="a[0]" to="a[1]" synapse="s" destination="synapses"/>
              <explicitInput target="a[0]" input="vc"/>
            </network>""" + RUN)), ValueError,
        r"path: '.*net\.xml' uses unsupported NeuroML elements: <synapticConnection "
        r"id='synapticConnection'> \(connections between cells\); "
        r"<voltageClampTriple id='vc'>"),
    "LEMS input into a cell that takes none": (
        lambda: load_lems(lems("tau.xml", '<iafTauCell id="t" leakReversal="-50mV" '
                                          'thresh="-55mV" reset="-70mV" tau="30ms"/>'
                                          + INPUTS + """
            <network id="net"><population id="a" component="t" size="1"/>
              <explicitInput target="a[0]" input="p"/></network>""" + RUN)), ValueError,
        r"inputs to iafTauCell 't' \(it takes none in NeuroML\)"),
    "LEMS input to a missing cell": (
        lambda: load_lems(lems("miss.xml", IAF + INPUTS + """
            <network id="net"><population id="a" component="iaf" size="1"/>
              <explicitInput target="a[3]" input="p"/></network>""" + RUN)), ValueError,
        r"an input targets a\[3\], which is not a cell of the network"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case):
    call, exception, pattern = CASES[case]
    with pytest.raises(exception, match=pattern):
        call()
