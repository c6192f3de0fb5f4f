"""Tables of the referral feature (filled in by that feature)."""

from __future__ import annotations
