"""`ouhub coverage scan`: read a release's trees, decide each module's status, store the scan.

The trees are the release's mirrors (every configured branch, read from the
mirror's working tree, or from the branch's head revision when the mirror has
no up-to-date working tree), or any directory given with ``--path``. The mirrors' newest
scan is the release's coverage; a ``--path`` scan is only when published (the release's
mirrors were never scanned, or ``--publish``): a checkout under test never replaces
what the mirrors say. A scan is cached by (release, source, revisions): an unchanged
release is answered from the store without reading a file. Every problem met in a tree (a symlink loop, a
binary or non-UTF-8 file, an unreadable file, a malformed manifest) is recorded
as a warning of the scan; none stops it. The store is written in one
transaction, so a failed scan leaves the stored scans as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ouhub.config import Config, Release
from ouhub.coverage.contents import (
    find_analyses,
    find_apriori,
    find_declared,
    find_modules,
    text_reader,
)
from ouhub.coverage.declared import declared_file_step
from ouhub.coverage.parsecache import ParseCache
from ouhub.coverage.scripts import STAGES, ScriptIndex, classify_paths
from ouhub.coverage.status import StepInputs, decide_statuses, totals
from ouhub.coverage.tree import (
    Tree,
    TreeFile,
    mirror_head,
    place_directory,
    read_mirror,
    reads_content,
    walk_directory,
)
from ouhub.errors import CoverageError
from ouhub.records import CoverageScan, ModuleCoverage
from ouhub.store import Store, utcnow
from ouhub.versions import version_key

# Bump when the scan's reading or deciding changes: stored scans of an older format
# are then not reused by the cache.
SCAN_FORMAT = 3
MIRRORS = "mirrors"


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
    published: bool = True  # the release's coverage now (see the module's docstring)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release, "previous": self.previous, "source": self.source,
            "scan_id": self.scan_id, "cached": self.cached, "revisions": self.revisions,
            "totals": self.totals, "summary": self.summary, "duration": round(self.duration, 4),
            "warnings": [{"path": p, "message": m} for p, m in self.warnings],
            "error": self.error, "published": self.published,
        }


@dataclass
class TreeScan:
    """The decided statuses of one release's tree, ready to store."""

    modules: list[ModuleCoverage]
    index: ScriptIndex
    warnings: list[tuple[str, str]]
    files_read: list[str]
    summary: dict[str, Any]


