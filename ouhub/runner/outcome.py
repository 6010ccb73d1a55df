"""Decide a run's status and each module's outcome from the evidence (pure: no I/O).

The evidence: ``ir_module_module`` before and after, the parsed server log, the
exit code and whether the command timed out. A run is ``passed`` only when every
module shows it was upgraded: installed, its version rose, and the migration
scripts it has for this step were run. An exit code of 0 proves nothing (old
servers exit 0 after errors); a non-zero exit with a clean log is an ``error``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ouhub.records import Fingerprint
from ouhub.runner import tracebacks
from ouhub.runner.fingerprint import fingerprint_error, fingerprint_reason
from ouhub.runner.logparse import LogReport, parse_line
from ouhub.versions import version_tuple
from ouhub.vocab import (
    ERROR,
    FAILED,
    MODULE_FAILED,
    NOT_REACHED,
    OUTCOMES,
    PASSED,
    TIMEOUT,
    UPGRADED,
)

PENDING_STATES = ("to upgrade", "to install", "to remove")
CONSIDERED_STATES = ("installed", "to upgrade", "to install")


@dataclass(frozen=True)
class ModuleOutcome:
    module: str
    outcome: str  # upgraded, failed, not_reached
    version_before: str | None
    version_after: str | None
    scripts: tuple[str, ...]
    excerpt: str  # traceback excerpt, or why the module is not counted as upgraded
    why: str = ""  # one line: the exception of the traceback, else the first reason
    fingerprint: Fingerprint | None = None  # a failed module's: the same failure, the same one

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "outcome": self.outcome,
                "version_before": self.version_before, "version_after": self.version_after,
                "scripts": list(self.scripts), "why": self.why, "excerpt": self.excerpt,
                "fingerprint": self.fingerprint.as_dict() if self.fingerprint else None}


@dataclass(frozen=True)
class RunOutcome:
    status: str  # passed, failed, timeout, error
    message: str
    modules: tuple[ModuleOutcome, ...]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for module in self.modules:
            counts[module.outcome] += 1
        return counts


def decide_run(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    report: LogReport,
    exit_code: int | None,
    timed_out: bool,
    with_scripts: Collection[str] = (),
) -> RunOutcome:
    """The run status and per-module outcomes.

    ``before``/``after``: module name -> a row with ``state`` and ``version``
    (``pg.IrModule`` or anything alike). ``with_scripts``: the modules that have
    migration scripts for this step, whose scripts must show up in the log.
    """
    errors = _errors_by_module(report)
    loaded = list(report.modules_loaded)
    scripts_run: dict[str, tuple[str, ...]] = {}
    for script in report.scripts_run:
        scripts_run[script.module] = (*scripts_run.get(script.module, ()),
                                      f"{script.version}/{script.name}")
    skipped = set(report.skipped_modules)
    test_failures = _test_failures(report)
    last_loaded = loaded[-1] if loaded else None
    clean_finish = not timed_out and exit_code == 0 and not report.errors and not report.fatal
    dbnames = {r.dbname for r in report.records if r.dbname}

    outcomes = []
    for name in sorted(before):
        row = before[name]
        if row.state not in CONSIDERED_STATES:
            continue
        now = after.get(name)
        version_after = now.version if now else None
        ran = scripts_run.get(name, ())
        reasons: list[str] = []
        if name in errors:
            reasons.append(errors[name])
        if name in test_failures:
            reasons.append(test_failures[name])
        if name in skipped:
            reasons.append(f"the server skipped {name}: not installable, not in the addons path "
                           "or unmet dependencies")
        if now is None:
            reasons.append(f"{name} is no longer in ir_module_module")
        elif now.state in PENDING_STATES:
            reasons.append(f"{name} was left in state '{now.state}'")
        elif now.state != "installed":
            reasons.append(f"{name} ended in state '{now.state}'")
        rose = now is not None and version_tuple(version_after) > version_tuple(row.version)
        if now is not None and not rose:
            reasons.append(f"{name}: version did not rise ({row.version} -> {version_after})")
        if name in with_scripts and not ran:
            reasons.append(f"{name} has migration scripts for this step but none ran")
        if not reasons:
            outcome = UPGRADED
        elif name in errors or name in test_failures or name in loaded or name in skipped:
            outcome = MODULE_FAILED  # it was loaded, yet there is no evidence it was upgraded
        elif timed_out and name == last_loaded:
            outcome = MODULE_FAILED
        elif clean_finish:
            outcome = MODULE_FAILED  # the server finished without it: the module is the cause
        else:
            outcome = NOT_REACHED
        if timed_out and name == last_loaded and outcome == MODULE_FAILED:
            reasons.insert(0, f"the upgrade timed out while loading {name}")
        excerpt = "" if outcome == UPGRADED else "\n".join(dict.fromkeys(reasons))
        why = "" if outcome == UPGRADED else _last_line(reasons[0])
        fingerprint = None
        if outcome == MODULE_FAILED:
            error = report.primary_error(name)
            fingerprint = (fingerprint_error(error, dbnames) if error is not None
                           else fingerprint_reason(name, reasons[0]))
        outcomes.append(ModuleOutcome(name, outcome, row.version, version_after, ran, excerpt,
                                      why, fingerprint))

    modules = tuple(outcomes)
    bad = [v for v in modules if v.outcome != UPGRADED]
    log_errors = list(report.errors)
    fatal = report.fatal
    if not modules:
        return RunOutcome(ERROR, "no installed module in the database before the run", modules)
    if timed_out:
        where = next((v.module for v in bad if v.outcome == MODULE_FAILED), None)
        return RunOutcome(TIMEOUT, "the upgrade command timed out"
                          + (f" while loading {where}" if where else ""), modules)
    if exit_code not in (0, None) and not log_errors and not fatal:
        return RunOutcome(ERROR, f"the upgrade command exited {exit_code} with no error in "
                          "its log" + _summary(bad), modules)
    if bad or log_errors or fatal:
        first = next((v for v in bad if v.outcome == MODULE_FAILED), bad[0] if bad else None)
        parts = []
        if first is not None:
            headline = _headline(first.excerpt)
            parts.append(headline if headline.startswith(f"{first.module}:")
                         else f"{first.module}: {headline}")
        elif log_errors:
            parts.append("errors in the server log")
        if fatal:
            parts.append("the server aborted the update")
        if exit_code not in (0, None):
            parts.append(f"exit code {exit_code}")
        return RunOutcome(FAILED, "; ".join(parts) + _summary(bad), modules)
    return RunOutcome(PASSED, f"{len(modules)} modules upgraded", modules)


def _last_line(reason: str) -> str:
    """The exception a traceback ends with (psycopg2 adds LINE/^ lines after it), else the
    reason's first line."""
    lines = reason.splitlines()
    raised = tracebacks.exceptions(lines)
    if raised:
        return str(raised[-1])
    first = next((line for line in lines if line.strip()), "")
    return _headline(first.strip())


def _headline(excerpt: str) -> str:
    """The first line of an excerpt, without the log header."""
    line = excerpt.splitlines()[0] if excerpt else ""
    record = parse_line(line)
    return record.message if record else line


def _summary(bad: list[ModuleOutcome]) -> str:
    failed = sum(1 for v in bad if v.outcome == MODULE_FAILED)
    missed = sum(1 for v in bad if v.outcome == NOT_REACHED)
    bits = [f"{failed} failed"] if failed else []
    if missed:
        bits.append(f"{missed} not reached")
    return f" ({', '.join(bits)})" if bits else ""


def _errors_by_module(report: LogReport) -> dict[str, str]:
    found: dict[str, str] = {}
    for module in report.failed_modules:
        error = report.primary_error(module)
        if error is not None:
            found[module] = error.excerpt or error.message
    return found


def _test_failures(report: LogReport) -> dict[str, str]:
    return {
        t.module: f"{t.module}: {t.failures} failures, {t.errors} errors of {t.tests} tests"
        for t in report.test_failures if t.failures or t.errors
    }
