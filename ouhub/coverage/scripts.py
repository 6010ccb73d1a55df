"""Classify the files of a tree as migration scripts, from their relative paths alone.

Two layouts hold scripts: in-module ``<module>/migrations/<version>/`` (at any depth:
modules at a branch's root, ``openerp/addons/``, ``bin/addons/``, ``addons/``,
``odoo/addons/``) and the modern ``openupgrade_scripts/scripts/<module>/<version>/``.
A script is what the upgrade mechanism runs: a ``*.py`` whose name starts with
``pre-``, ``post-`` or ``end-``. Look-alikes are kept as warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ouhub.versions import VERSION_FOLDER, folder_release

STAGES = ("pre", "post", "end")
LAYOUT_MODULE = "module"  # <module>/migrations/<version>/
LAYOUT_SCRIPTS = "openupgrade_scripts"  # openupgrade_scripts/scripts/<module>/<version>/
NOT_RUN = "not run by the upgrade mechanism"

_SCRIPT_RE = re.compile(r"^(pre|post|end)-.*\.py$")
# Names a contributor plausibly meant as a script: pre.py, post_migration.py, migration.py.
_LOOKALIKE_RE = re.compile(r"^(pre|post|end)([-_. ]|$)|migrat", re.IGNORECASE)


@dataclass(frozen=True)
class VersionFolder:
    """A ``<module>/<version>`` folder of either layout, with the release it belongs to."""

    module: str
    version: str
    release: str
    layout: str
    path: str  # relative, '/'-separated


@dataclass(frozen=True)
class ScriptFile:
    """One migration script the upgrade mechanism runs."""

    module: str
    version: str
    release: str
    stage: str  # pre | post | end
    path: str
    layout: str


@dataclass(frozen=True)
class PathWarning:
    path: str
    message: str


@dataclass(frozen=True)
class ScriptIndex:
    """Every version folder, script and look-alike found among a tree's paths."""

    folders: tuple[VersionFolder, ...]
    scripts: tuple[ScriptFile, ...]
    warnings: tuple[PathWarning, ...]
    folder_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def for_release(self, release: str) -> tuple[ScriptFile, ...]:
        return tuple(s for s in self.scripts if s.release == release)


def version_folder_of(relpath: str, scanned_release: str) -> tuple[VersionFolder, str] | None:
    """The version folder a file sits directly in, and the file's name; None if none."""
    directory, _, name = relpath.replace("\\", "/").rpartition("/")
    folder = _version_folder(directory, scanned_release)
    return (folder, name) if folder is not None else None


def _version_folder(directory: str, scanned_release: str) -> VersionFolder | None:
    """The version folder a directory is (its '/'-separated path), if it is one."""
    parts = directory.split("/")
    if len(parts) < 2:
        return None
    version, module = parts[-1], parts[-2]
    if not VERSION_FOLDER.match(version):
        return None
    if module == "migrations" and len(parts) >= 3:
        # <module>/migrations/<version>/<file>
        owner = parts[-3]
        return VersionFolder(
            owner, version, folder_release(version, scanned_release), LAYOUT_MODULE, directory
        )
    if len(parts) >= 4 and parts[-3] == "scripts" and parts[-4] == "openupgrade_scripts":
        return VersionFolder(
            module, version, folder_release(version, scanned_release), LAYOUT_SCRIPTS, directory
        )
    return None


def classify_paths(paths: Iterable[str], scanned_release: str) -> ScriptIndex:
    """Scripts, version folders and look-alike warnings among relative file paths."""
    folders: dict[str, VersionFolder | None] = {}  # each directory met: its version folder
    names: dict[str, list[str]] = {}
    scripts: list[ScriptFile] = []
    warnings: list[PathWarning] = []
    for path in paths:
        directory, _, name = (path.replace("\\", "/") if "\\" in path else path).rpartition("/")
        try:
            folder = folders[directory]  # a tree's files come a folder at a time
        except KeyError:
            folder = folders[directory] = _version_folder(directory, scanned_release)
            if folder is not None:
                names[directory] = []
        if folder is None:
            continue
        names[directory].append(name)
        if not name.endswith(".py") or name == "__init__.py":
            continue
        match = _SCRIPT_RE.match(name)
        if match:
            scripts.append(ScriptFile(
                folder.module, folder.version, folder.release, match.group(1), path, folder.layout
            ))
        elif _LOOKALIKE_RE.search(name):
            warnings.append(PathWarning(
                path, f"{name} is {NOT_RUN}: only pre-*.py, post-*.py and end-*.py are run"
            ))
    return ScriptIndex(
        folders=tuple(sorted((f for f in folders.values() if f is not None),
                             key=lambda f: f.path)),
        scripts=tuple(sorted(scripts, key=lambda s: s.path)),
        warnings=tuple(warnings),
        folder_files={path: tuple(sorted(files)) for path, files in names.items()},
    )
