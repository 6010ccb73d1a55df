"""Upstream lag and assisted merges of bzr branches, through breezy.

The upstream is mirrored next to the OpenUpgrade mirror
(``<data>/mirrors/upstream/<release>/<branch>``, in the shared repository) and breezy's
own missing-revisions logic (``breezy.missing.find_unmerged``, the code behind
``brz missing``) lists the upstream revisions the OpenUpgrade branch has not merged,
merged revisions included. ``ouhub.sync.upstream`` imports this module for bzr branches
only: breezy costs ~0.2 s to import.
"""

from __future__ import annotations

import logging
from pathlib import Path

import breezy.bzr  # noqa: F401  (registers the bzr formats)
from breezy import errors as bzr_errors
from breezy.branch import Branch as VcsBranch
from breezy.missing import find_unmerged
from breezy.workingtree import WorkingTree

from ouhub.config import Branch, Config
from ouhub.errors import SyncError
from ouhub.records import BranchLag, UnmergedRevision
from ouhub.store import utcnow
from ouhub.sync.history import changed_paths, iso_date
from ouhub.sync.lag import MergeOutcome, group_by_module, merge_message, module_roots, modules_of
from ouhub.sync.mirror import revid_text, update_mirror

log = logging.getLogger("ouhub.sync")

FALLBACK_COMMITTER = "ouhub <ouhub@localhost>"


def _open_branch(path: Path, what: str, hint: str) -> VcsBranch:
    try:
        return VcsBranch.open(str(path))
    except bzr_errors.NotBranchError:
        raise SyncError(f"{what} is missing: no branch at {path}", hint=hint) from None
    except (bzr_errors.BzrError, OSError) as exc:
        raise SyncError(f"{what} at {path} cannot be opened: {exc}", hint=hint) from exc


# -- lag ---------------------------------------------------------------------------------------


def _tree_paths(branch: VcsBranch) -> list[str]:
    tree = branch.basis_tree()
    with tree.lock_read():
        return [p for p in tree.all_versioned_paths() if p]


def unmerged_revisions(local: VcsBranch, remote: VcsBranch) -> list[UnmergedRevision]:
    """Revisions of ``remote`` that ``local`` has not merged, with the modules touched:
    mainline oldest first, each merge followed by the revisions it brought in."""
    with local.lock_read(), remote.lock_read():
        # backward=False lists the oldest first (breezy's flag reads the other way round)
        _, extra = find_unmerged(
            local, remote, restrict="remote", include_merged=True, backward=False
        )
        if not extra:
            return []
        roots = module_roots(_tree_paths(remote)) | module_roots(_tree_paths(local))
        repository = remote.repository
        revids = [revid for _revno, revid, _depth in extra]
        revisions = repository.get_revisions(revids)
        result = []
        for (revno, revid, _depth), rev in zip(extra, revisions, strict=True):
            result.append(UnmergedRevision(
                revid=revid_text(revid),
                revno=str(revno) if revno is not None else None,
                author=rev.get_apparent_authors()[0],
                date=iso_date(rev.timestamp),
                message=rev.message,
                modules=modules_of(changed_paths(repository, revid), roots),
            ))
        return result


def compute_lag(config: Config, branch: Branch, served_url: str | None = None) -> BranchLag:
    """The lag of a bzr branch's mirror behind its upstream mirror (both already on disk)."""
    local = _open_branch(
        config.mirror_path(branch), f"the mirror of {branch.key}",
        f"run `ouhub sync --release {branch.release}` first",
    )
    remote = _open_branch(
        config.upstream_mirror_path(branch), f"the upstream mirror of {branch.key}",
        f"run `ouhub upstream --release {branch.release}` first",
    )
    unmerged = unmerged_revisions(local, remote)
    now = utcnow()
    return BranchLag(
        release=branch.release, branch=branch.name, upstream_url=branch.upstream or "",
        served_url=served_url, upstream_revid=revid_text(remote.last_revision()),
        mirror_revid=revid_text(local.last_revision()), unmerged=tuple(unmerged),
        checked_at=now, last_success=now,
    )


