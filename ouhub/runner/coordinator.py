"""The coordinator: send runs to the workers through RabbitMQ, store each record once as it arrives.

Each run gets its id from the coordinator's store before it is sent (a `running`
row), travels as a ``RunTask`` and comes back as a ``RunRecord``; the record is
stored under that id only while the run is still `running`, so a run done twice
(its first worker thought lost, yet finishing) is stored once. The upgrade log
in the record is written under the coordinator's ``runs/<run id>/``.

Before anything is stored the broker must answer and a worker must listen on the
queue: a broker that is down is an error at the start, not a wait. While waiting,
a queue left without any worker for ``grace`` seconds ends the round: the runs not
back are stored as `error`, saying so. At the end of a round, what dead workers
left on this host (upgrade processes, scratch databases) is cleaned up.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ouhub import output
from ouhub.config import Config
from ouhub.errors import Interrupted, OuhubError, RunnerError
from ouhub.fsutil import write_atomic
from ouhub.redact import redact_dsn
from ouhub.runner.pg import hostname
from ouhub.runner.run import (
    RunResult,
    branch_revisions,
    check_step,
    clean_leftovers,
    run_modules,
    store_not_run,
    synced_revids,
)
from ouhub.runner.samples import checksum, fetch_dump
from ouhub.runner.task import PayloadError, RunRecord, RunTask
from ouhub.runner.upgrade import run_dir
from ouhub.runner.worker import TASK_NAME, check_broker, make_app
from ouhub.store import Store
from ouhub.vocab import ERROR, INTERRUPTED

log = logging.getLogger(__name__)

NO_WORKER_GRACE = 300.0  # seconds a queue may stay without a worker before the round ends
CHECK_EVERY = 5.0  # seconds between two looks at the queue's consumers


@dataclass(frozen=True)
class Sent:
    """A run on its way: the task sent and the Celery task id its answer comes back under."""

    task: RunTask
    task_id: str


class NoWorker(RunnerError):
    """No worker listens on the queue (at the start, or for too long during a round)."""


def queue_consumers(conn: Any, queue: str) -> int:
    """How many workers consume ``queue`` now (0 when the queue does not exist)."""
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).consumer_count)
    except conn.channel_errors:  # NOT_FOUND: no worker ever declared it
        return 0
    finally:
        try:
            channel.close()
        except Exception:  # a channel the broker closed already (NOT_FOUND) has nothing to close
            pass


def dispatch_runs(
    config: Config, store: Store, todo: Sequence[tuple[str, str]], *,
    say: Callable[[str], None] = log.info, quiet: bool = False,
    grace: float = NO_WORKER_GRACE,
) -> list[RunResult]:
    """Run every (release, sample) of ``todo`` on the workers; the results in ``todo``'s order."""
    broker = config.runner.broker
    if not broker:
        raise RunnerError("no broker configured", hint="add [runner] broker, or run in-process")
    queue = config.runner.queue
    shown = redact_dsn(broker)
    app = make_app(broker, queue)
    check_broker(app, broker)
    with app.connection_for_read() as conn:
        workers = queue_consumers(conn, queue)
    if not workers:
        raise NoWorker(f"no worker takes runs from queue {queue} at {shown}",
                       hint=f"start `ouhub worker --queue {queue}` on a worker host (README: "
                       "workers on several machines), or run in-process with `ouhub run --local`")
    say(f"runner: {len(todo)} run(s) to {workers} worker(s) on queue {queue} at {shown}")
    results: dict[int, RunResult] = {}
    sent: dict[str, Sent] = {}
    order: list[int] = []
    sums: dict[str, str | OuhubError] = {}
    for release, sample in todo:
        previous = config.release(release).previous or ""
        try:
            task = _task(config, store, release, previous, sample, sums)
        except OuhubError as exc:
            result = store_not_run(store, release, previous, sample, exc.message)
            results[result.run_id] = result
            order.append(result.run_id)
            continue
        order.append(task.run_id)
        try:
            async_result = app.send_task(
                TASK_NAME, args=[task.as_dict()], queue=queue,
                task_id=f"ouhub-run-{task.run_id}-{uuid.uuid4().hex[:12]}")
        except Exception as exc:  # kombu's publish errors: the broker went away mid-round
            results[task.run_id] = _store(config, store, task, _error(
                task, f"could not send the run to {shown}: {redact_dsn(str(exc))}"))
            continue
        sent[async_result.id] = Sent(task, async_result.id)
    status, why = ERROR, ("the coordinator stopped waiting for this run: no record came back "
                          "(its task may still be in the queue)")
    try:
        _gather(app, config, store, sent, results, len(todo), queue, shown, say, quiet, grace)
    except NoWorker as exc:
        why = exc.message
        say(f"runner: {why}; the runs not back are stored as errors")
    except Interrupted as exc:
        status, why = INTERRUPTED, (f"interrupted by {exc.signal_name}: the coordinator stopped "
                                    "waiting (a worker may still run it; its record is lost)")
        raise
    finally:
        for item in sent.values():  # what never came back
            if item.task.run_id not in results:
                results[item.task.run_id] = _store(config, store, item.task,
                                                   _error(item.task, why, status))
        cleaned = clean_leftovers(config, store)
        if cleaned:
            say(f"runner: cleaned up after dead workers on this host: {', '.join(cleaned)}")
    return [results[run_id] for run_id in order]


