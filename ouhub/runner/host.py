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

from ouhub.config import Branch, Config, Sample
from ouhub.errors import OuhubError, RunnerError
from ouhub.fsutil import FileLock
from ouhub.records import SampleTemplate
from ouhub.redact import redact_urls
from ouhub.runner.logcap import cap_log
from ouhub.runner.pg import database_exists, hostname
from ouhub.runner.run import check_step, trees_at, upgrade_copy
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
    """Each branch of the release brought to the revision the coordinator synced; returns
    the revisions the trees are at, as `ouhub run` records them.

    A tree already at its revision is not touched (a worker sharing the coordinator's data
    dir fetches nothing). Otherwise the branch is fetched when the mirror lacks the revision,
    and its tree put at the revision, even when the branch has moved on since (the revision
    is fetched by its id when no ref names it any more). A branch the coordinator named no
    revision for is used as it is here, fetched only when this host has no mirror of it yet.
    One task at a time here: another run's fetch never moves the trees of a run under way.
    """
    from ouhub.sync.stage import holds_revision

    lock = config.data_dir / "worker" / ".mirrors.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock, wait=True):
        for branch in config.release(release).branches:
            want = wanted.get(branch.name)
            at_hand = (config.mirror_path(branch).exists() if want is None
                       else holds_revision(config, branch, want))
            if not at_hand:
                _fetch(config, store, branch, want)
        return trees_at(config, release, wanted)


def _fetch(config: Config, store: Store, branch: Branch, want: str | None) -> None:
    """Sync one branch for a run; its failure is the run's error unless the revision the run
    needs came with what was fetched (a rewritten branch: the sync keeps its old tip)."""
    from ouhub.sync.stage import holds_revision, store_outcome, sync_branch

    state = store.sync_state(branch.release, branch.name)
    known = (state.revid, state.revno) if state is not None and state.revid else None
    outcome = sync_branch(config, branch, wait=True, known_head=known)
    store_outcome(store, outcome)
    if not outcome.ok and (want is None or not holds_revision(config, branch, want)):
        raise RunnerError(f"cannot fetch branch {branch.key} on this worker: {outcome.error}",
                          hint=outcome.hint or "check that this host reaches the branch URL")


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
        return RunRecord(  # a message may quote a branch's URL: its token stays on this host
            run_id=task.run_id, release=task.release, previous=task.previous,
            sample=task.sample, status=status, message=redact_urls(message),
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
