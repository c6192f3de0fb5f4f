"""Tables of the wecom feature (filled in by that feature)."""

from __future__ import annotations
