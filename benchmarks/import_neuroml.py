"""jNeuroML's own LEMS examples, imported by `jaxneuron.imports.neuroml.load_lems` and run in
jaxneuron, against jNeuroML (the reference LEMS simulator, from the jar in the pyneuroml
wheel; needs `java`).

For every `LEMS_NML2_Ex*.xml` bundled with jNeuroML: whether the importer supports it (else
the reason) and, per cell, the voltage RMS difference outside +-2 ms of spikes, the largest
spike-time difference and the spike counts, against jNeuroML converged (Richardson
extrapolation of runs at the file's step / 10 and / 20: jNeuroML steps by forward Euler and
moves spikes and resets to step ends, so at the file's step its own error can exceed 2 dt)
and against jNeuroML at the file's step. Ex16 (inputs) runs reduced to its supported inputs
(pulse, sine, ramp, compound; its dt is 1 us: converged from dt/4 and dt/8). jaxneuron
runs in float64, saved at the file's dt: smooth models with the default fixed steps of that
dt, spiking ones with `ExactSpiking`.

    python benchmarks/import_neuroml.py [--quick] [--json results/import_neuroml.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import neuroml_reference as ref  # noqa: E402

from jaxneuron.apps.benchmarking import format_table, write_json  # noqa: E402

COLUMNS = [("case", "example / cell", "s"), ("supported", "supported", "s"),
           ("rms_mV", "RMS mV", ".4f"), ("max_spike_dt_ms", "max |Δt| ms", ".4f"),
           ("dt", "dt ms", "g"), ("counts", "counts jnml/jaxneuron", "s"),
           ("rms_file_dt_mV", "RMS mV (jnml at file dt)", ".3f"),
           ("max_spike_dt_file_dt_ms", "max |Δt| ms (jnml at file dt)", ".3f"),
           ("ok", "within tolerance", "s")]
QUICK = ("LEMS_NML2_Ex0_IaF.xml", "LEMS_NML2_Ex9_FN.xml")


def rows_of(path: Path, refine: int) -> list[dict]:
    from jaxneuron.imports.neuroml import load_lems

    try:
        load_lems(path)
    except ValueError as error:
        reason = str(error).replace(f"{str(path)!r}", path.name).split("elements: ", 1)[-1]
        return [{"case": path.name, "supported": f"no: {reason[:110]}", "n": 0}]
    rows = []
    for row in ref.compare_example(path, refine=refine):
        rows.append({
            "case": f"{row['example']} / {row['cell']}", "supported": "yes", "n": 1,
            "rms_mV": row["rms"], "max_spike_dt_ms": row["max_spike_dt"], "dt": row["dt"],
            "counts": f"{row['n_jnml']}/{row['n']}", "n_jnml": row["n_jnml"],
            "n_jaxneuron": row["n"], "rms_file_dt_mV": row["rms_file_dt"],
            "max_spike_dt_file_dt_ms": row["max_spike_dt_file_dt"],
            "n_jnml_file_dt": row["n_jnml_file_dt"], "ok": "yes" if row["ok"] else "NO",
            "jaxneuron_s": row["jaxneuron_s"], "compile_s": row["compile_s"],
            "baseline": "jNeuroML (file dt, whole file incl. JVM start, per cell)",
            "baseline_s": row["jnml_file_s"] / row["n_cells"],
            "speedup": row["jnml_file_s"] / row["n_cells"] / row["jaxneuron_s"]})
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Ex0 and Ex9 only")
    parser.add_argument("--refine", type=int, default=10,
                        help="jNeuroML's converged run from steps dt/refine and dt/(2 refine)")
    parser.add_argument("--json", help="write the common benchmark JSON here")
    args = parser.parse_args(argv)
    reason = ref.skip_reason()
    if reason:
        raise SystemExit(f"cannot run jNeuroML: {reason}")
    folder = ref.extract_examples(tempfile.mkdtemp(prefix="jaxneuron_jnml_"))
    names = sorted(p.name for p in (folder / "LEMSexamples").glob("LEMS_NML2_Ex*.xml"))
    names = sorted(names, key=lambda n: int(n.split("_Ex")[1].split("_")[0].rstrip("a")))
    if args.quick:
        names = [n for n in names if n in QUICK]
    rows = []
    for name in names:
        rows += rows_of(folder / "LEMSexamples" / name, args.refine)
        if name == "LEMS_NML2_Ex16_Inputs.xml":
            rows += rows_of(ref.write_ex16_supported(folder), 4)
        print(f"{name}: done", file=sys.stderr)
    print(format_table(rows, COLUMNS))
    if args.json:
        write_json(args.json, "import_neuroml", rows, COLUMNS)
        print(f"wrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
