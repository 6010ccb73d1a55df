"""Read an OpenERP/Odoo server log: which modules loaded, which scripts ran, what failed where.

The format is the server's own, the same from 6.1 to today::

    %(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s

with ``openerp.*`` logger names in 6.1/7.0 and ``odoo.*`` later. Lines without that
header continue the record above (tracebacks). Each error is attributed to the module
its message names, else to the module being loaded or migrated at that moment.

Pure: text in, a frozen ``LogReport`` out. An exit code of 0 proves nothing (old
servers exit 0 after ``Failed to initialize database``): the caller weighs both.

``parse_paste`` reads a log as people paste it into an issue: an excerpt, indented or
quoted, headers without their timestamp and pid (``ERROR db odoo.modules.registry: ...``),
a traceback cut at either end.
"""

from __future__ import annotations

import ast
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ouhub.runner import tracebacks

# an excerpt keeps the error line, the start of its traceback and, above all, its end
EXCERPT_HEAD_LINES = 8
EXCERPT_TAIL_LINES = 30
EXCERPT_LINE_CHARS = 400
# read as a stream (the runner's logs, of any size): what is kept of one record, of one line,
# of the errors of one module
STREAM_CONTINUATION_LINES = 200
STREAM_LINE_CHARS = 4000
STREAM_ERRORS_PER_MODULE = 20

