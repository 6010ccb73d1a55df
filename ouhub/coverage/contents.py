"""What a coverage scan finds in a tree (``ouhub.coverage.tree``'s ``Tree``): the module
folders (a manifest each), the apriori file, the declared table of a step, and each
module's analysis, with every file read listed; each problem met reading them is a
warning, none stops the scan.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

from ouhub.coverage import analysis as analysis_mod
from ouhub.coverage import apriori as apriori_mod
from ouhub.coverage import declared as declared_mod
from ouhub.coverage import manifest as manifest_mod
from ouhub.coverage.layout import is_frame
from ouhub.coverage.parsecache import ParseCache
from ouhub.coverage.scripts import LAYOUT_SCRIPTS, ScriptIndex
from ouhub.coverage.status import ModuleInfo
from ouhub.coverage.tree import Tree, nothing_to_prefetch
from ouhub.versions import version_tuple
from ouhub.vocab import MANIFEST_NAMES

_SNIFF = 8192  # bytes looked at for a NUL: a binary file where text was expected


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
        if data.find(b"\0", 0, _SNIFF) != -1:  # no copy of the first bytes
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
    prefetch: Callable[[Iterable[str]], None] = nothing_to_prefetch,
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
            parsed = analysis_mod.analysis_data(text, path, module=module)
            file_warnings = [m for _, m in warnings[before:]] + parsed["warnings"]
            del warnings[before:]
            if cache is not None:
                cache.put(path, stamp, {"parsed": parsed, "warnings": file_warnings})
            result = analysis_mod.AnalysisFile.result_from_dict(parsed, module)
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


