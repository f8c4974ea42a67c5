"""Dates as Urgent Actions write them: "15 May 2012", "4 may 2012", "16th August, 2017"."""

from __future__ import annotations

MONTHS = "january february march april may june july august september october november december".split()
DATE = rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({'|'.join(MONTHS)})\s*,?\s+(\d{{4}})"
