"""Inline SVG charts drawn on the server (no script, no CDN).

Every drawn point or bar carries ``data-series``, ``data-date`` and ``data-value`` with the
exact number it shows, and a ``<title>`` for a hover tooltip; the figure names its series in
``data-series``. Scales start at zero; the top of the scale is a round number ≥ the maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.web.dashboard.layout import esc

W, H = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    name: str  # machine name, e.g. "joins" (the API's field)
    label: str  # what people read, e.g. "入群"
    color: str
    points: Sequence[tuple[str, int]]  # (YYYY-MM-DD, value), oldest first


def nice_max(value: int) -> int:
    """The smallest 1/2/2.5/5 × 10^k (a whole number) not below ``value`` (at least 1)."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for m in (1, 2, 2.5, 5):
            if m * step >= value and (m * step) % 1 == 0:
                return int(m * step)
        step *= 10


def _y(value: float, top: int) -> float:
    return TOP + PLOT_H - (value / top) * PLOT_H


def _frame(top: int, dates: Sequence[str]) -> str:
    """Grid lines, the y scale (0, half, top) and a few date labels."""
    parts = []
    for v in (0, top / 2, top):
        y = _y(v, top)
        label = f"{v:g}"
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#59636e">{label}</text>'
        )
    n = len(dates)
    picks = sorted({0, n // 2, n - 1}) if n else []
    for i in picks:
        x = _x(i, n)
        parts.append(
            f'<text x="{x:.1f}" y="{H - 8}" text-anchor="middle" font-size="13" '
            f'fill="#59636e">{esc(dates[i][5:])}</text>'
        )
    return "".join(parts)


def _x(i: int, n: int) -> float:
    """Centre of slot ``i`` of ``n``."""
    return LEFT + PLOT_W * (i + 0.5) / max(n, 1)


def _figure(chart_id: str, title: str, series: Sequence[Series], svg_body: str) -> str:
    names = ",".join(s.name for s in series)
    legend = "".join(
        f'<i style="background:{s.color}"></i>{esc(s.label)}' for s in series if len(series) > 1
    )
    cap = f"{esc(title)} <span class='legend muted'>{legend}</span>" if legend else esc(title)
    return (
        f'<figure class="chart" data-chart="{esc(chart_id)}" data-series="{esc(names)}">'
        f"<figcaption>{cap}</figcaption>"
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">{svg_body}</svg></figure>'
    )


def line_chart(chart_id: str, title: str, series: Sequence[Series]) -> str:
    """One line per series, a dot (with its number) per day."""
    dates = [d for d, _ in series[0].points] if series else []
    top = nice_max(max((v for s in series for _, v in s.points), default=0))
    body = [_frame(top, dates)]
    n = len(dates)
    for s in series:
        coords = [(_x(i, n), _y(v, top)) for i, (_, v) in enumerate(s.points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2" '
            f'data-series="{esc(s.name)}"/>'
        )
        for (x, y), (d, v) in zip(coords, s.points, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.color}" '
                f'data-series="{esc(s.name)}" data-date="{esc(d)}" data-value="{v}">'
                f"<title>{esc(d)} {esc(s.label)} {v}</title></circle>"
            )
    return _figure(chart_id, title, series, "".join(body))


def bar_chart(chart_id: str, title: str, series: Sequence[Series]) -> str:
    """Bars per day, the series side by side."""
    dates = [d for d, _ in series[0].points] if series else []
    top = nice_max(max((v for s in series for _, v in s.points), default=0))
    body = [_frame(top, dates)]
    n, k = len(dates), max(len(series), 1)
    slot = PLOT_W / max(n, 1)
    bar = max(slot * 0.8 / k, 1.0)
    for j, s in enumerate(series):
        for i, (d, v) in enumerate(s.points):
            x = LEFT + slot * i + slot * 0.1 + bar * j
            y = _y(v, top)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{TOP + PLOT_H - y:.1f}" '
                f'fill="{s.color}" data-series="{esc(s.name)}" data-date="{esc(d)}" '
                f'data-value="{v}"><title>{esc(d)} {esc(s.label)} {v}</title></rect>'
            )
    return _figure(chart_id, title, series, "".join(body))


def sparkline(name: str, points: Sequence[tuple[str, int]], color: str = "#1f6feb") -> str:
    """A small trend line for a table cell (120×28)."""
    w, h = 120, 28
    values = [v for _, v in points]
    lo, hi = min(values, default=0), max(values, default=0)
    span = max(hi - lo, 1)
    n = len(values)
    coords = " ".join(
        f"{2 + (w - 4) * (i / max(n - 1, 1)):.1f},{h - 3 - (v - lo) / span * (h - 6):.1f}"
        for i, v in enumerate(values)
    )
    last = values[-1] if values else 0
    return (
        f'<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{esc(name)}" data-series="{esc(name)}" data-value="{last}" '
        f'xmlns="http://www.w3.org/2000/svg"><polyline points="{coords}" fill="none" '
        f'stroke="{color}" stroke-width="1.5"/></svg>'
    )
