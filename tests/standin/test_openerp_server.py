"""The stand-in server, run as a real subprocess against a real sample database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from examples.demo.sampledb import SampleModule, create_sample_database
from ouhub.pgcluster import dsn_for, scratch_database
from ouhub.runner.logparse import parse_log

STANDIN = Path(__file__).resolve().parent / "openerp_server.py"

TRACE = """
def migrate(cr, version):
    cr.execute("INSERT INTO standin_trace (module, stage, version) VALUES (%s, %s, %s)",
               ({module!r}, {stage!r}, version))
"""


def script(module: str, stage: str, body: str | None = None) -> str:
    """A migration script that records its call in standin_trace, then runs ``body``."""
    text = TRACE.format(module=module, stage=stage)
    if body:
        text += textwrap.indent(textwrap.dedent(body), "    ")
    return text


def write_module(addons: Path, name: str, version: str, depends=("base",), scripts=None,
                 installable=True, manifest_name="__openerp__.py") -> None:
    root = addons / name
    root.mkdir(parents=True)
    (root / manifest_name).write_text(
        "# -*- coding: utf-8 -*-\n"
        + repr({"name": name.title(), "version": version, "depends": list(depends),
                "installable": installable}) + "\n")
    for relpath, content in (scripts or {}).items():
        target = root / "migrations" / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def command(dsn: str, addons: Path, logfile: Path, *extra: str) -> list[str]:
    params = parse_dsn(dsn)
    return [sys.executable, str(STANDIN), "-d", params["dbname"],
            "--db_host", params.get("host", "127.0.0.1"), "--db_port", params.get("port", "5432"),
            "-r", params.get("user", "postgres"), "--addons-path", str(addons),
            "--logfile", str(logfile), "--stop-after-init", "--release", "7.0", *extra]


def run(dsn: str, addons: Path, logfile: Path, *extra: str, update="all"):
    argv = command(dsn, addons, logfile, *extra) + (["-u", update] if update else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    text = logfile.read_text() if logfile.exists() else ""
    return proc.returncode, text, parse_log(text)


def modules(dsn: str) -> dict[str, tuple[str, str]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT name, state, latest_version FROM ir_module_module")
        rows = {name: (state, version) for name, state, version in cur.fetchall()}
    conn.close()
    return rows


def trace(dsn: str) -> list[tuple[str, str, str]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT module, stage, version FROM standin_trace ORDER BY id")
        rows = cur.fetchall()
    conn.close()
    return rows


@pytest.fixture(scope="module")
def shared_database(pg_server: str) -> Iterator[str]:
    """One database for this file's tests: creating and dropping one per test costs seconds."""
    with scratch_database(pg_server, "ouhub_test_standin") as dsn:
        yield dsn


@pytest.fixture
def sample(shared_database: str) -> str:
    """A fresh 6.1 database: base, sale, crm (depends on sale), stock (depends on crm)."""
    with psycopg2.connect(shared_database) as conn, conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.close()
    create_sample_database(shared_database, "6.1", [
        SampleModule("sale", "1.0", depends=("base",)),
        SampleModule("crm", "1.0", depends=("sale",)),
        SampleModule("stock", "1.0", depends=("crm",)),
    ], partners=5)
    with psycopg2.connect(shared_database) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE standin_trace (id serial, module text, stage text, version text)")
    conn.close()
    return shared_database


@pytest.fixture
def addons(tmp_path: Path) -> Path:
    """7.0 code of the sample's modules; sale has pre/post/end scripts, stock none."""
    path = tmp_path / "addons"
    write_module(path, "base", "1.3", depends=())
    write_module(path, "sale", "1.1", scripts={
        "7.0.1.1/pre-migration.py": script("sale", "pre"),
        "7.0.1.1/post-migration.py": script("sale", "post"),
        "7.0.1.1/end-migration.py": script("sale", "end"),
        "6.1.1.0/pre-old.py": script("sale", "too-old"),  # not above the installed version
        "7.0.1.2/pre-next.py": script("sale", "too-new"),  # above the new version
        "7.0.1.1/README.txt": "not a script",
    })
    write_module(path, "crm", "1.1", depends=("sale",), scripts={
        "1.1/post-migration.py": script("crm", "post"),  # short folder name: 7.0.1.1
    }, manifest_name="__terp__.py")
    write_module(path, "stock", "1.1", depends=("crm",), manifest_name="__manifest__.py")
    return path