def mirror_upstream(config: Config, branch: Branch) -> str:
    from ouhub.sync.launchpad import cache_dir_for

    # lp: upstreams (lp:openobject-server/7.0) resolve through the data dir's cache too
    return update_mirror(
        [branch.upstream or ""], config.upstream_mirror_path(branch), vcs="bzr",
        lp_cache_dir=cache_dir_for(config), shared=config.mirrors_dir,
    ).served_url


# -- assisted merge ----------------------------------------------------------------------------


def _working_tree(config: Config, branch: Branch, workdir: Path) -> tuple[WorkingTree, bytes]:
    """A branch of the mirror with a working tree in ``workdir``, brought up to the mirror;
    and the mirror's tip."""
    mirror = _open_branch(
        config.mirror_path(branch), f"the mirror of {branch.key}",
        f"run `ouhub sync --release {branch.release}` first",
    )
    if not workdir.exists() or not any(workdir.iterdir()):
        workdir.parent.mkdir(parents=True, exist_ok=True)
        return mirror.controldir.sprout(str(workdir)).open_workingtree(), mirror.last_revision()
    try:
        tree = WorkingTree.open(str(workdir))
    except bzr_errors.NotBranchError:
        raise SyncError(
            f"{workdir} exists and is not a working tree",
            hint="pass another --workdir, or remove that directory",
        ) from None
    with tree.lock_read():
        dirty = tree.has_changes() or tree.get_parent_ids()[1:] or tree.conflicts()
    if dirty:
        raise SyncError(
            f"{workdir} has uncommitted changes or an unfinished merge",
            hint=f"resolve and commit there (brz resolve; brz commit), or remove {workdir} to "
            "start over",
        )
    try:
        tree.pull(mirror)
    except bzr_errors.DivergedBranches:
        # An earlier merge committed here but not pushed: keep it and merge on top.
        log.info("%s has local commits the mirror lacks; merging on top of them", workdir)
    return tree, mirror.last_revision()


def _committer(tree: WorkingTree) -> str:
    try:
        return tree.branch.get_config_stack().get("email")
    except bzr_errors.NoWhoami:
        return FALLBACK_COMMITTER


def _push(tree: WorkingTree, url: str) -> None:
    try:
        target = VcsBranch.open(url)
    except bzr_errors.NotBranchError:
        tree.branch.controldir.clone(url)
        return
    tree.branch.push(target)


def merge(config: Config, branch: Branch, workdir: Path, push: str | None) -> MergeOutcome:
    """``upstream.merge_upstream`` for a bzr branch."""
    release = branch.release
    remote = _open_branch(
        config.upstream_mirror_path(branch), f"the upstream mirror of {branch.key}",
        f"run `ouhub upstream --release {release}` first",
    )
    tree, mirror_tip = _working_tree(config, branch, workdir)
    start = tree.last_revision()
    earlier = revid_text(start) if start != mirror_tip else None
    merged = tuple(unmerged_revisions(tree.branch, remote))
    message, revid = "", None
    if merged:
        with tree.lock_write():
            tree.merge_from_branch(remote)
            conflicts = [c.path for c in tree.conflicts()]
            if conflicts:
                roots = module_roots(tree.all_versioned_paths())
                return MergeOutcome(
                    workdir=workdir, merged=merged, conflicts=group_by_module(conflicts, roots)
                )
            message = merge_message(branch.upstream, merged)
            revid = tree.commit(message, committer=_committer(tree))
    pushed = None
    if push and (revid or earlier):  # nothing merged now or before: nothing to publish
        try:
            _push(tree, push)
        except (bzr_errors.BzrError, OSError) as exc:
            raise SyncError(
                f"merged and committed in {workdir}, but the push to {push} failed: {exc}",
                hint=f"push by hand from {workdir} (brz push {push}), or fix the URL",
            ) from exc
        pushed = push
    return MergeOutcome(
        workdir=workdir, merged=merged, committed=revid_text(revid) if revid else None,
        message=message, pushed_to=pushed, earlier=earlier,
    )
