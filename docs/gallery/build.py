"""Build the examples gallery: run each `examples/*.py`, time it, and write its page.

    python docs/gallery/build.py run NAME [NAME ...] [--quick] [--timeout S]
    python docs/gallery/build.py render

`run` runs each named example in its own subprocess (`nice -n 19`, `MPLBACKEND=Agg`, its own
output folder under `build/gallery/`), times it in wall seconds, copies its figures
(downscaled) into `docs/gallery/img/NAME/`, records the run in `docs/gallery/gallery.json`
and rewrites the pages. `render` rewrites `docs/gallery/*.md` from `gallery.json` alone.
Examples not named keep their recorded run. The script is excluded from the site
(`exclude_docs` in mkdocs.yml); `tests/test_gallery.py` checks that its outputs agree.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # docs/, for published_text
from published_text import INTERNAL_WORDS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "gallery"
EXAMPLES = ROOT / "examples"
WORK = ROOT / "build" / "gallery"
JSON_PATH = GALLERY / "gallery.json"

MAX_WIDTH = 1100          # px; wider figures are downscaled
MAX_OUTPUT_CHARS = 2500   # printed output or summary.json longer than this is cut to its tail
# Words the docs' text check rejects (it greps docs/ for these); printed lines holding one are
# left out of the pages, and a summary.json holding one is not shown.
BANNED = INTERNAL_WORDS

# Example -> (page title, its workflow page under docs/workflows/).
PAGES = {
    "hh_quickstart": ("Hodgkin–Huxley quick start", "simulate.md"),
    "hh_exploration": ("Hodgkin–Huxley parameter exploration", "hh-explore.md"),
    "izhikevich_firing_patterns": ("Izhikevich firing patterns", "spiking.md"),
    "resting_potential": ("The resting membrane potential", "resting.md"),
    "bio_vs_artificial": ("Biological vs artificial f-I curves", "bio-vs-artificial.md"),
    "generalized_neuron": ("Generalized neuron cell types", "generalized-neuron.md"),
    "hh_inference": ("Bayesian inference of HH conductances", "infer.md"),
    "izhikevich_2003_network": ("The Izhikevich (2003) network", "izhikevich-network.md"),
    "recurrent_network": ("A recurrent network with STDP", "recurrent-network.md"),
    "criticality": ("A network tuned to criticality", "criticality.md"),
    "digits": ("A spiking network classifies digits", "digits.md"),
    "surrogate_resting": ("A learned surrogate of the resting membrane",
                          "surrogate-resting.md"),
    "surrogate_izhikevich": ("A learned surrogate of a network", "surrogate-izhikevich.md"),
}


def example_names() -> list[str]:
    """Stems of every `examples/*.py`: those in PAGES in its order, then the rest sorted."""
    found = {p.stem for p in EXAMPLES.glob("*.py")}
    return [n for n in PAGES if n in found] + sorted(found - set(PAGES))


def docstring(name: str) -> str:
    """The module docstring of `examples/NAME.py` (cleaned of its indentation)."""
    tree = ast.parse((EXAMPLES / f"{name}.py").read_text())
    return ast.get_docstring(tree) or ""


def prose(name: str) -> str:
    """The docstring without its usage lines (`python examples/...`): the page shows those."""
    lines = [ln for ln in docstring(name).splitlines()
             if not ln.strip().startswith("python examples/")]
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip()


def takes_out(name: str) -> bool:
    """Whether the example's command line takes `--out` and `--quick` (`example_main`)."""
    return "example_main(" in (EXAMPLES / f"{name}.py").read_text()


def first_sentence(text: str) -> str:
    """The docstring's first sentence, on one line."""
    paragraph = " ".join(text.split("\n\n")[0].split())
    for i, char in enumerate(paragraph):
        if char == "." and (i + 1 == len(paragraph) or paragraph[i + 1] == " "):
            return paragraph[: i + 1]
    return paragraph


