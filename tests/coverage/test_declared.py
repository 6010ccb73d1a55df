"""Declared coverage tables (modulesXX-YY.rst): rows, statuses, markers, bad rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.coverage.declared import (
    Declaration,
    DeclaredTable,
    _cell_text,
    _docutils_table,
    _plain_grid,
    declared_file_step,
    normalise_status,
    parse_declared,
)

# excerpts of OCA/OpenUpgrade's doc/source/modules61-70.rst (two columns)
MODULES_61_70 = """Module coverage 6.1 -> 7.0
==========================

.. include:: coverage_legend.rst

+-----------------------------------+-----------------------------------+
|Module                             |Status                             |
+===================================+===================================+
|base                               | Done                              |
+-----------------------------------+-----------------------------------+
|account_accountant                 | Nothing to do                     |
+-----------------------------------+-----------------------------------+
|account_analytic_default           | No change                         |
+-----------------------------------+-----------------------------------+
|account_analytic_plans             |                                   |
+-----------------------------------+-----------------------------------+
|crm                                | work in progress                  |
+-----------------------------------+-----------------------------------+
"""

# excerpt of docsource/modules130-140.rst: markers, "Merged into" in the status column
MODULES_130_140 = """+--------------------------------------------+-------------------------------------------------+
|Module                                      |Status                                           |
+============================================+=================================================+
| |del| account_analytic_default             | Merged into account                             |
+--------------------------------------------+-------------------------------------------------+
| |del| account_bank_statement_import        | Adopted in OCA as account_statement_import      |
+--------------------------------------------+-------------------------------------------------+
| |new| account_fleet                        |                                                 |
+--------------------------------------------+-------------------------------------------------+
|bus                                         | Nothing to do                                   |
+--------------------------------------------+-------------------------------------------------+
"""

# excerpt of docsource/modules170-180.rst: three columns, a "+" inside the header row
MODULES_170_180 = """+---------------------------------------------------+----------------------+-------------------------------------------------+
| Module                                            | Status               + Extra Information                               |
+===================================================+======================+=================================================+
| account                                           | Done                 |                                                 |
+---------------------------------------------------+----------------------+-------------------------------------------------+
| |del| account_audit_trail                         | Done                 |Merged into account.                             |
+---------------------------------------------------+----------------------+-------------------------------------------------+
| account_edi                                       |Nothing to do         |No DB layout changes.                            |
+---------------------------------------------------+----------------------+-------------------------------------------------+
| |new|  account_peppol_response                    |                      |                                                 |
+---------------------------------------------------+----------------------+-------------------------------------------------+
"""

# modules70-80.rst keeps footnotes in the status column
MODULES_70_80 = """+-----------------------------------+-----------------------------------+
|Module                             |Status                             |
+===================================+===================================+
|document_page                      | Moved to OCA [#document_page]_    |
+-----------------------------------+-----------------------------------+
|base                               | Done [#base]_                     |
+-----------------------------------+-----------------------------------+

.. [#document_page] moved to OCA/knowledge
"""


def rows(table: DeclaredTable) -> list[tuple]:
    return [(e.module, e.status, e.is_new, e.is_del, e.kind, e.target) for e in table.entries]


def test_two_columns_61_70() -> None:
    table = parse_declared(MODULES_61_70, "doc/source/modules61-70.rst")
    assert [(e.module, e.status, e.status_raw) for e in table.entries] == [
        ("base", "done", "Done"),
        ("account_accountant", "nothing_to_do", "Nothing to do"),
        ("account_analytic_default", "nothing_to_do", "No change"),
        ("account_analytic_plans", None, ""),
        ("crm", "partial", "work in progress"),
    ]
    assert [e.line for e in table.entries] == [9, 11, 13, 15, 17]
    assert table.warnings == ()


def test_markers_and_merges_130_140() -> None:
    table = parse_declared(MODULES_130_140, "docsource/modules130-140.rst")
    assert rows(table) == [
        ("account_analytic_default", None, False, True, "merged", "account"),
        ("account_bank_statement_import", None, False, True, None, None),
        ("account_fleet", None, True, False, None, None),
        ("bus", "nothing_to_do", False, False, None, None),
    ]
    assert table.entries[1].status_raw == "Adopted in OCA as account_statement_import"
    assert table.warnings == ()


def test_three_columns_with_an_odd_separator_170_180() -> None:
    table = parse_declared(MODULES_170_180, "docsource/modules170-180.rst")
    assert rows(table) == [
        ("account", "done", False, False, None, None),
        ("account_audit_trail", "done", False, True, "merged", "account"),
        ("account_edi", "nothing_to_do", False, False, None, None),
        ("account_peppol_response", None, True, False, None, None),
    ]
    assert table.entries[2].extra == "No DB layout changes."
    assert table.warnings == ()


def test_footnotes_are_stripped_from_the_status() -> None:
    table = parse_declared(MODULES_70_80, "modules70-80.rst")
    page, base = table.entries
    assert (base.status, base.footnotes) == ("done", ("#base",))
    assert (page.status, page.status_raw, page.footnotes) == (
        None,
        "Moved to OCA [#document_page]_",
        ("#document_page",),
    )
    assert table.warnings == ()


def test_multi_line_cells_and_no_header_separator() -> None:
    text = """+----------+----------------+-------------------+
|Module    |Status          |Extra Information  |
+----------+----------------+-------------------+
|hr_x      |Done            |Renamed to         |
|          |                |hr_y, see notes    |
+----------+----------------+-------------------+
"""
    (entry,) = parse_declared(text, "t.rst").entries
    assert (entry.module, entry.status, entry.extra) == (
        "hr_x",
        "done",
        "Renamed to hr_y, see notes",
    )
    assert (entry.kind, entry.target, entry.line) == ("renamed", "hr_y", 4)


def test_ragged_table_is_read_row_by_row_with_warnings() -> None:
    text = """+--------------------+-----------------+
|Module              |Status           |
+====================+=================+
|base                | Done            |
+----------------+-----------------+
|crm       | WORK IN PROGRESS   |
+--------------------+-----------------+
| |new| sale_x          | Partial   |
+--------------------+-----------------+
|garbage row without pipes
+--------------------+-----------------+
|hr-y                | whatever        |
+--------------------+-----------------+
|stock               | Doen            |
+--------------------+-----------------+
"""
    table = parse_declared(text, "m.rst")
    assert [(e.module, e.status, e.is_new) for e in table.entries] == [
        ("base", "done", False),
        ("crm", "partial", False),
        ("sale_x", "partial", True),
        ("stock", None, False),
    ]
    assert table.warnings == (
        "m.rst:1: table is not a clean grid table (ragged lines or misplaced borders); "
        "read row by row",
        "m.rst:10: table row does not parse; skipped: |garbage row without pipes",
        "m.rst:12: 'hr-y' is not a module name; skipped",
        "m.rst:14: stock: unknown status 'Doen'",
    )


def test_words_after_the_module_name_go_with_the_extra_text() -> None:
    text = """+--------------------------------+--------+----------+
|website_x (renamed to website_y)|Done    |see notes |
+--------------------------------+--------+----------+
"""
    (entry,) = parse_declared(text, "t.rst").entries
    assert (entry.module, entry.extra) == ("website_x", "(renamed to website_y) see notes")
    assert (entry.kind, entry.target, entry.status) == ("renamed", "website_y", "done")


def test_misplaced_pipe_in_a_clean_table_splits_on_the_pipes() -> None:
    text = """+--------+------------+-----------+
|Module  |Status      |Extra      |
+========+============+===========+
|crm     | Done  |  moved to here |
+--------+------------+-----------+
"""
    (entry,) = parse_declared(text, "t.rst").entries
    assert (entry.status_raw, entry.extra) == ("Done", "moved to here")


def test_text_that_is_no_table() -> None:
    assert parse_declared("Just a title\n=====\n\n| a line block\n", "x.rst") == DeclaredTable(
        source="x.rst"
    )


def test_non_utf8_bytes_are_a_warning() -> None:
    data = b"+------+------+\n|base  |Done  |\n+------+------+\n" + b"\xff\n"
    table = parse_declared(data, "x.rst")
    assert [e.module for e in table.entries] == ["base"]
    assert "not UTF-8" in table.warnings[0]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Done", "done"),
        ("DONE", "done"),
        ("done [#base]_", "done"),
        ("Done (partially)", "partial"),
        ("Nothing to do", "nothing_to_do"),
        ("nothing to do", "nothing_to_do"),
        ("NOTHING TODO", "nothing_to_do"),
        ("No change", "nothing_to_do"),
        ("No changes", "nothing_to_do"),
        ("Partial", "partial"),
        ("partially", "partial"),
        ("work in progress", "partial"),
        ("Work In Progress", "partial"),
        ("", None),
        ("Merged into account", None),
        ("Moved to OCA [#document_page]_", None),
        ("Not done", None),
    ],
)
def test_status_words(text: str, status: str | None) -> None:
    assert normalise_status(text) == status


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("modules50-60.rst", ("5.0", "6.0")),
        ("modules60-61.rst", ("6.0", "6.1")),
        ("modules61-70.rst", ("6.1", "7.0")),
        ("modules70-80.rst", ("7.0", "8.0")),
        ("modules90-100.rst", ("9.0", "10.0")),
        ("modules130-140.rst", ("13.0", "14.0")),
        ("doc/source/modules170-180.rst", ("17.0", "18.0")),
        ("modules180-190.rst", ("18.0", "19.0")),
        ("modules.rst", None),
        ("modules170-180.txt", None),
        ("coverage_legend.rst", None),
    ],
)
def test_declared_file_step(name: str, step: tuple[str, str] | None) -> None:
    assert declared_file_step(name) == step


# -- property-based ----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    table = parse_declared(text, "r.rst")
    assert all(isinstance(e, Declaration) for e in table.entries)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert isinstance(parse_declared(data, "r.rst"), DeclaredTable)


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=6), st.booleans())
def test_random_cells_never_raise(cells: list[tuple[str, str, str]], ragged: bool) -> None:
    border = "+" + "-" * 14 + "+" + "-" * 14 + "+" + "-" * 14 + "+"
    lines = [border]
    for row in cells:
        width = 13 if ragged else 14
        lines.append("|" + "|".join(c.replace("\n", " ")[:width].ljust(width) for c in row) + "|")
        lines.append(border)
    table = parse_declared("\n".join(lines), "r.rst")
    assert len(table.entries) <= len(cells)
    assert all(e.status in (None, "done", "nothing_to_do", "partial") for e in table.entries)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.tuples(
                st.sampled_from("abcxyz"),
                st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", max_size=20),
            ).map("".join),
            st.sampled_from(["", "Done", "Nothing to do", "No change", "Partial", "done"]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_well_formed_tables_are_read_whole(pairs: list[tuple[str, str]]) -> None:
    border = "+" + "-" * 24 + "+" + "-" * 16 + "+"
    lines = [border, "|Module" + " " * 18 + "|Status" + " " * 10 + "|", border.replace("-", "=")]
    for module, status in pairs:
        lines += [f"|{module:<24}|{status:<16}|", border]
    table = parse_declared("\n".join(lines), "r.rst")
    assert [(e.module, e.status_raw) for e in table.entries] == pairs
    assert table.warnings == ()


ascii_cell = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10)


def _shape(parsed: tuple | None) -> tuple | None:
    if parsed is None:
        return None
    colspecs, head, body = parsed

    def rows(table: list) -> list:
        return [[(c[2], _cell_text(c[3])) for c in row if c is not None] for row in table]

    return colspecs, rows(head), rows(body)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(ascii_cell, ascii_cell), min_size=1, max_size=2), min_size=1, max_size=8
    ),
    st.booleans(),
    st.booleans(),
)
def test_plain_tables_are_cut_as_docutils_reads_them(
    rows: list[list[tuple[str, str]]], header: bool, odd_header: bool
) -> None:
    widths = (12, 10)
    border = "+" + "+".join("-" * w for w in widths) + "+"
    lines = [border]
    if header:
        sep = "+" if odd_header else "|"
        lines += ["|" + "Module".ljust(12) + sep + "Status".ljust(10) + "|"]
        lines += [border.replace("-", "=")]
    for row in rows:
        for module, status in row:
            lines.append("|" + module.ljust(12) + "|" + status.ljust(10) + "|")
        lines.append(border)
    plain = _plain_grid(lines)
    assert plain is not None
    by_docutils = _shape(_docutils_table(lines))
    if header and odd_header:  # docutils reads the odd header its own way; rows agree
        assert by_docutils is not None
        assert _shape(plain)[2] == by_docutils[2]
    else:
        assert _shape(plain) == by_docutils
