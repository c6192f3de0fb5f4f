"""The summary as a chat message: Chinese templates operators may override (``[templates]``),
filled with named fields only (``bot.templates``).

Rules: a count is shown as a whole number and its change with a sign (``+3``, ``-2``, ``±0``);
a rate as a percentage with one decimal (``12.5%``) and its change in percentage points
(``+2.3个百分点``). Each section is ``weekly.section`` (fields: ``scope``, ``groups`` and, per
figure ``f`` of the matrix, ``{f}``, ``{f}_before`` and ``{f}_change``); the ranking lines are
``weekly.rank_line`` under ``weekly.top`` / ``weekly.bottom``; the whole is ``weekly.post``. The
message is split into posts by the outbox (``split``), like every message.
"""

from __future__ import annotations

import re
from typing import Any

from bot import Config, templates
from handlers.matrix import FIGURES, LABELS, RATES
from handlers.weekly.config import WeeklyConfig
from handlers.weekly.report import Figures, GroupLine, Report

CONSOLE_PATH = "/admin/weekly"
SECTION_VARS = (
    "scope",
    "groups",
    *FIGURES,
    *(f"{f}_before" for f in FIGURES),
    *(f"{f}_change" for f in FIGURES),
)
T_POST = templates.register(
    "weekly.post",
    "📊 社群周报 {week}（{first} ~ {last}，对比上周 {previous_first} ~ {previous_last}）\n\n"
    "{sections}\n\n{ranking}\n\n完整报表与下载：{link}",
    "week",
    "first",
    "last",
    "previous_first",
    "previous_last",
    "sections",
    "ranking",
    "link",
)
T_SECTION = templates.register(
    "weekly.section",
    "【{scope}】{groups} 个群\n"
    "成员 {members}（{members_change}）｜净增 {net_growth}（{net_growth_change}）\n"
    "入群 {joins}（{joins_change}）｜退群 {leaves}（{leaves_change}）"
    "｜退群率 {leave_rate}（{leave_rate_change}）\n"
    "活跃率 {active_rate}（{active_rate_change}）｜签到率 {checkin_rate}（{checkin_rate_change}）\n"
    "帖子触达率 {post_reach}（{post_reach_change}）\n"
    "有效邀请 {valid_invites}（{valid_invites_change}）"
    "｜发送失败 {dead_letters}（{dead_letters_change}）",
    *SECTION_VARS,
)
T_TOP = templates.register("weekly.top", "🏆 {figure}最高：", "figure")
T_BOTTOM = templates.register("weekly.bottom", "⚠️ {figure}最低：", "figure")
T_RANK_LINE = templates.register(
    "weekly.rank_line", "{n}. {name} {value}（{change}）", "n", "name", "value", "change"
)
T_ALL = templates.register("weekly.all_groups", "全部群")
T_CONSOLE = templates.register("weekly.console", "控制台「周报」页，{week}", "week")


def value(key: str, v: Any) -> str:
    """A figure as shown (module rules)."""
    if key in RATES:
        return f"{float(v) * 100:.1f}%"
    if key == "net_growth":
        return signed(int(v))
    return str(v)


def signed(n: int) -> str:
    return f"{n:+d}" if n else "±0"


def delta(key: str, d: Any) -> str:
    """A change as shown (module rules)."""
    if key in RATES:
        points = round(float(d) * 100, 1)
        return f"{points:+.1f}个百分点" if points else "±0"
    return signed(int(d))


def fields(f: Figures) -> dict[str, str]:
    out: dict[str, str] = {}
    change = f.change
    for k in FIGURES:
        out[k] = value(k, f.now[k])
        out[f"{k}_before"] = value(k, f.before[k])
        out[f"{k}_change"] = delta(k, change[k])
    return out


def ranking(config: Config, report: Report) -> str:
    key = report.rank_by
    figure = LABELS[key]

    def block(head: str, lines: tuple[GroupLine, ...]) -> str:
        if not lines:
            return ""
        rows = [
            templates.render(
                config,
                T_RANK_LINE,
                n=i,
                name=g.name,
                value=value(key, g.figures.now[key]),
                change=delta(key, g.figures.change[key]),
            )
            for i, g in enumerate(lines, start=1)
        ]
        return "\n".join([templates.render(config, head, figure=figure), *rows])

    parts = [block(T_TOP, report.top), block(T_BOTTOM, report.bottom)]
    return "\n\n".join(p for p in parts if p)


def link(config: Config, report: Report) -> str:
    base = config.feature(WeeklyConfig).console_url
    if base:
        return f"{base}{CONSOLE_PATH}?week={report.week.name}"
    return templates.render(config, T_CONSOLE, week=report.week.name)


def compose(config: Config, report: Report) -> str:
    """The whole message (module rules); blank runs left by empty parts are closed up."""
    everyone = templates.render(config, T_ALL)
    sections = [
        templates.render(
            config,
            T_SECTION,
            scope=s.tag or everyone,
            groups=s.groups,
            **fields(s.figures),
        )
        for s in (report.total, *report.by_tag)
    ]
    w, p = report.week, report.week.previous
    text = templates.render(
        config,
        T_POST,
        week=w.name,
        first=w.monday.isoformat(),
        last=w.sunday.isoformat(),
        previous_first=p.monday.isoformat(),
        previous_last=p.sunday.isoformat(),
        sections="\n\n".join(sections),
        ranking=ranking(config, report),
        link=link(config, report),
    )
    return re.sub(r"\n{3,}", "\n\n", text).strip()
