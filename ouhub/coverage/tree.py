"""The trees a coverage scan reads.

A scan reads a tree through one small interface, ``Tree``: the list of its files, and
``read(path)`` for the few it needs (manifests, analyses, apriori, declared tables).
Three sources give one: a directory (``walk_directory``: walked once, symlink loops and
unreadable entries kept as warnings), a git mirror at its synced commit (``git_tree``:
``git ls-tree -r`` and one ``git cat-file --batch``, no working tree), and a bzr mirror
(``read_branch``: its working tree when at the head, else its head revision). What a
scan finds in a tree is ``ouhub.coverage.contents``.
"""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import stat
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ouhub.config import Branch, Config
from ouhub.coverage import analysis as analysis_mod
from ouhub.coverage import declared as declared_mod
from ouhub.coverage.layout import Placement, placement, repository_path
from ouhub.errors import CoverageError
from ouhub.fsutil import LINK_OUT, link_outside, read_open
from ouhub.vocab import MANIFEST_NAMES

_SKIP_DIRS = {".bzr", ".git", ".hg", ".svn", "__pycache__", "node_modules"}
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class TreeFile(NamedTuple):
    """A file of a tree (a named tuple: a walk makes one per file, twice in a wheel)."""

    path: str  # relative, '/'-separated; prefixed with the branch name for mirrors
    size: int
    mtime_ns: int

    @property
    def stamp(self) -> tuple[int, int] | None:
        """What tells the file's content apart without reading it (None: nothing does)."""
        return (self.size, self.mtime_ns) if self.mtime_ns else None


def _nothing_to_close() -> None:
    return None


def nothing_to_prefetch(paths: Iterable[str]) -> None:
    return None


@dataclass
class Tree:
    """A tree source: its files, and ``read(path)`` for one of them (OSError if it cannot);
    walking problems land in ``warnings``; ``close()`` ends what reading holds open.

    ``stamps`` tells files apart without reading them where size and time do not (a git
    tree's blob ids); ``prefetch(paths)`` says which files will be read next, for a source
    that fetches them in one exchange.
    """

    files: list[TreeFile]
    read: Callable[[str], bytes]
    warnings: list[tuple[str, str]] = field(default_factory=list)
    dirs: list[tuple[str, int]] = field(default_factory=list)  # (relative path, mtime_ns)
    close: Callable[[], None] = _nothing_to_close
    stamps: Mapping[str, Hashable] = field(default_factory=dict)
    prefetch: Callable[[Iterable[str]], None] = nothing_to_prefetch

    def file_stamps(self) -> dict[str, Hashable]:
        """Each file's stamp, where the source gives one (see ``TreeFile.stamp``)."""
        found: dict[str, Hashable] = {f.path: f.stamp for f in self.files if f.mtime_ns}
        found.update(self.stamps)
        return found


