"""The ``xmh`` command line.

- ``xmh benchmark`` fits every method at every code length and seed and prints the paper-style
  mAP table; ``xmh fit`` trains one model and saves it;
- ``xmh encode`` encodes a feature file with a saved model; ``xmh index`` builds a Hamming index
  over encoded codes, ``xmh search`` queries it, ``xmh evaluate`` scores query codes against
  database codes; ``xmh warmup`` compiles the Hamming kernels ahead of first use.

Every command checks its arguments and output paths before any work. An error is one line on
stderr, with exit code 2 for a usage error and 1 for an error at run time; ``--debug`` shows the
traceback instead.
"""

import argparse
import sys

from . import _search, _train
from ._files import UsageError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, with a pointer to ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    """The ``xmh`` argument parser, a subcommand per task."""
    parser = _Parser(
        prog="xmh",
        description="Cross-modal hashing: benchmark, fit, encode, index, search and evaluate.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="progress bars (the epochs of each fit)"
    )
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    for add in (*_train.COMMANDS, *_search.COMMANDS):
        add(commands, common)
    return parser


def _one_line(exc):
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if str(exc) else type(exc).__name__


def main(argv=None):
    """Entry point of the ``xmh`` console script; returns its exit code."""
    args = build_parser().parse_args(argv)
    prog = f"xmh {args.command}"
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        if args.debug:
            raise
        print(f"{prog}: error: {_one_line(exc)} (see {prog} --help)", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - every runtime error is reported the same way
        if args.debug:
            raise
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
