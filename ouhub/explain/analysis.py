"""Explain a server log as a user pastes it: per error, the module, the stage, the script, the
exception, the fingerprint; the modules that loaded and those whose scripts ran; the hints.

Pure: text in, an ``Explanation`` out. The parsing is ``ouhub.runner.logparse``'s (the same
that reads ouhub's own runs), so a pasted failure gets the fingerprint of the same failure
in ouhub's runs; ``ouhub.explain.history`` adds where it was seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from ouhub.explain.hints import Hint, hints_for
from ouhub.runner import tracebacks
from ouhub.runner.fingerprint import Fingerprint, fingerprint_error, own_message
from ouhub.runner.logparse import LogError, LogReport, ScriptRun, parse_paste


@dataclass(frozen=True)
class ExplainedError:
    module: str | None
    stage: str  # pre, post, end, load, registry
    kind: str  # logparse's: script, load, init, test, traceback, other
    level: str
    lineno: int
    script: str | None
    exception: str  # the class as printed (psycopg2.errors.UndefinedColumn); "" if none
    message: str  # the exception's message, else the log message
    fingerprint: Fingerprint
    excerpt: str
    cut: bool  # a traceback that ends before its exception line
    repeats: int = 1  # errors of the log with the same fingerprint

    def as_dict(self) -> dict[str, object]:
        return {
            "module": self.module, "stage": self.stage, "kind": self.kind, "level": self.level,
            "line": self.lineno, "script": self.script, "exception": self.exception,
            "message": self.message, "fingerprint": self.fingerprint.as_dict(),
            "excerpt": self.excerpt, "traceback_cut": self.cut, "repeats": self.repeats,
        }


@dataclass(frozen=True)
class Explanation:
    errors: tuple[ExplainedError, ...]
    modules_loaded: tuple[str, ...]
    scripts_run: tuple[ScriptRun, ...]
    hints: tuple[Hint, ...]
    records: int  # log lines with a header that ouhub recognised
    fatal: bool
    finished: bool
    dbnames: tuple[str, ...]

    @property
    def modules_with_scripts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.module for s in self.scripts_run))

    def as_dict(self) -> dict[str, object]:
        return {
            "errors": [e.as_dict() for e in self.errors],
            "modules_loaded": list(self.modules_loaded),
            "scripts_run": [
                {"module": s.module, "stage": s.stage, "version": s.version, "name": s.name,
                 "line": s.lineno} for s in self.scripts_run
            ],
            "hints": [h.as_dict() for h in self.hints],
            "log_records": self.records, "aborted": self.fatal, "finished": self.finished,
        }


def explain_text(text: str) -> Explanation:
    """Explain a log, complete or an excerpt; never raises on any text."""
    report = parse_paste(text)
    dbnames = tuple(sorted({r.dbname for r in report.records if r.dbname}))
    return Explanation(
        errors=_explained(report, dbnames),
        modules_loaded=report.modules_loaded,
        scripts_run=report.scripts_run,
        hints=hints_for(report),
        records=sum(1 for r in report.records if r.logger),
        fatal=report.fatal,
        finished=report.finished,
        dbnames=dbnames,
    )


def _explained(report: LogReport, dbnames: tuple[str, ...]) -> tuple[ExplainedError, ...]:
    """One entry per failure: each module's primary error and the errors of no module, the same
    fingerprint once; "Failed to initialize database" after a module's own error is that
    error's consequence (the registry hint tells it)."""
    chosen: list[LogError] = []
    for module in report.failed_modules:
        error = report.primary_error(module)
        if error is not None:
            chosen.append(error)
    chosen.extend(e for e in report.errors if e.module is None)
    chosen.sort(key=lambda e: e.lineno)
    counts: dict[str, int] = {}
    for error in report.errors:
        key = fingerprint_error(error, dbnames).key
        counts[key] = counts.get(key, 0) + 1
    explained: dict[str, ExplainedError] = {}
    for error in chosen:
        item = _explain(error, dbnames, counts)
        explained.setdefault(item.fingerprint.key, item)
    return tuple(explained.values())


def _explain(error: LogError, dbnames: tuple[str, ...], counts: dict[str, int]) -> ExplainedError:
    lines = error.excerpt.splitlines()
    raised = (tracebacks.root_cause(lines)
              or tracebacks.exception_from_message(own_message(error.message)))
    fingerprint = fingerprint_error(error, dbnames)
    stage = error.stage
    if error.module is None:
        stage = tracebacks.stage_of(lines) or stage  # the traceback knows, the log did not say
    script = error.script or (found.path if (found := tracebacks.script_of(lines)) else None)
    return ExplainedError(
        module=error.module, stage=stage, kind=error.kind, level=error.level,
        lineno=error.lineno, script=script, exception=raised.cls if raised else "",
        message=raised.message if raised else error.message, fingerprint=fingerprint,
        excerpt=error.excerpt,
        cut=tracebacks.has_frames(lines) and not tracebacks.exceptions(lines),
        repeats=counts.get(fingerprint.key, 1),
    )
