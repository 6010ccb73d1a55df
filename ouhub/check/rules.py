"""The verdict rules of `ouhub check`, pure: module names and check data in, a report out.

The check data (``ouhub.check.data``) is the very document the site publishes as
``api/check-data.json``; ``ouhub/site/static/check.js`` applies the same rules to it
in the browser, and ``tests/check_vectors.json`` holds them to agreeing.

Verdict rules, per module and step along the chain source -> target:

=============  ===============================================================
``ok``         done, nothing_to_do, new (or renamed/merged into a module that is)
``at_risk``    partial; declared and found disagree; the last nightly run failed
               on the module; coverage status unknown
``blocked``    todo; removed without a replacement (the chain stops there)
``not_covered`` not in OpenUpgrade's coverage of that step: a custom or community
               module the user migrates (a name one typo away from a covered one
               gets "did you mean"); renamed or merged into such a module; or no
               coverage stored for the step
=============  ===============================================================

A renamed or merged module is judged by its target's entry in the same step (a
target ouhub does not cover is ``not_covered``), and looked up under the target's
name in later steps. Every judged step also says whether a nightly run showed it to
work: ``run_upgraded`` (in run #N on sample S), ``run_failed``, ``run_not_reached``
or ``not_run`` (not run yet).

A blocked or at-risk module that someone is writing scripts for (the check data's
``work``, from the contributions stage) gets a ``work_in_progress`` reason naming the
open pull request and how long ago its author last worked on it; the verdict stays.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ouhub.errors import CheckError
from ouhub.vocab import VERDICTS

REPORT_SCHEMA_VERSION = 1
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
_MODULE_NAME = re.compile(r"[a-z0-9_]+")  # technical names (as check.js's MODULE_NAME)


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
class ModuleOutcome:
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
    """What check decided: a verdict per module over the steps from ``source`` to ``target``."""

    source: str
    target: str
    steps: tuple[tuple[str, str], ...]
    modules: tuple[ModuleOutcome, ...]

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
            # ModuleOutcome.to_dict and StepVerdict.to_dict inlined: 1,000 modules x 5 steps.
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


def decide_verdicts(
    modules: Iterable[str], source: str, target: str, data: Mapping[str, Any],
    now: datetime | str | None = None,
) -> CheckReport:
    """Verdicts for ``modules`` upgraded from ``source`` to ``target`` (see the module doc).

    ``now`` (default: the current time) dates the work in progress ("updated 3 days ago").
    """
    steps = chain(data, source, target)
    clock = _Clock(now, data.get("stale_days"))
    step_data = data.get("steps", {})
    judged = [(p, r, step_text(p, r), (step_data.get(r) or {}).get("modules") or {})
              for p, r in steps]
    judged = [(*one, _near(one[3])) for one in judged]
    severity = _SEVERITY.__getitem__
    verdicts = []
    for module in sorted(set(modules)):
        name: str | None = module
        entries: list[StepVerdict] = []
        for previous, release, step, coverage, near in judged:
            if name is None:
                break
            entry, name = _judge(name, previous, release, step, coverage, near, clock)
            entries.append(entry)
        worst = max((e.verdict for e in entries), key=severity)
        verdicts.append(ModuleOutcome(module, worst, tuple(entries)))
    return CheckReport(source, target, tuple(steps), tuple(verdicts))


def _near(coverage: Mapping[str, Any]) -> Callable[[str], list[str]]:
    """The step's names a letter longer, shorter or as long as a name: the only ones
    ``close_name`` can find. Indexed by length on first use: a check of a few unknown
    modules against a step of thousands scanned them all once per module (bench/startup.py).
    The index is the names sorted by length, cut by bisection: no Python loop over them."""
    names: list[str] = []
    lengths: list[int] = []

    def near(name: str) -> list[str]:
        if not names:
            names.extend(sorted(coverage, key=len))
            lengths.extend(map(len, names))
        size = len(name)
        return names[bisect_left(lengths, size - 1):bisect_right(lengths, size + 1)]

    return near


def _judge(
    name: str, previous: str, release: str, step: str, coverage: Mapping[str, Any],
    near: Callable[[str], list[str]], clock: _Clock,
) -> tuple[StepVerdict, str | None]:
    """One step: the verdict for ``name``, and the name to follow in the next step (or None)."""
    entry = coverage.get(name)
    if entry is None:
        if not coverage:
            reasons = [Reason(
                "no_coverage",
                f"ouhub holds no coverage for {step}, so it cannot tell whether {name} migrates; "
                "the coverage scan has not run for this step",
            )]
        else:
            reasons = [Reason("not_in_openupgrade", unknown_text(name, step, release))]
            close = close_name(name, near(name))
            if close is not None:
                reasons.append(did_you_mean(close, step))
        return StepVerdict(previous, release, name, None, "not_covered", tuple(reasons)), name

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
        run_of, run = name, entry.get("run")
        if target_entry is None:
            reasons.append(Reason(
                "target_not_covered",
                f"{new_name} is not in OpenUpgrade's coverage of {step}: ouhub cannot tell "
                f"whether {name} is migrated into it; it is a custom or community (e.g. OCA) "
                f"module, which you migrate yourself",
            ))
            verdict = "not_covered"
        else:
            if target_entry.get("status") in _JUDGED_TARGET:
                verdict = _status_verdict(new_name, release, step, target_entry, reasons, verdict,
                                          name if status == "renamed" else None)
                if "disagreements" in target_entry:
                    verdict = _disagreements(new_name, target_entry, reasons, verdict)
            if target_entry.get("run"):
                run_of, run = new_name, target_entry["run"]
        if "disagreements" in entry:
            verdict = _disagreements(name, entry, reasons, verdict)
        verdict = _run(run_of, run, step, reasons, verdict)
        if "work" in entry and verdict in ("blocked", "at_risk"):
            reasons.append(work_reason(entry["work"], clock))
        return (StepVerdict(previous, release, name, status, verdict, tuple(reasons), new_name),
                new_name)

    verdict = _status_verdict(name, release, step, entry, reasons, "ok")
    # Most entries have none: skip the call (a thousand modules, five steps).
    if "disagreements" in entry:
        verdict = _disagreements(name, entry, reasons, verdict)
    verdict = _run(name, entry.get("run"), step, reasons, verdict)
    if "work" in entry and verdict in ("blocked", "at_risk"):
        reasons.append(work_reason(entry["work"], clock))
    return (StepVerdict(previous, release, name, status, verdict, tuple(reasons)),
            None if status == "removed" else name)


def unknown_text(name: str, steps: str, release: str) -> str:
    """What check says of a module that OpenUpgrade's coverage of ``steps`` does not know."""
    return (f"{name} is unknown to ouhub: it is not in OpenUpgrade's coverage of {steps}, so it "
            f"is a custom or community (e.g. OCA) module. Whether it is ported to {release} and "
            "has migration scripts is for you to find out: you migrate it yourself")


