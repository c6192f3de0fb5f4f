"""Configuration: TOML, validated at load, every problem reported with its key path.

Rules:
- Unknown keys are errors (a typo must not silently disable a feature).
- Secrets may come from the environment: ``GROUPBOT_<SECTION>__<KEY>`` (``__`` nests further,
  e.g. ``GROUPBOT_WECOM__AIBOT__TOKEN``); the environment wins over the file.
- Feature sections (``[checkin]``, ``[welcome]`` …) come from the features handed to
  ``parse_config`` (``Feature.config``, named after the feature) and may be overridden per group
  inside ``[[groups]]``; a group's view is the global section with the group's keys merged
  over it, validated as a whole.
- A group the file does not list can be adopted (``Config.adopt``, fed by the stored
  adoptions, bot/adoptions.py): from then on it is a configured group with another group's
  settings, its own name and id, and no robot key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot import templates
from bot.sections import CoreConfig, GroupConfig, Section

if TYPE_CHECKING:
    from bot.feature import Feature

ENV_PREFIX = "GROUPBOT_"
S = TypeVar("S", bound="Section")


class ConfigError(Exception):
    """Bad configuration; ``problems`` holds one ``key.path: reason`` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Config:
    """The loaded configuration: core sections plus validated feature sections per group,
    and the features it was parsed for (the bot, the web app and the CLI run those)."""

    def __init__(
        self,
        core: CoreConfig,
        sections: dict[str | None, dict[str, Any]],
        features: Sequence[Feature] = (),
    ) -> None:
        self.core = core
        self._features = sections
        self._groups = {g.id: g for g in core.groups}
        self._all_groups: list[GroupConfig] = list(core.groups)
        self.features: tuple[Feature, ...] = tuple(features)
        self._names: dict[type[Section], str] = {
            f.config: f.name for f in self.features if f.config is not None
        }

    server = property(lambda self: self.core.server)
    storage = property(lambda self: self.core.storage)
    bot = property(lambda self: self.core.bot)
    wecom = property(lambda self: self.core.wecom)
    onebot = property(lambda self: self.core.onebot)
    retention = property(lambda self: self.core.retention)
    console = property(lambda self: self.core.console)

    @property
    def groups(self) -> list[GroupConfig]:
        """Every managed group: ``[[groups]]`` in file order, then the adopted ones."""
        return self._all_groups

    def adopt(self, gid: str, like: str, name: str = "", tags: Sequence[str] = ()) -> bool:
        """Manage ``gid`` as a configured group with the settings of the configured group
        ``like``: its feature sections, admins, timezone and templates — not its robot key
        (``webhook_key`` belongs to one group). Its name is ``name``; its tags are ``like``'s
        then ``tags``. False when ``gid`` is known already or ``like`` is not configured."""
        template = self._groups.get(like)
        if gid in self._groups or template is None or not gid:
            return False
        merged = list(dict.fromkeys([*template.tags, *tags]))
        group = template.model_copy(
            update={"id": gid, "name": name, "webhook_key": "", "tags": merged}
        )
        if like in self._features:
            self._features[gid] = self._features[like]
        self._groups[gid] = group
        self._all_groups = [*self._all_groups, group]  # a new list: iterations go on unharmed
        return True

    def group(self, gid: str | None) -> GroupConfig | None:
        """The configured group, or None for a group we only met on the wire."""
        return self._groups.get(gid) if gid is not None else None

    @overload
    def feature(self, section: type[S], gid: str | None = None) -> S: ...
    @overload
    def feature(self, section: str, gid: str | None = None) -> Any: ...

    def feature(self, section: type[S] | str, gid: str | None = None) -> Any:
        """The feature section in force for a group (global section when not overridden).

        ``section`` is the feature's section class (typed) or its table name."""
        name = section if isinstance(section, str) else self._names[section]
        per_group = self._features.get(gid)
        if per_group is not None and name in per_group:
            return per_group[name]
        return self._features[None][name]

    def timezone(self, gid: str | None = None) -> ZoneInfo:
        """A group's timezone: its own, else the bot's."""
        g = self.group(gid)
        return ZoneInfo(g.timezone if g and g.timezone else self.core.bot.timezone)

    def group_mode(self, gid: str | None) -> str:
        """How the bot treats events of ``gid``: configured groups and private chats are
        managed; a group met only on the wire follows ``[bot] unknown_groups``."""
        if gid is None or gid in self._groups:
            return "manage"
        mode: str = self.bot.unknown_groups
        return mode

    def group_admins(self, gid: str | None) -> set[str]:
        g = self.group(gid)
        return set(g.admins) if g else set()

    def template_override(self, key: str, gid: str | None) -> str | None:
        g = self.group(gid)
        if g and key in g.templates:
            return g.templates[key]
        return self.core.templates.get(key)


