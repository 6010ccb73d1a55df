"""update_mirror on real bzr branches: first branch, incremental pulls, faults, the shared
repository. (Git mirrors: test_gitmirror.py.)"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from breezy import transport as bzr_transport
from breezy.branch import Branch
from breezy.transport.decorator import TransportDecorator
from breezy.workingtree import WorkingTree

from examples.demo.vcs import commit_files, make_branch
from ouhub.errors import SyncError
from ouhub.sync import mirror
from ouhub.sync.mirror import MirrorLocked, update_mirror


def head(path: Path) -> tuple[int, str]:
    revno, revid = Branch.open(str(path)).last_revision_info()
    return revno, revid.decode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_first_sync_branches_then_pulls_revision_by_revision(bzr_branch, bzr_server, tmp_path):
    vcs = "bzr"
    src, revids = bzr_branch("server", [{"a.py": "1"}, {"b.py": "2"}])
    url = bzr_server.url_of("server")
    dest = tmp_path / "mirrors" / "7.0" / "server"

    first = update_mirror([url], dest)
    assert (first.vcs, first.revno, first.new_revisions, first.created) == (vcs, 2, 2, True)
    assert first.revid == Branch.open(str(src)).last_revision().decode()
    assert first.served_url == url
    assert (dest / "b.py").read_text() == "2"  # a working tree others can read

    assert update_mirror([url], dest).new_revisions == 0

    for i in range(3):
        new_revid = commit_files(src, {f"c{i}.py": str(i)}, f"change {i}")
        step = update_mirror([url], dest)
        assert (step.revno, step.new_revisions, step.created) == (3 + i, 1, False)
        assert head(dest) == (3 + i, step.revid)
        assert Branch.open(str(src)).last_revision() == new_revid
        assert (dest / f"c{i}.py").read_text() == str(i)
    assert update_mirror([url], dest).new_revisions == 0
    assert sorted(p.name for p in dest.parent.iterdir()) == [".server.lock", "server"]


def test_merged_revisions_count_as_new(bzr_branch, tmp_path):
    src, _ = bzr_branch("server", [{"a.py": "1"}])
    dest = tmp_path / "m"
    update_mirror([str(src)], dest)
    feature = tmp_path / "feature"
    Branch.open(str(src)).controldir.sprout(str(feature))
    commit_files(feature, {"f1.py": "x"}, "feature 1")
    commit_files(feature, {"f2.py": "y"}, "feature 2")
    tree = WorkingTree.open(str(src))
    tree.merge_from_branch(Branch.open(str(feature)))
    tree.commit("merge feature", committer="M <m@example.org>")

    result = update_mirror([str(src)], dest)
    assert (result.revno, result.new_revisions) == (2, 3)


def test_unreachable_host_names_it_and_suggests_a_fallback(tmp_path):
    url = f"bzr://127.0.0.1:{closed_port()}/server"
    with pytest.raises(SyncError) as caught:
        update_mirror([url], tmp_path / "m")
    assert "127.0.0.1" in caught.value.message and "cannot reach" in caught.value.message
    assert "fallback" in caught.value.hint
    assert not (tmp_path / "m").exists()


def test_fallback_serves_when_the_url_fails(bzr_branch, bzr_server, tmp_path):
    bzr_branch("server", [{"a.py": "1"}])
    dead = f"bzr://127.0.0.1:{closed_port()}/server"
    result = update_mirror([dead, bzr_server.url_of("server")], tmp_path / "m")
    assert result.served_url == bzr_server.url_of("server")
    assert result.tried and result.tried[0].startswith(dead)


def test_all_urls_failing_lists_each_and_the_fallbacks(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    dead = f"bzr://127.0.0.1:{closed_port()}/x"
    with pytest.raises(SyncError) as caught:
        update_mirror([str(plain), dead], tmp_path / "m")
    assert f"{plain}: not a branch" in caught.value.message
    assert dead in caught.value.message
    assert "fallbacks included" in caught.value.hint and dead in caught.value.hint


def test_url_that_is_not_a_branch(bzr_server, tmp_path):
    (bzr_server.directory / "nothing").mkdir()
    with pytest.raises(SyncError, match="not a branch"):
        update_mirror([bzr_server.url_of("nothing")], tmp_path / "m")


def test_wrong_vcs_is_refused(bzr_branch, tmp_path):
    src, _ = bzr_branch("server", [{"a.py": "1"}], vcs="git")
    with pytest.raises(SyncError, match="is a git branch, expected bzr"):
        update_mirror([str(src)], tmp_path / "m", vcs="bzr")


def test_diverged_history_keeps_the_old_mirror_until_force(bzr_branch, tmp_path):
    vcs = "bzr"
    src, revids = bzr_branch("server", [{"a.py": "1"}, {"a.py": "2"}])
    dest = tmp_path / "m"
    update_mirror([str(src)], dest)
    old = head(dest)
    shutil.rmtree(src)  # upstream overwrote the branch with another history
    make_branch(src, [{"a.py": "other"}], vcs=vcs, start=1400000000.0)

    with pytest.raises(SyncError, match="diverged") as caught:
        update_mirror([str(src)], dest)
    assert "--force" in caught.value.hint
    assert head(dest) == old and (dest / "a.py").read_text() == "2"

    forced = update_mirror([str(src)], dest, force=True)
    assert forced.revid == Branch.open(str(src)).last_revision().decode()
    assert head(dest) == (1, forced.revid) and (dest / "a.py").read_text() == "other"


@pytest.mark.parametrize("damage", ["pack-names", "branch-format", "last-revision"])
def test_damaged_mirror_is_detected_and_force_rebuilds_it(damage, bzr_branch, tmp_path):
    src, revids = bzr_branch("server", [{"a.py": "1"}, {"a.py": "2"}])
    dest = tmp_path / "m"
    update_mirror([str(src)], dest)
    if damage == "pack-names":
        (dest / ".bzr" / "repository" / "pack-names").write_bytes(b"garbage\n")
    elif damage == "branch-format":
        (dest / ".bzr" / "branch-format").unlink()
    else:
        (dest / ".bzr" / "branch" / "last-revision").write_bytes(b"2 no-such-revision\n")

    with pytest.raises(SyncError, match="is damaged") as caught:
        update_mirror([str(src)], dest)
    assert "--force" in caught.value.hint

    rebuilt = update_mirror([str(src)], dest, force=True)
    assert rebuilt.created and head(dest) == (2, Branch.open(str(src)).last_revision().decode())


def test_a_second_sync_of_the_same_mirror_fails_clearly_or_waits(bzr_branch, tmp_path):
    src, revids = bzr_branch("server", [{"a.py": "1"}])
    dest = tmp_path / "m"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest.parent / ".m.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # stands for another sync holding the mirror
    try:
        with pytest.raises(MirrorLocked) as caught:
            update_mirror([str(src)], dest)
        assert "another ouhub sync" in caught.value.message and "--wait" in caught.value.hint
        assert not dest.exists()

        done: list = []
        waiter = threading.Thread(target=lambda: done.append(update_mirror([str(src)], dest, wait=True)))
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and not done  # still queued behind the lock
    finally:
        os.close(fd)
    waiter.join(30)
    assert done and done[0].revno == 1


def test_an_update_never_writes_the_live_mirror(bzr_branch, tmp_path):
    """The copy shares pack and tree files by hard link; pulling into it must leave them intact."""
    src, revids = bzr_branch("server", [{"a.py": "old"}])
    dest = tmp_path / "m"
    update_mirror([str(src)], dest)
    commit_files(src, {"a.py": "new", "b.py": "b"}, "change")
    copy = tmp_path / "copy"
    mirror._link_copy(dest, copy)
    WorkingTree.open(str(copy)).pull(Branch.open(str(src)))
    assert (copy / "a.py").read_text() == "new"
    assert (dest / "a.py").read_text() == "old" and not (dest / "b.py").exists()
    assert head(dest) == (1, revids[0].decode())
    assert WorkingTree.open(str(dest)).changes_from(
        WorkingTree.open(str(dest)).basis_tree()).has_changed() is False


class _FullDiskTransport(TransportDecorator):
    """Every write fails with ENOSPC: a disk-full fault without a small file system."""

    @classmethod
    def _get_url_prefix(cls) -> str:
        return "enospc+"

    def _full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    put_file = put_bytes = put_file_non_atomic = put_bytes_non_atomic = _full
    append_file = append_bytes = open_write_stream = mkdir = _full


def test_disk_full_through_a_failing_transport(bzr_branch, tmp_path, monkeypatch):
    """Simulated: the mirror's writes go through a transport that raises ENOSPC."""
    bzr_transport.register_transport("enospc+", _FullDiskTransport)
    try:
        src, _ = bzr_branch("server", [{"a.py": "1"}])
        monkeypatch.setattr(mirror, "_write_url", lambda p: "enospc+" + p.as_uri())
        with pytest.raises(SyncError, match="disk full") as caught:
            update_mirror([str(src)], tmp_path / "m")
        assert "free space" in caught.value.hint
        assert sorted(p.name for p in tmp_path.iterdir()) == [".m.lock", "branches"]
    finally:
        bzr_transport.unregister_transport("enospc+", _FullDiskTransport)


