"""Sparklines for the index cards: a metric's last months as a tiny inline SVG line.

Inline SVG keeps the index one self-contained file (no script, no image request) and stays
sharp at any zoom. The SVG is built from numbers only — no text from the data goes in — so
it is safe to put on the page as markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

LINE = "#0072B2"  # the kit's first palette colour
LAST = "#333333"


def sparkline_svg(values: Sequence[float], *, width: int = 120, height: int = 30,
                  pad: float = 3.0) -> str:
    """Draw ``values`` (oldest first) as a polyline scaled to fill the box; "" for fewer than 2.

    Missing values break nothing: they are left out and the line joins the points around
    them. A flat series is drawn through the middle. The last point gets a dot.

    Examples
    --------
    >>> svg = sparkline_svg([1.0, 3.0, 2.0], width=100, height=20, pad=0)
    >>> 'points="0.0,20.0 50.0,0.0 100.0,10.0"' in svg, svg.startswith("<svg")
    (True, True)
    >>> sparkline_svg([5.0])
    ''
    """
    points = [(i, float(v)) for i, v in enumerate(values)
              if v is not None and not math.isnan(float(v)) and math.isfinite(float(v))]
    if len(points) < 2:
        return ""
    last = len(values) - 1
    low, high = min(v for _, v in points), max(v for _, v in points)
    span_x = (width - 2 * pad) / last if last else 0.0
    span_y = height - 2 * pad

    def xy(i: int, v: float) -> tuple[float, float]:
        y = 0.5 if high == low else (v - low) / (high - low)
        return round(pad + i * span_x, 1), round(pad + (1 - y) * span_y, 1)

    coords = [xy(i, v) for i, v in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    end_x, end_y = coords[-1]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="trend over the last {len(values)} months">'
            f'<polyline fill="none" stroke="{LINE}" stroke-width="1.5" '
            f'stroke-linejoin="round" points="{line}"/>'
            f'<circle cx="{end_x}" cy="{end_y}" r="2.2" fill="{LAST}"/></svg>')