def did_you_mean(close: str, step: str) -> Reason:
    return Reason("did_you_mean", f"did you mean {close}? {close} is in OpenUpgrade's coverage "
                                  f"of {step}")


def close_name(name: str, known: Iterable[str]) -> str | None:
    """The first (by code point) technical name of ``known`` one typo away from ``name``:
    a letter added, dropped or changed, or two neighbours swapped. check.js does the same."""
    found = [k for k in known if k != name and abs(len(k) - len(name)) <= 1
             and _MODULE_NAME.fullmatch(k) and _one_typo(name, k)]
    return min(found) if found else None


def _one_typo(a: str, b: str) -> bool:
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1:]
    return a[i + 1:] == b[i + 1:] or (
        i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:])


def _worse(a: str, b: str) -> str:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def _evidence(entry: Mapping[str, Any]) -> tuple[str, ...]:
    evidence = entry.get("evidence")
    return tuple(map(str, evidence)) if evidence else ()


def _status_verdict(
    name: str, release: str, step: str, entry: Mapping[str, Any], reasons: list[Reason],
    verdict: str, renamed_from: str | None = None,
) -> str:
    status = entry.get("status")
    evidence = entry.get("evidence") or ()
    if status == "done":
        text = f"{name} has migration scripts for {step}"
    elif status == "nothing_to_do":
        if any(str(line).startswith("declared:") for line in evidence):
            text = f"{name} is declared to need nothing for {step}"
        else:
            text = f"{name} needs nothing for {step}: its analysis says so"
    elif status == "new":
        text = f"{name} is new in {release}: nothing to migrate"
    elif status == "partial":
        text = f"{name} is declared only partly migrated for {step}"
    elif status == "todo" and renamed_from is not None:
        text = (f"{name}, the new name of {renamed_from}, has no migration scripts and no "
                f"declared status for {step}")
    elif status == "todo":
        text = (f"{name} exists in both releases but has no migration scripts and no declared "
                f"status for {step}")
    elif status == "removed":
        text = f"{name} is removed in {release} without a replacement"
    else:
        status = "unknown"
        text = f"ouhub could not establish the coverage of {name} for {step}"
    reasons.append(Reason(status, text, tuple(map(str, evidence))))
    found = STATUS_VERDICT[status]
    return verdict if _SEVERITY[verdict] >= _SEVERITY[found] else found


