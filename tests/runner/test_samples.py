"""`ouhub samples import` on real dumps in each format, made once for this file."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from psycopg2.extensions import parse_dsn

from examples.demo.sampledb import SampleModule
from ouhub.errors import RunnerError
from ouhub.runner.pg import database_exists, module_rows
from ouhub.runner.samples import import_sample, import_samples, template_name
from tests.runner.conftest import build_config, make_dumps
from tests.support.dumpserver import DumpServer

MODULES = [SampleModule("sale", "1.0", depends=("base",))]
FORMATS = [("custom", ".dump"), ("plain", ".sql"), ("gzip", ".sql.gz")]


@pytest.fixture(scope="module")
def dumps(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 6.1 sample (base, sale; enough partners that a cut dump misses data) in each format."""
    folder = tmp_path_factory.mktemp("sample-dumps")
    return make_dumps(pg_server, {fmt: folder / f"s61{suffix}" for fmt, suffix in FORMATS},
                      "6.1", MODULES, partners=300)


def copy_of(dumps: dict[str, Path], fmt: str, folder: Path) -> Path:
    """A test's own copy of a dump: tests change their dump files."""
    target = folder / dumps[fmt].name
    shutil.copyfile(dumps[fmt], target)
    return target


@pytest.mark.parametrize("fmt", [fmt for fmt, _ in FORMATS])
def test_import_each_format_once(tmp_path: Path, pg_server: str, runner_store, dumps, fmt):
    dump = dumps[fmt]
    fs = tmp_path / "fs"
    (fs / "ab").mkdir(parents=True)
    (fs / "ab" / "abcdef").write_bytes(b"attachment")
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump), "filestore": str(fs)}])
    store = runner_store(config)

    first = import_samples(config, store)
    assert [r.status for r in first] == ["imported"], first
    name = first[0].template
    assert name.startswith("ouhub_tpl_s61_")
    assert module_rows(config.dsn, name)["sale"].version == "6.1.1.0"
    tpl = store.sample_template("s61")
    assert tpl.dbname == name
    assert (Path(tpl.filestore) / "ab" / "abcdef").read_bytes() == b"attachment"

    again = import_samples(config, store)
    assert [r.status for r in again] == ["unchanged"]


def test_changed_dump_makes_new_template_and_drops_old(tmp_path, pg_server, runner_store,
                                                        dumps, dump_61):
    dump = copy_of(dumps, "custom", tmp_path)
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump)}])
    store = runner_store(config)
    old = import_sample(config, store, config.sample("s61")).template
    shutil.copyfile(dump_61, dump)  # a new dump of the sample: stock is installed now
    result = import_sample(config, store, config.sample("s61"))
    assert result.status == "imported" and result.template != old and result.dropped == old
    assert not database_exists(config.dsn, old)
    assert "stock" in module_rows(config.dsn, result.template)


@pytest.mark.parametrize("fmt", [fmt for fmt, _ in FORMATS])
def test_truncated_dump_is_a_clear_error_and_leaves_nothing(
    tmp_path, pg_server, runner_store, dumps, fmt
):
    dump = copy_of(dumps, fmt, tmp_path)
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) * 2 // 3])
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump)}])
    store = runner_store(config)
    with pytest.raises(RunnerError) as info:
        import_sample(config, store, config.sample("s61"))
    assert "s61" in info.value.message and str(dump) in info.value.message
    assert store.sample_template("s61") is None
    assert store.live_databases() == []  # the temporary restore target is gone
    assert not database_exists(
        config.dsn, template_name("s61", hashlib.sha256(dump.read_bytes()).hexdigest()))


