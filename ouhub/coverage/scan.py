"""`ouhub coverage scan`: read a release's trees, decide each module's status, store the scan.

The trees are the release's mirrors (every configured branch, read from the
mirror's working tree, or from the branch's head revision when the mirror has
no up-to-date working tree), or any directory given with ``--path``. A scan is
cached by (release, source, revisions): an unchanged release is answered from
the store without reading a file. Every problem met in a tree (a symlink loop, a
binary or non-UTF-8 file, an unreadable file, a malformed manifest) is recorded
as a warning of the scan; none stops it. The store is written in one
transaction, so a failed scan leaves the stored scans as they were.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.config import Config, Release, version_key
from ouhub.coverage import analysis as analysis_mod
from ouhub.coverage import apriori as apriori_mod
from ouhub.coverage import declared as declared_mod
from ouhub.coverage import manifest as manifest_mod
from ouhub.coverage.scripts import STAGES, ScriptIndex, classify_paths
from ouhub.coverage.status import ModuleInfo, StepInputs, decide, totals
from ouhub.errors import CoverageError
from ouhub.records import CoverageScan, ModuleCoverage
from ouhub.store import Store, utcnow

log = logging.getLogger("ouhub.coverage")

# Bump when the scan's reading or deciding changes: stored scans of an older format
# are then not reused by the cache.
SCAN_FORMAT = 2
MIRRORS = "mirrors"
_SKIP_DIRS = {".bzr", ".git", ".hg", ".svn", "__pycache__", "node_modules"}
_SNIFF = 8192


@dataclass(frozen=True)
class TreeFile:
    path: str  # relative, '/'-separated; prefixed with the branch name for mirrors
    size: int
    mtime_ns: int


@dataclass
class Tree:
    """The files of one tree and how to read them; walking problems land in ``warnings``."""

    files: list[TreeFile]
    read: Callable[[str], bytes]
    warnings: list[tuple[str, str]] = field(default_factory=list)
    dirs: list[tuple[str, int]] = field(default_factory=list)  # (relative path, mtime_ns)


@dataclass(frozen=True)
class ScanResult:
    """What one scan of one release found (or what the cache answered)."""

    release: str
    previous: str | None
    source: str
    scan_id: int | None
    cached: bool
    revisions: dict[str, str]
    totals: dict[str, int]
    summary: dict[str, Any]
    warnings: tuple[tuple[str, str], ...] = ()
    files_read: tuple[str, ...] = ()
    duration: float = 0.0
    error: str | None = None  # the release could not be scanned at all

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release, "previous": self.previous, "source": self.source,
            "scan_id": self.scan_id, "cached": self.cached, "revisions": self.revisions,
            "totals": self.totals, "summary": self.summary, "duration": round(self.duration, 4),
            "warnings": [{"path": p, "message": m} for p, m in self.warnings],
            "error": self.error,
        }


# -- reading trees ------------------------------------------------------------------------------


def walk_directory(
    root: Path, prefix: str = "", stat_if: Callable[[str], bool] | None = None
) -> Tree:
    """Every regular file under ``root`` (following symlinks once; loops become warnings).

    Only the files whose name passes ``stat_if`` get their size and time (others 0), and
    only then are the directories' times kept in ``Tree.dirs``: a mirror's cache key is
    its revision, so it needs no stat call at all; a plain directory's key is made of
    the times of what the scan reads and of the directories (which change when an entry
    is added, removed or renamed).
    """
    files: list[TreeFile] = []
    dirs: list[tuple[str, int]] = []
    warnings: list[tuple[str, str]] = []
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
    files.sort(key=lambda f: f.path)
    base = str(root)
    cut = len(prefix)

    def read(path: str) -> bytes:
        with open(os.path.join(base, path[cut:]), "rb") as handle:
            return handle.read()

    return Tree(files, read, warnings, dirs)


def _is_ancestor(real: str, directory: str) -> bool:
    here = os.path.realpath(directory)
    return here == real or here.startswith(real.rstrip(os.sep) + os.sep)


def branch_head(path: Path) -> str:
    """The head revision of the branch at ``path`` (a mirror), as text."""
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    import breezy.git  # noqa: F401  (registers the git format)
    from breezy.branch import Branch
    from breezy.errors import NotBranchError

    try:
        return Branch.open(str(path)).last_revision().decode("utf-8", "replace")
    except NotBranchError as exc:
        raise CoverageError(
            f"{path} is not a branch", hint="run `ouhub sync` to (re)create the mirror"
        ) from exc


def read_branch(path: Path, prefix: str) -> Tree:
    """The mirror's files: its working tree when it is at the head, else the head revision."""
    from breezy.branch import Branch
    from breezy.errors import NotBranchError, NoWorkingTree
    from breezy.workingtree import WorkingTree

    try:
        branch = Branch.open(str(path))
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


