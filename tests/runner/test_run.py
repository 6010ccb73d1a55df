from __future__ import annotations

import os
from pathlib import Path

import pytest
from psycopg2.extensions import parse_dsn

from ouhub.errors import RunnerError
from ouhub.runner.pg import Databases, database_exists, module_rows
from ouhub.runner.run import run_sample
from ouhub.runner.samples import import_samples
from ouhub.runner.upgrade import execute_step
from tests.runner.conftest import STANDIN_COMMAND, addons_70, build_config


def sample_config(tmp_path: Path, pg_server: str, dump: Path, password: str = "", **kw):
    server = pg_server
    if password:  # a password in the DSN must never reach logs or the store
        server = server.replace("postgres@", f"postgres:{password}@")
    return build_config(tmp_path, server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump)}],
        commands={"7.0": STANDIN_COMMAND + " -w {db_password}"}, **kw)


def test_passing_step_stores_evidence_and_drops_scratch(tmp_path, pg_server, dump_61,
                                                        runner_store):
    config = sample_config(tmp_path, pg_server, dump_61, password="s3cr3t-pw")
    addons_70(config)
    store = runner_store(config)
    import_samples(config, store)

    result = run_sample(config, store, "7.0", "s61")

    assert result.status == "passed", result.message
    outcomes = {m.module: (m.outcome, m.version_before, m.version_after)
                for m in store.run_modules(result.run_id)}
    assert outcomes == {"base": ("upgraded", "6.1.1.3", "7.0.1.3"),
                        "sale": ("upgraded", "6.1.1.0", "7.0.1.0"),
                        "stock": ("upgraded", "6.1.1.1", "7.0.1.1")}
    sale = next(m for m in store.run_modules(result.run_id) if m.module == "sale")
    assert sale.scripts == ("7.0.1.0/post-migration",)
    run = store.runs(release="7.0", sample="s61")[0]
    assert (run.status, run.exit_code, run.scratch_db) == ("passed", 0, result.database)
    assert run.duration and run.duration > 0
    assert not database_exists(config.dsn, result.database)  # dropped without --keep
    assert store.database_record(result.database).dropped_at is not None
    log_text = Path(run.log_path).read_text()
    assert "Loading module sale" in log_text
    for path in [config.store_path, *Path(run.log_path).parent.iterdir()]:
        assert b"s3cr3t-pw" not in path.read_bytes(), path
    assert store.last_run_outcomes("7.0")["sale"].run_status == "passed"


FAILURES = {
    "raise": ("def migrate(cr, version):\n    raise ValueError('sale cannot migrate')\n",
              "failed", "ValueError: sale cannot migrate"),
    "crash": ("import os\n\ndef migrate(cr, version):\n    os._exit(3)\n", "error", ""),
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_failure_modes_are_attributed_to_the_module(mode, tmp_path, pg_server, dump_61,
                                                    runner_store):
    script, status, excerpt = FAILURES[mode]
    config = sample_config(tmp_path, pg_server, dump_61)
    addons_70(config, sale_script=script)
    store = runner_store(config)
    import_samples(config, store)

    result = run_sample(config, store, "7.0", "s61", keep=True)

    assert result.status == status, result.message
    outcomes = {m.module: m for m in store.run_modules(result.run_id)}
    assert outcomes["base"].outcome == "upgraded"
    assert outcomes["sale"].outcome == "failed"
    assert excerpt in outcomes["sale"].excerpt
    assert outcomes["stock"].outcome == "not_reached"
    # --keep: the scratch database stays for a look, still recorded as ouhub's
    assert module_rows(config.dsn, result.database)["sale"].state == "to upgrade"
    assert store.database_record(result.database).keep


def test_module_missing_from_addons_path_fails_that_module(tmp_path, pg_server, dump_61,
                                                           runner_store):
    config = sample_config(tmp_path, pg_server, dump_61)
    addons_70(config, stock=False)
    store = runner_store(config)
    import_samples(config, store)
    result = run_sample(config, store, "7.0", "s61")
    assert result.status == "failed"
    outcomes = {m.module: m for m in result.modules}
    assert outcomes["stock"].outcome == "failed" and "to upgrade" in outcomes["stock"].excerpt
    assert outcomes["sale"].outcome == "upgraded"
    assert "stock" in result.message


def test_timeout_kills_the_whole_process_group(tmp_path, pg_server, dump_61, runner_store):
    config = sample_config(tmp_path, pg_server, dump_61, timeout=3)
    hang = ("import subprocess, sys, time\n\ndef migrate(cr, version):\n"
            "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            "    time.sleep(120)\n")
    addons_70(config, sale_script=hang)
    store = runner_store(config)
    import_samples(config, store)

    result = run_sample(config, store, "7.0", "s61")

    assert result.status == "timeout"
    assert {m.module: m.outcome for m in result.modules}["sale"] == "failed"
    log_text = Path(result.log_path).read_text()
    assert "timed out" in log_text
    pid = int(next(line.split()[2] for line in log_text.splitlines()
                   if "Loading module sale" in line))
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pid:
                    leftovers.append(entry.name)
            except ProcessLookupError:
                continue
    assert leftovers == []
    assert not database_exists(config.dsn, result.database)


def test_refuses_a_database_ouhub_did_not_create_or_a_template(tmp_path, pg_server, pg_database,
                                                               dump_61, runner_store):
    config = sample_config(tmp_path, pg_server, dump_61)
    store = runner_store(config)
    import_samples(config, store)
    dbs = Databases(store, config.dsn)
    foreign = parse_dsn(pg_database)["dbname"]
    with pytest.raises(RunnerError, match="did not create"):
        execute_step(config, dbs, foreign, "6.1", "7.0", tmp_path / "r")
    with pytest.raises(RunnerError, match="did not create"):
        dbs.drop(foreign)
    template = store.sample_template("s61").dbname
    with pytest.raises(RunnerError, match="template"):
        execute_step(config, dbs, template, "6.1", "7.0", tmp_path / "r")
    assert database_exists(config.dsn, foreign) and database_exists(config.dsn, template)
