"""Small inline-SVG charts for the side panel of map pages (no chart library to load).

Each function returns escaped SVG markup for :func:`geo_app.maps.base.add_panel`:
``bar_chart`` (labelled horizontal bars, optional target line: e.g. green share vs 30 %),
``histogram`` (e.g. response-time distribution with the target marked) and
``heat_grid`` (e.g. hour of day x weekday counts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

from geo_app.maps.base import format_number

BAR_COLOUR = "#2b8cbe"
TARGET_COLOUR = "#d7301f"
TEXT = 'font-size="11" fill="#1d2a33"'
WEEKDAYS_ID = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")


def _svg(width: int, height: int, body: str, title: str) -> Markup:
    return Markup(
        f'<svg class="geo-chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str = "",
    digits: int = 0,
    target: float | None = None,
    target_label: str = "target",
    colours: Sequence[str] | None = None,
    width: int = 360,
) -> Markup:
    """Horizontal bars, one per label, value written at the bar's end; ``target`` draws a vertical line."""
    row, label_width, value_width, top = 18, 110, 64, 6
    plot_width = width - label_width - value_width
    scale_max = max([*values, target or 0, 1e-9])
    height = top + row * len(labels) + (18 if target is not None else 6)
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        bar = plot_width * max(value, 0) / scale_max
        colour = colours[i] if colours else BAR_COLOUR
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end" {TEXT}>{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{bar:.1f}" height="{row - 5}" '
            f'fill="{escape(colour)}">'
            f"<title>{escape(label)}: {format_number(value, digits)} {escape(unit)}</title></rect>"
            f'<text x="{label_width + bar + 4:.1f}" y="{y + 12}" {TEXT}>'
            f"{format_number(value, digits)}{(' ' + escape(unit)) if unit else ''}</text>"
        )
    if target is not None:
        x = label_width + plot_width * target / scale_max
        bottom = top + row * len(labels)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{TARGET_COLOUR}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{x:.1f}" y="{bottom + 12}" text-anchor="middle" font-size="10" fill="{TARGET_COLOUR}">'
            f"{escape(target_label)} {format_number(target, digits)}{escape(unit)}</text>"
        )
    return _svg(width, height, "".join(parts), title)


def histogram(
    values: Sequence[float],
    bins: Sequence[float],
    *,
    title: str,
    unit: str = "",
    target: float | None = None,
    target_label: str = "target",
    width: int = 360,
    height: int = 150,
) -> Markup:
    """Counts of ``values`` in ``bins`` (edges) as columns; ``target`` marks a value on the x axis."""
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=np.asarray(bins, dtype=float))
    peak = max(int(counts.max()) if counts.size else 0, 1)
    peak_label = format_number(peak)
    # the y axis carries the peak count, right-aligned before it: room for it at 6.5 px a character
    left, bottom, top = max(34, 8 + round(6.5 * len(peak_label))), 28, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    x_of = lambda v: left + plot_w * (v - edges[0]) / (edges[-1] - edges[0])  # noqa: E731
    parts = [
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10" fill="#4a5a66">'
        f"{peak_label}</text>",
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#8a99a3"/>',
    ]
    for count, low, high in zip(counts, edges[:-1], edges[1:], strict=True):
        h = plot_h * count / peak
        parts.append(
            f'<rect x="{x_of(low) + 0.5:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{x_of(high) - x_of(low) - 1:.1f}" '
            f'height="{h:.1f}" fill="{BAR_COLOUR}"><title>{format_number(low, 1)}–{format_number(high, 1)} '
            f"{escape(unit)}: {format_number(int(count))}</title></rect>"
        )
    for edge in (edges[0], edges[len(edges) // 2], edges[-1]):
        parts.append(
            f'<text x="{x_of(edge):.1f}" y="{top + plot_h + 12}" text-anchor="middle" font-size="10" '
            f'fill="#4a5a66">{format_number(edge, 0)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 3}" text-anchor="middle" font-size="10" '
        f'fill="#4a5a66">{escape(unit)}</text>'
    )
    if target is not None and edges[0] <= target <= edges[-1]:
        x = x_of(target)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{TARGET_COLOUR}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top + 10}" font-size="10" '
            f'fill="{TARGET_COLOUR}">{escape(target_label)}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def heat_grid(
    matrix: Sequence[Sequence[float]],
    *,
    title: str,
    row_labels: Sequence[str] = WEEKDAYS_ID,
    column_labels: Sequence[str] | None = None,
    colour: str = "#bd0026",
    width: int = 360,
) -> Markup:
    """A grid of cells shaded by value (default: 7 weekdays x 24 hours); cell titles give the counts."""
    data = np.asarray(matrix, dtype=float)
    rows, columns = data.shape
    column_labels = column_labels or [str(c) for c in range(columns)]
    left, top = 30, 14
    cell = (width - left - 4) / columns
    height = int(top + rows * cell + 4)
    peak = data.max() if data.size and data.max() > 0 else 1.0
    parts = []
    for c, label in enumerate(column_labels):
        if columns <= 12 or c % 3 == 0:
            parts.append(
                f'<text x="{left + (c + 0.5) * cell:.1f}" y="{top - 4}" text-anchor="middle" font-size="9" '
                f'fill="#4a5a66">{escape(label)}</text>'
            )
    for r in range(rows):
        parts.append(
            f'<text x="{left - 4}" y="{top + (r + 0.7) * cell:.1f}" text-anchor="end" font-size="10" '
            f'fill="#4a5a66">{escape(row_labels[r])}</text>'
        )
        for c in range(columns):
            value = data[r, c]
            parts.append(
                f'<rect x="{left + c * cell:.1f}" y="{top + r * cell:.1f}" width="{cell - 1:.1f}" '
                f'height="{cell - 1:.1f}" fill="{escape(colour)}" '
                f'fill-opacity="{0.06 + 0.94 * value / peak:.3f}"><title>{escape(row_labels[r])} '
                f"{escape(column_labels[c])}: {format_number(value)}</title></rect>"
            )
    return _svg(width, height, "".join(parts), title)
