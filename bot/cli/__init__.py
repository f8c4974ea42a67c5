"""The `rrbot` command line: one module per command group, the commands in bot.cli.main."""

from __future__ import annotations

import sys

from bot.cli.sigterm import StopRequested, stop_on_sigterm


def main(argv: list[str] | None = None) -> int:
    """The entry point. `rrbot run` takes SIGTERM before it imports anything else (a second or more of
    modules), so that `docker stop` at any moment of start-up ends it with exit 0; the other commands keep
    Python's default, a SIGTERM ends them as it always did."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["run"]:
        from bot.cli.main import main as command

        return command(argv)
    try:
        with stop_on_sigterm():
            from bot.cli.main import main as command

            return command(argv)
    except StopRequested:
        print("rrbot: SIGTERM during start-up: stopped before taking any update", file=sys.stderr)
        return 0


__all__ = ["main"]
