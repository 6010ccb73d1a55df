"""A table as ``output.print_table`` draws it with rich when stdout is piped, without rich.

Importing and drawing with rich costs more than `ouhub status`'s whole work (bench/startup.py);
piped output has no colour, so what rich prints there is text that this module lays out the
same way, byte for byte: rich 15's ``Table`` with its defaults (the ``HEAVY_HEAD`` box, one
space of padding each side, a left-justified title), each column folding its cells, at the
console's width. ``render`` returns None for what it does not lay out itself (a character
rich measures by its Unicode tables, a tab or a line break in a cell, columns squeezed to
almost nothing), and ``print_table`` leaves those to rich, with a stdout that is not UTF-8
(rich draws ASCII boxes there). tests/test_plaintable.py compares the two on the tables
ouhub prints and on generated ones.

Pure: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Characters rich counts one cell wide without its Unicode tables (rich.cells'
# _SINGLE_CELL_UNICODE_RANGES), less every space but " ": their width is their length.
_SIMPLE = re.compile("[\x20-\x7e\xa1-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]*")
_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap's words: a word and the spaces after it
_PADDING = 2  # one space each side of a cell
_NARROWEST = 3  # a cell of one character between its padding


def render(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None,
           width: int) -> str | None:
    """The table's lines as rich prints them on a console ``width`` wide with no colour, or None
    when rich must draw it (see the module doc)."""
    texts = [*columns, *(cell for row in rows for cell in row)]
    if title:
        texts.append(title)
    if any(len(row) != len(columns) for row in rows) or not columns or \
            not all(_SIMPLE.fullmatch(text) for text in texts):
        return None
    grid = [list(columns), *(list(row) for row in rows)]
    widths = _column_widths(grid, width - len(columns) - 1)  # less the borders
    if widths is None:
        return None
    lines = [title] if title else []
    lines.append("┏" + "┳".join("━" * w for w in widths) + "┓")
    for index, row in enumerate(grid):
        cells = [_wrap(text, w - _PADDING) for text, w in zip(row, widths, strict=True)]
        height = max(len(cell) for cell in cells)
        header = index == 0
        for line in range(height):
            parts = []
            for cell, w in zip(cells, widths, strict=True):
                # the header row sits on its bottom line, the others on their top one
                at = line - (height - len(cell)) if header else line
                parts.append(" " + cell[at] + " " if 0 <= at < len(cell) else " " * w)
            bar = "┃" if header else "│"
            lines.append(bar + bar.join(parts) + bar)
        if header:
            lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return "\n".join(lines) + "\n"


def _column_widths(grid: list[list[str]], room: int) -> list[int] | None:
    """Each column's width with its padding (rich's Table._calculate_column_widths, no column
    fixed, nothing expanded), or None when a column would be too narrow to lay out here."""
    if room < 1:
        return None
    widths = []
    for column in zip(*grid, strict=True):
        widest = max(len(text) for text in column) + _PADDING
        widths.append(min(widest, room))
    if sum(widths) > room:
        widths = _collapse(widths, room)
    if sum(widths) > room or min(widths) < _NARROWEST:
        return None  # (the collapse fits when every column wraps; rich's last resort is its own)
    return widths


def _collapse(widths: list[int], room: int) -> list[int]:
    """rich's Table._collapse_widths, every column wrapable: the widest shrink first."""
    total = sum(widths)
    excess = total - room
    while total and excess > 0:
        widest = max(widths)
        second = max((w for w in widths if w != widest), default=0)
        ratios = [1 if w == widest else 0 for w in widths]
        if not widest - second:
            break
        widths = _reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        total = sum(widths)
        excess = total - room
    return widths


def _reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich._ratio.ratio_reduce: take ``total`` from ``values`` in proportion to ``ratios``."""
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for ratio, most, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(most, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _wrap(text: str, width: int) -> list[str]:
    """A cell's lines, each ``width`` long: rich's Text.wrap, justify left, overflow fold
    (where rich._wrap.divide_line breaks the text)."""
    breaks = []
    offset = 0
    for found in _WORD.finditer(text):
        start, word = found.start(), found.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            chunks = [word[i:i + width] for i in range(0, len(word), width)]
            for chunk in chunks[:-1]:  # folded: each chunk a line, the last one continued
                if start:
                    breaks.append(start)
                start += len(chunk)
            if start:
                breaks.append(start)
            offset = len(chunks[-1])
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    # rich then drops a line's trailing spaces past the width, and crops it to the width: the
    # crop alone does both
    return [text[begin:end][:width].ljust(width)
            for begin, end in zip([0, *breaks], [*breaks, len(text)], strict=True)]
