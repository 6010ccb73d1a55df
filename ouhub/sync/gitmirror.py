"""Git mirrors: one bare repository per remote, shared by every branch that names it.

``<data_dir>/mirrors/git/<host>/<path>.git`` holds, for each configured branch whose
URL names that remote, the ref ``refs/ouhub/<release>/<branch>`` at the synced commit
(OCA/OpenUpgrade's twelve release branches are twelve refs of one repository). One
``git fetch`` per remote brings every branch, each with an explicit refspec into
``refs/ouhub-fetched/...``; the synced refs then move in one ``update-ref``
transaction, each only forward (an old tip that is not an ancestor of the new one
means the remote was rewritten: the ref keeps its old tip unless ``force``).

Crash safety comes from git itself: a fetch writes its objects before any ref, and a
ref moves by renaming a lock file, so a SIGKILL at any moment leaves every ref at its
old tip or its new one. What a killed git leaves behind (``*.lock`` files, temporary
packs) is removed by the next sync, under the repository's lock (one ``fcntl`` lock per
repository, ``.<name>.git.lock`` beside it, which also orders the threads of one sync).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from ouhub.config import Branch, Config, vcs_of_url
from ouhub.errors import RevisionGone, SyncError
from ouhub.redact import redact_dsn
from ouhub.sync import git
from ouhub.sync.git import GitError, RefUpdate

log = logging.getLogger("ouhub.sync")

SYNCED = "refs/ouhub/"
UPSTREAM = "refs/ouhub-upstream/"
FETCHED = "refs/ouhub-fetched/"


# -- where a branch lives -----------------------------------------------------------------------


def git_dir_for(config: Config, url: str) -> Path:
    """The bare repository of the remote that ``url`` (``URL[,branch=NAME]``) names."""
    return git.repository_dir(config.mirrors_dir / "git", git.parse_url(url).url)


def synced_ref(branch: Branch) -> str:
    """The ref holding the commit a branch was last synced to (in ``git_dir_for(branch.url)``)."""
    return f"{SYNCED}{branch.release}/{branch.name}"


def upstream_ref(branch: Branch) -> str:
    """The ref holding a branch's upstream (in ``git_dir_for(branch.upstream)``)."""
    return f"{UPSTREAM}{branch.release}/{branch.name}"


def vcs_of(url: str, configured: str | None = None) -> str:
    """"git" or "bzr": as configured, else what the URL is (a local path is looked at, a
    remote without a telling name is asked with ``git ls-remote``; bzr otherwise, which
    breezy then opens or names as not a branch)."""
    named = configured or vcs_of_url(url)
    if named:
        return named
    remote = git.parse_url(url).url
    if remote.startswith("file://") or "://" not in remote:
        path = Path(remote.removeprefix("file://"))
        if (path / ".bzr").exists():
            return "bzr"
        return "git" if git.is_repository(path) or git.is_repository(path / ".git") else "bzr"
    try:
        git.run(["ls-remote", "--quiet", remote, "HEAD"])
    except SyncError:
        return "bzr"
    return "git"


def previous_layout(path: Path) -> bool:
    """Whether ``path`` holds a git mirror of the previous layout (a repository of its own,
    made by breezy per release and branch), rather than a worktree of the shared one."""
    return (path / ".git").is_dir()


class RepositoryLocked(SyncError):
    """Another process is writing the same repository."""


@dataclass(frozen=True)
class FetchTarget:
    """One configured branch to bring into a repository."""

    key: str  # "17.0/openupgrade", for messages
    ref: str  # where the synced commit is kept: refs/ouhub/17.0/openupgrade
    urls: tuple[str, ...]  # the configured URL, then its fallbacks (``URL,branch=NAME``)
    checkout: Path | None = None  # a worktree to keep at the synced commit
    known: tuple[str, int | None] | None = None  # (commit, revno) the last sync stored
    previous: Path | None = None  # a mirror of the previous layout to adopt, if one is there

    @property
    def fetched_ref(self) -> str:
        return FETCHED + self.ref.removeprefix("refs/")


@dataclass(frozen=True)
class TargetResult:
    """What a sync did for one target: its new tip, or why it has none."""

    key: str
    ok: bool
    sha: str | None = None  # the synced commit (the old one when the update was refused)
    old: str | None = None
    served_url: str | None = None
    new_commits: int = 0  # commits the ref did not reach before (merged ones included)
    revno: int | None = None  # the length of the first-parent history
    created: bool = False  # the ref did not exist before
    error: str | None = None
    hint: str | None = None
    tried: tuple[str, ...] = ()  # URLs that failed before served_url, with their reason
    locked: bool = False
    note: str | None = None  # what became of a mirror of the previous layout


