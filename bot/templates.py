"""Reply templates: every text the bot says is a named template an operator can override.

Rules:
- A feature registers each template with its Chinese default and the variables it may use.
- Operators override in ``[templates]`` (all groups) or ``[groups.templates]`` (one group).
- An override naming an unknown template, or a variable the template does not offer, or a
  broken ``{}`` pattern is a config error with its key path — never a runtime crash.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Config


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    default: str
    variables: frozenset[str]


REGISTRY: dict[str, Template] = {}
_formatter = string.Formatter()


def register(key: str, default: str, *variables: str) -> str:
    """Declare a template; returns its key so modules can keep it as a named constant."""
    tpl = Template(key, default, frozenset(variables))
    problem = _problem(tpl, default)
    if problem:
        raise ValueError(f"template {key}: {problem}")
    REGISTRY[key] = tpl
    return key


def _fields(text: str) -> set[str]:
    names = set()
    for _, field, _, _ in _formatter.parse(text):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
    return names


def _problem(tpl: Template, text: str) -> str | None:
    try:
        names = _fields(text)
    except ValueError as exc:
        return f"bad placeholder: {exc}"
    unknown = names - tpl.variables
    if "" in unknown:
        return "positional {} is not allowed; use a name"
    if unknown:
        allowed = ", ".join(sorted(tpl.variables)) or "none"
        return f"unknown variable {{{sorted(unknown)[0]}}} (allowed: {allowed})"
    return None


def check(data: dict[str, Any]) -> list[str]:
    """Config problems in template overrides (raw config mapping), with key paths."""
    out: list[str] = []
    groups = data.get("groups") if isinstance(data.get("groups"), list) else []
    sources = [("templates", data.get("templates"))] + [
        (f"groups[{i}].templates", g.get("templates"))
        for i, g in enumerate(groups)
        if isinstance(g, dict)
    ]
    for prefix, mapping in sources:
        if not isinstance(mapping, dict):
            continue
        for key, text in mapping.items():
            tpl = REGISTRY.get(key)
            if tpl is None:
                out.append(f"{prefix}.{key}: unknown template")
                continue
            if not isinstance(text, str):
                continue  # the schema reports the type
            problem = _problem(tpl, text)
            if problem:
                out.append(f"{prefix}.{key}: {problem}")
    return out


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(config: Config | None, key: str, gid: str | None = None, **values: Any) -> str:
    """The template text in force for the group, filled with ``values``."""
    tpl = REGISTRY[key]
    text = config.template_override(key, gid) if config is not None else None
    return (text if text is not None else tpl.default).format_map(_Safe(values))
