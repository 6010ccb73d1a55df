"""`ouhub explain`'s plain-text rendering (``--json`` prints ``ExplainReport.as_dict()``)."""

from __future__ import annotations

from collections.abc import Sequence

from ouhub.explain.analysis import ExplainedError
from ouhub.explain.command import ExplainReport
from ouhub.output import terminal_safe
from ouhub.records import revno_of
from ouhub.runner.failures import Sighting

LIST_LIMIT = 30  # module names listed before "and N more"


def render(report: ExplainReport) -> str:
    """The report as lines of text, safe for a terminal (the paste's text is data)."""
    ex = report.explanation
    out = [_headline(report)]
    for number, error in enumerate(ex.errors, 1):
        out.append("")
        out.extend(_error_lines(number, error, report))
    if ex.hints:
        out.append("")
        out.append("known causes:")
        for hint in ex.hints:
            out.append(f"  * {hint.summary}")
            out.append(f"    what to do: {hint.advice}")
            for evidence in hint.evidence:
                out.append(f"    line {evidence.lineno}: {evidence.text}")
    out.append("")
    out.append(f"modules whose scripts ran: {_names(ex.modules_with_scripts)}")
    out.append(f"modules loaded: {_names(ex.modules_loaded)}")
    if report.history is not None:
        out.append(f"(not compared with ouhub's runs: {report.history})")
    return terminal_safe("\n".join(out)) + "\n"


def _headline(report: ExplainReport) -> str:
    ex = report.explanation
    errors = len(ex.errors)
    what = (f"{errors} failure{'s' if errors != 1 else ''}" if errors else "no error")
    bits = [f"{what} in {report.source} ({report.lines} lines, {ex.records} log records)"]
    if ex.fatal:
        bits.append("the server aborted the update")
    elif ex.finished:
        bits.append("the server finished loading the modules")
    if not ex.records and not errors:
        bits.append("no server log line recognised: paste the lines with a timestamp, a level "
                    "and a logger, or a traceback")
    return "; ".join(bits)


def _error_lines(number: int, error: ExplainedError, report: ExplainReport) -> list[str]:
    where = f"{error.module}, {error.stage} stage" if error.module else f"{error.stage} stage"
    head = f"failure {number}, line {error.lineno}: {where}"
    if error.script:
        head += f" (script {error.script})"
    if error.repeats > 1:
        head += f"; {error.repeats} errors of the log say the same"
    lines = [head]
    exception = f"{error.exception}: {error.message}" if error.exception else error.message
    lines.append(f"  {exception}")
    if error.cut:
        lines.append("  (the traceback is cut before its exception line: paste its end too)")
    lines.append(f"  fingerprint {error.fingerprint.key}: {error.fingerprint.summary}")
    if report.history is None:
        lines.extend(_seen_lines(report.seen.get(error.fingerprint.key, ())))
    return lines


def _seen_lines(sightings: Sequence[Sighting]) -> list[str]:
    if not sightings:
        return ["  not seen in ouhub's runs"]
    lines = []
    for s in sightings:
        runs = f"run {s.first_run}" if s.runs == 1 else (
            f"runs {s.first_run} to {s.last_run} ({s.runs} runs)")
        text = (f"  seen in ouhub's runs: {s.module} in sample {s.sample} into {s.release}, "
                f"{runs}, last {s.last_seen}")
        if s.fixed_at is not None:
            revisions = (", ".join(f"{b} {revno_of(r)}" for b, r in s.fixed_at.revisions)
                         or "no revision recorded")
            text += f"; fixed since run {s.fixed_at.run_id} ({revisions})"
        else:
            text += "; not fixed since"
        lines.append(text)
    return lines


def _names(names: Sequence[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:LIST_LIMIT])
    more = len(names) - LIST_LIMIT
    return f"{shown} and {more} more ({len(names)})" if more > 0 else shown
