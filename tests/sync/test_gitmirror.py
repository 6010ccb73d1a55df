"""sync_repository on real repositories: one fetch per remote, refs per branch, faults."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path

from examples.demo.gitrepo import add_commits
from ouhub.sync import git
from ouhub.sync.gitmirror import FetchTarget, remove_leftovers, sync_repository
from tests.support.gitrepos import commit, fsck, git_repo, sha_of

RELEASES = ("17.0", "18.0", "19.0")


def targets(source: Path, releases=RELEASES, fallback: dict[str, list[str]] | None = None,
            checkouts: Path | None = None) -> list[FetchTarget]:
    return [
        FetchTarget(f"{r}/openupgrade", f"refs/ouhub/{r}/openupgrade",
                    (f"{source},branch={r}", *(fallback or {}).get(r, [])),
                    checkout=checkouts / r / "openupgrade" if checkouts else None)
        for r in releases
    ]


def fetches(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "ouhub.sync.git" and r.levelno == logging.DEBUG
            and "'fetch'" in r.getMessage()]


def test_first_sync_is_one_fetch_for_every_branch_of_the_remote(pair, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="ouhub.sync.git")
    repo = tmp_path / "mirror.git"
    results = sync_repository(repo, targets(pair.openupgrade))
    assert len(fetches(caplog)) == 1
    assert git.refs(repo, "refs/ouhub/") == {
        f"refs/ouhub/{r}/openupgrade": sha_of(pair.openupgrade, f"refs/heads/{r}")
        for r in RELEASES
    }
    for r in RELEASES:
        result = results[f"{r}/openupgrade"]
        tip = sha_of(pair.openupgrade, f"refs/heads/{r}")
        assert result.ok and result.created and result.sha == tip and result.old is None
        assert result.served_url == f"{pair.openupgrade},branch={r}"
        assert result.new_commits == int(git.output(["rev-list", "--count", tip], repo))
        assert result.revno == int(git.output(["rev-list", "--count", "--first-parent", tip],
                                              repo))
    fsck(repo)

    caplog.clear()
    again = sync_repository(repo, targets(pair.openupgrade))
    assert len(fetches(caplog)) == 1
    assert all(r.ok and not r.created and r.new_commits == 0 for r in again.values())
    assert [r.revno for r in again.values()] == [r.revno for r in results.values()]


def test_new_commits_are_counted_and_only_fetched(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    first = sync_repository(repo, targets(pair.openupgrade))
    tips = add_commits(pair.openupgrade, ["17.0", "19.0"], 4)
    second = sync_repository(repo, targets(pair.openupgrade))
    assert second["17.0/openupgrade"].new_commits == 4
    assert second["17.0/openupgrade"].sha == tips["17.0"]
    assert second["17.0/openupgrade"].revno == first["17.0/openupgrade"].revno + 4
    assert second["18.0/openupgrade"].new_commits == 0
    assert second["19.0/openupgrade"].old == first["19.0/openupgrade"].sha


def test_a_rewritten_branch_keeps_its_old_tip_until_force(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    sync_repository(repo, targets(pair.openupgrade))
    old = sha_of(repo, "refs/ouhub/18.0/openupgrade")
    add_commits(pair.openupgrade, ["17.0"], 1)
    rewritten = commit(pair.openupgrade, "18.0", {"README.md": "rewritten"},
                       parent=sha_of(pair.openupgrade, "refs/heads/18.0~2"))
    results = sync_repository(repo, targets(pair.openupgrade))
    bad = results["18.0/openupgrade"]
    assert not bad.ok and bad.sha == old
    assert "diverged from the mirror" in bad.error and old[:12] in bad.error
    assert "--force" in bad.hint
    assert sha_of(repo, "refs/ouhub/18.0/openupgrade") == old
    assert results["17.0/openupgrade"].ok and results["17.0/openupgrade"].new_commits == 1

    forced = sync_repository(repo, targets(pair.openupgrade), force=True)
    assert forced["18.0/openupgrade"].ok and forced["18.0/openupgrade"].sha == rewritten
    assert sha_of(repo, "refs/ouhub/18.0/openupgrade") == rewritten


def test_a_branch_missing_at_the_remote_fails_alone(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    bad = FetchTarget("16.0/openupgrade", "refs/ouhub/16.0/openupgrade",
                      (f"{pair.openupgrade},branch=16.O",))
    results = sync_repository(repo, [*targets(pair.openupgrade), bad])
    assert all(results[f"{r}/openupgrade"].ok for r in RELEASES)
    failed = results["16.0/openupgrade"]
    assert not failed.ok
    assert failed.error == (f"cannot mirror {pair.openupgrade},branch=16.O: "
                            f"{pair.openupgrade},branch=16.O: no branch 16.O there (check the "
                            "branch name in the URL)")


def test_fallbacks_serve_when_the_url_fails_and_every_failure_is_listed(pair, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="ouhub.sync.git")
    repo = tmp_path / "mirror.git"
    down = tmp_path / "gone"
    served = targets(down, fallback={r: [f"{pair.openupgrade},branch={r}"] for r in RELEASES})
    results = sync_repository(repo, served)
    assert len(fetches(caplog)) == 2  # the URL once, the fallback once, for all three
    for r in RELEASES:
        result = results[f"{r}/openupgrade"]
        assert result.ok and result.served_url == f"{pair.openupgrade},branch={r}"
        assert result.tried == (f"{down},branch={r}: cannot fetch: '{down}' does not appear "
                                "to be a git repository",)
    none = sync_repository(tmp_path / "other.git",
                           targets(down, fallback={"17.0": [f"{tmp_path / 'also'},branch=17.0"]},
                                   releases=["17.0"]))
    failed = none["17.0/openupgrade"]
    assert not failed.ok and len(failed.tried) == 2
    assert failed.error.startswith(f"cannot mirror {down},branch=17.0: {down},branch=17.0: ")
    assert "every URL failed, fallbacks included" in failed.hint


def test_the_repository_lock_refuses_another_process_or_waits(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    lock = tmp_path / ".mirror.git.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        results = sync_repository(repo, targets(pair.openupgrade))
        assert all(r.locked and not r.ok for r in results.values())
        assert "being updated by another ouhub" in results["17.0/openupgrade"].error
        assert "--wait" in results["17.0/openupgrade"].hint
        threading.Timer(0.3, os.close, [fd]).start()
        waited = sync_repository(repo, targets(pair.openupgrade), wait=True)
        assert all(r.ok for r in waited.values())
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def test_leftovers_of_a_killed_git_are_removed(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    sync_repository(repo, targets(pair.openupgrade))
    stale = [repo / "refs" / "ouhub" / "17.0" / "openupgrade.lock", repo / "packed-refs.lock",
             repo / "objects" / "pack" / "tmp_pack_Xa1b2c", repo / "shallow.lock"]
    for path in stale:
        path.write_bytes(b"partial")
    (repo / "objects" / "incoming-Ab12").mkdir()
    new = add_commits(pair.openupgrade, ["17.0"], 2)
    results = sync_repository(repo, targets(pair.openupgrade))
    assert results["17.0/openupgrade"].ok and results["17.0/openupgrade"].sha == new["17.0"]
    assert not any(p.exists() for p in stale) and not (repo / "objects" / "incoming-Ab12").exists()
    fsck(repo)


def test_remove_leftovers_keeps_what_git_needs(tmp_path):
    repo = tmp_path / "r.git"
    git_repo(repo, {"main": [{"a": "1"}]})
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    remove_leftovers(repo)
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


def test_a_damaged_repository_is_reported_and_force_rebuilds_it(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    sync_repository(repo, targets(pair.openupgrade))
    shutil.rmtree(repo / "objects")
    results = sync_repository(repo, targets(pair.openupgrade))
    assert not any(r.ok for r in results.values())
    assert results["17.0/openupgrade"].error == \
        f"mirror {repo} is damaged: not a readable git repository"
    rebuilt = sync_repository(repo, targets(pair.openupgrade), force=True)
    assert all(r.ok and r.created for r in rebuilt.values())
    fsck(repo)


def test_checkouts_follow_the_synced_commits(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    checkouts = tmp_path / "checkouts"
    sync_repository(repo, targets(pair.openupgrade, checkouts=checkouts))
    wt = checkouts / "17.0" / "openupgrade"
    assert (wt / "README.md").read_text() == "OpenUpgrade 17.0\n"
    new = add_commits(pair.openupgrade, ["17.0"], 1, folder="extra")
    sync_repository(repo, targets(pair.openupgrade, checkouts=checkouts))
    assert git.run(["rev-parse", "HEAD"], cwd=wt).stdout.decode().strip() == new["17.0"]
    assert list((wt / "extra" / "17.0").iterdir())
    # the worktrees do not copy the repository: each is only its files and a .git file
    assert (wt / ".git").is_file()


def test_revnos_count_on_from_the_stored_one_only_along_the_mainline(pair, tmp_path):
    repo = tmp_path / "mirror.git"
    first = sync_repository(repo, targets(pair.openupgrade, releases=["17.0"]))["17.0/openupgrade"]
    tip = first.sha
    # a stored revno is trusted for its own commit: nothing is walked
    known = [FetchTarget(t.key, t.ref, t.urls, known=(tip, 1000))
             for t in targets(pair.openupgrade, releases=["17.0"])]
    assert sync_repository(repo, known)["17.0/openupgrade"].revno == 1000
    new = add_commits(pair.openupgrade, ["17.0"], 3)["17.0"]
    assert sync_repository(repo, known)["17.0/openupgrade"].revno == 1003
    # a stored commit off the new mainline (merged in as a second parent) is not counted on
    side = commit(pair.openupgrade, "17.0", {"side.py": "1"}, parent=tip)
    merge = commit(pair.openupgrade, "17.0", {"merged.py": "1"}, parent=new)
    git.run(["update-ref", "refs/heads/17.0", git.run(
        ["commit-tree", f"{merge}^{{tree}}", "-p", merge, "-p", side, "-m", "merge"],
        git_dir=pair.openupgrade).stdout.decode().strip()], git_dir=pair.openupgrade)
    off = [FetchTarget(t.key, t.ref, t.urls, known=(side, 5))
           for t in targets(pair.openupgrade, releases=["17.0"])]
    result = sync_repository(repo, off)["17.0/openupgrade"]
    assert result.revno == first.revno + 5  # 3 added, the merge's first parent, the merge


def test_a_full_disk_keeps_every_old_tip(pair, tiny_fs):
    repo = tiny_fs / "mirror.git"
    small = targets(pair.openupgrade, releases=["17.0"])
    first = sync_repository(repo, small)["17.0/openupgrade"]
    assert first.ok
    commit(pair.openupgrade, "17.0", {"big.bin": os.urandom(3 * 1024 * 1024)})
    result = sync_repository(repo, small)["17.0/openupgrade"]
    assert not result.ok and result.error.startswith("disk full while fetching")
    assert "free space" in result.hint
    assert git.refs(repo, "refs/ouhub/") == {"refs/ouhub/17.0/openupgrade": first.sha}


def test_a_mirror_of_the_previous_layout_that_cannot_be_read_is_moved_aside(pair, tmp_path):
    old = tmp_path / "mirrors" / "17.0" / "openupgrade"
    (old / ".git").mkdir(parents=True)  # a breezy-made repository, damaged
    (old / "notes.txt").write_text("kept")
    [target] = targets(pair.openupgrade, releases=["17.0"])
    result = sync_repository(tmp_path / "mirror.git", [replace(target, previous=old)])[
        "17.0/openupgrade"]
    aside = old.with_name("openupgrade.previous-layout")
    assert result.ok and result.created  # fetched again from the URL
    assert result.note.startswith(f"17.0/openupgrade: the mirror of the previous layout {old} "
                                  "could not be read (")
    assert result.note.endswith(f"): moved to {aside}, fetched again from the URL")
    assert (aside / "notes.txt").read_text() == "kept" and not old.exists()