def test_a_passing_update_raises_versions_runs_scripts_and_logs_them(sample, addons, tmp_path):
    rc, text, report = run(sample, addons, tmp_path / "server.log")

    assert rc == 0, text
    assert modules(sample) == {"base": ("installed", "7.0.1.3"), "sale": ("installed", "7.0.1.1"),
                               "crm": ("installed", "7.0.1.1"), "stock": ("installed", "7.0.1.1")}
    # 7.0 knows no end- scripts: sale's end-migration.py is not run
    assert trace(sample) == [("sale", "pre", "6.1.1.0"), ("sale", "post", "6.1.1.0"),
                             ("crm", "post", "6.1.1.0")]
    assert report.modules_loaded == ("base", "sale", "crm", "stock")  # dependency order
    assert "openerp.modules.loading: module crm: loading objects" in text  # 7.0's wording
    assert [(s.module, s.stage, s.version, s.name) for s in report.scripts_run] == [
        ("sale", "pre", "7.0.1.1", "pre-migration"), ("sale", "post", "7.0.1.1", "post-migration"),
        ("crm", "post", "1.1", "post-migration")]
    assert report.errors == () and report.finished and not report.fatal
    announced = "openerp.modules.migration: module sale: Running migration [>7.0.1.1] pre-migration"
    assert text.count(announced) == 2  # 7.0's migration.py logs it twice
    assert all(r.dbname == parse_dsn(sample)["dbname"] for r in report.records[5:])

    # a second update finds nothing to migrate
    rc, _, again = run(sample, addons, tmp_path / "again.log")
    assert rc == 0 and again.scripts_run == () and again.finished


def test_later_servers_run_end_scripts_and_name_modules_only_at_debug(sample, tmp_path):
    addons = tmp_path / "addons80"
    write_module(addons, "base", "1.3", depends=())
    write_module(addons, "sale", "1.1", scripts={
        "8.0.1.1/pre-migration.py": script("sale", "pre"),
        "8.0.1.1/end-migration.py": script("sale", "end"),
    }, manifest_name="__manifest__.py")
    for name, depends in (("crm", ("sale",)), ("stock", ("crm",))):
        write_module(addons, name, "1.1", depends=depends, manifest_name="__manifest__.py")
    argv = ["--release", "8.0", "--log-format", "odoo"]

    rc, text, report = run(sample, addons, tmp_path / "info.log", *argv)

    assert rc == 0, text
    assert trace(sample) == [("sale", "pre", "6.1.1.0"), ("sale", "end", "6.1.1.0")]
    assert "odoo.modules.migration: module sale: Running upgrade [$8.0.1.1] end-migration" in text
    assert "Loading module" not in text  # DEBUG in Odoo: at info only the scripts name modules
    assert report.modules_loaded == ("sale",) and report.finished

    rc, text, report = run(sample, addons, tmp_path / "debug.log", *argv, "--log-level", "debug")
    assert rc == 0 and "DEBUG" in text
    assert report.modules_loaded == ("base", "sale", "crm", "stock")


@pytest.mark.parametrize("log_format, exit_code, failed_logger", [
    ("openerp", 0, "openerp"),  # 6.1/7.0 exit 0 after the failure
    ("odoo", 255, "odoo.service.server"),
])
def test_script_exception_rolls_back_its_module_and_stops_the_update(
        sample, addons, tmp_path, log_format, exit_code, failed_logger):
    (addons / "crm" / "migrations" / "1.1" / "pre-migration.py").write_text(
        script("crm", "pre", "raise ValueError('crm cannot migrate its leads')"))

    rc, text, report = run(sample, addons, tmp_path / "server.log", "--log-format", log_format)

    assert rc == exit_code, text
    assert modules(sample) == {"base": ("installed", "7.0.1.3"), "sale": ("installed", "7.0.1.1"),
                               "crm": ("to upgrade", "6.1.1.0"), "stock": ("to upgrade", "6.1.1.0")}
    # sale's work was committed; crm's own insert was rolled back; no end scripts ran
    assert trace(sample) == [("sale", "pre", "6.1.1.0"), ("sale", "post", "6.1.1.0")]
    assert report.failed_modules == ("crm",)
    error = report.primary_error("crm")
    assert error.kind == "script" and error.script.endswith("crm/migrations/1.1/pre-migration.py")
    assert "ValueError: crm cannot migrate its leads" in error.excerpt
    assert report.fatal and not report.finished
    assert "stock" not in report.modules_loaded
    assert f" {failed_logger}: Failed to initialize database" in text
    root = "odoo" if log_format == "odoo" else "openerp"
    assert all(r.logger.split(".")[0] in (root, "OpenUpgrade") for r in report.records)


