"""The records the store returns, so that the store imports no stage.

Frozen dataclasses named with DESIGN.md's words; the stages build them and read
them back through ``ouhub.store``. No I/O here.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ouhub.vocab import CLOSED, MERGED, MODULE_FAILED, OPEN, UPGRADED, WRITING_EVIDENCE

# -- stage events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSummary:
    """What one invocation of a stage did, in the one shape every stage records: ok or
    failed, counts by name, and a message (why a stage that could not run failed)."""

    ok: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The stored summary: the counts, and ``message`` when there is one."""
        data: dict[str, Any] = dict(self.counts)
        if self.message:
            data["message"] = self.message
        return data


@dataclass(frozen=True)
class StageEvent:
    """One finished invocation of a stage (sync, upstream, coverage, samples, runner, site,
    nightly)."""

    stage: str
    started_at: str
    finished_at: str
    ok: bool
    summary: dict[str, Any]


# -- sync (0002) ----------------------------------------------------------------------------------


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


# -- upstream (0005) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnmergedRevision:
    """An upstream revision the OpenUpgrade branch has not merged."""

    revid: str
    revno: str | None  # upstream's revno (dotted for merged revisions)
    author: str
    date: str  # ISO 8601, UTC
    message: str
    modules: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"revid": self.revid, "revno": self.revno, "author": self.author,
                "date": self.date, "message": self.message, "modules": list(self.modules)}


