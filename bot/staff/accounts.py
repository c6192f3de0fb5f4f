"""Staff accounts: a unique name, a role, an argon2 password hash, enabled or disabled.

Rules:
- Roles rank ``viewer`` < ``operator`` < ``admin``: a viewer only reads; an operator also
  edits content and sends broadcasts; an admin also manages members and their actions.
- A name is 1–64 letters, digits or ``._-@`` (Chinese names too); a password 8–256 characters.
- Passwords are hashed with argon2id (argon2-cffi's defaults), off the event loop; a name that
  does not exist costs the same hashing as a wrong password, so a login does not reveal it.
- A new password or disabling an account ends every session of that account.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_staff import StaffSession, StaffUser

ROLES = ("viewer", "operator", "admin")
NAME_RE = re.compile(r"[\w.\-@]{1,64}")
MIN_PASSWORD, MAX_PASSWORD = 8, 256
_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """A hash to check unknown names against (made on first use, not at import)."""
    return _hasher.hash("groupbot-no-such-user")


class StaffError(ValueError):
    """A refused account change, with the reason for the operator."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime


def rank(role: str) -> int:
    """``viewer`` 0, ``operator`` 1, ``admin`` 2 (an unknown role ranks below a viewer)."""
    return ROLES.index(role) if role in ROLES else -1


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise StaffError("name: 1 to 64 letters, digits or ._-@")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StaffError(f"role: one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(u: StaffUser) -> Account:
    return Account(u.id, u.name, u.role, u.disabled, u.created_at)


async def add_user(s: AsyncSession, name: str, role: str, password: str, now: datetime) -> Account:
    """A new enabled account; StaffError when the name is taken or a value is refused."""
    check_name(name), check_role(role), check_password(password)
    if await s.scalar(select(StaffUser.id).where(StaffUser.name == name)) is not None:
        raise StaffError(f"name: {name} already exists")
    user = StaffUser(
        name=name,
        role=role,
        password_hash=await hash_password(password),
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    s.add(user)
    await s.flush()
    return _account(user)


async def _user(s: AsyncSession, name: str) -> StaffUser:
    user = await s.scalar(select(StaffUser).where(StaffUser.name == name))
    if user is None:
        raise StaffError(f"name: no account called {name}")
    return user


async def list_users(s: AsyncSession) -> list[Account]:
    rows = await s.scalars(select(StaffUser).order_by(StaffUser.name))
    return [_account(u) for u in rows]


async def set_password(s: AsyncSession, name: str, password: str, now: datetime) -> None:
    """A new password; the account's sessions end."""
    check_password(password)
    user = await _user(s, name)
    user.password_hash, user.updated_at = await hash_password(password), now
    await s.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


async def set_disabled(s: AsyncSession, name: str, disabled: bool, now: datetime) -> None:
    """Disable (its sessions end) or enable an account."""
    user = await _user(s, name)
    user.disabled, user.updated_at = disabled, now
    if disabled:
        await s.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


async def set_role(s: AsyncSession, name: str, role: str, now: datetime) -> None:
    check_role(role)
    user = await _user(s, name)
    user.role, user.updated_at = role, now


async def verify(s: AsyncSession, name: str, password: str) -> Account | None:
    """The enabled account whose password this is, else None (same cost either way)."""
    user = await s.scalar(select(StaffUser).where(StaffUser.name == name))
    stored = user.password_hash if user is not None else _dummy()
    ok = await asyncio.to_thread(_verify, stored, password)
    if user is None or user.disabled or not ok:
        return None
    return _account(user)
