"""Field-level accuracy of the importer, collected by the tests and printed at the end of the run."""

from __future__ import annotations

LINES: list[str] = []


def accuracy(name: str, checks: dict[str, bool]) -> float:
    """The share of fields the importer got right; the line also goes to pytest's terminal summary."""
    good = sum(checks.values())
    wrong = ", ".join(k for k, ok in checks.items() if not ok) or "-"
    LINES.append(f"{name}: {good}/{len(checks)} fields ({good / len(checks):.0%}); wrong: {wrong}")
    return good / len(checks)
