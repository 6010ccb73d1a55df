"""The upstream stage's lag (0005): per branch, the upstream revisions not merged yet."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ouhub import records  # each record made on first use
from ouhub.redact import redact_dsn, redact_urls
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import BranchLag, UnmergedRevision


class UpstreamQueries(Database):
    def record_upstream_lag(self, lag: BranchLag) -> None:
        """A branch's lag computed: replaces the last one."""
        at = lag.checked_at or utcnow()
        with self.transaction():
            self._execute(
                "INSERT INTO upstream_lag (release, branch, upstream_url, served_url, "
                "upstream_revid, mirror_revid, unmerged_count, oldest_unmerged, authors, "
                "modules, last_success, last_attempt, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT (release, branch) DO UPDATE SET "
                "upstream_url = excluded.upstream_url, served_url = excluded.served_url, "
                "upstream_revid = excluded.upstream_revid, mirror_revid = excluded.mirror_revid, "
                "unmerged_count = excluded.unmerged_count, "
                "oldest_unmerged = excluded.oldest_unmerged, authors = excluded.authors, "
                "modules = excluded.modules, last_success = excluded.last_success, "
                "last_attempt = excluded.last_attempt, last_error = NULL",
                (lag.release, lag.branch, redact_dsn(lag.upstream_url),
                 redact_dsn(lag.served_url) if lag.served_url else None, lag.upstream_revid,
                 lag.mirror_revid, lag.count, lag.oldest, json.dumps(list(lag.authors)),
                 json.dumps(list(lag.modules)), at, at),
            )
            self._execute(
                "DELETE FROM upstream_unmerged WHERE release = ? AND branch = ?",
                (lag.release, lag.branch),
            )
            self._conn.executemany(
                "INSERT INTO upstream_unmerged (release, branch, position, revid, revno, author, "
                "date, message, modules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (lag.release, lag.branch, i, r.revid, r.revno, r.author, r.date, r.message,
                     json.dumps(list(r.modules)))
                    for i, r in enumerate(lag.unmerged)
                ],
            )

    def record_upstream_failure(
        self, release: str, branch: str, upstream_url: str, error: str, at: str | None = None
    ) -> None:
        """A failed lag check: the error is stored, the last computed lag is kept."""
        at = at or utcnow()
        with self.transaction():
            self._execute(
                "INSERT INTO upstream_lag (release, branch, upstream_url, last_attempt, "
                "last_error) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (release, branch) DO UPDATE SET "
                "upstream_url = excluded.upstream_url, last_attempt = excluded.last_attempt, "
                "last_error = excluded.last_error",
                (release, branch, redact_dsn(upstream_url), at, redact_urls(error)),
            )

    def upstream_lags(self, release: str | None = None) -> list[BranchLag]:
        """Every stored lag (of one release), by release then branch."""
        where, params = ("WHERE release = ?", (release,)) if release else ("", ())
        rows = self._execute(
            f"SELECT * FROM upstream_lag {where} ORDER BY release, branch", params
        ).fetchall()
        return [
            records.BranchLag(
                release=r["release"], branch=r["branch"], upstream_url=r["upstream_url"],
                served_url=r["served_url"], upstream_revid=r["upstream_revid"],
                mirror_revid=r["mirror_revid"],
                unmerged=tuple(self.upstream_unmerged(r["release"], r["branch"])),
                checked_at=r["last_attempt"], last_success=r["last_success"],
                error=r["last_error"],
            )
            for r in rows
        ]

    def upstream_unmerged(self, release: str, branch: str) -> list[UnmergedRevision]:
        """The unmerged upstream revisions last computed for a branch, oldest first."""
        rows = self._execute(
            "SELECT * FROM upstream_unmerged WHERE release = ? AND branch = ? ORDER BY position",
            (release, branch),
        )
        return [
            records.UnmergedRevision(
                revid=r["revid"], revno=r["revno"], author=r["author"], date=r["date"],
                message=r["message"], modules=tuple(json.loads(r["modules"])),
            )
            for r in rows
        ]
