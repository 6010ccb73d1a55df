"""A step's kept log: what the command printed and what the server logged, read as streams.

The upgrade command prints to ``output.log`` and the server logs to ``server.log``
(its ``--logfile``); both can be gigabytes. They are read a piece at a time (a line,
or 64 KB of a longer one), passwords hidden even across pieces, parsed as a stream,
and written into the one kept log, ``upgrade.log``, capped to ``[runner] log_limit``
characters (its head and its tail: what ran, and the last traceback); the raw files
are then removed.
A full disk is a RunnerError that names the file, so the run ends ``error``.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path

from ouhub.errors import RunnerError
from ouhub.redact import redact_text
from ouhub.runner.logcap import cap_log
from ouhub.runner.logparse import LogReport, parse_log_lines

PIECE_CHARS = 1 << 16  # one read: a line, or this much of a longer one
# the command's own output lines weighed against the server log (a crash's traceback is
# printed, not logged): its last lines only, so a server that also prints its log holds no
# copy of it in memory
OUTPUT_TAIL_LINES = 10_000


def read_pieces(path: Path) -> Iterator[str]:
    """The text of ``path`` a line at a time, a line longer than PIECE_CHARS in pieces."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        yield from iter(lambda: fh.readline(PIECE_CHARS), "")


def redacted(pieces: Iterable[str], secrets: Sequence[str]) -> Iterator[str]:
    """``pieces`` with the secrets hidden, also where a piece boundary cuts one."""
    secrets = [s for s in secrets if s]
    if not secrets:
        yield from pieces
        return
    hold = max(len(s) for s in secrets) - 1  # what of a secret can end a piece
    if not hold:
        yield from (redact_text(piece, secrets) for piece in pieces)
        return
    carry = ""
    for piece in pieces:
        text = redact_text(carry + piece, secrets)
        if text.endswith("\n"):
            carry = ""
            yield text
        elif len(text) <= hold:
            carry = text
        else:
            carry = text[-hold:]
            yield text[:-hold]
    if carry:
        yield carry


def parse_step_logs(output: Path, server: Path, secrets: Sequence[str]) -> LogReport:
    """The server's log file, plus what the command printed that the file lacks."""
    if not server.exists():
        return parse_log_lines(redacted(read_pieces(output), secrets))
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    tail.extend(line.rstrip("\n") for line in redacted(read_pieces(output), secrets))
    candidates = set(tail)
    logged: set[str] = set()

    def server_lines() -> Iterator[str]:
        for piece in redacted(read_pieces(server), secrets):
            if candidates and (line := piece.rstrip("\n")) in candidates:
                logged.add(line)
            yield piece

    def extra_lines() -> Iterator[str]:  # runs once the server log is read
        yield "\n"
        for line in tail:
            if line not in logged and not line.startswith("# "):
                yield line + "\n"

    return parse_log_lines(chain(server_lines(), extra_lines()))


def write_kept_log(
    log_path: Path, head: Iterable[str], output: Path, middle: Iterable[str], server: Path,
    secrets: Sequence[str], limit: int,
) -> None:
    """Write ``upgrade.log``: ``head``, the output, ``middle``, the server log (if any), at
    most ``limit`` characters of it; then remove the raw files."""
    parts: list[Iterable[str]] = [head, redacted(read_pieces(output), secrets), middle]
    if server.exists():
        parts += [[f"# ---- server log ({server.name}) ----\n"],
                  redacted(read_pieces(server), secrets)]
    try:
        kept = cap_log(chain.from_iterable(parts), limit)
        with log_path.open("w", encoding="utf-8") as fh:
            fh.write(kept)
    except OSError as exc:
        raise disk_error(exc, log_path) from exc
    output.unlink(missing_ok=True)
    server.unlink(missing_ok=True)


def disk_error(exc: OSError, path: Path) -> RunnerError:
    """A RunnerError for a failed write of ``path``: a full disk says so."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunnerError(f"the disk is full: cannot write {path} ({exc.strerror})",
                           hint=f"free space on the disk of {path.parent} and run again")
    return RunnerError(f"cannot write {path}: {exc.strerror or exc}",
                       hint=f"check the permissions and the disk of {path.parent}")