def test_disk_full_on_a_real_tiny_file_system(bzr_branch, tiny_fs):
    src, revids = bzr_branch("server", [{"a.py": "1"}])
    dest = tiny_fs / "mirrors" / "server"
    update_mirror([str(src)], dest)
    commit_files(src, {"big.bin": os.urandom(3 * 1024 * 1024)}, "too big for the disk")

    with pytest.raises(SyncError, match="disk full"):
        update_mirror([str(src)], dest)
    assert head(dest) == (1, revids[0].decode())
    assert sorted(p.name for p in dest.parent.iterdir()) == [".server.lock", "server"]


def test_lp_name_that_does_not_exist_fails_then_the_fallback_serves(
    bzr_branch, lp_server, lp_cache, tmp_path, monkeypatch
):
    from ouhub.sync import launchpad

    src, _ = bzr_branch("server", [{"a.py": "1"}])
    monkeypatch.setenv(launchpad.ENV_SERVICE_ROOT, lp_server.service_root)
    with pytest.raises(SyncError) as caught:
        update_mirror(["lp:openupgrade-server/no-such"], tmp_path / "m", lp_cache_dir=lp_cache)
    assert "lp:openupgrade-server/no-such" in caught.value.message
    assert "fallback" in caught.value.hint

    result = update_mirror(
        ["lp:openupgrade-server/no-such", str(src)], tmp_path / "m", lp_cache_dir=lp_cache
    )
    assert result.served_url == str(src)
    assert result.tried[0].startswith("lp:openupgrade-server/no-such: ")


