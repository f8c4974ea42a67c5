"""Where the delivery engine keeps its data in Redis, named so that it runs on Redis Cluster as on one server.

Every key a Lua script or a MULTI touches together shares one hash tag, and a script gets all of them in KEYS:
  {bc:<id>}     one broadcast: its record, queue, leases, nights, acks... (one slot per broadcast)
  {rate}        the shared send rate: its clock, the pause after a 429 and the cut rate after one
Keys read or written alone, or in pipelines that are not transactions, need no tag: the per-chat one-second gap
(`cool:<chat>`, spread over the cluster by chat), the index of broadcasts (`bc:all`, `bc:active`, `bc:seq`,
`bc:ended`) and the senders' presence (`workers`). docs/REDIS-KEYS.md, "Delivery keys", is the table.

KEY_MOVES renames the keys of the release before (`bc:<id>:q`...) once, on start-up (bot.ground.keymoves): a
broadcast under way then goes on under its new names.
"""

from __future__ import annotations

from bot.ground.keymoves import KeyMove

# The index of broadcasts: one key each, never in a script with a broadcast's own keys.
GLOBAL = frozenset({"seq", "all", "active", "ended"})
# A broadcast's own keys besides its record (`{bc:<id>}`), by the part after the tag.
PARTS = ("q", "inflight", "night", "variant", "part", "attempts", "acks", "follows", "preparer", "reported")
# The shared rate's keys, by the part after the tag; "429" counts the 429 answers ever (for /metrics).
RATE = ("tat", "pause", "slow", "429")


def name(prefix: str, *parts: object) -> str:
    """A key by its parts, as bot.delivery names them: ("bc", 7, "q") is `rrb:{bc:7}:q`, ("rate", "slow") is
    `rrb:{rate}:slow`, ("cool", chat) and the index ("bc", "active") keep their one-slot names."""
    words = [str(p) for p in parts]
    if len(words) >= 2 and words[0] == "bc" and words[1] not in GLOBAL:
        return prefix + "{bc:" + words[1] + "}" + "".join(":" + w for w in words[2:])
    if len(words) >= 2 and words[0] == "rate":
        return prefix + "{rate}:" + ":".join(words[1:])
    return prefix + ":".join(words)


def beside(key: str, *parts: object) -> str:
    """A key in the same hash slot as `key`, whatever `key`'s name: for a still copy of a set (SUNIONSTORE needs
    its keys in one slot). A key with a tag lends its tag; one without is hashed whole, as `{<key>}` is."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    tag = key[start + 1 : end] if start >= 0 and end > start + 1 else key
    return "{" + tag + "}:" + ":".join(map(str, parts))


def hash_slot(key: str) -> int:
    """Redis Cluster's slot of a key (CRC16 of its tag, or of the whole key), for checks and tests."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    crc = 0
    for byte in key.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


# The release before kept a broadcast under `bc:<id>` and `bc:<id>:<part>` (ids are numbers: `bc:seq`, `bc:all`,
# `bc:active` and `bc:ended` do not match) and the rate under `rate:<part>`. `{bc:<id>}:night` was tagged already;
# a still copy of an audience (`bc:<id>:audience:<token>`) belonged to a process that is gone: it runs out in an hour
# and the copy is made again by whoever takes its lease over. The gaps (`cool:`) and `workers` keep their names.
KEY_MOVES: tuple[KeyMove, ...] = (
    KeyMove(match="bc:*", old=r"bc:(\d+)", new=r"{bc:\1}"),
    *(KeyMove(match=f"bc:*:{part}", old=rf"bc:(\d+):{part}", new=rf"{{bc:\1}}:{part}") for part in PARTS),
    *(KeyMove(match=f"rate:{part}", old=rf"rate:{part}", new=f"{{rate}}:{part}") for part in RATE),
)
