"""The known causes of a failed (or silently wrong) upgrade, recognised in a parsed log.

Each hint names the cause, says what to do, and quotes its evidence: the log lines, with
their line numbers, that show it. Pure: a ``LogReport`` in, hints out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ouhub.runner import tracebacks
from ouhub.runner.logparse import LogError, LogRecord, LogReport

SCRIPT_IMPORT, MIGRATE_SIGNATURE, REGISTRY_FAILED, ONLY_BASE_SCRIPTS = (
    "script_import", "migrate_signature", "registry_failed", "only_base_scripts")
EVIDENCE_CHARS = 300
# a clean log where base alone ran scripts while this many other modules loaded: #2446
ONLY_BASE_MIN_OTHERS = 2

_UNABLE = re.compile(r"Unable to load (?P<stage>\w+)-migration file (?P<file>\S+)")
_SIGNATURE = re.compile(
    r"`migrate`'s signature should be|\bmigrate\(\) (?:takes|missing|got multiple)"
    r"|must have a \"migrate\(cr, installed_version\)\" function"
)
_LOAD_SCRIPT = re.compile(r"\bin load_script\b|\bload_script\(|imp\.load_module\(")
_SYNTAX = ("SyntaxError", "IndentationError", "TabError")
_IMPORT = ("ImportError", "ModuleNotFoundError")
_LOADING_FRAMES = re.compile(r"\b(?:load_data|convert_file|init_models|_process_end|load_modules"
                             r"|load_module_graph)\b")


@dataclass(frozen=True)
class Evidence:
    lineno: int  # in the text as given (1-based)
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.lineno, "text": self.text}


@dataclass(frozen=True)
class Hint:
    cause: str  # one of the constants above
    module: str | None
    summary: str  # what is wrong, in one line
    advice: str  # what to do
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, object]:
        return {"cause": self.cause, "module": self.module, "summary": self.summary,
                "advice": self.advice, "evidence": [e.as_dict() for e in self.evidence]}


def hints_for(report: LogReport) -> tuple[Hint, ...]:
    """Every known cause the log shows, each once per module."""
    records = {r.lineno: r for r in report.records}
    found: list[Hint] = []
    for error in report.errors:
        lines = list(_lines_of(records.get(error.lineno), error))
        for hint in (_script_import(error, lines), _signature(error, lines),
                     _registry(error, lines, report)):
            if hint and not any((h.cause, h.module) == (hint.cause, hint.module) for h in found):
                found.append(hint)
    if hint := _only_base(report, records):
        found.append(hint)
    return tuple(found)


def _lines_of(record: LogRecord | None, error: LogError) -> Iterator[Evidence]:
    """The numbered lines of the record an error comes from (its header, then the rest)."""
    if record is None:
        yield Evidence(error.lineno, _cut(error.message))
        return
    start = record.lineno
    if record.logger:
        yield Evidence(start, _cut(record.message))
        start += 1
    for offset, text in enumerate(record.continuation):
        yield Evidence(start + offset, _cut(text))


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"


def _first(lines: list[Evidence], pattern: re.Pattern[str]) -> Evidence | None:
    return next((e for e in lines if pattern.search(e.text)), None)


def _last(lines: list[Evidence], pattern: re.Pattern[str]) -> Evidence | None:
    """The last matching line: a traceback's exception comes after the code that raised it."""
    return next((e for e in reversed(lines) if pattern.search(e.text)), None)


def _exception_line(lines: list[Evidence], raised: tracebacks.RaisedException) -> Evidence | None:
    wanted = str(raised)
    return next((e for e in reversed(lines) if e.text.startswith(wanted[:80])), None)


