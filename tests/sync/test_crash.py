"""SIGKILL a real `ouhub sync` mid-pull: the mirror opens at its old or new head, the next sync completes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from breezy.branch import Branch
from breezy.workingtree import WorkingTree

from examples.demo.vcs import commit_files
from tests.support.config import write_config

ROOT = Path(__file__).resolve().parents[2]


def add_revisions(src: Path, count: int, rng: random.Random) -> bytes:
    """Revisions with incompressible content, so a pull takes long enough to be interrupted."""
    revid = b""
    for _ in range(count):
        name = f"data/{rng.randrange(10**9)}.bin"
        revid = commit_files(src, {name: rng.randbytes(40_000)}, f"add {name}")
    return revid


def start_sync(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ouhub", "--config", str(config), "-q", "sync", "-j", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def kill_mid_update(proc: subprocess.Popen, parent: Path, delay: float) -> bool:
    """SIGKILL once the update's temporary copy exists (+delay); True if it was still running."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if (parent / f".server.sync-{proc.pid}").exists():
            break
        time.sleep(0.002)
    time.sleep(delay)
    running = proc.poll() is None
    if running:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return running


def assert_openable_at(dest: Path, allowed: set[bytes]) -> bytes:
    if not dest.exists():
        assert b"null:" in allowed, "the mirror vanished although it existed before the kill"
        return b"null:"
    branch = Branch.open(str(dest))
    head = branch.last_revision()
    assert head in allowed
    assert branch.repository.has_revision(head)
    tree = WorkingTree.open(str(dest))
    assert tree.last_revision() == head  # the tree matches the branch: not half-updated
    assert not tree.has_changes()
    return head


@pytest.mark.slow
def test_sigkill_during_sync_leaves_old_or_new_head_and_next_sync_completes(
    bzr_branch, bzr_server, tmp_path
):
    rng = random.Random(42)
    src, revids = bzr_branch("server", [{"README": "x"}])
    config = write_config(tmp_path, {"7.0": {"server": bzr_server.url_of("server")}})
    dest = tmp_path / "data" / "mirrors" / "7.0" / "server"
    old = b"null:"
    interrupted = 0
    for delay in (0.0, 0.02, 0.1, 0.0, 0.5, 1.5):
        new = add_revisions(src, 4, rng)
        running = kill_mid_update(start_sync(config), dest.parent, delay)
        head = assert_openable_at(dest, {old, new})
        interrupted += running and head == old
        old = head
    assert interrupted >= 2, "no kill landed during an update; the test proved nothing"

    proc = start_sync(config)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    final = Branch.open(str(src)).last_revision()
    assert assert_openable_at(dest, {final}) == final
    assert sorted(p.name for p in dest.parent.iterdir()) == [".server.lock", "server"]
