"""The runner's state (0004): sample templates, the databases ouhub created, runs and
their module outcomes; (0030) the records of Celery workers, and the upgrade process groups."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from ouhub import records  # each record made on first use
from ouhub.redact import redact_urls
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import (
        ModuleRunOutcome,
        Run,
        RunModule,
        SampleTemplate,
        ScratchDatabase,
        UpgradeProcess,
    )


class RunnerQueries(Database):
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
        pid: int | None = None, keep: bool = False, cloned_from: str | None = None,
    ) -> None:
        """Record a database name ouhub generated, before it is created."""
        with self.transaction():
            self._execute(
                "INSERT OR REPLACE INTO scratch_databases "
                "(name, kind, run_id, host, pid, keep, created_at, dropped_at, cloned_from) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (name, kind, run_id, host, pid, int(keep), utcnow(), cloned_from),
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

    def spare_databases(self) -> list[ScratchDatabase]:
        """The live spare clones of templates (complete or being made), oldest first."""
        rows = self._execute(
            "SELECT * FROM scratch_databases WHERE kind = 'spare' AND dropped_at IS NULL "
            "ORDER BY created_at, name")
        return [_scratch(r) for r in rows]

    def clone_strategy(self, template: str) -> str | None:
        """The CREATE DATABASE strategy measured fastest for ``template`` (None: not measured)."""
        row = self._execute("SELECT strategy FROM template_clones WHERE template = ?",
                            (template,)).fetchone()
        return row[0] if row else None

    def record_clone_strategy(self, template: str, strategy: str,
                              seconds: dict[str, float]) -> None:
        """The strategy chosen for ``template`` and what each took (by strategy)."""
        with self.transaction():
            self._execute(
                "INSERT OR REPLACE INTO template_clones (template, strategy, file_copy_seconds, "
                "wal_log_seconds, measured_at) VALUES (?, ?, ?, ?, ?)",
                (template, strategy, seconds.get("FILE_COPY"), seconds.get("WAL_LOG"), utcnow()))

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
        if fields.get("message"):
            fields["message"] = redact_urls(fields["message"])
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
                (status, utcnow(), duration, exit_code, redact_urls(message), log_path, run_id),
            )
            self._execute("DELETE FROM run_modules WHERE run_id = ?", (run_id,))
            self._insert_modules(run_id, modules)

    def _insert_modules(self, run_id: int, modules: list[RunModule] | tuple[RunModule, ...]
                        ) -> None:
        for m in modules:
            fingerprint = m.fingerprint
            if fingerprint is not None:
                self._execute(
                    "INSERT OR IGNORE INTO fingerprints (key, module, stage, exception, "
                    "message) VALUES (?, ?, ?, ?, ?)",
                    (fingerprint.key, fingerprint.module, fingerprint.stage,
                     fingerprint.exception, fingerprint.message),
                )
            self._execute(
                "INSERT INTO run_modules (run_id, module, outcome, version_before, "
                "version_after, scripts, excerpt, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, m.module, m.outcome, m.version_before, m.version_after,
                 json.dumps(list(m.scripts)), m.excerpt,
                 fingerprint.key if fingerprint is not None else None),
            )

    def store_worker_run(
        self, run_id: int, *, status: str, duration: float, exit_code: int | None,
        message: str, modules: list[RunModule] | tuple[RunModule, ...], log_path: str | None,
        host: str, worker: str, revisions: dict[str, Any], losses: int,
    ) -> bool:
        """Store a worker's record of run ``run_id`` unless that run was stored already.

        The run id is the coordinator's: a run done twice (a worker thought lost finished
        it after all) is stored once. A run `interrupted` (its coordinator gone, or stopped
        waiting) takes the record that comes back after all. Returns whether it was stored.
        """
        with self.transaction():
            cur = self._execute(
                "UPDATE runs SET status = ?, finished_at = ?, duration = ?, exit_code = ?, "
                "message = ?, log_path = ?, host = ?, pid = NULL, worker = ?, revisions = ?, "
                "losses = ? WHERE id = ? AND status IN ('running', 'interrupted')",
                (status, utcnow(), duration, exit_code, redact_urls(message), log_path, host,
                 worker or None,
                 json.dumps(revisions, sort_keys=True), losses, run_id),
            )
            if cur.rowcount != 1:
                return False
            self._insert_modules(run_id, modules)
            return True

    def record_upgrade_process(
        self, marker: str, *, host: str, pgid: int, owner_pid: int, database: str
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO upgrade_processes (marker, host, pgid, owner_pid, database, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (marker, host, pgid, owner_pid, database, utcnow()),
            )

    def end_upgrade_process(self, marker: str) -> None:
        with self.transaction():
            self._execute("UPDATE upgrade_processes SET ended_at = ? WHERE marker = ?",
                          (utcnow(), marker))

    def live_upgrade_processes(self, host: str) -> list[UpgradeProcess]:
        """The upgrade process groups of ``host`` not known to have ended."""
        rows = self._execute(
            "SELECT * FROM upgrade_processes WHERE host = ? AND ended_at IS NULL "
            "ORDER BY started_at", (host,))
        return [records.UpgradeProcess(r["marker"], r["host"], r["pgid"], r["owner_pid"],
                                       r["database"], r["started_at"], r["ended_at"])
                for r in rows]

    def run(self, run_id: int) -> Run | None:
        row = self._execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def runs(
        self, release: str | None = None, sample: str | None = None, limit: int | None = None,
        kind: str | None = None,
    ) -> list[Run]:
        """Runs, newest first, optionally of one release (target), sample or kind."""
        return [_run(r) for r in self.run_rows(release, sample, limit, kind)]

    def run_rows(
        self, release: str | None = None, sample: str | None = None, limit: int | None = None,
        kind: str | None = None,
    ) -> list[sqlite3.Row]:
        """``runs`` as the rows they are made of: `ouhub status` shows them without making
        records."""
        sql, params = "SELECT * FROM runs WHERE 1 = 1", []
        for column, value in (("release", release), ("sample", sample), ("kind", kind)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self._execute(sql, tuple(params)).fetchall()

    def active_runs(self) -> list[Run]:
        return [_run(r) for r in self._execute("SELECT * FROM runs WHERE status = 'running'")]

    def run_modules(self, run_id: int) -> list[RunModule]:
        rows = self._execute(
            "SELECT m.*, f.module AS f_module, f.stage AS f_stage, f.exception AS f_exception, "
            "f.message AS f_message FROM run_modules m "
            "LEFT JOIN fingerprints f ON f.key = m.fingerprint "
            "WHERE m.run_id = ? ORDER BY m.module", (run_id,)
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
            outcomes[r["module"]] = records.ModuleRunOutcome(
                module=r["module"], outcome=r["outcome"], run_id=r["run_id"],
                run_status=r["run_status"], sample=r["sample"], previous=r["previous"],
                release=release, finished_at=r["finished_at"],
                version_before=r["version_before"], version_after=r["version_after"],
                excerpt=r["excerpt"],
            )
        return dict(sorted(outcomes.items()))


def _template(r: sqlite3.Row) -> SampleTemplate:
    return records.SampleTemplate(r["sample"], r["release"], r["dbname"], r["checksum"], r["dump"],
                                  r["filestore"], r["imported_at"])


def _scratch(r: sqlite3.Row) -> ScratchDatabase:
    return records.ScratchDatabase(r["name"], r["kind"], r["run_id"], r["host"], r["pid"],
                                   bool(r["keep"]), r["created_at"], r["dropped_at"],
                                   r["cloned_from"])


def _run_module(r: sqlite3.Row) -> RunModule:
    return records.RunModule(
        module=r["module"], outcome=r["outcome"], version_before=r["version_before"],
        version_after=r["version_after"], scripts=tuple(json.loads(r["scripts"])),
        excerpt=r["excerpt"], run_id=r["run_id"],
        fingerprint=records.Fingerprint(r["f_module"], r["f_stage"], r["f_exception"],
                                        r["f_message"])
        if r["f_stage"] is not None else None,
    )


def _run(r: sqlite3.Row) -> Run:
    return records.Run(
        id=r["id"], kind=r["kind"], release=r["release"], previous=r["previous"],
        sample=r["sample"], source_db=r["source_db"], status=r["status"],
        started_at=r["started_at"], finished_at=r["finished_at"], duration=r["duration"],
        revisions=json.loads(r["revisions"] or "{}"), log_path=r["log_path"],
        scratch_db=r["scratch_db"], exit_code=r["exit_code"], message=r["message"],
        chain_id=r["chain_id"], host=r["host"], pid=r["pid"], worker=r["worker"],
        losses=r["losses"],
    )
