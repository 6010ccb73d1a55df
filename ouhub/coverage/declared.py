"""Declared coverage: the ``modulesXX-YY.rst`` tables in OpenUpgrade's documentation.

They are reStructuredText grid tables with two columns (Module, Status) or three
(Module, Status, Extra Information). docutils' grid table parser reads each table;
when a table does not parse as a whole (a misaligned border, an odd separator), each
row is parsed on its own, and a row that still does not parse is a warning, never an
error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ouhub.vocab import DONE, NOTHING_TO_DO, PARTIAL

if TYPE_CHECKING:
    from docutils.statemachine import StringList

_BORDER = re.compile(r"^\+(?:[-=]+\+)+$")
_HEAD_BORDER = re.compile(r"^\+(?:=+\+)+$")
_STEP_FILE = re.compile(r"^modules(\d{2,3})-(\d{2,3})\.rst$")
_FOOTNOTE = re.compile(r"\s*\[(?:#[\w-]*|\d+|\*)\]_")
_MARKER = re.compile(r"\|(new|del)\|", re.IGNORECASE)
_MODULE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_TARGET = re.compile(
    r"\b(?P<kind>merged|renamed)\s+(?:in|into|to|with)\s+(?:the\s+)?(?:module\s+)?"
    r"[`'\"*]*(?P<target>[A-Za-z0-9_]+)",
    re.IGNORECASE,
)
_STATUS_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (NOTHING_TO_DO, re.compile(r"^(?:nothing\s*to\s*do|nothing\s*todo|no\s+changes?)\b")),
    (PARTIAL, re.compile(r"^(?:partial(?:ly)?|work\s+in\s+progress|wip|in\s+progress)\b")),
    (DONE, re.compile(r"^done\b")),
)
# status cells that carry information rather than a status; not worth a warning
_INFORMATIVE = re.compile(
    r"\b(?:merged|renamed|moved|adopted|removed|deleted|oca|replaced)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Declaration:
    """One row of a coverage table: what the contributors declared for a module."""

    module: str
    status: str | None  # done, nothing_to_do, partial, or None (empty or unknown)
    status_raw: str
    extra: str
    line: int
    is_new: bool = False
    is_del: bool = False
    footnotes: tuple[str, ...] = ()
    target: str | None = None  # the module named in "Merged into X" / "Renamed to X"
    kind: str | None = None  # "renamed" or "merged" when the text says so


@dataclass(frozen=True)
class DeclaredTable:
    """All declarations of one file, in file order, and the rows that could not be read."""

    source: str
    entries: tuple[Declaration, ...] = ()
    warnings: tuple[str, ...] = ()

    def by_module(self) -> dict[str, Declaration]:
        """Declarations keyed by module; a module declared twice keeps its last row."""
        return {entry.module: entry for entry in self.entries}


def declared_file_step(filename: str) -> tuple[str, str] | None:
    """``modules61-70.rst`` -> ``("6.1", "7.0")``; None for any other name."""
    match = _STEP_FILE.match(os.path.basename(filename))
    if match is None:
        return None
    return _release(match.group(1)), _release(match.group(2))


def _release(digits: str) -> str:
    return f"{int(digits[:-1])}.{digits[-1]}"


def normalise_status(text: str) -> str | None:
    """Map a status cell (any case, footnotes allowed) to done/nothing_to_do/partial/None."""
    cleaned = _FOOTNOTE.sub("", text).strip().strip("*`").strip().lower()
    for status, pattern in _STATUS_WORDS:
        if pattern.match(cleaned):
            if status == "done" and "partial" in cleaned:
                return "partial"
            return status
    return None


def parse_declared(text: str | bytes, source: str) -> DeclaredTable:
    """Read every grid table row of a coverage file; never raises on content."""
    warnings: list[str] = []
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            warnings.append(f"{source}: not UTF-8 ({exc}); undecodable bytes replaced")
            text = text.decode("utf-8", errors="replace")
    lines = text.expandtabs().splitlines()
    entries: list[Declaration] = []
    for start, block in _table_blocks(lines):
        for line, cells in _table_rows(block, start, source, warnings):
            declaration = _declaration(cells, line, source, warnings)
            if declaration is not None:
                entries.append(declaration)
    return DeclaredTable(source=source, entries=tuple(entries), warnings=tuple(warnings))


def _table_blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of lines that form a grid table: (index of the first line, the lines)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for index, raw in enumerate(lines):
        line = raw.strip()
        if current and line[:1] in ("+", "|"):
            current.append(line)
            continue
        if current:
            blocks.append((start, current))
            current = []
        if _BORDER.match(line):
            start, current = index, [line]
    if current:
        blocks.append((start, current))
    return blocks


def _table_rows(
    block: list[str], start: int, source: str, warnings: list[str]
) -> list[tuple[int, list[str]]]:
    """Body rows as (1-based line number, cell texts); the header row is left out."""
    # a table ending without a border line: close it so that docutils can read it
    while block and not _BORDER.match(block[-1]):
        warnings.append(f"{source}:{start + len(block)}: table line outside a row; ignored")
        block = block[:-1]
    if len(block) < 2:
        return []
    parsed = _plain_grid(block) or _docutils_table(block)
    if parsed is None:
        warnings.append(
            f"{source}:{start + 1}: table is not a clean grid table (ragged lines or "
            "misplaced borders); read row by row"
        )
        return _rows_one_by_one(block, start, source, warnings)
    colspecs, headrows, bodyrows = parsed
    borders = [i for i, line in enumerate(block) if _BORDER.match(line)]
    rows = []
    for row in bodyrows:
        cells = [cell for cell in row if cell is not None]
        if not cells:
            continue
        offset = cells[0][2]
        texts = [_cell_text(cell[3]) for cell in cells]
        if len(texts) < len(colspecs):
            # a cell spanning columns is most often a misplaced "|": split on the signs
            bottom = next((b for b in borders if b > offset), len(block))
            split = _split_cells(block[offset:bottom], len(colspecs))
            if split is not None:
                texts = split
        rows.append((start + offset + 1, texts))
    if not headrows and rows and _is_header(rows[0][1]):
        rows = rows[1:]
    return rows


def _plain_grid(lines: list[str]) -> tuple[list, list, list] | None:
    """The plainest grid tables (ASCII, no spans) cut by column, as docutils would read them.

    docutils' grid parser walks every cell character by character; a coverage table
    has a thousand rows, so the regular ones (nearly all) are cut here, in docutils'
    own output shape, and anything irregular goes to docutils.
    """
    top = lines[0]
    if not top.isascii() or not _BORDER.match(top):
        return None
    width = len(top)
    edges = [i for i, char in enumerate(top) if char == "+"]
    dashes = top.replace("=", "-")
    equals = dashes.replace("-", "=")
    head_end: int | None = None
    rows: list[tuple[int, list[str]]] = []  # (offset of the row's first line, its lines)
    row_start: int | None = None
    odd_rows: set[int] = set()
    for index, line in enumerate(lines[1:], start=1):
        if len(line) != width or not line.isascii():
            return None
        if line in (dashes, equals):
            if row_start is None:
                return None  # two borders in a row
            rows.append((row_start, lines[row_start:index]))
            row_start = None
            if line == equals:
                if head_end is not None or len(rows) != 1:
                    return None
                head_end = len(rows)
            continue
        if line[0] != "|" or line[-1] != "|":
            return None
        if any(line[edge] != "|" for edge in edges):
            # a span or a misplaced sign: docutils knows best, except for the header
            # row, which is dropped anyway (17.0's "| Status + Extra Information |")
            if any(line[edge] not in "|+" for edge in edges):
                return None
            odd_rows.add(len(rows))
        if row_start is None:
            row_start = index
    if row_start is not None or odd_rows - {0} or (odd_rows and head_end != 1):
        return None
    colspecs = [right - left - 1 for left, right in zip(edges, edges[1:], strict=False)]
    table = [
        [
            (0, 0, offset, [line[left + 1 : right] for line in row])
            for left, right in zip(edges, edges[1:], strict=False)
        ]
        for offset, row in rows
    ]
    head = head_end or 0
    if len(table) <= head:
        return None  # no body: leave the odd cases to docutils
    return colspecs, table[:head], table[head:]


def _docutils_table(lines: list[str]) -> tuple[list, list, list] | None:
    """docutils' own reading of a grid table, or None when it is not a clean one."""
    if len({len(line) for line in lines}) != 1:
        return None  # ragged lines: docutils' directive refuses them too
    # docutils (~25 ms to import) only when a tree has a table: most trees have none
    from docutils.parsers.rst.tableparser import GridTableParser, TableMarkupError
    from docutils.statemachine import StringList

    try:
        return GridTableParser().parse(StringList(lines))
    except (TableMarkupError, IndexError):
        return None


