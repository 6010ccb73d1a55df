"""`ouhub check`: can a set of modules be migrated from one release to another?

Three parts, kept apart:

- ``decide(modules, source, target, data)``: the verdict rules, pure. ``data`` is
  the check data (``build_check_data``), the very document the site publishes as
  ``api/check-data.json``; ``ouhub/site/static/check.js`` applies the same rules
  to it in the browser, and ``tests/check_vectors.json`` holds them to agreeing.
- ``parse_module_list(text)``: a pasted or saved module list, pure.
- ``build_check_data`` (the store) and ``read_database`` (a live database, in a
  read-only transaction): the I/O.

Verdict rules, per module and step along the chain source -> target:

=============  ===============================================================
``ok``         done, nothing_to_do, new (or renamed/merged into a module that is)
``at_risk``    partial; declared and found disagree; the last nightly run failed
               on the module; coverage status unknown
``blocked``    todo; removed without a replacement (the chain stops there)
``not_covered`` not in OpenUpgrade's coverage of that step: a custom or community
               module the user migrates; or no coverage stored for the step
=============  ===============================================================

A renamed or merged module is judged with its target's entry in the same step,
and looked up under the target's name in later steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ouhub.errors import CheckError

SCHEMA_VERSION = 1
REPORT_SCHEMA_VERSION = 1
# Order is severity: a module's overall verdict is the worst of its steps.
VERDICTS = ("ok", "at_risk", "not_covered", "blocked")
_SEVERITY = {verdict: rank for rank, verdict in enumerate(VERDICTS)}
STATUS_VERDICT = {
    "done": "ok",
    "nothing_to_do": "ok",
    "new": "ok",
    "partial": "at_risk",
    "unknown": "at_risk",
    "todo": "blocked",
    "removed": "blocked",
}
# A rename's or merge's target entry in the same step that decides the verdict too; a `new`
# target is just the new name showing up, not news about the module.
_JUDGED_TARGET = ("done", "nothing_to_do", "partial", "unknown", "todo", "removed")
MODULE_NAME = re.compile(r"^[a-z0-9_]+$")  # technical names are lowercase
LIST_HINT = (
    "a module list holds lowercase technical names (account, sale_stock, ...), "
    "separated by newlines, commas or spaces; '#' starts a comment"
)


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a verdict: a stable code, a sentence, and the evidence it rests on."""

    code: str
    text: str
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class StepVerdict:
    """The verdict of one module in one step; ``name`` is the name looked up there and
    ``target`` the module it is renamed or merged into there (looked up in later steps)."""

    previous: str
    release: str
    name: str
    status: str | None
    verdict: str
    reasons: tuple[Reason, ...]
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "release": self.release,
            "name": self.name,
            "status": self.status,
            "verdict": self.verdict,
            "target": self.target,
            # Reason.to_dict inlined: a report holds ~10 reasons per module, a thousand modules.
            "reasons": [{"code": r.code, "text": r.text, "evidence": list(r.evidence)}
                        for r in self.reasons],
        }


