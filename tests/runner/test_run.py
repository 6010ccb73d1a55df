"""`ouhub run` end to end: the stand-in server upgrades clones of one imported sample.

The sample is imported once for this file (a restore costs seconds); each test
writes its own 7.0 code into the mirror and clones the template into a scratch
database, as `ouhub run` always does.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from psycopg2.extensions import make_dsn, parse_dsn

from ouhub.cli import main
from ouhub.errors import RunnerError
from ouhub.runner.pg import Databases, IrModule, database_exists, hostname, module_rows
from ouhub.runner.run import run_sample
from ouhub.runner.samples import import_samples
from ouhub.runner.spare import wait_for_spares
from ouhub.runner.upgrade import (
    MirrorReads,
    addons_dirs,
    execute_step,
    modules_with_scripts,
    run_dir,
)
from ouhub.store import Store
from tests.runner.conftest import STANDIN_COMMAND, addons_70, build_config, write_module
from tests.support.config import write_config

PASSWORD = "s3cr3t-pw"  # in every DSN here: it must never reach a log, a file or the store


def sample_config(root: Path, pg_server: str, dump: Path, command: str = STANDIN_COMMAND,
                  **kw):
    server = make_dsn(pg_server, password=PASSWORD)
    return build_config(root, server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump)}],
        commands={"7.0": command + " -w {db_password}"}, **kw)


@pytest.fixture(scope="module")
def workspace(pg_server: str, dump_61: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Path, Store]]:
    """A data dir whose store holds the s61 template, shared by this file's tests."""
    root = tmp_path_factory.mktemp("runs")
    config = sample_config(root, pg_server, dump_61)
    store = Store.open(config.store_path)
    try:
        assert [r.status for r in import_samples(config, store)] == ["imported"]
        yield root, store
    finally:
        wait_for_spares()
        dbs = Databases(store, config.dsn)
        for rec in store.live_databases():
            dbs.drop(rec.name)
        store.close()


@pytest.fixture
def setup(workspace, pg_server, dump_61):
    """A config on the shared data dir, its 7.0 mirror rewritten for this test."""
    root, store = workspace

    def make(command: str = STANDIN_COMMAND, timeout: float = 60, log_limit: int = 1_000_000,
             **addons):
        config = sample_config(root, pg_server, dump_61, command=command, timeout=timeout,
                               log_limit=log_limit)
        shutil.rmtree(config.mirrors_dir, ignore_errors=True)
        addons_70(config, **addons)
        return config, store

    return make


