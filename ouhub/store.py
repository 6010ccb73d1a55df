"""ouhub's state: one SQLite file in the data dir.

The store is opened in one place (``Store.open``), which applies the store's
own named migrations in order, each in its own transaction: a failed one
rolls back and stays pending. Every write runs inside ``transaction()``;
nested blocks join the outer one, so a stage that wraps its work in one
block leaves the store as it was if anything inside raises.

No SQL lives outside this module: every query is a method whose name says
what it returns. Sections below are grouped by stage.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ouhub.errors import StoreError


def utcnow() -> str:
    """Timestamps are stored as ISO 8601 UTC strings: sortable and readable."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- migrations ---------------------------------------------------------------------------------
# Each entry is (name, SQL). Append only: a released migration is never edited.
# The stages own their slots: 0002 sync, 0003 coverage, 0004 runner.

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_foundation",
        """
        CREATE TABLE stage_log (
            id INTEGER PRIMARY KEY,
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX stage_log_stage ON stage_log (stage, finished_at);
        """,
    ),
    (
        "0004_runner",
        """
        CREATE TABLE sample_templates (
            sample TEXT PRIMARY KEY,
            release TEXT NOT NULL,
            dbname TEXT NOT NULL,
            checksum TEXT NOT NULL,
            dump TEXT NOT NULL,
            filestore TEXT,
            imported_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL DEFAULT 'run',
            release TEXT NOT NULL,
            previous TEXT,
            sample TEXT,
            source_db TEXT,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            duration REAL,
            revisions TEXT NOT NULL DEFAULT '{}',
            log_path TEXT,
            scratch_db TEXT,
            exit_code INTEGER,
            message TEXT NOT NULL DEFAULT '',
            chain_id INTEGER,
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER
        );
        CREATE INDEX runs_release ON runs (release, sample, id);
        CREATE TABLE run_modules (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            module TEXT NOT NULL,
            outcome TEXT NOT NULL,
            version_before TEXT,
            version_after TEXT,
            scripts TEXT NOT NULL DEFAULT '[]',
            excerpt TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, module)
        );
        CREATE TABLE scratch_databases (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            run_id INTEGER,
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            keep INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            dropped_at TEXT
        );
        """,
    ),
    (
        "0003_coverage",
        """
        CREATE TABLE coverage_scans (
            id INTEGER PRIMARY KEY,
            release TEXT NOT NULL,
            previous TEXT,
            source TEXT NOT NULL,
            revisions_key TEXT NOT NULL,
            revisions TEXT NOT NULL DEFAULT '{}',
            scanned_at TEXT NOT NULL,
            duration REAL NOT NULL DEFAULT 0,
            totals TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE UNIQUE INDEX coverage_scans_key ON coverage_scans (release, source, revisions_key);
        CREATE TABLE coverage_modules (
            scan_id INTEGER NOT NULL REFERENCES coverage_scans (id) ON DELETE CASCADE,
            module TEXT NOT NULL,
            status TEXT NOT NULL,
            target TEXT,
            version TEXT,
            path TEXT,
            in_tree INTEGER NOT NULL DEFAULT 0,
            manifest_error TEXT,
            evidence TEXT NOT NULL DEFAULT '{}',
            analysis_size INTEGER NOT NULL DEFAULT 0,
            analysis_annotated INTEGER NOT NULL DEFAULT 0,
            analysed_share REAL,
            analysis_counts TEXT NOT NULL DEFAULT '{}',
            analysis_source TEXT,
            disagreements TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (scan_id, module)
        );
        CREATE TABLE coverage_warnings (
            id INTEGER PRIMARY KEY,
            scan_id INTEGER NOT NULL REFERENCES coverage_scans (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX coverage_warnings_scan ON coverage_warnings (scan_id);
        """,
    ),
    (
        "0002_sync",
        """
        CREATE TABLE sync_state (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            url TEXT NOT NULL,
            served_url TEXT,
            vcs TEXT,
            revid TEXT,
            revno INTEGER,
            new_revisions INTEGER NOT NULL DEFAULT 0,
            last_success TEXT,
            last_attempt TEXT NOT NULL,
            last_error TEXT,
            PRIMARY KEY (release, branch)
        );
        """,
    ),
    (
        "0005_upstream",
        """
        CREATE TABLE upstream_lag (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            upstream_url TEXT NOT NULL,
            served_url TEXT,
            upstream_revid TEXT,
            mirror_revid TEXT,
            unmerged_count INTEGER NOT NULL DEFAULT 0,
            oldest_unmerged TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            modules TEXT NOT NULL DEFAULT '[]',
            last_success TEXT,
            last_attempt TEXT NOT NULL,
            last_error TEXT,
            PRIMARY KEY (release, branch)
        );
        CREATE TABLE upstream_unmerged (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            position INTEGER NOT NULL,
            revid TEXT NOT NULL,
            revno TEXT,
            author TEXT NOT NULL,
            date TEXT NOT NULL,
            message TEXT NOT NULL,
            modules TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (release, branch, revid),
            FOREIGN KEY (release, branch) REFERENCES upstream_lag (release, branch)
                ON DELETE CASCADE
        );
        """,
    ),
    (
        "0006_coverage_stamps",
        # what a scanned directory looked like (directory and content-file times), so that
        # an unchanged `coverage scan --path` is told by stat calls, without walking the tree
        """
        CREATE TABLE coverage_stamps (
            source TEXT PRIMARY KEY,
            revisions TEXT NOT NULL,
            stamp TEXT NOT NULL
        );
        """,
    ),
]


