"""Runner records: templates, scratch databases, runs, outcomes and failures."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ouhub.vocab import MODULE_FAILED, UPGRADED

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
    """A database whose name ouhub generated and recorded (kind: template, scratch, copy,
    restore, spare)."""

    name: str
    kind: str
    run_id: int | None
    host: str
    pid: int | None
    keep: bool
    created_at: str
    dropped_at: str | None
    cloned_from: str | None = None  # the database it is a copy of (a spare: its template)


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


def recorded_revision(revno: int | None, revid: str) -> str:
    """A branch's revision as a run records it: ``12 (revid)``, or the revid alone."""
    return f"{revno} ({revid})" if revno else revid


def revid_of(recorded: str) -> str:
    """The revision id in a revision as ``recorded_revision`` writes it."""
    head, _, rest = recorded.partition(" (")
    return rest[:-1] if rest.endswith(")") and head.isdigit() else recorded


def revno_of(recorded: str) -> str:
    """What people call that revision: its revno when it has one, else its id."""
    head, _, rest = recorded.partition(" (")
    return head if rest.endswith(")") and head.isdigit() else recorded


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
    worker: str | None = None  # the Celery worker that ran it; None: in-process
    losses: int = 0  # workers lost while running it


@dataclass(frozen=True)
class UpgradeProcess:
    """An upgrade command's process group, kept until it ended: what to kill if ouhub dies."""

    marker: str  # in the environment of every process of the upgrade
    host: str
    pgid: int
    owner_pid: int  # the ouhub process that started it
    database: str
    started_at: str
    ended_at: str | None


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
    folder: str | None = None  # the module's folder in the branch (sale, openerp/addons/base)

    def as_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "since": self.since, "until": self.until,
                "since_run": self.since_run_id, "until_run": self.run_id, "total": self.total,
                "error": self.error, "folder": self.folder,
                "commits": [c.as_dict() for c in self.commits]}