@dataclass(frozen=True)
class ModuleVerdict:
    """A module of the user's list: its worst verdict and one entry per step it reached."""

    module: str
    verdict: str
    steps: tuple[StepVerdict, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "verdict": self.verdict,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class CheckReport:
    source: str
    target: str
    steps: tuple[tuple[str, str], ...]
    modules: tuple[ModuleVerdict, ...]

    @property
    def counts(self) -> dict[str, int]:
        counts = {verdict: 0 for verdict in VERDICTS}
        for module in self.modules:
            counts[module.verdict] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 all ok, 1 something at risk, 2 something blocked or not covered."""
        counts = self.counts
        if counts["blocked"] or counts["not_covered"]:
            return 2
        return 1 if counts["at_risk"] else 0

    def step_counts(self) -> list[dict[str, Any]]:
        rows = {r: {"previous": p, "release": r, **dict.fromkeys(VERDICTS, 0)}
                for p, r in self.steps}
        for module in self.modules:
            for step in module.steps:
                rows[step.release][step.verdict] += 1
        return list(rows.values())

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (README "Check"); check.js returns exactly this."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "source": self.source,
            "target": self.target,
            "steps": [{"previous": p, "release": r} for p, r in self.steps],
            # ModuleVerdict.to_dict and StepVerdict.to_dict inlined: 1,000 modules x 5 steps.
            "modules": [
                {"module": m.module, "verdict": m.verdict, "steps": [
                    {"previous": s.previous, "release": s.release, "name": s.name,
                     "status": s.status, "verdict": s.verdict, "target": s.target,
                     "reasons": [{"code": r.code, "text": r.text, "evidence": list(r.evidence)}
                                 for r in s.reasons]}
                    for s in m.steps]}
                for m in self.modules
            ],
            "summary": {"modules": len(self.modules), **self.counts, "steps": self.step_counts()},
            "exit_code": self.exit_code,
        }


# -- the rules -----------------------------------------------------------------------------------


def chain(data: Mapping[str, Any], source: str, target: str) -> list[tuple[str, str]]:
    """The steps (previous, release) from ``source`` to ``target`` in the check data."""
    previous_of = {r["name"]: r.get("previous") for r in data.get("releases", [])}
    known = ", ".join(previous_of) or "none"
    for name in (source, target):
        if name not in previous_of:
            raise CheckError(
                f"unknown release {name!r}", hint=f"known releases: {known}"
            )
    steps: list[tuple[str, str]] = []
    current = target
    while current != source:
        previous = previous_of.get(current) or None
        if previous is None or len(steps) > len(previous_of):
            raise CheckError(
                f"release {target} does not follow {source}",
                hint="an upgrade goes forward, one release at a time: pick a later --to",
            )
        steps.append((previous, current))
        current = previous
    if not steps:
        raise CheckError(
            f"--from and --to are both {source}: there is nothing to upgrade",
            hint="pick a later target release with --to",
        )
    return steps[::-1]


def decide(
    modules: Iterable[str], source: str, target: str, data: Mapping[str, Any]
) -> CheckReport:
    """Verdicts for ``modules`` upgraded from ``source`` to ``target`` (see the module doc)."""
    steps = chain(data, source, target)
    step_data = data.get("steps", {})
    hops = [(p, r, hop(p, r), (step_data.get(r) or {}).get("modules") or {}) for p, r in steps]
    severity = _SEVERITY.__getitem__
    verdicts = []
    for module in sorted(set(modules)):
        name: str | None = module
        entries: list[StepVerdict] = []
        for previous, release, hop_text, coverage in hops:
            if name is None:
                break
            entry, name = _judge(name, previous, release, hop_text, coverage)
            entries.append(entry)
        worst = max((e.verdict for e in entries), key=severity)
        verdicts.append(ModuleVerdict(module, worst, tuple(entries)))
    return CheckReport(source, target, tuple(steps), tuple(verdicts))


def _judge(
    name: str, previous: str, release: str, hop: str, coverage: Mapping[str, Any]
) -> tuple[StepVerdict, str | None]:
    """One step: the verdict for ``name``, and the name to follow in the next step (or None)."""
    entry = coverage.get(name)
    if entry is None:
        if not coverage:
            reason = Reason(
                "no_coverage",
                f"ouhub holds no coverage for {hop}, so it cannot tell whether {name} migrates; "
                "the coverage scan has not run for this step",
            )
        else:
            reason = Reason("not_in_openupgrade", _unknown_text(name, hop, release))
        return StepVerdict(previous, release, name, None, "not_covered", (reason,)), name

    status = entry.get("status") or "unknown"
    reasons: list[Reason] = []
    if status in ("renamed", "merged"):
        new_name = entry.get("target")
        word = "renamed to" if status == "renamed" else "merged into"
        if not new_name:
            reasons.append(Reason(
                "missing_target",
                f"{name} is {status} in {release}, but the coverage does not say into what; "
                "ouhub cannot follow it further",
                _evidence(entry),
            ))
            return StepVerdict(previous, release, name, status, "at_risk", tuple(reasons)), None
        reasons.append(Reason(status, f"{name} is {word} {new_name} in {release}", _evidence(entry)))
        verdict = "ok"
        target_entry = coverage.get(new_name)
        if target_entry is not None and target_entry.get("status") in _JUDGED_TARGET:
            verdict = _status_verdict(new_name, release, hop, target_entry, reasons, verdict)
            if "disagreements" in target_entry or "run" in target_entry:
                verdict = _disagreements_and_run(new_name, target_entry, reasons, verdict)
        if "disagreements" in entry or "run" in entry:
            verdict = _disagreements_and_run(name, entry, reasons, verdict)
        return (StepVerdict(previous, release, name, status, verdict, tuple(reasons), new_name),
                new_name)

    verdict = _status_verdict(name, release, hop, entry, reasons, "ok")
    # Most entries have neither: skip the call (a thousand modules, five steps).
    if "disagreements" in entry or "run" in entry:
        verdict = _disagreements_and_run(name, entry, reasons, verdict)
    return (StepVerdict(previous, release, name, status, verdict, tuple(reasons)),
            None if status == "removed" else name)


def _unknown_text(name: str, hops: str, release: str) -> str:
    return (f"{name} is unknown to ouhub: it is not in OpenUpgrade's coverage of {hops}, so it "
            f"is a custom or community (e.g. OCA) module. Whether it is ported to {release} and "
            "has migration scripts is for you to find out: you migrate it yourself")


def _worse(a: str, b: str) -> str:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def _evidence(entry: Mapping[str, Any]) -> tuple[str, ...]:
    evidence = entry.get("evidence")
    return tuple(map(str, evidence)) if evidence else ()


def _status_verdict(
    name: str, release: str, hop: str, entry: Mapping[str, Any], reasons: list[Reason],
    verdict: str,
) -> str:
    status = entry.get("status")
    if status == "done":
        text = f"{name} has migration scripts for {hop}"
    elif status == "nothing_to_do":
        text = f"{name} is declared to need nothing for {hop}"
    elif status == "new":
        text = f"{name} is new in {release}: nothing to migrate"
    elif status == "partial":
        text = f"{name} is declared only partly migrated for {hop}"
    elif status == "todo":
        text = (f"{name} exists in both releases but has no migration scripts and no declared "
                f"status for {hop}")
    elif status == "removed":
        text = f"{name} is removed in {release} without a replacement"
    else:
        status = "unknown"
        text = f"ouhub could not establish the coverage of {name} for {hop}"
    evidence = entry.get("evidence")
    reasons.append(Reason(status, text, tuple(map(str, evidence)) if evidence else ()))
    found = STATUS_VERDICT[status]
    return verdict if _SEVERITY[verdict] >= _SEVERITY[found] else found


def _disagreements_and_run(
    name: str, entry: Mapping[str, Any], reasons: list[Reason], verdict: str
) -> str:
    disagreements = entry.get("disagreements")
    if disagreements:
        reasons.append(Reason(
            "disagreement",
            f"what is declared for {name} and what is found in the branch disagree",
            tuple(map(str, disagreements)),
        ))
        verdict = _worse(verdict, "at_risk")
    run = entry.get("run")
    if run:
        where = f"sample {run.get('sample') or '?'}, {run.get('at') or 'unknown time'}"
        run_status = run.get("run_status") or "unknown"
        evidence = run.get("evidence")
        evidence = tuple(map(str, evidence)) if evidence else ()
        outcome = run.get("outcome")
        if outcome == "failed":
            reasons.append(Reason(
                "run_failed",
                f"the last nightly run ({where}; run {run_status}) failed on {name}",
                evidence,
            ))
            verdict = _worse(verdict, "at_risk")
        elif outcome == "upgraded":
            reasons.append(Reason(
                "run_upgraded",
                f"the last nightly run ({where}; run {run_status}) upgraded {name}",
                evidence,
            ))
        elif outcome == "not_reached":
            reasons.append(Reason(
                "run_not_reached",
                f"the last nightly run ({where}; run {run_status}) stopped before reaching {name}",
                evidence,
            ))
    return verdict


# -- module lists --------------------------------------------------------------------------------


class ModuleListError(CheckError):
    """A module list with junk lines (their numbers in ``junk_lines``) or no names at all."""

    def __init__(self, message: str, hint: str | None = None, junk_lines: tuple[int, ...] = ()):
        super().__init__(message, hint)
        self.junk_lines = junk_lines


def parse_module_list(text: str, source: str = "the module list") -> tuple[str, ...]:
    """Module names separated by newlines, commas or spaces, '#' comments; first seen order."""
    names: list[str] = []
    junk: list[str] = []
    junk_lines: list[int] = []
    # Explicit separators, so that check.js splits exactly the same way.
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        body = line.split("#", 1)[0]
        tokens = [t for t in re.split(r"[ \t\f\v,]+", body) if t]
        if any(not MODULE_NAME.match(t) for t in tokens):
            junk.append(f"line {number}: {line.strip()!r}")
            junk_lines.append(number)
            continue
        names.extend(tokens)
    if junk:
        count = f"{len(junk)} line" + ("s are" if len(junk) > 1 else " is")
        shown = junk[:10] + ([f"... and {len(junk) - 10} more"] if len(junk) > 10 else [])
        raise ModuleListError(
            f"{source}: {count} not module names:\n  " + "\n  ".join(shown),
            hint=LIST_HINT, junk_lines=tuple(junk_lines),
        )
    unique = tuple(dict.fromkeys(names))
    if not unique:
        raise ModuleListError(f"{source}: no module names found", hint=LIST_HINT)
    return unique


# -- check data ----------------------------------------------------------------------------------


def load_check_data(text: str, source: str) -> dict[str, Any]:
    """A check-data document read from a file (e.g. the site's api/check-data.json)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckError(
            f"{source}: not JSON: {exc}", hint="pass the site's api/check-data.json"
        ) from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise CheckError(
            f"{source}: not check data of schema version {SCHEMA_VERSION}",
            hint="pass the api/check-data.json of a site built by this ouhub version",
        )
    return data


def check_data_js(data: Mapping[str, Any]) -> str:
    """The check data as a script (api/check-data.js): a page on file:// cannot fetch() JSON."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    # Keep it inert even if someone inlines it in a <script> element.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.OUHUB_CHECK_DATA = {text};\n"


def build_check_data(
    config: Any, store: Any, releases: Iterable[str] | None = None
) -> dict[str, Any]:
    """Per step, per module: coverage status, target, evidence lines and last run outcome.

    Steps are keyed by their release (the step previous -> release); ``releases``
    limits the steps filled (the command needs only its chain; the site needs all).
    """
    wanted = None if releases is None else set(releases)
    steps: dict[str, Any] = {}
    for previous, release in config.steps:
        if wanted is not None and release not in wanted:
            continue
        modules: dict[str, Any] = {}
        for module, status, target, evidence, disagreements in store.check_coverage_rows(release):
            entry: dict[str, Any] = {"status": status}
            if target:
                entry["target"] = target
            if evidence != _NO_EVIDENCE:
                lines = evidence_lines(json.loads(evidence))
                if lines:
                    entry["evidence"] = lines
            if disagreements != "[]":
                found = [str(d) for d in json.loads(disagreements)]
                if found:
                    entry["disagreements"] = found
            modules[module] = entry
        for outcome in store.last_run_outcomes(release).values():
            entry = modules.get(outcome.module)
            if entry is not None:
                entry["run"] = _run_entry(outcome)
        steps[release] = {"previous": previous, "release": release, "modules": modules}
    return {
        "schema_version": SCHEMA_VERSION,
        "releases": [{"name": r.name, "previous": r.previous} for r in config.releases.values()],
        "steps": steps,
    }


def cached_check_data(config: Any, store: Any) -> dict[str, Any]:
    """The check data of every step, from a cache file in the data dir while the store's
    scans and finished runs are unchanged (the key), else built and cached anew.

    The cache is marshal, not JSON: it is read on every check and marshal reads this
    plain tree of dicts, lists and strings about twice as fast. It is private to this
    Python (its version is in the key); a file that does not load is rebuilt.
    """
    import logging
    import marshal
    import os
    import sys

    log = logging.getLogger(__name__)
    key = json.dumps([SCHEMA_VERSION, list(sys.version_info[:2]), marshal.version,
                      [[r.name, r.previous] for r in config.releases.values()],
                      store.check_data_key()])
    path = config.data_dir / "cache" / CACHE_NAME
    try:
        with open(path, "rb") as fh:
            cached = marshal.loads(fh.read())  # marshal.load(fh) reads piecemeal: slow
        if cached.get("key") == key:
            return cached["data"]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError, TypeError, AttributeError, KeyError) as exc:
        log.info("ignoring the check data cache %s: %s", path, exc)
    data = build_check_data(config, store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        with open(scratch, "wb") as fh:
            marshal.dump({"key": key, "data": data}, fh)
        os.replace(scratch, path)
    except (OSError, ValueError) as exc:  # a cache we cannot write only costs time
        log.info("cannot write the check data cache %s: %s", path, exc)
    return data


# The check data cache's file name in <data_dir>/cache (see cached_check_data).
CACHE_NAME = "check-data.marshal"


# How the store writes an Evidence with nothing in it (json.dumps(..., sort_keys=True)).
_NO_EVIDENCE = '{"apriori": null, "declaration": null, "scripts": []}'


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """Coverage evidence as short lines: script paths, the declaration line, the apriori entry."""
    lines = [f"script: {path}" for path in evidence.get("scripts") or ()]
    if evidence.get("declaration"):
        lines.append(f"declared: {evidence['declaration']}")
    if evidence.get("apriori"):
        lines.append(f"apriori: {evidence['apriori']}")
    return lines


def excerpt_tail(text: str, limit: int = 600) -> str:
    """The end of a log excerpt (where the error is), cut at a line boundary."""
    lines = text.strip().splitlines()
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if kept and size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(reversed(kept))[-limit:]


def _run_entry(outcome: Any) -> dict[str, Any]:
    """A ModuleRunOutcome of the store as the check data's ``run``."""
    run: dict[str, Any] = {
        "outcome": outcome.outcome,
        "run_status": outcome.run_status,
        "sample": outcome.sample,
        "at": outcome.finished_at,
        "run_id": outcome.run_id,
    }
    if outcome.outcome == "failed" and outcome.excerpt:
        run["evidence"] = [excerpt_tail(outcome.excerpt)]
    return {k: v for k, v in run.items() if v is not None}


# -- live databases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledModules:
    """What a database has installed (state installed or to upgrade), with versions."""

    versions: dict[str, str | None]
    base_version: str | None

    @property
    def release(self) -> str | None:
        """The release of the database, from base's version (7.0.1.3 -> 7.0)."""
        return release_of_version(self.base_version)


def release_of_version(version: str | None) -> str | None:
    match = re.match(r"^((?:saas~)?\d+\.\d+)(?:\.|$)", version or "")
    return match.group(1) if match else None


def connect_readonly(dsn: str) -> Any:
    """A psycopg2 connection whose every transaction is READ ONLY: check never writes."""
    import psycopg2

    from ouhub.config import redact_dsn

    try:
        conn = psycopg2.connect(dsn, connect_timeout=10)
    except psycopg2.Error as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckError(
            f"cannot connect to the database {redact_dsn(dsn)}: {detail}",
            hint="check the DSN (e.g. postgresql://user@host:5432/dbname), that the server runs "
            "and that it accepts your connection",
        ) from exc
    conn.set_session(readonly=True)
    return conn


def read_installed(conn: Any, dsn: str = "the database") -> InstalledModules:
    """Installed modules from ir_module_module, inside a read-only transaction."""
    import psycopg2

    from ouhub.config import redact_dsn

    try:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute("SELECT to_regclass('ir_module_module')")
            if cur.fetchone()[0] is None:
                raise CheckError(
                    f"{redact_dsn(dsn)} is not an OpenERP database: it has no ir_module_module "
                    "table",
                    hint="point --database at the OpenERP/Odoo database to upgrade",
                )
            cur.execute(
                "SELECT name, latest_version, state FROM ir_module_module ORDER BY name"
            )
            rows = cur.fetchall()
    except psycopg2.Error as exc:
        raise CheckError(
            f"cannot read the installed modules of {redact_dsn(dsn)}: {str(exc).strip()}",
            hint="the user needs SELECT on ir_module_module",
        ) from exc
    finally:
        conn.rollback()
    versions = {name: version for name, version, state in rows
                if state in ("installed", "to upgrade")}
    base = next((version for name, version, _ in rows if name == "base"), None)
    return InstalledModules(versions=versions, base_version=base)


def read_database(dsn: str) -> InstalledModules:
    """Connect read-only, read the installed modules, disconnect."""
    conn = connect_readonly(dsn)
    try:
        installed = read_installed(conn, dsn)
    finally:
        conn.close()
    if not installed.versions:
        raise CheckError(
            "the database has no installed modules (ir_module_module has none installed or "
            "to upgrade)",
            hint="point --database at a database in use, or pass --modules",
        )
    return installed


# -- the command's input and output --------------------------------------------------------------


@dataclass(frozen=True)
class CheckInput:
    """The modules to check and where they came from (kind: modules, file or database)."""

    kind: str
    modules: tuple[str, ...]
    versions: dict[str, str | None]
    database: str | None = None  # the DSN, password hidden
    base_version: str | None = None

    @property
    def release(self) -> str | None:
        return release_of_version(self.base_version)


def read_input(
    modules: str | None = None, modules_file: str | None = None, database: str | None = None,
    stdin: Any = None,
) -> CheckInput:
    """Exactly one of a comma list, a file ('-': stdin) or a live database."""
    given = [name for name, value in (
        ("--modules", modules), ("--modules-file", modules_file), ("--database", database)
    ) if value is not None]
    if len(given) != 1:
        raise CheckError(
            "pass exactly one of --modules, --modules-file or --database"
            + (f" (got {' and '.join(given)})" if given else ""),
            hint="e.g. ouhub check --to 8.0 --from 7.0 --modules account,sale,stock",
        )
    if modules is not None:
        return CheckInput("modules", parse_module_list(modules, "--modules"), {})
    if modules_file is not None:
        if modules_file == "-":
            import sys

            text = (stdin or sys.stdin).read()
        else:
            try:
                with open(modules_file, encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise CheckError(
                    f"cannot read the module list {modules_file}: {exc}",
                    hint="pass a UTF-8 text file of module names, or - for stdin",
                ) from exc
        name = "stdin" if modules_file == "-" else modules_file
        return CheckInput("file", parse_module_list(text, name), {})
    from ouhub.config import redact_dsn

    assert database is not None
    installed = read_database(database)
    return CheckInput(
        "database", tuple(installed.versions), dict(installed.versions),
        database=redact_dsn(database), base_version=installed.base_version,
    )


def source_release(given: str | None, found: CheckInput) -> tuple[str, bool]:
    """--from, else the database's release from base's version; (release, detected?)."""
    if given:
        return given, False
    if found.kind != "database":
        raise CheckError(
            "--from is needed with a module list",
            hint="say which release the modules run on now, e.g. --from 7.0 "
            "(with --database it is read from the base module's version)",
        )
    if found.release is None:
        raise CheckError(
            f"cannot tell the release of the database: base's version is "
            f"{found.base_version!r}",
            hint="pass --from with the release the database runs on",
        )
    return found.release, True


def run_check(
    target: str, source: str | None, found: CheckInput,
    load: Callable[[Sequence[str]], Mapping[str, Any]],
) -> tuple[CheckReport, bool]:
    """Decide for the input; (report, whether the source release was detected).

    ``load(releases)`` returns the check data with (at least) the steps into those
    releases; ``load(())`` is asked first, for the releases alone.
    """
    release, detected = source_release(source, found)
    known = [r["name"] for r in load(()).get("releases", [])]
    if detected and release not in known:
        raise CheckError(
            f"the database runs release {release} (base {found.base_version}), which is not "
            "configured",
            hint="known releases: " + (", ".join(known) or "none") + "; pass --from to override",
        )
    steps = chain({"releases": load(()).get("releases", [])}, release, target)
    data = load([r for _, r in steps])
    return decide(found.modules, release, target, data), detected


def report_json(report: CheckReport, found: CheckInput, detected: bool) -> dict[str, Any]:
    """The documented JSON of `ouhub check --format json`: the report plus its input."""
    data = report.to_dict()
    data["input"] = {
        "kind": found.kind,
        "database": found.database,
        "base_version": found.base_version,
        "source_detected": detected,
        "versions": dict(found.versions),
    }
    return data


def render(report: CheckReport, found: CheckInput, detected: bool, fmt: str) -> str:
    """The report as `ouhub check --format` prints it: table, json or markdown."""
    if fmt == "json":
        # Compact, keys in their documented order: a report of a thousand modules is
        # megabytes, and indenting or sorting makes the encoding several times slower.
        data = report_json(report, found, detected)  # a tree: no cycle to check
        return json.dumps(data, check_circular=False, separators=(",", ":")) + "\n"
    if fmt == "markdown":
        return markdown(report)
    # Plain text, not rich: rich needs seconds for a thousand rows and their reasons.
    why = reason_lines(report)
    return (hops_line(report) + "\n\n" + text_table(report)
            + ("\nwhy:\n" + "\n".join(why) + "\n" if why else "")
            + "\n" + summary_line(report) + "\n")


WORDS = {"ok": "ok", "at_risk": "at risk", "blocked": "blocked", "not_covered": "not covered"}


def hop(previous: str, release: str) -> str:
    return f"{previous} → {release}"


def hops_line(report: CheckReport) -> str:
    count = len(report.steps)
    return (f"{report.source} → {report.target} is {count} upgrade step"
            + ("s" if count > 1 else "") + ", one release at a time: "
            + ", ".join(hop(p, r) for p, r in report.steps))


def summary_line(report: CheckReport) -> str:
    counts = report.counts
    count = len(report.modules)
    return (f"{count} module{'' if count == 1 else 's'}: {counts['ok']} ok, "
            f"{counts['at_risk']} at risk, "
            f"{counts['blocked']} blocked, {counts['not_covered']} not covered "
            f"(exit {report.exit_code})")


def table_rows(report: CheckReport) -> list[list[str]]:
    """One row per module: its name, a cell per step ('-' once the chain stopped), the verdict."""
    rows = []
    count = len(report.steps)
    for module in report.modules:
        # A module's steps are the first ones of the chain, in order, until it stopped.
        row = [module.module]
        for step in module.steps:
            cell = WORDS[step.verdict] + (f" ({step.status})" if step.status else "")
            if step.target:
                cell = cell[:-1] + (" into " if step.status == "merged" else " to ") + step.target + ")"
            if step.name != module.module:
                cell += f" as {step.name}"
            row.append(cell)
        row.extend("-" * (count - len(module.steps)))
        row.append(WORDS[module.verdict])
        rows.append(row)
    return rows


def text_table(report: CheckReport) -> str:
    """The rows as a plain aligned table (rich takes seconds for a thousand rows)."""
    head = ["module", *(hop(p, r) for p, r in report.steps), "verdict"]
    rows = table_rows(report)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out) + "\n"


def why(report: CheckReport, module: ModuleVerdict) -> list[tuple[str, str, tuple[Reason, ...]]]:
    """(hops, verdict, reasons) per step of a module, for people to read. A module unknown
    to OpenUpgrade in every step is said once, not once per step."""
    steps = module.steps
    if len(steps) > 1 and all(s.reasons and s.reasons[0].code == "not_in_openupgrade"
                              and s.name == module.module for s in steps):
        hops = f"{report.source} → {report.target}, all {len(steps)} steps"
        reason = Reason("not_in_openupgrade", _unknown_text(module.module, "any step from "
                        f"{report.source} to {report.target}", report.target))
        return [(hops, "not_covered", (reason,))]
    return [(hop(s.previous, s.release), s.verdict, s.reasons) for s in steps]


def reason_lines(report: CheckReport, everything: bool = False) -> list[str]:
    """Why, per module not ok (or every module): per step its verdict, then each reason
    with its evidence."""
    lines: list[str] = []
    for module in report.modules:
        if module.verdict == "ok" and not everything:
            continue
        lines.append(f"{module.module}: {WORDS[module.verdict]}")
        for hops, verdict, reasons in why(report, module):
            lines.append(f"  {hops}: {WORDS[verdict]}")
            for reason in reasons:
                lines.append(f"    - {reason.text}")
                for evidence in reason.evidence:
                    lines.extend(f"        {line}" for line in evidence.splitlines())
    return lines


def markdown(report: CheckReport) -> str:
    """The report as Markdown (to paste into an issue or a migration plan)."""
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    head = ["module", *(hop(p, r) for p, r in report.steps), "verdict"]
    out = [f"# Check {report.source} → {report.target}", "", hops_line(report) + ".", "",
           summary_line(report) + ".", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table_rows(report)]
    out += ["", "## Why", ""]
    for module in report.modules:
        out.append(f"- **{cell(module.module)}**: {WORDS[module.verdict]}")
        for hops, verdict, reasons in why(report, module):
            out.append(f"  - {hops} ({WORDS[verdict]})")
            for reason in reasons:
                out.append(f"    - {cell(reason.text)}")
                for evidence in reason.evidence:
                    if "\n" in evidence:
                        # A log excerpt keeps its lines: a fenced block inside the list item.
                        runs = re.findall(r"~+", evidence)
                        fence = "~" * max([3, *(len(r) + 1 for r in runs)])
                        out.extend(f"      {line}".rstrip() for line in
                                   [fence, *evidence.splitlines(), fence])
                    else:
                        out.append(f"      - `{cell(evidence).replace('`', chr(39))}`")
    return "\n".join(out) + "\n"
