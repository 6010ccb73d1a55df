"""Mirror one bzr branch into a local directory, with breezy (git mirrors: ``gitmirror.py``).

A mirror is a branch with a working tree, so other stages can read its files and run
a server from it; its revisions live in the shared repository above it (``shared``),
once for all the branches that share them. It is never written in place: every
update is built in a sibling temporary directory and swapped in with one
atomic rename (Linux ``renameat2(RENAME_EXCHANGE)``, or a plain rename when
the mirror is new). A SIGKILL at any moment therefore leaves the mirror at
its old head or at its new one; the next sync removes the leftovers.

The temporary copy hard-links what breezy and git never rewrite in place
(pack files, pack indices, loose git objects and the working-tree files,
which breezy replaces by rename) and copies every other file, so an update
with nothing new writes nothing and one with a few new revisions costs a
directory walk plus the pull itself.

Two syncs never write the same mirror: each holds an ``fcntl`` lock on
``.<name>.lock`` next to the mirror for the whole update.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import breezy.bzr  # noqa: F401  (registers the bzr formats and bzr:// transports)
from breezy import errors as bzr_errors
from breezy import urlutils
from breezy.branch import Branch
from breezy.controldir import ControlDir, format_registry
from breezy.revision import NULL_REVISION
from breezy.workingtree import WorkingTree

from ouhub.errors import RevisionGone, SyncError
from ouhub.fsutil import FileLock, LockHeld, thread_lock
from ouhub.redact import redact_dsn

log = logging.getLogger("ouhub.sync")

_TMP_MARK = ".sync-"
# Inside the VCS metadata, only these are safe to hard-link: written once, never rewritten.
_IMMUTABLE = (
    (".bzr", "repository", "packs"),
    (".bzr", "repository", "indices"),
)
_METADATA = (".bzr",)
# What a remote may fail with while being opened or read: the next URL is tried.
_SOURCE_ERRORS = (bzr_errors.BzrError, OSError, EOFError)


@dataclass(frozen=True)
class MirrorResult:
    """What one mirror update did."""

    served_url: str  # the URL that answered (after lp: resolution), url or a fallback
    vcs: str  # "bzr" or "git": the mirror's format
    revid: str  # head revision id (breezy's, e.g. "git-v1:<sha>" for git)
    revno: int | None  # None when a ghost interrupts the mainline
    new_revisions: int  # revisions the mirror did not have before (all of them on the first run)
    created: bool = False  # the mirror was branched (first run, --force rebuild, VCS change)
    tried: tuple[str, ...] = ()  # URLs that failed before served_url, with their error
    adopted: bool = False  # a standalone mirror of the previous layout moved into the shared repo


class MirrorLocked(SyncError):
    """Another process is updating the same mirror."""


def update_mirror(
    urls: Sequence[str], dest: Path, *, vcs: str | None = None, force: bool = False,
    wait: bool = False, lp_cache_dir: Path | None = None, shared: Path | None = None,
) -> MirrorResult:
    """Branch ``dest`` from the first of ``urls`` that answers, or pull its new revisions.

    ``vcs`` is the expected VCS ("bzr" or "git"); a source of the other kind is
    an error for that URL. ``force`` overwrites a diverged mirror and rebuilds
    a damaged one. ``wait`` waits for another sync's lock instead of failing.
    ``lp:`` names are resolved by ``ouhub.sync.launchpad.resolve_lp`` (launchpadlib's
    cache in ``lp_cache_dir``; service root from $OUHUB_LP_SERVICE_ROOT or production).
    """
    if not urls:
        raise SyncError(f"no URL to mirror into {dest}", hint="give the branch a url in the config")
    dest = Path(dest).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _mirror_lock(dest, wait=wait):
        _remove_leftovers(dest)
        failures: list[str] = []
        for url in urls:
            for candidate in _expand(url, failures, lp_cache_dir):
                try:
                    source = Branch.open(candidate)
                    source_vcs = _vcs_of_branch(source)
                except _SOURCE_ERRORS as exc:
                    failures.append(f"{candidate}: {_describe(exc, candidate)}")
                    log.info("cannot open %s: %r", candidate, exc)
                    continue
                if vcs is not None and source_vcs != vcs:
                    failures.append(f"{candidate}: is a {source_vcs} branch, expected {vcs}")
                    continue
                try:
                    result = _update_from(
                        source, candidate, source_vcs, dest, force, shared,
                    )
                except _TransferFailed as exc:
                    failures.append(f"{candidate}: {exc}")
                    continue
                return _with_tried(result, failures)
        raise _all_failed(urls, dest, failures)


class _TransferFailed(Exception):
    """The source stopped answering during the transfer: try the next URL."""


def _with_tried(result: MirrorResult, failures: list[str]) -> MirrorResult:
    if not failures:
        return result
    return MirrorResult(**{**result.__dict__, "tried": tuple(failures)})


def _expand(url: str, failures: list[str], lp_cache_dir: Path | None) -> list[str]:
    """The URLs behind one configured URL: an lp: name resolves to one or more."""
    if not url.startswith("lp:"):
        return [url]
    from ouhub.sync.launchpad import resolve_lp  # launchpadlib: only for lp: names

    try:
        return list(resolve_lp(url, cache_dir=lp_cache_dir))
    except SyncError as exc:
        failures.append(f"{url}: {exc.message}")
        return []


def _all_failed(urls: Sequence[str], dest: Path, failures: list[str]) -> SyncError:
    hosts = sorted({_host(u) for u in urls if _host(u)})
    where = " and ".join(hosts) if hosts else "the configured URLs"
    message = f"cannot mirror {urls[0]} (host {where}): " + "; ".join(failures)
    if len(urls) > 1:
        hint = "every URL failed, fallbacks included: " + ", ".join(urls[1:]) + \
            "; check them, or add another `fallback` URL to the branch in the config"
    else:
        hint = (
            "the host may be down or the branch moved; add a `fallback` URL to the branch in "
            "the config (for 6.x/7.0, the OCA OpenUpgrade git repository keeps the history: "
            "https://github.com/OCA/OpenUpgrade.git,branch=7.0)"
        )
    return SyncError(message, hint=hint)


def _host(url: str) -> str:
    if url.startswith("lp:"):
        return "launchpad.net"
    parts = urlsplit(url)
    if parts.scheme and parts.scheme != "file" and parts.hostname:
        return parts.hostname + (f":{parts.port}" if parts.port else "")
    return ""


def _describe(exc: BaseException, url: str) -> str:
    """A one-line reason for a source failure."""
    if isinstance(exc, bzr_errors.NotBranchError):
        return "not a branch (check the URL)"
    if isinstance(exc, (bzr_errors.ConnectionError, ConnectionError, socket.error)):
        host = _host(url) or url
        detail = getattr(exc, "strerror", None) or getattr(exc, "msg", None) or str(exc)
        return f"cannot reach {host}: {detail}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _vcs_of_branch(branch: Branch) -> str:
    vcs = getattr(branch.repository, "vcs", None)
    return "git" if getattr(vcs, "abbreviation", "") == "git" else "bzr"


# -- the update itself --------------------------------------------------------------------------


def _update_from(
    source: Branch, url: str, source_vcs: str, dest: Path, force: bool, shared: Path | None,
) -> MirrorResult:
    with source.lock_read():
        try:
            tip = source.last_revision()
        except _SOURCE_ERRORS as exc:
            raise _TransferFailed(_describe(exc, url)) from exc
        if not _exists(dest):
            with _writing(shared):
                return _branch_fresh(source, url, source_vcs, dest, replace=False)
        try:
            mirror = _open_healthy(dest)
        except SyncError:
            if not force:
                raise
            log.warning("rebuilding the damaged mirror %s (--force)", dest)
            with _writing(shared):
                return _branch_fresh(source, url, source_vcs, dest, replace=True)
        mirror_vcs = _vcs_of_branch(mirror)
        if mirror_vcs != source_vcs:
            log.warning("%s serves %s but the mirror %s is %s: rebuilding it",
                        url, source_vcs, dest, mirror_vcs)
            with _writing(shared):
                return _branch_fresh(source, url, source_vcs, dest, replace=True)
        old_tip = mirror.last_revision()
        standalone = shared is not None and _has_own_repository(dest)
        if old_tip == tip and not standalone and _tree_revision(dest) in (tip, None):
            revno = _revno(mirror)
            return MirrorResult(url, mirror_vcs, revid_text(tip), revno, 0)
        with _writing(shared):
            return _pull_into_copy(source, url, mirror_vcs, dest, old_tip, force,
                                   adopt=standalone)


def _exists(dest: Path) -> bool:
    return dest.is_symlink() or dest.exists()


def _open_healthy(dest: Path) -> Branch:
    """The mirror's branch, after checking its head is in its repository; SyncError if damaged."""
    hint = (
        "re-run with --force to rebuild it from the URL (ouhub sync --force --release R), "
        f"or delete {dest}"
    )
    try:
        branch = ControlDir.open(str(dest)).open_branch()
        tip = branch.last_revision()
        if tip != NULL_REVISION and not branch.repository.has_revision(tip):
            raise SyncError(
                f"mirror {dest} is damaged: its head {revid_text(tip)} is missing from its "
                "repository",
                hint=hint,
            )
        return branch
    except SyncError:
        raise
    except (bzr_errors.BzrError, OSError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()
        raise SyncError(
            f"mirror {dest} is damaged: {type(exc).__name__}: {detail[0] if detail else ''}",
            hint=hint,
        ) from exc


def _branch_fresh(
    source: Branch, url: str, vcs: str, dest: Path, *, replace: bool
) -> MirrorResult:
    work = _tmp_path(dest)
    try:
        with _transfer(url, dest):
            source.controldir.sprout(
                _write_url(work), source_branch=source, create_tree_if_local=True
            )
        branch = _open_healthy(work)
        tip = branch.last_revision()
        count = _count_new(branch, tip, NULL_REVISION)
        revno = _revno(branch)
        _swap_in(work, dest, replace=replace)
    finally:
        _rmtree(work)
    return MirrorResult(url, _vcs_of_branch(branch), revid_text(tip), revno, count, created=True)


def _pull_into_copy(
    source: Branch, url: str, vcs: str, dest: Path, old_tip: bytes, force: bool,
    adopt: bool = False,
) -> MirrorResult:
    """Pull into a copy of the mirror, then swap it in. With ``adopt`` the copy is a branch
    of the standalone mirror in the shared repository above it (its revisions move there)."""
    work = _tmp_path(dest)
    try:
        try:
            if adopt:
                log.info("adopting the standalone mirror %s into the shared repository", dest)
                old = Branch.open(str(dest))
                old.controldir.sprout(_write_url(work), source_branch=old,
                                      create_tree_if_local=True)
            else:
                _link_copy(dest, work)
        except OSError as exc:
            _raise_if_disk_full(exc, dest)
            raise SyncError(
                f"cannot prepare the update of mirror {dest}: {exc}",
                hint="check that the data dir is writable",
            ) from exc
        cdir = ControlDir.open(str(work))
        try:
            target = cdir.open_workingtree()
        except bzr_errors.NoWorkingTree:
            target = cdir.open_branch()
        try:
            with _transfer(url, dest):
                target.pull(source, overwrite=force)
        except bzr_errors.DivergedBranches as exc:
            raise SyncError(
                f"history of {url} diverged from the mirror {dest}: the branch was rewritten "
                "or overwritten upstream; the mirror keeps its old head",
                hint="check the branch, then re-run with --force to re-mirror it "
                "(ouhub sync --force --release R)",
            ) from exc
        # The pull checked what it fetched: no second health check of our own copy.
        branch = getattr(target, "branch", target)
        tip = branch.last_revision()
        if target is not branch and target.last_revision() != tip:
            target.update()  # a worker had put the tree at an older run's revision
        count = _count_new(branch, tip, old_tip)
        revno = _revno(branch)
        _swap_in(work, dest, replace=True)
    finally:
        _rmtree(work)
    return MirrorResult(url, vcs, revid_text(tip), revno, count, adopted=adopt)


@contextmanager
def _transfer(url: str, dest: Path) -> Iterator[None]:
    """Around a fetch: a full disk is a SyncError; a source failing mid-way tries the next URL."""
    try:
        yield
    except bzr_errors.DivergedBranches:
        raise
    except OSError as exc:
        _raise_if_disk_full(exc, dest)
        raise _TransferFailed(_describe(exc, url)) from exc
    except _SOURCE_ERRORS as exc:
        raise _TransferFailed(_describe(exc, url)) from exc


def _count_new(branch: Branch, tip: bytes, old_tip: bytes) -> int:
    """Revisions in ``tip``'s ancestry that were not in ``old_tip``'s (merged ones included)."""
    if tip in (old_tip, NULL_REVISION):
        return 0
    with branch.lock_read():
        graph = branch.repository.get_graph()
        if old_tip == NULL_REVISION:
            return sum(1 for rev, _ in graph.iter_ancestry([tip]) if rev != NULL_REVISION)
        return len(graph.find_unique_ancestors(tip, [old_tip]))


def _revno(branch: Branch) -> int:
    """A bzr branch's revno: the length of its mainline, which the branch stores."""
    return branch.last_revision_info()[0]


# -- the working tree at a run's revision ---------------------------------------------------------


def _tree_revision(dest: Path) -> bytes | None:
    """The revision the mirror's working tree holds; None without a mirror or a tree."""
    try:
        return WorkingTree.open(str(dest)).last_revision()
    except (bzr_errors.BzrError, OSError):
        return None


def tree_revision(dest: Path) -> str | None:
    """The revision id the mirror's working tree holds, as text; None without a tree."""
    revid = _tree_revision(dest)
    return revid_text(revid) if revid and revid != NULL_REVISION else None


def holds_revision(dest: Path, revid: str) -> bool:
    """Whether the mirror's tree is at ``revid`` or its repository holds it."""
    wanted = revid.encode()
    if _tree_revision(dest) == wanted:
        return True
    try:
        return Branch.open(str(dest)).repository.has_revision(wanted)
    except (bzr_errors.BzrError, OSError):
        return False


def tree_at(urls: Sequence[str], dest: Path, revid: str, key: str, *,
            lp_cache_dir: Path | None = None, shared: Path | None = None) -> int | None:
    """The mirror's working tree brought to ``revid`` (its branch and tip untouched; the next
    sync brings the tree back to the tip), through a copy swapped in as a sync's update is.
    A revision the repository lacks is fetched by its id from the first of ``urls`` that
    has it; none having it is a SyncError. Returns its revno (None off the mainline)."""
    wanted = revid.encode()
    with _mirror_lock(dest, wait=True):
        _remove_leftovers(dest)
        mirror = _open_healthy(dest)
        if not mirror.repository.has_revision(wanted):
            with _writing(shared):
                _fetch_revision(mirror, urls, wanted, key, lp_cache_dir)
        if _tree_revision(dest) != wanted:
            work = _tmp_path(dest)
            try:
                _link_copy(dest, work)
                WorkingTree.open(str(work)).update(revision=wanted)
                _swap_in(work, dest, replace=True)
            except OSError as exc:
                _raise_if_disk_full(exc, dest)
                raise SyncError(f"cannot bring mirror {dest} to revision {revid}: {exc}",
                                hint="check that the data dir is writable") from exc
            finally:
                _rmtree(work)
        try:
            return mirror.revision_id_to_revno(wanted)
        except bzr_errors.NoSuchRevision:
            return None


def _fetch_revision(mirror: Branch, urls: Sequence[str], revid: bytes, key: str,
                    lp_cache_dir: Path | None) -> None:
    failures: list[str] = []
    for url in urls:
        for candidate in _expand(url, failures, lp_cache_dir):
            try:
                mirror.repository.fetch(Branch.open(candidate).repository, revision_id=revid)
                return
            except bzr_errors.NoSuchRevision:
                failures.append(f"{redact_dsn(candidate)}: not there")
            except _SOURCE_ERRORS as exc:
                failures.append(f"{redact_dsn(candidate)}: {_describe(exc, candidate)}")
    raise RevisionGone(revid_text(revid), key, urls, failures)


def revid_text(revid: bytes | str) -> str:
    """A breezy revision id as text."""
    return revid.decode("utf-8") if isinstance(revid, bytes) else str(revid)


def _write_url(path: Path) -> str:
    """The URL breezy writes a new mirror through (a seam for the disk-full test)."""
    return urlutils.local_path_to_url(str(path))


def _raise_if_disk_full(exc: OSError, dest: Path) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise SyncError(
            f"disk full while updating mirror {dest}: {exc.strerror or exc}; "
            "the mirror keeps its old head",
            hint=f"free space on the file system of {dest.parent} and sync again",
        ) from exc


# -- the shared bzr repository ------------------------------------------------------------------


def _has_own_repository(dest: Path) -> bool:
    """A standalone bzr branch (the previous layout) rather than one of the shared repository."""
    return (dest / ".bzr" / "repository").is_dir()


@contextmanager
def _writing(shared: Path | None) -> Iterator[None]:
    """Around a write into the shared repository, which is made first if missing.

    Processes need no lock of ours: each writes its own pack and breezy locks the repository
    only to list it in ``pack-names``, stealing that lock from a holder that died (breezy's
    ``locks.steal_dead``, on by default). The threads of one `ouhub sync -j N` do: breezy
    keeps the files being written in one table per process, by path, so two threads writing
    the same pack (the same new revisions, or the same autopack) collide (a KeyError)."""
    if shared is None:
        yield
        return
    from ouhub.sync.gitmirror import repository_lock

    with thread_lock(str(shared)):
        with repository_lock(shared, wait=True):
            _ensure_shared(shared)
        yield


def _ensure_shared(shared: Path) -> None:
    if (shared / ".bzr" / "repository" / "format").is_file():
        return
    # made aside and renamed into place: a kill leaves no half-made repository
    work = shared.parent / f".{shared.name}{_TMP_MARK}shared-{os.getpid()}"
    _rmtree(work)
    work.mkdir(parents=True)
    cdir = ControlDir.create(urlutils.local_path_to_url(str(work)),
                             format=format_registry.make_controldir("2a"))
    repo = cdir.create_repository(shared=True)
    repo.set_make_working_trees(True)
    shared.mkdir(parents=True, exist_ok=True)
    _rmtree(shared / ".bzr")  # a half-made one, if a kill came before the rename
    os.rename(work / ".bzr", shared / ".bzr")
    _rmtree(work)
    log.info("made the shared bzr repository %s", shared)


# -- files: lock, copy, swap --------------------------------------------------------------------


@contextmanager
def _mirror_lock(dest: Path, wait: bool) -> Iterator[None]:
    lock_path = dest.parent / f".{dest.name}.lock"
    lock = FileLock(lock_path, wait=wait)
    try:
        lock.acquire()
    except LockHeld:
        raise MirrorLocked(
            f"mirror {dest} is being updated by another ouhub sync (lock {lock_path})",
            hint="wait for it to finish, or run with --wait to queue behind it",
        ) from None
    try:
        yield
    finally:
        lock.release()


def _tmp_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}{_TMP_MARK}{os.getpid()}"