def _disagreements(
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
    return verdict


def _run(name: str, run: Mapping[str, Any] | None, step: str, reasons: list[Reason],
         verdict: str) -> str:
    """Whether a nightly run showed the step to work for ``name``: a reason either way."""
    if not run:
        reasons.append(Reason("not_run", f"not run yet: no nightly run of {step} has "
                                         f"included {name}"))
        return verdict
    number = run.get("run_id")
    where = (f"run #{number}" if number is not None else "the last nightly run") + (
        f" on sample {run.get('sample') or '?'} ({run.get('at') or 'unknown time'}; "
        f"the run {run.get('run_status') or 'unknown'})")
    evidence = run.get("evidence")
    evidence = tuple(map(str, evidence)) if evidence else ()
    outcome = run.get("outcome")
    if outcome == "failed":
        reasons.append(Reason("run_failed", f"{name} failed in {where}", evidence))
        verdict = _worse(verdict, "at_risk")
    elif outcome == "upgraded":
        reasons.append(Reason("run_upgraded", f"upgraded in {where}", evidence))
    elif outcome == "not_reached":
        reasons.append(Reason("run_not_reached", f"{where} stopped before reaching {name}",
                              evidence))
    return verdict


def step_text(previous: str, release: str) -> str:
    """A step as people read it: ``6.1 → 7.0``."""
    return f"{previous} → {release}"


class _Clock:
    """The time work is dated against, and how many idle days make it stale."""

    def __init__(self, now: datetime | str | None, stale_days: Any):
        if isinstance(now, str):
            now = datetime.fromisoformat(now.replace("Z", "+00:00"))
        self.now = now or datetime.now(UTC)
        self.stale_days = stale_days if isinstance(stale_days, int) else None

    def days_since(self, when: Any) -> int | None:
        try:
            then = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            return None
        if then.tzinfo is None:
            then = then.replace(tzinfo=UTC)
        return max(0, int((self.now - then).total_seconds() // 86400))


def work_reason(works: Any, clock: _Clock) -> Reason:
    """``scripts in open pull request #5002 by @x, updated 3 days ago``: the open work on a
    module, the most recently active first (check data's ``work``)."""
    first = works[0]
    kind = "pull request" if first.get("source") == "github" else "merge proposal"
    days = clock.days_since(first.get("updated"))
    when = ("at an unknown time" if days is None else "today" if days == 0
            else "1 day ago" if days == 1 else f"{days} days ago")
    text = f"scripts in open {kind} {first.get('ref')} by @{first.get('author')}, updated {when}"
    if days is not None and clock.stale_days is not None and days > clock.stale_days:
        text += f" (stale: no activity of its author for over {clock.stale_days} days)"
    if len(works) > 1:
        text += f"; {len(works) - 1} more open: " + ", ".join(str(w.get("ref")) for w in works[1:])
    return Reason("work_in_progress", text, tuple(str(w["url"]) for w in works if w.get("url")))
