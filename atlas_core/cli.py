"""The ``atlas`` command: a thin shell over ``atlas_core``.

Each subcommand lives in ``atlas_core/commands/<name>.py`` with ``add_parser(subparsers)``
(which registers the subcommand and its ``run`` via ``set_defaults(func=run)``) and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

SUBCOMMANDS = [
    "synth", "ingest", "inspect", "fetch", "train", "evaluate",
    "build", "query", "anomaly", "serve", "export",
    "nowcast", "flythrough", "label", "hapi", "cite",  # services (issue 14)
    "calibrate",  # probabilities (issue 11)
    "missions",  # missions (issue 13)
]


class LazyChoices:
    """An argparse ``choices`` read from a heavy module only when argparse looks at it (when
    that subcommand is parsed or its help shown), so ``atlas --help`` and every other command
    start without importing the atlas and figure stacks (seconds of scipy/matplotlib imports)."""

    def __init__(self, load):
        self._load = load
        self._values: list | None = None

    def _get(self) -> list:
        if self._values is None:
            self._values = list(self._load())
        return self._values

    def __iter__(self):
        return iter(self._get())

    def __contains__(self, value) -> bool:
        return value in self._get()

    def __len__(self) -> int:
        return len(self._get())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas", description="Magnetosphere Atlas: from MMS files to a regime atlas."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"atlas_core.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"atlas_core.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