@dataclass(frozen=True)
class StageEvent:
    """One finished invocation of a stage (sync, upstream, coverage, runner, site, nightly)."""

    stage: str
    started_at: str
    finished_at: str
    ok: bool
    summary: dict[str, Any]


class Store:
    """A connection to the state file, with its schema migrated to the newest."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self._conn = conn
        self.path = path
        self._depth = 0
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | Path, migrations: list[tuple[str, str]] | None = None) -> Store:
        """Open (creating if needed) the store at ``path`` and apply pending migrations."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the state store {path}: {exc}",
                hint="check that the data dir is writable and not on a full disk",
            ) from exc
        store = cls(conn, path)
        store.migrate(MIGRATIONS if migrations is None else migrations)
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and migrations ------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together, or none do; nested blocks join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def applied_migrations(self) -> list[str]:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        return [r[0] for r in self._conn.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def migrate(self, migrations: list[tuple[str, str]]) -> list[str]:
        """Apply the migrations not yet recorded; returns the names applied now."""
        done = set(self.applied_migrations())
        applied = []
        for name, sql in migrations:
            if name in done:
                continue
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(sql):
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, utcnow()),
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(
                    f"store migration {name} failed on {self.path}: {exc}",
                    hint="the store is unchanged; report this with the store file attached",
                ) from exc
            applied.append(name)
        return applied

    @property
    def schema_version(self) -> int:
        return len(self.applied_migrations())

    # -- foundation: stage log ------------------------------------------------------------------

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

    # -- sync (0002) ----------------------------------------------------------------------------

    def record_sync_success(
        self, release: str, branch: str, url: str, *, served_url: str, vcs: str, revid: str,
        revno: int | None, new_revisions: int, at: str | None = None,
    ) -> None:
        """A branch mirrored: its head now, and no error."""
        at = at or utcnow()
        with self.transaction():
            self._execute(
                "INSERT INTO sync_state (release, branch, url, served_url, vcs, revid, revno, "
                "new_revisions, last_success, last_attempt, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT (release, branch) DO UPDATE SET url = excluded.url, "
                "served_url = excluded.served_url, vcs = excluded.vcs, revid = excluded.revid, "
                "revno = excluded.revno, new_revisions = excluded.new_revisions, "
                "last_success = excluded.last_success, last_attempt = excluded.last_attempt, "
                "last_error = NULL",
                (release, branch, url, served_url, vcs, revid, revno, new_revisions, at, at),
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
                (release, branch, url, at, error),
            )

    def sync_state(self, release: str, branch: str) -> SyncState | None:
        row = self._execute(
            "SELECT * FROM sync_state WHERE release = ? AND branch = ?", (release, branch)
        ).fetchone()
        return _sync_state(row) if row else None

    def sync_states(self, release: str | None = None) -> list[SyncState]:
        """Every branch's sync state (of one release), by release then branch."""
        if release is None:
            rows = self._execute("SELECT * FROM sync_state ORDER BY release, branch")
        else:
            rows = self._execute(
                "SELECT * FROM sync_state WHERE release = ? ORDER BY branch", (release,)
            )
        return [_sync_state(r) for r in rows]

    # -- upstream -------------------------------------------------------------------------------

    def record_upstream_lag(self, lag: Any) -> None:
        """A branch's lag computed (an ``ouhub.sync.lag.BranchLag``): replaces the last one."""
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
                (lag.release, lag.branch, lag.upstream_url, lag.served_url, lag.upstream_revid,
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
                (release, branch, upstream_url, at, error),
            )

    def upstream_lags(self, release: str | None = None) -> list[Any]:
        """Every stored lag (of one release) as ``BranchLag``, by release then branch."""
        from ouhub.sync.lag import BranchLag

        where, params = ("WHERE release = ?", (release,)) if release else ("", ())
        rows = self._execute(
            f"SELECT * FROM upstream_lag {where} ORDER BY release, branch", params
        ).fetchall()
        return [
            BranchLag(
                release=r["release"], branch=r["branch"], upstream_url=r["upstream_url"],
                served_url=r["served_url"], upstream_revid=r["upstream_revid"],
                mirror_revid=r["mirror_revid"],
                unmerged=tuple(self.upstream_unmerged(r["release"], r["branch"])),
                checked_at=r["last_attempt"], last_success=r["last_success"],
                error=r["last_error"],
            )
            for r in rows
        ]

    def upstream_unmerged(self, release: str, branch: str) -> list[Any]:
        """The unmerged upstream revisions last computed for a branch, oldest first."""
        from ouhub.sync.lag import UnmergedRevision

        rows = self._execute(
            "SELECT * FROM upstream_unmerged WHERE release = ? AND branch = ? ORDER BY position",
            (release, branch),
        )
        return [
            UnmergedRevision(
                revid=r["revid"], revno=r["revno"], author=r["author"], date=r["date"],
                message=r["message"], modules=tuple(json.loads(r["modules"])),
            )
            for r in rows
        ]

    # -- coverage (0003) ------------------------------------------------------------------------

    def find_coverage_scan(
        self, release: str, source: str, revisions_key: str
    ) -> CoverageScan | None:
        """The stored scan of exactly these revisions of this source, if any (the scan cache)."""
        row = self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? AND source = ? AND revisions_key = ?",
            (release, source, revisions_key),
        ).fetchone()
        return _coverage_scan(row) if row else None

    def record_coverage_scan(
        self, scan: CoverageScan, modules: list[ModuleCoverage],
        warnings: list[tuple[str, str]],
    ) -> int:
        """Store one scan with its modules and warnings (replacing a scan of the same key)."""
        with self.transaction():
            self._execute(
                "DELETE FROM coverage_scans WHERE release = ? AND source = ? AND revisions_key = ?",
                (scan.release, scan.source, scan.revisions_key),
            )
            scan_id = self._execute(
                "INSERT INTO coverage_scans (release, previous, source, revisions_key, revisions, "
                "scanned_at, duration, totals, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scan.release, scan.previous, scan.source, scan.revisions_key,
                    json.dumps(scan.revisions, sort_keys=True), scan.scanned_at, scan.duration,
                    json.dumps(scan.totals, sort_keys=True),
                    json.dumps(scan.summary, sort_keys=True),
                ),
            ).lastrowid
            self._conn.executemany(
                "INSERT INTO coverage_modules (scan_id, module, status, target, version, path, "
                "in_tree, manifest_error, evidence, analysis_size, analysis_annotated, "
                "analysed_share, analysis_counts, analysis_source, disagreements) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        scan_id, m.module, m.status, m.target, m.version, m.path, int(m.in_tree),
                        m.manifest_error, json.dumps(m.evidence.as_dict(), sort_keys=True),
                        m.analysis_size, m.analysis_annotated, m.analysed_share,
                        json.dumps(m.analysis_counts, sort_keys=True), m.analysis_source,
                        json.dumps(list(m.disagreements)),
                    )
                    for m in modules
                ],
            )
            self._conn.executemany(
                "INSERT INTO coverage_warnings (scan_id, path, message) VALUES (?, ?, ?)",
                [(scan_id, path, message) for path, message in warnings],
            )
        return int(scan_id)

    def coverage_scan(self, scan_id: int) -> CoverageScan | None:
        row = self._execute("SELECT * FROM coverage_scans WHERE id = ?", (scan_id,)).fetchone()
        return _coverage_scan(row) if row else None

    def latest_coverage_scan(self, release: str) -> CoverageScan | None:
        """The newest scan of a release, whatever its source (mirrors or a directory)."""
        row = self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? ORDER BY id DESC LIMIT 1", (release,)
        ).fetchone()
        return _coverage_scan(row) if row else None

    def coverage_history(self, release: str) -> list[CoverageScan]:
        """Every stored scan of a release, oldest first: scan time, revisions, counts per status."""
        rows = self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? ORDER BY id", (release,)
        )
        return [_coverage_scan(r) for r in rows]

    def coverage_of_scan(self, scan_id: int) -> list[ModuleCoverage]:
        """The modules of one scan, sorted by module name."""
        scan = self.coverage_scan(scan_id)
        if scan is None:
            return []
        rows = self._execute(
            "SELECT * FROM coverage_modules WHERE scan_id = ? ORDER BY module", (scan_id,)
        )
        return [_module_coverage(r, scan) for r in rows]

    def latest_coverage(self, release: str) -> list[ModuleCoverage]:
        """The modules of the newest scan of a release (empty if never scanned)."""
        scan = self.latest_coverage_scan(release)
        return self.coverage_of_scan(scan.id) if scan else []

    def coverage_warnings(self, scan_id: int) -> list[tuple[str, str]]:
        """(path, message) of each warning a scan recorded."""
        rows = self._execute(
            "SELECT path, message FROM coverage_warnings WHERE scan_id = ? ORDER BY id", (scan_id,)
        )
        return [(r["path"], r["message"]) for r in rows]

    def coverage_stamp(self, source: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        """(revisions, stamp) recorded for a scanned directory by its last walk, if any."""
        row = self._execute(
            "SELECT revisions, stamp FROM coverage_stamps WHERE source = ?", (source,)
        ).fetchone()
        return (json.loads(row["revisions"]), json.loads(row["stamp"])) if row else None

    def record_coverage_stamp(
        self, source: str, revisions: dict[str, str], stamp: dict[str, Any] | None
    ) -> None:
        """Keep (or with None, forget) what a scanned directory looked like when walked."""
        with self.transaction():
            if stamp is None:
                self._execute("DELETE FROM coverage_stamps WHERE source = ?", (source,))
                return
            self._execute(
                "INSERT OR REPLACE INTO coverage_stamps (source, revisions, stamp) "
                "VALUES (?, ?, ?)",
                (source, json.dumps(revisions, sort_keys=True),
                 json.dumps(stamp, separators=(",", ":"))),
            )

    def release_modules(self, release: str) -> frozenset[str] | None:
        """Modules found in the release's tree by its newest scan; None if never scanned."""
        scan = self.latest_coverage_scan(release)
        if scan is None:
            return None
        rows = self._execute(
            "SELECT module FROM coverage_modules WHERE scan_id = ? AND in_tree = 1", (scan.id,)
        )
        return frozenset(r["module"] for r in rows)


    # -- runner (0004) --------------------------------------------------------------------------

    def sample_template(self, sample: str) -> SampleTemplate | None:
        row = self._execute("SELECT * FROM sample_templates WHERE sample = ?", (sample,)).fetchone()
        return _template(row) if row else None

    def sample_templates(self) -> list[SampleTemplate]:
        rows = self._execute("SELECT * FROM sample_templates ORDER BY sample")
        return [_template(r) for r in rows]

    def set_sample_template(self, template: SampleTemplate) -> None:
        with self.transaction():
            self._execute(
                "INSERT OR REPLACE INTO sample_templates "
                "(sample, release, dbname, checksum, dump, filestore, imported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (template.sample, template.release, template.dbname, template.checksum,
                 template.dump, template.filestore, template.imported_at),
            )

    def register_database(
        self, name: str, kind: str, run_id: int | None = None, host: str = "",
        pid: int | None = None, keep: bool = False,
    ) -> None:
        """Record a database name ouhub generated, before it is created."""
        with self.transaction():
            self._execute(
                "INSERT OR REPLACE INTO scratch_databases "
                "(name, kind, run_id, host, pid, keep, created_at, dropped_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (name, kind, run_id, host, pid, int(keep), utcnow()),
            )

    def database_record(self, name: str) -> ScratchDatabase | None:
        row = self._execute("SELECT * FROM scratch_databases WHERE name = ?", (name,)).fetchone()
        return _scratch(row) if row else None

    def live_databases(self) -> list[ScratchDatabase]:
        """Databases ouhub created and has not dropped yet."""
        rows = self._execute(
            "SELECT * FROM scratch_databases WHERE dropped_at IS NULL ORDER BY created_at, name"
        )
        return [_scratch(r) for r in rows]

    def mark_database_dropped(self, name: str) -> None:
        with self.transaction():
            self._execute(
                "UPDATE scratch_databases SET dropped_at = ? WHERE name = ?", (utcnow(), name)
            )

    def rename_database_record(self, old: str, new: str, kind: str) -> None:
        with self.transaction():
            # a stale record of ``new`` (its database dropped behind ouhub's back) gives way
            self._execute("DELETE FROM scratch_databases WHERE name = ?", (new,))
            self._execute(
                "UPDATE scratch_databases SET name = ?, kind = ? WHERE name = ?", (new, kind, old)
            )

    def set_database_keep(self, name: str, keep: bool) -> None:
        with self.transaction():
            self._execute("UPDATE scratch_databases SET keep = ? WHERE name = ?", (int(keep), name))

    def start_run(
        self, *, kind: str, release: str, previous: str | None, sample: str | None = None,
        source_db: str | None = None, revisions: dict[str, Any] | None = None,
        chain_id: int | None = None, host: str = "", pid: int | None = None,
        started_at: str | None = None,
    ) -> int:
        """A run in status `running`; returns its id."""
        with self.transaction():
            cur = self._execute(
                "INSERT INTO runs (kind, release, previous, sample, source_db, status, started_at, "
                "revisions, chain_id, host, pid) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (kind, release, previous, sample, source_db, started_at or utcnow(),
                 json.dumps(revisions or {}, sort_keys=True), chain_id, host, pid),
            )
            return int(cur.lastrowid)

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Set some of: scratch_db, log_path, chain_id, message."""
        allowed = {"scratch_db", "log_path", "chain_id", "message"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"update_run: unknown fields {sorted(unknown)}")
        if not fields:
            return
        names = sorted(fields)
        with self.transaction():
            self._execute(
                f"UPDATE runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                (*[fields[n] for n in names], run_id),
            )

    def finish_run(
        self, run_id: int, *, status: str, duration: float, exit_code: int | None,
        message: str, modules: list[RunModule] | tuple[RunModule, ...] = (),
        log_path: str | None = None,
    ) -> None:
        with self.transaction():
            self._execute(
                "UPDATE runs SET status = ?, finished_at = ?, duration = ?, exit_code = ?, "
                "message = ?, log_path = COALESCE(?, log_path) WHERE id = ?",
                (status, utcnow(), duration, exit_code, message, log_path, run_id),
            )
            self._execute("DELETE FROM run_modules WHERE run_id = ?", (run_id,))
            for m in modules:
                self._execute(
                    "INSERT INTO run_modules (run_id, module, outcome, version_before, "
                    "version_after, scripts, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (run_id, m.module, m.outcome, m.version_before, m.version_after,
                     json.dumps(list(m.scripts)), m.excerpt),
                )

    def run(self, run_id: int) -> Run | None:
        row = self._execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def runs(
        self, release: str | None = None, sample: str | None = None, limit: int | None = None,
        kind: str | None = None,
    ) -> list[Run]:
        """Runs, newest first, optionally of one release (target), sample or kind."""
        sql, params = "SELECT * FROM runs WHERE 1 = 1", []
        for column, value in (("release", release), ("sample", sample), ("kind", kind)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_run(r) for r in self._execute(sql, tuple(params))]

    def active_runs(self) -> list[Run]:
        return [_run(r) for r in self._execute("SELECT * FROM runs WHERE status = 'running'")]

    def run_modules(self, run_id: int) -> list[RunModule]:
        rows = self._execute(
            "SELECT * FROM run_modules WHERE run_id = ? ORDER BY module", (run_id,)
        )
        return [_run_module(r) for r in rows]

    def last_run_outcomes(self, release: str) -> dict[str, ModuleRunOutcome]:
        """Per module, its outcome in the newest finished sample run into ``release``."""
        # Only each module's newest row leaves SQLite: a year of nightly runs is ~15,000 rows
        # per release, of which a few dozen are wanted (10x faster for check and the site).
        rows = self._execute(
            "WITH newest AS (SELECT m.module, MAX(m.run_id) AS run_id "
            "FROM run_modules m JOIN runs r ON r.id = m.run_id "
            "WHERE r.release = ? AND r.kind = 'run' AND r.status != 'running' "
            "GROUP BY m.module) "
            "SELECT m.*, r.status AS run_status, r.sample, r.previous, r.finished_at "
            "FROM newest n JOIN run_modules m ON m.run_id = n.run_id AND m.module = n.module "
            "JOIN runs r ON r.id = m.run_id",
            (release,),
        )
        outcomes: dict[str, ModuleRunOutcome] = {}
        for r in rows:
            outcomes[r["module"]] = ModuleRunOutcome(
                module=r["module"], outcome=r["outcome"], run_id=r["run_id"],
                run_status=r["run_status"], sample=r["sample"], previous=r["previous"],
                release=release, finished_at=r["finished_at"],
                version_before=r["version_before"], version_after=r["version_after"],
                excerpt=r["excerpt"],
            )
        return dict(sorted(outcomes.items()))

    # -- check (reads only) ---------------------------------------------------------------------

    def check_coverage_rows(self, release: str) -> list[tuple[str, str, str | None, str, str]]:
        """The newest scan of ``release`` as raw rows for the check data, built for speed:
        (module, status, target, evidence JSON, disagreements JSON), by module."""
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: a third of the time of sqlite3.Row
        return cursor.execute(
            "SELECT module, status, target, evidence, disagreements FROM coverage_modules "
            "WHERE scan_id = (SELECT id FROM coverage_scans WHERE release = ? "
            "ORDER BY id DESC LIMIT 1) ORDER BY module",
            (release,),
        ).fetchall()

    def check_data_key(self) -> list[list[Any]]:
        """What the check data depends on: the newest scan per release and the finished runs
        per release (count, newest id, newest finish). Equal keys, equal check data."""
        # A rescan of the same revisions replaces its row and may get the same id back:
        # its time and totals tell it apart.
        scans = self._execute(
            "SELECT 'scan', release, id, scanned_at || ' ' || totals, revisions_key "
            "FROM coverage_scans WHERE id IN (SELECT MAX(id) FROM coverage_scans GROUP BY release)"
        ).fetchall()
        runs = self._execute(
            "SELECT 'runs', release, MAX(id), COUNT(*), MAX(finished_at) FROM runs "
            "WHERE kind = 'run' AND status != 'running' GROUP BY release"
        ).fetchall()
        return sorted([list(row) for row in [*scans, *runs]])

    # -- site (reads only) ----------------------------------------------------------------------

    def site_key(self) -> list[list[Any]]:
        """A cheap fingerprint of everything the site shows (scans, finished runs, syncs,
        upstream checks): equal keys, equal site, so an unchanged rebuild reads nothing else."""
        queries = (
            "SELECT 'scans', release, COUNT(*), MAX(id), MAX(scanned_at), "
            "TOTAL(LENGTH(totals)) FROM coverage_scans GROUP BY release ORDER BY release",
            "SELECT 'runs', release, COUNT(*), MAX(id), MAX(finished_at), "
            "TOTAL(id * (LENGTH(status) + LENGTH(message))) FROM runs "
            "WHERE kind = 'run' AND status != 'running' GROUP BY release ORDER BY release",
            "SELECT 'sync', release, branch, revid, last_success, last_attempt, last_error "
            "FROM sync_state ORDER BY release, branch",
            "SELECT 'upstream', release, branch, upstream_url, upstream_revid, mirror_revid, "
            "unmerged_count, last_success, last_attempt, last_error FROM upstream_lag "
            "ORDER BY release, branch",
        )
        cursor = self._conn.cursor()
        cursor.row_factory = None
        return [list(row) for sql in queries for row in cursor.execute(sql)]

    def site_run_modules(self) -> list[tuple[int, str, str, str | None, str | None, str]]:
        """Every module outcome of every finished sample run, in one query for the site:
        (run_id, module, outcome, version_before, version_after, excerpt), by run then module."""
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: thousands of runs x their modules
        return cursor.execute(
            "SELECT m.run_id, m.module, m.outcome, m.version_before, m.version_after, m.excerpt "
            "FROM run_modules m JOIN runs r ON r.id = m.run_id "
            "WHERE r.kind = 'run' AND r.status != 'running' ORDER BY m.run_id, m.module"
        ).fetchall()



# -- runner records (0004) ----------------------------------------------------------------------


@dataclass(frozen=True)
class SampleTemplate:
    """The template database a sample's dump was restored into, keyed by the dump's checksum."""

    sample: str
    release: str
    dbname: str
    checksum: str
    dump: str
    filestore: str | None
    imported_at: str


@dataclass(frozen=True)
class ScratchDatabase:
    """A database whose name ouhub generated and recorded (kind: template, scratch, copy, restore)."""

    name: str
    kind: str
    run_id: int | None
    host: str
    pid: int | None
    keep: bool
    created_at: str
    dropped_at: str | None


@dataclass(frozen=True)
class RunModule:
    """One module's outcome in a run: upgraded, failed (with excerpt) or not_reached."""

    module: str
    outcome: str
    version_before: str | None = None
    version_after: str | None = None
    scripts: tuple[str, ...] = ()
    excerpt: str = ""
    run_id: int | None = None