def machine() -> str:
    """CPU model and logical core count, e.g. `Intel(R) Xeon(R) ... (2 cores)`."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} cores)"


def default_out(name: str) -> str | None:
    """The output folder the example writes to by default (`example_main(run, "...")`)."""
    found = re.search(r'example_main\(.*,\s*"([^"]+)"\)', (EXAMPLES / f"{name}.py").read_text())
    return found.group(1) if found else None


def public_paths(name: str, text: str) -> str:
    """`text` with the gallery's own output folder replaced by the example's default one."""
    default = default_out(name)
    if default is None:
        return text
    out = WORK / name
    text = text.replace(str(out), default)
    return text.replace(str(out.parent), Path(default).parent.as_posix())


def publishable(text: str) -> str:
    """`text` with each line that holds a BANNED word replaced by a `[line not shown]` mark."""
    return "\n".join("[line not shown]" if BANNED.search(line) else line
                     for line in text.split("\n"))


def user_command(name: str, quick: bool) -> str:
    return f"python examples/{name}.py" + (" --quick" if quick else "")


def shrink_png(src: Path, dst: Path) -> None:
    """Copy `src` to `dst`, downscaled to at most MAX_WIDTH px wide and palette-quantised."""
    from PIL import Image

    with Image.open(src) as image:
        image = image.convert("RGB")
        if image.width > MAX_WIDTH:
            height = round(image.height * MAX_WIDTH / image.width)
            image = image.resize((MAX_WIDTH, height), Image.LANCZOS)
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        image.save(dst, optimize=True)


def tail(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """`text` if short, else its last lines within `limit` characters after a `...` line."""
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.strip().split("\n"))
    if len(text) <= limit:
        return text
    lines, kept, size = text.splitlines(), [], 0
    for line in reversed(lines):
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(["...", *reversed(kept)])


def run_one(name: str, quick: bool, timeout: float) -> dict:
    """Run `examples/NAME.py` once and return its gallery record (figures copied)."""
    out = WORK / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    args = [sys.executable, str(EXAMPLES / f"{name}.py")]
    if takes_out(name):
        args += ["--out", str(out)] + (["--quick"] if quick else [])
    elif quick:
        raise ValueError(f"quick: examples/{name}.py takes no --quick")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", TQDM_DISABLE="1")
    start = time.perf_counter()
    with open(out / "stdout.txt", "w") as log, open(out / "stderr.txt", "w") as err:
        proc = subprocess.run(["nice", "-n", "19", *args], cwd=out, env=env, stdout=log,
                              stderr=err, timeout=timeout, check=False)
    seconds = time.perf_counter() - start
    printed = public_paths(name, (out / "stdout.txt").read_text())
    if proc.returncode != 0:
        raise RuntimeError(f"examples/{name}.py failed (exit {proc.returncode}):\n"
                           f"{tail((out / 'stderr.txt').read_text())}")
    import jax

    img = GALLERY / "img" / name
    shutil.rmtree(img, ignore_errors=True)
    figures = sorted(p for p in out.rglob("*.png"))
    if figures:
        img.mkdir(parents=True)
    listed = []
    for fig in figures:
        rel = fig.relative_to(out)
        target = img / "__".join(rel.parts)
        shrink_png(fig, target)
        listed.append(target.relative_to(GALLERY).as_posix())
    summary_path = out / "summary.json"
    summary = public_paths(name, summary_path.read_text()) if summary_path.exists() else ""
    return {
        "command": user_command(name, quick),
        "mode": "quick" if quick else "full",
        "seconds": round(seconds, 1),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "figures": listed,
        "output": publishable(tail(printed)),
        "summary": (summary.strip() if len(summary) <= MAX_OUTPUT_CHARS
                    and not BANNED.search(summary) else ""),
    }


def load() -> dict:
    return json.loads(JSON_PATH.read_text()) if JSON_PATH.exists() else {}


def save(records: dict) -> None:
    ordered = {name: records[name] for name in sorted(records)}
    JSON_PATH.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")


def title(name: str) -> str:
    return PAGES[name][0] if name in PAGES else name.replace("_", " ").capitalize()


def ran_line(rec: dict) -> str:
    size = "full size" if rec["mode"] == "full" else "`--quick` sizes"
    return (f"Ran in **{rec['seconds']:.0f} s** on {rec['machine']}, {size}, "
            f"jax {rec['jax']}, {rec['date']}.")


def page(name: str, rec: dict | None) -> str:
    lines = [f"# {title(name)}", "", f"`examples/{name}.py`", "", prose(name), ""]
    if name in PAGES:
        workflow = PAGES[name][1]
        lines += [f"What it computes and writes, in more detail: the "
                  f"[{workflow[:-3]} workflow](../workflows/{workflow}).", ""]
    lines += ["## Run it", "", "```bash", user_command(name, False), "```", ""]
    if takes_out(name):
        lines += ["`--out DIR` picks the output folder; `--quick` runs smaller sizes.", ""]
    if rec is None:
        lines += ["!!! warning \"Not run\"", "    This example has no recorded run yet.", ""]
    else:
        lines += ["!!! info \"Run time\"", f"    {ran_line(rec)}", "",
                  f"    Command: `{rec['command']}`; the time includes Python imports and JAX "
                  "compilation.", ""]
        if rec["figures"]:
            lines += ["## Figures", ""]
            for fig in rec["figures"]:
                stem = Path(fig).stem.replace("__", "/")
                lines += [f"[![{stem}]({fig})]({fig})", "", f"*`{stem}.png`*", ""]
        if rec["output"]:
            lines += ["## Printed output", "", "```text", rec["output"], "```", ""]
        if rec["summary"]:
            lines += ["## summary.json", "", '??? note "summary.json"', "    ```json"]
            lines += [f"    {line}" for line in rec["summary"].splitlines()]
            lines += ["    ```", ""]
    lines += ["## Source", "", f'```python title="examples/{name}.py"',
              f'--8<-- "examples/{name}.py"', "```", ""]
    return "\n".join(lines)


def index(records: dict) -> str:
    lines = ["# Gallery", "",
             "Every script in `examples/`, run as shown, with the figures it writes and how "
             "long it took. Each page includes the script's full source. The run times "
             "include Python imports and JAX compilation; they were measured on the CPU named "
             "on each page, shared with other work, so a free machine or a GPU is faster.",
             "", '<div class="grid cards" markdown>', ""]
    for name in example_names():
        rec = records.get(name)
        lines.append(f"-   **[{title(name)}]({name}.md)**")
        lines.append("")
        if rec and rec["figures"]:
            lines.append(f"    [![{title(name)}]({rec['figures'][0]})"
                         f'{{ loading=lazy style="max-height: 14rem" }}]({name}.md)')
            lines.append("")
        lines.append(f"    {first_sentence(docstring(name))}")
        lines.append("")
        if rec:
            mode = "" if rec["mode"] == "full" else " (`--quick`)"
            lines.append(f"    *{rec['seconds']:.0f} s{mode}*")
            lines.append("")
    lines += ["</div>", ""]
    return "\n".join(lines)


def render(records: dict) -> None:
    for name in example_names():
        (GALLERY / f"{name}.md").write_text(page(name, records.get(name)))
    (GALLERY / "index.md").write_text(index(records))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_p = sub.add_parser("run", help="run examples and record them")
    run_p.add_argument("names", nargs="+", help="example stems, or `all`")
    run_p.add_argument("--quick", action="store_true", help="pass --quick to the examples")
    run_p.add_argument("--timeout", type=float, default=1800.0, help="seconds per example")
    run_p.add_argument("--fallback-quick", action="store_true",
                       help="rerun with --quick an example whose full run times out")
    sub.add_parser("render", help="rewrite the pages from gallery.json")
    args = parser.parse_args(argv)
    names = example_names()
    if args.action == "run":
        chosen = names if args.names == ["all"] else args.names
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ValueError(f"names: unknown examples {unknown}; allowed: {names}")
        failed = []
        for name in chosen:
            print(f"running {name}{' --quick' if args.quick else ''} ...", flush=True)
            try:
                try:
                    rec = run_one(name, args.quick, args.timeout)
                except subprocess.TimeoutExpired:
                    if args.quick or not args.fallback_quick:
                        raise
                    print(f"  full run over {args.timeout:.0f} s; rerunning with --quick",
                          flush=True)
                    rec = run_one(name, True, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                print(f"  FAILED: {error}", flush=True)
                failed.append(name)
                continue
            records = load()          # reread: another run may have recorded meanwhile
            records[name] = rec
            save(records)
            render(records)
            print(f"  {rec['seconds']} s, {len(rec['figures'])} figures", flush=True)
        if failed:
            raise SystemExit(f"failed: {failed}")
    else:
        render(load())


if __name__ == "__main__":
    main()