def _loc(loc: tuple[Any, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _errors(exc: ValidationError, prefix: str = "") -> list[str]:
    return [f"{_loc(e['loc'], prefix)}: {e['msg']}" for e in exc.errors()]


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``GROUPBOT_A__B=value`` onto ``data['a']['b']`` (names lower-cased)."""
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key[len(ENV_PREFIX) :]:
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            node[path[-1]] = value
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_config(
    data: dict[str, Any],
    features: Sequence[Feature],
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate a config mapping for ``features``; raise ConfigError listing every problem."""
    sections: dict[str, type[Section]] = {f.name: f.config for f in features if f.config}
    data = apply_env(dict(data), os.environ if environ is None else environ)
    problems: list[str] = []
    feature_raw = {n: data.pop(n, {}) for n in sections}
    group_raw: list[tuple[int, str, dict[str, Any]]] = []
    clean_groups: list[Any] = []
    groups_in = data.get("groups", [])
    for i, g in enumerate(groups_in if isinstance(groups_in, list) else []):
        if isinstance(g, dict):
            group_raw.append((i, str(g.get("id", i)), {n: g[n] for n in sections if n in g}))
            g = {k: v for k, v in g.items() if k not in sections}
        clean_groups.append(g)
    if isinstance(groups_in, list):
        data["groups"] = clean_groups
    core: CoreConfig | None = None
    try:
        core = CoreConfig.model_validate(data)
    except ValidationError as exc:
        problems += _errors(exc)
    views: dict[str | None, dict[str, Any]] = {None: {}}
    for name, model in sections.items():
        try:
            views[None][name] = model.model_validate(feature_raw[name])
        except ValidationError as exc:
            problems += _errors(exc, name)
    for i, gid, over in group_raw:
        views[gid] = {}
        for name, raw in over.items():
            if not isinstance(raw, dict):
                problems.append(f"groups[{i}].{name}: must be a table")
                continue
            merged = _merge(feature_raw[name] if isinstance(feature_raw[name], dict) else {}, raw)
            try:
                views[gid][name] = sections[name].model_validate(merged)
            except ValidationError as exc:
                problems += _errors(exc, f"groups[{i}].{name}")
    problems += _check_raw(data)
    problems += templates.check(data, templates.known(features))
    if problems:
        raise ConfigError(problems)
    assert core is not None
    cfg = Config(core, views, features)
    problems = _onebot_signed(cfg)
    problems += [p for f in cfg.features for check in f.checks for p in check(cfg)]
    if problems:
        raise ConfigError(problems)
    return cfg


def _onebot_signed(cfg: Config) -> list[str]:
    """OneBot groups need signed pushes: without a secret anyone could post events as owner."""
    ob = cfg.onebot
    if ob.secret or ob.allow_unsigned or not any(g.platform == "onebot" for g in cfg.groups):
        return []
    return [
        "onebot.secret: required when OneBot groups are configured (unsigned events would be "
        "accepted from anyone); set it in the bridge too, or set onebot.allow_unsigned = true"
    ]


def _check_raw(data: dict[str, Any]) -> list[str]:
    """Checks that span keys; run on the raw mapping so they report even when others fail."""
    problems = []
    seen: dict[str, int] = {}
    groups = data["groups"] if isinstance(data.get("groups"), list) else []
    for i, g in enumerate(groups):
        if not isinstance(g, dict) or not isinstance(g.get("id"), str):
            continue
        gid = g["id"]
        if gid in seen:
            problems.append(f"groups[{i}].id: duplicate of groups[{seen[gid]}]")
        seen[gid] = i
        if g.get("platform") == "onebot" and not gid.isdigit():
            problems.append(f"groups[{i}].id: OneBot group ids are decimal numbers")
    wecom = data["wecom"] if isinstance(data.get("wecom"), dict) else {}
    aibot = wecom["aibot"] if isinstance(wecom.get("aibot"), dict) else {}
    for path, key in (
        ("wecom.encoding_aes_key", wecom.get("encoding_aes_key")),
        ("wecom.aibot.encoding_aes_key", aibot.get("encoding_aes_key")),
    ):
        if isinstance(key, str) and key and len(key) != 43:
            problems.append(f"{path}: must be 43 characters")
    return problems


def load_config(
    path: str | Path, features: Sequence[Feature], environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a TOML file for ``features``."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError([f"{p}: file not found"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from exc
    return parse_config(data, features, environ)
