"""Urgent Action importer: plain text -> case-file draft (see bot.cli.imports)."""
