"""Results on stdout, diagnostics on stderr; rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger("ouhub")


@cache
def _console(name: str) -> Console:
    # rich is imported on first use: commands that print plain text or JSON
    # (`ouhub check --format json`) start ~50 ms faster without it.
    from rich.console import Console

    if name == "stderr":
        return Console(stderr=True, highlight=False)
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        # Piped into a file or a CI log: do not fold tables at 80 columns.
        console = Console(highlight=False, soft_wrap=True, width=160)
    return console


def __getattr__(name: str) -> Any:
    """``output.stdout`` and ``output.stderr``: the rich consoles, made on first use."""
    if name in ("stdout", "stderr"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else
                                           logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("ouhub").setLevel(level)
    # breezy and launchpadlib are chatty at INFO; keep them for -vv.
    for noisy in ("brz", "breezy", "launchpadlib", "lazr", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def print_json(data: Any) -> None:
    """Machine-readable output: sorted keys, ISO dates, one document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None
) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    _console("stdout").print(table)


def info(message: str) -> None:
    """A diagnostic line for the person at the terminal (stderr, never parsed)."""
    _console("stderr").print(message, markup=False)


@contextmanager
def progress(description: str, total: int | None, quiet: bool = False) -> Iterator[Any]:
    """A progress bar on a terminal; plain log lines elsewhere. Yields ``advance(label)``."""
    if quiet or not _console("stderr").is_terminal:
        done = 0

        def advance(label: str = "") -> None:
            nonlocal done
            done += 1
            log.info("%s: %s/%s %s", description, done, total or "?", label)

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
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"), TimeElapsedColumn(), console=_console("stderr"), transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, label="")

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, label=label)

        yield advance
