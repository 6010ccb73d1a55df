"""The trees a coverage scan reads, and what it finds in them.

A scan reads a tree through one small interface, ``Tree``: the list of its files, and
``read(path)`` for the few it needs (manifests, analyses, apriori, declared tables).
Three sources give one: a directory (``walk_directory``: walked once, symlink loops and
unreadable entries kept as warnings), a git mirror at its synced commit (``git_tree``:
``git ls-tree -r`` and one ``git cat-file --batch``, no working tree), and a bzr mirror
(``read_branch``: its working tree when at the head, else its head revision). In a tree:
the module folders (a manifest each), the apriori file, the declared table of a step,
and each module's analysis; every problem met reading them is a warning, none stops
the scan.
"""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import stat
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.config import Branch, Config
from ouhub.coverage import analysis as analysis_mod
from ouhub.coverage import apriori as apriori_mod
from ouhub.coverage import declared as declared_mod
from ouhub.coverage import manifest as manifest_mod
from ouhub.coverage.layout import Placement, is_frame, placement, repository_path
from ouhub.coverage.parsecache import ParseCache
from ouhub.coverage.scripts import LAYOUT_SCRIPTS, ScriptIndex
from ouhub.coverage.status import ModuleInfo
from ouhub.errors import CoverageError
from ouhub.fsutil import LINK_OUT, link_outside
from ouhub.versions import version_tuple
from ouhub.vocab import MANIFEST_NAMES

_SKIP_DIRS = {".bzr", ".git", ".hg", ".svn", "__pycache__", "node_modules"}
_SNIFF = 8192
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class TreeFile:
    path: str  # relative, '/'-separated; prefixed with the branch name for mirrors
    size: int
    mtime_ns: int

    @property
    def stamp(self) -> tuple[int, int] | None:
        """What tells the file's content apart without reading it (None: nothing does)."""
        return (self.size, self.mtime_ns) if self.mtime_ns else None


def _nothing_to_close() -> None:
    return None


def _nothing_to_prefetch(paths: Iterable[str]) -> None:
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
    prefetch: Callable[[Iterable[str]], None] = _nothing_to_prefetch

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
        stack: list[tuple[str, str]] = [(str(root), "")]
        top = os.stat(root)
    except OSError as exc:
        raise CoverageError(
            f"cannot read the directory {root}: {exc.strerror}",
            hint="check the path given to --path (or the mirror) exists and is readable",
        ) from exc
    if stat_if is not None:
        dirs.append(("", top.st_mtime_ns))
    while stack:
        directory, rel = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            warnings.append((prefix + rel or ".", f"unreadable directory: {exc.strerror}"))
            continue
        for entry in entries:
            name = entry.name
            relpath = f"{rel}/{name}" if rel else name
            try:
                is_link = entry.is_symlink()
                if is_link and (out := link_outside(entry.path, start)):
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
                    elif stat_if is None:
                        stack.append((entry.path, relpath))
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
                real = os.path.realpath(entry.path) if is_link else None
                if real is not None:
                    if real in visited or _is_ancestor(real, directory):
                        warnings.append((prefix + relpath,
                                         f"symlink loop: points back to {real}; skipped"))
                        continue
                    visited.add(real)
                stack.append((entry.path, relpath))
                if stat_if is not None:
                    dirs.append((relpath, info.st_mtime_ns))
            elif stat.S_ISREG(info.st_mode):
                if stat_if is None or not stat_if(name):
                    files.append(TreeFile(prefix + relpath, 0, 0))
                else:
                    files.append(TreeFile(prefix + relpath, info.st_size, info.st_mtime_ns))
                    found[prefix + relpath] = (info.st_dev, info.st_ino)
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
                with open(descriptor, "rb") as handle:
                    info = os.fstat(descriptor)
                    if (info.st_dev, info.st_ino) == walked:
                        return handle.read()
        if link_outside(full, start):  # a link changed since the walk
            raise PermissionError(errno.EACCES, "resolves outside the tree: not read", path)
        with open(full, "rb") as handle:
            return handle.read()

    return Tree(files, read, warnings, dirs)


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
        files.append(TreeFile(path, item.size, item.mtime_ns))
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


