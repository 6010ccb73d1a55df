"""The runner stage's entry points: `ouhub run` (one sample over one step) and the nightly's
runs (every sample over every step it can take). Each records the runner's stage event;
the samples they need are imported by ``samples.import_samples``, the samples stage's.

With ``[runner] broker`` configured the runs go to `ouhub worker`s through RabbitMQ
(``coordinator.dispatch_runs``; each worker imports the samples it needs); without
one, or with ``local``, they run in this process, as they always did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ouhub.config import Config
from ouhub.errors import ConfigError, OuhubError
from ouhub.runner.regressions import read_suspects
from ouhub.runner.run import RunResult, check_step, run_sample, store_not_run
from ouhub.runner.samples import ImportResult, import_samples
from ouhub.store import Store
from ouhub.vocab import PASSED

log = logging.getLogger(__name__)


def run_one(
    config: Config, store: Store, release: str, sample: str, keep: bool = False,
    dump_to: str | Path | None = None, local: bool = False,
    say: Callable[[str], None] = log.info, quiet: bool = False,
) -> RunResult:
    """Upgrade a copy of ``sample`` over the step into ``release``: `ouhub run`.

    On a worker when a broker is configured, unless ``local``.
    """
    check_step(config, release, sample)  # unknown names, a step that is none: before any work
    remote = bool(config.runner.broker) and not local
    if remote and (keep or dump_to):
        raise ConfigError(
            "--keep and --dump-to leave a database on the host that ran the upgrade; with a "
            "broker, that is a worker",
            hint="add --local to run it here",
        )
    with store.stage_event("runner") as event:
        if remote:
            from ouhub.runner.coordinator import dispatch_runs

            [result] = dispatch_runs(config, store, [(release, sample)], say=say, quiet=quiet)
        else:
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


def run_all(
    config: Config, store: Store, say: Callable[[str], None] = log.info, local: bool = False,
    quiet: bool = False,
) -> RunnerReport:
    """Run every sample over every step it can take: `ouhub run --all`, and the nightly's.

    With a broker (unless ``local``) the runs go to the workers; else every sample is
    imported, then the runs made here, ``parallel`` at a time. A run that cannot start
    (its sample's import failed, its step is misconfigured) is stored as an `error` run
    with the reason; one never stops the others.
    """
    todo = pairs(config)
    remote = bool(config.runner.broker) and not local
    imports = () if remote else tuple(import_samples(config, store))  # workers import theirs
    failed_imports = {r.sample: r.message for r in imports if r.status == "failed"}
    with store.stage_event("runner") as event:
        if remote:
            from ouhub.runner.coordinator import dispatch_runs

            runs = dispatch_runs(config, store, todo, say=say, quiet=quiet)
        else:
            say(f"{len(todo)} run(s), {config.runner.parallel} at a time")

            def one(pair: tuple[str, str]) -> RunResult:
                release, sample = pair
                previous = config.release(release).previous or ""
                if sample in failed_imports:
                    return store_not_run(store, release, previous, sample,
                                         f"sample import failed: {failed_imports[sample]}")
                try:
                    result = run_sample(config, store, release, sample)
                except OuhubError as exc:
                    return store_not_run(store, release, previous, sample, exc.message)
                say(f"run {result.previous} -> {result.release} {sample}: {result.status}")
                return result

            with ThreadPoolExecutor(max_workers=config.runner.parallel,
                                    thread_name_prefix="ouhub-run") as pool:
                runs = list(pool.map(one, todo))
        report = RunnerReport(imports, tuple(runs))
        # after the runs, in the process that holds the store and the mirrors
        read_suspects(config, store, sorted({release for release, _ in todo}))
        event.finish(report.passed == len(report.runs), runs=len(report.runs),
                     passed=report.passed, failed=len(report.runs) - report.passed)
    return report

