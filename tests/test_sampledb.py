"""The sample database builder (examples/demo/sampledb.py) and its dumps, on a real PostgreSQL."""

from __future__ import annotations

import gzip
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest

from examples.demo.sampledb import (
    SampleModule,
    base_version,
    create_sample_database,
    dump_database,
    stored_version,
)
from ouhub.errors import RunnerError
from ouhub.pgcluster import dsn_for, find_pg_program, scratch_database


def query(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    conn.close()
    return rows


MODULES_SQL = ("SELECT m.name, m.state, m.latest_version,"
               " array_agg(d.name ORDER BY d.name) FILTER (WHERE d.name IS NOT NULL)"
               " FROM ir_module_module m LEFT JOIN ir_module_module_dependency d"
               " ON d.module_id = m.id GROUP BY m.id ORDER BY m.name")


@pytest.mark.parametrize("release, version, stored", [
    ("6.1", "1.0", "6.1.1.0"),
    ("7.0", "1.1", "7.0.1.1"),
    ("7.0", "7.0.1.1", "7.0.1.1"),  # already carries the series
    ("8.0", "8.0", "8.0"),
    ("12.0", "2.0.1", "12.0.2.0.1"),
])
def test_stored_version_is_openerps_adapt_version(release, version, stored):
    assert stored_version(release, version) == stored


def test_base_version_tells_the_release():
    assert base_version("7.0") == "7.0.1.3" and base_version("6.1") == "6.1.1.3"


def test_builds_openerp_module_tables_with_data(pg_database):
    create_sample_database(pg_database, "6.1", [
        SampleModule("sale", "1.0", depends=("base", "product")),
        SampleModule("product", "1.1", depends=("base",)),
        SampleModule("crm", "1.0", state="uninstalled"),
        SampleModule("stock", "1.0", state="to upgrade"),
    ], partners=30)

    assert query(pg_database, MODULES_SQL) == [
        ("base", "installed", "6.1.1.3", None),  # added: every database has base
        ("crm", "uninstalled", None, None),
        ("product", "installed", "6.1.1.1", ["base"]),
        ("sale", "installed", "6.1.1.0", ["base", "product"]),
        ("stock", "to upgrade", "6.1.1.0", None),
    ]
    assert query(pg_database, "SELECT count(*), count(DISTINCT email) FROM res_partner") == [
        (30, 30)]
    assert query(pg_database, "SELECT count(*) FROM ir_model_data WHERE model ="
                              " 'ir.module.module'") == [(5,)]


def test_duplicate_modules_are_refused_before_touching_the_database(pg_database):
    with pytest.raises(ValueError, match="duplicate"):
        create_sample_database(pg_database, "7.0", [SampleModule("sale", "1.0"),
                                                    SampleModule("sale", "1.1")])
    assert query(pg_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [
        (0,)]


def _restore(fmt: str, dump: Path, dsn: str) -> None:
    if fmt == "custom":
        argv = [find_pg_program("pg_restore"), "--no-owner", "-d", dsn, str(dump)]
        subprocess.run(argv, check=True, capture_output=True)
        return
    sql = gzip.decompress(dump.read_bytes()) if fmt == "gzip" else dump.read_bytes()
    subprocess.run([find_pg_program("psql"), "-q", "-v", "ON_ERROR_STOP=1", dsn], input=sql,
                   check=True, capture_output=True)


def test_dumps_in_each_format_restore_to_the_same_database(pg_server, pg_database, tmp_path):
    create_sample_database(pg_database, "7.0", [SampleModule("sale", "1.1")], partners=10)
    expected = query(pg_database, MODULES_SQL)
    with scratch_database(pg_server, "ouhub_test_restore") as target:
        for fmt, name in [("custom", "s.dump"), ("plain", "s.sql"), ("gzip", "s.sql.gz")]:
            dump = dump_database(pg_database, tmp_path / name, fmt=fmt)
            head = dump.read_bytes()[:5]
            assert head.startswith({"custom": b"PGDMP", "plain": b"--", "gzip": b"\x1f\x8b"}[fmt])
            query(target, "DROP SCHEMA public CASCADE; CREATE SCHEMA public; SELECT 1")
            _restore(fmt, dump, target)
            assert query(target, MODULES_SQL) == expected, fmt
            assert query(target, "SELECT count(*) FROM res_partner") == [(10,)]


@pytest.mark.parametrize("fmt", ["custom", "gzip"])
def test_a_failed_dump_raises_and_leaves_no_file(pg_server, tmp_path, fmt):
    missing = dsn_for(pg_server, f"ouhub_test_missing_{uuid.uuid4().hex[:8]}")
    with pytest.raises(RunnerError, match="pg_dump of s.out failed"):
        dump_database(missing, tmp_path / "s.out", fmt=fmt)
    assert not (tmp_path / "s.out").exists()


def test_an_unknown_format_is_refused(pg_database, tmp_path):
    with pytest.raises(ValueError, match="custom, plain, gzip"):
        dump_database(pg_database, tmp_path / "s.tar", fmt="tar")
