"""Where a scanned directory sits in an OpenUpgrade repository, and repository paths.

OCA's repository keeps the scripts in ``openupgrade_scripts/scripts/<module>/<version>/``
and its renames in ``openupgrade_scripts/apriori.py``; the published wheel holds the same
folder as ``odoo/addons/openupgrade_scripts/``. A user may point ``--path`` at any of
these: the repository root, the unpacked wheel, ``openupgrade_scripts/`` or
``openupgrade_scripts/scripts/``. Each is placed in the repository (:func:`placement`,
from directory names alone) and every file is recorded by its repository path
(:func:`repository_path`), so the four give the same answer and the same links. A git
tree read from the object store is already a repository root: only
:func:`repository_path` applies. OpenUpgrade's own modules (``openupgrade_scripts``,
``openupgrade_framework``) are the frame, not modules to migrate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SCRIPTS_FOLDER = "openupgrade_scripts"
SCRIPTS_DIR = f"{SCRIPTS_FOLDER}/scripts"
WHEEL_PREFIX = "odoo/addons/"  # where the wheel puts openupgrade_scripts/
FRAME_MODULES = frozenset({"openupgrade_scripts", "openupgrade_framework"})


@dataclass(frozen=True)
class Placement:
    """A scanned directory's place: the repository path of its files, and files above it
    that belong to the tree (``(path relative to the directory, repository path)``)."""

    prefix: str = ""
    above: tuple[tuple[str, str], ...] = ()
    name: str = "directory"  # what the directory was recognised as, said to the user


def placement(name: str, parent: str, exists: Callable[[str], bool]) -> Placement:
    """Place a directory from its own name, its parent's name and what it holds
    (``exists(relative path)``)."""
    if exists(SCRIPTS_DIR):
        return Placement(name="repository root")
    if exists(WHEEL_PREFIX + SCRIPTS_DIR):
        return Placement(name="unpacked wheel")
    if name == SCRIPTS_FOLDER and exists("scripts"):
        return Placement(f"{SCRIPTS_FOLDER}/", name=f"{SCRIPTS_FOLDER}/")
    if name == "scripts" and parent == SCRIPTS_FOLDER:
        # the renames are beside this folder: read them as the repository holds them
        return Placement(f"{SCRIPTS_DIR}/", (("../apriori.py", f"{SCRIPTS_FOLDER}/apriori.py"),),
                         name=f"{SCRIPTS_DIR}/")
    return Placement()


def repository_path(path: str) -> str:
    """A tree path as the repository holds it (the wheel's ``odoo/addons/`` dropped)."""
    if path.startswith(WHEEL_PREFIX) and path.startswith(SCRIPTS_FOLDER + "/", len(WHEEL_PREFIX)):
        return path[len(WHEEL_PREFIX):]
    return path


def is_frame(module: str, paths_in_scripts_layout: bool) -> bool:
    """Whether a manifest's module is OpenUpgrade's own frame rather than a module to migrate."""
    return paths_in_scripts_layout and module in FRAME_MODULES
