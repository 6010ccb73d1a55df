"""The coordinator: send runs to the workers through RabbitMQ, store each record once as it arrives.

Each run gets its id from the coordinator's store before it is sent (a `running`
row), travels as a ``RunTask`` and comes back as a ``RunRecord`` on the durable results
queue (``<queue>.results``); the record is stored under that id only while the run is
still `running` (or `interrupted`: its coordinator went away), so a run done twice (its
first worker thought lost, yet finishing) is stored once, and each message is
acknowledged only once its record is stored. A coordinator killed mid-round loses
nothing: the records of the runs finished after it wait on the queue, and every round
first stores what it finds there. The upgrade log in the record is written under the
coordinator's ``runs/<run id>/``.

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
from typing import Any

from ouhub import output
from ouhub.config import Config
from ouhub.errors import Interrupted, OuhubError, RunnerError
from ouhub.fsutil import pid_alive, write_atomic
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
from ouhub.runner.worker import TASK_NAME, check_broker, make_app, results_queue
from ouhub.store import Store
from ouhub.vocab import ERROR, INTERRUPTED, RUNNING

log = logging.getLogger(__name__)

NO_WORKER_GRACE = 300.0  # seconds a queue may stay without a worker before the round ends
CHECK_EVERY = 5.0  # seconds between two looks at the queue's consumers


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
    """Run every (release, sample) of ``todo`` on the workers; the results in ``todo``'s order.

    First the records an earlier coordinator left on the results queue are stored.
    """
    broker = config.runner.broker
    if not broker:
        raise RunnerError("no broker configured", hint="add [runner] broker, or run in-process")
    queue = config.runner.queue
    shown = redact_dsn(broker)
    app = make_app(broker, queue)
    check_broker(app, broker)
    with app.connection_for_read() as conn:
        workers = queue_consumers(conn, queue)
        recovered = gather_left(config, store, conn, queue)
    for result in recovered:
        say(f"runner: run {result.run_id} {_label(result)}: stored from the results queue "
            "(left by an earlier coordinator)")
    if not workers:
        raise NoWorker(f"no worker takes runs from queue {queue} at {shown}",
                       hint=f"start `ouhub worker --queue {queue}` on a worker host (README: "
                       "workers on several machines), or run in-process with `ouhub run --local`")
    say(f"runner: {len(todo)} run(s) to {workers} worker(s) on queue {queue} at {shown}")
    results: dict[int, RunResult] = {}
    sent: dict[int, RunTask] = {}
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
            app.send_task(TASK_NAME, args=[task.as_dict()], queue=queue,
                          task_id=f"ouhub-run-{task.run_id}-{uuid.uuid4().hex[:12]}")
        except Exception as exc:  # kombu's publish errors: the broker went away mid-round
            results[task.run_id] = _store(config, store, _error(
                task, f"could not send the run to {shown}: {redact_dsn(str(exc))}"))
            continue
        sent[task.run_id] = task
    status, why = ERROR, ("the coordinator stopped waiting for this run: no record came back "
                          "(its task may still be in the queue)")
    try:
        _gather(app, config, store, sent, results, len(todo), queue, shown, say, quiet, grace)
    except NoWorker as exc:
        why = exc.message
        say(f"runner: {why}; the runs not back are stored as errors")
    except Interrupted as exc:
        status, why = INTERRUPTED, (f"interrupted by {exc.signal_name}: the coordinator stopped "
                                    "waiting (a worker may still run it; the next round on "
                                    "this queue stores its record)")
        raise
    finally:
        for task in sent.values():  # what never came back
            if task.run_id not in results:
                results[task.run_id] = _store(config, store, _error(task, why, status))
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


def gather_left(config: Config, store: Store, conn: Any, queue: str) -> list[RunResult]:
    """Store the records waiting on the results queue now (left by an earlier coordinator)."""
    stored: list[RunResult] = []
    with _Results(config, store, conn, queue) as results:
        while True:
            try:
                message = results.queue.get_nowait()
            except results.queue.Empty:
                return stored
            result = results.take(message)
            if result is not None:
                stored.append(result)


def _gather(app: Any, config: Config, store: Store, sent: dict[int, RunTask],
            results: dict[int, RunResult], total: int, queue: str, shown: str,
            say: Callable[[str], None], quiet: bool, grace: float) -> None:
    """Store each record as it arrives, until every sent run is back or no worker is left."""
    if not sent:
        return
    with app.connection_for_read() as conn, _Results(config, store, conn, queue) as back, \
            output.progress("runs", len(sent), quiet=quiet) as advance:
        watch = _Watch(conn, queue, shown, grace)
        while any(run_id not in results for run_id in sent):
            try:
                message = back.queue.get(timeout=watch.every)
            except back.queue.Empty:
                watch()
                continue
            result = back.take(message)
            if result is None:
                continue
            if result.run_id not in sent:  # an earlier coordinator's, come back late
                say(f"runner: run {result.run_id} {_label(result)}: stored (left by an "
                    "earlier coordinator)")
                continue
            results[result.run_id] = result
            advance(_label(result))
            say(f"runner: run {result.run_id} {_label(result)} ({len(results)} of {total})")


def _label(result: RunResult) -> str:
    return (f"{result.previous} -> {result.release} {result.sample}: {result.status}"
            + (f" on {result.worker}" if result.worker else ""))


class _Results:
    """The results queue, read: each record stored, then its message acknowledged.

    A record whose run is final here already is acknowledged and dropped. One of a run this
    store does not have (another store's coordinator on the same queue), or that another
    coordinator still alive on this host waits for, is not ours: it stays unacknowledged
    while we read, and goes back to the queue when we stop.
    """

    def __init__(self, config: Config, store: Store, conn: Any, queue: str):
        results = results_queue(queue)
        self.config, self.store, self.name = config, store, results.name
        self.queue = conn.SimpleQueue(results, accept=["json"])
        self.foreign = 0

    def __enter__(self) -> _Results:
        return self

    def __exit__(self, *exc: object) -> None:
        self.queue.close()
        if self.foreign:
            log.warning("%s record(s) on %s are of runs this store does not have: left there "
                        "(does another store's coordinator use queue %s? give each its own "
                        "[runner] queue)", self.foreign, self.name, self.name.removesuffix(
                            ".results"))

    def take(self, message: Any) -> RunResult | None:
        """Store the record in ``message`` if it is this store's running run's."""
        from kombu.exceptions import ContentDisallowed, DecodeError

        try:
            record = RunRecord.from_dict(message.decode())
        except (PayloadError, ContentDisallowed, DecodeError) as exc:
            log.error("dropped a malformed record on %s: %s", self.name,
                      getattr(exc, "message", exc))
            message.ack()
            return None
        run = self.store.run(record.run_id)
        if run is None or (run.kind, run.release, run.previous or "", run.sample) != (
                "run", record.release, record.previous, record.sample):
            self.foreign += 1
            return None
        if run.status not in (RUNNING, INTERRUPTED):
            log.info("run %s is stored already (%s); the record from %s is dropped", run.id,
                     run.status, record.worker or "a worker")
            message.ack()
            return None
        if run.status == RUNNING and run.host == hostname() and run.pid != os.getpid() \
                and pid_alive(run.pid):
            log.info("run %s: its record is left for its coordinator, process %s, still "
                     "running", run.id, run.pid)
            return None
        result = _store(self.config, self.store, record)
        message.ack()
        return result


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


def _store(config: Config, store: Store, record: RunRecord) -> RunResult:
    """Store ``record`` under its run id, unless that run is stored already; its log beside it."""
    log_path = run_dir(config, record.run_id) / "upgrade.log"
    if record.log:
        write_atomic(log_path, record.log.encode("utf-8"))
    stored = store.store_worker_run(
        record.run_id, status=record.status, duration=record.duration,
        exit_code=record.exit_code, message=record.message,
        modules=run_modules(record.modules),
        log_path=str(log_path) if record.log else None, host=record.host,
        worker=record.worker, revisions=record.revisions, losses=record.losses)
    if not stored:
        log.info("run %s was stored already; the record from %s is not stored again",
                 record.run_id, record.worker or "the coordinator")
    return RunResult(
        run_id=record.run_id, kind="run", previous=record.previous, release=record.release,
        sample=record.sample, status=record.status, message=record.message,
        duration=record.duration, command_seconds=record.command_seconds, database=None,
        kept=False, log_path=str(log_path) if record.log else None, modules=record.modules,
        host=record.host, worker=record.worker or None,
    )
