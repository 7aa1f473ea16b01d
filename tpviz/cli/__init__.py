"""The ``tpviz`` command: ``tpviz figures``, ``grade``, ``doctor``, ``download`` (also ``python -m tpviz``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module

from ..errors import TpvizError

# Each command's module provides HELP (one line), add_arguments(parser) and run(args) -> exit code.
# Modules are imported only to build the parser; each imports torch (if at all) inside run().
COMMANDS = {"figures": ".figures", "grade": "..grading.command", "doctor": ".doctor", "download": ".download"}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="tpviz", description="How an ImageNet CNN sees: the course kit's commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = import_module(module_name, __package__)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (2 for a usage or input error, with the message on stderr)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with _printable_names():
        args = build_parser().parse_args(argv)
        args.argv = argv  # as the shell passed them: tpviz grade checks them for a file name taken as an option
        try:
            return int(args.run(args))
        except TpvizError as err:
            print(f"tpviz {args.command}: error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"tpviz {args.command}: interrupted", file=sys.stderr)
            return 130


@contextmanager
def _printable_names() -> Iterator[None]:
    """Print a file name that is not valid in the terminal's encoding (bytes Python keeps as surrogates) with
    backslash escapes, instead of failing on it; stdout and stderr are restored afterwards."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
            changed.append(stream)
    try:
        yield
    finally:
        for stream in changed:
            stream.reconfigure(errors="strict")