@dataclass(frozen=True)
class Run:
    """One upgrade of a sample (kind `run`) or of a user's copy (kind `migrate`) over one step."""

    id: int
    kind: str
    release: str
    previous: str | None
    sample: str | None
    source_db: str | None
    status: str  # running, passed, failed, timeout, error
    started_at: str
    finished_at: str | None
    duration: float | None
    revisions: dict[str, Any]
    log_path: str | None
    scratch_db: str | None
    exit_code: int | None
    message: str
    chain_id: int | None
    host: str
    pid: int | None


@dataclass(frozen=True)
class ModuleRunOutcome:
    """A module's outcome in the newest finished run into a release, with that run's status."""

    module: str
    outcome: str
    run_id: int
    run_status: str
    sample: str | None
    previous: str | None
    release: str
    finished_at: str | None
    version_before: str | None
    version_after: str | None
    excerpt: str


def _template(r: sqlite3.Row) -> SampleTemplate:
    return SampleTemplate(r["sample"], r["release"], r["dbname"], r["checksum"], r["dump"],
                          r["filestore"], r["imported_at"])


def _scratch(r: sqlite3.Row) -> ScratchDatabase:
    return ScratchDatabase(r["name"], r["kind"], r["run_id"], r["host"], r["pid"],
                           bool(r["keep"]), r["created_at"], r["dropped_at"])


