"""The `encounter` command line: one parser, the commands grouped by what they work on.

    analysis.py   analyze, classify, train        (recordings and text in, annotations out)
    live.py       serve, stream, demo             (the live server and its stations)
    bench.py      bench wer | live | moments      (measured figures, never asserted in tests)
    research.py   export, agreement, metadata, scenarios, audit
    admin.py      users, delete                   (accounts and erasure)

Each command imports what it needs when it runs, so `encounter classify` does not load WebRTC
or Whisper, and `--help` is instant.
"""

from __future__ import annotations

import argparse
import sys

from encounter_feedback.cli import admin, analysis, bench, live, research
from encounter_feedback.errors import UserError


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as exc:
        print(f"encounter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="encounter", description="Real-time encounter feedback for simulation centers.")
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    for group in (analysis, live, bench, research, admin):
        group.add_commands(commands)
    return root


if __name__ == "__main__":
    sys.exit(main())
