"""Reply templates: every text the bot says is a named template an operator can override.

Rules:
- A feature registers each template with its Chinese default and the variables it may use.
- Operators override in ``[templates]`` (all groups) or ``[groups.templates]`` (one group).
- Text written by operators or admins (overrides, programme content) is data with named
  holes: only ``{name}`` is a placeholder (``{{`` and ``}}`` are literal braces). Format
  specs (``{x:>9999}``), conversions (``{x!r}``), attribute or index access (``{x.y}``,
  ``{x[0]}``) and positional ``{}`` are refused when the text is saved — a config error with
  its key path, or a clear reply in chat — never run.
- A rendered text is at most ``MAX_OUTPUT`` characters; the rest is cut with a marker, so no
  value or template can make the bot build (or post) an unbounded text.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Config
    from bot.feature import Feature

MAX_OUTPUT = 16_000  # characters; about four WeCom markdown messages of Chinese text
CUT_MARK = "…（内容过长，已截断）"


class TemplateError(ValueError):
    """A template text that may not be used; the message says why (in English, for config)."""


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    default: str
    variables: frozenset[str]
    owner: str = ""  # the module that declared it (a feature lists its package's templates)


REGISTRY: dict[str, Template] = {}
_formatter = string.Formatter()


def register(key: str, default: str, *variables: str) -> str:
    """Declare a template; returns its key so modules can keep it as a named constant."""
    owner = str(sys._getframe(1).f_globals.get("__name__", ""))
    tpl = Template(key, default, frozenset(variables), owner)
    problem = _problem(tpl, default)
    if problem:
        raise ValueError(f"template {key}: {problem}")
    REGISTRY[key] = tpl
    return key


def owned_by(package: str) -> tuple[str, ...]:
    """The keys of the templates declared by ``package`` and its modules (import them first)."""
    return tuple(
        k for k, t in REGISTRY.items() if t.owner == package or t.owner.startswith(package + ".")
    )


def known(features: Iterable[Feature]) -> dict[str, Template]:
    """The templates operators may override: the core's and those of ``features``."""
    keys = {k for f in features for k in f.templates}
    return {k: t for k, t in REGISTRY.items() if k in keys or t.owner.startswith("bot.")}


@lru_cache(maxsize=1024)
def parse(text: str) -> tuple[tuple[str, str | None], ...]:
    """``text`` as (literal, field name or None) pieces; raises TemplateError for anything
    but plain named fields."""
    try:
        pieces = list(_formatter.parse(text))
    except ValueError as exc:
        raise TemplateError(f"bad placeholder: {exc}") from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in pieces:
        if name is None:
            out.append((literal, None))
            continue
        if name == "" or name.isdigit():
            raise TemplateError("positional {} is not allowed; use a name")
        if not name.isidentifier():
            raise TemplateError(f"{{{name}}}: only plain names may be used, no . or [ ]")
        if conversion is not None:
            raise TemplateError(f"{{{name}!{conversion}}}: conversions are not allowed")
        if spec:
            raise TemplateError(f"{{{name}:{spec}}}: format specs are not allowed")
        out.append((literal, name))
    return tuple(out)


def fields(text: str) -> set[str]:
    """The names a template text uses (raises TemplateError if it is not a safe template)."""
    return {name for _, name in parse(text) if name is not None}


def validate(text: str, allowed: Iterable[str]) -> None:
    """Raise TemplateError unless ``text`` is a safe template using only ``allowed`` names."""
    allowed = frozenset(allowed)
    unknown = fields(text) - allowed
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise TemplateError(f"unknown variable {{{sorted(unknown)[0]}}} (allowed: {names})")


def _problem(tpl: Template, text: str) -> str | None:
    try:
        validate(text, tpl.variables)
    except TemplateError as exc:
        return str(exc)
    return None


def check(data: dict[str, Any], known: Mapping[str, Template] | None = None) -> list[str]:
    """Config problems in template overrides (raw config mapping), with key paths.

    ``known``: the templates that may be overridden (the core's and the running features')."""
    known = REGISTRY if known is None else known
    out: list[str] = []
    groups = data["groups"] if isinstance(data.get("groups"), list) else []
    sources = [("templates", data.get("templates"))] + [
        (f"groups[{i}].templates", g.get("templates"))
        for i, g in enumerate(groups)
        if isinstance(g, dict)
    ]
    for prefix, mapping in sources:
        if not isinstance(mapping, dict):
            continue
        for key, text in mapping.items():
            tpl = known.get(key)
            if tpl is None:
                out.append(f"{prefix}.{key}: unknown template")
                continue
            if not isinstance(text, str):
                continue  # the schema reports the type
            problem = _problem(tpl, text)
            if problem:
                out.append(f"{prefix}.{key}: {problem}")
    return out


def fill(text: str, values: Mapping[str, Any], limit: int = MAX_OUTPUT) -> str:
    """``text`` with its named fields replaced by ``values`` (a missing name stays as
    ``{name}``), at most ``limit`` characters. Raises TemplateError for an unsafe text."""
    out: list[str] = []
    room = limit
    for literal, name in parse(text):
        for piece in (literal, None if name is None else _value(values, name)):
            if not piece:
                continue
            if len(piece) > room:
                out.append(piece[:room])
                return "".join(out).rstrip() + CUT_MARK
            out.append(piece)
            room -= len(piece)
    return "".join(out)


def _value(values: Mapping[str, Any], name: str) -> str:
    return str(values[name]) if name in values else "{" + name + "}"


def render(config: Config | None, key: str, gid: str | None = None, **values: Any) -> str:
    """The template text in force for the group, filled with ``values``."""
    tpl = REGISTRY[key]
    text = config.template_override(key, gid) if config is not None else None
    return fill(text if text is not None else tpl.default, values)