def _run_module(r: sqlite3.Row) -> RunModule:
    return RunModule(
        module=r["module"], outcome=r["outcome"], version_before=r["version_before"],
        version_after=r["version_after"], scripts=tuple(json.loads(r["scripts"])),
        excerpt=r["excerpt"], run_id=r["run_id"],
    )


def _run(r: sqlite3.Row) -> Run:
    return Run(
        id=r["id"], kind=r["kind"], release=r["release"], previous=r["previous"],
        sample=r["sample"], source_db=r["source_db"], status=r["status"],
        started_at=r["started_at"], finished_at=r["finished_at"], duration=r["duration"],
        revisions=json.loads(r["revisions"] or "{}"), log_path=r["log_path"],
        scratch_db=r["scratch_db"], exit_code=r["exit_code"], message=r["message"],
        chain_id=r["chain_id"], host=r["host"], pid=r["pid"],
    )


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (sqlite3 runs one per execute)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def open_store(config: Any) -> Store:
    """The store of a loaded Config."""
    return Store.open(config.store_path)


# -- coverage records (0003) --------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageScan:
    """One stored scan of a release: its revisions, when, how long, and counts per status."""

    id: int | None
    release: str
    previous: str | None
    source: str  # "mirrors", or the scanned directory
    revisions_key: str
    revisions: dict[str, str]
    scanned_at: str
    duration: float
    totals: dict[str, int]  # status -> number of modules
    summary: dict[str, Any]  # scripts_by_stage, disagreements, warnings, files_read, ...


