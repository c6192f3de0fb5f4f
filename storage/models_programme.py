"""Tables of the programme feature (filled in by that feature)."""

from __future__ import annotations
