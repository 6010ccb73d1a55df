"""Upstream lag and assisted merges: `ouhub upstream` and `ouhub upstream merge`.

Git branches go through ``ouhub.sync.gitupstream`` (each upstream a ref of its remote's
repository, one fetch per remote, the lag from ``git log``), bzr branches through
``ouhub.sync.bzrupstream`` (breezy), imported only when a bzr branch is there. Records
and messages come from ``ouhub.sync.lag``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from ouhub import output
from ouhub.config import Branch, Config
from ouhub.errors import OuhubError, SyncError
from ouhub.records import BranchLag
from ouhub.store import Store, utcnow
from ouhub.sync import gitmirror, gitupstream
from ouhub.sync.lag import MergeOutcome
from ouhub.sync.stage import selected_branches

log = logging.getLogger("ouhub.sync")


def upstream_branches(config: Config, releases: Iterable[str] = ()) -> list[Branch]:
    """The configured branches that have an upstream (of the given releases, else all)."""
    return [b for b in selected_branches(config, list(releases) or None) if b.upstream]


def _is_git(branch: Branch) -> bool:
    """Whether a branch and its upstream are git (both must be: one history compares them)."""
    mine = gitmirror.vcs_of(branch.url, branch.vcs)
    theirs = gitmirror.vcs_of(branch.upstream or "")
    if mine != theirs:
        raise SyncError(
            f"{branch.key} is a {mine} branch but its upstream {branch.upstream} is {theirs}",
            hint=f'give [releases."{branch.release}".branches.{branch.name}] an upstream of '
                 "the same kind, or none",
        )
    return mine == "git"


# -- lag ----------------------------------------------------------------------------------------


def _lag(config: Config, branch: Branch, fetched: dict[str, gitmirror.TargetResult]) -> BranchLag:
    """One branch's lag: its upstream fetched (git: already, with the others) and compared."""
    if not _is_git(branch):
        from ouhub.sync import bzrupstream

        return bzrupstream.compute_lag(config, branch,
                                       served_url=bzrupstream.mirror_upstream(config, branch))
    result = fetched.get(branch.key)
    if result is None or not result.ok:
        raise SyncError(result.error if result else f"{branch.upstream} was not fetched",
                        hint=result.hint if result else None)
    return gitupstream.compute_lag(config, branch, served_url=result.served_url)


def run_upstream(
    config: Config, store: Store, releases: Iterable[str] = (), *, quiet: bool = False,
) -> list[BranchLag]:
    """Mirror each upstream, compute and store each branch's lag; one failure stops nothing.
    The upstream stage's entry point, which records its stage event."""
    branches = upstream_branches(config, releases)  # unknown names fail before any work
    lags: list[BranchLag] = []
    with store.stage_event("upstream") as event, \
            output.progress("upstream", len(branches), quiet=quiet) as advance:
        git_branches = []
        for branch in branches:
            try:
                if _is_git(branch):
                    git_branches.append(branch)
            except SyncError:
                pass  # said again, and stored, below
        fetched = gitupstream.fetch_upstreams(config, git_branches)
        for branch in branches:
            try:
                lag = _lag(config, branch, fetched)
                store.record_upstream_lag(lag)
            except OuhubError as exc:
                message = exc.message + (f" ({exc.hint})" if exc.hint else "")
                log.warning("upstream %s: %s", branch.key, message)
                store.record_upstream_failure(
                    branch.release, branch.name, branch.upstream or "", message
                )
                lag = BranchLag(
                    release=branch.release, branch=branch.name, upstream_url=branch.upstream or "",
                    checked_at=utcnow(), error=message,
                )
            lags.append(lag)
            advance(branch.key)
        failed = [lag for lag in lags if lag.error]
        event.finish(not failed, branches=len(lags), failed=len(failed),
                     unmerged=sum(lag.count for lag in lags if not lag.error))
    return lags


# -- assisted merge -------------------------------------------------------------------------------


def default_workdir(config: Config, branch: Branch) -> Path:
    return config.data_dir / "merges" / branch.release / branch.name


def merge_upstream(
    config: Config, release: str, branch_name: str, *, workdir: Path | None = None,
    push: str | None = None,
) -> MergeOutcome:
    """Merge the upstream mirror into a working tree of the branch's mirror.

    Conflicts leave the tree as it is for the maintainer; a clean merge is committed
    with a message listing the merged revisions, and pushed only when ``push`` is given.
    """
    branch = config.release(release).branch(branch_name)
    if not branch.upstream:
        raise SyncError(
            f"{branch.key} has no upstream",
            hint=f'add upstream = "URL" to [releases."{release}".branches.{branch_name}]',
        )
    workdir = Path(workdir) if workdir else default_workdir(config, branch)
    if _is_git(branch):
        return gitupstream.merge_upstream(config, branch, workdir, push)
    from ouhub.sync import bzrupstream

    return bzrupstream.merge(config, branch, workdir, push)
