"""bench/clone.py: a run's scratch database, on an 800-table, 300 MB sample in Odoo's shape.

The sample: OpenERP's module tables (examples/demo/sampledb.py) and ~800 tables as Odoo
makes them (serial id, create/write uid and date, a name, a few indexed many2one columns,
a text column with its TOAST table), a few dozen of them holding most of the data, to
OUHUB_BENCH_SAMPLE_MB (300) in all: ~5,700 files in the database's directory.

Per round, on the runner's server (OUHUB_TEST_DSN, else 127.0.0.1:5432, else a throwaway
cluster): the run's scratch database as ouhub provides it now (the template's spare taken
by a rename, runner/spare.py) against `pg_restore` of the sample's dump into an empty
database (the baseline: what a runner without templates does), and, for what it costs
off the run's critical path, the spare's making (a clone by the template's strategy).
Medians of ROUNDS; target: the scratch database >= 20x faster than pg_restore.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

import psycopg2

from bench.pgserver import MODULES, bench_server, database_size, sql, timed_restore
from examples.demo.sampledb import create_sample_database, dump_database
from ouhub import config as config_mod
from ouhub.pgcluster import dsn_for, find_pg_program
from ouhub.runner.pg import Databases
from ouhub.runner.samples import import_samples
from ouhub.runner.spare import make_spare, provide_scratch
from ouhub.store import Store

TABLES = int(os.environ.get("OUHUB_BENCH_TABLES", "800"))
SAMPLE_MB = int(os.environ.get("OUHUB_BENCH_SAMPLE_MB", "300"))
BIG_TABLES = 40  # the tables holding the data (account_move_line, mail_message, ...)
ROUNDS = int(os.environ.get("OUHUB_BENCH_CLONE_ROUNDS", "3"))
TARGET = 20.0


def odoo_shape(dsn: str, tables: int = TABLES, megabytes: int = SAMPLE_MB) -> None:
    """Add ``tables`` tables as Odoo creates them to the sample at ``dsn``, rows in the
    BIG_TABLES first ones until the database is about ``megabytes`` large."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for n in range(tables):
                table = f"x_model_{n:03d}"
                cur.execute(
                    f"CREATE TABLE {table} (id serial PRIMARY KEY, create_uid integer, "
                    "create_date timestamp, write_uid integer, write_date timestamp, "
                    "name varchar NOT NULL, active boolean DEFAULT true, company_id integer, "
                    "partner_id integer REFERENCES res_partner (id) ON DELETE SET NULL, "
                    "state varchar, amount numeric, note text)")
                cur.execute(f"CREATE INDEX {table}_partner_id_index ON {table} (partner_id)")
                cur.execute(f"CREATE INDEX {table}_company_id_index ON {table} (company_id)")

            def size() -> int:
                cur.execute("SELECT pg_database_size(current_database())")
                return cur.fetchone()[0]

            rows, per_row = 0, 300  # bytes a row, indexes included: measured on the first
            for n in range(min(BIG_TABLES, tables)):
                before = size()
                rows = max(0, (megabytes * 1_000_000 - before) // per_row // (BIG_TABLES - n))
                cur.execute(
                    f"INSERT INTO x_model_{n:03d} (create_uid, create_date, write_uid, "
                    "write_date, name, company_id, partner_id, state, amount, note) "
                    "SELECT 1, now(), 1, now(), 'Record ' || i, 1 + i %% 3, 1 + i %% 50, "
                    "(ARRAY['draft', 'posted', 'cancel'])[1 + i %% 3], i * 1.5, "
                    "md5(i::text) || ' ' || md5((i * 3)::text) || ' ' || md5((i * 7)::text) "
                    "FROM generate_series(1, %s) AS i", (rows,))
                if rows:
                    per_row = max(1, (size() - before) // rows)
            cur.execute("VACUUM ANALYZE")
    finally:
        conn.close()


def bench(server: str, work: Path) -> dict:
    source = f"ouhub_bench_odoo_{uuid.uuid4().hex[:8]}"
    sql(server, f'CREATE DATABASE "{source}"')
    restored: list[str] = []
    try:
        started = time.perf_counter()
        create_sample_database(dsn_for(server, source), "6.1", MODULES, partners=1000)
        odoo_shape(dsn_for(server, source))
        size = database_size(dsn_for(server, source))
        dump = dump_database(dsn_for(server, source), work / "odoo61.dump", fmt="custom")
        print(f"sample: {TABLES + 5} tables, {size / 1e6:.0f} MB, dump "
              f"{dump.stat().st_size / 1e6:.0f} MB (made in {time.perf_counter() - started:.0f} s)",
              flush=True)
    finally:
        sql(server, f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)')

    config = config_mod.from_dict({
        "data_dir": str(work / "data"), "dsn": server,
        "releases": {"6.1": {"branches": {"server": {"url": str(work / "b61"), "vcs": "bzr"}}}},
        "samples": [{"name": "odoo61", "release": "6.1", "dump": str(dump)}],
    })
    pg_restore = find_pg_program("pg_restore")
    store = Store.open(config.store_path)
    dbs = Databases(store, config.dsn)
    try:
        started = time.perf_counter()
        [imported] = import_samples(config, store)
        template = store.sample_template("odoo61")
        print(f"samples import: {time.perf_counter() - started:.0f} s ({imported.status}; "
              f"{imported.message or 'clone strategy: the server default'})", flush=True)
        spare_s, take_s, clone_s, restore_s = [], [], [], []
        for _ in range(ROUNDS):
            # what a run waits for: its scratch database (the import, then each round, left
            # a spare)
            name = dbs.new_name("run", "bench")
            t0 = time.perf_counter()
            how = provide_scratch(dbs, template, name, run_id=None, keep=False)
            take_s.append(time.perf_counter() - t0)
            assert how == "spare", how
            dbs.drop(name)
            # without a spare: the clone the run would make itself
            name = dbs.new_name("run", "bench")
            t0 = time.perf_counter()
            assert provide_scratch(dbs, template, name, run_id=None, keep=False) == "clone"
            clone_s.append(time.perf_counter() - t0)
            dbs.drop(name)
            # the next spare, as after a run: off the critical path, timed for the record
            t0 = time.perf_counter()
            assert make_spare(config, store, template)
            spare_s.append(time.perf_counter() - t0)
            # the baseline: pg_restore of the dump into an empty database
            restore_s.append(timed_restore(server, dump, pg_restore, restored))
        return {"size_mb": size / 1e6, "spare": statistics.median(spare_s),
                "take": statistics.median(take_s), "clone": statistics.median(clone_s),
                "restore": statistics.median(restore_s),
                "strategy": store.clone_strategy(template.dbname)}
    finally:
        for rec in store.live_databases():
            dbs.drop(rec.name)
        store.close()
        for name in restored:
            sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure() -> dict:
    """The figures, on the runner's server or a throwaway cluster."""
    with bench_server("ouhub-bench-clone-") as (server, work):
        return bench(server, work)


def rows(got: dict) -> list[tuple[str, str, str, float, str]]:
    """The issue's table row: (measure, now, baseline, ratio, target)."""
    return [(f"scratch database for a run, {TABLES + 5}-table {got['size_mb']:.0f} MB sample",
             f"spare taken {got['take'] * 1000:.0f} ms (clone {got['clone']:.1f} s, "
             f"{got['strategy'] or 'default'})",
             f"`pg_restore` {got['restore']:.1f} s", got["restore"] / got["take"],
             f">= {TARGET:g}x")]


def main() -> dict:
    load = os.getloadavg()[0]
    got = measure()
    print(f"spare made off the critical path: {got['spare']:.2f} s; the run's scratch database:"
          f" spare taken {got['take'] * 1000:.0f} ms, or cloned {got['clone']:.2f} s "
          f"({got['strategy'] or 'server default'}); pg_restore {got['restore']:.2f} s "
          f"(medians of {ROUNDS})")
    print(f"scratch database {got['restore'] / got['take']:.0f}x faster than pg_restore "
          f"(target >= {TARGET:g}x); a clone alone {got['restore'] / got['clone']:.1f}x; "
          f"load average {load:.1f}-{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return got


if __name__ == "__main__":
    main()
