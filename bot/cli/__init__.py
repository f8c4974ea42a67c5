"""The `rrbot` command line: one module per command group, `main` in bot.cli.main."""

from bot.cli.main import main

__all__ = ["main"]
