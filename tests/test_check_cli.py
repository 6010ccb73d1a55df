"""`ouhub check` end to end: the store's data, the three input forms, a real database, bad input."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from click.testing import CliRunner, Result

from examples.demo.sampledb import SampleModule, create_sample_database
from ouhub import config as config_mod
from ouhub.check.data import CACHE_NAME, build_check_data
from ouhub.check.db import read_installed
from ouhub.cli import main
from ouhub.runner.pg import connect
from ouhub.store import Store
from tests.support.config import write_config
from tests.support.fill import record_coverage, record_run
from tests.support.process import ouhub_process

RELEASES = {r: {"server": f"lp:openupgrade-server/{r}"} for r in ("6.1", "7.0", "8.0")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config with 6.1 -> 7.0 -> 8.0 and a store holding coverage for both steps and runs."""
    path = write_config(tmp_path, RELEASES)
    config = config_mod.load(path)
    with Store.open(config.store_path) as store:
        record_coverage(store, "7.0", "6.1", {
            "base": {"status": "done", "scripts": ["base/migrations/7.0.1.3/pre-migration.py"]},
            "account": {"status": "done",
                        "scripts": ["addons/account/migrations/7.0.1.1/post-migration.py"]},
            "sale": {"status": "nothing_to_do", "declaration": "doc/modules70.rst:12: sale |Nothing"},
            "stock": {"status": "partial", "declaration": "doc/modules70.rst:14: stock |Partial"},
            "users_ldap": {"status": "renamed", "target": "auth_ldap",
                           "apriori": "apriori.py: renamed_modules['users_ldap'] = 'auth_ldap'"},
            "auth_ldap": {"status": "new"},
            "mrp": {"status": "todo"},
        })
        record_coverage(store, "8.0", "7.0", {
            "base": {"status": "done"}, "account": {"status": "done"},
            "sale": {"status": "done", "disagreements": ["declared Done without scripts"]},
            "stock": {"status": "done"}, "auth_ldap": {"status": "done"},
            "mrp": {"status": "done"},
        })
        record_run(store, "7.0", "6.1", "demo61", "passed",
                   {"base": "upgraded", "account": "upgraded"})
        record_run(store, "7.0", "6.1", "demo61", "failed",
                   {"base": "upgraded", "account": "failed"},
                   excerpt="ProgrammingError: column \"currency_mode\" does not exist")
    return path


def invoke(project: Path | None, *args: str, stdin: str | None = None) -> Result:
    prefix = ["--config", str(project)] if project else []
    return CliRunner().invoke(main, [*prefix, "check", *args], input=stdin)


def test_check_data_from_the_store(project: Path) -> None:
    config = config_mod.load(project)
    with Store.open(config.store_path) as store:
        data = build_check_data(config, store)
    assert data["schema_version"] == 1
    assert data["releases"] == [
        {"name": "6.1", "previous": None}, {"name": "7.0", "previous": "6.1"},
        {"name": "8.0", "previous": "7.0"},
    ]
    assert list(data["steps"]) == ["7.0", "8.0"]
    modules = data["steps"]["7.0"]["modules"]
    assert modules["base"]["evidence"] == ["script: base/migrations/7.0.1.3/pre-migration.py"]
    assert modules["users_ldap"]["target"] == "auth_ldap"
    assert modules["users_ldap"]["evidence"] == [
        "apriori: apriori.py: renamed_modules['users_ldap'] = 'auth_ldap'"
    ]
    # the newest run wins, with its status, sample and the failure's excerpt
    account = modules["account"]["run"]
    assert account["outcome"] == "failed" and account["run_status"] == "failed"
    assert account["sample"] == "demo61" and account["at"]
    assert "currency_mode" in account["evidence"][0]
    assert "run" not in modules["sale"]
    assert data["steps"]["8.0"]["modules"]["sale"]["disagreements"] == [
        "declared Done without scripts"
    ]
    json.dumps(data)


def test_modules_table_spells_out_each_step(project: Path) -> None:
    result = invoke(project, "--from", "6.1", "--to", "8.0", "--modules", "base,sale users_ldap")
    assert result.exit_code == 1, result.output  # sale: declared and found disagree in 8.0
    out = result.stdout
    assert "6.1 → 8.0 is 2 upgrade steps, one release at a time: 6.1 → 7.0, 7.0 → 8.0" in out
    assert "ok (renamed to auth_ldap)" in out and "as auth_ldap" in out
    assert "3 modules:" in out


