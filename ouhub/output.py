"""Results on stdout, diagnostics on stderr; rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

log = logging.getLogger("ouhub")

stdout = Console(highlight=False, soft_wrap=True)
if not stdout.is_terminal:
    # Piped into a file or a CI log: do not fold tables at 80 columns.
    stdout = Console(highlight=False, soft_wrap=True, width=160)
stderr = Console(stderr=True, highlight=False)


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
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    stdout.print(table)


def info(message: str) -> None:
    """A diagnostic line for the person at the terminal (stderr, never parsed)."""
    stderr.print(message, markup=False)


@contextmanager
def progress(description: str, total: int | None, quiet: bool = False) -> Iterator[Any]:
    """A progress bar on a terminal; plain log lines elsewhere. Yields ``advance(label)``."""
    if quiet or not stderr.is_terminal:
        done = 0

        def advance(label: str = "") -> None:
            nonlocal done
            done += 1
            log.info("%s: %s/%s %s", description, done, total or "?", label)

        yield advance
        return
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"), TimeElapsedColumn(), console=stderr, transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, label="")

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, label=label)

        yield advance
