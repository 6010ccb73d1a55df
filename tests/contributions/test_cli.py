"""`ouhub contributions sync / show` as a user runs them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub.cli import main
from tests.contributions.test_stage import TOKEN_ENV, fill
from tests.support.config import write_config
from tests.support.github_server import GitHubServer


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        fill(server)
        yield server


@pytest.fixture
def config(tmp_path: Path, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    branch = "https://github.com/OCA/OpenUpgrade.git,branch={}"
    return write_config(
        tmp_path, {"16.0": {"openupgrade": branch.format("16.0")},
                   "17.0": {"openupgrade": branch.format("17.0")}},
        contributions={"api": gh.api, "token_env": TOKEN_ENV, "stale_days": 3650})


def _run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "contributions", *args])
    return result.exit_code, result.stdout, " ".join(result.stderr.split())  # unwrapped


def test_show_before_sync_says_what_to_run(config: Path) -> None:
    code, out, err = _run(config, "show")
    assert code == 0 and out == "" and "run `ouhub contributions sync`" in err


def test_sync_then_show(config: Path) -> None:
    code, out, err = _run(config, "sync")
    assert code == 0, err
    assert "reading GitHub anonymously (60 requests an hour)" in err
    assert "5 pull requests (5 read in detail, 0 waiting)" in out
    assert "#4124" in out  # 17.0's tracking issue
    code, out, err = _run(config, "show", "--release", "17.0")
    assert code == 0, err
    lines = out.splitlines()
    project = next(line for line in lines if "#5002" in line)
    assert "project" in project and "open, duplicate of #5010" in project
    assert "@alice" in project and "1 changes requested" in project and "author" in project
    assert "drift 17.0 sale: merged unticked (tracking issue line 1: " in out
    assert "#4800" not in out  # 16.0's


def test_show_json_for_one_module(config: Path) -> None:
    assert _run(config, "sync")[0] == 0
    code, out, _err = _run(config, "show", "--module", "project", "--json")
    data = json.loads(out)
    assert code == 0 and {w["ref"] for w in data["work"]} == {"#5002", "#5010"}
    alice = next(w for w in data["work"] if w["ref"] == "#5002")
    assert alice["evidence"][1] == {
        "kind": "scripts", "detail": "openupgrade_scripts/scripts/project/17.0.1.0/post-migration.py"}
    assert [d["kind"] for d in data["drift"]] == ["ticked_unmerged"]
    assert data["tracking"]["17.0"]["number"] == 4124


def test_show_of_an_unknown_release_is_a_usage_error(config: Path) -> None:
    code, _out, err = _run(config, "show", "--release", "99.0")
    assert code == 2 and "unknown release '99.0'" in err


def test_sync_exits_1_when_stopped_by_the_rate_limit(config: Path, gh: GitHubServer) -> None:
    gh.limit_after = 3
    code, out, err = _run(config, "sync")
    assert code == 1
    assert "stopped: GitHub's rate limit is reached anonymously" in err
    assert "it can resume after" in err and "waiting)" in out
    # before the time: no release read, so no table, but what is kept and when to resume
    code, out, err = _run(config, "sync")
    assert code == 1
    assert re.fullmatch(
        r"stopped before any release was read; kept: 1 pull requests \(1 still to read in "
        r"detail\), 0 merge proposals, 1 matches; it can resume after "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(in \d+ min\)\n", out), out
    assert re.search(r"collection resumes after \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in", err), err
    code, out, err = _run(config, "sync", "--json")
    assert code == 1 and "collection resumes after" in err
    assert json.loads(out)["releases"] == []  # --json as it was


def test_coverage_show_has_a_work_column(config: Path) -> None:
    from ouhub import config as config_mod
    from ouhub.store import Store
    from tests.support.fill import module, scan

    loaded = config_mod.load(config)
    with Store.open(loaded.store_path) as store:
        scan(store, "17.0", "16.0", [module("17.0", m, "todo", size=s) for m, s in
                                     (("project", 30), ("sale", 20), ("mrp", 10))])
    assert _run(config, "sync")[0] == 0
    result = CliRunner().invoke(main, ["--config", str(config), "coverage", "show", "17.0"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
            if line.count("│") > 5}
    assert re.search(r"#5010 open \d+ d \+1", rows["project"])  # the most recently active
    assert "#4900 merged" in rows["sale"]
    assert rows["mrp"].split("│")[-2].strip() == ""  # no work on mrp: an empty cell
    data = json.loads(CliRunner().invoke(
        main, ["--config", str(config), "coverage", "show", "17.0", "--format", "json"]).stdout)
    assert data["work"]["sale"] == "#4900 merged" and "mrp" not in data["work"]


def test_status_shows_the_stage(config: Path) -> None:
    assert _run(config, "sync")[0] == 0
    result = CliRunner().invoke(main, ["--config", str(config), "status", "--json"])
    event = json.loads(result.stdout)["stages"]["contributions"]
    assert event["ok"] and event["summary"]["pulls"] == 5 and event["summary"]["anonymous"] == 1
    assert "pulls=5" in event["summary_line"]