def walk_directory(
    root: Path, prefix: str = "", stat_if: Callable[[str], bool] | None = None
) -> Tree:
    """Every regular file under ``root`` (following symlinks once; loops become warnings).

    A symlink that resolves outside ``root`` is never followed: a mirrored branch could
    point ``openupgrade_analysis_work.txt`` at /etc/passwd. It is a warning, by name, and
    ``read`` refuses a path that resolves outside ``root`` by the time it is read: it reads
    a file the walk stat-ed when the path still opens that very file (device and inode),
    else it resolves the path again.

    Only the files whose name passes ``stat_if`` get their size and time (others 0), and
    only then are the directories' times kept in ``Tree.dirs``: a mirror's cache key is
    its revision, so it needs no stat call at all; a plain directory's key is made of
    the times of what the scan reads and of the directories (which change when an entry
    is added, removed or renamed).
    """
    files: list[TreeFile] = []
    dirs: list[tuple[str, int]] = []
    warnings: list[tuple[str, str]] = []
    found: dict[str, tuple[int, int]] = {}  # path -> (device, inode) of a stat-ed file
    try:
        start = os.path.realpath(root)
        visited = {start}
        # (path, relative path, where its time goes in ``dirs``: -1 known or not kept)
        stack: list[tuple[str, str, int]] = [(str(root), "", -1)]
        top = os.stat(root)
    except OSError as exc:
        raise CoverageError(
            f"cannot read the directory {root}: {exc.strerror}",
            hint="check the path given to --path (or the mirror) exists and is readable",
        ) from exc
    if stat_if is not None:
        dirs.append(("", top.st_mtime_ns))
    while stack:
        directory, rel, slot = stack.pop()
        # listed through a descriptor: its own time by fstat, its entries' by fstatat, no
        # path resolved from the root again
        try:
            handle = os.open(directory, _DIR_FLAGS)
        except OSError as exc:
            if slot >= 0:
                dirs[slot] = (rel, _mtime(directory))
            warnings.append((prefix + rel or ".", f"unreadable directory: {exc.strerror}"))
            continue
        try:
            if slot >= 0:
                dirs[slot] = (rel, os.fstat(handle).st_mtime_ns)
            _walk_entries(handle, directory, rel, prefix, stat_if, start, visited, stack, files,
                          dirs, warnings, found)
        except OSError as exc:
            warnings.append((prefix + rel or ".", f"unreadable directory: {exc.strerror}"))
        finally:
            os.close(handle)
    files.sort(key=lambda f: f.path)
    base = str(root)
    cut = len(prefix)

    def read(path: str) -> bytes:
        full = os.path.join(base, path[cut:])
        walked = found.get(path)
        if walked is not None:
            # the very file the walk met inside the tree: no need to resolve its path again
            # (a link at its end fails to open, a link changed above it opens another file)
            try:
                descriptor = os.open(full, _OPEN_FLAGS)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
            else:
                try:
                    info = os.fstat(descriptor)
                    if (info.st_dev, info.st_ino) == walked:
                        return read_open(descriptor, info.st_size)
                finally:
                    os.close(descriptor)
        if link_outside(full, start):  # a link changed since the walk
            raise PermissionError(errno.EACCES, "resolves outside the tree: not read", path)
        with open(full, "rb") as handle:
            return handle.read()

    return Tree(files, read, warnings, dirs)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # never matches: the next scan walks again


def _walk_entries(
    handle: int, directory: str, rel: str, prefix: str, stat_if: Callable[[str], bool] | None,
    start: str, visited: set[str], stack: list[tuple[str, str, int]], files: list[TreeFile],
    dirs: list[tuple[str, int]], warnings: list[tuple[str, str]],
    found: dict[str, tuple[int, int]],
) -> None:
    """``walk_directory``'s work on one directory, open as ``handle`` (see there)."""
    here = directory if directory.endswith(os.sep) else directory + os.sep
    for entry in list(os.scandir(handle)):
        name = entry.name
        relpath = f"{rel}/{name}" if rel else name
        try:
            is_link = entry.is_symlink()
            if is_link and (out := link_outside(here + name, start)):
                warnings.append((prefix + relpath, out))
                continue
            if not is_link:
                # the directory entry's type is enough: a stat call only where needed
                if entry.is_file(follow_symlinks=False):
                    if stat_if is None or not stat_if(name):
                        files.append(TreeFile(prefix + relpath, 0, 0))
                        continue
                elif not entry.is_dir(follow_symlinks=False) or name in _SKIP_DIRS:
                    continue
                else:  # its time is taken when it is listed
                    if stat_if is None:
                        stack.append((here + name, relpath, -1))
                    else:
                        stack.append((here + name, relpath, len(dirs)))
                        dirs.append((relpath, -1))
                    continue
            info = entry.stat(follow_symlinks=True)
        except OSError as exc:
            what = "symlink loop" if exc.errno == errno.ELOOP else (
                "broken symlink" if entry.is_symlink() else "unreadable entry")
            warnings.append((prefix + relpath, f"{what}: skipped ({exc.strerror})"))
            continue
        if stat.S_ISDIR(info.st_mode):
            if name in _SKIP_DIRS:
                continue
            real = os.path.realpath(here + name)  # a link (a directory's own entry is above)
            if real in visited or _is_ancestor(real, directory):
                warnings.append((prefix + relpath,
                                 f"symlink loop: points back to {real}; skipped"))
                continue
            visited.add(real)
            stack.append((here + name, relpath, -1))
            if stat_if is not None:
                dirs.append((relpath, info.st_mtime_ns))
        elif stat.S_ISREG(info.st_mode):
            if stat_if is None or not stat_if(name):
                files.append(TreeFile(prefix + relpath, 0, 0))
            else:
                files.append(TreeFile(prefix + relpath, info.st_size, info.st_mtime_ns))
                found[prefix + relpath] = (info.st_dev, info.st_ino)


