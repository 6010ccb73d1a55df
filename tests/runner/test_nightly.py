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
from tests.runner.conftest import OK_SCRIPT, ROOT, STANDIN_COMMAND
from tests.support.config import make_config

FAILING = "def migrate(cr, version):\n    raise ValueError('stock moves are broken')\n"


def manifest(name: str, version: str, depends=()) -> str:
    return repr({"name": name, "version": version, "depends": ["base", *depends]
                 if name != "base" else []}) + "\n"


def branch_files(release: str, stock_script: str | None) -> dict[str, str]:
    files = {
        "openerp/addons/base/__openerp__.py": manifest("base", "1.3"),
        "openerp/addons/sale/__openerp__.py": manifest("sale", "1.0"),
        "openerp/addons/stock/__openerp__.py": manifest("stock", "1.1"),
    }
    if release == "7.0":
        files["openerp/addons/sale/migrations/7.0.1.0/post-migration.py"] = OK_SCRIPT
        files["openerp/addons/stock/migrations/7.0.1.1/pre-migration.py"] = stock_script or OK_SCRIPT
    return files


def nightly_config(tmp_path: Path, pg_server: str, dump: Path, stock_script=None):
    for release in ("6.1", "7.0"):
        make_branch(tmp_path / "branches" / release, [branch_files(release, stock_script)])
    return make_config(tmp_path, {
        release: {"server": {"url": str(tmp_path / "branches" / release), "vcs": "bzr"}}
        for release in ("6.1", "7.0")
    }, dsn=pg_server, samples=[{"name": "s61", "release": "6.1", "dump": str(dump)}],
        runner={"timeout": 60, "commands": {"7.0": STANDIN_COMMAND}})


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
    assert [d.kind for d in store.live_databases()] == ["template"]  # no scratch left


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
    assert wrong.exit_code == 1 and "release 6.1 has no previous release" in wrong.output
