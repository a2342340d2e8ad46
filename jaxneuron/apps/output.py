"""Output-folder and JSON helpers shared by the workflows, the digits task and the examples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def output_dir(out: str | Path, argument: str = "--out") -> Path:
    """Create `out` (and parents) and return it as a Path.

    **Raises:** `ValueError` naming `argument` if `out` (or a folder above it) is an
    existing file, or the folder cannot be created."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{argument}: {out} is an existing file; give a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise ValueError(f"{argument}: cannot create the folder {out}: a part of the path "
                         f"is an existing file") from error
    except PermissionError as error:
        raise ValueError(f"{argument}: cannot create the folder {out}: permission "
                         f"denied") from error
    return out


def plain_json(value):
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic) or (hasattr(value, "shape") and value.shape == ()):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def write_summary(out: Path, summary: dict) -> Path:
    """Write `summary` as `out/summary.json` (NumPy/JAX scalars and arrays made plain)."""
    path = out / "summary.json"
    path.write_text(json.dumps(plain_json(summary), indent=2))
    return path


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Write `rows` (dicts with the same keys) as a CSV table with a header line."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def example_main(run, default_out: str) -> dict:
    """Command line of an `examples/` script: `[--out DIR] [--quick]`, then `run(out, quick=)`."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=default_out, help="output folder")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    return run(args.out, quick=args.quick)