def scan_tree(
    tree: Tree, release: str, previous: str | None,
    previous_modules: frozenset[str] | None = None, first_release: bool = False,
    seen_before: frozenset[str] = frozenset(), cache: ParseCache | None = None,
    declared: tuple[str, str] | None = None,
) -> TreeScan:
    """Read manifests, scripts, analysis, apriori and the declared table; decide statuses.

    ``previous_modules``: the previous release's whole tree; ``seen_before``: the modules
    its stored scan holds (presence proves existence); ``first_release``: the release
    starts the configured chain (no step leads to it); ``cache``: analyses' parse results
    kept from the last scan of this source; ``declared``: (name, text) of a declared table
    given from outside the tree.
    """
    warnings = list(tree.warnings)
    files_read: list[str] = []

    read_text = text_reader(tree, warnings, files_read)
    paths = [f.path for f in tree.files]
    index = classify_paths(paths, release)
    warnings.extend((w.path, w.message) for w in index.warnings)
    modules = find_modules(tree, paths, release, warnings, files_read, index)
    apriori = find_apriori(paths, read_text, warnings)
    declarations, declared_source = find_declared(paths, release, read_text, warnings,
                                                  declared)
    stamps = tree.file_stamps() if cache is not None else None
    analyses = find_analyses(index, release, read_text, warnings, cache, stamps, tree.prefetch)

    statuses = decide_statuses(StepInputs(
        release=release, previous=previous, modules=modules, scripts=index.scripts,
        folder_modules=frozenset(f.module for f in index.folders if f.release == release),
        previous_modules=previous_modules, existed_modules=frozenset(
            m for m, (_, a) in analyses.items() if _changes_existing(a)
        ), seen_before=seen_before, analyses=analyses, declarations=declarations,
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


def _changes_existing(module_analysis: Any) -> bool:
    """True when the analysis changes or deletes something (only a module that existed can)."""
    return any(
        number and not kind.startswith("new")
        for group in (module_analysis.fields, module_analysis.models, module_analysis.records)
        for kind, number in group.items()
    )


def _counts(module_analysis: Any) -> dict[str, int]:
    """``"<table>.<kind>"`` -> changes, ``"open.<table>.<kind>"`` -> those no annotation
    answers, ``other`` -> lines of no known form."""
    counts: dict[str, int] = {}
    for group in ("fields", "models", "records"):
        for kind, number in getattr(module_analysis, group).items():
            counts[f"{group}.{kind}"] = number
    for key, number in module_analysis.open.items():
        counts[f"open.{key}"] = number
    counts["other"] = module_analysis.other
    return counts


# -- scanning releases (store) ------------------------------------------------------------------


def _key(revisions: dict[str, str], previous_scan: CoverageScan | None,
         first_release: bool = False) -> str:
    previous = "first" if first_release else f"{previous_scan.id}" if previous_scan else "none"
    body = json.dumps(revisions, sort_keys=True)
    return f"v{SCAN_FORMAT};prev={previous};{body}"


@dataclass(frozen=True)
class PreviousRelease:
    """What the previous release's newest stored scan tells of its modules."""

    scan: CoverageScan | None = None
    seen: frozenset[str] = frozenset()  # there: each proves the module existed
    whole: frozenset[str] | None = None  # its whole tree (held base): absence proves too


def _previous_release(store: Store, previous: str | None) -> PreviousRelease:
    scan = store.latest_coverage_scan(previous) if previous is not None else None
    presence = store.release_presence(previous) if scan is not None and previous else None
    if scan is None or presence is None:
        return PreviousRelease()
    seen, whole = presence
    # a tree without base (an addons checkout, a wheel of scripts) is not the whole release
    return PreviousRelease(scan, seen, seen if whole else None)


def _cached(store: Store, release: str, previous: str | None, source: str, key: str,
            revisions: dict[str, str], started: float) -> ScanResult | None:
    found = store.find_coverage_scan(release, source, key)
    if found is None:
        return None
    return ScanResult(
        release, previous, source, found.id, True, revisions, found.totals, found.summary,
        duration=time.perf_counter() - started, published=found.published,
    )


def _store(
    store: Store, release: str, previous: str | None, source: str, key: str,
    revisions: dict[str, str], result: TreeScan, started: float, published: bool = True,
) -> ScanResult:
    duration = time.perf_counter() - started
    counts = totals(result.modules)  # type: ignore[arg-type]
    scan = CoverageScan(
        id=None, release=release, previous=previous, source=source, revisions_key=key,
        revisions=revisions, scanned_at=utcnow(), duration=round(duration, 4), totals=counts,
        summary=result.summary, published=published,
    )
    with store.transaction():
        scan_id = store.record_coverage_scan(scan, result.modules, result.warnings)
    return ScanResult(
        release, previous, source, scan_id, False, revisions, counts, result.summary,
        tuple(result.warnings), tuple(result.files_read), duration, published=published,
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
        try:
            revisions[branch.name] = mirror_head(config, branch)
        except CoverageError as exc:
            missing.append((branch.key, exc.message))
    if not revisions:
        reason = "; ".join(m for _, m in missing) or "the release has no branches"
        return ScanResult(
            release.name, release.previous, MIRRORS, None, False, {}, {}, {},
            tuple(missing), duration=time.perf_counter() - started,
            error=f"release {release.name}: nothing to scan: {reason}",
        )
    before = _previous_release(store, release.previous)
    first = release.previous is None
    key = _key(revisions, before.scan, first)
    if not force and not missing:
        hit = _cached(store, release.name, release.previous, MIRRORS, key, revisions, started)
        if hit is not None:
            return hit
    files: list[TreeFile] = []
    trees: dict[str, Tree] = {}
    stamps: dict[str, Hashable] = {}
    walk_warnings: list[tuple[str, str]] = list(missing)
    cache_key = f"{MIRRORS}/{release.name}"  # the branches' paths repeat from release to release
    cache = ParseCache.loads(store.coverage_parse_cache(cache_key))
    try:
        for branch in release.branches:
            if branch.name not in revisions:
                continue
            tree = trees[branch.name] = read_mirror(config, branch, f"{branch.name}/",
                                                    revisions[branch.name])
            files.extend(tree.files)
            walk_warnings.extend(tree.warnings)
            stamps.update(tree.stamps)

        def read(path: str) -> bytes:
            return trees[path.partition("/")[0]].read(path)

        def prefetch(paths: Iterable[str]) -> None:
            by_branch: dict[str, list[str]] = {}
            for path in paths:
                by_branch.setdefault(path.partition("/")[0], []).append(path)
            for name, wanted in by_branch.items():
                trees[name].prefetch(wanted)

        result = scan_tree(
            Tree(files, read, walk_warnings, stamps=stamps, prefetch=prefetch), release.name,
            release.previous, before.whole, first, before.seen, cache,
        )
    finally:
        for tree in trees.values():
            tree.close()
    result.summary["parsed"] = {"analyses": cache.misses, "reused": cache.hits}
    with store.transaction():  # the scan and the parse results: one commit
        scanned = _store(store, release.name, release.previous, MIRRORS, key, revisions, result,
                         started)
        if cache.changed:
            store.record_coverage_parse_cache(cache_key, cache.dumps())
    return scanned


def scan_path(
    store: Store, path: str | Path, release: str, previous: str | None = None,
    force: bool = False, first_release: bool = False, declared: str | Path | None = None,
    publish: bool = False,
) -> ScanResult:
    """Scan any directory as the tree of ``release``, or answer from the cache.

    The directory may be an OpenUpgrade repository's root, the unpacked wheel,
    ``openupgrade_scripts/`` or ``openupgrade_scripts/scripts/``: each is placed in the
    repository and its files recorded by their repository paths, so all four give the
    same answer. The cache key is made of every file's path and of the size and time of
    the files the scan reads (a script counts by its name only). An unchanged directory
    is told without walking it: the times of its directories and read files, kept from
    the last walk, are compared by stat calls alone. A changed one is walked and scanned,
    and only the analysis files that changed are parsed again. ``declared`` is a declared
    table for a tree without its own (a wheel): it counts in the cache key by its content.

    The scan is the release's coverage only when the release's mirrors were never scanned,
    or with ``publish`` (which stores it anew, so that it is the newest).
    """
    started = time.perf_counter()
    root = Path(path).resolve()
    if not root.is_dir():
        raise CoverageError(
            f"{path}: no such directory", hint="give --path a checkout or an unpacked package"
        )
    before = _previous_release(store, previous)
    published = publish or not store.has_mirror_scan(release)
    force = force or publish
    source = str(root)
    table = read_declared(declared, previous, release) if declared is not None else None
    given = {"declared": hashlib.sha1(table[1].encode()).hexdigest()} if table else {}
    if not force:
        stamped = store.coverage_stamp(source)
        if stamped is not None and stamp_unchanged(root, stamped[1]) and \
                stamped[0].get("declared") == given.get("declared"):
            key = _key(stamped[0], before.scan, first_release)
            hit = _cached(store, release, previous, source, key, stamped[0], started)
            if hit is not None:
                return _is_coverage(store, hit)
    walked_at = time.time_ns()
    walked = walk_directory(root, stat_if=reads_content)
    tree, placed = place_directory(root, walked)
    stamp = make_stamp(walked, walked_at)  # of the walk: paths relative to root
    # one update of the whole text: the same digest as a line at a time
    signature = hashlib.sha1("".join([
        f"{item.path}\0{item.size}\0{item.mtime_ns}\n" for item in tree.files
    ]).encode())
    revisions = {"files": signature.hexdigest(), **given}
    key = _key(revisions, before.scan, first_release)
    if not force:
        hit = _cached(store, release, previous, source, key, revisions, started)
        if hit is not None:
            store.record_coverage_stamp(source, revisions, stamp)
            return _is_coverage(store, hit)
    cache = ParseCache.loads(store.coverage_parse_cache(source))
    result = scan_tree(tree, release, previous, before.whole, first_release, before.seen, cache,
                       table)
    result.summary["placed_as"] = placed.name
    result.summary["parsed"] = {"analyses": cache.misses, "reused": cache.hits}
    with store.transaction():  # the scan, the stamp and the parse results: one commit
        scanned = _store(store, release, previous, source, key, revisions, result, started,
                         published)
        store.record_coverage_stamp(source, revisions, stamp)
        if cache.changed:
            store.record_coverage_parse_cache(source, cache.dumps())
    return scanned


def _is_coverage(store: Store, result: ScanResult) -> ScanResult:
    """A scan answered from the cache, saying whether it is the release's coverage now (a
    published scan that a newer mirror scan superseded is not)."""
    latest = store.latest_coverage_scan(result.release)
    return replace(result, published=latest is not None and latest.id == result.scan_id)


def read_declared(path: str | Path, previous: str | None, release: str) -> tuple[str, str]:
    """(name, text) of a declared table given with ``--declared``; an error naming the
    file and the fix when it cannot be read or is the table of another step."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CoverageError(
            f"cannot read the declared table {path}: {exc.strerror or exc}",
            hint="give --declared the modulesXXX-YYY.rst coverage table of the step",
        ) from exc
    step = declared_file_step(path.name)
    if step is not None and step != (previous, release):
        raise CoverageError(
            f"{path.name} is the declared table of {step[0]} -> {step[1]}, not of "
            f"{previous or '?'} -> {release}",
            hint=f"give the table of {previous or '?'} -> {release}, or scan --release {step[1]}",
        )
    return path.name, data.decode("utf-8-sig", errors="replace")


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
