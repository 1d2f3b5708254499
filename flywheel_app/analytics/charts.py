"""Charts of the analytics page drawn on the server as SVG.

Why SVG from the server and not a JavaScript chart library: the page is server-rendered already and
every chart is a handful of bars or a line — a few dozen shapes we can draw in Python with no
dependency, no build step and no CDN; the picture is there without JavaScript, prints as it shows,
scales with its viewBox to a 360 px phone without sideways scrolling, and is one `role="img"` with a
title and the chart's text alternative, while the numbers themselves stay in a real table (and the
CSV) for keyboards and screen readers.

Kinds (see `base.Chart`): "bar", "hbar" (label and value: the first two columns; further columns
are for the table and the CSV only), "line" (first column the x label, each further column a series),
"stacked" (a horizontal bar per row, a segment per further column), "funnel" (label, value, in
order), and "table" (no picture: the rows are the content, shown as a table).
"""

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 320
FONT = 12
INK = "#1c2430"
MUTED = "#5d6b7e"
GRID = "#dde1e7"
# Each 3:1 or more against white (WCAG 1.4.11), told apart from its neighbours by more than hue:
# stacked segments are separated by a white gap, the second line series is dashed.
PALETTE = ["#2454d6", "#1d7a46", "#b5470b", "#6b3fa0", "#5d6b7e", "#0e7490"]


def listed(rows: list[list[Any]], unit: str) -> str:
    """A text alternative listing every row: "Label: 3 sessions; Other: 1 sessions."."""
    if not rows:
        return "Nothing in this period."
    return "; ".join(f"{row[0]}: {format_value(row[1], unit)}" for row in rows) + "."


def format_value(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit == "$":
        return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return {"%": f"{text}%", "seconds": f"{text} s"}.get(unit, text)


def cells(chart) -> list[list[str]]:
    """The rows as the table shows them: the unit on the charted values, plain numbers elsewhere."""
    charted = {"bar": 1, "hbar": 1, "funnel": 1}.get(chart.kind, len(chart.columns) - 1)
    if chart.kind == "line" and len(chart.columns) > 3:
        charted = 2
    if chart.kind == "table":
        charted = 0
    return [[format_value(v, chart.unit if 1 <= i <= charted else "") for i, v in enumerate(row)] for row in chart.rows]


def _num(value: Any) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _clip(text: Any, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _text(x: float, y: float, content: str, *, anchor: str = "start", fill: str = INK, weight: str = "") -> str:
    bold = ' font-weight="600"' if weight else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{bold}>{escape(content)}</text>'


def colours(chart) -> list[tuple[str, str]]:
    """(series name, colour) for a legend: the series of a line or stacked chart."""
    if chart.kind not in ("line", "stacked"):
        return []
    names = chart.columns[1:3] if chart.kind == "line" and len(chart.columns) > 3 else chart.columns[1:]
    return [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]


def _bar(chart) -> tuple[int, list[str]]:
    rows = chart.rows
    top, plot, label_h = 20, 120, 34
    left, right = 6, WIDTH - 6
    slot = (right - left) / len(rows)
    bar_w = min(56.0, slot * 0.62)
    peak = max(_num(r[1]) for r in rows) or 1.0
    chars = max(6, int(slot / 6.4))
    parts = [f'<line x1="{left}" y1="{top + plot}" x2="{right}" y2="{top + plot}" stroke="{MUTED}"/>']
    for i, row in enumerate(rows):
        cx = left + slot * (i + 0.5)
        h = plot * _num(row[1]) / peak
        y = top + plot - h
        parts.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[0]}"/>'
        )
        parts.append(_text(cx, y - 4, format_value(row[1], chart.unit), anchor="middle", weight="bold"))
        words, lines = str(row[0]).split(), [""]
        for word in words:
            candidate = f"{lines[-1]} {word}".strip()
            if len(candidate) > chars and lines[-1] and len(lines) < 2:
                lines.append(word)
            else:
                lines[-1] = candidate
        for n, line in enumerate(lines[:2]):
            parts.append(_text(cx, top + plot + 15 + n * 14, _clip(line, chars), anchor="middle", fill=MUTED))
    return top + plot + label_h, parts


