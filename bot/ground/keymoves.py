"""Renaming Redis keys once, on start-up, when a release changes where data lives (e.g. hash tags for Cluster)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyMove:
    match: str  # SCAN MATCH glob of old keys under the prefix, e.g. "bc:*:queue" (prefix "rrb:" added by the runner)
    old: str  # regex fully matching the old key name without prefix, e.g. r"bc:([^:{}]+):queue"
    new: str  # re.sub template for the new name without prefix, e.g. r"{bc:\1}:queue"
