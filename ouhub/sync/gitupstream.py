"""Upstream lag and assisted merges of git branches, with git itself.

Each upstream is a ref ``refs/ouhub-upstream/<release>/<branch>`` in the bare repository
of its remote (odoo/odoo's branches are refs of one repository), fetched once per remote.
The lag is ``git log <upstream tip> ^<release tip>`` run in the release's repository,
which reads the upstream's objects through ``GIT_ALTERNATE_OBJECT_DIRECTORIES``: nothing
is copied, and git walks the 100,000-commit histories, not Python. A merge happens in a
``git worktree`` of the release's repository (kept only while it has conflicts to
resolve), on the local branch ``ouhub-merge/<release>/<branch>``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ouhub.config import Branch, Config
from ouhub.errors import SyncError
from ouhub.records import BranchLag, UnmergedRevision
from ouhub.store import utcnow
from ouhub.sync import git
from ouhub.sync.gitmirror import (
    FetchTarget,
    TargetResult,
    git_dir_for,
    repository_lock,
    sync_repository,
    synced_ref,
    upstream_ref,
)
from ouhub.sync.lag import MergeOutcome, group_by_module, merge_message, module_roots, modules_of

log = logging.getLogger("ouhub.sync")

FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "ouhub", "GIT_AUTHOR_EMAIL": "ouhub@localhost",
                     "GIT_COMMITTER_NAME": "ouhub", "GIT_COMMITTER_EMAIL": "ouhub@localhost"}


def fetch_upstreams(config: Config, branches: Sequence[Branch]) -> dict[str, TargetResult]:
    """Fetch every branch's upstream: one ``git fetch`` per upstream remote."""
    by_repository: dict[Path, list[Branch]] = {}
    for branch in branches:
        by_repository.setdefault(git_dir_for(config, branch.upstream or ""), []).append(branch)
    results: dict[str, TargetResult] = {}
    for git_dir, members in by_repository.items():
        targets = [FetchTarget(b.key, upstream_ref(b), (b.upstream or "",)) for b in members]
        results.update(sync_repository(git_dir, targets))
    return results


def _tip(git_dir: Path, ref: str, what: str, hint: str) -> str:
    sha = git.resolve(git_dir, ref) if git_dir.is_dir() else None
    if sha is None:
        raise SyncError(f"{what} is missing: no {ref} in {git_dir}", hint=hint)
    return sha


def _tips(config: Config, branch: Branch) -> tuple[Path, str, Path, str]:
    """(release repository, its synced commit, upstream repository, the upstream's tip)."""
    repo = git_dir_for(config, branch.url)
    tip = _tip(repo, synced_ref(branch), f"the mirror of {branch.key}",
               f"run `ouhub sync --release {branch.release}` first")
    upstream_repo = git_dir_for(config, branch.upstream or "")
    upstream = _tip(upstream_repo, upstream_ref(branch), f"the upstream mirror of {branch.key}",
                    f"run `ouhub upstream --release {branch.release}` first")
    return repo, tip, upstream_repo, upstream


def unmerged_commits(repo: Path, start: str, upstream_repo: Path,
                     upstream: str) -> list[UnmergedRevision]:
    """The commits of ``upstream`` that ``start`` has not merged, oldest first, with the
    modules their files belong to (modules as the two tips lay them out)."""
    env = git.alternates_env(upstream_repo) if upstream_repo != repo else None
    commits = git.log(repo, [upstream], [start], reverse=True, env=env)
    if not commits:
        return []
    paths = [e.path for e in git.list_tree(upstream_repo, upstream)]
    paths += [e.path for e in git.list_tree(repo, start)]
    roots = module_roots(paths)
    return [
        UnmergedRevision(
            revid=c.sha, revno=None, author=c.author,
            date=datetime.fromtimestamp(c.timestamp, tz=UTC).isoformat(timespec="seconds"),
            message=c.message, modules=modules_of(c.files, roots),
        )
        for c in commits
    ]


def compute_lag(config: Config, branch: Branch, served_url: str | None = None) -> BranchLag:
    """The lag of a branch's synced commit behind its upstream's (both already fetched)."""
    repo, tip, upstream_repo, upstream = _tips(config, branch)
    unmerged = unmerged_commits(repo, tip, upstream_repo, upstream)
    now = utcnow()
    return BranchLag(
        release=branch.release, branch=branch.name, upstream_url=branch.upstream or "",
        served_url=served_url, upstream_revid=upstream, mirror_revid=tip,
        unmerged=tuple(unmerged), checked_at=now, last_success=now,
    )


# -- assisted merge -------------------------------------------------------------------------------


def _identity(worktree: Path) -> dict[str, str] | None:
    """ouhub's identity when git has none configured for the merge commit."""
    found = git.run(["config", "--get", "user.email"], cwd=worktree, ok=(0, 1))
    return None if found.stdout.strip() else FALLBACK_IDENTITY


