"""The contributions stage's records: what GitHub and Launchpad said, and what ouhub makes of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Kinds of evidence tying work to (release, module), strongest first.
#: base: the pull request's base branch (the merge proposal's target branch) is the release;
#: scripts: a changed file under the module's migration scripts for that release;
#: docsource: a changed row of the step's docsource/modulesXXX-YYY.rst;
#: tracking: the release's tracking issue names the pull request on the module's line;
#: title: the module is a token of the title; branch: a token of the source branch's name.
EVIDENCE_KINDS: tuple[str, ...] = ("base", "scripts", "docsource", "tracking", "title", "branch")

#: Evidence that someone is writing the module's scripts (not only touching its doc row).
WRITING_EVIDENCE: frozenset[str] = frozenset({"scripts", "tracking", "title", "branch"})

#: Work states.
WORK_STATES: tuple[str, ...] = ("open", "merged", "closed")

#: Drift between a tracking issue and what happened.
DRIFT_KINDS: tuple[str, ...] = ("merged_unticked", "ticked_unmerged", "closed_unmerged")


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
        """open, merged or closed (closed without being merged)."""
        if self.state == "open":
            return "open"
        return "merged" if self.merged else "closed"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
class Review:
    reviewer: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    submitted_at: str
    is_bot: bool = False


@dataclass(frozen=True)
class TimelineEvent:
    """One timeline event: its kind (committed, commented, labeled...), who, when."""

    kind: str
    actor: str
    at: str
    is_bot: bool = False
    body: str = ""


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    state: str
    body: str
    url: str
    updated_at: str


@dataclass(frozen=True)
class MergeProposal:
    """A Launchpad merge proposal of the bzr era."""

    url: str  # its web page
    project: str
    source_branch: str  # ~owner/project/name
    target_branch: str  # ~owner/project/name
    release: str | None  # the target branch's last segment when it names a release
    registrant: str
    status: str  # Launchpad's queue_status: Merged, Rejected, Needs review, Superseded...
    created_at: str
    merged_at: str | None
    paths: tuple[str, ...] = ()  # the preview diff's paths

    @property
    def work_state(self) -> str:
        if self.status == "Merged":
            return "merged"
        if self.status in ("Rejected", "Superseded", "Code failed to merge"):
            return "closed"
        return "open"


@dataclass(frozen=True)
class Evidence:
    kind: str  # one of EVIDENCE_KINDS
    detail: str  # the path, line or token that says so

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Match:
    """Work tied to (release, module); module None: the pull request touches no module."""

    release: str
    module: str | None
    evidence: tuple[Evidence, ...]
    declared_status: str | None = None  # the docsource status once merged (done, ...)

    @property
    def writing(self) -> bool:
        """True when the evidence says the module's scripts are written here."""
        return any(e.kind in WRITING_EVIDENCE for e in self.evidence)


@dataclass(frozen=True)
class TrackingLine:
    """One module line of a release's tracking issue: ``- [x] module - By @login - #PR``."""

    module: str
    ticked: bool
    login: str | None
    numbers: tuple[int, ...]
    line: int
    text: str


@dataclass(frozen=True)
class Drift:
    """Where the tracking issue and what happened disagree."""

    release: str
    module: str
    kind: str  # one of DRIFT_KINDS
    number: int | None
    line: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PullActivity:
    """What a pull request's timeline and reviews say, summed up when collected."""

    last_author_activity: str  # the author's last commit, comment or push (bots, labels excluded)
    approvals: int = 0
    changes_requested: int = 0
    next_actor: str | None = None  # author, reviewers; None once closed
    superseded_by: int | None = None  # "Superseded by #N" in its comments


@dataclass(frozen=True)
class Work:
    """A pull request or merge proposal writing a module's scripts for a release."""

    release: str
    module: str | None  # None: it touches no module (docs, CI)
    source: str  # github, launchpad
    ref: str  # "#5002", or the merge proposal's source branch
    url: str
    title: str
    author: str
    state: str  # open, merged, closed
    draft: bool
    opened_at: str
    closed_at: str | None
    last_author_activity: str | None
    idle_days: int | None  # days since the author's last activity, while open
    approvals: int
    changes_requested: int
    next_actor: str | None
    labels: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    declared_status: str | None
    writing: bool  # evidence beyond its docsource row
    number: int | None = None
    stale: bool = False
    superseded_by: str | None = None  # ref of the newer work
    duplicates: tuple[str, ...] = ()  # refs of the other open work for the module

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [e.as_dict() for e in self.evidence]
        data["labels"] = list(self.labels)
        data["duplicates"] = list(self.duplicates)
        return data
