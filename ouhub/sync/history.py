"""Read a mirror's history: the commits between two revisions that touch a module.

A regression's suspect commits are the revisions of the release's branches between the
last run where the module passed and the first where it failed, that touch the module's
folder. This is the one place that reads them from the mirrors (``mirror_of`` says where
a branch's is); it takes the revision ids the sync stored: a git commit's sha (or breezy's
``git-v1:<sha>`` of stores made before git mirrors were read with git), a bzr revision id.
Git mirrors are read with ``git log`` (``ouhub.sync.git.commits_touching``), bzr ones with
breezy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ouhub.config import Branch, Config
from ouhub.errors import SyncError
from ouhub.records import Commit
from ouhub.sync.lag import first_line, module_of, module_roots

log = logging.getLogger("ouhub.sync")

SUSPECTS_LIMIT = 50  # the oldest commits of a longer range are left out, and the count says so
_GIT_PREFIX = "git-v1:"


@dataclass(frozen=True)
class CommitRange:
    commits: tuple[Commit, ...]  # newest first
    total: int  # commits in the range that touch the module, before SUSPECTS_LIMIT
    folder: str | None = None  # the module's folder in the branch, if it has one there


def touches(path: str, module: str, roots: frozenset[str]) -> bool:
    """Whether a changed file belongs to ``module``: inside its folder, or (14.0 and later)
    its scripts under ``openupgrade_scripts/scripts/<module>/``."""
    return module_of(path, roots) == module or f"/scripts/{module}/" in f"/{path}"


def mirror_of(config: Config, branch: Branch) -> Path:
    """Where a branch's history is: its remote's git repository, or its bzr mirror."""
    from ouhub.sync import gitmirror

    if gitmirror.vcs_of(branch.url, branch.vcs) == "git":
        return gitmirror.git_dir_for(config, branch.url)
    return config.mirror_path(branch)


def commits_touching(
    mirror: Path, since: str, until: str, module: str, limit: int = SUSPECTS_LIMIT
) -> CommitRange:
    """The commits after ``since`` up to ``until`` (merged ones included) that touch
    ``module``, newest first."""
    since, until = since.removeprefix(_GIT_PREFIX), until.removeprefix(_GIT_PREFIX)
    if since == until:
        return CommitRange((), 0)
    git_dir = _git_dir(Path(mirror))
    if git_dir is not None:
        return _git_commits(git_dir, since, until, module, limit)
    return _breezy_commits(mirror, since, until, module, limit)


def _git_dir(mirror: Path) -> Path | None:
    """The repository of a git mirror (bare, a worktree of one, or a checkout), else None."""
    from ouhub.sync import git

    if git.is_repository(mirror):
        return mirror
    if (mirror / ".git").exists():
        common = git.run(["rev-parse", "--git-common-dir"], cwd=mirror).stdout.decode().strip()
        return (mirror / common).resolve()
    return None


def _git_commits(git_dir: Path, since: str, until: str, module: str,
                 limit: int) -> CommitRange:
    from ouhub.sync import git

    for rev in (since, until):
        if git.resolve(git_dir, rev) is None:
            raise SyncError(f"revision {rev} is not in the mirror at {git_dir}",
                            hint="the branch was replaced since (sync --force); the "
                                 "suspect commits of this range cannot be read")
    roots = module_roots(e.path for e in git.list_tree(git_dir, until))
    # the module's folders as `touches` sees them: a folder of that name holding a manifest,
    # an addons/<module>/ folder (a module since deleted), its openupgrade_scripts/ folder
    folders = [root for root in sorted(roots) if root.rpartition("/")[2] == module]
    paths = [f"{root}/" for root in folders]
    paths += [f":(glob)**/addons/{module}/**", f":(glob)addons/{module}/**",
              f":(glob)**/scripts/{module}/**"]
    found, total = git.commits_touching(git_dir, since, until, paths, limit)
    return CommitRange(tuple(
        Commit(c.sha, c.sha, c.author, iso_date(c.timestamp), first_line(c.message))
        for c in found), total, folders[0] if folders else None)


def iso_date(timestamp: float) -> str:
    """A commit's time as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")


def changed_paths(repository: Any, revid: bytes) -> list[str]:
    """The files a revision added, removed, modified or renamed (both names)."""
    delta = repository.get_revision_delta(revid)
    paths: list[str] = []
    for changes in (delta.added, delta.removed, delta.modified, delta.renamed, delta.copied,
                    delta.kind_changed):
        for change in changes:
            paths.extend(p for p in change.path if p)
    return paths


def _breezy_commits(mirror: Path, since: str, until: str, module: str,
                    limit: int) -> CommitRange:
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    import breezy.git  # noqa: F401  (registers the git formats)
    from breezy import errors as bzr_errors
    from breezy.branch import Branch

    try:
        branch = Branch.open(str(mirror))
    except (bzr_errors.BzrError, OSError) as exc:
        raise SyncError(f"the mirror at {mirror} cannot be opened: {exc}",
                        hint="run `ouhub sync` to rebuild it") from exc
    with branch.lock_read():
        repository = branch.repository
        old, new = since.encode(), until.encode()
        for revid in (old, new):
            if not repository.has_revision(revid):
                raise SyncError(f"revision {revid.decode()} is not in the mirror at {mirror}",
                                hint="the branch was replaced since (sync --force); the "
                                     "suspect commits of this range cannot be read")
        unique = repository.get_graph().find_unique_ancestors(new, [old])
        tree = repository.revision_tree(new)
        with tree.lock_read():
            roots = module_roots(p for p in tree.all_versioned_paths() if p)
        found: list[tuple[bytes, str]] = []
        folder = next((r for r in sorted(roots) if r.rpartition("/")[2] == module), None)
        for revid, revno in _merge_sorted(branch, new, unique):
            touched = [p for p in changed_paths(repository, revid) if touches(p, module, roots)]
            if touched:
                found.append((revid, revno))
                folder = folder or (f"/{touched[0]}".rpartition(f"/{module}/")[0]
                                    + f"/{module}").lstrip("/")
        shown = found[:limit]
        revisions = repository.get_revisions([revid for revid, _ in shown])
        commits = tuple(
            _commit(revid, revno, rev) for (revid, revno), rev in zip(shown, revisions, strict=True)
        )
    return CommitRange(commits, len(found), folder)


def _merge_sorted(branch: Any, tip: bytes, unique: set[bytes]) -> Iterator[tuple[bytes, str]]:
    """The revisions of ``unique`` in ``brz log`` order (newest first, merges under theirs)."""
    left = len(unique)
    for revid, _depth, revno, _end in branch.iter_merge_sorted_revisions(start_revision_id=tip):
        if revid in unique:
            yield revid, ".".join(str(n) for n in revno)
            left -= 1
            if not left:
                return


def _commit(revid: bytes, revno: str, rev: Any) -> Commit:
    text = revid.decode("utf-8", "replace")
    # a git commit is named by its sha; a bzr revision by its revno
    revision = text[len(_GIT_PREFIX):] if text.startswith(_GIT_PREFIX) else revno
    return Commit(revision, text, rev.get_apparent_authors()[0], iso_date(rev.timestamp),
                  first_line(rev.message))
