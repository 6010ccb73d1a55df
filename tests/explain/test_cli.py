"""`ouhub explain` on the command line: a file or stdin, text or JSON, with or without a store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.records import RunModule
from ouhub.runner.fingerprint import fingerprint_error
from ouhub.runner.logparse import parse_log
from ouhub.store import Store
from tests.support.config import write_config
from tests.support.pastes import OPENUPGRADE_70, SIGNATURE_16


def run(*args: str, stdin: str | None = None, env: dict | None = None):
    return CliRunner().invoke(main, list(args), input=stdin,
                              env={"OUHUB_CONFIG": "/nonexistent/ouhub.toml", **(env or {})})


def test_a_file_explained_as_text(tmp_path: Path):
    log = tmp_path / "paste.txt"
    log.write_text(SIGNATURE_16)
    result = run("explain", str(log))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"1 failure in {log} (12 lines, 4 log records); the server aborted the update"
    assert lines[2] == "failure 1, line 4: l10n_es_facturae, pre stage"
    assert lines[3] == "  TypeError: migrate() takes 1 positional argument but 2 were given"
    assert lines[4].startswith("  fingerprint ")
    assert "known causes:" in lines
    assert "modules whose scripts ran: l10n_es_facturae" in lines
    assert lines[-1] == ("(not compared with ouhub's runs: no ouhub store: give --config to "
                         "compare with its runs)")


def test_stdin_and_json():
    result = run("explain", "-", "--json", stdin="    " + OPENUPGRADE_70.replace("\n", "\n    "))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "stdin" and data["aborted"] is True
    (error,) = data["errors"]
    assert (error["module"], error["stage"], error["exception"]) == ("base", "post", "TypeError")
    assert error["fingerprint"]["message"] == "get() takes exactly N arguments (N given)"
    assert error["seen_before"] is None and data["history"]["used"] is False
    assert [h["cause"] for h in data["hints"]] == ["registry_failed"]


def test_nothing_to_read_is_a_usage_error(tmp_path: Path):
    result = run("explain", str(tmp_path / "missing.log"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr and "hint:" in result.stderr
    assert run("explain", str(tmp_path)).exit_code == 2  # a directory


def test_a_broken_config_leaves_the_explanation(tmp_path: Path):
    bad = tmp_path / "ouhub.toml"
    bad.write_text("[releases\n")
    result = run("--config", str(bad), "explain", "-", stdin=SIGNATURE_16)
    assert result.exit_code == 0, result.output
    assert "failure 1, line 4: l10n_es_facturae, pre stage" in result.stdout
    assert "(not compared with ouhub's runs:" in result.stdout


def test_with_ouhub_s_runs_it_says_where_the_failure_was_seen_and_fixed(tmp_path: Path):
    config_path = write_config(tmp_path, {"6.1": {"server": "/srv/61"},
                                          "7.0": {"server": "/srv/70"}})
    config = config_mod.load(config_path)
    # ouhub's own runs met the same failure (another database, another checkout), then not
    own_log = OPENUPGRADE_70.replace("erp_db", "ouhub_run_5_demo61").replace(
        "/srv/OpenUpgrade", "/data/mirrors/7.0/server")
    report = parse_log(own_log)
    fingerprint = fingerprint_error(report.primary_error("base"), {"ouhub_run_5_demo61"})
    with Store.open(config.store_path) as store:
        for revno, outcome in ((11, "failed"), (12, "failed"), (13, "upgraded")):
            run_id = store.start_run(kind="run", release="7.0", previous="6.1", sample="demo61",
                                     revisions={"server": f"{revno} (rev-{revno})"})
            store.finish_run(run_id, status="failed" if outcome == "failed" else "passed",
                             duration=1.0, exit_code=0, message="", modules=[RunModule(
                                 "base", outcome, "6.1.1.3", "7.0.1.3", (), "",
                                 fingerprint=fingerprint if outcome == "failed" else None)])
    result = run("--config", str(config_path), "explain", "-", stdin=OPENUPGRADE_70)
    assert result.exit_code == 0, result.output
    assert ("  seen in ouhub's runs: base in sample demo61 into 7.0, runs 1 to 2 (2 runs), last "
            in result.stdout)
    assert "; fixed since run 3 (server 13)" in result.stdout
    data = json.loads(run("--config", str(config_path), "explain", "-", "--json",
                          stdin=OPENUPGRADE_70).stdout)
    (seen,) = data["errors"][0]["seen_before"]
    assert (seen["first_run"], seen["last_run"], seen["runs"]) == (1, 2, 2)
    assert seen["fixed"]["run"] == 3 and seen["fixed"]["revisions"] == {"server": "13 (rev-13)"}
    # another failure: not seen
    other = run("--config", str(config_path), "explain", "-", stdin=SIGNATURE_16)
    assert "  not seen in ouhub's runs" in other.stdout


def test_no_store_yet_is_no_history_and_creates_nothing(tmp_path: Path):
    config_path = write_config(tmp_path, {"7.0": {"server": "/srv/70"}})
    result = run("--config", str(config_path), "explain", "-", stdin=SIGNATURE_16)
    assert result.exit_code == 0
    assert not (tmp_path / "data").exists()
