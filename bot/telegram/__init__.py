"""The Telegram edge: aiogram sessions, keyboards, the broadcast sender, reports to coordinators, discreet mode."""
