"""Runs on `ouhub worker` processes through the real RabbitMQ, driven by `ouhub run`.

The coordinator and the workers share one config here (one host, one data dir): the
sample's template and the 7.0 mirror are found, not fetched (tests/runner/test_host.py
covers a bare worker). The 7.0 sale script reads two variables from the worker's
environment, which the upgrade inherits: OUHUB_TEST_SLEEP (seconds of work) and
OUHUB_TEST_HANG (a folder: say "I hang" there with a file named by the pid, then
hang), so a test decides which worker hangs and where to kill it; OUHUB_TEST_GATE (a
folder: say "I wait" there the same way, then wait until a file named ``go`` is there).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ouhub import config as config_mod
from ouhub.runner.coordinator import dispatch_runs
from ouhub.runner.pg import database_exists
from ouhub.store import Store
from tests.runner.conftest import STANDIN_COMMAND, addons_70
from tests.support.broker import (
    OUHUB,
    TEST_BROKER,
    finish,
    leftovers,
    ouhub_cli,
    running,
    unique_queue,
    workers_on,
)
from tests.support.config import write_config

pytestmark = pytest.mark.slow

SCRIPT = (
    "import os, time\n\n"
    "def migrate(cr, version):\n"
    "    hang = os.environ.get('OUHUB_TEST_HANG')\n"
    "    if hang:\n"
    "        open(os.path.join(hang, str(os.getpid())), 'w').close()\n"
    "        time.sleep(600)\n"
    "    gate = os.environ.get('OUHUB_TEST_GATE')\n"
    "    if gate:\n"
    "        open(os.path.join(gate, str(os.getpid())), 'w').close()\n"
    "        for _ in range(6000):\n"
    "            if os.path.exists(os.path.join(gate, 'go')):\n"
    "                break\n"
    "            time.sleep(0.1)\n"
    "    time.sleep(float(os.environ.get('OUHUB_TEST_SLEEP', '0')))\n"
    "    cr.execute(\"UPDATE res_partner SET comment = 'migrated' WHERE id = 1\")\n"
)


@pytest.fixture
def project(tmp_path, pg_server, dump_61):
    """A config on the test RabbitMQ with a queue of its own, and its 7.0 mirror."""

    def make(samples: int = 1, broker: str = TEST_BROKER, queue: str | None = None) -> Path:
        path = write_config(
            tmp_path, {"6.1": {"server": str(tmp_path / "b61")},
                       "7.0": {"server": str(tmp_path / "b70")}},
            dsn=pg_server,
            samples=[{"name": f"s61{chr(97 + i)}" if samples > 1 else "s61", "release": "6.1",
                      "dump": str(dump_61)} for i in range(samples)],
            runner={"timeout": 120, "commands": {"7.0": STANDIN_COMMAND}, "broker": broker,
                    "queue": queue or unique_queue()},
        )
        addons_70(config_mod.load(path), sale_script=SCRIPT)
        return path

    yield make
    config = config_mod.load(tmp_path / "ouhub.toml")
    with Store.open(config.store_path) as store:  # drop whatever a test left (templates)
        from ouhub.runner.pg import Databases

        for rec in store.live_databases():
            Databases(store, config.dsn).drop(rec.name)


def test_runs_spread_over_two_workers_and_each_is_stored_once(project, tmp_path):
    path = project(samples=2)
    config = config_mod.load(path)
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers:
        for name in ("a", "b"):
            workers.start(name, env={"OUHUB_TEST_SLEEP": "1.5"})

        code, out, err = finish(ouhub_cli(path, "run", "--all", "--json"))

        assert code == 0, err
        runs = json.loads(out)
        assert [(r["sample"], r["status"]) for r in runs] == [
            (s, "passed") for s in ("s61a", "s61b")]
        ran_on = {r["worker"].split("@")[0] for r in runs}
        assert ran_on == {workers.node(n).split("@")[0] for n in ("a", "b")}, err
        assert err.count("passed on ouhub-") == 2  # progress, as each record arrived
    with Store.open(config.store_path) as store:
        stored = store.runs(kind="run")
        assert sorted(r.id for r in stored) == sorted(r["run_id"] for r in runs)
        assert {(r.status, r.losses) for r in stored} == {("passed", 0)}
        assert {m.module for m in store.run_modules(runs[0]["run_id"])} == {
            "base", "sale", "stock"}
        log_text = Path(stored[0].log_path).read_text()  # the log came back with the record
        assert log_text.startswith("# ouhub: upgrade 6.1 -> 7.0") and "sale" in log_text
        assert leftovers(config, store) == []


def test_a_coordinator_killed_mid_round_loses_no_record(project, tmp_path):
    path = project()
    config = config_mod.load(path)
    gate = tmp_path / "gate"
    gate.mkdir()
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers:
        workers.start("a", env={"OUHUB_TEST_GATE": str(gate)})
        coordinator = ouhub_cli(path, "run", "--all", "--json")
        workers.wait(lambda: any(gate.iterdir()), 120)  # a's upgrade is under way
        with Store.open(config.store_path) as store:
            [run_id] = [r.id for r in store.runs(kind="run")]
        coordinator.kill()  # SIGKILL: no goodbye, nothing stored, its reply queue gone
        coordinator.wait(timeout=60)
        (gate / "go").touch()  # the worker finishes the run with nobody waiting for it
        workers.wait(lambda: workers.records() == 1, 120)  # its record, left on the broker
        with Store.open(config.store_path) as store:
            assert store.run(run_id).status == "running"

        code, out, err = finish(ouhub_cli(path, "run", "--all", "--json"))  # the next round

        assert code == 0, err
        assert f"run {run_id} 6.1 -> 7.0 s61: passed on {workers.node('a')}" in err
        [again] = json.loads(out)  # this round's own run of the sample
        assert again["run_id"] != run_id and again["status"] == "passed"
        # the killed coordinator's run was run once, by a, and not sent again
        assert workers.log("a").count(f"run {run_id}: 6.1 -> 7.0 s61 started") == 1
        assert workers.records() == 0  # acknowledged once stored
    with Store.open(config.store_path) as store:
        run = store.run(run_id)
        assert (run.status, run.losses) == ("passed", 0)
        assert run.worker.startswith(workers.node("a"))
        assert {(m.module, m.outcome) for m in store.run_modules(run_id)} == {
            ("base", "upgraded"), ("sale", "upgraded"), ("stock", "upgraded")}
        assert Path(run.log_path).read_text().startswith("# ouhub: upgrade 6.1 -> 7.0")


@pytest.fixture
def hanging(project, tmp_path):
    """Worker a took the run and hangs in the sale script; yields (config, workers, hung
    folder, the coordinator's process). Later workers hang too when given ``hang``."""
    path = project()
    config = config_mod.load(path)
    hung = tmp_path / "hung"
    hung.mkdir()
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers:
        workers.start("a", env={"OUHUB_TEST_HANG": str(hung)})
        coordinator = ouhub_cli(path, "run", "--release", "7.0", "--sample", "s61", "--json")
        workers.wait(lambda: len(list(hung.iterdir())) == 1, 120)  # a's upgrade hangs
        yield config, workers, hung, coordinator


def test_a_worker_killed_mid_run_is_redone_elsewhere_stored_once_and_cleaned_up(hanging):
    config, workers, hung, coordinator = hanging
    [orphan] = [int(p.name) for p in hung.iterdir()]
    workers.start("b")
    workers.kill("a")  # SIGKILL: no goodbye to RabbitMQ, its upgrade left running

    code, out, err = finish(coordinator)

    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "passed" and run["worker"].startswith(workers.node("b"))
    with Store.open(config.store_path) as store:
        [stored] = store.runs(kind="run")
        assert (stored.id, stored.status, stored.losses) == (run["run_id"], "passed", 1)
        assert stored.worker == run["worker"]
        # the coordinator cleaned up after the dead worker: its upgrade and its scratch copy
        assert not running(orphan) and leftovers(config, store) == []


def test_the_next_worker_on_the_host_cleans_up_after_a_dead_one(hanging):
    config, workers, hung, coordinator = hanging
    [orphan] = [int(p.name) for p in hung.iterdir()]
    with Store.open(config.store_path) as store:
        [scratch] = [d.name for d in store.live_databases() if d.kind == "scratch"]
    workers.kill("a")
    coordinator.kill()  # no coordinator left to clean up at the end of its round
    coordinator.wait(timeout=60)
    assert running(orphan)

    workers.start("b")  # cleans before it takes runs

    assert not running(orphan)
    with Store.open(config.store_path) as store:
        assert store.database_record(scratch).dropped_at is not None
        assert not database_exists(config.dsn, scratch)
        [run] = store.runs(kind="run")  # the dead coordinator's run: not left `running`
        assert run.status != "running"


def test_a_run_that_loses_two_workers_is_stored_as_an_error(hanging):
    config, workers, hung, coordinator = hanging
    workers.start("b", env={"OUHUB_TEST_HANG": str(hung)})
    workers.kill("a")
    workers.wait(lambda: len(list(hung.iterdir())) == 2, 120)  # b took it, and hangs too
    workers.start("c")
    workers.kill("b")

    code, out, err = finish(coordinator)

    assert code == 1
    run = json.loads(out)
    assert run["status"] == "error"
    assert "lost with its worker 2 times" in run["message"] and "not tried again" in run["message"]
    with Store.open(config.store_path) as store:
        [stored] = store.runs(kind="run")
        assert (stored.status, stored.losses) == ("error", 2)
        assert leftovers(config, store) == []
    assert not any(running(int(p.name)) for p in hung.iterdir())


def test_a_queue_left_without_workers_ends_the_round(project, tmp_path):
    path = project()
    config = config_mod.load(path)
    hung = tmp_path / "hung"
    hung.mkdir()
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers, \
            Store.open(config.store_path) as store, ThreadPoolExecutor(1) as pool:
        workers.start("a", env={"OUHUB_TEST_HANG": str(hung)})
        round_ = pool.submit(dispatch_runs, config, store, [("7.0", "s61")], quiet=True,
                             grace=1.0)
        workers.wait(lambda: any(hung.iterdir()), 120)
        workers.kill("a")  # and no other worker comes

        [result] = round_.result(timeout=120)

        assert result.status == "error"
        assert f"no worker took runs from queue {config.runner.queue}" in result.message
        assert store.run(result.run_id).status == "error" and leftovers(config, store) == []


def test_a_broker_that_is_down_is_a_clear_error_at_the_start(project):
    path = project(broker="amqp://guest:s3cret-pw@127.0.0.1:1//")
    for args in (("run", "--all"), ("run", "-r", "7.0", "-s", "s61"), ("worker",)):
        code, out, err = finish(ouhub_cli(path, *args), timeout=60)
        assert code == 1, (args, err)
        assert "error: cannot reach the broker amqp://guest:***@127.0.0.1:1//" in err, args
        assert "s3cret-pw" not in out + err
    config = config_mod.load(path)
    with Store.open(config.store_path) as store:
        assert store.runs() == []  # nothing started, nothing half-stored


def test_no_worker_on_the_queue_is_a_clear_error_and_local_runs_here(project):
    path = project()
    queue = config_mod.load(path).runner.queue
    code, _, err = finish(ouhub_cli(path, "run", "--all"), timeout=60)
    assert code == 1 and f"error: no worker takes runs from queue {queue}" in err
    assert "--local" in err
    code, out, err = finish(ouhub_cli(path, "run", "--all", "--local", "--json"))
    assert code == 0, err
    [run] = json.loads(out)
    assert run["status"] == "passed" and run["worker"] is None  # in-process, as before


class Planted:
    """Unpickling this would plant a file: what a pickled task could do to a worker."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_task_is_refused_and_the_worker_goes_on(project, tmp_path):
    path = project()
    config = config_mod.load(path)
    planted = tmp_path / "planted"
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers:
        workers.start("a")
        from ouhub.runner.worker import TASK_NAME, make_app

        sender = make_app(TEST_BROKER, config.runner.queue)
        sender.conf.accept_content = ["json", "pickle"]
        sender.send_task(TASK_NAME, args=[Planted(str(planted))], queue=config.runner.queue,
                         serializer="pickle")
        code, out, err = finish(ouhub_cli(path, "run", "-r", "7.0", "-s", "s61", "--json"))
        assert code == 0, err
        assert json.loads(out)["status"] == "passed"
        assert not planted.exists()
        assert "pickle" in workers.log("a")  # Celery says what it refused


def test_without_a_broker_nothing_imports_celery():
    code = ("import sys, ouhub.cli, ouhub.runner.stage, ouhub.nightly; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu')))")
    done = subprocess.run([*OUHUB[:1], "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ})
    assert done.stdout.strip() == "[]"


def test_sigterm_lets_a_worker_finish_its_run(project, tmp_path):
    path = project()
    config = config_mod.load(path)
    with workers_on(path, config.runner.queue, tmp_path / "logs") as workers:
        worker = workers.start("a", env={"OUHUB_TEST_SLEEP": "3"})
        coordinator = ouhub_cli(path, "run", "-r", "7.0", "-s", "s61", "--json")
        workers.wait(lambda: "started" in workers.log("a"), 60)
        worker.send_signal(signal.SIGTERM)  # a warm shutdown: the run in progress finishes
        code, out, err = finish(coordinator)
        assert code == 0 and json.loads(out)["status"] == "passed", err
        assert worker.wait(timeout=60) == 0
