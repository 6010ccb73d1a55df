"""The one wrapper through which the runner starts every subprocess.

It logs the argv (passwords redacted) and the cwd, runs the program in its own
process group (``start_new_session``) so a timeout kills the program *and*
everything it started, and streams the output to a file when asked.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ouhub.errors import RunnerError
from ouhub.fsutil import pid_alive
from ouhub.redact import redact_argv

log = logging.getLogger(__name__)

KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL of a timed-out group


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
) -> CommandResult:
    """Run ``argv`` in its own process group; on timeout kill the whole group.

    ``env`` is added to os.environ. Output goes to ``stdout`` if given, else
    appended to ``log_file``, else is captured (its tail is in the result).
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
