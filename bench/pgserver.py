"""What the PostgreSQL benches share (bench/runner.py, bench/clone.py): their server, plain
SQL, a database's size, the sample's modules, and the baseline both are measured against:
`pg_restore` of a dump into an empty database."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from examples.demo.sampledb import SampleModule
from ouhub import pgcluster
from ouhub.pgcluster import dsn_for

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
MODULES = [SampleModule("base", "1.3"), SampleModule("sale", "1.0", depends=("base",)),
           SampleModule("stock", "1.1", depends=("base",))]


@contextmanager
def bench_server(prefix: str) -> Iterator[tuple[str, Path]]:
    """(server DSN, a scratch folder): the runner's server (OUHUB_TEST_DSN, else
    127.0.0.1:5432 unless OUHUB_TEST_THROWAWAY), else a throwaway cluster in that folder."""
    server = os.environ.get("OUHUB_TEST_DSN") or (
        LOCAL_DSN if not os.environ.get("OUHUB_TEST_THROWAWAY")
        and pgcluster.reachable(LOCAL_DSN) else None)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        cluster = None
        if server is None:
            cluster = pgcluster.ThrowawayCluster(Path(tmp) / "pg")
            server = cluster.start()
        try:
            yield server, Path(tmp)
        finally:
            if cluster is not None:
                cluster.stop()


def sql(dsn: str, *statements: str) -> None:
    """Run ``statements`` in autocommit (CREATE/DROP DATABASE cannot run in a transaction)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def database_size(dsn: str) -> int:
    """Bytes of the database at ``dsn``."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return cur.fetchone()[0]
    finally:
        conn.close()


def timed_restore(server: str, dump: Path, pg_restore: str, created: list[str]) -> float:
    """Seconds to make a database by `pg_restore` of ``dump`` into an empty one (the
    baseline), then dropped; its name goes to ``created`` first, for a caller's cleanup."""
    name = f"ouhub_bench_restore_{uuid.uuid4().hex[:8]}"
    created.append(name)
    started = time.perf_counter()
    sql(server, f'CREATE DATABASE "{name}"')
    subprocess.run([pg_restore, "--no-owner", "-d", dsn_for(server, name), str(dump)],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    sql(server, f'DROP DATABASE "{name}"')
    return seconds
