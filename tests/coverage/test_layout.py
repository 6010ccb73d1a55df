"""Placing a scanned directory in an OpenUpgrade repository, and repository paths."""

from __future__ import annotations

import pytest

from ouhub.coverage.layout import Placement, is_frame, placement, repository_path

WHEEL = {"odoo/addons/openupgrade_scripts/scripts", "odoo", "odoo/addons"}
REPO = {"openupgrade_scripts/scripts", "openupgrade_scripts", "docsource"}
FOLDER = {"scripts", "apriori.py", "__manifest__.py"}


@pytest.mark.parametrize(
    ("name", "parent", "holds", "expected"),
    [
        ("OpenUpgrade", "src", REPO, Placement(name="repository root")),
        ("addons", "odoo", REPO, Placement(name="repository root")),  # the wheel's odoo/addons
        ("odoo_addon_openupgrade_scripts-19.0", "tmp", WHEEL, Placement(name="unpacked wheel")),
        ("openupgrade_scripts", "OpenUpgrade", FOLDER,
         Placement("openupgrade_scripts/", name="openupgrade_scripts/")),
        ("scripts", "openupgrade_scripts", {"bus", "web"},
         Placement("openupgrade_scripts/scripts/",
                   (("../apriori.py", "openupgrade_scripts/apriori.py"),),
                   name="openupgrade_scripts/scripts/")),
        ("scripts", "elsewhere", {"bus"}, Placement()),  # a folder named scripts, nothing more
        ("openupgrade_scripts", "x", {"apriori.py"}, Placement()),  # no scripts folder
        ("server", "7.0", {"openerp", "bin"}, Placement()),  # the bzr era's branches
    ],
)
def test_placement(name: str, parent: str, holds: set[str], expected: Placement) -> None:
    assert placement(name, parent, holds.__contains__) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("odoo/addons/openupgrade_scripts/scripts/bus/19.0.1.0/upgrade_analysis.txt",
         "openupgrade_scripts/scripts/bus/19.0.1.0/upgrade_analysis.txt"),
        ("odoo/addons/openupgrade_scripts/apriori.py", "openupgrade_scripts/apriori.py"),
        ("openupgrade_scripts/scripts/bus/19.0.1.0/post-migration.py",
         "openupgrade_scripts/scripts/bus/19.0.1.0/post-migration.py"),
        ("odoo/addons/base/migrations/9.0.1.3/pre-migration.py",
         "odoo/addons/base/migrations/9.0.1.3/pre-migration.py"),  # 9.0-13.0: odoo's own tree
        ("odoo/addons/openupgrade_scriptsx/a.py", "odoo/addons/openupgrade_scriptsx/a.py"),
    ],
)
def test_repository_path(path: str, expected: str) -> None:
    assert repository_path(path) == expected


def test_the_frame_modules_only_in_the_scripts_layout() -> None:
    assert is_frame("openupgrade_scripts", True) and is_frame("openupgrade_framework", True)
    assert not is_frame("openupgrade_scripts", False)
    assert not is_frame("account", True)
