"""Scheduled pushes: deadline reminders, "remind me later", timed broadcasts. APScheduler 3 on Redis."""

from scheduler.context import JobContext
from scheduler.service import Planned, Scheduler, later_time

__all__ = ["JobContext", "Planned", "Scheduler", "later_time"]