def test_lp_name_resolves_to_its_bazaar_url_and_mirrors(
    bzr_branch, bzr_server, lp_server, lp_cache, tmp_path, monkeypatch
):
    """lp:project/series -> the series branch's public bzr URL (here a bzr:// server)."""
    from ouhub.sync import launchpad

    src, revids = bzr_branch("~openupgrade-committers/openupgrade-server/7.0", [{"a.py": "1"}])
    monkeypatch.setenv(launchpad.ENV_SERVICE_ROOT, lp_server.service_root)
    monkeypatch.setattr(launchpad, "BAZAAR_ROOT", bzr_server.url + "/")
    result = update_mirror(["lp:openupgrade-server/7.0"], tmp_path / "m", lp_cache_dir=lp_cache)
    assert result.served_url == bzr_server.url_of("~openupgrade-committers/openupgrade-server/7.0")
    assert head(tmp_path / "m") == (1, revids[0].decode())


def test_bzr_mirrors_share_one_repository(bzr_branch, tmp_path):
    """Two branches sharing history (a release's server and addons, two releases) keep
    their revisions once, in the shared repository above them."""
    history = [{f"f{i}.py": os.urandom(20_000).hex()} for i in range(6)]
    server, _ = bzr_branch("server", history)
    addons = tmp_path / "branches" / "addons"
    Branch.open(str(server)).controldir.sprout(str(addons))
    commit_files(addons, {"addons.py": "x"}, "addons only")
    shared = tmp_path / "mirrors"
    one = update_mirror([str(server)], shared / "7.0" / "server", shared=shared)
    two = update_mirror([str(addons)], shared / "7.0" / "addons", shared=shared)
    assert (one.new_revisions, two.new_revisions, two.revno) == (6, 7, 7)
    for name in ("server", "addons"):
        dest = shared / "7.0" / name
        assert not (dest / ".bzr" / "repository").exists()
        repository = Branch.open(str(dest)).repository
        assert Path(repository.controldir.root_transport.local_abspath(".")) == shared
        assert WorkingTree.open(str(dest)).last_revision() == Branch.open(str(dest)).last_revision()
    packs = shared / ".bzr" / "repository" / "packs"
    stored = sum(p.stat().st_size for p in packs.iterdir())
    assert stored < 1.3 * sum(len(next(iter(files.values()))) for files in history) / 2


