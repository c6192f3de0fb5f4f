"""The group matrix: every group side by side — members, growth, leaves, activity, check-ins,
reach of programme posts, invites and dead letters over a window of days — filtered, sorted
and added up by tag (``GET /api/matrix``).

Reads other features' tables only by query (``storage.models*``) and the group list through
``handlers.stats``.
"""

from __future__ import annotations

from bot import Feature, templates
from handlers.matrix.api import setup_api
from handlers.matrix.config import MatrixConfig

FEATURE = Feature(
    name="matrix", config=MatrixConfig, templates=templates.owned_by(__name__), web=setup_api
)

__all__ = ["FEATURE", "MatrixConfig"]
