"""The top of the core: announcing a case or an update, and the import flow from pasted text to a published case. No aiogram."""
