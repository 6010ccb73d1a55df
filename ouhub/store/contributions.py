"""The contributions stage's state (0040): pull requests, what was read of them, their
matches, tracking issues, merge proposals, and GitHub's ETags with the bodies they stand for.

The token is never given to the store: nothing here can hold it.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ouhub import records  # each record made on first use
from ouhub.store.db import Database, utcnow

if TYPE_CHECKING:
    from ouhub.records import (
        CachedResponse,
        ContributionRelease,
        Issue,
        Match,
        MergeProposal,
        Pull,
        PullActivity,
        PullFile,
        StoredPull,
        TrackingIssue,
    )

_PULL_COLUMNS = (
    "number", "title", "state", "merged", "draft", "author", "author_is_bot", "created_at",
    "updated_at", "closed_at", "merged_at", "base", "head_sha", "head_ref", "url", "body",
    "labels",
)


class StoreCache:
    """GitHub's conditional cache in the store: ETag, Link and the body, compressed."""

    def __init__(self, store: ContributionQueries):
        self._store = store

    def lookup(self, url: str) -> CachedResponse | None:
        row = self._store._execute(
            "SELECT etag, body, link FROM github_etags WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return records.CachedResponse(etag=row["etag"], body=zlib.decompress(row["body"]).decode(),
                                      link=row["link"])

    def save(self, url: str, cached: CachedResponse) -> None:
        with self._store.transaction():
            self._store._execute(
                "INSERT INTO github_etags (url, etag, body, link, saved_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
                "body = excluded.body, link = excluded.link, saved_at = excluded.saved_at",
                (url, cached.etag, zlib.compress(cached.body.encode(), 6), cached.link, utcnow()),
            )


