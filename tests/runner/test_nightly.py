from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from examples.demo.vcs import make_branch
from ouhub.cli import main
from ouhub.errors import RunnerError
from ouhub.nightly import nightly_lock, run_nightly
from ouhub.runner.pg import database_exists
from ouhub.runner.spare import wait_for_spares
from tests.runner.conftest import OK_SCRIPT, ROOT, STANDIN_COMMAND, module_files
from tests.support.broker import OUHUB, TEST_BROKER, unique_queue, workers_on
from tests.support.config import make_config, write_config

FAILING = "def migrate(cr, version):\n    raise ValueError('stock moves are broken')\n"


def branch_files(release: str, stock_script: str | None) -> dict[str, str]:
    if release != "7.0":
        return module_files(None, release=release)
    return {**module_files(OK_SCRIPT),
            "openerp/addons/stock/migrations/7.0.1.1/pre-migration.py": stock_script or OK_SCRIPT}


def nightly_config(tmp_path: Path, pg_server: str, dump: Path, stock_script=None,
                   root: Path | None = None, **runner):
    """The project's branches under ``tmp_path``, made once; its config in ``root`` (default
    ``tmp_path``: another root is another host's config of the same project)."""
    if root is None:
        for release in ("6.1", "7.0"):
            make_branch(tmp_path / "branches" / release, [branch_files(release, stock_script)])
    return make_config(root or tmp_path, {
        release: {"server": {"url": str(tmp_path / "branches" / release), "vcs": "bzr"}}
        for release in ("6.1", "7.0")
    }, dsn=pg_server, samples=[{"name": "s61", "release": "6.1", "dump": str(dump)}],
        runner={"timeout": 60, "commands": {"7.0": STANDIN_COMMAND}, **runner})


CRASH = """
import os, sys
from ouhub import config as c
from ouhub.runner.pg import Databases, hostname
from ouhub.store import Store
config = c.load(sys.argv[1])
store = Store.open(config.store_path)
run_id = store.start_run(kind="run", release="7.0", previous="6.1", sample="s61",
                         host=hostname(), pid=os.getpid())
dbs = Databases(store, config.dsn)
name = dbs.new_name("run", str(run_id))
dbs.create(name, "scratch", run_id=run_id)
print(name, flush=True)
os._exit(9)  # crashed: nothing cleaned up
"""


@pytest.mark.slow
def test_nightly_cleans_a_crashed_runs_leftovers_then_runs_everything(
    tmp_path, pg_server, dump_61, runner_store
):
    config = nightly_config(tmp_path, pg_server, dump_61, stock_script=FAILING)
    store = runner_store(config)
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(config.path)], cwd=ROOT,
                             capture_output=True, text=True)
    leftover = crashed.stdout.strip()
    assert leftover.startswith("ouhub_run_") and database_exists(config.dsn, leftover)

    result = CliRunner().invoke(main, ["--config", str(config.path), "-q", "nightly", "--json"])

    assert result.exit_code == 1, result.output  # the failing stock script fails the run
    report = json.loads(result.stdout)
    assert report["cleaned"] == [leftover]
    assert not database_exists(config.dsn, leftover)
    interrupted = store.runs(release="7.0")[-1]
    assert interrupted.status == "interrupted" and "interrupted" in interrupted.message
    stages = {s["stage"]: s["status"] for s in report["stages"]}
    assert stages["sync"] == "ok" and stages["coverage"] == "ok" and stages["runner"] == "failed"
    [run] = report["runs"]
    assert run["status"] == "failed" and run["sample"] == "s61"
    outcomes = {m["module"]: m["outcome"] for m in run["modules"]}
    assert outcomes == {"base": "upgraded", "sale": "upgraded", "stock": "failed"}
    stock = next(m for m in run["modules"] if m["module"] == "stock")
    assert "stock moves are broken" in stock["excerpt"]
    stored = store.runs(release="7.0", limit=1)[0]
    assert stored.revisions["server"].startswith("1 (")  # the branch revision the run used
    events = store.last_stage_events()
    assert events["nightly"].ok is False
    assert events["samples"].ok and events["samples"].summary == {
        "samples": 1, "imported": 1, "failed": 0}
    assert not events["runner"].ok and events["runner"].summary == {
        "runs": 1, "passed": 0, "failed": 1}
    wait_for_spares()
    # no scratch left; the template and the spare clone the next run will take
    assert sorted(d.kind for d in store.live_databases()) == ["spare", "template"]


def test_only_one_nightly_at_a_time(tmp_path, pg_server, dump_61, runner_store):
    config = nightly_config(tmp_path, pg_server, dump_61)
    store = runner_store(config)
    with nightly_lock(config), pytest.raises(RunnerError, match="another `ouhub nightly`"):
        run_nightly(config, store)


def test_cli_samples_import_and_clear_run_errors(
    tmp_path, pg_server, dump_61, runner_store
):
    config = nightly_config(tmp_path, pg_server, dump_61)
    store = runner_store(config)
    cli = CliRunner()
    missing = cli.invoke(main, ["--config", str(config.path), "run", "-r", "7.0", "-s", "s61"])
    assert missing.exit_code == 1 and "ouhub samples import s61" in missing.output
    imported = cli.invoke(main, ["--config", str(config.path), "samples", "import"])
    assert imported.exit_code == 0, imported.output
    assert "imported" in imported.output and store.sample_template("s61") is not None
    events = store.last_stage_events()  # the import is the samples stage's, not the runner's
    assert events["samples"].summary == {"samples": 1, "imported": 1, "failed": 0}
    assert events["runner"].summary == {"message": "sample s61 has no template database yet"}
    wrong = cli.invoke(main, ["--config", str(config.path), "run", "-r", "6.1", "-s", "s61"])
    # a usage mistake (README's Commands: exit 2), as an unknown release is
    assert wrong.exit_code == 2 and "release 6.1 has no previous release" in wrong.stderr
    assert "hint: name a release with `previous`" in wrong.stderr