# -- scanning one tree (no store) ---------------------------------------------------------------


@dataclass
class TreeScan:
    """The decided statuses of one release's tree, ready to store."""

    modules: list[ModuleCoverage]
    index: ScriptIndex
    warnings: list[tuple[str, str]]
    files_read: list[str]
    summary: dict[str, Any]


def reads_content(name: str) -> bool:
    """Whether ``scan_tree`` reads files of this name (all others count by their path only)."""
    return (
        name in manifest_mod.MANIFEST_NAMES or name == "apriori.py"
        or analysis_mod.is_openupgrade_analysis_file(name)
        or (name.endswith(".rst") and declared_mod.declared_file_step(name) is not None)
    )


def scan_tree(
    tree: Tree, release: str, previous: str | None,
    previous_modules: frozenset[str] | None = None, first_release: bool = False,
) -> TreeScan:
    """Read manifests, scripts, analysis, apriori and the declared table; decide statuses.

    ``first_release``: the release starts the configured chain (no step leads to it).
    """
    warnings = list(tree.warnings)
    files_read: list[str] = []

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

    paths = [f.path for f in tree.files]
    index = classify_paths(paths, release)
    warnings.extend((w.path, w.message) for w in index.warnings)

    # modules: one per directory holding a manifest (the preferred name if several)
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        directory, _, name = path.rpartition("/")
        if name in manifest_mod.MANIFEST_NAMES:
            by_dir.setdefault(directory, []).append(name)
    modules: dict[str, ModuleInfo] = {}
    for directory in sorted(by_dir):
        name = manifest_mod.find_manifest_name(by_dir[directory])
        source = f"{directory}/{name}" if directory else str(name)
        module = directory.rpartition("/")[2] or release
        if module in modules:
            warnings.append((source, f"module {module} found twice (also {modules[module].path});"
                                     " the first is kept"))
            continue
        info = _read_manifest(tree, source, module, directory, warnings, files_read)
        modules[module] = info

    apriori = _read_apriori(paths, read_text, warnings)
    declarations, declared_source = _read_declared(paths, release, read_text, warnings)
    analyses = _read_analyses(index, release, read_text, warnings)

    statuses = decide(StepInputs(
        release=release, previous=previous, modules=modules, scripts=index.scripts,
        folder_modules=frozenset(f.module for f in index.folders if f.release == release),
        previous_modules=previous_modules, existed_modules=frozenset(
            m for m, (_, a) in analyses.items() if _changes_existing(a)
        ), declarations=declarations,
        declared_source=declared_source, apriori=apriori,
        apriori_source=apriori.source if apriori else None, first_release=first_release,
    ))
    records = []
    for item in statuses:
        info = modules.get(item.module)
        found = analyses.get(item.module)
        module_analysis = found[1] if found else None
        records.append(ModuleCoverage(
            release=release, module=item.module, status=item.status, target=item.target,
            version=info.version if info else None, path=info.path if info else None,
            in_tree=item.in_tree, manifest_error=info.error if info else None,
            evidence=item.evidence,
            analysis_size=module_analysis.total if module_analysis else 0,
            analysis_annotated=module_analysis.annotated if module_analysis else 0,
            analysed_share=(
                round(module_analysis.analysed_share, 4) if module_analysis else None
            ),
            analysis_counts=_counts(module_analysis) if module_analysis else {},
            analysis_source=found[0] if found else None,
            disagreements=item.disagreements,
        ))

    this_release = index.for_release(release)
    by_stage = {
        stage: len({s.module for s in this_release if s.stage == stage}) for stage in STAGES
    }
    disagreements: dict[str, int] = {}
    for record in records:
        for text in record.disagreements:
            kind = text.split(":")[0]
            disagreements[kind] = disagreements.get(kind, 0) + 1
    summary = {
        "step": f"{previous} -> {release}" if previous else None,
        "first_release": first_release,
        "modules": len(modules),
        "modules_with_scripts": len({s.module for s in this_release}),
        "scripts": len(this_release),
        "scripts_by_stage": by_stage,
        "disagreements": disagreements,
        "warnings": len(warnings),
        "files": len(paths),
        "files_read": len(files_read),
        "declared_table": declared_source,
        "apriori": apriori.source if apriori else None,
    }
    return TreeScan(records, index, warnings, files_read, summary)


