"""The `jaxneuron` command line: one sub-command per module in `jaxneuron.workflows`."""

from __future__ import annotations

import argparse
import importlib
import sys

from .workflows import WORKFLOWS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every workflow's sub-command registered."""
    parser = argparse.ArgumentParser(prog="jaxneuron", description="Differentiable neuron "
                                     "simulation with JAX.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in WORKFLOWS:
        importlib.import_module(f".workflows.{name}", __package__).register(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as error:
        print(f"jaxneuron {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
