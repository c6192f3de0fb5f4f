"""Tables of the checkin feature (filled in by that feature)."""

from __future__ import annotations