def test_exit_codes_follow_the_worst_verdict(project: Path) -> None:
    ok = invoke(project, "--from", "6.1", "--to", "7.0", "--modules", "base,sale")
    assert ok.exit_code == 0, ok.output
    assert "2 modules: 2 ok, 0 at risk, 0 blocked, 0 not covered (exit 0)" in ok.stdout
    risky = invoke(project, "--from", "6.1", "--to", "7.0", "--modules", "account,stock")
    assert risky.exit_code == 1
    assert "account failed in run #" in risky.stdout and "currency_mode" in risky.stdout
    blocked = invoke(project, "--from", "6.1", "--to", "7.0", "--modules", "mrp")
    assert blocked.exit_code == 2
    custom = invoke(project, "--from", "7.0", "--to", "8.0", "--modules", "my_reports")
    assert custom.exit_code == 2 and "custom or community" in custom.stdout


def test_modules_file_json(project: Path, tmp_path: Path) -> None:
    listing = tmp_path / "modules.txt"
    listing.write_text("# our production\nbase, sale\nstock  # the warehouse\n")
    result = invoke(project, "--from", "6.1", "--to", "8.0", "--modules-file", str(listing),
                    "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["input"] == {"kind": "file", "database": None, "base_version": None,
                             "source_detected": False, "versions": {}}
    assert [m["module"] for m in data["modules"]] == ["base", "sale", "stock"]
    sale = data["modules"][1]
    assert [s["verdict"] for s in sale["steps"]] == ["ok", "at_risk"]
    assert sale["steps"][1]["reasons"][1]["code"] == "disagreement"
    assert data["summary"]["at_risk"] == 2 and data["exit_code"] == 1
    # --json is the same as --format json; stdin works as a file
    again = invoke(project, "--from", "6.1", "--to", "8.0", "--modules-file", "-", "--json",
                   stdin=listing.read_text())
    assert json.loads(again.stdout)["modules"] == data["modules"]


def test_markdown(project: Path) -> None:
    result = invoke(project, "--from", "6.1", "--to", "8.0", "--modules", "stock",
                    "--format", "markdown")
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("# Check 6.1 → 8.0\n")
    assert "| module | 6.1 → 7.0 | 7.0 → 8.0 | verdict |" in out
    assert "| stock | at risk (partial) · not run yet | ok (done) · not run yet | at risk |" in out
    assert "`declared: doc/modules70.rst:14: stock |Partial`" not in out  # pipes escaped
    assert "stock \\|Partial" in out


def test_check_data_file_without_config(tmp_path: Path) -> None:
    vectors = json.loads((Path(__file__).parent / "check_vectors.json").read_text())
    data = tmp_path / "check-data.json"
    data.write_text(json.dumps(vectors["data"]["chain"]))
    result = invoke(None, "--data", str(data), "--from", "6.1", "--to", "7.0",
                    "--modules", "base", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["modules"][0]["verdict"] == "ok"


# -- a live database ------------------------------------------------------------------------------


SAMPLE = [
    SampleModule("account", "1.1"), SampleModule("sale", "1.0"),
    SampleModule("stock", "1.1", state="to upgrade"),
    SampleModule("mrp", "1.1", state="uninstalled"),
    SampleModule("my_company_reports", "0.3"),
]


def snapshot(dsn: str) -> list[Any]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, name, state, latest_version, write_date FROM ir_module_module "
                        "ORDER BY id")
            modules = cur.fetchall()
            cur.execute("SELECT count(*), max(write_date) FROM res_partner")
            partners = cur.fetchall()
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public' ORDER BY 1")
            tables = cur.fetchall()
        return [modules, partners, tables]
    finally:
        conn.close()


def test_database_read_only_and_detected_release(project: Path, pg_database: str) -> None:
    create_sample_database(pg_database, "7.0", SAMPLE, partners=5)
    before = snapshot(pg_database)
    result = invoke(project, "--to", "8.0", "--database", pg_database, "--format", "json")
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "7.0" and data["target"] == "8.0"
    assert data["input"]["kind"] == "database" and data["input"]["source_detected"] is True
    assert data["input"]["base_version"] == "7.0.1.3"
    assert data["input"]["versions"] == {
        "account": "7.0.1.1", "base": "7.0.1.3", "my_company_reports": "7.0.0.3",
        "sale": "7.0.1.0", "stock": "7.0.1.1",
    }
    verdicts = {m["module"]: m["verdict"] for m in data["modules"]}
    assert verdicts == {"account": "ok", "base": "ok", "my_company_reports": "not_covered",
                        "sale": "at_risk", "stock": "ok"}  # mrp is not installed
    table = invoke(project, "--to", "8.0", "--database", pg_database)
    assert "database release 7.0 (base 7.0.1.3)" in table.stderr
    # --from wins over the detected release
    forced = invoke(project, "--from", "6.1", "--to", "7.0", "--database", pg_database, "--json")
    data = json.loads(forced.stdout)
    assert data["source"] == "6.1" and data["input"]["source_detected"] is False
    assert snapshot(pg_database) == before