def test_garbage_dump_and_failure_does_not_stop_other_samples(tmp_path, pg_server, runner_store,
                                                              dumps):
    bad = tmp_path / "bad.sql.gz"
    bad.write_bytes(gzip.compress(b"this is not SQL at all;\n"))
    good = dumps["custom"]
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "bad", "release": "6.1", "dump": str(bad)},
        {"name": "good", "release": "6.1", "dump": str(good)}])
    store = runner_store(config)
    results = {r.sample: r for r in import_samples(config, store)}
    assert results["bad"].status == "failed" and "bad.sql.gz" in results["bad"].message
    assert results["good"].status == "imported"
    # the good sample's template and its spare clone; nothing of the bad one
    assert sorted(d.kind for d in store.live_databases()) == ["spare", "template"]


def test_template_dropped_behind_ouhubs_back_is_rebuilt(tmp_path, pg_server, runner_store,
                                                         dumps):
    dump = dumps["custom"]
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump)}])
    store = runner_store(config)
    name = import_sample(config, store, config.sample("s61")).template
    import psycopg2

    conn = psycopg2.connect(pg_server)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}"')
    conn.close()
    again = import_sample(config, store, config.sample("s61"))
    assert (again.status, again.template) == ("imported", name)
    assert database_exists(config.dsn, name) and store.database_record(name).kind == "template"


def test_a_real_plain_dump_with_pg_dumps_own_restrict_lines_imports(tmp_path, pg_server,
                                                                    runner_store, dumps):
    text = dumps["plain"].read_bytes()
    pg_dump_restricts = b"\n\\restrict " in text  # pg_dump 15.14 and later write it
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dumps["plain"])}])
    store = runner_store(config)
    result = import_sample(config, store, config.sample("s61"))
    assert result.status == "imported"
    assert module_rows(config.dsn, result.template)["sale"].version == "6.1.1.0"
    assert pg_dump_restricts or b"\\unrestrict" not in text


def hostile(dumps: dict[str, Path], fmt: str, folder: Path, lines: bytes) -> Path:
    """The real plain dump, without pg_dump's own \\restrict lines (which would stop psql
    before ouhub does), with ``lines`` inserted after its first statement."""
    text = re.sub(rb"\n\\(un)?restrict \w+\n", b"\n", dumps["plain"].read_bytes())
    cut = text.index(b";\n") + 2
    data = text[:cut] + lines + text[cut:]
    path = folder / ("evil.sql.gz" if fmt == "gzip" else "evil.sql")
    path.write_bytes(gzip.compress(data) if fmt == "gzip" else data)
    return path


@pytest.mark.parametrize("fmt", ["plain", "gzip"])
def test_psql_meta_commands_in_a_plain_dump_are_refused_and_never_run(
    tmp_path, pg_server, pg_database, runner_store, dumps, fmt
):
    marker = tmp_path / "ran"
    other = parse_dsn(pg_database)["dbname"]
    dump = hostile(dumps, fmt, tmp_path, (
        f"\\! touch {marker}\n\\c {other}\nCREATE TABLE planted (a int);\n").encode())
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "evil", "release": "6.1", "dump": str(dump)}])
    store = runner_store(config)
    results = import_samples(config, store)
    assert results[0].status == "failed"
    assert "meta-command \\!" in results[0].message and "evil" in results[0].message
    assert not marker.exists()
    assert not table_exists(pg_database, "planted")
    assert store.sample_template("evil") is None and store.live_databases() == []


def test_a_meta_command_inside_a_line_is_refused_by_psqls_restricted_mode(
    tmp_path, pg_server, runner_store, dumps
):
    marker = tmp_path / "ran"
    dump = hostile(dumps, "plain", tmp_path, f"SELECT 1; \\! touch {marker}\n".encode())
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "evil", "release": "6.1", "dump": str(dump)}])
    store = runner_store(config)
    with pytest.raises(RunnerError) as info:
        import_sample(config, store, config.sample("evil"))
    assert "meta-command" in info.value.message, info.value.message
    assert not marker.exists()
    assert store.live_databases() == []


def table_exists(dsn: str, table: str) -> bool:
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (table,))
        found = cur.fetchone()[0] is not None
    conn.close()
    return found


