"""The real OpenUpgrade trees, as published on the package index, and the truth about them.

``real_tree(release)`` downloads ``odoo-addon-openupgrade-scripts`` of a pinned version
with ``pip download --no-deps`` into a cache beside the venv (``.cache/openupgrade-trees``,
gitignored; once per machine) and unpacks it. A download that fails raises
:class:`TreeDownloadError` with pip's own words: the tests fail on it, never skip.

``count_truth(root)`` counts, from the files alone and without ouhub's parsers, what an
OpenUpgrade maintainer would: the modules of the release, those with migration scripts,
those whose analysts answered every change "nothing to do", those whose analysis says
nothing changed, and the renames and merges of ``apriori.py``.
"""

from __future__ import annotations

import ast
import fcntl
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "odoo-addon-openupgrade-scripts"
# pinned, so that the figures are the same on every machine and every day
VERSIONS = {"17.0": "17.0.1.0.1.493", "18.0": "18.0.1.0.0.554", "19.0": "19.0.1.0.0.407"}
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "openupgrade-trees"
SCRIPTS = "odoo/addons/openupgrade_scripts/scripts"  # inside the unpacked wheel


class TreeDownloadError(RuntimeError):
    """The package index did not give the tree."""


def real_tree(release: str, cache: Path = CACHE) -> Path:
    """The unpacked wheel of ``release``'s pinned version (downloaded and unpacked once)."""
    version = VERSIONS[release]
    target = cache / f"{PACKAGE}-{version}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # parallel test sessions download once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            return target
        wheels = cache / "wheels"
        wheel = next(wheels.glob(f"*-{version}-*.whl"), None)
        if wheel is None:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                       ":all:", "--disable-pip-version-check", "-d", str(wheels),
                       f"{PACKAGE}=={version}"]
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            wheel = next(wheels.glob(f"*-{version}-*.whl"), None)
            if proc.returncode or wheel is None:
                raise TreeDownloadError(
                    f"cannot download the real {release} tree ({PACKAGE}=={version}) with "
                    f"`{' '.join(command[1:])}`: {proc.stderr.strip()[-800:] or 'no wheel'}; "
                    "the tests on the real trees need the package index"
                )
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial)
        partial.rename(target)
    return target


# -- the truth, counted from the files ---------------------------------------------------------

_SCRIPT = re.compile(r"(pre|post|end)-.*\.py")
# what the comparison tool writes for a change, read as plainly as a maintainer reads it
_CHANGE = re.compile(
    r"(NEW|DEL) \S+: \S"  # a record
    r"|\S+ +/ +\S+ +/ +\S+.*:"  # a field
    r"|(new|obsolete) model \S"
    r"|model \S+ \(moved "
    r"|\S+: \S+ .*\((noupdate switched|deleted domain|changed definition)"
    r"|(new|deleted) xml-id of model "
)
_NOTHING = re.compile(r"nothing\s*to\s*do|^\W*ignore", re.IGNORECASE)
_TOOL_FILES = ("upgrade_analysis.txt", "openupgrade_analysis.txt")


@dataclass
class Truth:
    release: str
    modules: set[str] = field(default_factory=set)  # with a version folder of the release
    with_scripts: set[str] = field(default_factory=set)
    all_nothing_to_do: set[str] = field(default_factory=set)  # no scripts, every change answered
    nothing_changed: set[str] = field(default_factory=set)  # no scripts, no change listed
    renamed: dict[str, str] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)

    @property
    def nothing_to_do(self) -> set[str]:
        return self.all_nothing_to_do | self.nothing_changed


def count_truth(wheel: Path, release: str) -> Truth:
    """What a maintainer counts in the unpacked wheel of ``release``."""
    truth = Truth(release)
    scripts = wheel / SCRIPTS
    for module in sorted(os.listdir(scripts)):
        folders = sorted(
            (p for p in (scripts / module).iterdir()
             if p.is_dir() and p.name.startswith(release + ".")),
            key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()],
        )
        if not folders:
            continue
        truth.modules.add(module)
        names = [n for folder in folders for n in os.listdir(folder)]
        if any(_SCRIPT.fullmatch(n) for n in names):
            truth.with_scripts.add(module)
            continue
        analysis = _chosen_analysis(folders[-1])
        if analysis is None:
            continue
        changes, answered_all = _read(analysis.read_text(encoding="utf-8", errors="replace"))
        if not changes and "nothing has changed in this module" in analysis.read_text():
            truth.nothing_changed.add(module)
        elif changes and answered_all:
            truth.all_nothing_to_do.add(module)
    apriori = ast.parse((wheel / SCRIPTS).parent.joinpath("apriori.py").read_text())
    for node in apriori.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("renamed_modules", "merged_modules"):
                getattr(truth, name.split("_")[0]).update(ast.literal_eval(node.value))
    return truth


def _chosen_analysis(folder: Path) -> Path | None:
    """A work file, else another hand-made copy, else the tool's own analysis."""
    found = [p for p in folder.iterdir() if "analysis" in p.name and p.suffix == ".txt"]
    found.sort(key=lambda p: ("work" in p.name, p.name not in _TOOL_FILES, p.name))
    return found[-1] if found else None


def _read(text: str) -> tuple[int, bool]:
    """(changes, every change followed by a "nothing to do" comment before the next ones)."""
    changes, waiting, answered_all = 0, 0, True
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("---"):
            continue
        if not line.startswith("#") and _CHANGE.match(line):
            changes += 1
            waiting += 1
        elif waiting:  # the first comment after some changes answers them
            answered_all = answered_all and bool(_NOTHING.search(line.lstrip("#").strip()))
            waiting = 0
    return changes, answered_all and not waiting
