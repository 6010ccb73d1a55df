"""`ouhub sync`: mirror every configured branch, in parallel, and store what happened.

Workers only mirror and return a ``BranchSync``; the main thread writes the
store, so one failing branch (unreachable host, diverged history, damaged
mirror, full disk) is recorded and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

from ouhub import output
from ouhub.config import Branch, Config
from ouhub.errors import SyncError
from ouhub.store import Store
from ouhub.sync.launchpad import cache_dir_for
from ouhub.sync.mirror import MirrorLocked, update_mirror

log = logging.getLogger("ouhub.sync")


@dataclass(frozen=True)
class BranchSync:
    """The outcome of syncing one branch: its head on success, the error otherwise."""

    release: str
    branch: str
    url: str
    path: str
    ok: bool
    vcs: str | None = None
    revid: str | None = None
    revno: int | None = None
    new_revisions: int = 0
    served_url: str | None = None
    created: bool = False
    error: str | None = None
    hint: str | None = None
    locked: bool = False  # another sync held the mirror: reported, not stored as an error

    @property
    def key(self) -> str:
        return f"{self.release}/{self.branch}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def selected_branches(config: Config, releases: Sequence[str] | None = None) -> list[Branch]:
    """The branches of the named releases (all when None), in config order."""
    names = list(dict.fromkeys(releases)) if releases else list(config.releases)
    return [b for name in names for b in config.release(name).branches]


def sync_branch(
    config: Config, branch: Branch, force: bool = False, wait: bool = False,
    known_head: tuple[str, int | None] | None = None,
) -> BranchSync:
    """Mirror one branch; never raises for a failure of that branch (it is in the result).

    ``known_head``: the (revid, revno) stored by the last sync, which spares a git mirror
    a walk of its whole history.
    """
    dest = config.mirror_path(branch)
    base = {"release": branch.release, "branch": branch.name, "url": branch.url, "path": str(dest)}
    try:
        result = update_mirror(
            [branch.url, *branch.fallback], dest, vcs=branch.vcs, force=force, wait=wait,
            lp_cache_dir=cache_dir_for(config), known_head=known_head,
        )
    except SyncError as exc:
        hint = (exc.hint or "").replace("--release R", f"--release {branch.release}") or None
        return BranchSync(
            **base, ok=False, error=exc.message, hint=hint, locked=isinstance(exc, MirrorLocked)
        )
    except Exception as exc:  # a bug in one branch's sync must not stop the others
        log.exception("unexpected failure while syncing %s", branch.key)
        return BranchSync(
            **base, ok=False, error=f"unexpected {type(exc).__name__}: {exc}",
            hint="run with -vv for the traceback and report it",
        )
    return BranchSync(
        **base, ok=True, vcs=result.vcs, revid=result.revid, revno=result.revno,
        new_revisions=result.new_revisions, served_url=result.served_url, created=result.created,
    )


def run_sync(
    config: Config,
    store: Store,
    releases: Sequence[str] | None = None,
    jobs: int = 4,
    force: bool = False,
    wait: bool = False,
    quiet: bool = False,
) -> list[BranchSync]:
    """Sync the branches of ``releases`` (all by default) with ``jobs`` workers: the sync
    stage's entry point, which records its stage event."""
    branches = selected_branches(config, releases)  # unknown names fail before any work
    results: dict[str, BranchSync] = {}
    with store.stage_event("sync") as event:
        known = {(s.release, s.branch): (s.revid, s.revno) for s in store.sync_states() if s.revid}
        with output.progress("sync", len(branches), quiet=quiet) as advance, \
                ThreadPoolExecutor(max_workers=max(1, jobs),
                                   thread_name_prefix="ouhub-sync") as pool:
            futures = [
                pool.submit(sync_branch, config, b, force, wait, known.get((b.release, b.name)))
                for b in branches
            ]
            for future in as_completed(futures):
                outcome = future.result()
                store_outcome(store, outcome)
                results[outcome.key] = outcome
                advance(outcome.key + ("" if outcome.ok else " failed"))
        ordered = [results[b.key] for b in branches]
        failed = [r for r in ordered if not r.ok]
        event.finish(not failed, branches=len(ordered), failed=len(failed),
                     new_revisions=sum(r.new_revisions for r in ordered))
    return ordered


def store_outcome(store: Store, outcome: BranchSync) -> None:
    if outcome.ok:
        store.record_sync_success(
            outcome.release, outcome.branch, outcome.url, served_url=outcome.served_url or "",
            vcs=outcome.vcs or "", revid=outcome.revid or "", revno=outcome.revno,
            new_revisions=outcome.new_revisions,
        )
    elif not outcome.locked:
        store.record_sync_failure(outcome.release, outcome.branch, outcome.url, outcome.error or "")


def table_rows(results: Sequence[BranchSync]) -> list[tuple]:
    """Rows for `ouhub sync`'s table (columns: see TABLE_COLUMNS)."""
    return [
        (
            r.release, r.branch, r.vcs or "-", r.revno if r.revno is not None else "-",
            (f"{r.new_revisions} (new mirror)" if r.created else r.new_revisions) if r.ok else "-",
            r.served_url or r.url, r.error or "",
        )
        for r in results
    ]


TABLE_COLUMNS = ("release", "branch", "vcs", "revno", "new revisions", "served URL", "error")
