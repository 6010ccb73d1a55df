"""Scanning real trees: directories on disk and real bzr mirrors; cache, history, bad input."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from breezy.workingtree import WorkingTree

from examples.demo.vcs import commit_files, make_branch
from ouhub.coverage import scan as scan_mod
from ouhub.coverage import tree as tree_mod
from ouhub.coverage.queries import diff_scans
from ouhub.coverage.status import (
    APRIORI_TARGET_MISSING,
    DECLARED_ABSENT,
    DECLARED_DONE_WITHOUT_SCRIPTS,
    SCRIPTS_WITHOUT_DECLARATION,
)
from ouhub.errors import CoverageError
from ouhub.store import Store
from tests.coverage.trees import ADDONS, tree_61, tree_70, write_tree
from tests.support.config import make_config


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "state" / "ouhub.sqlite") as opened:
        yield opened


def statuses(store: Store, release: str) -> dict[str, str]:
    return {m.module: m.status for m in store.latest_coverage(release)}


def test_directory_scan_decides_every_status(tmp_path: Path, store: Store):
    old = write_tree(tmp_path / "61", tree_61())
    new = write_tree(tmp_path / "70", tree_70())
    os.symlink("..", new / ADDONS / "loop")  # a symlink loop
    scan_mod.scan_path(store, old, "6.1")
    result = scan_mod.scan_path(store, new, "7.0", previous="6.1")

    assert result.ok and not result.cached
    assert statuses(store, "7.0") == {
        "base": "done", "account": "todo", "sale": "nothing_to_do", "stock": "partial",
        "crm": "done", "purchase": "done", "new_mod": "new", "renamed_new": "new",
        "mystery": "new", "openupgrade_records": "new", "old_mod": "removed",
        "renamed_old": "renamed", "merged_old": "merged", "ghost_declared": "done",
        "broken": "todo",
    }
    coverage = {m.module: m for m in store.latest_coverage("7.0")}
    base = coverage["base"]
    assert base.evidence.scripts == (
        f"{ADDONS}/base/migrations/7.0.1.3/post-migration.py",
        f"{ADDONS}/base/migrations/7.0.1.3/pre-migration.py",
    )
    assert base.evidence.declaration == "doc/source/modules61-70.rst:7: base | Done"
    # the annotated work file is preferred over the plain one
    assert base.analysis_source.endswith("openupgrade_analysis_work.txt")
    assert (base.analysis_size, base.analysis_annotated) == (3, 2)
    assert coverage["account"].analysis_size == 5 and coverage["account"].version == "7.0.1.1"
    assert coverage["renamed_old"].target == "renamed_new"
    assert "renamed_modules['renamed_old']" in coverage["renamed_old"].evidence.apriori
    assert coverage["merged_old"].target == "ghost_target"
    assert coverage["merged_old"].disagreements[0].startswith(APRIORI_TARGET_MISSING)
    assert DECLARED_DONE_WITHOUT_SCRIPTS in coverage["crm"].disagreements
    assert SCRIPTS_WITHOUT_DECLARATION in coverage["purchase"].disagreements
    assert DECLARED_ABSENT in coverage["ghost_declared"].disagreements
    assert coverage["broken"].manifest_error and "not a dict" in coverage["broken"].manifest_error
    assert result.summary["scripts_by_stage"] == {"pre": 1, "post": 2, "end": 1}

    warnings = store.coverage_warnings(result.scan_id)
    text = "\n".join(f"{p}: {m}" for p, m in warnings)
    assert "post_migration.py is not run by the upgrade mechanism" in text
    assert f"{ADDONS}/broken/__openerp__.py" in text
    assert "crm/migrations/7.0.1.0/openupgrade_analysis.txt: binary file" in text
    assert "mystery/migrations/7.0.1.0/openupgrade_analysis.txt: not UTF-8" in text
    assert f"{ADDONS}/loop: symlink loop" in text


@pytest.mark.parametrize("stat_files", [False, True])  # a mirror's walk; a --path walk
def test_links_out_of_the_tree_are_never_followed_and_named(tmp_path: Path, store: Store,
                                                            stat_files: bool):
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    secret = outside / "etc" / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (outside / "etc" / "__openerp__.py").write_text("{'name': 'Etc', 'version': '1.0'}")
    root = write_tree(tmp_path / "70", tree_70())
    work = root / ADDONS / "crm" / "migrations" / "7.0.9.9"
    work.mkdir(parents=True)
    (work / "openupgrade_analysis_work.txt").symlink_to(secret)  # a file link out of the tree
    (root / ADDONS / "etc").symlink_to(outside / "etc")  # a directory link out of it
    (root / ADDONS / "slash").symlink_to("/")  # the root directory: out, and no loop
    (root / ADDONS / "sale_link").symlink_to("sale")  # inside the tree: followed

    walked = tree_mod.walk_directory(root, stat_if=(lambda name: True) if stat_files else None)

    paths = {f.path for f in walked.files}
    assert f"{ADDONS}/crm/migrations/7.0.9.9/openupgrade_analysis_work.txt" not in paths
    assert not any(p.startswith((f"{ADDONS}/etc/", f"{ADDONS}/slash/")) for p in paths)
    assert f"{ADDONS}/sale_link/__openerp__.py" in paths
    warned = dict(walked.warnings)
    for name, target in (("crm/migrations/7.0.9.9/openupgrade_analysis_work.txt", secret),
                         ("etc", outside / "etc"), ("slash", Path("/"))):
        assert warned[f"{ADDONS}/{name}"] == (
            f"symlink to {target}, outside the tree: not followed"), warned
    result = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert "etc" not in statuses(store, "7.0")
    text = "\n".join(f"{p}: {m}" for p, m in store.coverage_warnings(result.scan_id))
    assert "outside the tree: not followed" in text and "root:x" not in text
    crm = {m.module: m for m in store.latest_coverage("7.0")}["crm"]
    assert "passwd" not in (crm.analysis_source or "")


@pytest.mark.parametrize("stat_files", [False, True])
def test_a_link_swapped_after_the_walk_is_not_read(tmp_path: Path, stat_files: bool):
    root = write_tree(tmp_path / "70", tree_70())
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0")
    link = root / ADDONS / "crm" / "__openerp__.py"
    target = root / ADDONS / "crm" / "manifest.real"
    link.rename(target)
    link.symlink_to(target)  # inside: listed by the walk
    walked = tree_mod.walk_directory(root, stat_if=(lambda name: True) if stat_files else None)
    link.unlink()
    link.symlink_to(outside)  # then pointed out of the tree before the scan reads it
    with pytest.raises(OSError, match="outside the tree"):
        walked.read(f"{ADDONS}/crm/__openerp__.py")


@pytest.mark.parametrize("stat_files", [False, True])
def test_a_directory_swapped_for_a_link_after_the_walk_is_not_read(
    tmp_path: Path, stat_files: bool
):
    root = write_tree(tmp_path / "70", tree_70())
    sale = root / ADDONS / "sale"
    walked = tree_mod.walk_directory(root, stat_if=(lambda name: True) if stat_files else None)
    manifest = f"{ADDONS}/sale/__openerp__.py"
    assert b"'name'" in walked.read(manifest)  # a file the walk met: read
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "__openerp__.py").write_text("root:x:0:0")
    sale.rename(tmp_path / "sale.moved")
    sale.symlink_to(outside)  # the file's directory now leads out of the tree
    with pytest.raises(OSError, match="outside the tree"):
        walked.read(manifest)


def test_unknown_without_the_previous_release(tmp_path: Path, store: Store):
    new = write_tree(tmp_path / "70", tree_70())
    scan_mod.scan_path(store, new, "7.0", previous="6.1")
    found = statuses(store, "7.0")
    assert found["openupgrade_records"] == "unknown"
    # the analysis deletes and retypes fields: account existed before
    assert found["account"] == "todo"
    assert found["new_mod"] == "new"  # from the |new| marker


def test_cached_rescan_does_no_work_and_a_change_is_a_new_scan(tmp_path: Path, store: Store):
    root = write_tree(tmp_path / "70", tree_70())
    first = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    again = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert again.cached and again.files_read == () and again.scan_id == first.scan_id
    assert first.files_read  # the first scan did read files
    assert len(store.coverage_history("7.0")) == 1

    script = root / ADDONS / "account/migrations/7.0.1.1/pre-migration.py"
    script.write_text("def migrate(cr, version):\n    pass\n")
    changed = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert not changed.cached and changed.scan_id != first.scan_id
    before, after, changes = diff_scans(store, "7.0")
    assert (before.id, after.id) == (first.scan_id, changed.scan_id)
    assert [(c.module, c.before, c.after) for c in changes] == [("account", "todo", "done")]
    history = store.coverage_history("7.0")
    assert [h.totals["todo"] for h in history] == [2, 1]  # account, then mystery only


def _age(root: Path, seconds: int = 3600) -> None:
    """Date a tree back, as an unpacked package or a checkout left alone is."""
    then = time.time() - seconds
    for directory, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(directory, name), (then, then))
    for directory, _dirs, _files in os.walk(root):
        os.utime(directory, (then, then))


def test_unchanged_directory_is_answered_without_walking_it(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
):
    root = write_tree(tmp_path / "70", tree_70())
    _age(root)
    first = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    with monkeypatch.context() as patched:
        patched.setattr(scan_mod, "walk_directory", lambda *a, **k: pytest.fail("walked"))
        again = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert again.cached and again.scan_id == first.scan_id

    # a new module: its parent directory changed
    write_tree(root, {f"{ADDONS}/late/__openerp__.py": "{'name': 'Late', 'version': '1.0'}"})
    added = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert not added.cached and "late" in statuses(store, "7.0")
    # a manifest edited in place (its directory untouched): the file's own time tells
    _age(root)
    scan_mod.scan_path(store, root, "7.0", previous="6.1")
    manifest = root / ADDONS / "late" / "__openerp__.py"
    manifest.write_text("{'name': 'Late', 'version': '7.0.2.0'}")
    os.utime(manifest.parent, (time.time() - 3600,) * 2)
    edited = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert not edited.cached
    assert {m.module: m.version for m in store.latest_coverage("7.0")}["late"] == "7.0.2.0"


def test_a_change_within_the_clock_tick_of_a_scan_is_seen(tmp_path: Path, store: Store):
    # file systems keep times in ticks: a module added just after the scan listed its
    # directory may leave the directory's time as it was; a fresh tree is walked again
    root = write_tree(tmp_path / "70", tree_70())
    scan_mod.scan_path(store, root, "7.0", previous="6.1")
    addons = root / ADDONS
    before = addons.stat().st_mtime_ns
    write_tree(root, {f"{ADDONS}/late/__openerp__.py": "{'name': 'Late'}"})
    os.utime(addons, ns=(before, before))
    rescan = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    assert not rescan.cached and "late" in statuses(store, "7.0")


def test_failed_store_write_loses_nothing(tmp_path: Path, store: Store):
    root = write_tree(tmp_path / "70", tree_70())
    first = scan_mod.scan_path(store, root, "7.0", previous="6.1")
    kept = store.latest_coverage("7.0")
    scan = store.coverage_scan(first.scan_id)
    # same key (so the old scan is deleted first), then a duplicate module row fails
    with pytest.raises(sqlite3.IntegrityError):
        store.record_coverage_scan(scan, [kept[0], kept[0]], [])
    assert store.latest_coverage("7.0") == kept
    assert len(store.coverage_warnings(first.scan_id)) > 0


def test_scan_path_rejects_a_missing_directory(tmp_path: Path, store: Store):
    with pytest.raises(CoverageError, match="no such directory"):
        scan_mod.scan_path(store, tmp_path / "nope", "7.0")


def _config(tmp_path: Path):
    return make_config(tmp_path, {r: {"server": f"lp:openupgrade-server/{r}"}
                                  for r in ("6.1", "7.0")})


def test_mirrors_scan_cache_and_history(tmp_path: Path):
    config = _config(tmp_path)
    mirror_61 = config.mirror_path(config.release("6.1").branch("server"))
    mirror_70 = config.mirror_path(config.release("7.0").branch("server"))
    make_branch(mirror_61, [tree_61()])
    make_branch(mirror_70, [tree_70()])
    with Store.open(config.store_path) as store:
        results = scan_mod.scan_releases(config, store)
        assert [(r.release, r.ok, r.cached) for r in results] == [
            ("6.1", True, False), ("7.0", True, False)]
        assert statuses(store, "7.0")["account"] == "todo"
        # 6.1 starts the chain (no previous): its modules are recorded as new, not unknown
        assert set(statuses(store, "6.1").values()) == {"new"}
        assert results[0].summary["first_release"] and results[0].summary["step"] is None
        assert results[1].summary["step"] == "6.1 -> 7.0"
        # evidence paths are prefixed with the branch name
        base = next(m for m in store.latest_coverage("7.0") if m.module == "base")
        assert base.evidence.scripts[0].startswith(f"server/{ADDONS}/base/migrations/")
        assert results[1].revisions["server"]

        again = scan_mod.scan_releases(config, store)
        assert all(r.cached and r.files_read == () for r in again)

        commit_files(mirror_70, {f"{ADDONS}/account/migrations/7.0.1.1/post-migration.py":
                                 "def migrate(cr, version):\n    pass\n"}, "account script")
        third = scan_mod.scan_releases(config, store, ["7.0"])
        assert not third[0].cached
        assert statuses(store, "7.0")["account"] == "done"
        old_rev = results[1].revisions["server"]
        _, _, changes = diff_scans(store, "7.0", old_rev, None)
        assert [(c.module, c.before, c.after) for c in changes] == [("account", "todo", "done")]


def test_mirror_without_working_tree_is_read_from_its_head(tmp_path: Path):
    config = _config(tmp_path)
    mirror_70 = config.mirror_path(config.release("7.0").branch("server"))
    make_branch(mirror_70, [tree_70()])
    WorkingTree.open(str(mirror_70)).controldir.destroy_workingtree()
    assert not (mirror_70 / ADDONS).exists()
    with Store.open(config.store_path) as store:
        result = scan_mod.scan_release(config, store, "7.0")
        assert result.ok
        found = statuses(store, "7.0")
        assert found["base"] == "done" and found["sale"] == "nothing_to_do"
        assert result.summary["scripts_by_stage"] == {"pre": 1, "post": 2, "end": 1}


def test_missing_mirror_fails_that_release_only(tmp_path: Path):
    config = _config(tmp_path)
    make_branch(config.mirror_path(config.release("6.1").branch("server")), [tree_61()])
    with Store.open(config.store_path) as store:
        results = scan_mod.scan_releases(config, store)
        assert results[0].ok and results[1].error and "ouhub sync" in results[1].error
        assert store.latest_coverage("6.1") and store.latest_coverage("7.0") == []
