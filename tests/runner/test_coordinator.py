"""The results queue against the real RabbitMQ: what a coordinator does with the records it
finds there (no workers: the records are left as a worker leaves them)."""

from __future__ import annotations

import logging
import subprocess

from kombu import Connection

from ouhub import config as config_mod
from ouhub.runner.coordinator import gather_left
from ouhub.runner.pg import hostname
from ouhub.runner.task import RunRecord
from ouhub.runner.worker import make_app, publish_record, results_queue
from ouhub.store import Store
from tests.support.broker import TEST_BROKER, unique_queue, waiting
from tests.support.config import write_config


def _record(run_id: int, sample: str = "s61") -> dict:
    return RunRecord(run_id=run_id, release="7.0", previous="6.1", sample=sample,
                     status="passed", message="", duration=2.0, command_seconds=1.5,
                     exit_code=0, host="w1", worker="ouhub-1@w1",
                     revisions={"server": "3 (rev)"}, log="# ouhub: upgrade").as_dict()


def test_records_left_on_the_queue_are_stored_once_and_others_left_there(tmp_path, caplog):
    queue = unique_queue()
    config = config_mod.load(write_config(tmp_path, ["6.1", "7.0"], runner={
        "broker": TEST_BROKER, "queue": queue}))
    app = make_app(TEST_BROKER, queue)
    dead = subprocess.Popen(["true"])  # a coordinator that ran here and runs no more
    dead.wait()
    alive = subprocess.Popen(["sleep", "600"])
    try:
        with Store.open(config.store_path) as store:
            def start(sample: str = "s61", pid: int = dead.pid) -> int:
                return store.start_run(kind="run", release="7.0", previous="6.1",
                                       sample=sample, host=hostname(), pid=pid)

            left, gone, done, other = start(), start(), start(), start("s70")
            waited = start(pid=alive.pid)  # its coordinator still runs: its record is its own
            store.finish_run(gone, status="interrupted", duration=0.0, exit_code=None,
                             message="interrupted: the ouhub process running it is gone")
            store.finish_run(done, status="error", duration=0.0, exit_code=None,
                             message="the coordinator stopped waiting")
            for record in (_record(left), _record(gone), _record(done), _record(other),
                           _record(other + 100), _record(waited)):
                publish_record(app, queue, record)
            with app.connection_for_write() as conn:  # a message that is no record
                conn.Producer().publish({"run_id": "x"}, routing_key=f"{queue}.results",
                                        serializer="json")

            with Connection(TEST_BROKER) as conn, \
                    caplog.at_level(logging.INFO, logger="ouhub.runner.coordinator"):
                stored = gather_left(config, store, conn, queue)

            assert sorted(r.run_id for r in stored) == [left, gone]
            assert {store.run(i).status for i in (left, gone)} == {"passed"}
            assert store.run(left).worker == "ouhub-1@w1"
            assert store.run(done).status == "error"  # final already: dropped, said so
            assert f"run {done} is stored already (error)" in caplog.text
            assert "malformed record" in caplog.text
            # another sample under a known id, and an unknown id: not ours, left on the queue
            assert "2 record(s) on" in caplog.text and "give each its own" in caplog.text
            assert store.run(waited).status == "running"
            assert waiting(results_queue(queue).name) == 3
            with Connection(TEST_BROKER) as conn:  # and a second look stores nothing again
                assert gather_left(config, store, conn, queue) == []
    finally:
        alive.kill()
        alive.wait()
        with Connection(TEST_BROKER) as conn:
            conn.channel().queue_delete(results_queue(queue).name)
