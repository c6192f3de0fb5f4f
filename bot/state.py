"""Typed per-process state: what a feature or the core keeps between events in memory.

Rule: a value lives under a ``StateKey[T]`` declared once as a module constant; its owner
decides the default. Nothing here is persisted — state that must survive a restart belongs in
the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")


class StateKey(Generic[T]):
    """The name and type of one value in ``State``; ``default`` makes one when missing."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Callable[[], T] | None = None) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class State:
    """Values keyed by ``StateKey``; a key with a default is created on first ``get``."""

    def __init__(self) -> None:
        self._values: dict[StateKey[Any], Any] = {}

    @overload
    def get(self, key: StateKey[T]) -> T | None: ...
    @overload
    def get(self, key: StateKey[T], default: T) -> T: ...

    def get(self, key: StateKey[T], default: T | None = None) -> T | None:
        if key in self._values:
            return cast(T, self._values[key])
        if key.default is not None:
            value = self._values[key] = key.default()
            return value
        return default

    def need(self, key: StateKey[T]) -> T:
        """The value of a key that has a default (created when missing)."""
        if key.default is None and key not in self._values:
            raise KeyError(key.name)
        value = self.get(key)
        return cast(T, value)

    def set(self, key: StateKey[T], value: T) -> None:
        self._values[key] = value

    def pop(self, key: StateKey[T]) -> T | None:
        return cast("T | None", self._values.pop(key, None))


# --- keys the core reads (features may add to them) -----------------------------------------
# /healthz checks: name -> True/False or a callable answering it (a failing one makes 503)
HEALTH: StateKey[dict[str, Any]] = StateKey("health", dict)
# /healthz details: standing problems that do not stop the bot (e.g. WeCom 60020)
HEALTH_DETAILS: StateKey[dict[str, Any]] = StateKey("health_details", dict)
# whether this process's scheduler work is led here (split_worker: asks the worker process)
LEADER: StateKey[Callable[[], Awaitable[bool]]] = StateKey("leader")