def place_directory(root: Path, walked: Tree) -> tuple[Tree, Placement]:
    """The tree walked from ``root``, with every path as the OpenUpgrade repository holds
    it wherever in the repository ``root`` is (see ``layout``).

    The files above ``root`` that belong to it (the apriori.py beside
    ``openupgrade_scripts/scripts/``) are added to ``walked`` too, by their path relative
    to ``root``, so that the walk's stamp covers them.
    """
    found = placement(root.name, root.parent.name, lambda rel: (root / rel).exists())
    for relative, _ in found.above:
        try:
            info = (root / relative).stat()
        except OSError:
            continue
        walked.files.append(TreeFile(relative, info.st_size, info.st_mtime_ns))
    above = dict(found.above)
    moved: dict[str, str] = {}  # repository path -> path in the walked tree
    files = []
    for item in walked.files:
        path = above.get(item.path) or repository_path(found.prefix + item.path)
        if path != item.path:
            moved[path] = item.path
            item = TreeFile(path, item.size, item.mtime_ns)
        files.append(item)
    if not moved:
        return walked, found
    read = walked.read
    # the files above ``root`` that placement chose (the apriori.py beside the scripts): read
    # as such, since the walk's reader refuses what lies outside ``root``
    chosen = {relative for relative, _ in found.above}

    def read_placed(path: str) -> bytes:
        walked_path = moved.get(path, path)
        if walked_path in chosen:
            return (root / walked_path).read_bytes()
        return read(walked_path)

    files.sort(key=lambda f: f.path)
    warnings = [(repository_path(found.prefix + p), m) for p, m in walked.warnings]
    return Tree(files, read_placed, warnings, walked.dirs), found


def _is_ancestor(real: str, directory: str) -> bool:
    here = os.path.realpath(directory)
    return here == real or here.startswith(real.rstrip(os.sep) + os.sep)


def git_tree(git_dir: Path, rev: str, prefix: str = "") -> Tree:
    """The files of commit ``rev`` from the object store: listed by ``git ls-tree -r``, read
    through one ``git cat-file --batch`` started at the first read, which fetches the files
    every scan reads (``reads_content``: manifests, apriori, declared tables) in one
    exchange; analyses come in one more, for the paths given to ``prefetch`` (those a parse
    cache does not answer: each file's stamp is its blob id). Symlinks and submodules are
    not files of the tree, as in a bzr revision; a symlink whose target leaves the tree is
    a warning, by name, as in a directory."""
    from ouhub.sync import git

    try:
        entries = git.list_tree(git_dir, rev)
    except git.GitError as exc:
        raise CoverageError(f"cannot list {rev} in {git_dir}: {git.reason(exc.stderr)}",
                            hint="run `ouhub sync --force` to rebuild the mirror") from exc
    oids = {prefix + e.path: e.oid for e in entries if e.mode in ("100644", "100755")}
    files = [TreeFile(path, 0, 0) for path in sorted(oids)]
    warnings = _links_out(git_dir, {e.path: e.oid for e in entries if e.mode == "120000"},
                          prefix)
    stamps = {path: oid for path, oid in oids.items() if reads_content(path.rpartition("/")[2])}
    reader: list[git.ObjectReader] = []
    fetched: dict[str, bytes | git.GitError] = {}

    def started() -> git.ObjectReader:
        if not reader:
            reader.append(git.ObjectReader(git_dir).__enter__())
            first = [oid for p, oid in stamps.items()
                     if not analysis_mod.is_openupgrade_analysis_file(p.rpartition("/")[2])]
            fetched.update(reader[0].read_many(first))
        return reader[0]

    def prefetch(paths: Iterable[str]) -> None:
        wanted = [oids[p] for p in paths if p in oids and oids[p] not in fetched]
        if wanted:
            fetched.update(started().read_many(wanted))

    def read(path: str) -> bytes:
        if path not in oids:
            raise FileNotFoundError(errno.ENOENT, f"not in {rev}", path)
        started()
        try:
            found = fetched.pop(oids[path], None)
            if found is None:
                return reader[0].read(oids[path])
            if isinstance(found, git.GitError):
                raise found
            return found
        except git.GitError as exc:
            raise OSError(errno.EIO, exc.message, path) from exc

    def close() -> None:
        if reader:
            reader.pop().close()

    return Tree(files, read, warnings, close=close, stamps=stamps, prefetch=prefetch)


