"""Contributions records: pull requests, merge proposals and their matches."""

from __future__ import annotations

from dataclasses import dataclass

from ouhub.vocab import CLOSED, MERGED, OPEN, WRITING_EVIDENCE

# -- contributions (0040) -------------------------------------------------------------------------

@dataclass(frozen=True)
class Pull:
    """A GitHub pull request as the pulls list (pull-request-simple) describes it."""

    number: int
    title: str
    state: str  # open, closed
    merged: bool
    draft: bool
    author: str
    author_is_bot: bool
    created_at: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None
    base: str
    head_sha: str
    head_ref: str
    url: str
    body: str = ""
    labels: tuple[str, ...] = ()

    @property
    def work_state(self) -> str:
        """open, merged, or closed (without being merged)."""
        return OPEN if self.state == "open" else (MERGED if self.merged else CLOSED)


@dataclass(frozen=True)
class PullFile:
    """One changed file of a pull request (a diff-entry)."""

    filename: str
    status: str
    additions: int
    deletions: int
    patch: str | None = None
    previous_filename: str | None = None


@dataclass(frozen=True)
class PullActivity:
    """What a pull request's reviews and timeline said when they were read."""

    last_author_activity: str  # its author's last commit, comment or push (no bots, no labels)
    approvals: int = 0
    changes_requested: int = 0
    next_actor: str | None = None  # author, reviewers; None once closed
    superseded_by: int | None = None  # "Superseded by #N" in its comments


@dataclass(frozen=True)
class StoredPull:
    """A stored pull request, with its files and activity and the head/update they are of."""

    pull: Pull
    files_head: str | None = None
    files: tuple[PullFile, ...] | None = None  # None: not read yet
    activity_at: str | None = None  # the updated_at whose reviews and timeline were read
    activity: PullActivity | None = None
    error: str | None = None


@dataclass(frozen=True)
class MergeProposal:
    """A Launchpad merge proposal of the bzr era."""

    url: str
    project: str
    source_branch: str  # ~owner/project/name
    target_branch: str
    release: str | None  # the target branch's last segment when it is a configured release
    registrant: str
    status: str  # Launchpad's queue_status: Merged, Rejected, Needs review, Superseded...
    created_at: str
    merged_at: str | None
    paths: tuple[str, ...] = ()  # its preview diff's paths

    @property
    def work_state(self) -> str:
        if self.status == "Merged":
            return MERGED
        return CLOSED if self.status in ("Rejected", "Superseded", "Code failed to merge") \
            else OPEN


@dataclass(frozen=True)
class MatchEvidence:
    kind: str  # one of vocab.EVIDENCE_KINDS
    detail: str  # the path, line or token that says so


@dataclass(frozen=True)
class Match:
    """Work tied to (release, module); module None: it touches no module (docs, CI)."""

    release: str
    module: str | None
    evidence: tuple[MatchEvidence, ...]
    declared_status: str | None = None  # the docsource status once merged

    @property
    def writing(self) -> bool:
        return any(e.kind in WRITING_EVIDENCE for e in self.evidence)


@dataclass(frozen=True)
class Issue:
    """A GitHub issue as read (a tracking issue)."""

    number: int
    title: str
    state: str
    body: str
    url: str
    updated_at: str


@dataclass(frozen=True)
class TrackingIssue:
    """A release's tracking issue as stored; number None: searched for, not found."""

    release: str
    number: int | None
    title: str
    url: str
    body: str
    updated_at: str | None
    searched_at: str


@dataclass(frozen=True)
class ContributionRelease:
    """Where the collection of one release stands."""

    release: str
    closed_through: str | None  # the newest update among the closed pull requests read
    collected_at: str | None
    error: str | None


@dataclass(frozen=True)
class CachedResponse:
    """What a GitHub 304 stands for: the body and Link header its ETag was sent with."""

    etag: str
    body: str
    link: str = ""
