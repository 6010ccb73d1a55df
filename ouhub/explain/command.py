"""`ouhub explain`'s entry point: read the paste, explain it, add ouhub's history if it has one.

The analysis needs nothing but the text; a store, when the config names one that exists,
adds where each failure's fingerprint was seen in ouhub's own runs and whether it is fixed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ouhub.errors import ExplainError, OuhubError
from ouhub.explain.analysis import Explanation, explain_text
from ouhub.fsutil import read_capped
from ouhub.runner.failures import Sighting, fingerprint_history

if TYPE_CHECKING:
    from ouhub.store import Store

MAX_PASTE_BYTES = 64 * 1024 * 1024  # a whole night's server log fits; /dev/zero does not


@dataclass(frozen=True)
class ExplainReport:
    explanation: Explanation
    source: str  # the file, or "stdin"
    lines: int
    history: str | None = None  # why ouhub's runs were not consulted; None when they were
    seen: Mapping[str, tuple[Sighting, ...]] = field(default_factory=dict)  # fingerprint key ->

    def as_dict(self) -> dict[str, Any]:
        data = self.explanation.as_dict()
        data["source"] = self.source
        data["lines"] = self.lines
        data["history"] = {"used": self.history is None, "why_not": self.history}
        for error in data["errors"]:
            key = error["fingerprint"]["key"]
            error["seen_before"] = (None if self.history is not None
                                    else [s.as_dict() for s in self.seen.get(key, ())])
        return data


def read_paste(source: str | None, stdin: IO[str] | None = None) -> tuple[str, str]:
    """The text to explain and where it came from: a file, or stdin for ``-`` or none."""
    if source in (None, "-"):
        stream = stdin or sys.stdin
        if stream.isatty():
            raise ExplainError("no log to explain: give a file, or paste a log on stdin",
                               hint="ouhub explain server.log, or: ouhub explain - < server.log")
        text = stream.read(MAX_PASTE_BYTES + 1)
        if len(text) > MAX_PASTE_BYTES:
            raise ExplainError(f"stdin holds more than {MAX_PASTE_BYTES:,} characters",
                               hint="paste the part of the log around the error")
        return text, "stdin"
    path = Path(source)
    try:
        data = read_capped(path, MAX_PASTE_BYTES)
    except (OSError, ValueError) as exc:
        raise ExplainError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                           hint="give the path of a server log or of a pasted excerpt") from exc
    return data.decode("utf-8", errors="replace"), str(path)


def explain(source: str | None, open_store: Callable[[], Store | None],
            stdin: IO[str] | None = None) -> ExplainReport:
    """Explain the log in ``source``; ``open_store`` gives ouhub's store, or None without one
    (it may raise OuhubError: the explanation goes on without the history)."""
    text, where = read_paste(source, stdin)
    explanation = explain_text(text)
    lines = len(text.splitlines())
    try:
        store = open_store()
    except OuhubError as exc:
        return ExplainReport(explanation, where, lines, history=exc.message)
    if store is None:
        return ExplainReport(explanation, where, lines,
                             history="no ouhub store: give --config to compare with its runs")
    return ExplainReport(explanation, where, lines, seen=seen_before(
        store, [e.fingerprint.key for e in explanation.errors]))


def seen_before(store: Store, keys: list[str]) -> dict[str, tuple[Sighting, ...]]:
    """Where each fingerprint was seen in ouhub's runs, and whether it is fixed since."""
    seen: dict[str, tuple[Sighting, ...]] = {}
    for key in dict.fromkeys(keys):
        histories = [(release, sample, module, store.module_history(release, sample, module))
                     for release, sample, module in store.fingerprint_sightings(key)]
        found = fingerprint_history(key, histories)
        seen[key] = found.sightings if found else ()
    return seen
