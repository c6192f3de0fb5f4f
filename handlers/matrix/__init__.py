"""The group matrix: every group side by side — members, growth, leaves, activity, check-ins,
reach of programme posts, invites and dead letters over a window of days — filtered, sorted
and added up by tag (``GET /api/matrix``, the ``/admin/matrix`` page, CSV and XLSX downloads);
and the tags given to groups from the console (``/api/groups/{gid}/tags``, the 标签 tab).

Reads other features' tables only by query (``storage.models*``) and the group list through
``handlers.stats``. Other features (the weekly summary) read the matrix through ``build`` (a
past window with ``last_day``), its figures' names (``FIGURES``, ``LABELS``, ``RATES``) and
``subtotal`` / ``change`` (subtotals from summed counts, week-over-week differences).
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Page, templates
from handlers.matrix.api import setup_api
from handlers.matrix.config import MatrixConfig
from handlers.matrix.logic import BadInput, Matrix, Row, build
from handlers.matrix.page import PATH, export_page, matrix_page
from handlers.matrix.rates import FIGURES, LABELS, RATES, change, subtotal
from handlers.matrix.tags import PAGE as TAGS_PAGE
from handlers.matrix.tags import setup_tags, tags_page


def _web(app: web.Application) -> None:
    """``/api/matrix``, ``/api/groups/{gid}/tags`` and the tag form's POST."""
    setup_api(app)
    setup_tags(app)


FEATURE = Feature(
    name="matrix",
    config=MatrixConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    pages=(
        Page(PATH, matrix_page, nav="群矩阵"),
        Page(TAGS_PAGE, tags_page, tab="标签"),
        Page(PATH + ".csv", export_page),
        Page(PATH + ".xlsx", export_page),
    ),
)

__all__ = [
    "FEATURE",
    "FIGURES",
    "LABELS",
    "RATES",
    "BadInput",
    "Matrix",
    "MatrixConfig",
    "Row",
    "build",
    "change",
    "subtotal",
]