@dataclass(frozen=True)
class BranchLag:
    """How far a release's branch is behind its upstream, as of ``checked_at``."""

    release: str
    branch: str
    upstream_url: str
    served_url: str | None = None
    upstream_revid: str | None = None
    mirror_revid: str | None = None
    unmerged: tuple[UnmergedRevision, ...] = ()
    checked_at: str | None = None
    last_success: str | None = None
    error: str | None = None

    @property
    def count(self) -> int:
        return len(self.unmerged)

    @property
    def oldest(self) -> str | None:
        return min((r.date for r in self.unmerged), default=None)

    @property
    def authors(self) -> tuple[str, ...]:
        """Authors of unmerged revisions, the most prolific first."""
        counts = Counter(r.author for r in self.unmerged)
        return tuple(a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted({m for r in self.unmerged for m in r.modules}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "branch": self.branch,
            "upstream_url": self.upstream_url,
            "served_url": self.served_url,
            "upstream_revid": self.upstream_revid,
            "mirror_revid": self.mirror_revid,
            "unmerged_count": self.count,
            "oldest_unmerged": self.oldest,
            "authors": list(self.authors),
            "modules": list(self.modules),
            "checked_at": self.checked_at,
            "last_success": self.last_success,
            "error": self.error,
            "unmerged": [r.as_dict() for r in self.unmerged],
        }


# -- coverage (0003) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What a coverage status rests on: the scripts, the declaration line, the apriori entry,
    the analysis lines (the analysts' annotations, or "nothing has changed")."""

    scripts: tuple[str, ...] = ()
    declaration: str | None = None  # "<file>:<line>: <row as written>"
    apriori: str | None = None  # "<file>: renamed_modules['old'] = 'new'"
    analysis: tuple[str, ...] = ()  # "<file>:<line>: # NOTHING TO DO ... (3 changes)"

    def as_dict(self) -> dict[str, Any]:
        return {"scripts": list(self.scripts), "declaration": self.declaration,
                "apriori": self.apriori, "analysis": list(self.analysis)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(tuple(data.get("scripts") or ()), data.get("declaration"),
                   data.get("apriori"), tuple(data.get("analysis") or ()))


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
    evidence: Evidence
    analysis_size: int  # changes listed in the module's analysis: ranks `todo` modules
    analysis_annotated: int
    analysed_share: float | None  # annotated / size; None without an analysis
    # "<table>.<kind>" -> changes; "open.<table>.<kind>" -> those no annotation answers
    analysis_counts: dict[str, int]
    analysis_source: str | None
    disagreements: tuple[str, ...]
    scan_id: int | None = None
    scanned_at: str | None = None

    @property
    def open_changes(self) -> int:
        """Changes no annotation answers, additions left out (the ORM makes what is new):
        the size of the job, which ranks the modules that need scripts."""
        return sum(number for key, number in self.analysis_counts.items()
                   if key.startswith("open.") and not key.rpartition(".")[2].startswith("new"))

    def as_dict(self) -> dict[str, Any]:
        """The module as `coverage show --format json` prints it."""
        return {
            "module": self.module, "status": self.status, "target": self.target,
            "version": self.version, "path": self.path, "in_tree": self.in_tree,
            "manifest_error": self.manifest_error, "evidence": self.evidence.as_dict(),
            "analysis_size": self.analysis_size, "analysis_annotated": self.analysis_annotated,
            "analysed_share": self.analysed_share, "open_changes": self.open_changes,
            "analysis_counts": self.analysis_counts,
            "analysis_source": self.analysis_source, "disagreements": list(self.disagreements),
        }


# -- runner (0004) --------------------------------------------------------------------------------


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
    fingerprint: Fingerprint | None = None  # a failed outcome's


@dataclass(frozen=True)
class Run:
    """One upgrade of a sample (kind `run`) or of a user's copy (kind `migrate`) over one step."""

    id: int
    kind: str
    release: str
    previous: str | None
    sample: str | None
    source_db: str | None
    status: str  # running, passed, failed, timeout, error, interrupted
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


# -- failures (0060) ------------------------------------------------------------------------------

FINGERPRINT_KEY_CHARS = 16


@dataclass(frozen=True)
class Fingerprint:
    """A failure's module, stage, exception class and normalised message (see
    runner/fingerprint.py, which makes them)."""

    module: str  # "" when the failure names no module
    stage: str  # pre, post, end (a script's), load (the module's own), registry (no module)
    exception: str  # the class without its package; "" when the log shows none
    message: str  # normalised

    @property
    def key(self) -> str:
        """A short stable id: the same failure, the same key, in every run and every paste."""
        text = "\x1f".join((self.module, self.stage, self.exception, self.message))
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[
            :FINGERPRINT_KEY_CHARS]

    @property
    def summary(self) -> str:
        where = f"{self.module} ({self.stage})" if self.module else self.stage
        what = f"{self.exception}: {self.message}" if self.exception else self.message
        return f"{where}: {what}"

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "module": self.module, "stage": self.stage,
                "exception": self.exception, "message": self.message}


def revisions_of(revisions: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """A run's branch revisions as sorted pairs, comparable between runs."""
    return tuple(sorted((str(k), str(v)) for k, v in (revisions or {}).items()))


@dataclass(frozen=True)
class Attempt:
    """One run's outcome for one module: a step of its failure history."""

    run_id: int
    started_at: str
    outcome: str  # upgraded, failed, not_reached
    revisions: tuple[tuple[str, str], ...] = ()  # (branch, revision) as the run recorded them
    fingerprint: str | None = None  # the failure's key, for a failed outcome

    @property
    def passed(self) -> bool:
        return self.outcome == UPGRADED

    @property
    def failed(self) -> bool:
        return self.outcome == MODULE_FAILED


@dataclass(frozen=True)
class Commit:
    """A commit of a mirror, as a regression's suspect shows it."""

    revision: str  # what a code browser and a person name it: bzr revno (dotted), git sha
    revid: str  # the mirror's revision id
    author: str
    date: str  # ISO 8601, UTC
    summary: str  # the message's first line

    def as_dict(self) -> dict[str, str]:
        return {"revision": self.revision, "revid": self.revid, "author": self.author,
                "date": self.date, "summary": self.summary}


@dataclass(frozen=True)
class SuspectRange:
    """The commits of one branch between a regression's last passing run and its first failing
    one that touch the module (read from the mirror once, then stored)."""

    release: str
    sample: str
    module: str
    run_id: int  # the first failing run
    since_run_id: int  # the last passing run
    branch: str
    since: str  # the branch's revision in each run, as the runs recorded them
    until: str
    commits: tuple[Commit, ...] = ()  # newest first
    total: int = 0  # commits in the range touching the module (more than shown past a limit)
    error: str | None = None  # why the range could not be read

    def as_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "since": self.since, "until": self.until,
                "since_run": self.since_run_id, "until_run": self.run_id, "total": self.total,
                "error": self.error, "commits": [c.as_dict() for c in self.commits]}


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