def test_run_into_a_first_release_is_a_usage_mistake_before_the_broker_is_asked(tmp_path):
    """With a broker, the step is checked here too: no errored run stored, no broker reached
    (this one answers nothing), no stage event; exit 2 as for an unknown release."""
    config = write_config(tmp_path, ["6.1", "7.0"], samples=[
        {"name": "s61", "release": "6.1", "dump": "s61.dump"}],
        runner={"broker": "amqp://guest@127.0.0.1:1//", "commands": {"7.0": STANDIN_COMMAND}})
    cli = CliRunner()
    wrong = cli.invoke(main, ["--config", str(config), "run", "-r", "6.1", "-s", "s61"])
    assert wrong.exit_code == 2, wrong.output
    assert wrong.stderr.splitlines() == [
        "error: release 6.1 has no previous release: there is no step into it",
        "  hint: name a release with `previous` in the config"]
    status = json.loads(cli.invoke(main, ["--config", str(config), "status", "--json"]).output)
    assert status["stages"]["runner"] is None  # a typo is no failed runner stage
    assert [r["last_run"] for r in status["releases"]] == [None, None]


@pytest.mark.parametrize("args, config_runner, error, hint", [
    (["-r", "8.0", "-s", "s61"], {},
     "sample s61 is a 6.1 database; the step into 8.0 starts from 7.0",
     "run a sample of the previous release"),
    (["-r", "7.0", "-s", "s61"], {"commands": {}},
     "no upgrade command for release 7.0", 'add [runner.commands] "7.0"'),
    (["-r", "7.0", "-s", "s61", "--keep"], {},
     "--keep and --dump-to leave a database on the host that ran the upgrade",
     "add --local to run it here"),
])
def test_the_other_usage_mistakes_of_run_exit_2_before_any_work(
    tmp_path, args, config_runner, error, hint
):
    """A sample of another release, a release without its command, --keep through a broker:
    mistakes in what was asked or configured (exit 2, README's Commands), said before the
    broker is asked (this one answers nothing) and recorded as no failed runner stage."""
    runner = {"broker": "amqp://guest@127.0.0.1:1//", "commands": {"7.0": STANDIN_COMMAND},
              **config_runner}
    config = write_config(tmp_path, ["6.1", "7.0", "8.0"], samples=[
        {"name": "s61", "release": "6.1", "dump": "s61.dump"}], runner=runner)
    cli = CliRunner()
    wrong = cli.invoke(main, ["--config", str(config), "run", *args])
    assert wrong.exit_code == 2, wrong.output
    first, second = wrong.stderr.splitlines()[:2]
    assert first.startswith(f"error: {error}") and hint in second, wrong.stderr
    status = json.loads(cli.invoke(main, ["--config", str(config), "status", "--json"]).output)
    assert status["stages"]["runner"] is None


@pytest.mark.slow
def test_nightly_with_a_broker_runs_on_a_worker_of_another_data_dir(tmp_path, pg_server,
                                                                     dump_61, runner_store):
    """A second host, as far as one machine goes: the worker has its own data dir and store,
    so it fetches the 7.0 branch to the nightly's revision and restores the sample itself."""
    queue = unique_queue()
    config = nightly_config(tmp_path, pg_server, dump_61, stock_script=FAILING,
                            broker=TEST_BROKER, queue=queue)
    worker_config = nightly_config(tmp_path, pg_server, dump_61, root=tmp_path / "worker",
                                   broker=TEST_BROKER, queue=queue)
    store = runner_store(config)
    worker_store = runner_store(worker_config)
    with workers_on(worker_config.path, queue, tmp_path / "logs") as workers:
        workers.start("w")

        result = subprocess.run([*OUHUB, "--config", str(config.path), "nightly", "--json"],
                                capture_output=True, text=True, timeout=300)

        assert result.returncode == 1, result.stderr  # the failing stock script
        report = json.loads(result.stdout)
        [run] = report["runs"]
        assert run["status"] == "failed" and run["worker"].startswith(workers.node("w"))
        assert {m["module"]: m["outcome"] for m in run["modules"]} == {
            "base": "upgraded", "sale": "upgraded", "stock": "failed"}
    [stored] = store.runs(release="7.0")
    synced = store.sync_state("7.0", "server")
    assert stored.revisions == {"server": f"{synced.revno} ({synced.revid})"}
    assert "stock moves are broken" in Path(stored.log_path).read_text()
    [stock] = [m for m in store.run_modules(stored.id) if m.module == "stock"]
    assert stock.fingerprint.exception == "ValueError"  # fingerprinted on the worker
    # the worker's own mirror is at the nightly's revision, its own template restored
    assert worker_store.sync_state("7.0", "server").revid == synced.revid
    assert worker_store.sample_template("s61") is not None
    assert store.sample_template("s61") is None  # the coordinator needs no sample database
    assert store.last_stage_events()["runner"].summary == {"runs": 1, "passed": 0, "failed": 1}
