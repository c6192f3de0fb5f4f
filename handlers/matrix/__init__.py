"""The group matrix: every group side by side — members, growth, leaves, activity, check-ins,
reach of programme posts, invites and dead letters over a window of days — filtered, sorted
and added up by tag (``GET /api/matrix``, the ``/admin/matrix`` page, CSV and XLSX downloads).

Reads other features' tables only by query (``storage.models*``) and the group list through
``handlers.stats``.
"""

from __future__ import annotations

from bot import Feature, Page, templates
from handlers.matrix.api import setup_api
from handlers.matrix.config import MatrixConfig
from handlers.matrix.page import PATH, export_page, matrix_page

FEATURE = Feature(
    name="matrix",
    config=MatrixConfig,
    templates=templates.owned_by(__name__),
    web=setup_api,
    pages=(
        Page(PATH, matrix_page, nav="群矩阵"),
        Page(PATH + ".csv", export_page),
        Page(PATH + ".xlsx", export_page),
    ),
)

__all__ = ["FEATURE", "MatrixConfig"]
