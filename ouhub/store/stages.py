"""The stage log (0001): one event per finished invocation of a stage, behind `ouhub status`."""

from __future__ import annotations

import json
from typing import Any

from ouhub.records import StageEvent
from ouhub.store.db import Database, utcnow


class StageQueries(Database):
    def record_stage(
        self, stage: str, started_at: str, ok: bool, summary: dict[str, Any] | None = None
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO stage_log (stage, started_at, finished_at, ok, summary) "
                "VALUES (?, ?, ?, ?, ?)",
                (stage, started_at, utcnow(), int(ok), json.dumps(summary or {}, sort_keys=True)),
            )

    def last_stage_events(self) -> dict[str, StageEvent]:
        """The newest event of each stage, by stage name."""
        rows = self._execute(
            "SELECT stage, started_at, finished_at, ok, summary FROM stage_log "
            "WHERE id IN (SELECT MAX(id) FROM stage_log GROUP BY stage) ORDER BY stage"
        )
        return {
            r["stage"]: StageEvent(
                r["stage"], r["started_at"], r["finished_at"], bool(r["ok"]), json.loads(r["summary"])
            )
            for r in rows
        }
