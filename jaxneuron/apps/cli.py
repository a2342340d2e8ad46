"""The `jaxneuron` command line: one sub-command per module in `jaxneuron.apps.workflows`.

Errors: every error the user can fix is reported as one line on stderr,
`jaxneuron <command>: <message>`, with exit code 2 and no traceback. These are the
argument errors of the parser, `ValueError` (invalid input: every check in jaxneuron raises
it, naming the argument and what is allowed), `FloatingPointError` (a fit whose loss became
NaN/inf) and the file-system errors `FileExistsError`, `FileNotFoundError`,
`IsADirectoryError`, `NotADirectoryError`, `PermissionError`, and the run-time checks inside
compiled code (`equinox.EquinoxRuntimeError`: a blown-up run, a full spike or event
buffer), reported by their first line. Ctrl-C
(`KeyboardInterrupt`) prints one line and exits with 130 (a sweep resumes where it
stopped). Any other exception is a bug, not a usage error: it propagates with its full
traceback so that it can be reported.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

import jax
from equinox import EquinoxRuntimeError

from .workflows import WORKFLOWS

USER_ERRORS = (ValueError, FloatingPointError, FileExistsError, FileNotFoundError,
               IsADirectoryError, NotADirectoryError, PermissionError)
"""Exceptions reported as one line with exit code 2 (see the module docstring)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {_one_line(message)} (see {self.prog} --help)\n")


def _runtime_check_message(error: Exception) -> str | None:
    """The message of a run-time check (`equinox.error_if`) inside compiled code, which JAX
    wraps in a long report; None if `error` is not one."""
    match = re.search(r"EquinoxRuntimeError: (.+)", str(error))
    return match.group(1).strip() if match else None


def _one_line(text) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every workflow's sub-command registered."""
    parser = _Parser(prog="jaxneuron", description="Differentiable neuron simulation with "
                     "JAX.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in WORKFLOWS:
        importlib.import_module(f".workflows.{name}", __package__).register(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line with `argv` (default `sys.argv[1:]`); returns the exit code
    (0 success, 2 user error, 130 interrupted); a parser error (an invalid option value,
    see `jaxneuron.apps.arguments`) returns 2 after its one line, `--help` returns 0."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # the workflows write PNGs; never open windows
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: an option error (2) or --help (0)
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        args.func(args)
    except USER_ERRORS as error:
        message = _one_line(error) or type(error).__name__
        if isinstance(error, OSError | FloatingPointError):
            message = f"{type(error).__name__}: {message}"
        print(f"jaxneuron {args.command}: {message}", file=sys.stderr)
        return 2
    except (EquinoxRuntimeError, jax.errors.JaxRuntimeError) as error:
        message = _runtime_check_message(error)
        if message is None:  # not one of our run-time checks: a bug, keep the traceback
            raise
        print(f"jaxneuron {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jaxneuron {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