def _links_out(git_dir: Path, links: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    """The warnings for the symlinks of a git tree (path -> blob of the target) that leave it."""
    if not links:
        return []
    from ouhub.sync import git

    with git.ObjectReader(git_dir) as reader:
        targets = reader.read_many(sorted(set(links.values())))
    warnings = []
    for path, oid in sorted(links.items()):
        found = targets.get(oid)
        target = found.decode("utf-8", "surrogateescape") if isinstance(found, bytes) else "?"
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            warnings.append((prefix + path, LINK_OUT.format(target)))
    return warnings


def mirror_head(config: Config, branch: Branch) -> str:
    """The revision a branch's mirror was synced to; CoverageError when there is none."""
    found = _git_mirror(config, branch)
    if found is not None:
        return found[1]
    path = config.mirror_path(branch)
    if not path.exists():
        raise CoverageError(f"no mirror of {branch.key} (run `ouhub sync --release "
                            f"{branch.release}`)")
    return branch_head(path)


def read_mirror(config: Config, branch: Branch, prefix: str, revision: str) -> Tree:
    """A branch's mirror at ``revision`` (what ``mirror_head`` said), as a tree source."""
    if branch.vcs != "bzr" and _is_sha(revision):
        from ouhub.sync import gitmirror

        return git_tree(gitmirror.git_dir_for(config, branch.url), revision, prefix)
    return read_branch(config.mirror_path(branch), prefix)


def _is_sha(revision: str) -> bool:
    return len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


def _git_mirror(config: Config, branch: Branch) -> tuple[Path, str] | None:
    """(repository, synced commit) of a branch mirrored with git, else None."""
    if branch.vcs == "bzr":
        return None
    from ouhub.sync import git, gitmirror

    git_dir = gitmirror.git_dir_for(config, branch.url)
    sha = git.resolve(git_dir, gitmirror.synced_ref(branch)) if git_dir.is_dir() else None
    if sha is None and branch.vcs == "git":
        raise CoverageError(f"no mirror of {branch.key} in {git_dir} (run `ouhub sync "
                            f"--release {branch.release}`)")
    return (git_dir, sha) if sha else None


def branch_head(path: Path) -> str:
    """The head revision of the bzr branch at ``path`` (a mirror), as text."""
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    from breezy.branch import Branch as BzrBranch
    from breezy.errors import NotBranchError

    try:
        return BzrBranch.open(str(path)).last_revision().decode("utf-8", "replace")
    except NotBranchError as exc:
        raise CoverageError(
            f"{path} is not a branch", hint="run `ouhub sync` to (re)create the mirror"
        ) from exc


def read_branch(path: Path, prefix: str) -> Tree:
    """A bzr mirror's files: its working tree when it is at the head, else the head revision."""
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    from breezy.branch import Branch as BzrBranch
    from breezy.errors import NotBranchError, NoWorkingTree
    from breezy.workingtree import WorkingTree

    try:
        branch = BzrBranch.open(str(path))
    except NotBranchError as exc:
        raise CoverageError(
            f"{path} is not a branch", hint="run `ouhub sync` to (re)create the mirror"
        ) from exc
    head = branch.last_revision()
    try:
        working = WorkingTree.open(str(path))
        if working.last_revision() == head:
            return walk_directory(path, prefix)
    except (NoWorkingTree, NotBranchError):
        pass
    return _revision_tree(branch, head, prefix)


def _revision_tree(branch: Any, head: bytes, prefix: str) -> Tree:
    tree = branch.repository.revision_tree(head)
    files: list[TreeFile] = []
    with tree.lock_read():
        for path, entry in tree.iter_entries_by_dir():
            if entry.kind == "file":
                files.append(TreeFile(prefix + path, entry.text_size or 0, 0))

    def read(relpath: str) -> bytes:
        with tree.lock_read():
            return tree.get_file_text(relpath[len(prefix):])

    return Tree(sorted(files, key=lambda f: f.path), read)


@functools.lru_cache(maxsize=4096)  # a tree repeats a few names: post-migration.py, ...
def reads_content(name: str) -> bool:
    """Whether ``scan_tree`` reads files of this name (all others count by their path only)."""
    return (
        name in MANIFEST_NAMES or name == "apriori.py"
        or analysis_mod.is_openupgrade_analysis_file(name)
        or (name.endswith(".rst") and declared_mod.declared_file_step(name) is not None)
    )
