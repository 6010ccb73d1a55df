"""What an upgrade leaves when its ouhub dies, found by its marker and killed; nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from ouhub.runner.proc import MARKER_ENV, kill_marked, marked_processes, run_command

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