def _cell_text(lines: StringList | list[str]) -> str:
    return " ".join(s.strip() for s in lines if s.strip())


def _split_cells(content: list[str], columns: int) -> list[str] | None:
    """Cell texts of a row's lines split on their ``|`` signs (markers kept), or None."""
    split = []
    for line in content:
        protected = _MARKER.sub(lambda m: f"\x00{m.group(1)}\x00", line.strip())
        parts = protected.strip("|").split("|")
        if len(parts) != columns:
            return None
        split.append([p.replace("\x00", "|") for p in parts])
    return [_cell_text([p[i] for p in split]) for i in range(columns)]


def _rows_one_by_one(
    block: list[str], start: int, source: str, warnings: list[str]
) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    borders = [i for i, line in enumerate(block) if _BORDER.match(line)]
    for top, bottom in zip(borders, borders[1:], strict=False):
        if bottom == top + 1:
            continue
        if _HEAD_BORDER.match(block[bottom]):
            continue  # the row above a ==== border is the header
        content = block[top + 1 : bottom]
        line = start + top + 2
        cells = _parse_row(block[top], content, block[bottom])
        if cells is None:
            warnings.append(
                f"{source}:{line}: table row does not parse; skipped: {content[0][:80]}"
            )
            continue
        if not rows and top == 0 and _is_header(cells):
            continue
        rows.append((line, cells))
    return rows


