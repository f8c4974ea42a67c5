"""Redis key names shared by packages that may not import each other (docs/REDIS-KEYS.md)."""

from __future__ import annotations


def case_key(prefix: str, case_id: str, *parts: object) -> str:
    """A key in the case's hash slot: `rrb:{case:ua-84-11}:officials`.

    Every key of a case that a script or a transaction touches together carries the tag {case:<id>}, so that on
    a Redis Cluster they live on one master.
    """
    return prefix + ":".join(map(str, (f"{{case:{case_id}}}", *parts)))


def case_of(prefix: str, key: str, suffix: str) -> str | None:
    """The case id in a key named by case_key(prefix, id, suffix), else None (a SCAN's find)."""
    head, tail = prefix + "{case:", "}:" + suffix
    if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
        return key[len(head) : -len(tail)]
    return None
