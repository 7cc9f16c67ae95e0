"""Inline SVG charts of the report: severity over time (stacked bars) and coverage (a donut). No scripts, no
external references; every text is escaped."""

from __future__ import annotations

import math
from html import escape

from qscan.results.model import SEVERITY_LABELS

SEVERITY_COLORS = {
    "critical": "#7f0000",
    "high": "#d32f2f",
    "medium": "#f57c00",
    "low": "#fbc02d",
    "info": "#90a4ae",
}
COVERAGE_COLORS = {"fresh": "#2e7d32", "stale": "#f9a825", "never-scanned": "#c62828"}
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 40
MAX_BAR = 48.0  # a few days do not make wall-wide bars
HALF_LABEL = 32  # about half the width of a YYYY-MM-DD label at 11 px: nearer the right edge, it ends there


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def severity_chart(days: list[tuple[str, dict[str, int]]]) -> str:
    """Stacked bars: one per day, one segment per severity (critical at the bottom)."""
    if not days:
        return '<p class="empty">No complete scans yet.</p>'
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max(1, *(sum(counts.values()) for _, counts in days))
    step = plot_w / len(days)
    bar = min(MAX_BAR, max(1.0, step * 0.8))
    parts = [
        f'<svg class="chart" role="img" aria-label="Findings by severity per day" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#555"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#555"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, math.ceil(len(days) / 8))
    for index, (day, counts) in enumerate(days):
        x = LEFT + index * step + (step - bar) / 2
        y = float(TOP + plot_h)
        for label in SEVERITY_LABELS:
            value = counts.get(label, 0)
            if not value:
                continue
            height = value / peak * plot_h
            y -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{SEVERITY_COLORS[label]}"><title>{_e(day)}: {value} {label}</title></rect>'
            )
        last = index == len(days) - 1
        if last or (index % label_every == 0 and len(days) - 1 - index >= label_every / 2):
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="{"end" if x + bar / 2 + HALF_LABEL > WIDTH else "middle"}">{_e(day)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def coverage_donut(total: dict[str, int]) -> str:
    """A donut of the coverage statuses, the artifact count in the middle."""
    count = sum(total.values())
    size, radius, stroke = 180, 70, 28
    centre = size / 2
    parts = [
        f'<svg class="donut" role="img" aria-label="Coverage of running artifacts" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}">',
        f'<circle cx="{centre}" cy="{centre}" r="{radius}" fill="none" stroke="#e0e0e0" stroke-width="{stroke}"/>',
    ]
    circumference = 2 * math.pi * radius
    offset = 0.0
    for status, color in COVERAGE_COLORS.items():
        value = total.get(status, 0)
        if not count or not value:
            continue
        length = value / count * circumference
        parts.append(
            f'<circle cx="{centre}" cy="{centre}" r="{radius}" fill="none" stroke="{color}" '
            f'stroke-width="{stroke}" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
            f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {centre} {centre})">'
            f"<title>{_e(status)}: {value}</title></circle>"
        )
        offset += length
    parts.append(
        f'<text x="{centre}" y="{centre + 6}" text-anchor="middle" font-size="20">{count}</text></svg>'
    )
    return "".join(parts)
