"""The CLI's shape: help teaches with examples, status shows the store, errors are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import click
from click.testing import CliRunner

from ouhub.cli import main
from ouhub.records import StageSummary
from ouhub.store import Store, utcnow
from tests.support.config import write_config


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_each_command_is_defined_where_the_group_looks_for_it():
    # `ouhub check` imports ouhub/cli/check.py alone: the group's table says where each is
    import importlib

    from ouhub.cli.group import COMMAND_MODULES

    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"ouhub.cli.{module}")
    assert sorted(main.commands) == sorted(COMMAND_MODULES)
    for name, command in main.commands.items():
        assert command.callback.__module__ == f"ouhub.cli.{COMMAND_MODULES[name]}", name


def test_every_command_explains_itself_with_an_example():
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    for path, command in _commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        if not isinstance(command, click.Group):
            assert "Example:" in result.output, f"`ouhub {' '.join(path)} --help` has no example"


def test_status_on_an_empty_store_and_after_a_stage(tmp_path):
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["releases"] == [{
        "name": "7.0", "previous": None,
        "branches": [{"name": "server", "revno": None, "last_success": None, "last_error": None}],
        "last_scan": None, "last_run": None,
    }]
    assert data["stages"]["sync"] is None
    with Store.open(tmp_path / "data" / "ouhub.sqlite") as store:
        store.record_sync_success("7.0", "server", "/srv/x", served_url="/srv/x", vcs="bzr",
                                  revid="rev-42", revno=42, new_revisions=2)
        store.record_stage("sync", utcnow(), StageSummary(False, {"branches": 2, "failed": 1}))
    result = runner.invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 0
    assert "FAILED" in result.stdout and "failed=1" in result.stdout
    assert "server r42" in result.stdout


def test_missing_config_is_one_clear_line_not_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ouhub", "--config", str(tmp_path / "none.toml"), "status"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "no such config file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bug_prints_one_line_and_leaves_the_traceback_in_the_data_dir(tmp_path, monkeypatch):
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in a stage")

    monkeypatch.setattr("ouhub.status.gather_status", broken)
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 1
    crash_log = tmp_path / "data" / "ouhub-crash.log"
    assert f"the traceback is in {crash_log}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "ZeroDivisionError: a bug in a stage" in crash_log.read_text()


def test_a_bad_option_value_is_a_usage_error(tmp_path):
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})
    result = CliRunner().invoke(
        main, ["--config", str(config), "coverage", "show", "7.0", "--status", "tod"]
    )
    assert result.exit_code == 2
    assert "unknown status 'tod'; one of: done, nothing_to_do" in result.stderr


def test_an_error_message_reaches_the_terminal_without_escape_sequences(tmp_path):
    path = tmp_path / "\x1b]0;owned\x07\x1b[2Jouhub.toml"  # a name that would retitle and clear
    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert "no such config file" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "]0;owned[2Jouhub.toml" in result.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    # `ouhub explain log | head -1`: head exits, the next write meets a closed pipe
    log = tmp_path / "server.log"
    log.write_text("2026-03-02 09:14:07,882 2211 ERROR db openerp: Failed to initialize "
                   "database `db`.\n")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ouhub", "--config", str(tmp_path / "none.toml"),
             "explain", str(log)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 128 + signal.SIGPIPE
    assert proc.stderr == ""
    assert not (tmp_path / "state").exists()  # no crash log: it is no bug
