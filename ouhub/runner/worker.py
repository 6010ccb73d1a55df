"""Celery on RabbitMQ: the app the coordinator and the workers share, the run task, `ouhub worker`.

Imported only by the commands that use a broker (Celery's import is heavy). The
settings follow Celery's documentation ("Configuration and defaults"):

- ``task_acks_late``: a run's message is acknowledged after the run, so a worker lost
  mid-run leaves it unacknowledged and RabbitMQ hands it to another worker as soon as
  the lost worker's connection closes; ``task_reject_on_worker_lost`` does the same when
  only the process running it dies;
- ``worker_prefetch_multiplier = 1``: a worker reserves one run per slot, so a long run
  never holds back the next one from an idle worker;
- JSON only (``task_serializer``, ``result_serializer``, ``accept_content``): a task is
  data; a pickled message is refused before it is decoded;
- ``broker_connection_timeout`` and ``broker_connection_retry_on_startup = False``: a
  broker that is down is an error at start, not a wait;
- no result backend: a worker leaves each run record as a persistent message on the
  durable queue ``<queue>.results`` (``publish_record``; publisher confirms,
  ``confirm_publish``), before its task is acknowledged. Celery's ``rpc://`` backend sends
  it to the coordinator's own reply queue instead, which dies with the coordinator: a
  coordinator killed mid-round lost the records of the runs its workers finished after.
  The results queue outlives any coordinator; the next one stores what it finds there.

A task whose worker is lost comes back *redelivered*; the worker that receives it
counts the loss by sending it again with Celery's retry counter raised, and after
``MAX_LOSSES`` it answers with an `error` record instead of running it once more.
RabbitMQ also takes back a delivery left unacknowledged longer than its
``consumer_timeout`` (30 minutes by default): set it above ``[runner] timeout``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from ouhub.config import Config
from ouhub.errors import ConfigError, RunnerError
from ouhub.redact import redact_dsn, redact_urls
from ouhub.runner.host import run_task
from ouhub.runner.pg import hostname
from ouhub.runner.task import PayloadError, RunRecord, RunTask
from ouhub.store import Store
from ouhub.vocab import ERROR

log = logging.getLogger(__name__)

TASK_NAME = "ouhub.run"
MAX_LOSSES = 2  # workers lost with one run before it is stored as `error`
CONNECT_TIMEOUT = 5.0  # seconds to reach the broker
HEARTBEAT = 10  # seconds between AMQP heartbeats of a worker's connection
# leaving a record: a broker away for a minute is waited for (the run took far longer)
PUBLISH_RETRY = {"max_retries": 12, "interval_start": 0.5, "interval_step": 1,
                 "interval_max": 5}


def make_app(broker: str, queue: str) -> Celery:
    """The Celery app of a coordinator or a worker on ``broker``, runs sent to ``queue``."""
    app = Celery("ouhub", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # the record travels on the results queue
        # the broker confirms each message it took (a task sent, a record left): a
        # publish that returned is on the broker
        broker_transport_options={"confirm_publish": True},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        broker_connection_timeout=CONNECT_TIMEOUT,
        # a worker's connection beats every HEARTBEAT seconds: RabbitMQ notices a worker
        # whose host went down within a few beats and hands its run to another worker
        broker_heartbeat=HEARTBEAT,
        broker_connection_retry_on_startup=False,
        # publishing a run: a few quick tries, then an error, never a wait without end
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2,
                                   "interval_step": 0.5, "interval_max": 1},
        # a worker logs through ouhub's logging set-up (stderr, -v/-q), every line redacted
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def results_queue(queue: str) -> Queue:
    """The durable queue where the workers of ``queue`` leave their run records."""
    name = f"{queue}.results"
    return Queue(name, Exchange(""), routing_key=name, durable=True, auto_delete=False)


def publish_record(app: Celery, queue: str, record: dict[str, Any]) -> None:
    """Leave ``record`` on the results queue, persistent; returns once the broker has it."""
    results = results_queue(queue)
    with app.producer_or_acquire() as producer:
        producer.publish(record, exchange=results.exchange, routing_key=results.routing_key,
                         declare=[results], serializer="json", delivery_mode="persistent",
                         retry=True, retry_policy=PUBLISH_RETRY)


def check_broker(app: Celery, url: str) -> None:
    """Connect once, quickly: a broker that is down or refuses us is a RunnerError now."""
    from kombu.exceptions import OperationalError

    conn = app.connection_for_write()
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5,
                               timeout=CONNECT_TIMEOUT)
    except (OperationalError, *conn.connection_errors, *conn.channel_errors) as exc:
        raise RunnerError(
            f"cannot reach the broker {redact_dsn(url)}: {redact_dsn(str(exc))}",
            hint="start RabbitMQ there (systemctl start rabbitmq-server), fix [runner] broker "
            "and its credentials, or remove [runner] broker to run in-process",
        ) from exc
    finally:
        conn.release()


def lost_record(payload: Any, losses: int, worker: str) -> RunRecord:
    """The record of a run that took ``losses`` workers down with it: not tried again."""
    return _error_record(
        payload, worker, losses,
        f"the run was lost with its worker {losses} times (a worker killed, out of memory or "
        "its host down while running it, or RabbitMQ's consumer_timeout shorter than the "
        "run); not tried again",
    )


def _error_record(payload: Any, worker: str, losses: int, message: str) -> RunRecord:
    data = payload if isinstance(payload, dict) else {}

    def text(key: str) -> str:
        return data[key] if isinstance(data.get(key), str) else ""

    run_id = data.get("run_id")
    return RunRecord(
        run_id=run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else 0,
        release=text("release"), previous=text("previous"), sample=text("sample"),
        status=ERROR, message=message, duration=0.0, command_seconds=None, exit_code=None,
        host=hostname(), worker=worker, revisions={}, losses=losses,
    )


def perform(config: Config, store: Store, payload: Any, worker: str, losses: int
            ) -> dict[str, Any]:
    """One task's answer, as JSON data: the run record, whatever happened."""
    try:
        task = RunTask.from_dict(payload)
    except PayloadError as exc:
        log.error("refused a malformed task: %s", exc.message)
        return _error_record(payload, worker, losses, f"the worker refused the task: "
                             f"{exc.message}").as_dict()
    log.info("run %s: %s -> %s %s started", task.run_id, task.previous, task.release,
             task.sample)
    try:
        record = run_task(config, store, task, worker, losses)
    except Exception as exc:  # a bug in one run must still answer the coordinator
        log.exception("run %s hit a bug", task.run_id)
        record = _error_record(payload, worker, losses, f"unexpected {type(exc).__name__} on "
                               f"worker {worker}: {exc} (traceback in its log; please report)")
    log.info("run %s: %s in %.0fs", task.run_id, record.status, record.duration)
    return record.as_dict()


