"""The runner stage's entry points: `ouhub run` (one sample over one step) and the nightly's
runs (every sample over every step it can take). Each records the runner's stage event;
the samples they need are imported by ``samples.import_samples``, the samples stage's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ouhub.config import Config
from ouhub.errors import OuhubError
from ouhub.runner.regressions import read_suspects
from ouhub.runner.run import RunResult, run_sample
from ouhub.runner.samples import ImportResult, import_samples
from ouhub.store import Store
from ouhub.vocab import ERROR, PASSED

log = logging.getLogger(__name__)


def run_one(
    config: Config, store: Store, release: str, sample: str, keep: bool = False,
    dump_to: str | Path | None = None,
) -> RunResult:
    """Upgrade a copy of ``sample`` over the step into ``release``: `ouhub run`."""
    config.release(release)  # unknown names fail before any work
    config.sample(sample)
    with store.stage_event("runner") as event:
        result = run_sample(config, store, release, sample, keep=keep, dump_to=dump_to)
        passed = int(result.status == PASSED)
        read_suspects(config, store, [release])
        event.finish(bool(passed), runs=1, passed=passed, failed=1 - passed)
    return result


@dataclass(frozen=True)
class RunnerReport:
    """What the nightly's runner did: the samples imported, then one run per step and sample."""

    imports: tuple[ImportResult, ...]
    runs: tuple[RunResult, ...]

    @property
    def failed_imports(self) -> list[ImportResult]:
        return [r for r in self.imports if r.status == "failed"]

    @property
    def passed(self) -> int:
        return sum(r.status == PASSED for r in self.runs)

    @property
    def ok(self) -> bool:
        return self.passed == len(self.runs) and not self.failed_imports


def pairs(config: Config) -> list[tuple[str, str]]:
    """Every (release, sample) whose sample is of the release's previous one."""
    found = []
    for release in config.releases.values():
        for sample in config.samples:
            if release.previous and sample.release == release.previous \
                    and release.name in config.runner.commands:
                found.append((release.name, sample.name))
    return found


def run_all(config: Config, store: Store, say: Callable[[str], None] = log.info) -> RunnerReport:
    """Import every sample, then run each over every step it can take, ``parallel`` at a time.

    A run that cannot start (its sample's import failed, its step is misconfigured) is
    stored as an `error` run with the reason; one never stops the others.
    """
    imports = tuple(import_samples(config, store))
    failed_imports = {r.sample: r.message for r in imports if r.status == "failed"}
    todo = pairs(config)
    with store.stage_event("runner") as event:
        say(f"{len(todo)} run(s), {config.runner.parallel} at a time")

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
            say(f"run {result.previous} -> {result.release} {sample}: {result.status}")
            return result

        with ThreadPoolExecutor(max_workers=config.runner.parallel,
                                thread_name_prefix="ouhub-run") as pool:
            report = RunnerReport(imports, tuple(pool.map(one, todo)))
        # after the runs, in the process that holds the store and the mirrors
        read_suspects(config, store, sorted({release for release, _ in todo}))
        event.finish(report.passed == len(report.runs), runs=len(report.runs),
                     passed=report.passed, failed=len(report.runs) - report.passed)
    return report


def _not_run(store: Store, release: str, previous: str, sample: str, message: str
             ) -> RunResult:
    """A run that could not start is still stored, as an `error` with the reason."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample)
    store.finish_run(run_id, status=ERROR, duration=0.0, exit_code=None, message=message)
    return RunResult(run_id=run_id, kind="run", previous=previous, release=release, sample=sample,
                     status=ERROR, message=message, duration=0.0, command_seconds=None,
                     database=None, kept=False, log_path=None)
