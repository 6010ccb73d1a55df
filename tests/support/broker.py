"""The RabbitMQ the worker tests use, and real `ouhub worker` processes on a queue of their own.

Each test takes a queue named for it alone (``ouhub-test-<random>``), so parallel test
runs and CI on the same RabbitMQ never take each other's runs; the queue is deleted
afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from kombu import Connection

from ouhub import config as config_mod
from ouhub.fsutil import pid_alive
from ouhub.runner.coordinator import queue_consumers
from ouhub.runner.pg import database_exists, hostname
from ouhub.runner.worker import results_queue
from ouhub.store import Store

TEST_BROKER = os.environ.get("OUHUB_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
OUHUB = [sys.executable, "-m", "ouhub"]


def unique_queue() -> str:
    return f"ouhub-test-{uuid.uuid4().hex[:12]}"


class Workers:
    """`ouhub --config CONFIG worker` processes taking runs from ``queue``."""

    def __init__(self, config: Path, queue: str, logs: Path):
        self.config, self.queue, self.logs = config, queue, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, concurrency: int = 1, env: Mapping[str, str] | None = None,
              ready: bool = True) -> subprocess.Popen:
        """Start worker ``name``; with ``ready``, wait until it consumes the queue."""
        before = self.consumers()
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [*OUHUB, "--config", str(self.config), "worker", "--queue", self.queue,
                 "--concurrency", str(concurrency)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            )
        self.procs[name] = proc
        if ready:
            self.wait(lambda: self.consumers() > before or proc.poll() is not None, 60)
            assert proc.poll() is None, f"worker {name} exited:\n{self.log(name)}"
        return proc

    def node(self, name: str) -> str:
        """The Celery node name of worker ``name`` (what its run records say)."""
        return f"ouhub-{self.procs[name].pid}@"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=60)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def consumers(self) -> int:
        with Connection(TEST_BROKER) as conn:
            return queue_consumers(conn, self.queue)

    @staticmethod
    def wait(condition, seconds: float) -> None:  # noqa: ANN001 - a callable returning bool
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.1)

    def records(self) -> int:
        """How many run records wait on the queue's results queue (unacknowledged ones not
        counted)."""
        return waiting(results_queue(self.queue).name)

    def stop(self) -> None:
        """SIGTERM every worker still running (SIGKILL after 30 s); delete the queue and its
        results queue."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        with Connection(TEST_BROKER) as conn:
            channel = conn.channel()
            for name in (self.queue, results_queue(self.queue).name):
                try:
                    channel.queue_delete(name)
                except conn.channel_errors:  # never declared: the channel is closed now
                    channel = conn.channel()


def waiting(queue: str) -> int:
    """How many messages ``queue`` holds ready (0 when it does not exist)."""
    with Connection(TEST_BROKER) as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except conn.channel_errors:
            return 0


@contextmanager
def workers_on(config: Path, queue: str, logs: Path) -> Iterator[Workers]:
    workers = Workers(config, queue, logs)
    try:
        yield workers
    finally:
        workers.stop()


def ouhub_cli(config: Path, *args: str, **popen) -> subprocess.Popen:
    """`ouhub --config CONFIG ARGS...` started, its output captured as text."""
    return subprocess.Popen([*OUHUB, "--config", str(config), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    """Its exit code, stdout and stderr, once it ended."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def leftovers(config: config_mod.Config, store: Store) -> list[str]:
    """Scratch databases still there, and upgrade processes still running, on this host
    (templates and their spare clones, complete or being made, are meant to stay)."""
    found = [f"database {d.name}" for d in store.live_databases()
             if d.kind != "template" and not (d.kind == "spare" and (d.keep or pid_alive(d.pid)))
             and database_exists(config.dsn, d.name)]
    found += [f"process group {p.pgid}" for p in store.live_upgrade_processes(hostname())
              if pid_alive(p.pgid, group=True)]
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie (killed, not yet reaped by init) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
