"""Reads for check and the site: their data keys (equal keys, equal output) and bulk rows."""

from __future__ import annotations

from typing import Any

from ouhub.store.db import Database


class ReadQueries(Database):
    def check_coverage_rows(self, release: str) -> list[tuple[str, str, str | None, str, str]]:
        """The newest scan of ``release`` as raw rows for the check data, built for speed:
        (module, status, target, evidence JSON, disagreements JSON), by module."""
        return self._tuples().execute(
            "SELECT module, status, target, evidence, disagreements FROM coverage_modules "
            "WHERE scan_id = (SELECT id FROM coverage_scans WHERE release = ? AND published = 1 "
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
            "FROM coverage_scans WHERE id IN (SELECT MAX(id) FROM coverage_scans "
            "WHERE published = 1 GROUP BY release)"
        ).fetchall()
        runs = self._execute(
            "SELECT 'runs', release, MAX(id), COUNT(*), MAX(finished_at) FROM runs "
            "WHERE kind = 'run' AND status != 'running' GROUP BY release"
        ).fetchall()
        return sorted([list(row) for row in [*scans, *runs]]) + self._contributions_key()

    def _contributions_key(self) -> list[list[Any]]:
        """What the contributions stage stored: pulls, their reading, matches, proposals.

        Each collection moves its releases' ``collected_at``: the key changes every run,
        so the day's stale work is decided anew even when nothing else changed."""
        cursor = self._tuples()
        return [list(row) for sql in _CONTRIBUTIONS_KEY for row in cursor.execute(sql)]

    def site_key(self) -> list[list[Any]]:
        """A cheap fingerprint of everything the site shows (scans, finished runs, syncs,
        upstream checks, contributions): equal keys, equal site, so an unchanged rebuild reads
        nothing else."""
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
            # a regression's suspect commits are read after its run, and may be read again
            "SELECT 'suspects', COUNT(*), MAX(read_at), TOTAL(total) FROM suspect_ranges",
        )
        cursor = self._tuples()
        return [list(row) for sql in queries for row in cursor.execute(sql)] + \
            self._contributions_key()

    def site_run_modules(
        self,
    ) -> list[tuple[int, str, str, str | None, str | None, str, str | None]]:
        """Every module outcome of every finished sample run, in one query for the site:
        (run_id, module, outcome, version_before, version_after, excerpt, fingerprint key), by
        run then module."""
        # plain tuples: thousands of runs x their modules
        return self._tuples().execute(
            "SELECT m.run_id, m.module, m.outcome, m.version_before, m.version_after, m.excerpt, "
            "m.fingerprint "
            "FROM run_modules m JOIN runs r ON r.id = m.run_id "
            "WHERE r.kind = 'run' AND r.status != 'running' ORDER BY m.run_id, m.module"
        ).fetchall()


_CONTRIBUTIONS_KEY = (
    "SELECT 'pulls', COUNT(*), MAX(collected_at), TOTAL(LENGTH(updated_at || COALESCE(files_head, '') || "
    "COALESCE(activity_at, ''))) FROM contribution_pulls",
    "SELECT 'matches', source, COUNT(*), TOTAL(LENGTH(evidence)) FROM contribution_matches "
    "GROUP BY source ORDER BY source",
    "SELECT 'tracking', release, number, updated_at FROM contribution_tracking ORDER BY release",
    "SELECT 'collected', release, collected_at, last_error FROM contribution_releases "
    "ORDER BY release",
    "SELECT 'proposals', COUNT(*), MAX(collected_at) FROM merge_proposals",
)
