"""Cost of one gradient w.r.t. all 7 HH parameters vs one forward simulation and vs central
finite differences, per set in a vmapped batch (compile time reported apart).

    python benchmarks/hh_gradient.py [--batch 256] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse

from jaxneuron.apps.benchmarking import GRADIENT_COLUMNS, hh_gradient_rows, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="batch of 32")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    rows = hh_gradient_rows(32 if args.quick else args.batch)
    report(rows, GRADIENT_COLUMNS, "hh_gradient", args.json)


if __name__ == "__main__":
    main()
