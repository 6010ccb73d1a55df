"""The sync stage's state (0002): each branch's mirror head and its last error."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ouhub import records  # each record made on first use
from ouhub.redact import redact_dsn, redact_urls
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import SyncState


class SyncQueries(Database):
    def record_sync_success(
        self, release: str, branch: str, url: str, *, served_url: str, vcs: str, revid: str,
        revno: int | None, new_revisions: int, mirror: str | None = None, at: str | None = None,
    ) -> None:
        """A branch mirrored: its head now (in ``mirror``), and no error. URLs and errors are
        kept redacted, as everywhere they are shown."""
        at = at or utcnow()
        with self.transaction():
            self._execute(
                "INSERT INTO sync_state (release, branch, url, served_url, vcs, revid, revno, "
                "new_revisions, last_success, last_attempt, last_error, mirror) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) "
                "ON CONFLICT (release, branch) DO UPDATE SET url = excluded.url, "
                "served_url = excluded.served_url, vcs = excluded.vcs, revid = excluded.revid, "
                "revno = excluded.revno, new_revisions = excluded.new_revisions, "
                "last_success = excluded.last_success, last_attempt = excluded.last_attempt, "
                "last_error = NULL, mirror = excluded.mirror",
                (release, branch, redact_dsn(url), redact_dsn(served_url), vcs, revid, revno,
                 new_revisions, at, at, mirror),
            )

    def record_sync_failure(
        self, release: str, branch: str, url: str, error: str, at: str | None = None
    ) -> None:
        """A failed attempt: the error is stored, the last good head is kept."""
        at = at or utcnow()
        with self.transaction():
            self._execute(
                "INSERT INTO sync_state (release, branch, url, last_attempt, last_error) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (release, branch) DO UPDATE SET url = excluded.url, "
                "new_revisions = 0, last_attempt = excluded.last_attempt, "
                "last_error = excluded.last_error",
                (release, branch, redact_dsn(url), at, redact_urls(error)),
            )

    def sync_state(self, release: str, branch: str) -> SyncState | None:
        row = self._execute(
            "SELECT * FROM sync_state WHERE release = ? AND branch = ?", (release, branch)
        ).fetchone()
        return _sync_state(row) if row else None

    def sync_states(self, release: str | None = None) -> list[SyncState]:
        """Every branch's sync state (of one release), by release then branch."""
        return [_sync_state(r) for r in self.sync_state_rows(release)]

    def sync_state_rows(self, release: str | None = None) -> list[sqlite3.Row]:
        """``sync_states`` as the rows they are made of: `ouhub status` shows them without
        making records."""
        if release is None:
            return self._execute("SELECT * FROM sync_state ORDER BY release, branch").fetchall()
        return self._execute(
            "SELECT * FROM sync_state WHERE release = ? ORDER BY branch", (release,)
        ).fetchall()


def _sync_state(row: sqlite3.Row) -> SyncState:
    return records.SyncState(**dict(row))
