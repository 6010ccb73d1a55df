"""The one wrapper through which the runner starts every subprocess.

It logs the argv (passwords redacted) and the cwd, runs the program in its own
process group (``start_new_session``) so a timeout kills the program *and*
everything it started, and streams the output to a file when asked.

A process group outlives an ouhub that is killed (a worker lost mid-run): the
caller may mark the program's environment (``MARKER_ENV``) and hear its group id
(``on_start``), so that the next ouhub on the host finds and kills what is left,
and only that (a reused pid never carries the marker).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ouhub.errors import RunnerError
from ouhub.fsutil import pid_alive
from ouhub.redact import redact_argv

log = logging.getLogger(__name__)

KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL of a timed-out group
MARKER_ENV = "OUHUB_RUN_MARKER"  # in the environment of an upgrade and all it starts


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None: killed on timeout
    timed_out: bool
    duration: float
    pid: int
    output: str  # captured stdout+stderr when not streamed to a file (tail only)


def run_command(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    log_file: str | Path | None = None,
    timeout: float | None = None,
    secrets: Sequence[str] = (),
    what: str = "",
    on_start: Callable[[int], None] | None = None,
) -> CommandResult:
    """Run ``argv`` in its own process group; on timeout kill the whole group.

    ``env`` is added to os.environ. Output goes to ``stdout`` if given, else
    appended to ``log_file``, else is captured (its tail is in the result).
    ``on_start`` hears the process group id as soon as the program started.
    """
    argv = [str(a) for a in argv]
    shown = redact_argv(argv, secrets)
    log.info("run%s: %s (cwd %s)", f" {what}" if what else "", shown, cwd or os.getcwd())
    full_env = dict(os.environ)
    full_env.update(env or {})
    sink: IO[bytes] | int
    handle = None
    if stdout is not None:
        sink = stdout
    elif log_file is not None:
        handle = open(log_file, "ab")  # noqa: SIM115 - closed below
        sink = handle
    else:
        sink = subprocess.PIPE
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=full_env, stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=sink, stderr=subprocess.STDOUT if stdout is None else subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        if handle:
            handle.close()
        raise RunnerError(
            f"cannot start {argv[0]}: {exc}",
            hint=f"check that the program exists and is executable (command: {shown})",
        ) from exc
    timed_out = False
    captured = b""
    try:
        if on_start is not None:
            on_start(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
            captured = (out or b"") + (err or b"")
        except subprocess.TimeoutExpired:
            timed_out = True
            log.warning("%s timed out after %ss: killing its process group", argv[0], timeout)
            kill_group(proc.pid, proc=proc)
            out, err = proc.communicate()
            captured = (out or b"") + (err or b"")
    finally:
        # Whatever the program left running in its group goes with it.
        kill_group(proc.pid, grace=0.5, proc=proc)
        if handle:
            handle.close()
    duration = time.monotonic() - started
    text = captured.decode("utf-8", "replace")[-20000:]
    return CommandResult(
        argv=tuple(argv), returncode=None if timed_out else proc.returncode, timed_out=timed_out,
        duration=duration, pid=proc.pid, output=text,
    )


def kill_group(pgid: int, grace: float = KILL_GRACE, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group, then SIGKILL what is still there after ``grace`` seconds.

    ``proc`` (the group leader, our child) is polled so that it does not linger as
    a zombie; other members were never our children and are reaped by init.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()
            if not pid_alive(pgid, group=True):
                return
            time.sleep(0.05)


def marked_processes(marker: str) -> list[int]:
    """This host's processes whose environment carries ``MARKER_ENV=marker`` (from /proc)."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked(marker: str, pgid: int) -> list[int]:
    """Kill what is left of an upgrade whose ouhub died: its group and every marked process.

    Only when a process still carries the marker is its group killed: a group id
    reused by another program since is left alone. Returns the pids that carried it.
    """
    pids = marked_processes(marker)
    in_group = False
    for pid in pids:
        try:
            in_group = in_group or os.getpgid(pid) == pgid
        except ProcessLookupError:
            continue
    if in_group:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids:  # a marked process that left the group (setsid) goes too
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pids