def test_the_connection_refuses_writes(pg_database: str) -> None:
    create_sample_database(pg_database, "7.0", SAMPLE, partners=5)
    before = snapshot(pg_database)
    with connect(pg_database, readonly=True) as conn:
        installed = read_installed(conn, pg_database)
        assert installed.release == "7.0" and "mrp" not in installed.versions
        for statement in (
            "UPDATE ir_module_module SET state = 'to remove'",
            "INSERT INTO res_partner (name) VALUES ('intruder')",
            "CREATE TABLE ouhub_was_here (id int)",
        ):
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction), conn.cursor() as cur:
                cur.execute(statement)
            conn.rollback()
    assert snapshot(pg_database) == before


# -- bad input: one clear message, exit 3 ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_not_an_openerp_database(project: Path, pg_database: str) -> None:
    result = invoke(project, "--to", "8.0", "--database", pg_database)
    assert result.exit_code == 3
    assert "is not an OpenERP database: it has no ir_module_module table" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.output


def test_refused_connection(project: Path) -> None:
    dsn = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/prod"
    result = invoke(project, "--to", "8.0", "--database", dsn)
    assert result.exit_code == 3
    assert "cannot connect to the database" in result.stderr
    assert "s3cret" not in result.stderr and "***" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "6.1", "--to", "99.0", "--modules", "base"], "unknown release '99.0'"),
        (["--from", "5.0", "--to", "8.0", "--modules", "base"], "unknown release '5.0'"),
        (["--from", "8.0", "--to", "7.0", "--modules", "base"], "release 7.0 does not follow 8.0"),
        (["--from", "6.1", "--modules", "base"], "--to is required"),
        (["--to", "8.0", "--modules", "base"], "--from is needed with a module list"),
        (["--from", "6.1", "--to", "8.0"], "pass exactly one of --modules"),
        (["--from", "6.1", "--to", "8.0", "--modules", "a", "--database", "x"],
         "(got --modules and --database)"),
        (["--from", "6.1", "--to", "8.0", "--modules", "account, (7.0.1.1)"],
         "--modules: 1 line is not module names"),
        (["--from", "6.1", "--to", "8.0", "--modules", " , # nothing"],
         "--modules: no module names found"),
        (["--from", "6.1", "--to", "8.0", "--modules-file", "/nonexistent/list.txt"],
         "cannot read the module list /nonexistent/list.txt"),
        (["--to", "8.0", "--modules", "base", "--format", "yaml"], "Invalid value for '--format'"),
        (["--to", "8.0", "--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_input_exits_3(project: Path, args: list[str], message: str) -> None:
    result = invoke(project, *args)
    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert not result.stdout


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    """Exit 2 would read as "blocked": a config that cannot be read exits 3."""
    result = invoke(tmp_path / "nope.toml", "--from", "6.1", "--to", "7.0", "--modules", "base")
    assert result.exit_code == 3
    assert "no such config file" in result.stderr and "hint:" in result.stderr


def test_junk_lines_in_a_file_are_listed(project: Path, tmp_path: Path) -> None:
    listing = tmp_path / "modules.txt"
    listing.write_text("Installed modules:\naccount\nsale (7.0.1.0)\n")
    result = invoke(project, "--from", "6.1", "--to", "8.0", "--modules-file", str(listing))
    assert result.exit_code == 3
    assert f"{listing}: 2 lines are not module names:" in result.stderr
    assert "line 1: 'Installed modules:'" in result.stderr
    assert "line 3: 'sale (7.0.1.0)'" in result.stderr
    assert "'#' starts a comment" in result.stderr


def test_cached_check_data_follows_the_store(project: Path) -> None:
    """A new scan or a finished run changes the verdicts at once: the cache never goes stale."""
    args = ("--from", "7.0", "--to", "8.0", "--modules", "mrp", "--json")
    first = json.loads(invoke(project, *args).stdout)
    assert first["modules"][0]["verdict"] == "ok"
    config = config_mod.load(project)
    assert (config.data_dir / "cache" / CACHE_NAME).exists()
    with Store.open(config.store_path) as store:
        record_run(store, "8.0", "7.0", "demo70", "failed", {"mrp": "failed"}, excerpt="boom")
    second = json.loads(invoke(project, *args).stdout)
    assert [r["code"] for r in second["modules"][0]["steps"][0]["reasons"]] == [
        "done", "run_failed"]
    with Store.open(config.store_path) as store:
        record_coverage(store, "8.0", "7.0", {"mrp": {"status": "todo"}})
    third = json.loads(invoke(project, *args).stdout)
    assert third["modules"][0]["verdict"] == "blocked"
    # a damaged cache is rebuilt, not trusted
    (config.data_dir / "cache" / CACHE_NAME).write_text("{not marshal")
    assert json.loads(invoke(project, *args).stdout) == third


def test_a_check_from_the_cache_reads_as_one_from_the_store(project: Path) -> None:
    """Each step's modules are kept packed in the cache and decoded one by one: a check made
    from it says what one made from the store said, renamed modules, near names and all."""
    args = ("--from", "6.1", "--to", "8.0", "--modules", "account,users_ldap,mpr,stock,sale,x",
            "--format", "json")
    cache = config_mod.load(project).data_dir / "cache" / CACHE_NAME
    built = invoke(project, *args)
    assert cache.exists() and built.exit_code == 2, built.output
    again = invoke(project, *args)
    assert again.stdout == built.stdout
    assert "did you mean mrp" in json.dumps(json.loads(again.stdout))

    # an entry damaged inside the cache: a clear error naming the file, and what to do
    import marshal

    cached = marshal.loads(cache.read_bytes())
    names, ends, entries = cached["data"]["steps"]["8.0"]["modules"]
    cached["data"]["steps"]["8.0"]["modules"] = (names, ends, b"\xff" * len(entries))
    cache.write_bytes(marshal.dumps(cached))
    damaged = invoke(project, *args)
    assert damaged.exit_code == 3
    assert f"the check data cache {cache} is damaged" in damaged.stderr
    assert f"rm {cache}" in damaged.stderr
    cache.unlink()
    assert invoke(project, *args).stdout == built.stdout


def test_the_help_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example of `ouhub check --help` (but the live database's) runs as written."""
    import shlex

    path = tmp_path / "ouhub.toml"
    path.write_text('data_dir = "data"\n' + "".join(
        f'[releases."{r}"]\n' + (f'previous = "{p}"\n' if p else "")
        + f'[releases."{r}".branches.server]\nurl = "lp:openupgrade-server/{r}"\n'
        for p, r in ((None, "7.0"), ("7.0", "8.0"), ("8.0", "9.0"))))
    with Store.open(config_mod.load(path).store_path) as store:
        for previous, release in (("7.0", "8.0"), ("8.0", "9.0")):
            record_coverage(store, release, previous, {
                "account": {"status": "done"}, "sale": {"status": "done"},
                "stock": {"status": "nothing_to_do"}})
    (tmp_path / "modules.txt").write_text("account\nsale\n")
    monkeypatch.chdir(tmp_path)
    help_text = CliRunner().invoke(main, ["check", "--help"]).output
    examples = [line.strip() for line in help_text.split("Example:")[1].splitlines()
                if line.strip().startswith("ouhub check")]
    assert len(examples) == 3
    for example in examples:
        if "--database" in example:
            continue
        result = CliRunner().invoke(main, ["--config", str(path), *shlex.split(example)[1:]])
        assert result.exit_code == 0, (example, result.output)


# -- hostile or broken input: never a crash, never exit 1 ---------------------------------------


def test_rows_that_are_no_module_names_are_skipped_and_named(project: Path,
                                                            pg_database: str) -> None:
    create_sample_database(pg_database, "7.0", SAMPLE, partners=5)
    expected = invoke(project, "--to", "8.0", "--database", pg_database, "--format", "markdown")
    conn = psycopg2.connect(pg_database)
    with conn, conn.cursor() as cur:  # a database of someone else's making holds anything
        cur.execute("ALTER TABLE ir_module_module ALTER name DROP NOT NULL, "
                    "ALTER name TYPE text")
        cur.executemany("INSERT INTO ir_module_module (name, state, latest_version) "
                        "VALUES (%s, 'installed', '7.0.1.0')",
                        [(None,), ("<b>x</b>\n## Injected",), ("a" * 100_000,)])
    conn.close()
    result = invoke(project, "--to", "8.0", "--database", pg_database, "--format", "markdown")
    assert result.exit_code == expected.exit_code == 2, result.output
    assert result.stdout == expected.stdout  # the same report: the junk is left out
    assert "skipped 3 rows of ir_module_module whose name is no module name" in result.stderr
    assert "None" in result.stderr and "'<b>x</b>\\n## Injected'" in result.stderr
    assert "a" * 200 not in result.stderr


def test_a_bare_database_name_is_read_on_the_configured_server(tmp_path: Path, pg_server: str,
                                                               pg_database: str) -> None:
    create_sample_database(pg_database, "7.0", SAMPLE, partners=5)
    project = write_config(tmp_path / "p", RELEASES, dsn=pg_server)
    name = psycopg2.extensions.parse_dsn(pg_database)["dbname"]
    by_name = invoke(project, "--to", "8.0", "--database", name, "--json")
    by_dsn = invoke(project, "--to", "8.0", "--database", pg_database, "--json")
    assert by_name.exit_code == by_dsn.exit_code == 2, by_name.output
    assert json.loads(by_name.stdout)["modules"] == json.loads(by_dsn.stdout)["modules"]
    assert f"dbname={name}" in json.loads(by_name.stdout)["input"]["database"]


@pytest.mark.parametrize("source, message", [
    ("/dev/zero", "not a regular file"),
    ("big", "larger than"),
])
def test_a_modules_file_is_read_with_a_cap(project: Path, tmp_path: Path, source: str,
                                           message: str) -> None:
    if source == "big":
        source = str(tmp_path / "big.txt")
        Path(source).write_text("account\n" * 300_000)
    # in a child: a regression would read /dev/zero without end
    result = ouhub_process("--config", project, "check", "--from", "6.1", "--to", "8.0",
                           "--modules-file", source)
    assert result.returncode == 3, result.stderr
    assert f"cannot read the module list {source}: {message}" in result.stderr


def test_check_data_of_the_wrong_shape_is_a_clear_error(tmp_path: Path) -> None:
    vectors = json.loads((Path(__file__).parent / "check_vectors.json").read_text())
    good = vectors["data"]["chain"]
    for broken, where in (
        ({**good, "releases": "6.1, 7.0"}, "releases"),
        ({**good, "releases": [{"name": 7.0, "previous": None}]}, "releases[0].name"),
        ({**good, "steps": []}, "steps"),
        ({**good, "steps": {"7.0": {**good["steps"]["7.0"], "modules": [1, 2]}}},
         "steps.7.0.modules"),
        ({**good, "steps": {"7.0": {**good["steps"]["7.0"], "modules": {"base": {"status": 3}}}}},
         "steps.7.0.modules.base.status"),
    ):
        data = tmp_path / "check-data.json"
        data.write_text(json.dumps(broken))
        result = invoke(None, "--data", str(data), "--from", "6.1", "--to", "7.0",
                        "--modules", "base")
        assert result.exit_code == 3, result.output
        assert f"{data}: {where}: " in result.stderr, result.stderr
        assert "hit a bug" not in result.stderr


def test_a_bug_in_check_exits_3_and_logs_in_the_data_dir(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("a bug in check")

    monkeypatch.setattr("ouhub.check.command.decide_verdicts", broken)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke(project, "--from", "6.1", "--to", "8.0", "--modules", "base")
    assert result.exit_code == 3, result.output
    crash_log = project.parent / "data" / "ouhub-crash.log"
    assert f"the traceback is in {crash_log}" in result.stderr
    assert "ZeroDivisionError: a bug in check" in crash_log.read_text()
    # without a config (--data): the user's state folder, never the current directory
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    vectors = json.loads((Path(__file__).parent / "check_vectors.json").read_text())
    data = tmp_path / "check-data.json"
    data.write_text(json.dumps(vectors["data"]["chain"]))
    result = invoke(tmp_path / "none.toml", "--data", str(data), "--from", "6.1", "--to", "7.0",
                    "--modules", "base")
    assert result.exit_code == 3, result.output
    assert (tmp_path / "state" / "ouhub" / "ouhub-crash.log").exists()
    assert list(elsewhere.iterdir()) == []


def test_escape_sequences_in_the_evidence_never_reach_the_terminal(tmp_path: Path) -> None:
    vectors = json.loads((Path(__file__).parent / "check_vectors.json").read_text())
    data = vectors["data"]["chain"]
    account = data["steps"]["7.0"]["modules"]["account"]  # at risk: its reasons are shown
    account["run"]["evidence"] = ["ProgrammingError: x\x1b]0;owned\x07\x1b[2J"]
    path = tmp_path / "check-data.json"
    path.write_text(json.dumps(data))
    for fmt in ("table", "markdown", "json"):
        result = invoke(None, "--data", str(path), "--from", "6.1", "--to", "7.0",
                        "--modules", "account", "--format", fmt)
        assert result.exit_code == 1, result.output
        assert "]0;owned" in result.stdout and "\x1b" not in result.stdout
        assert "\x07" not in result.stdout
