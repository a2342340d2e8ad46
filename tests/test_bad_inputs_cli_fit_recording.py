"""Bad inputs of `jaxneuron fit-recording` (issue 28, item 5): each is one line on stderr,
`jaxneuron fit-recording: ...` naming the option and what is allowed, exit code 2, no
traceback, before any fit or file is written.

`CASES`: id -> (argv builder (the `files` folder, the --out folder -> argv), regex)."""

from __future__ import annotations

import re
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron import recordings
from jaxneuron.apps.cli import main
from jaxneuron.recordings import Recording, Sweep

T = np.arange(0.0, 30.0 + 1e-9, 0.1)
STEP = ((T >= 5.0) & (T < 20.0)).astype(float)


class NoUnitModel(jn.AbstractNeuron):
    """A user model that states no input_unit (for --model this_module:NoUnitModel)."""

    state_names: ClassVar[tuple[str, ...]] = ("V",)
    tau: float = 10.0

    def initial_state(self):
        return jnp.array([-65.0])

    def vector_field(self, t, y, args):
        return (-(y + 65.0) + args) / self.tau

    def voltage(self, y):
        return y[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 3-sweep NWB file (current in pA), the same as a CSV table, a file of an unknown
    format, and a plain file where --out wants a folder."""
    root = tmp_path_factory.mktemp("bad_fit_recording")
    rec = Recording(tuple(Sweep(time=T, voltage=-65.0 + 2.0 * a * STEP, current=100.0 * a * STEP,
                                current_unit="pA") for a in (-1.0, 0.5, 1.0)))
    recordings.write_nwb(rec, root / "cell.nwb")
    np.savetxt(root / "cell.csv", np.column_stack([T, rec[0].voltage, rec[0].current]),
               delimiter=",")
    (root / "cell.xyz").write_text("1 2 3\n")
    (root / "afile").write_text("not a folder\n")
    return root


def fit(path="cell.nwb", *extra, params=("tau_m=5:20",), model="lif"):
    """argv builder: fit-recording on `path` (in the fixture folder) with `extra` options."""
    def build(root, out):
        argv = ["fit-recording", str(root / path), "--model", model]
        for p in params:
            argv += ["--param", p]
        return argv + [str(x).replace("ROOT", str(root)) for x in extra] + [
            "--out", str(out)] * ("--out" not in extra)
    return build


TABLE = ("--time-unit", "ms", "--voltage-unit", "mV")
CASES = {
    # the model and its parameters
    "unknown model": (fit(model="nosuch"), r"--model must be one of \[.*'lif'.*\], an import "
                      r"path package.module:ClassName or a model file \(.toml, .nml, .xml\); "
                      r"got 'nosuch'"),
    "model import path fails": (fit(model="nosuch_pkg.mod:Cell"),
                                r"--model .*could not import 'nosuch_pkg.mod:Cell'"),
    "unknown param": (fit(params=("tau_x",)), r"--param: unknown parameter\(s\) \['tau_x'\] "
                      r"of LIF"),
    "param given twice": (fit(params=("tau_m", "tau_m=5:20")),
                          r"--param: each parameter may be given once; \['tau_m'\]"),
    "param without high": (fit(params=("tau_m=5",)),
                           r"--param must look like NAME or NAME=LOW:HIGH.*got 'tau_m=5'"),
    "param bounds not numbers": (fit(params=("tau_m=a:b",)),
                                 r"--param must look like NAME or NAME=LOW:HIGH"),
    "param three bounds": (fit(params=("tau_m=1:2:3",)), r"--param must look like"),
    "param no name": (fit(params=("=1:2",)), r"--param must look like.*got '=1:2'"),
    "param low > high": (fit(params=("tau_m=20:5",)),
                         r"--param tau_m: LOW must be < HIGH; got 20:5"),
    "param low == high": (fit(params=("tau_m=5:5",)), r"--param tau_m: LOW must be < HIGH"),
    "param bound nan": (fit(params=("tau_m=nan:5",)),
                        r"--param tau_m: bounds must be finite numbers"),
    # sweeps
    "holdout names no sweep": (fit("cell.nwb", "--holdout", "9"),
                               r"--holdout: sweep 9 names no sweep; the recording has 3 "
                               r"sweeps, numbered 0 to 2"),
    "sweeps names no sweep": (fit("cell.nwb", "--sweeps", "0,3"),
                              r"--sweeps: sweep 3 names no sweep"),
    "holdout every sweep": (fit("cell.nwb", "--holdout", "0,1,2"),
                            r"holdout names every sweep \(0 to 2\)"),
    "sweeps and holdout share": (fit("cell.nwb", "--sweeps", "0,1", "--holdout", "1"),
                                 r"sweeps and holdout must not share a sweep; both name \[1\]"),
    "holdout not an index": (fit("cell.nwb", "--holdout", "a"),
                             r"argument --holdout: must be indices >= 0 separated by commas"),
    "holdout negative": (fit("cell.nwb", "--holdout", "-1"),
                         r"argument --holdout: must be indices >= 0"),
    "sweep twice": (fit("cell.nwb", "--sweeps", "0,0"), r"--sweeps: names sweep 0 twice"),
    # files
    "file does not exist": (fit("missing.nwb"), r"PATH: no such file '.*missing.nwb'"),
    "unknown format": (fit("cell.xyz"), r"path: unknown recording format 'cell.xyz'"),
    "out is a file": (fit("cell.nwb", "--out", "ROOT/afile"),
                      r"--out: .*afile is an existing file; give a folder path"),
    # units
    "table without current unit": (fit("cell.csv", *TABLE),
                                   r"--current-unit: missing unit of the current column of "
                                   r"cell.csv.*never assumed"),
    "table without time unit": (fit("cell.csv", "--voltage-unit", "mV", "--current-unit", "pA"),
                                r"--time-unit: missing unit"),
    "table with a wrong unit": (fit("cell.csv", *TABLE, "--current-unit", "mV"),
                                r"current_unit must be a unit of current .*got 'mV'"),
    "table columns malformed": (fit("cell.csv", *TABLE, "--current-unit", "pA", "--columns",
                                    "time=0,voltage"), r"--columns must look like"),
    "table without current column": (fit("cell.csv", *TABLE, "--current-unit", "pA",
                                         "--columns", "time=0,voltage=1"),
                                     r"--columns must declare a 'current' column"),
    "table option for nwb": (fit("cell.nwb", "--current-unit", "pA"),
                             r"--current-unit: only for a table .*NWB or ABF file states its "
                             r"own"),
    "density model without area": (fit(model="hh", params=("g_Na=60:180",)),
                                   r"needs the membrane area: give area_cm2.*--area"),
    "dimensionless model without scale": (fit(model="izhikevich", params=("a=0.01:0.05",)),
                                          r"dimensionless current needs an explicit scale.*"
                                          r"--scale"),
    "user model without input_unit": (
        fit(model=f"{__name__}:NoUnitModel", params=("tau",)),
        r"model: NoUnitModel states no input_unit.*set the class attribute"),
    # options
    "loss unknown": (fit("cell.nwb", "--loss", "mse"), r"argument --loss: invalid choice"),
    "starts 0": (fit("cell.nwb", "--starts", "0"), r"argument --starts: must be an int >= 1"),
    "window reversed": (fit("cell.nwb", "--window", "20:5"),
                        r"argument --window: must be START:END in ms with START < END"),
    "window one number": (fit("cell.nwb", "--window", "20"), r"argument --window: must be"),
    "dt not dividing the sampling": (fit("cell.nwb", "--dt", "0.03"),
                                     r"dt must divide the sampling interval 0.1 ms"),
    "no param": (lambda root, out: ["fit-recording", str(root / "cell.nwb"), "--model",
                                    "lif", "--out", str(out)],
                 r"the following arguments are required: --param"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_line_with_exit_code_2(case, files, tmp_path, capsys):
    build, match = CASES[case]
    code = main(build(files, tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jaxneuron fit-recording") and "Traceback" not in err
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "o").exists()  # nothing was fitted or written


def test_the_table_holds_at_least_30_rows():
    assert len(CASES) >= 30