@pytest.fixture
def runner_log() -> Iterator[list[str]]:
    """What ouhub.runner logs, whatever logging set-up earlier tests (the CLI's) left."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    names = ["ouhub.runner", *(n for n in logging.root.manager.loggerDict
                               if n.startswith("ouhub.runner."))]
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).disabled) for n in names}
    for name in names:
        logging.getLogger(name).disabled = False
    logging.getLogger("ouhub.runner").setLevel(logging.DEBUG)
    logging.getLogger("ouhub.runner").addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger("ouhub.runner").removeHandler(handler)
        for name, (level, disabled) in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).disabled = disabled


def test_passing_step_stores_evidence_and_drops_scratch(setup, runner_log):
    config, store = setup()

    result = run_sample(config, store, "7.0", "s61")

    assert result.status == "passed", result.message
    outcomes = {m.module: (m.outcome, m.version_before, m.version_after)
                for m in store.run_modules(result.run_id)}
    assert outcomes == {"base": ("upgraded", "6.1.1.3", "7.0.1.3"),
                        "sale": ("upgraded", "6.1.1.0", "7.0.1.0"),
                        "stock": ("upgraded", "6.1.1.1", "7.0.1.1")}
    sale = next(m for m in store.run_modules(result.run_id) if m.module == "sale")
    assert sale.scripts == ("7.0.1.0/post-migration",)  # once, though 7.0 announces it twice
    run = store.runs(release="7.0", sample="s61", limit=1)[0]
    assert (run.id, run.status, run.exit_code, run.scratch_db) == (
        result.run_id, "passed", 0, result.database)
    assert run.duration and run.duration > 0
    assert not database_exists(config.dsn, result.database)  # dropped without --keep
    assert store.database_record(result.database).dropped_at is not None
    log_text = Path(run.log_path).read_text()
    assert "module sale: loading objects" in log_text
    assert "-w ***" in log_text  # the command line is shown, its password hidden
    # the store through SQLite: opening and closing its file here would drop this process's
    # locks on it (POSIX locks are per process), and later writers' commits would be lost
    with closing(sqlite3.connect(config.store_path)) as db:
        assert PASSWORD not in "\n".join(db.iterdump())
    for path in Path(run.log_path).parent.iterdir():
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert any("-w ***" in line for line in runner_log)  # the logged command line
    assert not [line for line in runner_log if PASSWORD in line]
    assert store.last_run_outcomes("7.0")["sale"].run_status == "passed"


def test_only_base_migrated_is_not_a_pass(setup, tmp_path):
    """OpenUpgrade #2446: plain Odoo addons ahead of OpenUpgrade's on the server's path.

    The server loads sale and stock from the plain copies (no migrations/), raises
    their versions, logs no error and exits 0; only base ran its scripts. ouhub knows
    from its mirror that sale has scripts for this step, so the run fails on sale.
    """
    plain = tmp_path / "odoo-addons"
    write_module(plain, "sale", "1.0", ["base"])
    write_module(plain, "stock", "1.1", ["base"])
    config, store = setup(command=STANDIN_COMMAND.replace(
        "--addons-path {addons_path}", f"--addons-path {plain},{{addons_path}}"))
    write_module(config.mirror_path(config.release("7.0").branches[0]) / "openerp" / "addons",
                 "base", "1.3", scripts={"7.0.1.3/pre-migration.py": "def migrate(cr, v):\n"
                                         "    pass\n"})

    result = run_sample(config, store, "7.0", "s61")

    assert result.status == "failed", result.message
    outcomes = {m.module: m for m in result.modules}
    assert (outcomes["base"].outcome, outcomes["base"].scripts) == (
        "upgraded", ("7.0.1.3/pre-migration",))
    # every version rose and the server said nothing wrong: only the missing scripts tell
    assert all(m.version_after.startswith("7.0.") for m in result.modules)
    assert outcomes["sale"].outcome == "failed"
    assert "sale has migration scripts for this step but none ran" in outcomes["sale"].excerpt
    assert outcomes["stock"].outcome == "upgraded"  # no scripts anywhere: the version is enough
    assert result.message.startswith("sale: ")
    run = store.runs(release="7.0", sample="s61", limit=1)[0]
    assert (run.status, run.exit_code) == ("failed", 0)


FAILURES = {
    "raise": ("def migrate(cr, version):\n    raise ValueError('sale cannot migrate')\n",
              "failed", "ValueError: sale cannot migrate"),
    "crash": ("import os\n\ndef migrate(cr, version):\n    os._exit(3)\n", "error", ""),
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_failure_modes_are_attributed_to_the_module(mode, setup):
    script, status, excerpt = FAILURES[mode]
    config, store = setup(sale_script=script)

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


def test_module_missing_from_addons_path_fails_that_module(setup):
    config, store = setup(stock=False)
    result = run_sample(config, store, "7.0", "s61")
    assert result.status == "failed"
    outcomes = {m.module: m for m in result.modules}
    assert outcomes["stock"].outcome == "failed" and "to upgrade" in outcomes["stock"].excerpt
    assert outcomes["sale"].outcome == "upgraded"
    assert "stock" in result.message


def test_links_out_of_the_mirror_are_not_followed_and_named(setup, runner_log, tmp_path):
    # the scan's rule, in the runner: a mirrored branch could point its addons folder or a
    # module's migrations at any folder of the host running the upgrade
    config, store = setup(stock=False)
    root = config.mirror_path(config.release("7.0").branches[0])
    extra = write_module(tmp_path / "outside" / "extra", "stock", "1.1", ["base"]).parent
    scripts = tmp_path / "outside" / "scripts"
    (scripts / "7.0.1.3").mkdir(parents=True)
    (scripts / "7.0.1.3" / "post-migration.py").write_text("def migrate(cr, version):\n    pass\n")
    (root / "addons").symlink_to(extra)
    (root / "openerp" / "addons" / "base" / "migrations").symlink_to(scripts)

    reads = MirrorReads(config, "7.0")
    assert addons_dirs(config, "7.0", reads) == [root / "openerp" / "addons"]
    installed = {"base": IrModule("base", "installed", "6.1.1.3"),
                 "sale": IrModule("sale", "installed", "6.1.1.0")}
    assert modules_with_scripts(addons_dirs(config, "7.0"), "7.0", installed, reads) == {
        "sale": ["7.0.1.0/post-migration.py"]}
    assert sorted(reads.warnings) == ["server/addons", "server/openerp/addons/base/migrations"]

    result = run_sample(config, store, "7.0", "s61")

    outcomes = {m.module: m.outcome for m in result.modules}
    assert outcomes == {"base": "upgraded", "sale": "upgraded", "stock": "failed"}
    kept = Path(result.log_path).read_text()
    command = next(line for line in kept.splitlines() if line.startswith("# command:"))
    assert str(tmp_path / "outside") not in command  # not on the server's addons path
    for name, target in (("server/addons", extra),
                         ("server/openerp/addons/base/migrations", scripts)):
        warning = f"{name}: symlink to {target}, outside the tree: not followed"
        assert f"# ouhub: warning: {warning}" in kept
        assert warning in runner_log


def test_dump_to_saves_only_a_passed_run(setup, tmp_path):
    config, store = setup(sale_script="def migrate(cr, v):\n    raise ValueError('no')\n")
    failed = run_sample(config, store, "7.0", "s61", dump_to=tmp_path / "failed.dump")
    assert failed.status == "failed" and failed.dump is None
    assert "not dumped" in failed.message and not (tmp_path / "failed.dump").exists()

    config, store = setup()
    passed = run_sample(config, store, "7.0", "s61", dump_to=tmp_path / "s70.dump")
    assert passed.status == "passed" and passed.dump == str(tmp_path / "s70.dump")
    assert (tmp_path / "s70.dump").read_bytes().startswith(b"PGDMP")


@pytest.mark.slow
def test_timeout_kills_the_whole_process_group(setup):
    hang = ("import subprocess, sys, time\n\ndef migrate(cr, version):\n"
            "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
            "    time.sleep(120)\n")
    config, store = setup(sale_script=hang, timeout=2)

    result = run_sample(config, store, "7.0", "s61")

    assert result.status == "timeout"
    assert {m.module: m.outcome for m in result.modules}["sale"] == "failed"
    log_text = Path(result.log_path).read_text()
    assert "timed out" in log_text
    pid = int(next(line.split()[2] for line in log_text.splitlines()
                   if "module sale: loading objects" in line))
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


def test_refuses_a_database_ouhub_did_not_create_or_a_template(setup, pg_database, tmp_path):
    config, store = setup()
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


FLOOD_SCRIPT = (
    "import logging, sys\n"
    "def migrate(cr, version):\n"
    "    noise = logging.getLogger('openerp.addons.sale')\n"
    "    for i in range(60000):\n"
    "        noise.info('record %s of a data file %s', i, 'x' * 80)\n"
    "        if i % 10 == 0:\n"
    "            print('printed', i, 'y' * 80)\n"
    "    raise KeyError('partner_id')\n"
)


@pytest.mark.slow
def test_a_flood_of_server_output_is_read_as_a_stream_and_the_kept_log_capped(setup):
    config, store = setup(sale_script=FLOOD_SCRIPT, log_limit=200_000)
    tracemalloc.start()
    try:
        result = run_sample(config, store, "7.0", "s61")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "failed", result.message
    log = Path(result.log_path)
    assert peak < 5_000_000, f"{peak:,} bytes held while reading the logs"
    kept = log.read_text()
    # of some 11 MB written, the head (what ran) and the tail (the last traceback) are kept
    assert len(kept) <= 200_000
    assert kept.startswith("# ouhub: upgrade 6.1 -> 7.0 of database ")
    assert re.search(r"^# ouhub: \d+ characters cut from the middle", kept, re.M)
    assert "KeyError: 'partner_id'" in kept[-20_000:]
    sale = {m.module: m for m in result.modules}["sale"]
    assert sale.outcome == "failed" and "KeyError: 'partner_id'" in sale.excerpt
    assert PASSWORD not in log.read_text()
    assert sorted(p.name for p in log.parent.iterdir() if p.is_file()) == ["upgrade.log"]


def test_a_full_disk_ends_the_run_as_an_error_that_says_so(setup):
    config, store = setup()
    last = store.runs(limit=1)
    next_id = (last[0].id if last else 0) + 1
    directory = run_dir(config, next_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "upgrade.log").symlink_to("/dev/full")  # every write: ENOSPC

    result = run_sample(config, store, "7.0", "s61")

    assert result.run_id == next_id
    assert result.status == "error"
    assert "disk is full" in result.message and "upgrade.log" in result.message
    run = store.run(next_id)
    assert run.status == "error" and "disk is full" in run.message
    assert not database_exists(config.dsn, result.database)


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie that nobody reaped yet does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def config_file(root: Path, pg_server: str, dump: Path, command: str) -> Path:
    """The config of ``sample_config`` as a file, for an ouhub started as a process."""
    return write_config(
        root, {"6.1": {"server": {"url": str(root / "b61"), "vcs": "bzr"}},
               "7.0": {"server": {"url": str(root / "b70"), "vcs": "bzr"}}},
        dsn=make_dsn(pg_server, password=PASSWORD), data_dir=root / "data",
        samples=[{"name": "s61", "release": "6.1", "dump": str(dump)}],
        runner={"timeout": 120, "commands": {"7.0": command + " -w {db_password}"}},
        name="signal.toml")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_kills_the_upgrade_drops_the_scratch_and_marks_the_run_interrupted(
    setup, pg_server, dump_61, signum
):
    pidfile = dump_61.parent / f"server-{signum}.pid"
    config, store = setup(sale_script=(
        "import os, time\n"
        "def migrate(cr, version):\n"
        f"    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(300)\n"))
    path = config_file(config.data_dir.parent, pg_server, dump_61, STANDIN_COMMAND)
    ouhub = subprocess.Popen([sys.executable, "-m", "ouhub", "--config", str(path), "run",
                              "-r", "7.0", "-s", "s61"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    server = None
    try:
        for _ in range(600):
            if pidfile.exists() and pidfile.read_text():
                break
            time.sleep(0.1)
        server = int(pidfile.read_text())
        run = store.runs(limit=1)[0]
        assert run.status == "running" and running(server)
        ouhub.send_signal(signum)
        _, err = ouhub.communicate(timeout=60)
    finally:
        ouhub.kill()
        pidfile.unlink(missing_ok=True)
        if server is not None and running(server):  # never leave it sleeping, pass or fail
            os.killpg(server, signal.SIGKILL)
    assert ouhub.returncode == 128 + signum, err
    assert f"interrupted ({signal.Signals(signum).name})" in err
    assert not running(server)  # the upgrade's whole process group is gone
    run = store.run(run.id)
    assert run.status == "interrupted" and signal.Signals(signum).name in run.message
    assert not database_exists(config.dsn, run.scratch_db)
    assert store.database_record(run.scratch_db).dropped_at is not None


def test_status_shows_a_run_whose_process_is_gone_as_interrupted(setup, pg_server, dump_61):
    config, store = setup()
    gone = subprocess.Popen(["true"])
    gone.wait()
    run_id = store.start_run(kind="run", release="7.0", previous="6.1", sample="s61",
                             host=hostname(), pid=gone.pid)
    try:
        path = config_file(config.data_dir.parent, pg_server, dump_61, STANDIN_COMMAND)
        result = CliRunner().invoke(main, ["--config", str(path), "status", "--json"])
        assert result.exit_code == 0, result.output
        seven = {r["name"]: r for r in json.loads(result.stdout)["releases"]}["7.0"]
        assert seven["last_run"]["id"] == run_id
        assert seven["last_run"]["status"] == "interrupted"
    finally:
        store.finish_run(run_id, status="error", duration=0.0, exit_code=None, message="test")


def test_a_child_that_leaves_the_process_group_is_still_killed(setup, dump_61):
    pidfile = dump_61.parent / "escaped.pid"
    config, store = setup(sale_script=(
        "import subprocess\n"
        "def migrate(cr, version):\n"
        "    child = subprocess.Popen(['setsid', 'sleep', '300'])  # a new session: not our group\n"
        f"    open({str(pidfile)!r}, 'w').write(str(child.pid))\n"))
    try:
        result = run_sample(config, store, "7.0", "s61")
        escaped = int(pidfile.read_text())
        assert result.status == "passed", result.message
        alive = running(escaped)
    finally:
        if pidfile.exists() and running(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
    assert not alive  # it kept ouhub's marker in its environment