@pytest.mark.parametrize("body, exit_code", [
    ("import os\nos._exit(3)", 3),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV),
])
def test_a_crashing_script_exits_non_zero_and_leaves_its_module_to_upgrade(
        sample, addons, tmp_path, body, exit_code):
    (addons / "crm" / "migrations" / "1.1" / "post-migration.py").write_text(
        script("crm", "post", body))

    rc, _, report = run(sample, addons, tmp_path / "server.log")

    assert rc == exit_code
    assert modules(sample)["crm"] == ("to upgrade", "6.1.1.0")
    assert report.modules_loaded[-1] == "crm" and not report.finished and report.errors == ()


def test_a_hanging_script_can_be_killed_with_its_process_group(sample, addons, tmp_path):
    (addons / "crm" / "migrations" / "1.1" / "post-migration.py").write_text(
        script("crm", "post", "import time\ntime.sleep(600)"))
    logfile = tmp_path / "server.log"
    proc = subprocess.Popen(command(sample, addons, logfile, "-u", "all"),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "module crm: Running migration" not in (logfile.read_text()
                                                      if logfile.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert modules(sample)["crm"] == ("to upgrade", "6.1.1.0")
    assert parse_log(logfile.read_text()).modules_loaded[-1] == "crm"


@pytest.mark.parametrize("break_module", ["absent", "not installable"])
def test_a_module_without_installable_code_is_left_to_upgrade(
        sample, addons, tmp_path, break_module):
    if break_module == "absent":
        for path in sorted((addons / "crm").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (addons / "crm").rmdir()
    else:
        (addons / "crm" / "__terp__.py").write_text(
            "{'name': 'CRM', 'version': '1.1', 'depends': ['sale'], 'installable': False}")

    rc, text, report = run(sample, addons, tmp_path / "server.log")

    assert rc == 0
    states = modules(sample)
    assert states["sale"] == ("installed", "7.0.1.1")
    assert states["crm"] == ("to upgrade", "6.1.1.0")
    assert states["stock"] == ("to upgrade", "6.1.1.0")  # depends on crm: unmet dependency
    assert "WARNING" in text and "module crm: not installable, skipped" in text
    assert report.skipped_modules == ("crm", "stock")
    assert report.finished  # the server says all is well: only the database tells
    assert report.modules_loaded == ("base", "sale")


def test_a_script_with_a_syntax_error_cannot_be_loaded(sample, addons, tmp_path):
    (addons / "sale" / "migrations" / "7.0.1.1" / "post-migration.py").write_text(
        "def migrate(cr, version)\n    pass\n")

    rc, text, report = run(sample, addons, tmp_path / "server.log")

    assert rc == 0
    assert "module sale: Unable to load post-migration file" in text
    error = report.primary_error("sale")
    assert error.kind == "load" and "SyntaxError" in error.excerpt
    assert modules(sample)["sale"] == ("to upgrade", "6.1.1.0")
    assert trace(sample) == []  # sale's pre-migration was rolled back with the module


def test_without_update_nothing_changes(sample, addons, tmp_path):
    rc, _, report = run(sample, addons, tmp_path / "server.log", update="")
    assert rc == 0 and report.finished and report.scripts_run == ()
    assert modules(sample)["sale"] == ("installed", "6.1.1.0")


def test_updating_one_module_also_updates_its_dependents(sample, addons, tmp_path):
    rc, _, report = run(sample, addons, tmp_path / "server.log", update="crm")
    assert rc == 0
    states = modules(sample)
    assert states["sale"] == ("installed", "6.1.1.0")
    assert states["crm"] == states["stock"] == ("installed", "7.0.1.1")
    assert [s.module for s in report.scripts_run] == ["crm"]


@pytest.mark.parametrize("extra, message", [
    (["--no-such-option"], "unrecognized arguments"),
    (["--addons-path", "/nonexistent/addons"], "invalid addons directory"),
])
def test_bad_command_lines_are_refused(tmp_path, extra, message):
    proc = subprocess.run([sys.executable, str(STANDIN), "-d", "x", *extra],
                          capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == 2 and message in proc.stderr


def test_an_unreachable_database_fails_to_initialize_with_exit_0(pg_server, tmp_path):
    missing = dsn_for(pg_server, f"ouhub_test_missing_{uuid.uuid4().hex[:8]}")
    (tmp_path / "addons").mkdir()
    rc, text, report = run(missing, tmp_path / "addons", tmp_path / "server.log")
    assert rc == 0  # like openerp-server 6.1/7.0: the log is the only evidence
    (error,) = report.errors
    assert (error.kind, error.module) == ("init", None) and report.fatal
    assert "OperationalError" in error.excerpt
    assert report.records[0].dbname is None  # startup lines log "?" for the database
