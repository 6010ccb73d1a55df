"""Piped tables are laid out without rich, byte for byte as rich prints them (ouhub/plaintable.py)."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ouhub import output, plaintable
from tests.support.config import write_config
from tests.support.fill import record_coverage


def drawn_by_rich(columns, rows, title, width: int) -> str:
    """What `output.print_table` printed through rich on a stdout piped at ``width``."""
    console = Console(file=io.StringIO(), soft_wrap=True, width=width, highlight=False,
                      markup=False, emoji=False, force_terminal=False)
    console.print(output.rich_table(columns, rows, title))
    return console.file.getvalue()


COVERAGE = "done 1853, merged 13, new 98, nothing_to_do 222, partial 109, removed 14, todo 78"
TABLES = {
    "status": (("release", "previous", "branches", "last scan", "coverage", "last run"),
               [("8.0", "7.0", "openupgrade r42", "2026-01-01T00:00:00+00:00", COVERAGE,
                 "#1 sample failed"),
                ("7.0", "-", "openupgrade (not synced) FAILED", "never", "", "never")],
               "releases (/srv/ouhub/ouhub.toml)"),
    "a header wider than its cells": (("module", "a long header"), [("x", "y")], None),
    "no rows": (("stage", "last finished"), [], "stages"),
    "a title wider than the table": (("a",), [("b",)], "a title much wider than the table"),
    "words longer than their column": (
        ("url", "note"), [("https://github.com/OCA/OpenUpgrade.git,branch=17.0" * 3, "x " * 90)],
        None),
    "spaces around and between words": (
        ("a", "b", "c"), [("  lead", "trail   ", "   "), ("in   between  words", "", " x ")], None),
    "letters beyond ASCII that rich counts one cell": (
        ("author", "summary"), [("José Müller-Łukasiewicz", "Ωμέγα ß ø ┃ " * 12)], "ü"),
}


@pytest.mark.parametrize("width", [160, 100, 70, 40, 24])
@pytest.mark.parametrize("name", TABLES)
def test_tables_ouhub_prints_look_as_rich_draws_them(name: str, width: int) -> None:
    columns, rows, title = TABLES[name]
    laid_out = plaintable.render(columns, rows, title, width)
    if laid_out is None:  # columns squeezed under three characters: rich's to draw
        assert width < 40, name
        return
    assert laid_out == drawn_by_rich(columns, rows, title, width)


def test_generated_tables_look_as_rich_draws_them() -> None:
    draw = random.Random(18)
    words = ["a", "ok", "done", "nothing_to_do", "sale_stock_incoterm", "x" * 37, "é", "",
             "2026-01-01T00:00:00+00:00", "https://example.org/" + "p" * 70]
    laid_out = folded = 0
    for _ in range(400):
        columns = [draw.choice(words) or "h" for _ in range(draw.randint(1, 6))]
        rows = [[draw.choice([" ", "  ", " , "]).join(draw.choices(words, k=draw.randint(0, 9)))
                 for _ in columns] for _ in range(draw.randint(0, 4))]
        title = draw.choice([None, "", "t", "a title of some length " * draw.randint(1, 9)])
        width = draw.choice([12, 30, 55, 80, 120, 160, 250])
        text = plaintable.render(columns, rows, title, width)
        if text is None:
            continue
        assert text == drawn_by_rich(columns, rows, title, width), (columns, rows, title, width)
        laid_out += 1
        folded += sum(line.startswith("│") for line in text.splitlines()) > len(rows)
    # the comparison means something: most tables laid out here, many with folded cells
    assert laid_out > 300 and folded > 100, (laid_out, folded)


@pytest.mark.parametrize("cell", [
    "tab\tstop", "two\nlines", "wide 中文", "no\u00a0break space", "e\u0301 combining",
    "emoji \U0001f600", "soft\u00adhyphen",
])
def test_what_rich_measures_by_its_unicode_tables_is_left_to_rich(cell: str) -> None:
    assert plaintable.render(("what",), [(cell,)], None, 160) is None
    assert plaintable.render((cell,), [], None, 160) is None
    assert plaintable.render(("what",), [], cell, 160) is None


def test_a_row_of_another_length_is_left_to_rich() -> None:
    assert plaintable.render(("a", "b"), [("x",)], None, 160) is None


@pytest.fixture
def wide_store(tmp_path: Path) -> Path:
    config = write_config(tmp_path, {"7.0": {"openupgrade": "/srv/70"},
                                     "8.0": {"openupgrade": "/srv/80"}})
    from ouhub import config as config_mod
    from ouhub.store import Store

    modules = {f"module_{i:03}": {"status": status} for i, status in enumerate(
        ["done", "todo", "nothing_to_do", "partial", "new", "removed"] * 20)}
    with Store.open(config_mod.load(config).store_path) as store:
        record_coverage(store, "8.0", "7.0", modules)
    return config


@pytest.mark.parametrize("columns", ["", "70", "48"])
def test_piped_status_is_the_same_without_rich(wide_store: Path, columns: str) -> None:
    # real processes with stdout piped; the second imports rich first, so that rich draws
    def status(prelude: str) -> str:
        code = (f"{prelude}import sys; from ouhub.cli import main; "
                f"main(['--config', {str(wide_store)!r}, 'status'])")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"COLUMNS": columns, "PATH": "/usr/bin:/bin"}).stdout

    plain, rich = status(""), status("import rich.console; ")
    assert "┏" in plain and "8.0" in plain
    assert plain == rich