def _read_manifest(
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


def _read_apriori(
    paths: list[str], read_text: Callable[..., str | None], warnings: list[tuple[str, str]]
) -> Any:
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


def _read_declared(
    paths: list[str], release: str, read_text: Callable[..., str | None],
    warnings: list[tuple[str, str]],
) -> tuple[list[Any] | None, str | None]:
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


_CANONICAL = ("upgrade_analysis_work.txt", "openupgrade_analysis_work.txt",
              "upgrade_analysis.txt", "openupgrade_analysis.txt")


def _read_analyses(
    index: ScriptIndex, release: str, read_text: Callable[..., str | None],
    warnings: list[tuple[str, str]],
) -> dict[str, tuple[str, Any]]:
    """Per module, (source, ModuleAnalysis) from its newest version folder of this release."""
    # files per folder come from the tree listing: rebuild from index folders' paths
    choices: dict[str, tuple[tuple, str, str]] = {}
    for path, folder in _analysis_files(index, release):
        name = path.rpartition("/")[2]
        if analysis_mod.is_general_log(name):
            continue
        rank = (
            _version_tuple(folder.version),
            analysis_mod.is_work(name),
            -(_CANONICAL.index(name) if name in _CANONICAL else len(_CANONICAL)),
        )
        best = choices.get(folder.module)
        if best is None or rank > best[0]:
            choices[folder.module] = (rank, path, folder.module)
    found: dict[str, tuple[str, Any]] = {}
    for module, (_, path, _) in sorted(choices.items()):
        text = read_text(path, strict=False)
        if text is None:
            continue
        parsed = analysis_mod.parse_analysis(text, path, module=module)
        warnings.extend((path, w) for w in parsed.warnings)
        result = parsed.modules.get(module)
        if result is None and len(parsed.modules) == 1:
            result = next(iter(parsed.modules.values()))
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


def _changes_existing(module_analysis: Any) -> bool:
    """True when the analysis changes or deletes something (only a module that existed can)."""
    return any(
        number and not kind.startswith("new")
        for group in (module_analysis.fields, module_analysis.models, module_analysis.records)
        for kind, number in group.items()
    )


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def _counts(module_analysis: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for group in ("fields", "models", "records"):
        for kind, number in getattr(module_analysis, group).items():
            counts[f"{group}.{kind}"] = number
    counts["other"] = module_analysis.other
    return counts


# -- scanning releases (store) ------------------------------------------------------------------


def _key(revisions: dict[str, str], previous_scan: CoverageScan | None,
         first_release: bool = False) -> str:
    previous = "first" if first_release else f"{previous_scan.id}" if previous_scan else "none"
    body = json.dumps(revisions, sort_keys=True)
    return f"v{SCAN_FORMAT};prev={previous};{body}"


def _previous_modules(store: Store, previous: str | None) -> tuple[
    frozenset[str] | None, CoverageScan | None
]:
    if previous is None:
        return None, None
    scan = store.latest_coverage_scan(previous)
    if scan is None:
        return None, None
    modules = store.release_modules(previous)
    # a tree without base (an addons checkout) does not say which modules existed
    return (modules if modules and "base" in modules else None), scan


def _cached(store: Store, release: str, previous: str | None, source: str, key: str,
            revisions: dict[str, str], started: float) -> ScanResult | None:
    found = store.find_coverage_scan(release, source, key)
    if found is None:
        return None
    return ScanResult(
        release, previous, source, found.id, True, revisions, found.totals, found.summary,
        duration=time.perf_counter() - started,
    )


def _store(
    store: Store, release: str, previous: str | None, source: str, key: str,
    revisions: dict[str, str], result: TreeScan, started: float,
) -> ScanResult:
    duration = time.perf_counter() - started
    counts = totals(result.modules)  # type: ignore[arg-type]
    scan = CoverageScan(
        id=None, release=release, previous=previous, source=source, revisions_key=key,
        revisions=revisions, scanned_at=utcnow(), duration=round(duration, 4), totals=counts,
        summary=result.summary,
    )
    with store.transaction():
        scan_id = store.record_coverage_scan(scan, result.modules, result.warnings)
    return ScanResult(
        release, previous, source, scan_id, False, revisions, counts, result.summary,
        tuple(result.warnings), tuple(result.files_read), duration,
    )


def scan_release(config: Config, store: Store, release: Release | str,
                 force: bool = False) -> ScanResult:
    """Scan the mirrors of one release (all its branches), or answer from the cache."""
    started = time.perf_counter()
    if isinstance(release, str):
        release = config.release(release)
    revisions: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for branch in release.branches:
        path = config.mirror_path(branch)
        if not path.exists():
            missing.append((branch.key, f"no mirror at {path}; run `ouhub sync --release "
                                        f"{release.name}`"))
            continue
        try:
            revisions[branch.name] = branch_head(path)
        except CoverageError as exc:
            missing.append((branch.key, exc.message))
    if not revisions:
        reason = "; ".join(m for _, m in missing) or "the release has no branches"
        return ScanResult(
            release.name, release.previous, MIRRORS, None, False, {}, {}, {},
            tuple(missing), duration=time.perf_counter() - started,
            error=f"release {release.name}: nothing to scan: {reason}",
        )
    previous_modules, previous_scan = _previous_modules(store, release.previous)
    first = release.previous is None
    key = _key(revisions, previous_scan, first)
    if not force and not missing:
        hit = _cached(store, release.name, release.previous, MIRRORS, key, revisions, started)
        if hit is not None:
            return hit
    files: list[TreeFile] = []
    readers: dict[str, Callable[[str], bytes]] = {}
    walk_warnings: list[tuple[str, str]] = list(missing)
    for branch in release.branches:
        if branch.name not in revisions:
            continue
        tree = read_branch(config.mirror_path(branch), f"{branch.name}/")
        files.extend(tree.files)
        readers[branch.name] = tree.read
        walk_warnings.extend(tree.warnings)

    def read(path: str) -> bytes:
        return readers[path.partition("/")[0]](path)

    result = scan_tree(
        Tree(files, read, walk_warnings), release.name, release.previous, previous_modules, first
    )
    return _store(store, release.name, release.previous, MIRRORS, key, revisions, result, started)


def scan_path(
    store: Store, path: str | Path, release: str, previous: str | None = None,
    force: bool = False, first_release: bool = False,
) -> ScanResult:
    """Scan any directory as the tree of ``release``, or answer from the cache.

    The cache key is made of every file's path and of the size and time of the files
    the scan reads (a script counts by its name only). An unchanged directory is told
    without walking it: the times of its directories and read files, kept from the
    last walk, are compared by stat calls alone.
    """
    started = time.perf_counter()
    root = Path(path).resolve()
    if not root.is_dir():
        raise CoverageError(
            f"{path}: no such directory", hint="give --path a checkout or an unpacked package"
        )
    previous_modules, previous_scan = _previous_modules(store, previous)
    source = str(root)
    if not force:
        stamped = store.coverage_stamp(source)
        if stamped is not None and stamp_unchanged(root, stamped[1]):
            key = _key(stamped[0], previous_scan, first_release)
            hit = _cached(store, release, previous, source, key, stamped[0], started)
            if hit is not None:
                return hit
    walked_at = time.time_ns()
    tree = walk_directory(root, stat_if=reads_content)
    signature = hashlib.sha1()
    for item in tree.files:
        signature.update(f"{item.path}\0{item.size}\0{item.mtime_ns}\n".encode())
    revisions = {"files": signature.hexdigest()}
    key = _key(revisions, previous_scan, first_release)
    stamp = make_stamp(tree, walked_at)
    if not force:
        hit = _cached(store, release, previous, source, key, revisions, started)
        if hit is not None:
            store.record_coverage_stamp(source, revisions, stamp)
            return hit
    result = scan_tree(tree, release, previous, previous_modules, first_release)
    scanned = _store(store, release, previous, source, key, revisions, result, started)
    store.record_coverage_stamp(source, revisions, stamp)
    return scanned


# Times this close to the walk may still change within the file system's time resolution
# (a file added right after the listing, in the same tick): such entries never match,
# so the next scan walks again, as git treats its "racily clean" index entries.
_RACY_NS = 2_000_000_000


def make_stamp(tree: Tree, walked_at: int) -> dict[str, Any] | None:
    """What a directory scan depends on, as its directories' and read files' times.

    None when the walk met a problem (an unreadable directory, a symlink loop): such a
    tree is always walked again.
    """
    if tree.warnings:
        return None
    fresh = walked_at - _RACY_NS

    def settled(mtime: int) -> int:
        return mtime if mtime < fresh else -1

    return {
        "dirs": [[rel, settled(mtime)] for rel, mtime in tree.dirs],
        "files": [[f.path, f.size, settled(f.mtime_ns)] for f in tree.files if f.mtime_ns],
    }


def stamp_unchanged(root: Path, stamp: dict[str, Any] | None) -> bool:
    """True when every directory and read file of ``stamp`` still has its size and time."""
    if not stamp:
        return False
    base = str(root) + os.sep
    try:
        for rel, mtime in stamp["dirs"]:
            if os.stat(base + rel).st_mtime_ns != mtime:
                return False
        for rel, size, mtime in stamp["files"]:
            info = os.stat(base + rel)
            if info.st_mtime_ns != mtime or info.st_size != size:
                return False
    except (OSError, KeyError, TypeError, ValueError):
        return False  # gone, unreadable, or a stamp of another shape: walk again
    return True


def scan_releases(
    config: Config, store: Store, releases: list[str] | None = None, force: bool = False,
    advance: Callable[[str], None] | None = None,
) -> list[ScanResult]:
    """Scan each named release (default: all), oldest first, one failure not stopping others."""
    names = releases or list(config.releases)
    for name in names:
        config.release(name)  # unknown names fail before any work
    results = []
    for name in sorted(names, key=version_key):
        result = scan_release(config, store, name, force=force)
        results.append(result)
        if advance:
            advance(name)
    return results


# -- reading stored scans -----------------------------------------------------------------------


def ranked(modules: list[ModuleCoverage], status: str | None = None) -> list[ModuleCoverage]:
    """``todo`` first, by analysis size (largest job first); then the rest by status, name."""
    from ouhub.coverage.status import STATUSES

    chosen = [m for m in modules if status is None or m.status == status]
    order = {s: i for i, s in enumerate(STATUSES)}
    order["todo"] = -1
    return sorted(chosen, key=lambda m: (order.get(m.status, 99), -m.analysis_size, m.module))


@dataclass(frozen=True)
class StatusChange:
    module: str
    before: str | None
    after: str | None


def _pick_scan(history: list[CoverageScan], ref: str | None, default: int) -> CoverageScan:
    if ref is None:
        return history[default]
    for scan in reversed(history):
        if ref.isdigit() and scan.id == int(ref):
            return scan
        if any(rev == ref or rev.startswith(ref) or rev.endswith(ref)
               for rev in scan.revisions.values()):
            return scan
    known = ", ".join(f"{s.id}" for s in history)
    release = history[-1].release
    raise CoverageError(
        f"no scan matches {ref!r}",
        hint=f"give a scan id ({known}) or a revision id (`revisions` in "
             f"`ouhub coverage show {release} --format json`)",
    )


def never_scanned(release: str, configured: tuple[str, ...] = ()) -> CoverageError:
    """The error for a release without a stored scan, telling a typo from a missing scan."""
    if configured and release not in configured:
        return CoverageError(
            f"release {release} was never scanned and is not in the config",
            hint=f"configured releases: {', '.join(configured)}; a directory is scanned as "
                 f"any release with `ouhub coverage scan --path DIR --release {release} "
                 "--previous P`",
        )
    return CoverageError(f"release {release} was never scanned",
                         hint=f"run `ouhub coverage scan --release {release}` first")


def diff_scans(store: Store, release: str, old: str | None = None,
               new: str | None = None, configured: tuple[str, ...] = (),
               ) -> tuple[CoverageScan, CoverageScan, list[StatusChange]]:
    """Modules whose status differs between two scans (default: the last two) of a release."""
    history = store.coverage_history(release)
    if not history:
        raise never_scanned(release, configured)
    before = _pick_scan(history, old, -2 if len(history) > 1 else -1)
    after = _pick_scan(history, new, -1)
    a = {m.module: m.status for m in store.coverage_of_scan(before.id or 0)}
    b = {m.module: m.status for m in store.coverage_of_scan(after.id or 0)}
    changes = [
        StatusChange(module, a.get(module), b.get(module))
        for module in sorted(set(a) | set(b)) if a.get(module) != b.get(module)
    ]
    return before, after, changes
