"""``[matrix]``: how long the matrix's figures are kept before they are read again."""

from __future__ import annotations

from pydantic import Field

from bot import Section


class MatrixConfig(Section):
    # every group's figures are read again at most this often (0: at every request); pages,
    # sorts and tag filters within that time share one reading
    cache_s: int = Field(60, ge=0, le=3600)
