"""Declarative base with a constraint naming convention (stable names for migrations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model derives from this; relationships default to ``lazy="raise"``."""

    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # every model maps one plain table (never a join or a select)
        __table__: ClassVar[Table]