def _script_import(error: LogError, lines: list[Evidence]) -> Hint | None:
    text = [e.text for e in lines]
    unable = _first(lines, _UNABLE)
    via_loader = _first(lines, _LOAD_SCRIPT)
    if error.kind != "load" and unable is None and via_loader is None:
        return None
    raised = tracebacks.root_cause(text) or tracebacks.exception_from_message(error.message)
    script = error.script or (match["file"] if unable and (match := _UNABLE.search(unable.text))
                              else None)
    module = error.module
    where = f" {script}" if script else ""
    evidence = [e for e in (unable or via_loader, _exception_line(lines, raised) if raised
                            else None) if e is not None]
    name = raised.name if raised else ""
    if name in _SYNTAX:
        frame = next((e for e in reversed(lines) if e.text.startswith("File ")), None)
        summary = f"the migration script{where} has a syntax error, so the server cannot load it"
        advice = "fix the script at the line the traceback names"
        if frame is not None:
            evidence.insert(1, frame)
    elif name in _IMPORT and "openupgradelib" in " ".join(text):
        summary = (f"the migration script{where} imports openupgradelib, which the server's "
                   "Python cannot import (missing, or too old for what the script uses)")
        advice = ("install or upgrade openupgradelib in the Python environment that runs the "
                  "server: `pip install --upgrade openupgradelib`")
    elif name in _IMPORT:
        summary = (f"the migration script{where} imports a library the server's Python "
                   f"cannot import ({raised.message if raised else 'no message'})")
        advice = "install that library in the Python environment that runs the server"
    else:
        summary = f"the server could not load the migration script{where}"
        advice = ("read the exception it ends with; a script must import cleanly with the "
                  "server's Python (a Python 2 server cannot load Python 3 syntax)")
    return Hint(SCRIPT_IMPORT, module, summary, advice, tuple(evidence))


def _signature(error: LogError, lines: list[Evidence]) -> Hint | None:
    evidence = _last(lines, _SIGNATURE)
    if evidence is None:
        return None
    script = f" in {error.script}" if error.script else ""
    return Hint(
        MIGRATE_SIGNATURE, error.module,
        f"`migrate`{script} does not take the arguments the server passes: (cr, version)",
        "define it as `def migrate(cr, version):`; a script written for openupgradelib as "
        "`@openupgrade.migrate()` + `def migrate(env, version):` needs an openupgradelib recent "
        "enough for the server (Odoo 18 checks the signature): `pip install --upgrade "
        "openupgradelib`",
        (evidence,),
    )


def _registry(error: LogError, lines: list[Evidence], report: LogReport) -> Hint | None:
    if error.kind != "init":
        return None
    text = [e.text for e in lines]
    stage = tracebacks.stage_of(text) or (error.stage if error.module else None)
    module = error.module
    if stage in tracebacks.STAGES:
        during = f"during the {stage} stage" + (f" of {module}" if module else "")
        shown = _first(lines, re.compile(r"migrate_module\(|/migrations?/|/scripts/"))
    elif module or _first(lines, _LOADING_FRAMES):
        during = f"while loading {module}" if module else "while loading the modules"
        shown = _first(lines, _LOADING_FRAMES)
    else:
        during, shown = "before any module was loaded", None
    earlier = [e for e in report.errors if e.lineno < error.lineno and e.kind != "init"]
    cause = (f"; the error at line {earlier[-1].lineno} is the cause" if earlier else "")
    evidence = [Evidence(error.lineno, _cut(error.message))]
    if shown is not None:
        evidence.append(shown)
    return Hint(
        REGISTRY_FAILED, module,
        f"the registry failed to load {during}: the update stopped there{cause}",
        "the modules after that point were not upgraded and the database is half-upgraded: "
        "fix the cause, then run the upgrade again on a fresh copy of the original database",
        tuple(evidence),
    )


def _only_base(report: LogReport, records: dict[int, LogRecord]) -> Hint | None:
    """OpenUpgrade #2446: a clean log where only base ran migration scripts."""
    with_scripts = {s.module for s in report.scripts_run}
    others = [m for m in report.modules_loaded if m != "base"]
    if report.errors or with_scripts != {"base"} or len(others) < ONLY_BASE_MIN_OTHERS:
        return None
    first = next(s for s in report.scripts_run if s.module == "base")
    evidence = [Evidence(first.lineno, _cut(records[first.lineno].message)
                         if first.lineno in records else "module base: Running migration")]
    advice = ("put OpenUpgrade's addons folder first in --addons-path (or drop Odoo's own "
              "addons from it); from 14.0, run Odoo with `--load=base,web,openupgrade_framework`"
              " and openupgrade_scripts' scripts as `--upgrade-path`")
    paths = report.addons_paths
    if paths:
        evidence.append(Evidence(report.addons_paths_lineno, _cut(
            "addons paths: " + ", ".join(paths))))
        ours = next((i for i, p in enumerate(paths) if "openupgrade" in p.lower()), None)
        if ours:
            advice = (f"{paths[0]} comes before {paths[ours]} in the addons path: " + advice)
    return Hint(
        ONLY_BASE_SCRIPTS, None,
        f"only base ran migration scripts, while {len(others)} other modules loaded without "
        "any: the server loaded plain Odoo addons instead of OpenUpgrade's (OpenUpgrade #2446)",
        advice, tuple(evidence),
    )