ERROR_LEVELS = ("ERROR", "CRITICAL")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_HEADER = re.compile(
    r"^(?:(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?)"
    r"(?:[ \t]+(?P<pid>\d+))?"
    r"[ \t]+(?P<level>[A-Z]+)"
    # pasted without timestamp and pid: only the level names the server writes
    r"|(?P<bare>DEBUG(?:_[A-Z]+)?|INFO|WARNING|ERROR|CRITICAL|TEST))"
    r"[ \t]+(?P<db>\S+)"
    r"[ \t]+(?P<logger>[^\s:]+): ?(?P<message>.*)$"
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
_TABLES = re.compile(r"^module (?P<module>[\w.-]+): creating or updating database tables")
# 8.0 and later: "loading sale/views/sale_views.xml" (not "loading 3 modules...")
_LOADING_FILE = re.compile(r"^loading (?P<module>[\w.-]+)/\S")
_ADDONS_PATHS = re.compile(r"^addons paths?: (?P<paths>\[.*\])\s*$")
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
_INIT_FAILED = ("Failed to initialize database", "Failed to load registry")
_OMITTED = re.compile(r"^\[\.\.\. (\d+) lines omitted \.\.\.\]$")
_QUOTE = re.compile(r"^[ \t]*>+ ?")
_FENCE = re.compile(r"^\s*(?:```|~~~)")


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
    script that could not be loaded), ``init`` ("Failed to initialize database",
    "Failed to load registry"), ``test`` (failed tests), ``traceback`` (a traceback
    outside any log record), ``other``.

    stage: where the server was: a script's ``pre``, ``post`` or ``end`` stage, ``load``
    (the module itself: its models and data) or ``registry`` (no module at all).
    """

    module: str | None
    level: str
    kind: str
    message: str
    excerpt: str
    lineno: int
    script: str | None = None
    stage: str = "registry"

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
    addons_paths: tuple[str, ...] = ()  # as the server printed them at start
    addons_paths_lineno: int = 0

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
        lineno=lineno, timestamp=match["ts"] or "", pid=int(pid) if pid else None,
        level=match["level"] or match["bare"], dbname=None if db == "?" else db,
        logger=match["logger"], message=match["message"].rstrip(),
    )


def parse_records(text: str) -> tuple[LogRecord, ...]:
    """Group the lines of ``text`` into records; leading orphan lines become a pseudo-record."""
    return tuple(iter_records(text.splitlines()))


def iter_records(
    lines: Iterable[str], keep: int | None = None, line_chars: int | None = None
) -> Iterator[LogRecord]:
    """The records of ``lines``, one at a time.

    With ``keep``, a record holds at most ``keep`` continuation lines at each end (and a
    line saying how many were left out between), and with ``line_chars`` each line is cut
    to that length: a log of any size is then read in bounded memory.
    """
    current: LogRecord | None = None
    extra: list[str] = []
    tail: deque[str] = deque(maxlen=keep)
    omitted = 0
    orphan_start = 0

    def finished() -> LogRecord | None:
        body = extra
        if omitted or tail:
            body = [*extra, *([f"[... {omitted} lines omitted ...]"] if omitted else []), *tail]
        if current is not None:
            return _with_continuation(current, body)
        if body:
            return LogRecord(orphan_start, "", None, "", None, "", "", tuple(body))
        return None

    for lineno, raw in enumerate(lines, 1):
        if line_chars is not None and len(raw) > line_chars:
            raw = raw[:line_chars] + " [...]"
        record = parse_line(raw, lineno)
        if record is None:
            if current is None and not extra:
                orphan_start = lineno
            text = _ANSI.sub("", raw.rstrip())
            if keep is None or len(extra) < keep:
                extra.append(text)
            else:
                omitted += len(tail) == keep
                tail.append(text)
            continue
        done = finished()
        if done is not None:
            yield done
        current, extra, omitted = record, [], 0
        tail.clear()
    done = finished()
    if done is not None:
        yield done


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
    return state.report(records)


def parse_log_lines(lines: Iterable[str]) -> LogReport:
    """Parse a server log read as a stream (an open file), in bounded memory.

    The report keeps no records; each record keeps the ends of its continuation lines
    (a traceback's first frames and its exception), and each module its first errors.
    """
    state = _State(errors_per_module=STREAM_ERRORS_PER_MODULE)
    for record in iter_records(lines, keep=STREAM_CONTINUATION_LINES,
                               line_chars=STREAM_LINE_CHARS):
        state.feed(record)
    return state.report(())


def parse_paste(text: str) -> LogReport:
    """Parse a log as a user pasted it (see ``tidy_paste``); line numbers stay the paste's."""
    return parse_log(tidy_paste(text))


def tidy_paste(text: str) -> str:
    """Undo what pasting does to a log, keeping one line per line.

    Drops Markdown code fences and ``>`` quote marks, then removes the indentation the
    whole paste got: the indentation of its header lines (else of its ``Traceback`` lines,
    else the least of any line), so that tracebacks keep their own.
    """
    lines = []
    for raw in _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = "" if _FENCE.match(raw) else _QUOTE.sub("", raw, count=1).expandtabs(4)
        lines.append(line.rstrip())
    indent = _paste_indent(lines)
    if indent:
        lines = [line[min(indent, len(line) - len(line.lstrip(" "))):] for line in lines]
    return "\n".join(lines)


def _paste_indent(lines: list[str]) -> int:
    def width(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    headers = [width(line) for line in lines if line.strip() and _HEADER.match(line.lstrip(" "))]
    if headers:
        return Counter(headers).most_common(1)[0][0]
    starts = [width(line) for line in lines if line.lstrip(" ").startswith("Traceback (")]
    if starts:
        return min(starts)
    return min((width(line) for line in lines if line.strip()), default=0)


class _State:
    """Walks the records in order, remembering which module the server is busy with, and in
    which stage."""

    def __init__(self, errors_per_module: int | None = None) -> None:
        self.current: str | None = None
        self.stage = "registry"  # of the current module: pre, load, post, end
        self.loaded: dict[str, None] = {}  # in the order the server reached them
        self.scripts: list[ScriptRun] = []
        self.errors: list[LogError] = []
        self.tests: list[TestFailure] = []
        self.skipped: dict[str, None] = {}
        self.errors_per_module = errors_per_module
        self._error_counts: Counter[str | None] = Counter()
        self.fatal = False
        self.finished = False
        self.addons_paths: tuple[str, ...] = ()
        self.addons_paths_lineno = 0
        self._last_script_error: tuple[LogError, LogRecord, str] | None = None

    def report(self, records: tuple[LogRecord, ...]) -> LogReport:
        return LogReport(
            records=records,
            modules_loaded=tuple(self.loaded),
            scripts_run=tuple(self.scripts),
            errors=tuple(self.errors),
            test_failures=tuple(self.tests),
            skipped_modules=tuple(self.skipped),
            fatal=self.fatal,
            finished=self.finished,
            addons_paths=self.addons_paths,
            addons_paths_lineno=self.addons_paths_lineno,
        )

    def _keep(self, error: LogError) -> bool:
        """Whether to keep ``error``: past ``errors_per_module`` a module's errors add nothing."""
        self._error_counts[error.module] += 1
        if self.errors_per_module and self._error_counts[error.module] > self.errors_per_module:
            return False
        self.errors.append(error)
        return True

    def feed(self, record: LogRecord) -> None:
        message = record.message
        if not record.logger:  # lines before the first header
            self._bare_traceback(record.continuation, record.lineno)
            return
        if match := _LOADING.match(message):
            self._enter(match["module"], "load")
        elif match := _RUNNING.match(message):
            stage = "pre" if match["pre"] else "end" if match["end"] else "post"
            version = match["pre"] or match["end"] or match["post"]
            self._enter(match["module"], stage)
            script = ScriptRun(match["module"], stage, version.strip(), match["name"],
                               record.lineno)
            last = self.scripts[-1] if self.scripts else None
            # 7.0's migration.py announces each script twice, back to back: one run
            if last is None or (last.module, last.stage, last.version, last.name) != (
                    script.module, script.stage, script.version, script.name):
                self.scripts.append(script)
        elif record.level not in ERROR_LEVELS and (
                match := _LOADING_70.match(message) or _TABLES.match(message)
                or _LOADING_FILE.match(message)):
            self._enter(match["module"], "load")
        elif match := _SKIPPED.match(message):
            self.skipped[match["module"]] = None
        elif _GRAPH_DONE.match(message):
            self.current, self.stage = None, "registry"
        elif message == _FINISHED:
            self.finished = True
            self.current, self.stage = None, "registry"
        elif (match := _ADDONS_PATHS.match(message)) and not self.addons_paths:
            self.addons_paths = _literal_paths(match["paths"])
            self.addons_paths_lineno = record.lineno

        if record.level in ERROR_LEVELS:
            self._error(record)
        elif record.level != "WARNING" and record.continuation:
            # a traceback printed after a non-error line: an uncaught exception on stderr
            self._bare_traceback(record.continuation, record.lineno)
        if record.level == "CRITICAL":
            self.fatal = True

    def _enter(self, module: str, stage: str) -> None:
        if module != self.current or stage != "load" or self.stage in ("pre", "registry"):
            self.stage = stage  # a module's own log lines after its post scripts stay "post"
        self.current = module
        self.loaded[module] = None

    def _error(self, record: LogRecord) -> None:
        message = record.message
        if self._merge_exception_echo(record):
            return
        self._last_script_error = None
        module, kind, script, stage = self.current, "other", None, None
        if match := _SCRIPT_ERROR.match(message):
            module, kind, script = match["module"], "script", match["file"]
        elif match := _UNABLE.match(message):
            module, kind, script = match["module"], "load", match["file"].strip()
            stage = match["stage"]
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
        lines = record.continuation
        if kind not in ("script", "load", "test"):
            # a traceback says more than the log's order: the script it went through, the
            # module an exception names ("TypeError: module sale: `migrate`'s signature ...")
            found = tracebacks.script_of(lines)
            named = _named_module(tracebacks.exceptions(lines))
            module = (found.module if found else None) or named or module
        error = LogError(module, record.level, kind, message, _excerpt(record), record.lineno,
                         script, stage or self._stage_of(module, script, lines))
        if not self._keep(error):
            return
        if kind == "script":
            self._last_script_error = (error, record, _SCRIPT_ERROR.match(message)["error"])

    def _stage_of(self, module: str | None, script: str | None, lines: tuple[str, ...]) -> str:
        if module is None:
            return "registry"
        found = tracebacks.script_path(script) if script else None
        stage = (found.stage if found else None) or tracebacks.stage_of(lines)
        if stage:
            return stage
        return self.stage if module == self.current and self.stage != "registry" else "load"

    def _merge_exception_echo(self, record: LogRecord) -> bool:
        """openupgradelib logs "X: error in migration script F: E", then E with the traceback:
        one error, whose excerpt gets the traceback."""
        last = self._last_script_error
        if last is None:
            return False
        error, first, text = last
        # the echo prints str(e); some openupgradelib versions log repr(e) first
        raised = tracebacks.exception_from_message(text)
        same = record.message == text or (raised is not None and raised.message
                                           and record.message.startswith(raised.message))
        if record.logger != first.logger or not same or not record.continuation:
            return False
        merged = LogError(error.module, error.level, error.kind, error.message,
                          _excerpt(first, more=(_header_line(record), *record.continuation)),
                          error.lineno, error.script, error.stage)
        self.errors[self.errors.index(error)] = merged
        self._last_script_error = None
        return True

    def _bare_traceback(self, lines: tuple[str, ...], lineno: int) -> None:
        """A traceback outside an error record; a paste may have lost its first lines, so
        frames without the "Traceback" line count too."""
        if not tracebacks.has_frames(lines):
            return
        raised = tracebacks.exceptions(lines)
        found = tracebacks.script_of(lines)
        module = (found.module if found else None) or _named_module(raised) or self.current
        last = str(raised[-1]) if raised else next(
            (line.strip() for line in reversed(lines) if line.strip()), "")
        self._keep(LogError(module, "ERROR", "traceback", last, _truncate(list(lines)), lineno,
                            found.path if found else None, self._stage_of(module, None, lines)))


_NAMED = re.compile(r"^module (?P<module>[\w.-]+): ")


def _named_module(raised: list[tracebacks.RaisedException]) -> str | None:
    """The module an exception's message starts with, as Odoo's migration.py words them."""
    for exc in reversed(raised):
        if match := _NAMED.match(exc.message):
            return match["module"]
    return None


def _literal_paths(text: str) -> tuple[str, ...]:
    """The list the server printed (a Python literal, u'' strings in Python 2's servers)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ()
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(path) for path in value)


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
        cut = lines[EXCERPT_HEAD_LINES:-EXCERPT_TAIL_LINES]
        # a record read as a stream says how many lines it left out already: count them too
        omitted = sum(int(m[1]) if (m := _OMITTED.match(line)) else 1 for line in cut)
        lines = [*lines[:EXCERPT_HEAD_LINES], f"[... {omitted} lines omitted ...]",
                 *lines[-EXCERPT_TAIL_LINES:]]
    return "\n".join(lines)
