"""The scan of a git mirror reads the synced commit from the object store, and finds what a
scan of the same files on disk finds."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ouhub import config as config_mod
from ouhub.coverage import scan as scan_mod
from ouhub.coverage.tree import git_tree, walk_directory
from ouhub.store import Store
from ouhub.sync.stage import run_sync
from tests.coverage.trees import ADDONS, ANALYSIS_ACCOUNT, tree_61, tree_70
from tests.support.gitrepos import commit, git_repo


def project(tmp_path: Path) -> tuple[config_mod.Config, Path]:
    ou = tmp_path / "ou.git"
    git_repo(ou, {"6.1": [tree_61()], "7.0": [tree_70()]})
    config = config_mod.from_dict({
        "data_dir": str(tmp_path / "data"),
        "releases": {
            "6.1": {"branches": {"server": {"url": f"{ou},branch=6.1"}}},
            "7.0": {"previous": "6.1", "branches": {"server": {"url": f"{ou},branch=7.0"}}},
        },
    })
    return config, ou


def checkout(ou: Path, rev: str, where: Path) -> Path:
    where.mkdir(parents=True)
    archive = subprocess.run(["git", f"--git-dir={ou}", "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def test_a_git_mirror_is_scanned_from_its_synced_commit_like_its_files_on_disk(tmp_path):
    config, ou = project(tmp_path)
    with Store.open(config.store_path) as store:
        assert all(r.ok for r in run_sync(config, store, quiet=True))
        assert not config.mirror_path(config.release("7.0").branch("server")).exists()  # no files
        results = scan_mod.scan_releases(config, store)
        assert all(r.ok for r in results), [r.error for r in results]
        from_git = {m.module: (m.status, m.evidence.scripts) for m in store.latest_coverage("7.0")}
        assert from_git["base"][0] == "done" and from_git["sale"][0] == "nothing_to_do"
        assert results[1].revisions == {"server": store.sync_state("7.0", "server").revid}
        assert results[1].summary["scripts_by_stage"] == {"pre": 1, "post": 2, "end": 1}

        disk = Store.open(tmp_path / "disk.sqlite")
        scan_mod.scan_path(disk, checkout(ou, "6.1", tmp_path / "61"), "6.1", first_release=True)
        on_disk = scan_mod.scan_path(disk, checkout(ou, "7.0", tmp_path / "70"), "7.0", "6.1")
        assert on_disk.totals == results[1].totals
        mirror_warnings = [(p.removeprefix("server/"), w.replace("server/", ""))
                           for p, w in results[1].warnings]
        assert sorted(on_disk.warnings) == sorted(mirror_warnings) and mirror_warnings
        disk.close()

        # a new commit is a new revision: scanned again, and the cache answers after that
        commit(ou, "7.0", {f"{ADDONS}/account/migrations/7.0.1.1/post-migration.py":
                           "def migrate(cr, version):\n    pass\n"})
        run_sync(config, store, quiet=True)
        third = scan_mod.scan_release(config, store, "7.0")
        assert not third.cached
        assert {m.module: m.status for m in store.latest_coverage("7.0")}["account"] == "done"
        assert scan_mod.scan_release(config, store, "7.0").cached


def test_the_git_tree_source_lists_and_reads_like_the_directory_one(tmp_path):
    _, ou = project(tmp_path)
    on_disk = walk_directory(checkout(ou, "7.0", tmp_path / "70"), "server/")
    in_git = git_tree(ou, "refs/heads/7.0", "server/")
    try:
        assert [f.path for f in in_git.files] == [f.path for f in on_disk.files]
        for path in (f"server/{ADDONS}/base/__openerp__.py", f"server/{ADDONS}/crm/migrations/"
                     "7.0.1.0/openupgrade_analysis.txt"):
            assert in_git.read(path) == on_disk.read(path)
        try:
            in_git.read("server/no/such/file.py")
        except FileNotFoundError as exc:
            assert "not in refs/heads/7.0" in str(exc)
        else:
            raise AssertionError("a missing file must be an OSError, as on disk")
    finally:
        in_git.close()


def test_a_release_never_synced_says_to_sync(tmp_path):
    config, _ = project(tmp_path)
    with Store.open(config.store_path) as store:
        result = scan_mod.scan_release(config, store, "7.0")
        assert result.error and "run `ouhub sync --release 7.0`" in result.error


def test_links_out_of_a_git_tree_are_never_followed_and_named(tmp_path):
    work = tmp_path / "work"
    for path, content in tree_70().items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(content if isinstance(content, bytes) else content.encode())
    analysis = work / ADDONS / "crm" / "migrations" / "7.0.9.9" / "openupgrade_analysis_work.txt"
    analysis.parent.mkdir(parents=True)
    analysis.symlink_to("/etc/passwd")  # mode 120000 in git: the target is the blob
    (work / ADDONS / "etc").symlink_to("/etc")
    (work / ADDONS / "up").symlink_to("../../..")
    (work / ADDONS / "sale_link").symlink_to("sale")  # inside: no warning
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "links"]):
        subprocess.run(["git", *args], cwd=work, check=True)
    tree = git_tree(work / ".git", "HEAD", "server/")
    try:
        warned = dict(tree.warnings)
        assert warned == {
            f"server/{ADDONS}/crm/migrations/7.0.9.9/openupgrade_analysis_work.txt":
                "symlink to /etc/passwd, outside the tree: not followed",
            f"server/{ADDONS}/etc": "symlink to /etc, outside the tree: not followed",
            f"server/{ADDONS}/up": "symlink to ../../.., outside the tree: not followed",
        }
        paths = {f.path for f in tree.files}
        assert not any(p.endswith(("7.0.9.9/openupgrade_analysis_work.txt", "/etc", "/up"))
                       for p in paths)
    finally:
        tree.close()


def test_a_mirror_rescan_after_one_changed_analysis_parses_that_one(tmp_path):
    config, ou = project(tmp_path)
    with Store.open(config.store_path) as store:
        run_sync(config, store, quiet=True)
        scan_mod.scan_release(config, store, "6.1")
        first = scan_mod.scan_release(config, store, "7.0")
        parsed = first.summary["parsed"]
        assert parsed["reused"] == 0 and parsed["analyses"] >= 3
        # the binary analysis cannot be parsed: it is the one read again by every scan
        again = scan_mod.scan_release(config, store, "7.0", force=True)
        assert again.summary["parsed"] == {"analyses": 1, "reused": parsed["analyses"] - 1}
        assert [p for p in again.files_read if "analysis" in p] == [
            f"server/{ADDONS}/crm/migrations/7.0.1.0/openupgrade_analysis.txt"]
        assert again.totals == first.totals
        account = {m.module: m for m in store.latest_coverage("7.0")}["account"]

        analysis = f"{ADDONS}/account/migrations/7.0.1.1/openupgrade_analysis.txt"
        commit(ou, "7.0", {analysis: ANALYSIS_ACCOUNT + "account / account.invoice / "
                                      "origin (char) : DEL\n"})
        run_sync(config, store, quiet=True)
        changed = scan_mod.scan_release(config, store, "7.0")
        assert changed.summary["parsed"] == {"analyses": 2, "reused": parsed["analyses"] - 2}
        now = {m.module: m for m in store.latest_coverage("7.0")}["account"]
        assert now.analysis_size == account.analysis_size + 1
        assert now.analysis_counts["fields.del"] == account.analysis_counts["fields.del"] + 1
