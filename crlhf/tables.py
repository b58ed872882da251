"""Plain aligned text tables for command-line output (no dependency, pipe-friendly)."""

from __future__ import annotations

from collections.abc import Sequence

Cell = str | int | float | bool | None


def format_cell(value: Cell, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _is_number(value: Cell) -> bool:
    """Numbers (and gaps in a numeric column) align right; booleans are words."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    text = [[format_cell(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in text]
    return "\n".join(out) + "\n"
