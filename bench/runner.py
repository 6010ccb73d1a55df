"""Runner: scratch database by template clone vs pg_restore, and ouhub's overhead per run.

On a generated sample of at least 50 MB (sampledb with many partners):
- time to provide a scratch database by ``CREATE DATABASE ... TEMPLATE`` vs by
  ``pg_restore`` of the same dump into an empty database (target: clone >= 5x faster);
- ouhub's overhead per run beyond the upgrade command itself, i.e. a run's total
  duration minus the command's (target: <= 2 s), with the stand-in as the command.

And the runs on workers through RabbitMQ ($OUHUB_BENCH_BROKER, default the local one),
on a small sample whose upgrade takes 3 s (a stand-in script that sleeps):
- 8 runs with 1, 2 and 4 `ouhub worker` processes: throughput vs 1 worker (target:
  >= 1.8x with 2; printed for 4);
- the coordinator's overhead per run beyond the command, vs the in-process path's
  (target: <= 0.5 s more).
OUHUB_BENCH_RUNNER=workers runs only this second part. Prints; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg2

from bench.pgserver import MODULES, bench_server, database_size, sql, timed_restore
from examples.demo.sampledb import create_sample_database, dump_database
from ouhub import config as config_mod
from ouhub import pgcluster
from ouhub.pgcluster import dsn_for, find_pg_program
from ouhub.runner.pg import create_statement
from ouhub.runner.run import run_sample
from ouhub.runner.samples import import_samples
from ouhub.store import Store

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = int(os.environ.get("OUHUB_BENCH_PARTNERS", "220000"))
REPEAT = 3


def _clone(server: str, name: str, template: str) -> None:
    """The clone exactly as the runner makes it (ouhub.runner.pg.create_statement)."""
    conn = psycopg2.connect(server)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(create_statement(name, template, conn.server_version))
    finally:
        conn.close()


QUICK_SCRIPT = "def migrate(cr, version):\n    cr.execute('SELECT 1')\n"


def _addons(root: Path, sale_script: str = QUICK_SCRIPT) -> None:
    for name, version in (("base", "1.3"), ("sale", "1.0"), ("stock", "1.1")):
        folder = root / "openerp" / "addons" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__openerp__.py").write_text(repr({"name": name, "version": version,
                                                    "depends": [] if name == "base"
                                                    else ["base"]}))
    script = root / "openerp" / "addons" / "sale" / "migrations" / "7.0.1.0" / "post-migration.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(sale_script)


def bench(server: str, work: Path) -> None:
    source = f"ouhub_bench_src_{uuid.uuid4().hex[:8]}"
    sql(server, f'CREATE DATABASE "{source}"')
    created: list[str] = [source]
    try:
        started = time.perf_counter()
        create_sample_database(dsn_for(server, source), "6.1", MODULES, partners=PARTNERS)
        # The indexes OpenERP 6.1 creates on res_partner (select=True fields): a restore
        # rebuilds them, a clone copies them; without them pg_restore would look cheap.
        for column in ("name", "ref", "display_name", "email", "city"):
            sql(dsn_for(server, source),
                 f"CREATE INDEX res_partner_{column}_index ON res_partner ({column})")
        size = database_size(dsn_for(server, source))
        dump = dump_database(dsn_for(server, source), work / "bench61.dump", fmt="custom")
        print(f"sample: {PARTNERS} partners, database {size / 1e6:.0f} MB, dump "
              f"{dump.stat().st_size / 1e6:.0f} MB (made in {time.perf_counter() - started:.1f}s)")
        if size < 50e6:
            print("warning: the sample is under 50 MB; raise OUHUB_BENCH_PARTNERS")

        pg_restore = find_pg_program("pg_restore")
        clone_times, restore_times = [], []
        for _ in range(REPEAT):
            name = f"ouhub_bench_clone_{uuid.uuid4().hex[:8]}"
            created.append(name)
            t0 = time.perf_counter()
            _clone(server, name, source)
            clone_times.append(time.perf_counter() - t0)
            sql(server, f'DROP DATABASE "{name}"')
            restore_times.append(timed_restore(server, dump, pg_restore, created))
        clone, restore = statistics.median(clone_times), statistics.median(restore_times)
        print(f"scratch database by template clone: {clone:.2f}s (median of {REPEAT})")
        print(f"scratch database by pg_restore:     {restore:.2f}s (median of {REPEAT})")
        print(f"clone is {restore / clone:.1f}x faster (target >= 5x)")

        config = config_mod.from_dict({
            "data_dir": str(work / "data"),
            "dsn": server,
            "releases": {
                "6.1": {"branches": {"server": {"url": str(work / "b61"), "vcs": "bzr"}}},
                "7.0": {"previous": "6.1",
                        "branches": {"server": {"url": str(work / "b70"), "vcs": "bzr"}}},
            },
            "samples": [{"name": "bench61", "release": "6.1", "dump": str(dump)}],
            "runner": {"commands": {"7.0": (
                f"{sys.executable} {ROOT / 'tests' / 'standin' / 'openerp_server.py'} "
                "-d {database} --db_host {db_host} --db_port {db_port} -r {db_user} "
                "--addons-path {addons_path} --logfile {logfile} -u all --stop-after-init "
                "--release {release}")}},
        })
        _addons(config.mirror_path(config.release("7.0").branches[0]))
        store = Store.open(config.store_path)
        try:
            t0 = time.perf_counter()
            import_samples(config, store)
            print(f"samples import (restore into the template, once): "
                  f"{time.perf_counter() - t0:.2f}s")
            overheads = []
            for _ in range(REPEAT):
                result = run_sample(config, store, "7.0", "bench61")
                if result.status != "passed":
                    print(f"run {result.run_id} {result.status}: {result.message}")
                overheads.append(result.duration - (result.command_seconds or 0.0))
                print(f"run {result.run_id}: {result.duration:.2f}s total, "
                      f"{result.command_seconds or 0:.2f}s upgrade command")
            overhead = statistics.median(overheads)
            print(f"ouhub overhead per run beyond the upgrade command: {overhead:.2f}s "
                  f"(median of {REPEAT}; target <= 2 s); it includes the template clone and "
                  "the drop of the scratch database")
            print(f"load average during the bench: {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} CPUs")
        finally:
            from ouhub.runner.pg import Databases
            from ouhub.runner.spare import wait_for_spares

            wait_for_spares()  # the last run's spare, made in the background, then dropped
            for rec in store.live_databases():
                Databases(store, config.dsn).drop(rec.name)
            store.close()
    finally:
        for name in created:
            sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


WORKER_RUNS = 8
SLOW_SCRIPT = "import time\n\ndef migrate(cr, version):\n    time.sleep(3)\n"


def bench_workers(server: str, work: Path) -> None:
    """Throughput with 1, 2, 4 workers; the coordinator's overhead per run vs in-process."""
    from ouhub.runner.coordinator import dispatch_runs
    from tests.support.broker import Workers, unique_queue
    from tests.support.config import write_config

    broker = os.environ.get("OUHUB_BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
    with pgcluster.scratch_database(server, "ouhub_bench_small") as source:
        create_sample_database(source, "6.1", MODULES, partners=200)
        dump = dump_database(source, work / "small61.dump", fmt="custom")
    standin = ROOT / "tests" / "standin" / "openerp_server.py"
    path = write_config(
        work / "workers", {"6.1": {"server": str(work / "b61")},
                           "7.0": {"server": str(work / "b70")}}, dsn=server,
        samples=[{"name": f"w{i}", "release": "6.1", "dump": str(dump)}
                 for i in range(WORKER_RUNS)],
        runner={"broker": broker, "queue": unique_queue(), "commands": {"7.0": (
            f"{sys.executable} {standin} -d {{database}} --db_host {{db_host}} "
            "--db_port {db_port} -r {db_user} --addons-path {addons_path} --logfile {logfile} "
            "-u all --stop-after-init --release {release}")}},
    )
    config = config_mod.load(path)
    _addons(config.mirror_path(config.release("7.0").branches[0]), SLOW_SCRIPT)
    store = Store.open(config.store_path)
    workers = Workers(path, config.runner.queue, work / "worker-logs")
    try:
        import_samples(config, store)  # the workers find the templates: runs only are timed
        todo = [("7.0", sample.name) for sample in config.samples]
        rates = {}
        for count in (1, 2, 4):
            while len(workers.procs) < count:
                workers.start(f"w{len(workers.procs)}")
            started = time.perf_counter()
            results = dispatch_runs(config, store, todo, quiet=True, say=lambda _m: None)
            wall = time.perf_counter() - started
            bad = [r for r in results if r.status != "passed"]
            rates[count] = len(results) / wall
            print(f"{len(results)} runs of 3 s on {count} worker(s): {wall:.1f}s"
                  + (f" ({len(bad)} not passed: {bad[0].message})" if bad else ""))
        print(f"throughput with 2 workers: {rates[2] / rates[1]:.2f}x one worker's "
              "(target >= 1.8x)")
        print(f"throughput with 4 workers: {rates[4] / rates[1]:.2f}x one worker's "
              f"(on {os.cpu_count()} CPUs)")
        workers.stop()
        workers = Workers(path, config.runner.queue, work / "worker-logs")
        workers.start("solo")
        local, remote = [], []
        for _ in range(REPEAT):
            result = run_sample(config, store, "7.0", "w0")
            local.append(result.duration - (result.command_seconds or 0.0))
            started = time.perf_counter()
            [result] = dispatch_runs(config, store, todo[:1], quiet=True, say=lambda _m: None)
            remote.append(time.perf_counter() - started - (result.command_seconds or 0.0))
        local_overhead, remote_overhead = statistics.median(local), statistics.median(remote)
        print(f"overhead per run beyond the command: in-process {local_overhead:.2f}s, through "
              f"RabbitMQ and a worker {remote_overhead:.2f}s: "
              f"{remote_overhead - local_overhead:+.2f}s (median of {REPEAT}; target <= +0.5 s)")
    finally:
        workers.stop()
        from ouhub.runner.pg import Databases

        for rec in store.live_databases():
            Databases(store, config.dsn).drop(rec.name)
        store.close()


def main() -> None:
    with bench_server("ouhub-bench-runner-") as (server, work):
        if os.environ.get("OUHUB_BENCH_RUNNER") != "workers":
            bench(server, work)
        bench_workers(server, work)


if __name__ == "__main__":
    main()
