"""The contract and quality history chart: an inline SVG drawn on the server, no chart library.

One stacked bar per publish (passed, warnings, failed and errored checks), newest on the right, with a
line for the rows published. The SVG scales to its container and carries a title and a description;
the page also lists the same numbers in a table for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from quanta.registry.stores.publishing import PublishRecord

WIDTH, HEIGHT = 400, 200
TOP, BOTTOM, LEFT, RIGHT = 24, 36, 30, 10
MAX_BARS = 30
COLOURS = {"passed": "#2e7d32", "warning": "#b26a00", "failed": "#c62828", "error": "#6a1b9a"}


@dataclass(frozen=True)
class QualityPoint:
    """The checks of one publish, counted by verdict."""

    version: str
    at: datetime
    rows: int
    passed: int
    warning: int
    failed: int
    error: int

    @property
    def total(self) -> int:
        return self.passed + self.warning + self.failed + self.error

    @property
    def verdict(self) -> str:
        if self.failed or self.error:
            return "failed"
        return "warning" if self.warning else "passed"


def quality_points(publishes: list[PublishRecord]) -> list[QualityPoint]:
    """The last ``MAX_BARS`` publishes as chart points, oldest first."""
    points = []
    for record in publishes[-MAX_BARS:]:
        summary = (record.checks or {}).get("summary") or {}
        points.append(
            QualityPoint(
                record.version,
                record.created_at,
                sum(record.rows.values()),
                int(summary.get("passed", 0)),
                int(summary.get("warning", 0)),
                int(summary.get("failed", 0)),
                int(summary.get("error", 0)),
            )
        )
    return points


def quality_chart(points: list[QualityPoint]) -> Markup:
    """Stacked bars of check verdicts per publish and a line of rows published, as inline SVG."""
    if not points:
        return Markup("")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    most_checks = max(p.total for p in points) or 1
    most_rows = max(p.rows for p in points) or 1
    step = plot_w / len(points)
    bar = max(4.0, min(48.0, step * 0.6))
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            'aria-labelledby="qc-title qc-desc" xmlns="http://www.w3.org/2000/svg">'
        ),
        '<title id="qc-title">Contract checks per publish</title>',
        f'<desc id="qc-desc">{escape(_describe(points))}</desc>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" class="axis"/>',
        f'<text x="{LEFT - 5}" y="{TOP + 4}" class="tick" text-anchor="end">{most_checks}</text>',
        f'<text x="{LEFT - 5}" y="{TOP + plot_h}" class="tick" text-anchor="end">0</text>',
        '<text x="0" y="12" class="tick">checks</text>',
        f'<text x="{WIDTH}" y="12" class="tick" text-anchor="end">line: rows, max {_short(most_rows)}</text>',
    ]
    dots: list[tuple[float, float]] = []
    for i, point in enumerate(points):
        x = LEFT + step * i + (step - bar) / 2
        parts += _bar(point, x, bar, plot_h, most_checks)
        dots.append((x + bar / 2, TOP + plot_h - plot_h * point.rows / most_rows))
        if len(points) <= 8 or i in (0, len(points) - 1):  # label every bar only when they fit
            for dy, text in ((15, point.version), (29, f"{point.at:%m-%d}")):
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + dy}" class="tick" '
                    f'text-anchor="middle">{escape(text)}</text>'
                )
    if len(dots) > 1:
        line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in dots)
        parts.append(f'<polyline points="{line}" class="rows-line" fill="none"/>')
    parts += [f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" class="rows-dot"/>' for cx, cy in dots]
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(point: QualityPoint, x: float, width: float, plot_h: float, most: int) -> list[str]:
    """One publish's stacked rectangles, passed at the bottom; each says what it counts on hover."""
    rects = []
    y = float(TOP + plot_h)
    for verdict in ("passed", "warning", "failed", "error"):
        count = getattr(point, verdict)
        if not count:
            continue
        h = plot_h * count / most
        y -= h
        label = f"{point.version} {point.at:%Y-%m-%d %H:%M}: {count} {verdict}"
        rects.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{COLOURS[verdict]}"><title>{escape(label)}</title></rect>'
        )
    return rects


def _describe(points: list[QualityPoint]) -> str:
    last = points[-1]
    return (
        f"{len(points)} publishes; the latest, version {last.version} on {last.at:%Y-%m-%d}, "
        f"passed {last.passed} of {last.total} checks with {last.rows:,} rows."
    )


def _short(n: int) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)


# --- KPI charts: horizontal bars of named values, and a bar per day ------------------------------


@dataclass(frozen=True)
class Bar:
    """One named value of a bar chart, with the text shown beside it."""

    label: str
    value: float
    text: str


BAR_WIDTH, BAR_ROW, BAR_LABEL, BAR_VALUE = 560, 22, 200, 110
"""Bar charts are wider than the quality chart: product ids on the left, values on the right."""


def bar_chart(chart_id: str, title: str, bars: list[Bar], summary: str) -> Markup:
    """Horizontal bars, one per value, labelled on the left with the value's text on the right."""
    if not bars:
        return Markup("")
    height = TOP + BAR_ROW * len(bars)
    plot_w = BAR_WIDTH - BAR_LABEL - BAR_VALUE
    most = max(b.value for b in bars) or 1.0
    parts = _svg_head(chart_id, title, summary, height, BAR_WIDTH)
    for i, b in enumerate(bars):
        y = TOP / 2 + i * BAR_ROW
        w = max(1.0, plot_w * b.value / most) if b.value else 0.0
        label = b.label if len(b.label) <= 28 else b.label[:27] + "…"
        text_y = f"{y + 14:.1f}"
        parts += [
            f'<text x="{BAR_LABEL - 6}" y="{text_y}" class="tick" text-anchor="end">{escape(label)}</text>',
            (
                f'<rect x="{BAR_LABEL}" y="{y + 3:.1f}" width="{w:.1f}" height="{BAR_ROW - 8}" '
                f'class="kpi-bar"><title>{escape(b.label)}: {escape(b.text)}</title></rect>'
            ),
            f'<text x="{BAR_LABEL + w + 4:.1f}" y="{text_y}" class="tick">{escape(b.text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_chart(chart_id: str, title: str, days: list[tuple[date, dict[str, int]]], summary: str) -> Markup:
    """Stacked bars per day (allowed, denied, error counts), oldest on the left, days without any
    included as gaps."""
    if not days:
        return Markup("")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    most = max(sum(counts.values()) for _, counts in days) or 1
    step = plot_w / len(days)
    bar = max(2.0, step * 0.7)
    parts = _svg_head(chart_id, title, summary, HEIGHT, WIDTH)
    parts += [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" class="axis"/>',
        f'<text x="{LEFT - 5}" y="{TOP + 4}" class="tick" text-anchor="end">{most}</text>',
        f'<text x="{LEFT - 5}" y="{TOP + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    for i, (day, counts) in enumerate(days):
        x, y = LEFT + step * i + (step - bar) / 2, float(TOP + plot_h)
        for kind, colour in DAY_COLOURS.items():
            n = counts.get(kind, 0)
            if n:
                h = plot_h * n / most
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{day:%Y-%m-%d}: {n} {kind}</title></rect>"
                )
        if i in (0, len(days) - 1) or (len(days) <= 10):
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 15}" class="tick" '
                f'text-anchor="middle">{day:%m-%d}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


DAY_COLOURS = {"allowed": "#1f6feb", "denied": "#b26a00", "errors": "#c62828"}


def _svg_head(chart_id: str, title: str, summary: str, height: int, width: int) -> list[str]:
    return [
        (
            f'<svg class="chart kpi-chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