class ContributionQueries(Database):
    # -- collection --------------------------------------------------------------------------

    def github_cache(self) -> StoreCache:
        return StoreCache(self)

    def save_pulls(self, pulls: Iterable[Pull], collected_at: str | None = None) -> None:
        """Insert or update pull requests as listed; what was read of them is kept."""
        at = collected_at or utcnow()
        rows = [_pull_row(p) + (at,) for p in pulls]
        columns = ", ".join(_PULL_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _PULL_COLUMNS[1:])
        with self.transaction():
            self._conn.executemany(
                f"INSERT INTO contribution_pulls ({columns}, collected_at) "
                f"VALUES ({', '.join('?' * (len(_PULL_COLUMNS) + 1))}) "
                f"ON CONFLICT (number) DO UPDATE SET {updates}, "
                "collected_at = excluded.collected_at",
                rows,
            )

    def save_pull_files(self, number: int, head_sha: str, files: Sequence[PullFile]) -> None:
        """The files of a pull request's head, with the patches given (the stage keeps only
        those of the declared coverage files)."""
        kept = [[f.filename, f.previous_filename, f.patch] for f in files]
        with self.transaction():
            self._execute(
                "UPDATE contribution_pulls SET files_head = ?, files = ?, error = NULL "
                "WHERE number = ?", (head_sha, json.dumps(kept), number))

    def save_pull_activity(self, number: int, updated_at: str, activity: PullActivity) -> None:
        with self.transaction():
            self._execute(
                "UPDATE contribution_pulls SET activity_at = ?, last_author_activity = ?, "
                "approvals = ?, changes_requested = ?, next_actor = ?, superseded_by = ?, "
                "error = NULL WHERE number = ?",
                (updated_at, activity.last_author_activity, activity.approvals,
                 activity.changes_requested, activity.next_actor, activity.superseded_by,
                 number))

    def record_pull_error(self, number: int, error: str) -> None:
        with self.transaction():
            self._execute("UPDATE contribution_pulls SET error = ? WHERE number = ?",
                          (error, number))

    def contribution_pulls(self, release: str | None = None) -> list[StoredPull]:
        """Every stored pull request (into one release), by number."""
        where, params = ("WHERE base = ?", (release,)) if release else ("", ())
        rows = self._execute(
            f"SELECT * FROM contribution_pulls {where} ORDER BY number", params).fetchall()
        return [_stored_pull(r) for r in rows]

    def contribution_release(self, release: str) -> ContributionRelease | None:
        row = self._execute(
            "SELECT * FROM contribution_releases WHERE release = ?", (release,)).fetchone()
        return _release(row) if row else None

    def contribution_releases(self) -> dict[str, ContributionRelease]:
        rows = self._execute("SELECT * FROM contribution_releases ORDER BY release")
        return {r["release"]: _release(r) for r in rows}

    def record_contribution_release(
        self, release: str, closed_through: str | None = None, collected_at: str | None = None,
        error: str | None = None,
    ) -> None:
        """A release collected (its watermark moves), or failed (the error is kept)."""
        with self.transaction():
            if error is not None:
                self._execute(
                    "INSERT INTO contribution_releases (release, last_error) VALUES (?, ?) "
                    "ON CONFLICT (release) DO UPDATE SET last_error = excluded.last_error",
                    (release, error))
                return
            self._execute(
                "INSERT INTO contribution_releases (release, closed_through, collected_at) "
                "VALUES (?, ?, ?) ON CONFLICT (release) DO UPDATE SET "
                "closed_through = excluded.closed_through, "
                "collected_at = excluded.collected_at, last_error = NULL",
                (release, closed_through, collected_at))

    def tracking_issue(self, release: str) -> TrackingIssue | None:
        row = self._execute(
            "SELECT * FROM contribution_tracking WHERE release = ?", (release,)).fetchone()
        return _tracking(row) if row else None

    def tracking_issues(self) -> dict[str, TrackingIssue]:
        rows = self._execute("SELECT * FROM contribution_tracking ORDER BY release")
        return {r["release"]: _tracking(r) for r in rows}

    def save_tracking_issue(self, release: str, issue: Issue | None, searched_at: str) -> None:
        """The release's tracking issue as read, or None: searched for and not found."""
        values = (
            (issue.number, issue.title, issue.url, issue.body, issue.updated_at) if issue
            else (None, "", "", "", None)
        )
        with self.transaction():
            self._execute(
                "INSERT INTO contribution_tracking (release, number, title, url, body, "
                "updated_at, searched_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (release) DO UPDATE SET number = excluded.number, "
                "title = excluded.title, url = excluded.url, body = excluded.body, "
                "updated_at = excluded.updated_at, searched_at = excluded.searched_at",
                (release, *values, searched_at))

    def contributions_resume_at(self) -> str | None:
        row = self._execute(
            "SELECT value FROM contribution_state WHERE key = 'resume_at'").fetchone()
        return row["value"] if row else None

    def set_contributions_resume_at(self, when: str | None) -> None:
        with self.transaction():
            if when is None:
                self._execute("DELETE FROM contribution_state WHERE key = 'resume_at'")
            else:
                self._execute(
                    "INSERT INTO contribution_state (key, value) VALUES ('resume_at', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (when,))

    # -- Launchpad ----------------------------------------------------------------------------

    def merge_proposals(self) -> dict[str, MergeProposal]:
        rows = self._execute("SELECT * FROM merge_proposals ORDER BY created_at, url")
        return {r["url"]: _proposal(r) for r in rows}

    def save_merge_proposals(self, proposals: Iterable[MergeProposal]) -> None:
        rows = [
            (p.url, p.project, p.source_branch, p.target_branch, p.release, p.registrant,
             p.status, p.created_at, p.merged_at, json.dumps(list(p.paths)), utcnow())
            for p in proposals
        ]
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO merge_proposals (url, project, source_branch, target_branch, "
                "release, registrant, status, created_at, merged_at, paths, collected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
                "release = excluded.release, status = excluded.status, "
                "merged_at = excluded.merged_at, paths = excluded.paths, "
                "collected_at = excluded.collected_at", rows)

    def launchpad_unreachable(self) -> dict[str, str]:
        """Projects that did not answer: project -> since when."""
        rows = self._execute("SELECT project, since FROM launchpad_unreachable ORDER BY project")
        return {r["project"]: r["since"] for r in rows}

    def set_launchpad_unreachable(self, unreachable: Mapping[str, str],
                                  answered: Iterable[str]) -> None:
        with self.transaction():
            for project, message in unreachable.items():
                self._execute(
                    "INSERT INTO launchpad_unreachable (project, since, message) "
                    "VALUES (?, ?, ?) ON CONFLICT (project) DO UPDATE SET "
                    "message = excluded.message", (project, utcnow(), message))
            for project in answered:
                self._execute("DELETE FROM launchpad_unreachable WHERE project = ?", (project,))

    # -- matches ------------------------------------------------------------------------------

    def replace_matches(self, source: str, matches: Mapping[str, Sequence[Match]]) -> None:
        """All the matches of one source (github, launchpad), replacing the stored ones."""
        rows = [
            (source, ref, m.release, m.module or "",
             json.dumps([[e.kind, e.detail] for e in m.evidence]), m.declared_status)
            for ref, items in matches.items() for m in items
        ]
        with self.transaction():
            self._execute("DELETE FROM contribution_matches WHERE source = ?", (source,))
            self._conn.executemany(
                "INSERT INTO contribution_matches (source, ref, release, module, evidence, "
                "declared_status) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def contribution_matches(self, release: str | None = None
                             ) -> list[tuple[str, str, Match]]:
        """(source, ref, match) of one release (all when None), by release, module, ref."""
        where, params = ("WHERE release = ?", (release,)) if release else ("", ())
        rows = self._execute(
            f"SELECT * FROM contribution_matches {where} ORDER BY release, module, ref", params)
        return [
            (r["source"], r["ref"], records.Match(
                release=r["release"], module=r["module"] or None,
                evidence=tuple(records.MatchEvidence(k, d) for k, d in json.loads(r["evidence"])),
                declared_status=r["declared_status"]))
            for r in rows
        ]


def _pull_row(p: Pull) -> tuple:
    return (p.number, p.title, p.state, int(p.merged), int(p.draft), p.author,
            int(p.author_is_bot), p.created_at, p.updated_at, p.closed_at, p.merged_at, p.base,
            p.head_sha, p.head_ref, p.url, p.body, json.dumps(list(p.labels)))


def _stored_pull(r: sqlite3.Row) -> StoredPull:
    pull = records.Pull(
        number=r["number"], title=r["title"], state=r["state"], merged=bool(r["merged"]),
        draft=bool(r["draft"]), author=r["author"], author_is_bot=bool(r["author_is_bot"]),
        created_at=r["created_at"], updated_at=r["updated_at"], closed_at=r["closed_at"],
        merged_at=r["merged_at"], base=r["base"], head_sha=r["head_sha"],
        head_ref=r["head_ref"], url=r["url"], body=r["body"],
        labels=tuple(json.loads(r["labels"])),
    )
    files = None
    if r["files"] is not None:
        files = tuple(
            records.PullFile(filename=name, status="", additions=0, deletions=0, patch=patch,
                             previous_filename=previous)
            for name, previous, patch in json.loads(r["files"])
        )
    activity = None
    if r["activity_at"] is not None:
        activity = records.PullActivity(
            last_author_activity=r["last_author_activity"], approvals=r["approvals"],
            changes_requested=r["changes_requested"], next_actor=r["next_actor"],
            superseded_by=r["superseded_by"])
    return records.StoredPull(pull=pull, files_head=r["files_head"], files=files,
                              activity_at=r["activity_at"], activity=activity, error=r["error"])


def _release(r: sqlite3.Row) -> ContributionRelease:
    return records.ContributionRelease(release=r["release"], closed_through=r["closed_through"],
                                       collected_at=r["collected_at"], error=r["last_error"])


def _tracking(r: sqlite3.Row) -> TrackingIssue:
    return records.TrackingIssue(release=r["release"], number=r["number"], title=r["title"],
                                 url=r["url"], body=r["body"], updated_at=r["updated_at"],
                                 searched_at=r["searched_at"])


def _proposal(r: sqlite3.Row) -> MergeProposal:
    return records.MergeProposal(
        url=r["url"], project=r["project"], source_branch=r["source_branch"],
        target_branch=r["target_branch"], release=r["release"], registrant=r["registrant"],
        status=r["status"], created_at=r["created_at"], merged_at=r["merged_at"],
        paths=tuple(json.loads(r["paths"])))
