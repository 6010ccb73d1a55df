"""Spare clones: a run takes its scratch database by renaming the template's spare, which
import and every run make ahead; a spare is never taken twice, never older than its
template, and a half-made one is a leftover."""

from __future__ import annotations

import subprocess
import sys

import psycopg2
import pytest

from ouhub.runner.pg import STRATEGIES, Databases, database_exists, server_version
from ouhub.runner.run import clean_leftovers, run_sample
from ouhub.runner.samples import import_sample, import_samples
from ouhub.runner.spare import make_spare, provide_scratch, usable, wait_for_spares
from tests.runner.conftest import SAMPLE_61, STANDIN_COMMAND, addons_70, build_config, make_dump


def spares(store, template=None):
    return [s for s in store.spare_databases()
            if s.keep and (template is None or s.cloned_from == template)]


def partner_comments(dsn: str, dbname: str) -> list[str]:
    conn = psycopg2.connect(dsn, dbname=dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT comment FROM res_partner WHERE id = 1")
            return [row[0] for row in cur]
    finally:
        conn.close()


@pytest.fixture
def project(tmp_path, pg_server, dump_61, runner_store):
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
        commands={"7.0": STANDIN_COMMAND})
    addons_70(config)
    return config, runner_store(config)


def test_import_times_both_strategies_and_keeps_the_faster_clone_as_the_spare(project):
    config, store = project
    [result] = import_samples(config, store)
    assert result.status == "imported"
    template = store.sample_template("s61")
    [spare] = spares(store)
    assert spare.cloned_from == template.dbname and database_exists(config.dsn, spare.name)
    if server_version(config.dsn) >= 150000:
        strategy = store.clone_strategy(template.dbname)
        assert strategy in STRATEGIES and result.message.startswith(f"clones by {strategy} ")
        timed = store._execute("SELECT file_copy_seconds, wal_log_seconds FROM template_clones"
                               ).fetchone()
        assert all(seconds > 0 for seconds in timed)
    # the clone timed second is gone: one spare per template
    assert [d.kind for d in store.live_databases()].count("spare") == 1
    # an unchanged import keeps it; without it, makes one
    again = import_sample(config, store, config.sample("s61"))
    assert again.status == "unchanged" and spares(store) == [spare]


def test_a_run_takes_the_spare_and_the_next_spare_is_made_pristine(project):
    config, store = project
    import_samples(config, store)
    template = store.sample_template("s61")
    [before] = spares(store)

    result = run_sample(config, store, "7.0", "s61", keep=True)

    assert result.status == "passed", result.message
    # the run's database is the spare, renamed: the spare's name is gone
    assert not database_exists(config.dsn, before.name)
    assert store.database_record(before.name).dropped_at is not None
    scratch = store.database_record(result.database)
    assert (scratch.kind, scratch.cloned_from, scratch.dropped_at) == (
        "scratch", template.dbname, None)
    assert partner_comments(config.dsn, result.database) == ["migrated"]  # the upgrade ran on it
    wait_for_spares()
    [after] = spares(store)
    assert after.name != before.name and after.cloned_from == template.dbname
    # made from the template, not from the run's database
    pristine = partner_comments(config.dsn, template.dbname)
    assert pristine != ["migrated"] and partner_comments(config.dsn, after.name) == pristine


def test_without_a_spare_a_run_clones_the_template(project):
    config, store = project
    import_samples(config, store)
    dbs = Databases(store, config.dsn)
    for spare in spares(store):
        dbs.drop(spare.name)
    result = run_sample(config, store, "7.0", "s61")
    assert result.status == "passed", result.message
    wait_for_spares()
    assert len(spares(store)) == 1  # and it leaves one for the next run