@dataclass(frozen=True)
class ModuleCoverage:
    """A module's coverage status in a step, as the newest (or a given) scan decided it."""

    release: str
    module: str
    status: str
    target: str | None
    version: str | None
    path: str | None
    in_tree: bool
    manifest_error: str | None
    evidence: Any  # ouhub.coverage.status.Evidence (scripts, declaration, apriori)
    analysis_size: int  # changes listed in the module's analysis: ranks `todo` modules
    analysis_annotated: int
    analysed_share: float | None  # annotated / size; None without an analysis
    analysis_counts: dict[str, int]
    analysis_source: str | None
    disagreements: tuple[str, ...]
    scan_id: int | None = None
    scanned_at: str | None = None


def _coverage_scan(row: sqlite3.Row) -> CoverageScan:
    return CoverageScan(
        id=row["id"], release=row["release"], previous=row["previous"], source=row["source"],
        revisions_key=row["revisions_key"], revisions=json.loads(row["revisions"]),
        scanned_at=row["scanned_at"], duration=row["duration"], totals=json.loads(row["totals"]),
        summary=json.loads(row["summary"]),
    )


def _module_coverage(row: sqlite3.Row, scan: CoverageScan) -> ModuleCoverage:
    from ouhub.coverage.status import Evidence  # the record's home; imported late (no cycle)

    return ModuleCoverage(
        release=scan.release, module=row["module"], status=row["status"], target=row["target"],
        version=row["version"], path=row["path"], in_tree=bool(row["in_tree"]),
        manifest_error=row["manifest_error"],
        evidence=Evidence.from_dict(json.loads(row["evidence"])),
        analysis_size=row["analysis_size"], analysis_annotated=row["analysis_annotated"],
        analysed_share=row["analysed_share"], analysis_counts=json.loads(row["analysis_counts"]),
        analysis_source=row["analysis_source"],
        disagreements=tuple(json.loads(row["disagreements"])), scan_id=scan.id,
        scanned_at=scan.scanned_at,
    )


# -- sync records (0002) ------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncState:
    """A branch's mirror as the last sync left it; revid/revno are those of the last success."""

    release: str
    branch: str
    url: str
    served_url: str | None
    vcs: str | None
    revid: str | None
    revno: int | None
    new_revisions: int
    last_success: str | None
    last_attempt: str
    last_error: str | None

    @property
    def ok(self) -> bool:
        return self.last_error is None


def _sync_state(row: sqlite3.Row) -> SyncState:
    return SyncState(**dict(row))
