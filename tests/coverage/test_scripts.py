"""Which files are migration scripts, in both layouts, with irregular version folders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.coverage.scripts import NOT_RUN, classify_paths


@pytest.mark.parametrize(
    ("path", "module", "version", "release", "stage", "layout"),
    [
        # Launchpad addons branch: modules at the root
        ("account/migrations/7.0.1.1/pre-migration.py", "account", "7.0.1.1", "7.0", "pre",
         "module"),
        # server branch: openerp/addons; 6.0: bin/addons
        ("openerp/addons/base/migrations/7.0.1.3/post-migration.py", "base", "7.0.1.3", "7.0",
         "post", "module"),
        ("bin/addons/base/migrations/6.0.1.3/pre-set_defaults.py", "base", "6.0.1.3", "6.0",
         "pre", "module"),
        # OCA git branches 8.0 to 13.0
        ("addons/sale/migrations/9.0.1.0/end-migration.py", "sale", "9.0.1.0", "9.0", "end",
         "module"),
        ("odoo/addons/base/migrations/12.0.1.3/pre-migration.py", "base", "12.0.1.3", "12.0",
         "pre", "module"),
        # modern layout, irregular versions
        ("openupgrade_scripts/scripts/account/17.0.1.03.00/post-migration.py", "account",
         "17.0.1.03.00", "17.0", "post", "openupgrade_scripts"),
        ("odoo/addons/openupgrade_scripts/scripts/mail/19.0.13.0.2/pre-migration.py", "mail",
         "19.0.13.0.2", "19.0", "pre", "openupgrade_scripts"),
        # a version without its series belongs to the scanned release
        ("web/migrations/1.1/post-migration.py", "web", "1.1", "7.0", "post", "module"),
    ],
)
def test_scripts_in_both_layouts(path, module, version, release, stage, layout):
    index = classify_paths([path], "7.0")
    assert len(index.scripts) == 1
    script = index.scripts[0]
    assert (script.module, script.version, script.release, script.stage, script.layout) == (
        module, version, release, stage, layout)
    assert script.path == path
    assert not index.warnings


@pytest.mark.parametrize("name", ["post_migration.py", "pre.py", "migration.py",
                                  "pre_migration.py", "end.py"])
def test_look_alikes_are_warnings_not_scripts(name):
    index = classify_paths([f"account/migrations/7.0.1.1/{name}"], "7.0")
    assert index.scripts == ()
    assert len(index.warnings) == 1
    assert NOT_RUN in index.warnings[0].message
    assert name in index.warnings[0].message


@pytest.mark.parametrize(
    "path",
    [
        "account/migrations/7.0.1.1/__init__.py",  # package marker
        "account/migrations/7.0.1.1/openupgrade_analysis.txt",  # not python
        "account/migrations/7.0.1.1/helpers.py",  # a helper module, not a look-alike
        "account/pre-migration.py",  # not in a version folder
        "openupgrade_scripts/scripts/base/tests/test_base_migration.py",  # tests folder
        "account/migrations/README/pre-migration.py",  # not a version
        "migrations/7.0.1.1/pre-migration.py",  # no module around it
    ],
)
def test_other_files_are_ignored(path):
    index = classify_paths([path], "7.0")
    assert index.scripts == () and index.warnings == ()


def test_several_version_folders_per_module_each_related_to_its_release():
    index = classify_paths(
        [
            "sale/migrations/6.1.1.0/post-migration.py",
            "sale/migrations/7.0.1.0/pre-migration.py",
            "sale/migrations/7.0.1.1/post-migration.py",
            "sale/migrations/7.0.1.1/openupgrade_analysis.txt",
        ],
        "7.0",
    )
    assert [s.release for s in index.scripts] == ["6.1", "7.0", "7.0"]
    assert [s.path for s in index.for_release("7.0")] == [
        "sale/migrations/7.0.1.0/pre-migration.py", "sale/migrations/7.0.1.1/post-migration.py"]
    assert {f.version for f in index.folders} == {"6.1.1.0", "7.0.1.0", "7.0.1.1"}
    assert index.folder_files["sale/migrations/7.0.1.1"] == (
        "openupgrade_analysis.txt", "post-migration.py")


_PART = st.sampled_from(["account", "migrations", "7.0.1.1", "1.1", "scripts",
                         "openupgrade_scripts", "pre-migration.py", "post_migration.py",
                         "__init__.py", "", ".", "saas~11.1.1.0"]) | st.text(max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_PART, min_size=1, max_size=7).map("/".join), max_size=20),
       st.text(max_size=8))
def test_any_paths_classify_without_exceptions(paths, release):
    index = classify_paths(paths, release or "7.0")
    for script in index.scripts:
        assert script.path in paths and script.stage in ("pre", "post", "end")