def test_a_spare_is_taken_once(project):
    config, store = project
    import_samples(config, store)
    template = store.sample_template("s61")
    [spare] = spares(store)
    dbs = Databases(store, config.dsn)
    first, second = dbs.new_name("run", "a"), dbs.new_name("run", "b")
    assert dbs.take(spare.name, first, "scratch")
    # a second run that listed the same spare before: nothing to take, nothing recorded
    assert not dbs.take(spare.name, second, "scratch")
    assert store.database_record(second) is None
    assert database_exists(config.dsn, first) and not database_exists(config.dsn, second)
    # and provide_scratch falls back to a clone
    assert provide_scratch(dbs, template, second, run_id=None, keep=False) == "clone"
    assert database_exists(config.dsn, second)


def test_a_spare_renamed_by_another_process_in_the_same_moment_is_not_taken(project):
    config, store = project
    import_samples(config, store)
    [spare] = spares(store)
    dbs = Databases(store, config.dsn)
    other, mine = dbs.new_name("run", "other"), dbs.new_name("run", "mine")
    # the other process renamed it and has not yet written so in the store
    conn = psycopg2.connect(config.dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{spare.name}" RENAME TO "{other}"')
    conn.close()
    store.register_database(other, "scratch")
    assert not dbs.take(spare.name, mine, "scratch")
    assert store.database_record(mine).dropped_at is not None  # recorded, never created
    assert store.database_record(spare.name).dropped_at is not None
    assert database_exists(config.dsn, other) and not database_exists(config.dsn, mine)


@pytest.mark.slow
def test_a_spare_older_than_its_template_is_never_taken(tmp_path, pg_server, project):
    config, store = project
    import_samples(config, store)
    old_template = store.sample_template("s61")
    [old_spare] = spares(store)
    # the dump changes: a new template, the old one and its spare dropped
    changed = make_dump(pg_server, tmp_path / "changed.dump", "6.1", SAMPLE_61, partners=25)
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(changed)}],
        commands={"7.0": STANDIN_COMMAND})
    result = import_sample(config, store, config.sample("s61"))
    new_template = store.sample_template("s61")
    assert result.status == "imported" and new_template.dbname != old_template.dbname
    assert not database_exists(config.dsn, old_spare.name)
    [spare] = spares(store)
    assert spare.cloned_from == new_template.dbname
    # a spare made before its template was (restored again under the same name) is stale
    made_before = spare.__class__(**{**spare.__dict__, "created_at": "2000-01-01T00:00:00+00:00"})
    assert usable(spare, new_template) and not usable(made_before, new_template)


@pytest.mark.slow
def test_a_template_restored_again_under_its_name_drops_its_spares(project, pg_server):
    config, store = project
    name = import_sample(config, store, config.sample("s61")).template
    [old_spare] = spares(store)
    conn = psycopg2.connect(pg_server)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}"')
    conn.close()
    assert import_sample(config, store, config.sample("s61")).status == "imported"
    assert not database_exists(config.dsn, old_spare.name)
    [spare] = spares(store)
    assert spare.name != old_spare.name and spare.cloned_from == name


def test_a_half_made_spare_of_a_dead_process_is_a_leftover_a_complete_one_is_not(project):
    config, store = project
    import_samples(config, store)
    [complete] = spares(store)
    template = store.sample_template("s61")
    # a process that died while making a spare: recorded, created, never marked complete
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    dbs = Databases(store, config.dsn)
    half = dbs.new_name("spare", "s61")
    dbs.create(half, "spare", template=template.dbname)
    store._execute("UPDATE scratch_databases SET pid = ? WHERE name = ?", (dead_pid, half))
    assert half not in {s.name for s in spares(store)}  # never offered to a run
    assert clean_leftovers(config, store) == [half]
    assert not database_exists(config.dsn, half) and database_exists(config.dsn, complete.name)


def test_make_spare_makes_one_only_when_none_is_usable(project):
    config, store = project
    import_samples(config, store)
    template = store.sample_template("s61")
    assert make_spare(config, store, template) is None  # import made one
    dbs = Databases(store, config.dsn)
    [spare] = spares(store)
    dbs.drop(spare.name)
    made = make_spare(config, store, template)
    assert made and [s.name for s in spares(store)] == [made]
