"""Results on stdout, diagnostics on stderr; rich on a terminal, plain lines otherwise.

Everything printed is data (module names, commit authors, log lines): rich's markup
and emoji codes are off, and control characters are dropped (``terminal_safe``), so
that ``[/bold]`` in an author's name cannot crash a command, ``root:x:0`` stays as
it is, and an escape sequence in a server log cannot retitle or clear the terminal.
Text, tables, JSON, CSV and log lines show every URL redacted (``ouhub/redact.py``).

Start-up matters here (every command imports this module): rich is imported when a
table is drawn on a terminal or a progress bar shown (a piped table is laid out by
``plaintable`` as rich would), logging when it is set up, json when JSON is printed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# C0 controls but tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` as it may reach the terminal: without control characters (an escape sequence
    loses its ESC and stays inert) and without the credentials of any URL in it."""
    return _CONTROL.sub("", _no_credentials(text))


def _no_credentials(data: Any) -> Any:
    """``data`` (text, or JSON's lists and mappings) with every URL in it through
    ``redact.redact_urls``: a branch's ``https://user:token@...`` is shown without its token."""
    if isinstance(data, str):
        if "://" not in data:
            return data
        from ouhub.redact import redact_urls  # only when there is a URL to look at

        return redact_urls(data)
    if isinstance(data, dict):
        return {key: _no_credentials(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_no_credentials(value) for value in data]
    return data


@cache
def _console(name: str) -> Console:
    # rich is imported on first use: commands that print plain text or JSON
    # (`ouhub check --format json`) start ~50 ms faster without it.
    from rich.console import Console

    class DataConsole(Console):
        """A console for data: strings printed lose their control characters."""

        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(terminal_safe(o) if isinstance(o, str) else o for o in objects),
                          **kwargs)

    plain = {"highlight": False, "markup": False, "emoji": False}
    if name == "stderr":
        return DataConsole(stderr=True, **plain)
    console = DataConsole(soft_wrap=True, **plain)
    if not console.is_terminal:
        console = DataConsole(soft_wrap=True, width=_piped_width(), **plain)
    return console


def _piped_width() -> int:
    """How wide stdout is when it is no terminal: a file or a CI log is not folded at 80
    columns, unless the user says how wide (COLUMNS=100 ouhub ... | less)."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 160


def _without_rich() -> bool:
    """Whether rich would see stdout as no terminal (as rich.console.Console.is_terminal
    decides): then what it prints has no colour, and ``plaintable`` lays a table out the same."""
    if "rich" in sys.modules or "IPython" in sys.modules:
        return False  # already paid for, or a notebook's display: rich draws
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "0"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color == ""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return isatty is not None and not isatty()
    except ValueError:  # a closed stdout
        return True


def __getattr__(name: str) -> Any:
    """``output.stdout`` and ``output.stderr``: the rich consoles, made on first use."""
    if name in ("stdout", "stderr"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log lines on stderr, at the level -v/-q ask for; configured when ``logging`` is first
    imported: most quick commands (a check, status, --help) log nothing, and logging with
    its formatter costs a fifth of the interpreter's start (bench/startup.py)."""
    for finder in [f for f in sys.meta_path if isinstance(f, _ConfigureOnImport)]:
        sys.meta_path.remove(finder)  # a second call (tests) replaces the first's
    if "logging" in sys.modules:
        _configure_logging(verbose, quiet)
    else:
        sys.meta_path.insert(0, _ConfigureOnImport(verbose, quiet))


class _ConfigureOnImport:
    """A finder (PEP 451) that steps in once, for ``import logging``: the module is found
    and run as always, then configured before the import returns, so nothing logs before
    ouhub's handler is in place."""

    def __init__(self, verbose: int, quiet: bool):
        self.settings = (verbose, quiet)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenConfigure(spec.loader, self.settings)
        return spec


class _ThenConfigure:
    """``logging``'s own loader, then ``_configure_logging``."""

    def __init__(self, loader: Any, settings: tuple[int, bool]):
        self.loader = loader
        self.settings = settings

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _configure_logging(*self.settings)


def _configure_logging(verbose: int, quiet: bool) -> None:
    import logging

    class SafeFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return terminal_safe(super().format(record))

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else
                                           logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("ouhub").setLevel(level)
    # breezy and launchpadlib are chatty at INFO; keep them for -vv.
    for noisy in ("brz", "breezy", "launchpadlib", "lazr", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def print_json(data: Any) -> None:
    """Machine-readable output: sorted keys, ISO dates, one document on stdout."""
    import json

    sys.stdout.write(json.dumps(_no_credentials(data), indent=2, default=str) + "\n")


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...))
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV on stdout; a text cell that a spreadsheet would run as a formula gets a leading
    quote, so it is shown as the text it is."""
    import csv

    def cell(value: Any) -> Any:
        value = _no_credentials(value)
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    writer = csv.writer(sys.stdout)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None
) -> None:
    """A table on stdout: drawn by rich, or, piped, laid out as rich would without importing it
    (``ouhub.plaintable``: rich costs more than `ouhub status`'s whole work)."""
    cells = [[terminal_safe("" if cell is None else str(cell)) for cell in row] for row in rows]
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    if _without_rich() and encoding.lower().startswith("utf"):
        from ouhub.plaintable import render

        text = render(columns, cells, title, _piped_width())
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    _console("stdout").print(rich_table(columns, cells, title))


def rich_table(columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None) -> Any:
    """The rich Table of ``print_table``: every cell folded, read as plain text."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not str: a cell is never read as markup or emoji codes
        table.add_row(*(Text(cell) for cell in row))
    return table


def info(message: str) -> None:
    """A diagnostic line for the person at the terminal (stderr, never parsed); one line in
    a log too (never folded at 80 columns)."""
    _console("stderr").print(message, markup=False, soft_wrap=True)


@contextmanager
def progress(description: str, total: int | None, quiet: bool = False) -> Iterator[Any]:
    """A progress bar on a terminal; plain log lines elsewhere. Yields ``advance(label)``."""
    if quiet or not _console("stderr").is_terminal:
        import logging

        done = 0

        def advance(label: str = "") -> None:
            nonlocal done
            done += 1
            logging.getLogger("ouhub").info("%s: %s/%s %s", description, done, total or "?",
                                            label)

        yield advance
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
        MofNCompleteColumn(), TextColumn("{task.fields[label]}", markup=False),
        TimeElapsedColumn(), console=_console("stderr"), transient=True,
    ) as bar:
        task = bar.add_task(terminal_safe(description), total=total, label="")

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, label=terminal_safe(label))

        yield advance
