"""`ouhub sync`: mirror every configured branch, in parallel, and store what happened.

Git branches are grouped by remote: one job per repository fetches all of its branches
at once (``ouhub.sync.gitmirror``); each bzr branch is a job of its own (breezy,
``ouhub.sync.mirror``, its revisions kept in the shared repository ``<data>/mirrors``).
Workers only mirror and return ``BranchSync`` records; the main thread writes the store,
so one failing branch (unreachable host, diverged history, damaged mirror, full disk)
is recorded and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ouhub import output
from ouhub.config import Branch, Config
from ouhub.errors import SyncError
from ouhub.store import Store
from ouhub.sync import gitmirror
from ouhub.sync.gitmirror import FetchTarget, TargetResult

log = logging.getLogger("ouhub.sync")


@dataclass(frozen=True)
class BranchSync:
    """The outcome of syncing one branch: its head on success, the error otherwise."""

    release: str
    branch: str
    url: str
    path: str  # the mirror: a git repository shared by the remote's branches, or a bzr branch
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
    ref: str | None = None  # git: the ref holding the synced commit in ``path``
    note: str | None = None  # a mirror of the previous layout adopted or fetched again

    @property
    def key(self) -> str:
        return f"{self.release}/{self.branch}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def selected_branches(config: Config, releases: Sequence[str] | None = None) -> list[Branch]:
    """The branches of the named releases (all when None), in config order."""
    names = list(dict.fromkeys(releases)) if releases else list(config.releases)
    return [b for name in names for b in config.release(name).branches]


def _hint(exc_hint: str | None, release: str) -> str | None:
    return (exc_hint or "").replace("--release R", f"--release {release}") or None


def sync_branch(
    config: Config, branch: Branch, force: bool = False, wait: bool = False,
    known_head: tuple[str, int | None] | None = None,
) -> BranchSync:
    """Mirror one branch of either kind (a worker fetching what a run needs); never raises
    for a failure of that branch. ``known_head``: the (revid, revno) the last sync stored."""
    if gitmirror.vcs_of(branch.url, branch.vcs) != "git":
        return _sync_bzr(config, branch, force, wait)
    known = {(branch.release, branch.name): known_head} if known_head else {}
    git_dir = gitmirror.git_dir_for(config, branch.url)
    return sync_repository(config, git_dir, [branch], force, wait, known)[0]


def holds_revision(config: Config, branch: Branch, revid: str) -> bool:
    """Whether the branch's mirror has ``revid`` at hand: its tree there, or its repository
    holding it (the tree can be brought there without a fetch)."""
    path = config.mirror_path(branch)
    if gitmirror.vcs_of(branch.url, branch.vcs) == "git":
        return gitmirror.holds_revision(gitmirror.git_dir_for(config, branch.url), path, revid)
    from ouhub.sync.mirror import holds_revision as bzr_holds  # breezy: only for bzr

    return bzr_holds(path, revid)


def tree_revision(config: Config, branch: Branch) -> str | None:
    """The revision id the branch's tree (the runner's ``{mirror_<branch>}``) is at: the files
    an upgrade reads, whatever the last sync stored; None when there is no tree of ours."""
    path = config.mirror_path(branch)
    if not path.exists():
        return None
    if gitmirror.vcs_of(branch.url, branch.vcs) == "git":
        return gitmirror.worktree_revision(path)
    from ouhub.sync.mirror import tree_revision as bzr_tree_revision  # breezy: only for bzr

    return bzr_tree_revision(path)


def tree_at(config: Config, branch: Branch, revid: str) -> int | None:
    """The branch's tree (the runner's ``{mirror_<branch>}``) brought to ``revid``, fetched by
    its id when the mirror lacks it; ``RevisionGone`` when no URL has it. Returns its revno."""
    urls = (branch.url, *branch.fallback)
    path = config.mirror_path(branch)
    if gitmirror.vcs_of(branch.url, branch.vcs) == "git":
        git_dir = gitmirror.git_dir_for(config, branch.url)
        return gitmirror.worktree_at(git_dir, urls, path, revid, branch.key)
    from ouhub.sync.launchpad import cache_dir_for
    from ouhub.sync.mirror import tree_at as bzr_tree_at

    return bzr_tree_at(urls, path, revid, branch.key, lp_cache_dir=cache_dir_for(config),
                       shared=config.mirrors_dir)


def _sync_bzr(config: Config, branch: Branch, force: bool = False,
              wait: bool = False) -> BranchSync:
    """Mirror one bzr branch; never raises for a failure of that branch (it is in the result)."""
    # breezy and launchpadlib only for bzr: a sync of git branches starts 0.09 s sooner
    from ouhub.sync.launchpad import cache_dir_for
    from ouhub.sync.mirror import MirrorLocked, update_mirror

    dest = config.mirror_path(branch)
    base = {"release": branch.release, "branch": branch.name, "url": branch.url, "path": str(dest)}
    try:
        result = update_mirror(
            [branch.url, *branch.fallback], dest, vcs="bzr", force=force, wait=wait,
            lp_cache_dir=cache_dir_for(config), shared=config.mirrors_dir,
        )
    except SyncError as exc:
        return BranchSync(**base, ok=False, error=exc.message, hint=_hint(exc.hint, branch.release),
                          locked=isinstance(exc, MirrorLocked))
    except Exception as exc:  # a bug in one branch's sync must not stop the others
        log.exception("unexpected failure while syncing %s", branch.key)
        return BranchSync(
            **base, ok=False, error=f"unexpected {type(exc).__name__}: {exc}",
            hint="run with -vv for the traceback and report it",
        )
    note = (f"{branch.key}: the standalone mirror of the previous layout {dest} was adopted into "
            f"the shared repository {config.mirrors_dir}") if result.adopted else None
    return BranchSync(
        **base, ok=True, vcs=result.vcs, revid=result.revid, revno=result.revno,
        new_revisions=result.new_revisions, served_url=result.served_url, created=result.created,
        note=note,
    )


def sync_repository(
    config: Config, git_dir: Path, branches: Sequence[Branch], force: bool = False,
    wait: bool = False, known: dict[tuple[str, str], tuple[str, int | None]] | None = None,
) -> list[BranchSync]:
    """Mirror the git branches of one remote with one fetch; each failure is in its result."""
    known = known or {}
    targets = [
        FetchTarget(
            b.key, gitmirror.synced_ref(b), (b.url, *b.fallback),
            # files on disk only where an upgrade server runs from them (the runner's
            # {mirror_<branch>} and addons path): a worktree, updated in place
            checkout=config.mirror_path(b) if b.release in config.runner.commands else None,
            known=known.get((b.release, b.name)), previous=config.mirror_path(b),
        )
        for b in branches
    ]
    try:
        results = gitmirror.sync_repository(git_dir, targets, force=force, wait=wait)
    except Exception as exc:  # a bug in one repository's sync must not stop the others
        log.exception("unexpected failure while syncing %s", git_dir)
        results = {t.key: TargetResult(t.key, ok=False, error=f"unexpected {type(exc).__name__}: "
                                       f"{exc}", hint="run with -vv for the traceback and report it")
                   for t in targets}
    return [_branch_sync(b, git_dir, results[b.key]) for b in branches]


def _branch_sync(branch: Branch, git_dir: Path, result: TargetResult) -> BranchSync:
    return BranchSync(
        release=branch.release, branch=branch.name, url=branch.url, path=str(git_dir),
        ok=result.ok, vcs="git", revid=result.sha if result.ok else None,
        revno=result.revno if result.ok else None, new_revisions=result.new_commits,
        served_url=result.served_url if result.ok else None, created=result.created,
        error=result.error, hint=_hint(result.hint, branch.release), locked=result.locked,
        ref=gitmirror.synced_ref(branch), note=result.note,
    )


def _jobs(
    config: Config, branches: Sequence[Branch], force: bool, wait: bool,
    known: dict[tuple[str, str], tuple[str, int | None]],
) -> list[Callable[[], list[BranchSync]]]:
    """The work of a sync: one job per git repository (all its branches), one per bzr branch."""
    jobs: list[Callable[[], list[BranchSync]]] = []
    by_repository: dict[Path, list[Branch]] = {}
    for branch in branches:
        if gitmirror.vcs_of(branch.url, branch.vcs) != "git":
            jobs.append(lambda b=branch: [_sync_bzr(config, b, force, wait)])
            continue
        git_dir = gitmirror.git_dir_for(config, branch.url)
        if git_dir not in by_repository:
            members = by_repository[git_dir] = []
            jobs.append(partial(sync_repository, config, git_dir, members, force, wait, known))
        by_repository[git_dir].append(branch)
    return jobs


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
            futures = [pool.submit(job) for job in _jobs(config, branches, force, wait, known)]
            for future in as_completed(futures):
                for outcome in future.result():
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
            new_revisions=outcome.new_revisions, mirror=outcome.path,
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
