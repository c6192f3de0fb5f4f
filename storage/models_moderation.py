"""Tables of the moderation feature (filled in by that feature)."""

from __future__ import annotations
