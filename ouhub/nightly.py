"""`ouhub nightly`: sync, upstream, contributions, coverage, runner, site, in that order.

Only sequences the stages' entry points, each of which records its own stage event;
a failing stage never stops the next one (each reads what the previous ones stored).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ouhub.config import Config
from ouhub.contributions.stage import ContributionsSync, run_contributions
from ouhub.coverage.stage import CoverageScanReport, run_coverage
from ouhub.errors import OuhubError, RunnerError
from ouhub.fsutil import FileLock, LockHeld
from ouhub.records import BranchLag
from ouhub.runner.run import RunResult, clean_leftovers
from ouhub.runner.stage import RunnerReport, run_all
from ouhub.site.build import BuildReport
from ouhub.site.stage import run_site
from ouhub.store import Store, utcnow
from ouhub.sync.stage import BranchSync, run_sync
from ouhub.sync.upstream import run_upstream
from ouhub.vocab import PASSED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    status: str  # ok, failed
    detail: str = ""


@dataclass
class NightlyReport:
    started_at: str
    cleaned: list[str] = field(default_factory=list)
    stages: list[StageOutcome] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return (all(s.status != "failed" for s in self.stages)
                and all(r.status == PASSED for r in self.runs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at, "ok": self.ok, "duration": round(self.duration, 1),
            "cleaned": self.cleaned,
            "stages": [{"stage": s.stage, "status": s.status, "detail": s.detail}
                       for s in self.stages],
            "runs": [r.as_dict() for r in self.runs],
        }


@contextmanager
def nightly_lock(config: Config) -> Iterator[None]:
    """One nightly at a time per data dir (an flock: released even if ouhub is killed)."""
    path = config.data_dir / "nightly.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        handle = lock.acquire()
    except LockHeld as exc:
        holder = exc.holder or "another process"
        raise RunnerError(f"another `ouhub nightly` is running ({holder})",
                          hint=f"wait for it to finish; the lock is {path}") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utcnow()}")
        handle.flush()
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        lock.release()


def run_nightly(
    config: Config, store: Store, quiet: bool = True, say: Callable[[str], None] = log.info,
) -> NightlyReport:
    """The whole pipeline, under the single-instance lock; records the nightly's own event."""
    with nightly_lock(config), store.stage_event("nightly") as event:
        report = _nightly(config, store, quiet, say)
        event.finish(report.ok, stages_failed=sum(s.status == "failed" for s in report.stages),
                     runs=len(report.runs), passed=sum(r.status == PASSED for r in report.runs),
                     cleaned=len(report.cleaned))
    return report


# What the nightly's table says of each stage's result: (failed?, detail).


def _sync_detail(results: list[BranchSync]) -> tuple[bool, str]:
    bad = [r for r in results if not r.ok]
    return bool(bad), (f"failed: {len(bad)} of {len(results)} branches" if bad
                       else f"{len(results)} branches")


def _upstream_detail(lags: list[BranchLag]) -> tuple[bool, str]:
    bad = [lag for lag in lags if lag.error]
    return bool(bad), (f"failed: {len(bad)} of {len(lags)}" if bad
                       else f"{len(lags)} upstream branches")


def _contributions_detail(result: ContributionsSync) -> tuple[bool, str]:
    detail = f"{result.pulls} pull requests, {result.proposals} merge proposals"
    if result.stopped:
        return True, f"{detail}; stopped: {result.stopped}"
    if result.errors:
        return True, f"{detail}; {len(result.errors)} could not be read: {result.errors[0]}"
    return False, detail + (f", {result.pending} waiting" if result.pending else "")


def _coverage_detail(scans: CoverageScanReport) -> tuple[bool, str]:
    bad = scans.failed
    return bool(bad), (f"failed: {len(bad)} releases" if bad
                       else f"{len(scans.results)} releases")


def _runner_detail(runner: RunnerReport) -> tuple[bool, str]:
    detail = f"{runner.passed} of {len(runner.runs)} runs passed"
    if runner.failed_imports:
        detail += f"; {len(runner.failed_imports)} sample import(s) failed"
    return not runner.ok, detail


def _site_detail(built: BuildReport) -> tuple[bool, str]:
    return False, f"{built.pages} files, {built.written} written ({built.index})"


def _nightly(config: Config, store: Store, quiet: bool, say: Callable[[str], None]
             ) -> NightlyReport:
    report = NightlyReport(started_at=utcnow())
    started = time.monotonic()
    report.cleaned = clean_leftovers(config, store)
    if report.cleaned:
        say(f"nightly: dropped {len(report.cleaned)} database(s) left by an interrupted run: "
            + ", ".join(report.cleaned))

    def runner() -> RunnerReport:
        runs = run_all(config, store, say=lambda message: say(f"nightly: {message}"))
        report.runs = list(runs.runs)
        return runs

    # (stage, what is said as it starts, its entry point, what its table row says)
    stages: list[tuple[str, str, Callable[[], Any], Callable[[Any], tuple[bool, str]]]] = [
        ("sync", "sync", lambda: run_sync(config, store, quiet=quiet), _sync_detail),
        ("upstream", "upstream", lambda: run_upstream(config, store, quiet=quiet),
         _upstream_detail),
        ("contributions", "contributions", lambda: run_contributions(config, store),
         _contributions_detail),
        ("coverage", "coverage", lambda: run_coverage(config, store, quiet=quiet),
         _coverage_detail),
        ("runner", "runs, on the workers of the broker" if config.runner.broker
         else "samples import", runner, _runner_detail),
        ("site", "site", lambda: run_site(config, store), _site_detail),
    ]
    if config.contributions is None:  # the stage is optional: no [contributions], no step
        stages = [stage for stage in stages if stage[0] != "contributions"]
    for name, announce, call, detail in stages:
        say(f"nightly: {announce}")
        try:
            failed, text = detail(call())
        except OuhubError as exc:
            failed, text = True, exc.message
            say(f"nightly: {name} failed: {exc.message}")
        except Exception as exc:  # a bug in one stage must not cost the night's other stages
            log.exception("nightly: %s hit a bug", name)
            text = f"unexpected {type(exc).__name__}: {exc} (traceback on stderr; please report)"
            failed = True
            say(f"nightly: {name} failed: {text}")
        report.stages.append(StageOutcome(name, "failed" if failed else "ok", text))
    report.duration = time.monotonic() - started
    return report