def _task(config: Config, store: Store, release: str, previous: str, sample_name: str,
          sums: dict[str, str | OuhubError]) -> RunTask:
    """The task of one run, its `running` row stored; an OuhubError if it cannot be sent."""
    _, sample = check_step(config, release, sample_name)
    if sample.name not in sums:  # one checksum per dump and round, however many steps use it
        try:
            sums[sample.name] = checksum(fetch_dump(config, sample))
        except (OuhubError, OSError) as exc:
            sums[sample.name] = exc if isinstance(exc, OuhubError) else RunnerError(
                f"sample {sample.name}: cannot read the dump {sample.dump}: {exc}",
                hint="fix `dump` in the sample's [[samples]] table")
    found = sums[sample.name]
    if isinstance(found, OuhubError):
        raise found
    run_id = store.start_run(
        kind="run", release=release, previous=previous, sample=sample.name,
        revisions=branch_revisions(config, store, release), host=hostname(), pid=os.getpid(),
    )
    return RunTask(run_id=run_id, release=release, previous=previous, sample=sample.name,
                   checksum=found, revisions=synced_revids(config, store, release), timeout=config.runner.timeout)


def _gather(app: Any, config: Config, store: Store, sent: dict[str, Sent],
            results: dict[int, RunResult], total: int, queue: str, shown: str,
            say: Callable[[str], None], quiet: bool, grace: float) -> None:
    """Store each record as it arrives, until every sent run is back or no worker is left."""
    if not sent:
        return
    from celery.result import AsyncResult, ResultSet

    pending = ResultSet([AsyncResult(task_id, app=app) for task_id in sent])
    with app.connection_for_read() as conn, \
            output.progress("runs", len(sent), quiet=quiet) as advance:
        watch = _Watch(conn, queue, shown, grace)
        for task_id, meta in pending.iter_native(timeout=None, on_interval=watch):
            item = sent[task_id]
            result = _store(config, store, item.task, _record_of(item.task, meta))
            results[item.task.run_id] = result
            label = (f"{result.previous} -> {result.release} {result.sample}: {result.status}"
                     + (f" on {result.worker}" if result.worker else ""))
            advance(label)
            say(f"runner: run {result.run_id} {label} ({len(results)} of {total})")


class _Watch:
    """Called while waiting: ends the round when the queue has had no worker for ``grace``."""

    def __init__(self, conn: Any, queue: str, shown: str, grace: float):
        self.conn, self.queue, self.shown, self.grace = conn, queue, shown, grace
        self.every = min(CHECK_EVERY, grace)
        self.seen = self.next = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.every
        try:
            alive = queue_consumers(self.conn, self.queue) > 0
        except Exception:  # the broker is away for a moment: the result consumer reconnects
            log.warning("cannot look at queue %s; waiting on", self.queue, exc_info=True)
            return
        if alive:
            self.seen = now
        elif now - self.seen > self.grace:
            raise NoWorker(f"no worker took runs from queue {self.queue} at {self.shown} for "
                           f"{self.grace:.0f}s", hint="start `ouhub worker` again, then rerun")


def _error(task: RunTask, message: str, status: str = ERROR) -> RunRecord:
    return RunRecord(run_id=task.run_id, release=task.release, previous=task.previous,
                     sample=task.sample, status=status, message=message, duration=0.0,
                     command_seconds=None, exit_code=None, host="", worker="", revisions={})


def _record_of(task: RunTask, meta: dict[str, Any]) -> RunRecord:
    """The record in a result message, or an `error` record saying what was wrong with it."""
    if meta.get("status") != "SUCCESS":
        return _error(task, f"the worker failed the task ({meta.get('status')}): "
                      f"{meta.get('result')!r}"[:2000])
    try:
        record = RunRecord.from_dict(meta.get("result"))
    except PayloadError as exc:
        return _error(task, f"a worker sent back a malformed record: {exc.message}")
    if (record.run_id, record.release, record.sample) != (task.run_id, task.release,
                                                          task.sample):
        return _error(task, f"a worker sent back the record of run {record.run_id} "
                      f"({record.release} {record.sample}) for this one")
    return record


def _store(config: Config, store: Store, task: RunTask, record: RunRecord) -> RunResult:
    """Store ``record`` under its run id, unless that run is stored already; its log beside it."""
    log_path = run_dir(config, task.run_id) / "upgrade.log"
    if record.log:
        write_atomic(log_path, record.log.encode("utf-8"))
    stored = store.store_worker_run(
        task.run_id, status=record.status, duration=record.duration,
        exit_code=record.exit_code, message=record.message,
        modules=run_modules(record.modules),
        log_path=str(log_path) if record.log else None, host=record.host,
        worker=record.worker, revisions=record.revisions, losses=record.losses)
    if not stored:
        log.info("run %s was stored already; the record from %s is not stored again",
                 task.run_id, record.worker or "the coordinator")
    return RunResult(
        run_id=task.run_id, kind="run", previous=task.previous, release=task.release,
        sample=task.sample, status=record.status, message=record.message,
        duration=record.duration, command_seconds=record.command_seconds, database=None,
        kept=False, log_path=str(log_path) if record.log else None, modules=record.modules,
        host=record.host, worker=record.worker or None,
    )
