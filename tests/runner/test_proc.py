"""What an upgrade leaves when its ouhub dies, found by its marker and killed; nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from ouhub.runner.pg import hostname
from ouhub.runner.proc import MARKER_ENV, kill_marked, marked_processes, run_command
from ouhub.runner.run import clean_leftovers
from tests.runner.conftest import build_config

# a parent that starts a child and both sleep: what a hung upgrade server looks like
FAMILY = ("import subprocess, sys, time\n"
          "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
          "time.sleep(60)\n")


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_orphaned_group_is_killed_by_its_marker_and_a_stranger_is_not():
    marker = uuid.uuid4().hex
    orphan = subprocess.Popen([sys.executable, "-c", FAMILY], start_new_session=True,
                              env={**os.environ, MARKER_ENV: marker})
    stranger = subprocess.Popen([sys.executable, "-c", FAMILY], start_new_session=True,
                                env={**os.environ, MARKER_ENV: uuid.uuid4().hex})
    try:
        wait_for(lambda: len(marked_processes(marker)) == 2)  # the server and its child

        killed = kill_marked(marker, orphan.pid)

        assert orphan.pid in killed and len(killed) == 2
        orphan.wait(timeout=10)
        wait_for(lambda: marked_processes(marker) == [])
        assert stranger.poll() is None  # another upgrade's group is left alone
        assert kill_marked(uuid.uuid4().hex, stranger.pid) == []  # a reused group id: untouched
        assert stranger.poll() is None
    finally:
        for proc in (orphan, stranger):
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def test_run_command_tells_the_group_id_at_start():
    heard = []
    result = run_command([sys.executable, "-c", "import os; print(os.getpgid(0))"],
                         on_start=heard.append)
    assert heard == [result.pid] and result.output.strip() == str(result.pid)


def test_clean_leftovers_kills_the_upgrade_of_a_dead_ouhub_only(tmp_path, pg_server, runner_store):
    config = build_config(tmp_path, pg_server)
    store = runner_store(config)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs: the ouhub that started the upgrade
    orphans = {}
    for owner in (dead.pid, os.getpid()):  # the second one's ouhub (this test) is alive
        marker = uuid.uuid4().hex
        proc = subprocess.Popen([sys.executable, "-c", FAMILY], start_new_session=True,
                                env={**os.environ, MARKER_ENV: marker})
        store.record_upgrade_process(marker, host=hostname(), pgid=proc.pid, owner_pid=owner,
                                     database="ouhub_run_x")
        orphans[owner] = (marker, proc)
    try:
        wait_for(lambda: all(len(marked_processes(m)) == 2 for m, _ in orphans.values()))

        clean_leftovers(config, store)

        marker, proc = orphans[dead.pid]
        proc.wait(timeout=10)
        wait_for(lambda: marked_processes(marker) == [])
        alive_marker, alive = orphans[os.getpid()]
        assert alive.poll() is None  # a live ouhub's upgrade is its own business
        assert [p.marker for p in store.live_upgrade_processes(hostname())] == [alive_marker]
    finally:
        for _, proc in orphans.values():
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
