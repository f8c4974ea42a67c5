"""Pledges: who said they acted, running totals, anonymous figures, and forgetting them after a case. No aiogram."""