def sync_repository(
    git_dir: Path, targets: Sequence[FetchTarget], *, force: bool = False, wait: bool = False,
) -> dict[str, TargetResult]:
    """Fetch every target into the repository at ``git_dir`` and move their refs.

    Never raises for a target's failure: each result says what happened to its target.
    """
    results: dict[str, TargetResult] = {}
    try:
        with repository_lock(git_dir, wait=wait):
            _prepare(git_dir, force)
            notes = {t.key: _adopt(git_dir, t) for t in targets
                     if t.previous is not None and previous_layout(t.previous)}
            old = git.refs(git_dir, SYNCED, UPSTREAM)
            served, failures = _fetch_all(git_dir, targets)
            fetched = git.refs(git_dir, FETCHED)
            # one git process per target and question: a few at once (mostly walks of
            # the commit-graph, and the time to start a process)
            with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ouhub-git") as pool:
                results.update(zip((t.key for t in targets), pool.map(
                    lambda t: _decide(git_dir, t, old.get(t.ref), fetched.get(t.fetched_ref),
                                      served.get(t.key), failures.get(t.key, []), force),
                    targets), strict=True))
                _move_refs(git_dir, targets, results)
                counted = list(pool.map(lambda t: _count(git_dir, t, results[t.key]), targets))
            for target, result in zip(targets, counted, strict=True):  # worktrees: one by one
                results[target.key] = replace(_checkout(git_dir, target, result),
                                              note=notes.get(target.key))
    except SyncError as exc:
        locked = isinstance(exc, RepositoryLocked)
        for target in targets:
            if target.key not in results or not results[target.key].ok:
                previous = results.get(target.key)
                results[target.key] = TargetResult(
                    target.key, ok=False, error=exc.message, hint=exc.hint, locked=locked,
                    tried=previous.tried if previous else (),
                )
    return results


# -- the repository itself ----------------------------------------------------------------------


def _prepare(git_dir: Path, force: bool) -> None:
    """A usable repository at ``git_dir``: made when missing, cleaned of a killed git's
    leftovers, rebuilt when damaged and ``force``."""
    if not git_dir.exists():
        _create(git_dir)
        return
    remove_leftovers(git_dir)
    if git.is_repository(git_dir):
        return
    if not force:
        raise SyncError(
            f"mirror {git_dir} is damaged: not a readable git repository",
            hint=f"re-run with --force to rebuild it from the URL, or delete {git_dir}",
        )
    log.warning("rebuilding the damaged mirror %s (--force)", git_dir)
    shutil.rmtree(git_dir)
    _create(git_dir)