def _hbar_rows(chart, segments) -> tuple[int, list[str]]:
    """Horizontal bars, a label line above each; `segments(row)` gives [(value, colour)]."""
    row_h, bar_h, left = 36, 13, 2
    totals = [sum(v for v, _c in segments(r)) for r in chart.rows]
    peak = max(totals) or 1.0
    span = WIDTH - left - 76  # room for the total after the longest bar
    parts = []
    for i, row in enumerate(chart.rows):
        y = 6 + i * row_h
        parts.append(_text(left, y + 12, _clip(row[0], 46)))
        x = left
        for value, colour in segments(row):
            w = span * value / peak
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 17}" width="{max(w - 1, 1):.1f}" height="{bar_h}" fill="{colour}"/>'
                )
            x += w
        total = totals[i] if chart.kind == "stacked" else row[1]
        parts.append(_text(x + 4, y + 28, format_value(total, chart.unit), weight="bold"))
    return 6 + len(chart.rows) * row_h, parts


def _hbar(chart):
    return _hbar_rows(chart, lambda row: [(_num(row[1]), PALETTE[0])])


def _stacked(chart):
    return _hbar_rows(
        chart, lambda row: [(_num(v), PALETTE[i % len(PALETTE)]) for i, v in enumerate(row[1 : len(chart.columns)])]
    )


def _funnel(chart) -> tuple[int, list[str]]:
    row_h, bar_h = 38, 14
    first = _num(chart.rows[0][1]) or 1.0
    parts = []
    for i, row in enumerate(chart.rows):
        y = 6 + i * row_h
        value = _num(row[1])
        share = f" ({round(100 * value / first)}%)" if i else ""
        parts.append(_text(WIDTH / 2, y + 12, f"{_clip(row[0], 34)}: {format_value(row[1], chart.unit)}{share}",
                           anchor="middle"))  # fmt: skip
        w = max((WIDTH - 8) * value / first, 1.0)
        parts.append(
            f'<rect x="{(WIDTH - w) / 2:.1f}" y="{y + 17}" width="{w:.1f}" height="{bar_h}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
    return 6 + len(chart.rows) * row_h, parts


def _line(chart) -> tuple[int, list[str]]:
    top, plot, bottom, left, right = 10, 120, 22, 38, WIDTH - 10
    series = list(range(1, len(chart.columns)))
    if chart.kind == "line" and len(chart.columns) > 3:
        series = series[:2]  # further columns (counts behind the points) are for the table only
    values = [_num(r[s]) for r in chart.rows for s in series]
    peak = max(values) or 1.0
    n = len(chart.rows)
    step = (right - left) / (n - 1) if n > 1 else 0

    def xy(i: int, value: float) -> tuple[float, float]:
        x = left + (step * i if n > 1 else (right - left) / 2)
        return x, top + plot - plot * value / peak

    parts = []
    for frac in (0, 0.5, 1):
        y = top + plot - plot * frac
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 4, y + 4, format_value(round(peak * frac, 1), ""), anchor="end", fill=MUTED))
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = [xy(i, _num(r[s])) for i, r in enumerate(chart.rows)]
        dash = ' stroke-dasharray="5 3"' if k else ""
        if len(points) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
    shown = sorted({0, n // 2, n - 1}) if n > 2 else list(range(n))
    for i in shown:
        x, _y = xy(i, 0)
        anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
        parts.append(_text(x, top + plot + 16, str(chart.rows[i][0]), anchor=anchor, fill=MUTED))
    return top + plot + bottom, parts


DRAW = {"bar": _bar, "hbar": _hbar, "stacked": _stacked, "funnel": _funnel, "line": _line}


def svg(chart, *, id_prefix: str) -> SafeString:
    """The chart as an inline SVG image named by its title and described by its text alternative;
    empty for a chart with no rows or no picture (kind "table")."""
    draw = DRAW.get(chart.kind)
    if not chart.rows or draw is None:
        return mark_safe("")  # noqa: S308  (nothing to mark)
    height, parts = draw(chart)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    return mark_safe(  # noqa: S308  (every text inside went through escape())
        f'<svg class="chart-svg chart-{escape(chart.kind)}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-size="{FONT}" font-family="inherit" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{title_id}">{escape(chart.title)}</title><desc id="{desc_id}">{escape(chart.alt)}</desc>'
        + "".join(parts)
        + "</svg>"
    )
