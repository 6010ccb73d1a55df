"""A worker's side of a run, without the broker: its host brought to the task's state.

The worker here has its own data dir: no mirror, no template. The task names the
7.0 branch's revision and the dump's checksum, as a coordinator would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ouhub.runner.host import run_task, worker_run_dir
from ouhub.runner.pg import database_exists
from ouhub.runner.samples import checksum
from ouhub.runner.spare import wait_for_spares
from ouhub.runner.task import RunTask
from ouhub.runner.worker import perform
from tests.runner.conftest import OK_SCRIPT, STANDIN_COMMAND, build_config


def module_files(sale_script: str = OK_SCRIPT) -> dict[str, str]:
    """A 7.0 server branch holding base, sale (with a post-migration script) and stock."""
    def manifest(name: str, version: str, depends: tuple[str, ...] = ()) -> str:
        return repr({"name": name, "version": version, "depends": list(depends)}) + "\n"

    return {
        "openerp/addons/base/__openerp__.py": manifest("base", "1.3"),
        "openerp/addons/sale/__openerp__.py": manifest("sale", "1.0", ("base",)),
        "openerp/addons/sale/migrations/7.0.1.0/post-migration.py": sale_script,
        "openerp/addons/stock/__openerp__.py": manifest("stock", "1.1", ("base",)),
    }


@pytest.fixture
def worker_host(tmp_path, pg_server, dump_61, bzr_branch, runner_store):
    """A worker's config and store on a fresh data dir, the 7.0 branch made by ``commits``."""

    def make(*commits: dict[str, str], log_limit: int = 1_000_000):
        path, revids = bzr_branch("b70", list(commits))
        config = build_config(tmp_path, pg_server, samples=[
            {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
            commands={"7.0": STANDIN_COMMAND}, url_70=str(path), log_limit=log_limit)
        return config, runner_store(config), [r.decode() for r in revids]

    return make


def task_for(revid: str, dump: Path, run_id: int = 41, sha: str | None = None) -> RunTask:
    return RunTask(run_id=run_id, release="7.0", previous="6.1", sample="s61",
                   checksum=sha or checksum(dump), revisions={"server": revid}, timeout=60)


def test_a_bare_worker_fetches_the_revision_restores_the_template_and_runs(worker_host, dump_61):
    config, store, [revid] = worker_host(module_files())

    record = run_task(config, store, task_for(revid, dump_61), "ouhub-1@test")

    assert record.status == "passed", record.message
    assert (record.run_id, record.worker, record.losses) == (41, "ouhub-1@test", 0)
    assert {m.module: m.outcome for m in record.modules} == {
        "base": "upgraded", "sale": "upgraded", "stock": "upgraded"}
    assert record.revisions == {"server": f"1 ({revid})"}  # as `ouhub run` records it
    assert record.exit_code == 0 and record.command_seconds and record.duration > 0
    assert "module sale: Running migration" in record.log  # the upgrade log travels along
    assert (worker_run_dir(config, 41) / "upgrade.log").is_file()  # whole, on the worker
    template = store.sample_template("s61")
    assert template.checksum == checksum(dump_61) and database_exists(config.dsn, template.dbname)
    # the scratch database is gone; the template and its spare clone stay for the next runs
    wait_for_spares()
    assert sorted(d.kind for d in store.live_databases()) == ["spare", "template"]
    again = run_task(config, store, task_for(revid, dump_61, run_id=42), "ouhub-1@test")
    assert again.status == "passed" and store.sample_template("s61") == template


def test_another_dump_or_a_moved_branch_is_an_error_record(worker_host, dump_61):
    config, store, [first, second] = worker_host(module_files(), {"README": "moved on\n"})

    moved = run_task(config, store, task_for(first, dump_61), "w")
    assert moved.status == "error" and moved.modules == ()
    assert f"is at {second} on this worker after fetching, the run is of {first}" in moved.message

    other = run_task(config, store, task_for(second, dump_61, sha="0" * 64), "w")
    assert other.status == "error"
    assert "the dump changed since the coordinator read it" in other.message
    assert store.live_databases() == [] and store.sample_template("s61") is None


def test_the_record_carries_the_logs_head_and_tail_within_the_limit(worker_host, dump_61):
    chatty = ("def migrate(cr, version):\n"
              "    for i in range(3000):\n"
              "        print('sale migration progress line', i, flush=True)\n")
    config, store, [revid] = worker_host(module_files(chatty), log_limit=10_000)

    record = run_task(config, store, task_for(revid, dump_61), "w")

    assert record.status == "passed", record.message
    kept = (worker_run_dir(config, 41) / "upgrade.log").read_text()
    # the worker keeps the log capped as well (its 3,000 lines are some 100 KB): the same
    assert len(record.log) <= 10_001 and record.log == kept
    assert record.log.startswith("# ouhub: upgrade 6.1 -> 7.0 of database ")
    assert "characters cut from the middle of this log" in record.log
    assert "sale migration progress line 2999" in record.log[-2000:]


@pytest.mark.parametrize("payload, expected", [
    ({"run_id": 5, "release": "7.0"}, "the worker refused the task: task: field "),
    ("rm -rf /", "the worker refused the task: task: expected a JSON object, got str"),
])
def test_a_malformed_task_is_answered_with_an_error_record(tmp_path, pg_server, payload,
                                                          expected):
    config = build_config(tmp_path, pg_server)
    answer = perform(config, None, payload, "w", 0)  # never reaches the store
    assert answer["status"] == "error" and answer["message"].startswith(expected)
    assert answer["run_id"] == (5 if isinstance(payload, dict) else 0)