def register_run_task(app: Celery, config: Config, store: Store, queue: str) -> None:
    """The `ouhub.run` task of a worker: runs with this host's config and store, and
    leaves each record on ``queue``'s results queue (before the task is acknowledged: a
    worker lost in between leaves the task to be run again, its record stored once)."""

    @app.task(name=TASK_NAME, bind=True, max_retries=None, acks_late=True,
              reject_on_worker_lost=True, ignore_result=True)
    def run(self: Any, payload: Any) -> None:
        publish_record(app, queue, answer(self, payload))

    def answer(self: Any, payload: Any) -> dict[str, Any]:
        request = self.request
        losses = request.retries
        if (request.delivery_info or {}).get("redelivered"):
            # delivered before and never acknowledged: the worker running it was lost
            losses += 1
            if losses >= MAX_LOSSES:
                log.error("run %s: lost with %s workers; answering `error`",
                          payload.get("run_id") if isinstance(payload, dict) else "?", losses)
                return lost_record(payload, losses, request.hostname).as_dict()
            log.warning("run %s: its worker was lost; sending it again (loss %s of %s)",
                        payload.get("run_id") if isinstance(payload, dict) else "?", losses,
                        MAX_LOSSES)
            raise self.retry(countdown=0)
        return perform(config, store, payload, request.hostname, losses)


def node_name() -> str:
    """A worker's Celery name: unique per process, so several workers may share a host."""
    return f"ouhub-{os.getpid()}@{hostname()}"


class _RedactFilter(logging.Filter):
    """Every URL in a worker's log lines passes redact_urls: Celery and kombu log the
    broker's, and an error may quote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = redact_urls(message)
        if shown != message:
            record.msg, record.args = shown, ()
        return True


def serve(config: Config, store: Store, concurrency: int, queue: str) -> int:
    """Run a worker until it is stopped; returns its exit code.

    Before taking runs it cleans what dead runs left on this host (their scratch
    databases) and checks that the broker answers.
    """
    from ouhub.runner.run import clean_leftovers

    broker = config.runner.broker
    if not broker:
        raise ConfigError("no broker configured: a worker takes runs from RabbitMQ",
                          hint='add [runner] broker = "amqp://user@host:5672/vhost" (with a password: '
                               'user:password@host)')
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RedactFilter())
    cleaned = clean_leftovers(config, store)
    if cleaned:
        log.warning("dropped %s database(s) left by dead runs on this host: %s", len(cleaned),
                    ", ".join(cleaned))
    app = make_app(broker, queue)
    check_broker(app, broker)
    register_run_task(app, config, store, queue)
    name = node_name()
    log.info("worker %s: %s slot(s) on queue %s at %s", name, concurrency, queue,
             redact_dsn(broker))
    # threads, not processes: a run's work is in its upgrade subprocess and PostgreSQL, and
    # every slot shares this process's store and the one pid that cleanup judges by
    worker = app.Worker(
        hostname=name, concurrency=concurrency, pool="threads", queues=[queue],
        without_mingle=True, without_gossip=True, without_heartbeat=True, quiet=True,
        loglevel="WARNING",  # Celery's own chatter; ouhub's lines say what each run did
    )
    worker.start()
    return int(worker.exitcode or 0)
