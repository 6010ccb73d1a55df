"""SIGKILL a real git sync: every branch keeps its old tip or gets its new one, the next
sync completes and leaves nothing behind. The repository is large enough (incompressible
blobs) that kills land inside the fetch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from examples.demo.gitrepo import FastImport
from ouhub import config as config_mod
from ouhub.sync import git, gitmirror
from tests.support.gitrepos import fsck

ROOT = Path(__file__).resolve().parents[2]
BRANCHES = ("17.0", "18.0", "19.0")


def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A config of three releases of one git repository, each run by the runner (so each
    has a checkout); the source, the config and the mirror's repository."""
    source = tmp_path / "source.git"
    lines = ['data_dir = "data"']
    for branch in BRANCHES:
        lines += [f'[releases."{branch}"]', f'[releases."{branch}".branches.openupgrade]',
                  f'url = "{source},branch={branch}"']
    lines += ["[runner.commands]"] + [f'"{b}" = "true {{mirror_openupgrade}}"' for b in BRANCHES]
    config = tmp_path / "ouhub.toml"
    config.write_text("\n".join(lines) + "\n")
    repo = gitmirror.git_dir_for(config_mod.load(config), str(source))
    return source, config, repo


def grow(source: Path, rng: random.Random, commits: int = 6) -> dict[str, str]:
    """``commits`` new commits of incompressible files on every branch; the new tips."""
    marks = {}
    with FastImport(source) as fi:
        for branch in BRANCHES:
            parent = [f"refs/heads/{branch}^0"] if git.resolve(source, f"refs/heads/{branch}") \
                else []
            for i in range(commits):
                name = f"data/{branch}/{rng.randrange(10**9)}.bin"
                marks[branch] = fi.commit(f"refs/heads/{branch}", {name: rng.randbytes(200_000)},
                                          f"add {name}", parents=parent if i == 0 else [])
    return {b: fi.marks[m] for b, m in marks.items()}


def start_sync(config: Path) -> subprocess.Popen:
    # its own session, so that the kill takes git's processes with it, as a host going down does
    return subprocess.Popen(
        [sys.executable, "-m", "ouhub", "--config", str(config), "-q", "sync", "-j", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def pack_being_written(repo: Path) -> bool:
    objects = repo / "objects"
    return any(objects.glob("pack/tmp_pack_*")) or any(objects.glob("incoming-*"))


def assert_each_ref_old_or_new(repo: Path, old: dict[str, str], new: dict[str, str]) -> dict:
    tips = git.refs(repo, "refs/ouhub/") if (repo / "HEAD").exists() else {}
    for branch in BRANCHES:
        ref = f"refs/ouhub/{branch}/openupgrade"
        assert tips.get(ref) in {old.get(branch), new[branch]}, f"{ref} is half-way"
    if tips:
        fsck(repo)  # every object the refs reach is there and sound
    return {b: tips.get(f"refs/ouhub/{b}/openupgrade") for b in BRANCHES}


def assert_completes(config: Path, repo: Path, final: dict[str, str]) -> None:
    proc = start_sync(config)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert git.refs(repo, "refs/ouhub/") == {
        f"refs/ouhub/{b}/openupgrade": final[b] for b in BRANCHES}
    fsck(repo)
    leftovers = [p for p in repo.rglob("*") if p.name.endswith(".lock")
                 or p.name.startswith(("tmp_", "incoming-"))]
    assert leftovers == []
    for branch in BRANCHES:  # the checkouts followed
        where = config.parent / "data" / "mirrors" / branch / "openupgrade"
        head = git.run(["rev-parse", "HEAD"], cwd=where).stdout
        assert head.decode().strip() == final[branch]


def fetched(repo: Path, new: dict[str, str]) -> bool:
    """The fetch is done (its refs name the new tips): the sync is moving refs now."""
    try:
        tips = git.refs(repo, "refs/ouhub-fetched/")
    except git.GitError:
        return False
    return set(tips.values()) >= set(new.values())


@pytest.mark.slow
def test_sigkill_during_sync_leaves_old_or_new_tips_and_next_sync_completes(tmp_path):
    rng = random.Random(42)
    source, config, repo = project(tmp_path)
    old: dict[str, str] = {}
    moments = [("at once", 0.0), ("mid-pack", pack_being_written), ("after the fetch", fetched),
               ("a while in", 0.8)]
    interrupted = []
    for moment, when in moments:
        new = grow(source, rng)
        proc = start_sync(config)
        deadline = time.monotonic() + 60
        if callable(when):
            while proc.poll() is None and time.monotonic() < deadline and not (
                    when(repo) if when is pack_being_written else when(repo, new)):
                time.sleep(0.001)
        else:
            time.sleep(when)
        running = proc.poll() is None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            running = False  # the sync ended by itself (reaped by poll): nothing to kill
        proc.communicate(timeout=60)
        tips = assert_each_ref_old_or_new(repo, old, new)
        if running and any(tips[b] != new[b] for b in BRANCHES):
            interrupted.append(moment)
        old = tips
    assert {"mid-pack", "after the fetch"} & set(interrupted), \
        f"no kill landed inside a sync (only {interrupted}); the test proved nothing"
    assert_completes(config, repo, new)


def git_children(pid: int) -> list[int]:
    """The git processes started by ``pid`` (and theirs), from /proc."""
    found, frontier = [], {pid}
    while frontier:
        parents, frontier = frontier, set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid in parents:
                frontier.add(int(entry.name))
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_fetch_killed_mid_pack_is_a_clear_failure_and_the_next_sync_completes(tmp_path):
    rng = random.Random(7)
    source, config, repo = project(tmp_path)
    first = grow(source, rng)
    assert_completes(config, repo, first)
    killed = 0
    for _ in range(2):
        new = grow(source, rng, commits=12)
        proc = start_sync(config)
        deadline = time.monotonic() + 60
        while proc.poll() is None and not pack_being_written(repo) \
                and time.monotonic() < deadline:
            time.sleep(0.001)
        children = git_children(proc.pid)
        for child in children:  # git alone dies, ouhub lives on
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, err = proc.communicate(timeout=60)
        tips = assert_each_ref_old_or_new(repo, first, new)
        if children and tips == first:
            killed += 1
            assert proc.returncode == 1
            assert "cannot fetch" in err.decode()  # the failure is said, per branch
        assert_completes(config, repo, new)
        first = new
    assert killed >= 1, "no fetch was killed mid-pack; the test proved nothing"