def text_reader(
    tree: Tree, warnings: list[tuple[str, str]], files_read: list[str]
) -> Callable[..., str | None]:
    """``read_text(path, strict=True)``: a file of ``tree`` as text, or None (with a warning)
    when it is unreadable, binary or, if ``strict``, not UTF-8; each file read is listed."""

    def read_text(path: str, strict: bool = True) -> str | None:
        try:
            data = tree.read(path)
        except OSError as exc:
            warnings.append((path, f"unreadable file: {exc.strerror or exc}; skipped"))
            return None
        files_read.append(path)
        if b"\0" in data[:_SNIFF]:
            warnings.append((path, "binary file where text was expected; skipped"))
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if strict:
                warnings.append((path, f"not UTF-8 text ({exc.reason} at byte {exc.start});"
                                       " skipped"))
                return None
            warnings.append((path, f"not UTF-8 text ({exc.reason} at byte {exc.start});"
                                   " read with replacement characters"))
            return data.decode("utf-8", "replace")

    return read_text


def find_modules(
    tree: Tree, paths: list[str], release: str,
    warnings: list[tuple[str, str]], files_read: list[str], index: ScriptIndex | None = None,
) -> dict[str, ModuleInfo]:
    """One module per directory holding a manifest (the preferred name if several); in a
    tree of ``openupgrade_scripts/scripts/`` folders, OpenUpgrade's own modules are not."""
    scripts_layout = index is not None and any(f.layout == LAYOUT_SCRIPTS for f in index.folders)
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        directory, _, name = path.rpartition("/")
        if name in MANIFEST_NAMES:
            by_dir.setdefault(directory, []).append(name)
    modules: dict[str, ModuleInfo] = {}
    for directory in sorted(by_dir):
        name = manifest_mod.find_manifest_name(by_dir[directory])
        source = f"{directory}/{name}" if directory else str(name)
        module = directory.rpartition("/")[2] or release
        if is_frame(module, scripts_layout):
            continue
        if module in modules:
            warnings.append((source, f"module {module} found twice (also {modules[module].path});"
                                     " the first is kept"))
            continue
        modules[module] = read_manifest(tree, source, module, directory, warnings, files_read)
    return modules


def read_manifest(
    tree: Tree, source: str, module: str, directory: str,
    warnings: list[tuple[str, str]], files_read: list[str],
) -> ModuleInfo:
    try:
        data = tree.read(source)
    except OSError as exc:
        warnings.append((source, f"unreadable manifest: {exc.strerror or exc}"))
        return ModuleInfo(module, directory, None, f"unreadable: {exc.strerror or exc}")
    files_read.append(source)
    try:
        parsed = manifest_mod.parse_manifest(data, source)
    except manifest_mod.ManifestError as exc:
        warnings.append((source, exc.message))
        return ModuleInfo(module, directory, None, exc.message)
    warnings.extend((source, w) for w in parsed.warnings)
    return ModuleInfo(module, directory, parsed.version, None)


def find_apriori(
    paths: list[str], read_text: Callable[..., str | None], warnings: list[tuple[str, str]]
) -> Any:
    """The tree's apriori.py (renamed and merged modules), parsed; None without one."""
    candidates = [p for p in paths if p.rpartition("/")[2] == "apriori.py"]
    if not candidates:
        return None
    # OpenUpgrade keeps it in openupgrade_scripts/ or openupgrade_records/lib/
    candidates.sort(key=lambda p: ("openupgrade" not in p, len(p), p))
    for extra in candidates[1:]:
        warnings.append((extra, f"another apriori.py; {candidates[0]} is used"))
    text = read_text(candidates[0])
    if text is None:
        return None
    parsed = apriori_mod.parse_apriori(text, candidates[0])
    warnings.extend((candidates[0], w) for w in parsed.warnings)
    return parsed