def _parse_row(top: str, content: list[str], bottom: str) -> list[str] | None:
    """One row: through docutils when its borders agree, else split on the ``|`` signs."""
    parsed = _docutils_table([top, *content, bottom])
    if parsed is not None and len(parsed[2]) == 1:
        return [_cell_text(cell[3]) for cell in parsed[2][0] if cell is not None]
    return _split_cells(content, top.count("+") - 1)


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and cells[0].strip().lower() == "module"


def _declaration(
    cells: list[str], line: int, source: str, warnings: list[str]
) -> Declaration | None:
    module_cell = cells[0] if cells else ""
    status_raw = cells[1].strip() if len(cells) > 1 else ""
    extra = " ".join(c.strip() for c in cells[2:] if c.strip())

    markers = {m.lower() for m in _MARKER.findall(module_cell)}
    module_text = _FOOTNOTE.sub("", _MARKER.sub(" ", module_cell)).strip().strip("*`").strip()
    if not module_text:
        if status_raw or extra:
            warnings.append(f"{source}:{line}: row without a module name; skipped")
        return None
    module, _, rest = module_text.partition(" ")
    if not _MODULE_NAME.match(module):
        warnings.append(f"{source}:{line}: {module_text!r} is not a module name; skipped")
        return None
    if rest.strip():  # e.g. "website_x (moved to OCA)": the words go with the extra text
        extra = f"{rest.strip()} {extra}".strip()

    footnotes = tuple(note.strip()[1:-2] for note in _FOOTNOTE.findall(f"{status_raw} {extra}"))
    status = normalise_status(status_raw)
    kind = target = None
    found = _TARGET.search(f"{status_raw} {extra}")
    if found:
        kind, target = found.group("kind").lower(), found.group("target")
    if status is None and status_raw and kind is None and not _INFORMATIVE.search(status_raw):
        warnings.append(f"{source}:{line}: {module}: unknown status {status_raw!r}")
    return Declaration(
        module=module,
        status=status,
        status_raw=status_raw,
        extra=extra,
        line=line,
        is_new="new" in markers,
        is_del="del" in markers,
        footnotes=footnotes,
        target=target,
        kind=kind,
    )
