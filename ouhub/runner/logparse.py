"""Read an OpenERP/Odoo server log: which modules loaded, which scripts ran, what failed where.

The format is the server's own, the same from 6.1 to today::

    %(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s

with ``openerp.*`` logger names in 6.1/7.0 and ``odoo.*`` later. Lines without that
header continue the record above (tracebacks). Each error is attributed to the module
its message names, else to the module being loaded or migrated at that moment.

Pure: text in, a frozen ``LogReport`` out. An exit code of 0 proves nothing (old
servers exit 0 after ``Failed to initialize database``): the caller weighs both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# an excerpt keeps the error line, the start of its traceback and, above all, its end
EXCERPT_HEAD_LINES = 8
EXCERPT_TAIL_LINES = 30
EXCERPT_LINE_CHARS = 400

ERROR_LEVELS = ("ERROR", "CRITICAL")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_HEADER = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?)"
    r"(?: (?P<pid>\d+))?"
    r" (?P<level>[A-Z]+)"
    r" (?P<db>\S+)"
    r" (?P<logger>[^\s:]+): ?(?P<message>.*)$"
)
_LOADING = re.compile(r"^Loading module (?P<module>\S+) \((?P<index>\d+)/(?P<count>\d+)\)")
_LOADING_70 = re.compile(r"^module (?P<module>[\w.-]+): loading (?P<what>\S+)")
_RUNNING = re.compile(
    r"^module (?P<module>[\w.-]+): Running (?:migration|upgrade) "
    r"\[(?:>(?P<pre>[^\]]+)|\$(?P<end>[^\]]+)|(?P<post>[^\]]+)>)\]\s*(?P<name>\S*)"
)
_UNABLE = re.compile(
    r"^module (?P<module>[\w.-]+): Unable to load (?P<stage>\w+)-migration file (?P<file>.+)$"
)
_SCRIPT_ERROR = re.compile(
    r"^(?P<module>[\w.-]+): error in migration script (?P<file>.+?): (?P<error>.*)$"
)
_MODULE_PREFIX = re.compile(r"^[Mm]odule (?P<module>[\w.-]+):")
_TESTS = re.compile(
    r"^Module (?P<module>[\w.-]+): (?P<failures>\d+) failures, (?P<errors>\d+) errors"
    r" of (?P<tests>\d+) tests"
)
_SKIPPED = re.compile(
    r"^module (?P<module>[\w.-]+): (?:not installable, skipped|Unmet dependencies:"
    r"|some depends are not loaded, skipped|in a dependency loop, skipped)"
)
_GRAPH_DONE = re.compile(r"^\d+ modules loaded in ")
_FINISHED = "Modules loaded."
_INIT_FAILED = "Failed to initialize database"


@dataclass(frozen=True)
class LogRecord:
    """One log record: its header line and the lines without header that follow it."""

    lineno: int  # 1-based line of the header
    timestamp: str
    pid: int | None
    level: str
    dbname: str | None  # None for "?" (no database yet)
    logger: str
    message: str
    continuation: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptRun:
    """A migration script the server announced (``Running migration`` / ``Running upgrade``)."""

    module: str
    stage: str  # pre, post or end
    version: str  # the migrations/ folder: 7.0.1.1 or 1.1
    name: str  # the script's name without .py: pre-migration
    lineno: int


@dataclass(frozen=True)
class LogError:
    """An ERROR or CRITICAL record (or a bare traceback), attributed to a module when possible.

    kind: ``script`` (openupgradelib's "error in migration script"), ``load`` (a
    script that could not be loaded), ``init`` ("Failed to initialize database"),
    ``test`` (failed tests), ``traceback`` (a traceback outside any log record),
    ``other``.
    """

    module: str | None
    level: str
    kind: str
    message: str
    excerpt: str
    lineno: int
    script: str | None = None

    @property
    def has_traceback(self) -> bool:
        return "Traceback (most recent call last):" in self.excerpt


@dataclass(frozen=True)
class TestFailure:
    module: str
    failures: int
    errors: int
    tests: int
    lineno: int


@dataclass(frozen=True)
class LogReport:
    records: tuple[LogRecord, ...]
    modules_loaded: tuple[str, ...]  # in the order the server reached them
    scripts_run: tuple[ScriptRun, ...]
    errors: tuple[LogError, ...]
    test_failures: tuple[TestFailure, ...]
    skipped_modules: tuple[str, ...]  # "not installable, skipped", unmet dependencies
    fatal: bool  # the update aborted: "Failed to initialize database" or a CRITICAL line
    finished: bool  # the server said "Modules loaded."

    def scripts_of(self, module: str) -> tuple[ScriptRun, ...]:
        return tuple(s for s in self.scripts_run if s.module == module)

    def errors_of(self, module: str | None) -> tuple[LogError, ...]:
        return tuple(e for e in self.errors if e.module == module)

    @property
    def failed_modules(self) -> tuple[str, ...]:
        """Modules with at least one error, in the order of their first error."""
        return tuple(dict.fromkeys(e.module for e in self.errors if e.module))

    def primary_error(self, module: str | None) -> LogError | None:
        """The error that best explains ``module``'s failure: the script's own, else one
        with a traceback, else the first."""
        errors = self.errors_of(module)
        for wanted in (lambda e: e.kind in ("script", "load"), lambda e: e.has_traceback):
            for error in errors:
                if wanted(error):
                    return error
        return errors[0] if errors else None


def parse_line(line: str, lineno: int = 0) -> LogRecord | None:
    """The record a header line starts, or None for a continuation line."""
    match = _HEADER.match(_ANSI.sub("", line.rstrip("\r\n")))
    if not match:
        return None
    pid = match["pid"]
    db = match["db"]
    return LogRecord(
        lineno=lineno, timestamp=match["ts"], pid=int(pid) if pid else None,
        level=match["level"], dbname=None if db == "?" else db, logger=match["logger"],
        message=match["message"].rstrip(),
    )


def parse_records(text: str) -> tuple[LogRecord, ...]:
    """Group the lines of ``text`` into records; leading orphan lines become a pseudo-record."""
    records: list[LogRecord] = []
    current: LogRecord | None = None
    extra: list[str] = []
    orphan_start = 0

    def flush() -> None:
        if current is not None:
            records.append(_with_continuation(current, extra))
        elif extra:
            records.append(LogRecord(orphan_start, "", None, "", None, "", "", tuple(extra)))

    for lineno, raw in enumerate(text.splitlines(), 1):
        record = parse_line(raw, lineno)
        if record is None:
            if current is None and not extra:
                orphan_start = lineno
            extra.append(_ANSI.sub("", raw.rstrip()))
            continue
        flush()
        current, extra = record, []
    flush()
    return tuple(records)


def _with_continuation(record: LogRecord, extra: list[str]) -> LogRecord:
    while extra and not extra[-1].strip():
        extra.pop()
    if not extra:
        return record
    return LogRecord(record.lineno, record.timestamp, record.pid, record.level, record.dbname,
                     record.logger, record.message, tuple(extra))


def parse_log(text: str) -> LogReport:
    """Parse a whole server log."""
    records = parse_records(text)
    state = _State()
    for record in records:
        state.feed(record)
    return LogReport(
        records=records,
        modules_loaded=tuple(dict.fromkeys(state.loaded)),
        scripts_run=tuple(state.scripts),
        errors=tuple(state.errors),
        test_failures=tuple(state.tests),
        skipped_modules=tuple(dict.fromkeys(state.skipped)),
        fatal=state.fatal,
        finished=state.finished,
    )


class _State:
    """Walks the records in order, remembering which module the server is busy with."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.loaded: list[str] = []
        self.scripts: list[ScriptRun] = []
        self.errors: list[LogError] = []
        self.tests: list[TestFailure] = []
        self.skipped: list[str] = []
        self.fatal = False
        self.finished = False
        self._last_script_error: tuple[LogError, LogRecord, str] | None = None

    def feed(self, record: LogRecord) -> None:
        message = record.message
        if not record.logger:  # lines before the first header
            self._bare_traceback(record.continuation, record.lineno)
            return
        if match := _LOADING.match(message):
            self._enter(match["module"])
        elif match := _RUNNING.match(message):
            stage = "pre" if match["pre"] else "end" if match["end"] else "post"
            version = match["pre"] or match["end"] or match["post"]
            self._enter(match["module"])
            script = ScriptRun(match["module"], stage, version.strip(), match["name"],
                               record.lineno)
            last = self.scripts[-1] if self.scripts else None
            # 7.0's migration.py announces each script twice, back to back: one run
            if last is None or (last.module, last.stage, last.version, last.name) != (
                    script.module, script.stage, script.version, script.name):
                self.scripts.append(script)
        elif (match := _LOADING_70.match(message)) and record.level not in ERROR_LEVELS:
            self._enter(match["module"])
        elif match := _SKIPPED.match(message):
            self.skipped.append(match["module"])
        elif _GRAPH_DONE.match(message):
            self.current = None
        elif message == _FINISHED:
            self.finished = True
            self.current = None

        if record.level in ERROR_LEVELS:
            self._error(record)
        elif record.level != "WARNING" and record.continuation:
            # a traceback printed after a non-error line: an uncaught exception on stderr
            self._bare_traceback(record.continuation, record.lineno)
        if record.level == "CRITICAL":
            self.fatal = True

    def _enter(self, module: str) -> None:
        self.current = module
        self.loaded.append(module)

    def _error(self, record: LogRecord) -> None:
        message = record.message
        if self._merge_exception_echo(record):
            return
        self._last_script_error = None
        module, kind, script = self.current, "other", None
        if match := _SCRIPT_ERROR.match(message):
            module, kind, script = match["module"], "script", match["file"]
        elif match := _UNABLE.match(message):
            module, kind, script = match["module"], "load", match["file"].strip()
        elif message.startswith(_INIT_FAILED):
            kind = "init"
            self.fatal = True
        elif match := _TESTS.match(message):
            module, kind = match["module"], "test"
            self.tests.append(TestFailure(module, int(match["failures"]), int(match["errors"]),
                                          int(match["tests"]), record.lineno))
        elif message.startswith("At least one test failed"):
            kind = "test"
        elif match := _MODULE_PREFIX.match(message):
            module = match["module"]
        error = LogError(module, record.level, kind, message, _excerpt(record), record.lineno,
                         script)
        self.errors.append(error)
        if kind == "script":
            self._last_script_error = (error, record, _SCRIPT_ERROR.match(message)["error"])

    def _merge_exception_echo(self, record: LogRecord) -> bool:
        """openupgradelib logs "X: error in migration script F: E", then E with the traceback:
        one error, whose excerpt gets the traceback."""
        last = self._last_script_error
        if last is None:
            return False
        error, first, text = last
        if record.logger != first.logger or record.message != text or not record.continuation:
            return False
        merged = LogError(error.module, error.level, error.kind, error.message,
                          _excerpt(first, more=(_header_line(record), *record.continuation)),
                          error.lineno, error.script)
        self.errors[self.errors.index(error)] = merged
        self._last_script_error = None
        return True

    def _bare_traceback(self, lines: tuple[str, ...], lineno: int) -> None:
        if not any(line.startswith("Traceback (") for line in lines):
            return
        last = next((line for line in reversed(lines) if line.strip()), "")
        self.errors.append(LogError(self.current, "ERROR", "traceback", last.strip(),
                                    _truncate(list(lines)), lineno))


def _header_line(record: LogRecord) -> str:
    pid = f" {record.pid}" if record.pid is not None else ""
    return (f"{record.timestamp}{pid} {record.level} {record.dbname or '?'} "
            f"{record.logger}: {record.message}")


def _excerpt(record: LogRecord, more: Iterable[str] = ()) -> str:
    return _truncate([_header_line(record), *record.continuation, *more])


def _truncate(lines: list[str]) -> str:
    """Keep the head and the tail (where a traceback names the exception); cut long lines."""
    lines = [line if len(line) <= EXCERPT_LINE_CHARS else line[:EXCERPT_LINE_CHARS] + " [...]"
             for line in lines]
    if len(lines) > EXCERPT_HEAD_LINES + EXCERPT_TAIL_LINES:
        omitted = len(lines) - EXCERPT_HEAD_LINES - EXCERPT_TAIL_LINES
        lines = [*lines[:EXCERPT_HEAD_LINES], f"[... {omitted} lines omitted ...]",
                 *lines[-EXCERPT_TAIL_LINES:]]
    return "\n".join(lines)