def _prepared_worktree(repo: Path, workdir: Path, local: str, start: str) -> None:
    """``workdir``: a worktree of ``repo`` on ``local`` at ``start`` (made, or reused clean)."""
    if not workdir.exists() or not any(workdir.iterdir()):
        git.run(["worktree", "prune"], git_dir=repo)
        git.run(["branch", "--force", local.removeprefix("refs/heads/"), start], git_dir=repo)
        workdir.parent.mkdir(parents=True, exist_ok=True)
        git.run(["worktree", "add", "--quiet", str(workdir), local.removeprefix("refs/heads/")],
                git_dir=repo, cwd=workdir.parent)
        return
    if not (workdir / ".git").is_file():
        raise SyncError(f"{workdir} exists and is not a git worktree",
                        hint="pass another --workdir, or remove that directory")
    status = git.run(["status", "--porcelain"], cwd=workdir).stdout
    merging = git.run(["rev-parse", "--verify", "--quiet", "MERGE_HEAD"], cwd=workdir,
                      ok=(0, 1)).stdout
    if status.strip() or merging.strip():
        raise SyncError(
            f"{workdir} has uncommitted changes or an unfinished merge",
            hint=f"resolve and commit there (git add; git commit), or remove it with "
                 f"`git --git-dir={repo} worktree remove --force {workdir}` to start over",
        )
    git.run(["checkout", "--quiet", "-B", local.removeprefix("refs/heads/"), start], cwd=workdir)


def merge_upstream(
    config: Config, branch: Branch, workdir: Path, push: str | None = None,
) -> MergeOutcome:
    """Merge the upstream's tip into the branch's synced commit in a worktree.

    A commit of an earlier merge that was not pushed is kept and merged on top of. A clean
    merge is committed (its message lists the merged commits), pushed only with ``push``,
    and its worktree removed; conflicts leave the worktree for the maintainer."""
    repo, tip, upstream_repo, upstream = _tips(config, branch)
    local = f"refs/heads/ouhub-merge/{branch.release}/{branch.name}"
    with repository_lock(repo, wait=True):
        # the upstream's commits the release lacks, copied in: the merge commit needs them
        git.fetch(repo, str(upstream_repo), [f"+{upstream_ref(branch)}:{upstream_ref(branch)}"])
        earlier = git.resolve(repo, local)
        start = earlier if earlier and not git.is_ancestor(repo, earlier, tip) \
            and git.is_ancestor(repo, tip, earlier) else tip
        if start != tip:
            log.info("%s has a merge not pushed yet; merging on top of it", local)
        merged = tuple(unmerged_commits(repo, start, repo, upstream))
        _prepared_worktree(repo, workdir, local, start)
        committed, message = None, ""
        if merged:
            env = _identity(workdir)
            done = git.run(["merge", "--no-ff", "--no-commit", "--quiet", upstream],
                           cwd=workdir, ok=(0, 1), env=env)
            conflicted = git.run(["diff", "--name-only", "--diff-filter=U", "-z"],
                                 cwd=workdir).stdout.decode("utf-8", "surrogateescape")
            if done.returncode or conflicted:
                files = [f for f in conflicted.split("\0") if f]
                roots = module_roots(e.path for e in git.list_tree(repo, start))
                return MergeOutcome(workdir=workdir, merged=merged,
                                    conflicts=group_by_module(files, roots), vcs="git")
            message = merge_message(branch.upstream or "", merged)
            git.run(["commit", "--quiet", "--no-verify", "-F", "-"], cwd=workdir,
                    input=message.encode(), env=env)
            committed = git.resolve(repo, local)
    earlier = start if start != tip else None
    # nothing merged now or before: the worktree is the synced commit, nothing to publish
    pushed = _push(workdir, branch, push) if push and (committed or earlier) else None
    git.remove_worktree(repo, workdir)  # the commit stays on the local branch
    return MergeOutcome(workdir=workdir, merged=merged, committed=committed, message=message,
                        pushed_to=pushed, vcs="git", earlier=earlier,
                        kept_in=f"branch {local.removeprefix('refs/heads/')} of {repo}")


def _push(workdir: Path, branch: Branch, url: str) -> str:
    target = git.parse_url(url)
    name = target.branch or git.parse_url(branch.url).branch or branch.release
    try:
        git.run(["push", "--quiet", target.url, f"HEAD:refs/heads/{name}"], cwd=workdir)
    except git.GitError as exc:
        raise SyncError(
            f"merged and committed in {workdir}, but the push to {url} failed: "
            f"{git.reason(exc.stderr)}",
            hint=f"push by hand from {workdir} (git push {target.url} HEAD:{name}), "
                 "or fix the URL",
        ) from exc
    return url
