"""Plots as inline SVG, drawn on the server: line charts (with optional error bars) and bars.

Why not matplotlib: it sits in the ``bench`` extra, pulls in numpy-heavy wheels, fonts and a
backend, and renders PNGs that a strict Content-Security-Policy and a narrow window treat
worse than markup. The admin page needs three simple chart kinds; drawing them here keeps
``pip install 'crlhf[server]'`` light, needs no script, and scales with the page. Every text
that reaches the markup (series names, labels) is escaped; only SVG presentation attributes
are used (no ``style``), so the page's CSP can forbid inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 36, 12, 40
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")


@dataclass(frozen=True)
class Series:
    """One line: ``points`` are (x index, y); ``spans`` optional (low, high) per point."""

    name: str
    points: Sequence[tuple[int, float]]
    spans: Sequence[tuple[float, float]] | None = None


@dataclass(frozen=True)
class Axes:
    """A y range and the labels of the x positions 0..n-1 (at most ~12 are written)."""

    x_labels: Sequence[str]
    y_min: float = 0.0
    y_max: float = 1.0
    y_format: str = "{:.1f}"


def _x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner / 2 if n <= 1 else inner * i / (n - 1))


def _y(value: float, axes: Axes) -> float:
    span = axes.y_max - axes.y_min or 1.0
    share = (min(max(value, axes.y_min), axes.y_max) - axes.y_min) / span
    return TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - share)


def _frame(axes: Axes, title: str) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        value = axes.y_min + (axes.y_max - axes.y_min) * step / 4
        y = _y(value, axes)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb" stroke-width="1"/>'
        )
        label = escape(axes.y_format.format(value))
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#4b5563">{label}</text>'
        )
    n = len(axes.x_labels)
    every = max(1, -(-n // 12))  # ceil(n / 12): at most ~12 labels under the axis
    for i, text in enumerate(axes.x_labels):
        if i % every and i != n - 1:
            continue
        parts.append(
            f'<text x="{_x(i, n):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11" fill="#4b5563">{escape(text)}</text>'
        )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    x = float(WIDTH - RIGHT)
    for i, name in reversed(list(enumerate(names))):
        width = 14 + 6.5 * len(name)
        x -= width + 10
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - 16}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14:.1f}" y="{HEIGHT - 7}" font-size="11" fill="#111827">'
            f"{escape(name)}</text>"
        )
    return parts


def line_chart(title: str, series: Sequence[Series], axes: Axes) -> Markup:
    """Lines with a dot per point (and a vertical bar per point where ``spans`` is given)."""
    parts = _frame(axes, title)
    n = len(axes.x_labels)
    for i, line in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = [(_x(x, n), _y(y, axes)) for x, y in line.points]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for j, (x, y) in enumerate(coords):
            if line.spans is not None:
                low, high = line.spans[j]
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_y(low, axes):.1f}" '
                    f'y2="{_y(high, axes):.1f}" stroke="{color}" stroke-width="1.5"/>'
                )
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    parts += _legend([s.name for s in series])
    parts.append("</svg>")
    return Markup("".join(parts))  # every user text above went through escape()


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], axes: Axes) -> Markup:
    """One bar per label (a histogram when the labels are bins)."""
    parts = _frame(replace(axes, x_labels=()), title)
    n = len(labels)
    inner = WIDTH - LEFT - RIGHT
    width = inner / max(n, 1) * 0.8
    base = _y(axes.y_min, axes)
    every = max(1, -(-n // 10))
    for i, value in enumerate(values):
        center = LEFT + inner * (i + 0.5) / max(n, 1)
        top = _y(value, axes)
        if i % every == 0:
            parts.append(
                f'<text x="{center:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11" fill="#4b5563">{escape(labels[i])}</text>'
            )
        parts.append(
            f'<rect x="{center - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{max(base - top, 0.0):.1f}" fill="{PALETTE[0]}"><title>'
            f"{escape(labels[i])}: {escape(axes.y_format.format(value))}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every user text above went through escape()


def nice_max(value: float) -> float:
    """A round upper bound for a count axis whose four grid steps are whole numbers:
    4 times 1, 2, 3 or 5 times a power of ten (4, 8, 12, 20, 40, ..., 1200, 2000, ...)."""
    for power in range(16):
        for mantissa in (1, 2, 3, 5):
            step = mantissa * 10**power
            if 4 * step >= value:
                return float(4 * step)
    return float(value)
