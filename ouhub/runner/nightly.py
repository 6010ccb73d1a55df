"""`ouhub nightly`: sync, upstream, coverage, every sample run, site; one at a time.

Each stage is called through its own Python function and a failing stage never
stops the next one (each reads what the previous ones stored). A stage whose
module does not exist yet is skipped, and the summary says so.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ouhub.config import Config
from ouhub.errors import OuhubError, RunnerError
from ouhub.runner.outcome import ERROR, PASSED
from ouhub.runner.run import RunResult, clean_leftovers, run_sample
from ouhub.runner.samples import import_samples
from ouhub.store import Store, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageOutcome:
    stage: str
    status: str  # ok, failed, skipped
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

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at, "ok": self.ok, "duration": round(self.duration, 1),
            "cleaned": self.cleaned,
            "stages": [{"stage": s.stage, "status": s.status, "detail": s.detail}
                       for s in self.stages],
            "runs": [r.to_json() for r in self.runs],
        }


@contextmanager
def nightly_lock(config: Config) -> Iterator[None]:
    """One nightly at a time per data dir (an flock: released even if ouhub is killed)."""
    path = config.data_dir / "nightly.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunnerError(f"another `ouhub nightly` is running ({holder})",
                              hint=f"wait for it to finish; the lock is {path}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utcnow()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _optional(module: str) -> Any | None:
    """The stage module, or None when that stage does not exist in this installation."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def pairs(config: Config) -> list[tuple[str, str]]:
    """Every (release, sample) whose sample is of the release's previous one."""
    found = []
    for release in config.releases.values():
        for sample in config.samples:
            if release.previous and sample.release == release.previous \
                    and release.name in config.runner.commands:
                found.append((release.name, sample.name))
    return found


def run_nightly(
    config: Config, store: Store, quiet: bool = True, say: Callable[[str], None] = log.info,
) -> NightlyReport:
    """The whole pipeline, under the single-instance lock."""
    with nightly_lock(config):
        return _nightly(config, store, quiet, say)


def _stage(report: NightlyReport, name: str, module: str, call: Callable[[Any], str],
           say: Callable[[str], None], store: Store, record: bool = False) -> None:
    mod = _optional(module)
    if mod is None:
        report.stages.append(StageOutcome(name, "skipped", f"{module} is not installed"))
        say(f"nightly: {name} skipped ({module} does not exist)")
        return
    say(f"nightly: {name}")
    started = utcnow()
    try:
        detail = call(mod)
    except OuhubError as exc:
        report.stages.append(StageOutcome(name, "failed", exc.message))
        say(f"nightly: {name} failed: {exc.message}")
        if record:
            store.record_stage(name, started, False, {"error": exc.message})
        return
    except Exception as exc:  # a bug in one stage must not cost the night's other stages
        log.exception("nightly: %s hit a bug", name)
        message = f"unexpected {type(exc).__name__}: {exc} (traceback on stderr; please report)"
        report.stages.append(StageOutcome(name, "failed", message))
        say(f"nightly: {name} failed: {message}")
        if record:
            store.record_stage(name, started, False, {"error": message})
        return
    failed = detail.startswith("failed")
    report.stages.append(StageOutcome(name, "failed" if failed else "ok", detail))


def _nightly(config: Config, store: Store, quiet: bool, say: Callable[[str], None]
             ) -> NightlyReport:
    report = NightlyReport(started_at=utcnow())
    started = time.monotonic()
    report.cleaned = clean_leftovers(config, store)
    if report.cleaned:
        say(f"nightly: dropped {len(report.cleaned)} database(s) left by an interrupted run: "
            + ", ".join(report.cleaned))

    def sync(mod: Any) -> str:
        results = mod.run_sync(config, store, quiet=quiet)
        bad = [r for r in results if not r.ok]
        return (f"failed: {len(bad)} of {len(results)} branches" if bad
                else f"{len(results)} branches")

    def upstream(mod: Any) -> str:
        lags = mod.run_upstream(config, store, quiet=quiet)
        bad = [lag for lag in lags if getattr(lag, "error", None)]
        return f"failed: {len(bad)} of {len(lags)}" if bad else f"{len(lags)} upstream branches"

    def coverage(mod: Any) -> str:
        began = utcnow()
        results = mod.scan_releases(config, store)
        bad = [r for r in results if not r.ok]
        store.record_stage("coverage", began, not bad, {
            "releases": len(results), "failed": len(bad),
            "cached": sum(r.cached for r in results),
        })
        return f"failed: {len(bad)} releases" if bad else f"{len(results)} releases"

    _stage(report, "sync", "ouhub.sync.stage", sync, say, store)
    _stage(report, "upstream", "ouhub.sync.upstream", upstream, say, store)
    _stage(report, "coverage", "ouhub.coverage.scan", coverage, say, store, record=True)
    _runner(config, store, report, say)

    def site(mod: Any) -> str:
        began = utcnow()
        built = mod.build_site(config, store)
        store.record_stage("site", began, True, {"pages": built.pages, "written": built.written})
        return f"{built.pages} files, {built.written} written ({built.index})"

    _stage(report, "site", "ouhub.site.build", site, say, store, record=True)
    report.duration = time.monotonic() - started
    store.record_stage("nightly", report.started_at, report.ok, {
        "stages_failed": sum(s.status == "failed" for s in report.stages),
        "stages_skipped": sum(s.status == "skipped" for s in report.stages),
        "runs": len(report.runs), "passed": sum(r.status == PASSED for r in report.runs),
        "cleaned": len(report.cleaned),
    })
    return report


def _runner(config: Config, store: Store, report: NightlyReport, say: Callable[[str], None]
            ) -> None:
    began = utcnow()
    say("nightly: samples import")
    imports = import_samples(config, store)
    failed_imports = {r.sample: r.message for r in imports if r.status == "failed"}
    todo = pairs(config)
    say(f"nightly: {len(todo)} run(s), {config.runner.parallel} at a time")

    def one(pair: tuple[str, str]) -> RunResult:
        release, sample = pair
        previous = config.release(release).previous or ""
        if sample in failed_imports:
            return _not_run(store, release, previous, sample,
                            f"sample import failed: {failed_imports[sample]}")
        try:
            result = run_sample(config, store, release, sample)
        except OuhubError as exc:
            return _not_run(store, release, previous, sample, exc.message)
        say(f"nightly: run {result.previous} -> {result.release} {sample}: {result.status}")
        return result

    with ThreadPoolExecutor(max_workers=config.runner.parallel,
                            thread_name_prefix="ouhub-run") as pool:
        report.runs = list(pool.map(one, todo))
    bad = [r for r in report.runs if r.status != PASSED]
    detail = f"{len(report.runs) - len(bad)} of {len(report.runs)} runs passed"
    if failed_imports:
        detail += f"; {len(failed_imports)} sample import(s) failed"
    ok = not bad and not failed_imports
    report.stages.append(StageOutcome("runner", "ok" if ok else "failed", detail))
    store.record_stage("runner", began, ok, {
        "runs": len(report.runs), "passed": len(report.runs) - len(bad),
        "failed": len(bad), "imports_failed": len(failed_imports),
    })


def _not_run(store: Store, release: str, previous: str, sample: str, message: str
             ) -> RunResult:
    """A run that could not start is still stored, as an `error` with the reason."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample)
    store.finish_run(run_id, status=ERROR, duration=0.0, exit_code=None, message=message)
    return RunResult(run_id=run_id, kind="run", previous=previous, release=release, sample=sample,
                     status=ERROR, message=message, duration=0.0, command_seconds=None,
                     database=None, kept=False, log_path=None)
