"""Published benchmark numbers from one source: the JSON files in `benchmarks/results/`.

Every table on `benchmarks/README.md` sits between `<!-- results:NAME -->` and
`<!-- /results -->` markers, and the README's headline figures between `<!-- headline -->`
and `<!-- /headline -->`; this script renders them from `benchmarks/results/*.json` (written
by each benchmark's `--json PATH`, see `jaxneuron.apps.benchmarking.write_json`).

    python benchmarks/report.py            # print every table
    python benchmarks/report.py --write    # regenerate the marked blocks in place
    python benchmarks/report.py --check    # exit 1 if a marked block differs from its JSON
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PAGES = (HERE / "README.md", ROOT / "README.md")

BLOCK = re.compile(r"(?P<open><!-- (?P<block>results:(?P<name>[\w/]+)|headline) -->\n)"
                   r"(?P<body>.*?)(?P<close><!-- /(results|headline) -->)", re.S)


def load(name: str, results: Path = RESULTS) -> dict:
    """The JSON record of benchmark `name` (e.g. `"hh_sweep"`) in the folder `results`."""
    path = Path(results) / f"{name}.json"
    if not path.exists():
        raise ValueError(f"no results for {name!r}: {path} is missing (run the benchmark with "
                         f"--json {path})")
    return json.loads(path.read_text())


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    text = format(value, fmt)
    return text.replace("|", "\\|")


def table(record: dict, name: str | None = None) -> str:
    """The Markdown table `name` (default: the main one) of a benchmark record."""
    name = name or record["benchmark"]
    found = [t for t in record["tables"] if t["name"] == name]
    if not found:
        raise ValueError(f"{record['benchmark']}.json has no table {name!r}; it has "
                         f"{[t['name'] for t in record['tables']]}")
    spec = found[0]
    columns = spec["columns"]
    if not columns:
        raise ValueError(f"{record['benchmark']}.json: table {name!r} has no columns")
    rows = [r for r in record["rows"] if spec["key"] is None or spec["key"] in r]
    lines = ["| " + " | ".join(h.replace("|", "\\|") for _, h, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(r, k, f) for k, _, f in columns) + " |" for r in rows]
    return "\n".join(lines)


def caption(record: dict) -> str:
    """One line: when, where and how the record was measured."""
    devices = "device" if record["devices"] == 1 else "devices"
    return (f"Measured {record['date']} on {record['cpu']} ({record['cores']} cores, "
            f"{record['backend']}, {record['devices']} JAX {devices}), jax "
            f"{record['jax_version']}, jaxneuron {record['jaxneuron_version']}; "
            f"`{record['command']}` took {record['wall_s']:,.0f} s in all.")


def results_block(name: str, results: Path = RESULTS) -> str:
    """The generated body of `<!-- results:NAME -->`: caption and table."""
    record = load(name.split("/")[0], results)
    return f"{caption(record)}\n\n{table(record, name)}\n"


def _row(record: dict, case: str, baseline: str = "", **match) -> dict:
    """The one row of `record` with this `case`, a baseline starting with `baseline`, and
    the values `match`; a `ValueError` if there is not exactly one."""
    rows = [r for r in record["rows"]
            if r.get("case") == case and str(r.get("baseline", "")).startswith(baseline)
            and all(r.get(k) == v for k, v in match.items())]
    if len(rows) != 1:
        raise ValueError(f"{record['benchmark']}.json: {len(rows)} rows with case {case!r}, "
                         f"baseline {baseline!r}... and {match}, expected one")
    return rows[0]


def _times(x: float) -> str:
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×"


def headline(results: Path = RESULTS) -> str:
    """The generated body of the README's `<!-- headline -->` block."""
    hh = load("hh_sweep", results)
    one = _row(hh, "staggered dt=0.025 float32 1 device(s)", "scipy")
    izh = load("spiking_sweep", results)
    count = _row(izh, "clock euler dt=0.1 float32, record count", "Brian2")
    times = _row(izh, "clock euler dt=0.1 float32", "Brian2")
    coba = _row(load("coba_brian2", results), "COBA 1000 ms, dt 0.1, p 0.02", "Brian2", n=4000)

    def versus(row: dict) -> str:
        ratio = row["speedup"]
        if 0.95 <= ratio < 1.05:  # within the run-to-run variation of either side
            return "about as fast as"
        return f"{_times(ratio)} faster than" if ratio >= 1 else f"{_times(1 / ratio)} slower than"

    return (f"Latest figures, on {hh['cores']} CPU cores ({hh['date'][:10]}; no GPU figures "
            f"yet): {_times(one['speedup'])} SciPy RK45 on {one['n']:,} HH sets (one JAX "
            f"device, float32); "
            f"counting the spikes of {count['n']:,} Izhikevich neurons (Euler, dt = 0.1 ms) "
            f"is {versus(count)} "
            f"Brian2's cython with a spike monitor, and recording every spike time is "
            f"{versus(times)} it; the {coba['n']:,}-cell COBA network is {versus(coba)} "
            f"Brian2.\n")


def expected(text: str, results: Path = RESULTS) -> str:
    """`text` with every marked block regenerated from the JSON in `results`."""
    def body(match: re.Match) -> str:
        name = match.group("name")
        new = results_block(name, results) if name else headline(results)
        return match.group("open") + new + match.group("close")

    return BLOCK.sub(body, text)


def drift(paths=PAGES, results: Path = RESULTS) -> list[str]:
    """The marked blocks of `paths` that differ from their JSON, as `file: block` strings."""
    found = []
    for path in paths:
        text = Path(path).read_text()
        new = expected(text, results)
        old_blocks = {m.group("block"): m.group("body") for m in BLOCK.finditer(text)}
        new_blocks = {m.group("block"): m.group("body") for m in BLOCK.finditer(new)}
        found += [f"{Path(path).name}: {name}" for name in old_blocks
                  if old_blocks[name] != new_blocks[name]]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="regenerate the marked blocks")
    group.add_argument("--check", action="store_true", help="exit 1 on any drift")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the JSON")
    args = parser.parse_args(argv)
    if args.check:
        stale = drift(PAGES, args.results)
        for name in stale:
            print(f"out of date: {name} (run python benchmarks/report.py --write)")
        return 1 if stale else 0
    if args.write:
        for path in PAGES:
            text = path.read_text()
            path.write_text(expected(text, args.results))
        return 0
    for path in sorted(Path(args.results).glob("*.json")):
        record = json.loads(path.read_text())
        for spec in record["tables"]:
            print(f"## {spec['name']}\n\n{results_block(spec['name'], args.results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
