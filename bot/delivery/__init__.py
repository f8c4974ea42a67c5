"""The delivery engine: broadcasts queued in Redis, sent by every bot process at one shared rate."""

from bot.delivery.engine import Broadcasts, UnknownBroadcast
from bot.delivery.models import Audience, AudienceKind, Outcome, OutcomeKind, Payload, Progress, Purpose, State
from bot.delivery.worker import Reporter, Sender, Worker

__all__ = [
    "Audience",
    "AudienceKind",
    "Broadcasts",
    "Outcome",
    "OutcomeKind",
    "Payload",
    "Progress",
    "Purpose",
    "Reporter",
    "Sender",
    "State",
    "UnknownBroadcast",
    "Worker",
]
