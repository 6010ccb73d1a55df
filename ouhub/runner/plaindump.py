"""What of a plain SQL sample dump reaches psql: SQL and COPY data, never a meta-command.

psql runs backslash commands (``\\!`` a shell command, ``\\c`` another database,
``\\i`` a file) from its input. A sample dump is input we did not write, so each
line that starts with a backslash outside COPY data is refused, except pg_dump's
own ``\\restrict``/``\\unrestrict`` lines, which are dropped: the restore puts psql
in restricted mode itself (``psql_restricts``), and that mode, psql's own lexer,
is what refuses a backslash command hidden in the middle of a line.
"""

from __future__ import annotations

import re

from ouhub.errors import RunnerError

# pg_dump 17.6, 16.10, 15.14, 14.19 and 13.22 brought \restrict (CVE-2025-8714)
RESTRICT_SINCE = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6}
_PG_DUMP_OWN = re.compile(rb"\\(un)?restrict [A-Za-z0-9]+\s*")
_COPY_FROM_STDIN = re.compile(rb"COPY .* FROM stdin;\s*", re.IGNORECASE)
_COPY_END = re.compile(rb"\\\.\s*")
_COMMAND = re.compile(rb"\\([^\s\\]*)")


class MetaCommandError(RunnerError):
    """A plain dump holds a psql meta-command."""

    def __init__(self, command: str, line: int):
        super().__init__(
            f"line {line} is the psql meta-command {command}, which ouhub refuses to run",
            hint="a dump made by pg_dump holds none: make it again with pg_dump, or give a "
            "custom-format dump (pg_dump -Fc)",
        )
        self.command = command
        self.line = line


class PlainDumpGuard:
    """Feed it a plain dump piece by piece (``readline(limit)`` pieces); it returns what
    psql may read and raises MetaCommandError at the first meta-command."""

    def __init__(self) -> None:
        self.line = 0
        self.in_copy = False
        self.at_line_start = True

    def feed(self, piece: bytes) -> bytes:
        starts_line = self.at_line_start
        self.at_line_start = piece.endswith(b"\n")
        if not starts_line:
            return piece  # the rest of a long line: judged by its start
        self.line += 1
        if self.in_copy:
            if _COPY_END.fullmatch(piece):
                self.in_copy = False
            return piece
        text = piece.lstrip(b" \t")
        if text.startswith(b"\\"):
            if _PG_DUMP_OWN.fullmatch(text):
                return b""
            match = _COMMAND.match(text)
            command = "\\" + (match.group(1) if match else b"").decode("utf-8", "replace")[:40]
            raise MetaCommandError(command, self.line)
        if _COPY_FROM_STDIN.fullmatch(text):
            self.in_copy = True
        return piece


def psql_restricts(version_line: str) -> bool:
    """Whether the psql that printed ``version_line`` (``psql --version``) has ``\\restrict``."""
    match = re.search(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?", version_line)
    if not match:
        return False
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if major >= 18:
        return True
    return major in RESTRICT_SINCE and minor >= RESTRICT_SINCE[major]
