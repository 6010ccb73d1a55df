"""Failures (0060): each failed module outcome's fingerprint, module histories across runs,
and the suspect commits of regressions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ouhub import records  # each record made on first use
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import Attempt, Commit, Fingerprint, SuspectRange

# the runs a failure history is made of: finished sample runs
_SAMPLE_RUNS = "r.kind = 'run' AND r.status != 'running' AND r.sample IS NOT NULL"


class FailureQueries(Database):
    def fingerprints(self, keys: Iterable[str] | None = None) -> dict[str, Fingerprint]:
        """The stored fingerprints (of ``keys``, else all), by key."""
        if keys is None:
            rows = self._execute("SELECT * FROM fingerprints")
        else:
            wanted = sorted(set(keys))
            rows = self._execute(
                f"SELECT * FROM fingerprints WHERE key IN ({', '.join('?' * len(wanted))})",
                tuple(wanted),
            )
        return {r["key"]: records.Fingerprint(r["module"], r["stage"], r["exception"], r["message"])
                for r in rows}

    def module_histories(
        self, release: str | None = None
    ) -> dict[tuple[str, str, str], list[Attempt]]:
        """Per (release, sample, module), its outcome in every finished sample run, oldest
        first."""
        sql = ("SELECT r.release, r.sample, m.module, r.id, r.started_at, r.revisions, "
               "m.outcome, m.fingerprint FROM run_modules m JOIN runs r ON r.id = m.run_id "
               f"WHERE {_SAMPLE_RUNS}")
        params: tuple = ()
        if release is not None:
            sql += " AND r.release = ?"
            params = (release,)
        histories: dict[tuple[str, str, str], list[Attempt]] = {}
        revisions: dict[str, tuple[tuple[str, str], ...]] = {}  # the same JSON, parsed once
        for rel, sample, module, run_id, started, revs, outcome, key in self._tuples().execute(
                sql + " ORDER BY r.id", params):
            if revs not in revisions:
                revisions[revs] = records.revisions_of(json.loads(revs or "{}"))
            histories.setdefault((rel, sample, module), []).append(
                records.Attempt(run_id, started, outcome, revisions[revs], key))
        return histories

    def fingerprint_sightings(self, key: str) -> list[tuple[str, str, str]]:
        """The (release, sample, module) whose runs failed with fingerprint ``key``."""
        rows = self._execute(
            "SELECT DISTINCT r.release, r.sample, m.module FROM run_modules m "
            f"JOIN runs r ON r.id = m.run_id WHERE m.fingerprint = ? AND {_SAMPLE_RUNS} "
            "ORDER BY r.release, r.sample, m.module", (key,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def module_history(self, release: str, sample: str, module: str) -> list[Attempt]:
        """One module's outcome in every finished run of a release and sample, oldest first."""
        rows = self._execute(
            "SELECT r.id, r.started_at, r.revisions, m.outcome, m.fingerprint FROM run_modules m "
            f"JOIN runs r ON r.id = m.run_id WHERE {_SAMPLE_RUNS} AND r.release = ? "
            "AND r.sample = ? AND m.module = ? ORDER BY r.id", (release, sample, module),
        )
        return [records.Attempt(r[0], r[1], r[3],
                                records.revisions_of(json.loads(r[2] or "{}")), r[4])
                for r in rows]

    def has_suspect_ranges(self, run_id: int, module: str) -> bool:
        return self._execute(
            "SELECT 1 FROM suspect_ranges WHERE run_id = ? AND module = ? LIMIT 1",
            (run_id, module),
        ).fetchone() is not None

    def record_suspect_ranges(self, ranges: Iterable[SuspectRange]) -> None:
        """Store what was read of a regression's branches (replacing an earlier reading)."""
        with self.transaction():
            for one in ranges:
                self._execute(
                    "INSERT OR REPLACE INTO suspect_ranges (run_id, module, branch, since_run_id,"
                    " since, until, total, error, read_at, folder) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (one.run_id, one.module, one.branch, one.since_run_id, one.since, one.until,
                     one.total, one.error, utcnow(), one.folder),
                )
                self._execute(
                    "DELETE FROM suspect_commits WHERE run_id = ? AND module = ? AND branch = ?",
                    (one.run_id, one.module, one.branch),
                )
                for position, commit in enumerate(one.commits):
                    self._execute(
                        "INSERT INTO suspect_commits (run_id, module, branch, position, revision,"
                        " revid, author, date, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (one.run_id, one.module, one.branch, position, commit.revision,
                         commit.revid, commit.author, commit.date, commit.summary),
                    )

    def suspect_ranges(self, release: str | None = None) -> list[SuspectRange]:
        """Every stored range (of one release's runs), by run, module and branch."""
        sql = ("SELECT s.*, r.release, r.sample FROM suspect_ranges s "
               "JOIN runs r ON r.id = s.run_id")
        params: tuple = ()
        if release is not None:
            sql += " WHERE r.release = ?"
            params = (release,)
        commits: dict[tuple[int, str, str], list[Commit]] = {}
        for c in self._execute("SELECT * FROM suspect_commits ORDER BY run_id, module, branch, "
                               "position"):
            commits.setdefault((c["run_id"], c["module"], c["branch"]), []).append(
                records.Commit(c["revision"], c["revid"], c["author"], c["date"], c["summary"]))
        return [
            records.SuspectRange(
                release=r["release"], sample=r["sample"], module=r["module"],
                run_id=r["run_id"], since_run_id=r["since_run_id"], branch=r["branch"],
                since=r["since"], until=r["until"],
                commits=tuple(commits.get((r["run_id"], r["module"], r["branch"]), ())),
                total=r["total"], error=r["error"], folder=r["folder"],
            )
            for r in self._execute(sql + " ORDER BY s.run_id, s.module, s.branch", params)
        ]