def _remove_leftovers(dest: Path) -> None:
    """Undo what a killed sync left behind (we hold the mirror's lock)."""
    parked = dest.parent / f".{dest.name}{_TMP_MARK}old"
    if parked.exists() and not _exists(dest):
        log.warning("restoring mirror %s, parked by an interrupted sync", dest)
        os.rename(parked, dest)
    prefix = f".{dest.name}{_TMP_MARK}"
    for entry in dest.parent.iterdir():
        if entry.name.startswith(prefix):
            log.info("removing %s, left by an interrupted sync", entry)
            _rmtree(entry)


def _rmtree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _link_copy(src: Path, dst: Path) -> None:
    """Copy a mirror, hard-linking the files nothing rewrites in place."""
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        target = dst / rel
        target.mkdir(parents=True, exist_ok=rel != Path("."))
        shareable = _shareable(rel.parts)
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):
                os.symlink(os.readlink(os.path.join(root, name)), target / name)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            source = os.path.join(root, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target / name)
            elif shareable:
                os.link(source, target / name)
            else:
                shutil.copy2(source, target / name)


def _shareable(parts: tuple[str, ...]) -> bool:
    if not parts or parts[0] not in _METADATA:
        return True  # working-tree files: breezy replaces them by rename, never rewrites
    return any(parts[: len(prefix)] == prefix for prefix in _IMMUTABLE)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_in(work: Path, dest: Path, *, replace: bool) -> None:
    """Put ``work`` at ``dest`` in one atomic step; the old mirror ends up at ``work``."""
    if not replace or not _exists(dest):
        os.rename(work, dest)
        return
    if _exchange(work, dest):
        return
    # No renameat2 here: park the old mirror next to it; a kill between the two
    # renames leaves it there, and the next sync puts it back (see _restore).
    parked = dest.parent / f".{dest.name}{_TMP_MARK}old"
    os.rename(dest, parked)
    os.rename(work, dest)
    os.rename(parked, work)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))
