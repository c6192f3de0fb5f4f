"""CSV downloads for the API: UTF-8 with a BOM (so spreadsheet apps read Chinese correctly).

Rule: a cell that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR)
is prefixed with ``'`` — member names are chosen by members, not by the operator.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> web.Response:
    """A CSV attachment named ``filename``."""
    body = "\ufeff" + csv_text(header, rows)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
