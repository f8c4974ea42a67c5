"""Urgent Action importer: plain text -> case-file draft (see bot.import_cli)."""