def test_a_standalone_mirror_is_adopted_into_the_shared_repository(bzr_branch, tmp_path):
    src, revids = bzr_branch("server", [{"a.py": "1"}, {"b.py": "2"}])
    shared = tmp_path / "mirrors"
    dest = shared / "7.0" / "server"
    update_mirror([str(src)], dest)  # the previous layout: a branch with its own repository
    assert (dest / ".bzr" / "repository").is_dir()
    adopted = update_mirror([str(src)], dest, shared=shared)
    assert adopted.adopted and adopted.new_revisions == 0 and adopted.revno == 2
    assert not (dest / ".bzr" / "repository").exists()
    assert (dest / "b.py").read_text() == "2"
    commit_files(src, {"c.py": "3"}, "three")
    later = update_mirror([str(src)], dest, shared=shared)
    assert not later.adopted and (later.new_revisions, later.revno) == (1, 3)
    assert sorted(p.name for p in dest.parent.iterdir()) == [".server.lock", "server"]


def test_threads_of_one_sync_write_a_shared_repository_one_at_a_time(tmp_path):
    """`ouhub sync -j4` over bzr branches of one shared repository: breezy keeps the files it
    writes in one table per process, so two threads writing the same pack (the same new
    revisions, or the same autopack) crashed the sync with a KeyError. Within a process, one
    writer per shared repository at a time; writers of other repositories go on."""
    shared, other = tmp_path / "mirrors", tmp_path / "elsewhere"
    holding, release = threading.Event(), threading.Event()
    entered = {name: threading.Event() for name in ("same", "other")}

    def first_writer():
        with mirror._writing(shared):
            holding.set()
            release.wait(30)

    def writer(name: str, repository: Path):
        with mirror._writing(repository):
            entered[name].set()

    threads = [threading.Thread(target=first_writer)]
    threads[0].start()
    assert holding.wait(30)
    threads += [threading.Thread(target=writer, args=("same", shared)),
                threading.Thread(target=writer, args=("other", other))]
    for thread in threads[1:]:
        thread.start()
    assert entered["other"].wait(30)  # another repository: not held up
    assert not entered["same"].wait(0.5)  # the same repository: waits for the first writer
    release.set()
    assert entered["same"].wait(30)
    for thread in threads:
        thread.join(30)
    assert (shared / ".bzr" / "repository" / "format").is_file()  # made once, by the first