@pytest.mark.slow
def test_samples_whose_names_share_a_long_prefix_get_their_own_templates(
    tmp_path, pg_server, runner_store, dumps, dump_61
):
    first, second = "s61_" + "a" * 40 + "_north", "s61_" + "a" * 40 + "_south"
    one, two = tmp_path / "one.dump", tmp_path / "two.dump"
    shutil.copyfile(dump_61, one)
    shutil.copyfile(dump_61, two)  # the same dump: the same checksum
    config = build_config(tmp_path, pg_server, samples=[
        {"name": first, "release": "6.1", "dump": str(one)},
        {"name": second, "release": "6.1", "dump": str(two)}])
    store = runner_store(config)
    results = import_samples(config, store)
    assert [r.status for r in results] == ["imported", "imported"]
    assert results[0].template != results[1].template
    assert all(len(r.template) <= 63 for r in results)
    shutil.copyfile(dumps["custom"], one)  # the first sample's dump changes
    changed = import_sample(config, store, config.sample(first))
    assert changed.dropped == results[0].template
    assert database_exists(config.dsn, results[1].template)  # the second one's is kept
    assert store.sample_template(second).dbname == results[1].template


def test_two_imports_of_one_sample_at_once_both_end_well(tmp_path, pg_server, runner_store,
                                                         dumps):
    from concurrent.futures import ThreadPoolExecutor

    from ouhub.store import Store

    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dumps["plain"])}])
    runner_store(config)  # drops what ouhub recorded, at the end

    def one_import(_: int):
        store = Store.open(config.store_path)
        try:
            return import_sample(config, store, config.sample("s61"))
        finally:
            store.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one_import, range(2)))
    assert sorted(r.status for r in results) == ["imported", "unchanged"]
    assert results[0].template == results[1].template
    assert database_exists(config.dsn, results[0].template)


@pytest.mark.slow  # two downloads and two imports: 1.7 s quiet, 3.8 s on a loaded machine
def test_dump_by_url_is_fetched_once_and_again_when_it_changes(tmp_path, pg_server, runner_store,
                                                                dumps, dump_61):
    with DumpServer() as server:
        server.files["/s61.dump"] = dumps["custom"].read_bytes()
        config = build_config(tmp_path, pg_server, samples=[
            {"name": "s61", "release": "6.1", "dump": server.url("/s61.dump", "me:d0wnl0ad")}])
        store = runner_store(config)
        first = import_sample(config, store, config.sample("s61"))
        assert first.status == "imported" and server.downloads == {"/s61.dump": 1}
        again = import_sample(config, store, config.sample("s61"))
        assert again.status == "unchanged" and server.downloads == {"/s61.dump": 1}  # 304
        server.files["/s61.dump"] = dump_61.read_bytes()  # the sample was dumped again
        changed = import_sample(config, store, config.sample("s61"))
        assert changed.status == "imported" and changed.dropped == first.template
        assert server.downloads == {"/s61.dump": 2}
        assert "stock" in module_rows(config.dsn, changed.template)


def test_dump_url_failures_are_clear_and_keep_the_template(tmp_path, pg_server, runner_store,
                                                           dumps):
    with DumpServer() as server:
        server.files["/s61.dump"] = dumps["custom"].read_bytes()
        url = server.url("/s61.dump", "me:d0wnl0ad")
        config = build_config(tmp_path, pg_server, samples=[
            {"name": "s61", "release": "6.1", "dump": url}])
        store = runner_store(config)
        kept = import_sample(config, store, config.sample("s61")).template
        # a worker asked for another dump than the one this URL serves now
        with pytest.raises(RunnerError, match="the dump changed since the coordinator read it"):
            import_sample(config, store, config.sample("s61"), expected="0" * 64)
        del server.files["/s61.dump"]
        with pytest.raises(RunnerError) as info:
            import_sample(config, store, config.sample("s61"))
    assert "answered HTTP 404" in info.value.message and "d0wnl0ad" not in info.value.message
    assert "http://me:***@127.0.0.1" in info.value.message
    assert store.sample_template("s61").dbname == kept and database_exists(config.dsn, kept)
