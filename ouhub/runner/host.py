"""A worker's side of one run: bring this host to the task's state, run the step, make the record.

The task names a release, a sample (with its dump's checksum) and the revisions the
coordinator synced. This host has its own config, mirrors, PostgreSQL and store
(the store holds only this host's bookkeeping: its mirrors' heads, its templates,
the databases it created). Here the mirrors are fetched to those revisions, the
sample's template restored from the dump if this host lacks it, and the run made
by ``upgrade_copy``, exactly as `ouhub run` makes it. No Celery here: the worker
module calls ``run_task`` and sends what it returns.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from pathlib import Path

from ouhub.config import Config, Sample
from ouhub.errors import OuhubError, RunnerError
from ouhub.records import SampleTemplate
from ouhub.runner.logcap import cap_log
from ouhub.runner.pg import database_exists, hostname
from ouhub.runner.run import branch_revisions, check_step, upgrade_copy
from ouhub.runner.samples import import_sample
from ouhub.runner.task import RunRecord, RunTask
from ouhub.store import Store
from ouhub.vocab import ERROR

log = logging.getLogger(__name__)


def worker_run_dir(config: Config, run_id: int) -> Path:
    """Where a worker keeps a run's files: apart from `ouhub run`'s, as a coordinator on the
    same data dir stores the run's log under ``runs/<run id>``."""
    return config.data_dir / "worker" / "runs" / str(run_id)


def bring_mirrors(config: Config, store: Store, release: str, wanted: dict[str, str]
                  ) -> dict[str, str]:
    """Each branch of the release fetched to the revision the coordinator synced.

    A branch already there is not touched (a worker sharing the coordinator's data dir
    fetches nothing). A branch the coordinator named no revision for is used as it is
    here, fetched only when this host has no mirror of it yet.
    """
    for branch in config.release(release).branches:
        want = wanted.get(branch.name)
        state = store.sync_state(release, branch.name)
        present = config.mirror_path(branch).exists()
        if present and (want is None or (state is not None and state.revid == want)):
            continue
        from ouhub.sync.stage import store_outcome, sync_branch  # breezy: only when fetching

        known = (state.revid, state.revno) if state is not None and state.revid else None
        outcome = sync_branch(config, branch, wait=True, known_head=known)
        store_outcome(store, outcome)
        if not outcome.ok:
            raise RunnerError(f"cannot fetch branch {branch.key} on this worker: {outcome.error}",
                              hint=outcome.hint or "check that this host reaches the branch URL")
        if want is not None and outcome.revid != want:
            raise RunnerError(
                f"branch {branch.key} is at {outcome.revid} on this worker after fetching, the "
                f"run is of {want}: the branch moved since the coordinator synced it",
                hint="sync on the coordinator and run again",
            )
    return branch_revisions(config, store, release)


def ensure_template(config: Config, store: Store, sample: Sample, checksum: str
                    ) -> SampleTemplate:
    """This host's template of the sample's dump with ``checksum``, restored when missing."""
    current = store.sample_template(sample.name)
    if current is None or current.checksum != checksum \
            or not database_exists(config.dsn, current.dbname):
        import_sample(config, store, sample, expected=checksum)
        current = store.sample_template(sample.name)
    assert current is not None  # import_sample stored it or raised
    return current


def run_task(config: Config, store: Store, task: RunTask, worker: str, losses: int = 0
             ) -> RunRecord:
    """Do one run for the coordinator; every failure ends in a record, never an exception."""
    started = time.monotonic()
    revisions: dict[str, str] = {}

    def record(status: str, message: str, log_text: str = "") -> RunRecord:
        return RunRecord(
            run_id=task.run_id, release=task.release, previous=task.previous,
            sample=task.sample, status=status, message=message,
            duration=time.monotonic() - started, command_seconds=None, exit_code=None,
            host=hostname(), worker=worker, revisions=revisions, log=log_text, losses=losses,
        )

    try:
        rel, sample = check_step(config, task.release, task.sample)
        if rel.previous != task.previous:
            raise RunnerError(
                f"release {task.release} follows {rel.previous} in this worker's config, "
                f"{task.previous} in the coordinator's",
                hint="give the workers the same config as the coordinator",
            )
        revisions = bring_mirrors(config, store, task.release, task.revisions)
        template = ensure_template(config, store, sample, task.checksum)
    except OuhubError as exc:
        return record(ERROR, exc.message + (f" ({exc.hint})" if exc.hint else ""))
    # the coordinator's timeout: every worker gives a run the same time
    run_config = dataclasses.replace(
        config, runner=dataclasses.replace(config.runner, timeout=task.timeout))
    directory = worker_run_dir(config, task.run_id)
    shutil.rmtree(directory, ignore_errors=True)  # a redelivered run starts afresh
    done = upgrade_copy(run_config, store, template, rel, task.run_id, directory)
    log_text = ""
    log_path = directory / "upgrade.log"
    if log_path.is_file():
        with log_path.open(encoding="utf-8", errors="replace") as fh:
            log_text = cap_log(fh, config.runner.log_limit)
    if done.step is None:
        return record(ERROR, done.error, log_text)
    step = done.step
    return dataclasses.replace(
        record(step.status, step.outcome.message, log_text),
        command_seconds=step.command_seconds, exit_code=step.exit_code,
        modules=step.outcome.modules,
    )
