from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys

import psycopg2
import pytest
from click.testing import CliRunner
from psycopg2.extensions import parse_dsn

from examples.demo.sampledb import create_sample_database
from ouhub.cli import main
from ouhub.errors import RunnerError
from ouhub.runner.pg import database_exists, module_rows
from ouhub.runner.run import clean_leftovers, migrate_database
from tests.runner.conftest import SAMPLE_61, STANDIN_COMMAND, addons_70, build_config


def content_checksum(dsn: str) -> str:
    """A digest of every row of every table, in a stable order."""
    digest = hashlib.sha256()
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT t::text FROM "{table}" t ORDER BY 1')
            digest.update(table.encode())
            for (row,) in cur.fetchall():
                digest.update(row.encode())
    return digest.hexdigest()


def chain_config(tmp_path, pg_server, step2_script=None):
    """6.1 -> 7.0 -> 8.0 with the stand-in (its file serves the CLI too); 8.0 speaks odoo.*
    and runs an end- script."""
    commands = {"7.0": STANDIN_COMMAND, "8.0": STANDIN_COMMAND + " --log-format odoo"}
    config = build_config(tmp_path, pg_server, commands=commands)
    addons_70(config)
    sale = addons_70(config, release="8.0", **({"sale_script": step2_script}
                                                if step2_script else {})) / "sale"
    (sale / "migrations" / "8.0.1.0" / "end-migration.py").write_text(
        "def migrate(cr, version):\n    pass\n")
    return config


def test_chain_of_two_steps_leaves_source_untouched(tmp_path, pg_server, pg_database,
                                                    runner_store):
    create_sample_database(pg_database, "6.1", SAMPLE_61)
    source = parse_dsn(pg_database)["dbname"]
    before = content_checksum(pg_database)
    config = chain_config(tmp_path, pg_server)
    store = runner_store(config)

    result = migrate_database(config, store, source, "8.0")

    assert result.status == "passed", result.message
    assert result.source_release == "6.1"
    assert result.chain == (("6.1", "7.0"), ("7.0", "8.0"))
    assert [s.status for s in result.steps] == ["passed", "passed"]
    assert module_rows(config.dsn, result.database)["sale"].version == "8.0.1.0"
    sale = {m.module: m for m in result.steps[1].modules}["sale"]
    assert sale.scripts == ("8.0.1.0/post-migration", "8.0.1.0/end-migration")
    assert content_checksum(pg_database) == before
    assert store.database_record(source) is None  # never registered, so never droppable
    runs = store.runs(kind="migrate")
    assert {r.chain_id for r in runs} == {runs[-1].id} and len(runs) == 2


def test_chain_stops_at_the_first_failed_step_and_says_where_the_copy_is(
    tmp_path, pg_server, pg_database, runner_store
):
    create_sample_database(pg_database, "6.1", SAMPLE_61)
    source = parse_dsn(pg_database)["dbname"]
    before = content_checksum(pg_database)
    config = chain_config(tmp_path, pg_server,
                          step2_script="def migrate(cr, v):\n    raise KeyError('partner_id')\n")
    runner_store(config)  # drops, at the end, the databases the CLI made

    cli = CliRunner().invoke(main, ["--config", str(config.path), "migrate", "-d", source,
                                    "--to", "8.0", "--keep-steps", "--json"])

    assert cli.exit_code == 1, cli.output
    # while it runs, stderr spells out the plan and each step
    assert f"migrate {source}: 6.1 -> 7.0 -> 8.0 (2 steps)" in cli.stderr
    assert "step 1/2: 6.1 -> 7.0 passed" in cli.stderr
    assert "step 2/2: 7.0 -> 8.0 failed" in cli.stderr
    result = json.loads(cli.stdout)
    assert result["status"] == "failed"
    assert [(s["release"], s["status"]) for s in result["steps"]] == [
        ("7.0", "passed"), ("8.0", "failed")]
    assert result["chain"] == [["6.1", "7.0"], ["7.0", "8.0"]]
    assert "7.0 -> 8.0" in result["message"] and result["database"] in result["message"]
    assert "sale" in result["message"] and "KeyError" in {
        m["module"]: m for m in result["steps"][1]["modules"]}["sale"]["excerpt"]
    step1_db, step2_db = result["steps"][0]["database"], result["steps"][1]["database"]
    assert step1_db != step2_db  # --keep-steps: each step's result is its own copy
    assert module_rows(config.dsn, step1_db)["sale"].version == "7.0.1.0"
    assert database_exists(config.dsn, step2_db)
    assert content_checksum(pg_database) == before


def test_unknown_release_is_a_clear_error(tmp_path, pg_server, pg_database, runner_store):
    create_sample_database(pg_database, "9.0", SAMPLE_61)
    config = chain_config(tmp_path, pg_server)
    store = runner_store(config)
    with pytest.raises(RunnerError, match="release 9.0"):
        migrate_database(config, store, parse_dsn(pg_database)["dbname"], "8.0")
    assert store.live_databases() == []


@pytest.mark.slow
def test_a_killed_migrate_leaves_no_dump_and_no_kept_copy(tmp_path, pg_server, pg_database,
                                                          runner_store):
    create_sample_database(pg_database, "6.1", SAMPLE_61)
    source = parse_dsn(pg_database)["dbname"]
    config = chain_config(tmp_path, pg_server)
    store = runner_store(config)
    # ouhub is killed while the copy is restored: the dump is written, the copy half-filled
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "pg_restore").write_text("#!/bin/sh\nkill -KILL $PPID\nsleep 5\n")
    (shims / "pg_restore").chmod(0o755)
    busy = psycopg2.connect(pg_database)  # a user on the source: no direct clone, a dump
    try:
        killed = subprocess.run(
            [sys.executable, "-m", "ouhub", "--config", str(config.path), "migrate", "-d",
             source, "--to", "7.0"],
            env={**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}, capture_output=True,
            text=True, timeout=120, check=False)
    finally:
        busy.close()
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    dumps = list(config.data_dir.rglob("source.dump"))
    copies = [rec for rec in store.live_databases() if rec.kind == "copy"]
    assert len(copies) == 1 and not copies[0].keep  # kept only once the copy is complete

    dropped = clean_leftovers(config, store)  # what the next run or nightly does first

    assert dropped == [copies[0].name]
    assert not database_exists(config.dsn, copies[0].name)
    assert dumps and not any(path.exists() for path in dumps)  # the user's data is gone too
