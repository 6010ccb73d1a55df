"""Failure classes across runs, per (release, sample, module), and each fingerprint's history.

A module's runs of one release and sample, oldest first, decide its class:

- ``new``: it failed, for the first time, and never passed before;
- ``always_failing``: it failed in every run that reached it, more than once;
- ``regression``: it fails now and passed in an earlier run; the runs that bracket the
  change (last passing, first failing) give the revisions to look for suspect commits;
- ``flaky``: it passed and failed at the same branch revisions (whatever it does now);
- ``fixed``: it failed before and passes now.

A module that was not reached says nothing about itself and is left out. Pure: records in,
records out; the store gathers the attempts, the sync stage reads the suspect commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ouhub.records import Attempt, revisions_of
from ouhub.vocab import ALWAYS_FAILING, FIXED, FLAKY, NEW, REGRESSION

__all__ = ["Attempt", "FingerprintHistory", "ModuleFailures", "Sighting", "class_label",
           "classify", "fingerprint_history", "revisions_of"]


def class_label(failure_class: str) -> str:
    return failure_class.replace("_", " ")


@dataclass(frozen=True)
class ModuleFailures:
    """The failure class of one module of one release and sample, with its evidence."""

    release: str
    sample: str
    module: str
    failure_class: str
    runs: int  # runs that reached the module
    failed_runs: int
    first_failed: Attempt  # the first failure ever
    last_failed: Attempt  # the latest failure
    latest: Attempt
    last_passed: Attempt | None = None  # a regression: the last pass before the failures began
    broke_at: Attempt | None = None  # a regression: the first failure after that pass
    fixed_at: Attempt | None = None  # fixed: the first pass after the last failure
    flaky_revisions: tuple[tuple[str, str], ...] | None = None  # flaky: where it went both ways

    @property
    def label(self) -> str:
        return class_label(self.failure_class)


def classify(release: str, sample: str, module: str,
             attempts: Sequence[Attempt]) -> ModuleFailures | None:
    """The class of a module from its attempts, oldest first; None if it never failed."""
    reached = [a for a in attempts if a.passed or a.failed]
    failed = [a for a in reached if a.failed]
    if not failed:
        return None
    latest = reached[-1]
    base = dict(release=release, sample=sample, module=module, runs=len(reached),
                failed_runs=len(failed), first_failed=failed[0], last_failed=failed[-1],
                latest=latest)
    flaky = _flaky_revisions(reached)
    if flaky is not None:
        return ModuleFailures(failure_class=FLAKY, flaky_revisions=flaky, **base)
    if latest.passed:
        fixed_at = next(a for a in reached[reached.index(failed[-1]):] if a.passed)
        return ModuleFailures(failure_class=FIXED, fixed_at=fixed_at, **base)
    streak_start = len(reached)
    while streak_start > 0 and reached[streak_start - 1].failed:
        streak_start -= 1
    if streak_start > 0:
        return ModuleFailures(failure_class=REGRESSION, last_passed=reached[streak_start - 1],
                              broke_at=reached[streak_start], **base)
    return ModuleFailures(failure_class=NEW if len(failed) == 1 else ALWAYS_FAILING, **base)


def _flaky_revisions(reached: Sequence[Attempt]) -> tuple[tuple[str, str], ...] | None:
    """The revisions at which the module both passed and failed, if any (runs that recorded no
    revisions prove nothing)."""
    seen: dict[tuple[tuple[str, str], ...], set[bool]] = {}
    for attempt in reached:
        if attempt.revisions:
            seen.setdefault(attempt.revisions, set()).add(attempt.passed)
    return next((revisions for revisions, outcomes in seen.items() if len(outcomes) == 2), None)


def classes_by_run(attempts: Sequence[Attempt]) -> dict[int, str]:
    """The class the module had right after each of its runs (oldest first), as ``classify``
    would have said then; runs before its first failure have none."""
    classes: dict[int, str] = {}
    seen: dict[tuple[tuple[str, str], ...], set[bool]] = {}
    passed = failed = 0
    flaky = False
    for attempt in attempts:
        if not (attempt.passed or attempt.failed):
            continue
        if attempt.revisions:
            outcomes = seen.setdefault(attempt.revisions, set())
            outcomes.add(attempt.passed)
            flaky = flaky or len(outcomes) == 2
        if attempt.failed:
            failed += 1
            classes[attempt.run_id] = (FLAKY if flaky else REGRESSION if passed
                                       else NEW if failed == 1 else ALWAYS_FAILING)
        else:
            passed += 1
            if failed:
                classes[attempt.run_id] = FLAKY if flaky else FIXED
    return classes


@dataclass(frozen=True)
class Sighting:
    """Where a fingerprint was seen: one (release, sample, module) and what became of it."""

    release: str
    sample: str
    module: str
    first_run: int
    last_run: int
    first_seen: str
    last_seen: str
    runs: int
    fixed_at: Attempt | None = None  # the first pass after its last sighting, if any

    def as_dict(self) -> dict[str, object]:
        fixed = self.fixed_at
        return {
            "release": self.release, "sample": self.sample, "module": self.module,
            "first_run": self.first_run, "last_run": self.last_run,
            "first_seen": self.first_seen, "last_seen": self.last_seen, "runs": self.runs,
            "fixed": None if fixed is None else {
                "run": fixed.run_id, "at": fixed.started_at, "revisions": dict(fixed.revisions)},
        }


@dataclass(frozen=True)
class FingerprintHistory:
    key: str
    sightings: tuple[Sighting, ...]

    @property
    def first_seen(self) -> str:
        return min(s.first_seen for s in self.sightings)

    @property
    def last_seen(self) -> str:
        return max(s.last_seen for s in self.sightings)

    @property
    def runs(self) -> int:
        return sum(s.runs for s in self.sightings)

    @property
    def samples(self) -> tuple[str, ...]:
        return tuple(sorted({s.sample for s in self.sightings}))

    @property
    def fixed(self) -> bool:
        return all(s.fixed_at is not None for s in self.sightings)


def fingerprint_history(
    key: str, histories: Iterable[tuple[str, str, str, Sequence[Attempt]]]
) -> FingerprintHistory | None:
    """Where ``key`` was seen, from (release, sample, module, attempts oldest first) tuples."""
    sightings = []
    for release, sample, module, attempts in histories:
        hits = [a for a in attempts if a.failed and a.fingerprint == key]
        if not hits:
            continue
        after = attempts[attempts.index(hits[-1]) + 1:]
        # fixed once it passes; failing again another way is not fixed
        nxt = next((a for a in after if a.passed or a.failed), None)
        sightings.append(Sighting(
            release, sample, module, hits[0].run_id, hits[-1].run_id, hits[0].started_at,
            hits[-1].started_at, len(hits), nxt if nxt is not None and nxt.passed else None))
    return FingerprintHistory(key, tuple(sightings)) if sightings else None
