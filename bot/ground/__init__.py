"""Ground floor: settings, the Redis client and its gate, privacy, clock, durations, logs, languages. No aiogram."""