def _create(git_dir: Path) -> None:
    # made aside and renamed into place: a kill leaves no half-made repository behind
    work = git_dir.with_name(f".{git_dir.name}.new-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    git.init_bare(work)
    os.rename(work, git_dir)


def _adopt(git_dir: Path, target: FetchTarget) -> str:
    """Bring a mirror of the previous layout into the repository (a local fetch: its commit
    becomes the target's synced tip, so the URL sends only what it lacks), then remove it.
    One that cannot be read is moved aside, never deleted; the URL then sends everything."""
    old = target.previous
    assert old is not None
    try:
        if git.resolve(git_dir, target.ref) is None:
            git.fetch(git_dir, str(old), [f"+HEAD:{target.ref}"])
    except GitError as exc:
        aside = old.with_name(f"{old.name}.previous-layout")
        os.rename(old, aside)
        return (f"{target.key}: the mirror of the previous layout {old} could not be read "
                f"({git.reason(exc.stderr)}): moved to {aside}, fetched again from the URL")
    shutil.rmtree(old)
    return f"{target.key}: the mirror of the previous layout {old} was adopted into {git_dir}"


def remove_leftovers(git_dir: Path) -> None:
    """Remove what a killed git leaves (we hold the lock: no git is running here):
    lock files, which would fail the next command, and temporary packs and objects."""
    for root, dirs, files in os.walk(git_dir):
        rel = Path(root).relative_to(git_dir)
        if rel.parts[:1] == ("objects",):
            dirs[:] = [d for d in dirs if not d.startswith(("incoming-", "tmp_objdir"))] \
                if rel == Path("objects") else dirs
            for name in files:
                if name.startswith("tmp_") or name.endswith(".lock"):
                    _remove(Path(root) / name)
            if rel == Path("objects"):
                for entry in Path(root).iterdir():
                    if entry.is_dir() and entry.name.startswith(("incoming-", "tmp_objdir")):
                        _remove(entry)
            continue
        for name in files:
            if name.endswith(".lock"):
                _remove(Path(root) / name)


def _remove(path: Path) -> None:
    log.info("removing %s, left by an interrupted git", path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def repository_lock(git_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the repository's lock: threads of this process queue for it; another process
    holding it is an error naming it, unless ``wait``."""
    lock_path = git_dir.parent / f".{git_dir.name}.lock"
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(lock_path, threading.Lock())
    with thread_lock:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RepositoryLocked(
                    f"mirror {git_dir} is being updated by another ouhub (lock {lock_path})",
                    hint="wait for it to finish, or run with --wait to queue behind it",
                ) from None
            yield
        finally:
            os.close(fd)  # closing releases the lock


# -- fetching, URL by URL ---------------------------------------------------------------------


@dataclass
class _Pending:
    target: FetchTarget
    position: int = 0  # which of target.urls is tried next
    failures: list[str] = field(default_factory=list)


def _fetch_all(
    git_dir: Path, targets: Sequence[FetchTarget]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Fetch each target from its first URL that answers: one ``git fetch`` per remote and
    round (every target's configured URL first, then the fallbacks of those that failed).

    Returns the URL that served each target, and per target the URLs that failed."""
    states = [_Pending(t) for t in targets]
    pending = [p for p in states if p.target.urls]
    served: dict[str, str] = {}
    while pending:
        groups: dict[str, list[_Pending]] = {}
        for p in pending:
            groups.setdefault(git.parse_url(p.target.urls[p.position]).url, []).append(p)
        retry: list[_Pending] = []
        for remote, group in groups.items():
            for p, reason in _fetch_group(git_dir, remote, group):
                if reason is None:
                    served[p.target.key] = p.target.urls[p.position]
                    continue
                p.failures.append(f"{p.target.urls[p.position]}: {reason}")
                p.position += 1
                if p.position < len(p.target.urls):
                    retry.append(p)
        pending = retry
    return served, {p.target.key: p.failures for p in states}


def _fetch_group(
    git_dir: Path, remote: str, group: list[_Pending]
) -> Iterator[tuple[_Pending, str | None]]:
    """One fetch from ``remote`` for the group; a ref the remote lacks fails only its own
    targets, and the fetch is retried without them."""
    left = list(group)
    while left:
        refspecs = []
        for p in left:
            source = git.parse_url(p.target.urls[p.position]).source_ref
            refspecs.append(f"+{source}:{p.target.fetched_ref}")
        try:
            git.fetch(git_dir, remote, refspecs)
        except GitError as exc:
            missing = exc.missing_ref
            if missing is not None:
                lacking = [p for p in left if _names(p, missing)]
                if lacking:
                    for p in lacking:
                        yield p, f"no branch {missing.removeprefix('refs/heads/')} there " \
                                 "(check the branch name in the URL)"
                    left = [p for p in left if p not in lacking]
                    continue
            if exc.disk_full:
                raise SyncError(
                    f"disk full while fetching {remote} into {git_dir}; every branch keeps "
                    "its old tip", hint=f"free space on the file system of {git_dir} and sync again",
                ) from exc
            reason = _reason(exc)
            for p in left:
                yield p, reason
            return
        for p in left:
            yield p, None
        return


def _names(pending: _Pending, ref: str) -> bool:
    source = git.parse_url(pending.target.urls[pending.position]).source_ref
    return ref in (source, source.removeprefix("refs/heads/"))


def _reason(exc: GitError) -> str:
    detail = git.reason(exc.stderr) or f"git exited with {exc.returncode}"
    return f"cannot fetch: {detail}"


def _revno(git_dir: Path, sha: str, known: tuple[str, int | None] | None,
           old: str | None) -> int:
    """The length of ``sha``'s first-parent history, counted on from the revno the last sync
    stored when its commit is on that history (a walk of only the new commits)."""
    if known is not None and known[1] is not None:
        if known[0] == sha:
            return known[1]
        present = known[0] == old or git.resolve(git_dir, known[0]) is not None
        since = git.mainline_since(git_dir, sha, known[0]) if present else None
        if since is not None:
            return known[1] + since
    return git.count_commits(git_dir, [sha], first_parent=True)


# -- deciding and moving the refs ---------------------------------------------------------------


def _decide(
    git_dir: Path, target: FetchTarget, old: str | None, fetched: str | None,
    served_url: str | None, failures: list[str], force: bool,
) -> TargetResult:
    """The tip a target's ref moves to, or why it stays where it is."""
    tried = tuple(failures)
    if served_url is None or fetched is None:
        message, hint = all_failed(target.urls, failures)
        return TargetResult(target.key, ok=False, sha=old, old=old, error=message, hint=hint,
                            tried=tried)
    base = TargetResult(target.key, ok=True, sha=fetched, old=old, served_url=served_url,
                        created=old is None, tried=tried)
    if old is None or old == fetched:
        return base
    ahead, behind = git.ahead_behind(git_dir, old, fetched)
    if behind == 0:  # the old tip is in the new one's history: a fast-forward
        return replace(base, new_commits=ahead)
    if force:
        log.warning("%s: %s was rewritten; moving the mirror from %s to %s (--force)",
                    target.key, served_url, old[:12], fetched[:12])
        return base
    return TargetResult(
        target.key, ok=False, sha=old, old=old, served_url=served_url, tried=tried,
        error=f"history of {served_url} diverged from the mirror {git_dir} ({target.key}): "
              f"the branch was rewritten or overwritten upstream; the mirror keeps its old tip "
              f"{old[:12]} (the remote's is {fetched[:12]})",
        hint="check the branch, then re-run with --force to re-mirror it "
             "(ouhub sync --force --release R)",
    )


def all_failed(urls: Sequence[str], failures: Sequence[str]) -> tuple[str, str]:
    """The message and hint when no URL of a branch answered."""
    first = urls[0] if urls else "(no URL)"
    message = f"cannot mirror {first}: " + ("; ".join(failures) or "no URL configured")
    if len(urls) > 1:
        hint = ("every URL failed, fallbacks included: " + ", ".join(urls[1:])
                + "; check them, or add another `fallback` URL to the branch in the config")
    else:
        hint = ("the host may be down or the branch moved; check the URL, or add a "
                "`fallback` URL to the branch in the config")
    return message, hint


def _move_refs(git_dir: Path, targets: Sequence[FetchTarget],
               results: dict[str, TargetResult]) -> None:
    """Move every accepted ref in one transaction, each from the value read before the fetch."""
    updates = [
        RefUpdate(t.ref, r.sha, r.old) for t in targets
        if (r := results[t.key]).ok and r.sha and r.sha != r.old
    ]
    try:
        git.update_refs(git_dir, updates)
    except GitError as exc:
        for update in updates:
            key = next(t.key for t in targets if t.ref == update.ref)
            results[key] = replace(
                results[key], ok=False, sha=update.old, error=f"cannot move {update.ref} in "
                f"{git_dir}: {git.reason(exc.stderr)}; the mirror keeps its old tip",
                hint=exc.hint,
            )


def _count(git_dir: Path, target: FetchTarget, result: TargetResult) -> TargetResult:
    """The new commits and the revno of a synced target."""
    if not result.ok or result.sha is None:
        return result
    sha = result.sha
    try:
        new = result.new_commits if result.old else git.count_commits(git_dir, [sha])
        if result.old and sha != result.old and not result.new_commits:  # forced over a rewrite
            new = git.count_commits(git_dir, [sha], [result.old])
        revno = _revno(git_dir, sha, target.known, result.old)
    except GitError as exc:
        return replace(result, ok=False, error=exc.message, hint=exc.hint)
    return replace(result, new_commits=new, revno=revno)


def _checkout(git_dir: Path, target: FetchTarget, result: TargetResult) -> TargetResult:
    """A synced target's worktree brought to its commit, if it has one."""
    sha = result.sha
    if result.ok and sha is not None and target.checkout is not None:
        try:
            git.checkout(git_dir, target.checkout, sha)
        except SyncError as exc:
            return replace(
                result, ok=False,
                error=f"synced to {sha[:12]}, but its checkout at {target.checkout} failed: "
                      f"{exc.message}", hint=exc.hint,
            )
    return result


# -- a worktree at a run's revision -------------------------------------------------------------


def worktree_revision(worktree: Path) -> str | None:
    """The commit a worktree of ours has checked out; None when it is no worktree of ours."""
    if not (worktree / ".git").is_file():
        return None
    proc = git.run(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=worktree, ok=(0, 1, 128))
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def holds_revision(git_dir: Path, worktree: Path, sha: str) -> bool:
    """Whether the worktree is at ``sha``, or the repository holds it and the worktree can be
    put there (a mirror of the previous layout is adopted by a sync first)."""
    if worktree_revision(worktree) == sha:
        return True
    return git_dir.exists() and not previous_layout(worktree) \
        and git.resolve(git_dir, sha) is not None


def worktree_at(git_dir: Path, urls: Sequence[str], worktree: Path, sha: str, key: str) -> int:
    """The worktree brought to ``sha`` (the synced ref untouched: the next sync brings the
    worktree back to it). A commit the repository lacks, which no ref of the remote may name
    any more, is fetched by its id from the first of ``urls`` that has it; none having it is
    ``RevisionGone``. Returns its revno (the length of its first-parent history)."""
    with repository_lock(git_dir, wait=True):
        if git.resolve(git_dir, sha) is None:
            failures = []
            for url in urls:
                remote = git.parse_url(url).url
                try:
                    git.fetch(git_dir, remote, [f"+{sha}:{FETCHED}revision/{key}"])
                    break
                except GitError as exc:
                    failures.append(f"{redact_dsn(remote)}: {git.reason(exc.stderr)}")
            else:
                raise RevisionGone(sha, key, urls, failures)
        if worktree_revision(worktree) != sha:
            git.checkout(git_dir, worktree, sha)
        return git.count_commits(git_dir, [sha], first_parent=True)