def find_declared(
    paths: list[str], release: str, read_text: Callable[..., str | None],
    warnings: list[tuple[str, str]], given: tuple[str, str] | None = None,
) -> tuple[list[Any] | None, str | None]:
    """The declared table of the step into ``release`` (its entries, its path), if any;
    ``given`` (name, text), a table from outside the tree, wins over the tree's own."""
    if given is not None:
        name, text = given
        table = declared_mod.parse_declared(text, name)
        warnings.extend((name, str(w)) for w in table.warnings)
        return list(table.entries), name
    tables = []
    for path in paths:
        name = path.rpartition("/")[2]
        if not name.endswith(".rst"):
            continue
        step = declared_mod.declared_file_step(name)
        if step is not None and step[1] == release:
            tables.append(path)
    if not tables:
        return None, None
    tables.sort(key=lambda p: (len(p), p))
    for extra in tables[1:]:
        warnings.append((extra, f"another declared table for {release}; {tables[0]} is used"))
    text = read_text(tables[0], strict=False)
    if text is None:
        return None, None
    table = declared_mod.parse_declared(text, tables[0])
    warnings.extend((tables[0], str(w)) for w in table.warnings)
    return list(table.entries), tables[0]


def find_analyses(
    index: ScriptIndex, release: str, read_text: Callable[..., str | None],
    warnings: list[tuple[str, str]], cache: ParseCache | None = None,
    stamps: Mapping[str, Hashable] | None = None,
    prefetch: Callable[[Iterable[str]], None] = _nothing_to_prefetch,
) -> dict[str, tuple[str, Any]]:
    """Per module, (source, ModuleAnalysis) from its newest version folder of this release:
    the work file, else a hand-annotated copy, else the tool's own analysis.

    With a ``cache``, a file whose stamp (``stamps[path]``) is unchanged is not read again;
    the others are given to ``prefetch`` before they are read.
    """
    choices: dict[str, tuple[tuple, str]] = {}
    for path, folder in _analysis_files(index, release):
        rank = (version_tuple(folder.version), analysis_mod.preference(path), path)
        best = choices.get(folder.module)
        if best is None or rank > best[0]:
            choices[folder.module] = (rank, path)
    chosen = []  # (module, path, stamp, the kept result or None)
    for module, (_, path) in sorted(choices.items()):
        stamp = (stamps or {}).get(path)
        chosen.append((module, path, stamp, cache.get(path, stamp) if cache is not None else None))
    prefetch([path for _, path, _, kept in chosen if kept is None])
    found: dict[str, tuple[str, Any]] = {}
    for module, path, stamp, kept in chosen:
        if kept is not None:
            result = analysis_mod.AnalysisFile.result_from_dict(kept["parsed"], module)
            file_warnings = kept["warnings"]
        else:
            before = len(warnings)
            text = read_text(path, strict=False)
            if text is None:
                continue
            parsed = analysis_mod.parse_analysis(text, path, module=module)
            file_warnings = [m for _, m in warnings[before:]] + list(parsed.warnings)
            del warnings[before:]
            if cache is not None:
                cache.put(path, stamp, {"parsed": parsed.as_dict(), "warnings": file_warnings})
            result = parsed.result_for(module)
        warnings.extend((path, w) for w in file_warnings)
        if result is not None:
            found[module] = (path, result)
    return found


def _analysis_files(index: ScriptIndex, release: str) -> Iterator[tuple[str, Any]]:
    for folder in index.folders:
        if folder.release != release:
            continue
        for name in index.folder_files.get(folder.path, ()):
            if analysis_mod.is_openupgrade_analysis_file(name):
                yield f"{folder.path}/{name}", folder


