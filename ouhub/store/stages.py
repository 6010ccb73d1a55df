"""The stage log (0001): one event per finished invocation of a stage, behind `ouhub status`.

Each stage's entry point records its own event through ``stage_event``, in the one
shape of ``StageSummary``, so `ouhub status` shows the same whoever ran the stage
(its command or `ouhub nightly`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ouhub import records  # each record made on first use
from ouhub.errors import OuhubError
from ouhub.redact import redact_urls
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import StageEvent, StageSummary


class StageRun:
    """Handed to a stage's entry point by ``stage_event``: it calls ``finish`` once done."""

    def __init__(self) -> None:
        self.summary: StageSummary | None = None

    def finish(self, ok: bool, message: str = "", **counts: int) -> None:
        self.summary = records.StageSummary(ok, counts, message)


class StageQueries(Database):
    def record_stage(self, stage: str, started_at: str, summary: StageSummary) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO stage_log (stage, started_at, finished_at, ok, summary) "
                "VALUES (?, ?, ?, ?, ?)",
                (stage, started_at, utcnow(), int(summary.ok),
                 redact_urls(json.dumps(summary.as_dict(), sort_keys=True))),
            )

    @contextmanager
    def stage_event(self, stage: str) -> Iterator[StageRun]:
        """Record one event of ``stage`` when the block ends: what it ``finish``-ed with, or
        failed with the error's message when the block raised (the error goes on up)."""
        started = utcnow()
        run = StageRun()
        try:
            yield run
        except OuhubError as exc:
            self.record_stage(stage, started, records.StageSummary(False, message=exc.message))
            raise
        except Exception as exc:
            message = f"unexpected {type(exc).__name__}: {exc}"
            self.record_stage(stage, started, records.StageSummary(False, message=message))
            raise
        self.record_stage(stage, started, run.summary or records.StageSummary(
            False, message=f"the {stage} stage ended without a summary (a bug; please report)"))

    def last_stage_events(self) -> dict[str, StageEvent]:
        """The newest event of each stage, by stage name."""
        return {
            r["stage"]: records.StageEvent(r["stage"], r["started_at"], r["finished_at"],
                                           bool(r["ok"]), json.loads(r["summary"]))
            for r in self.last_stage_event_rows()
        }

    def last_stage_event_rows(self) -> list[sqlite3.Row]:
        """``last_stage_events`` as the rows they are made of (stage, started_at, finished_at,
        ok, summary JSON), by stage: `ouhub status` shows them without making records."""
        return self._execute(
            "SELECT stage, started_at, finished_at, ok, summary FROM stage_log "
            "WHERE id IN (SELECT MAX(id) FROM stage_log GROUP BY stage) ORDER BY stage"
        ).fetchall()
