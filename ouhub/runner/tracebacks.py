"""Read a Python traceback as OpenERP/Odoo servers print it: its frames, the migration script
it went through, the stage it failed in and the exception it ends with.

Pure: lines in, records out. Tolerant of what pasting does to a traceback: the
``Traceback (most recent call last):`` line cut off, the end cut off before the
exception, code lines that lost their indentation, Python 2's ``except_orm: (...)``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STAGES = ("pre", "post", "end")  # the migration scripts' stages, in the order they run

TRACEBACK_START = "Traceback (most recent call last):"
_CHAINED = "The above exception was the direct cause of the following exception:"
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')
# a migration script: <module>/migrations/<version>/<stage>-*.py (the module's own folder) or,
# from 14.0, openupgrade_scripts/scripts/<module>/<version>/<stage>-*.py
SCRIPT_PATH = re.compile(
    r"(?:^|[/\\])(?P<module>[\w.-]+)[/\\](?:migrations[/\\])?(?P<version>\d[\w.-]*)[/\\]"
    r"(?P<stage>pre|post|end)-[^/\\]*\.py$"
)
_MIGRATE_MODULE = re.compile(r"migrate_module\(\s*\w+\s*,\s*['\"](?P<stage>pre|post|end)['\"]")
# the exception line that ends a traceback: "ValueError: boom", "psycopg2.errors.X: ...", or a
# bare "MemoryError"; psycopg2 adds LINE/DETAIL/HINT lines after it
EXCEPTION_LINE = re.compile(
    r"^(?!(?:LINE|DETAIL|HINT|CONTEXT|QUERY|WHERE|STATEMENT)\b)"
    r"(?P<cls>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*)|$)"
)
# what openupgradelib logs for an exception in 6.1-9.0: the repr, TypeError('...',)
_REPR = re.compile(r"^(?P<cls>[A-Za-z_][\w.]*)\((?P<quote>u?['\"])(?P<message>.*)['\"],?\)$")
_NOT_EXCEPTIONS = frozenset({"None", "True", "False", "self", "cr", "env", "Traceback", "File"})


@dataclass(frozen=True)
class Frame:
    path: str
    line: int
    function: str | None


@dataclass(frozen=True)
class ScriptPath:
    """A migration script, as a path names it."""

    path: str
    module: str
    version: str
    stage: str  # pre, post or end


@dataclass(frozen=True)
class RaisedException:
    """The exception a traceback ends with: its class (as printed) and the first line of its
    message."""

    cls: str
    message: str

    @property
    def name(self) -> str:
        """The class without its package: psycopg2.errors.UndefinedTable -> UndefinedTable."""
        return self.cls.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.cls}: {self.message}" if self.message else self.cls


def script_path(path: str) -> ScriptPath | None:
    """The migration script ``path`` names, if it is one."""
    match = SCRIPT_PATH.search(path.strip())
    if not match:
        return None
    return ScriptPath(path.strip(), match["module"], match["version"], match["stage"])


def frames(lines: Iterable[str]) -> list[Frame]:
    found = []
    for line in lines:
        if match := _FRAME.match(line):
            found.append(Frame(match["path"], int(match["line"]), match["func"]))
    return found


def script_of(lines: Sequence[str]) -> ScriptPath | None:
    """The innermost migration script the traceback went through."""
    for frame in reversed(frames(lines)):
        if found := script_path(frame.path):
            return found
    return None


def stage_of(lines: Sequence[str]) -> str | None:
    """The stage the server was migrating: ``migrate_module(package, 'pre')`` in the frames, else
    the script's own."""
    for line in reversed(lines):
        if match := _MIGRATE_MODULE.search(line):
            return match["stage"]
    script = script_of(lines)
    return script.stage if script else None


def has_frames(lines: Iterable[str]) -> bool:
    return any(_FRAME.match(line) or line.startswith(TRACEBACK_START) for line in lines)


def exceptions(lines: Sequence[str]) -> list[RaisedException]:
    """The exception each traceback of ``lines`` ends with, in order (a chained traceback
    prints the cause first); a traceback cut before its exception adds nothing."""
    found: list[RaisedException] = []
    segment: list[str] = []
    headed = False  # the segment starts at a "Traceback (most recent call last):" line
    for line in [*lines, TRACEBACK_START]:
        if line.startswith(TRACEBACK_START) or line.strip() == _CHAINED:
            if exc := _segment_exception(segment, headed):
                found.append(exc)
            segment, headed = [], line.startswith(TRACEBACK_START)
        else:
            segment.append(line)
    return found


def root_cause(lines: Sequence[str]) -> RaisedException | None:
    """The exception that explains a failure: for ``raise X from cause`` (Odoo 13+ wraps an
    import error in "Unable to load ... file"), the cause; else the last exception."""
    text = list(lines)
    found = exceptions(text)
    if not found:
        return None
    if len(found) > 1 and any(line.strip() == _CHAINED for line in text):
        return found[-2]
    return found[-1]


def _segment_exception(segment: list[str], headed: bool) -> RaisedException | None:
    last_frame = max((i for i, line in enumerate(segment) if _FRAME.match(line)), default=None)
    if last_frame is None and not headed:
        return None  # no traceback here
    for line in segment[(last_frame + 1) if last_frame is not None else 0:]:
        if line[:1].isspace() or not line.strip():
            continue  # the frame's code line
        match = EXCEPTION_LINE.match(line.rstrip())
        if match and _looks_like_exception(match["cls"], match["message"]):
            return RaisedException(match["cls"], (match["message"] or "").strip())
    return None


def _looks_like_exception(cls: str, message: str | None) -> bool:
    if keyword.iskeyword(cls) or cls in _NOT_EXCEPTIONS:
        return False  # an unindented code line: "raise", "return"
    return message is not None or cls[:1].isupper()


def exception_from_message(message: str) -> RaisedException | None:
    """An exception as openupgradelib's messages print it when there is no traceback:
    ``TypeError('get() takes exactly 2 arguments (3 given)',)``."""
    match = _REPR.match(message.strip())
    if not match or not match["cls"].rsplit(".", 1)[-1][:1].isupper():
        return None  # a call such as print('x'), not an exception's repr
    first = match["message"].replace("\\n", "\n").split("\n", 1)[0]
    return RaisedException(match["cls"], first.strip())
