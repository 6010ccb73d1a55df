"""`ouhub check` names the open work on a blocked or at-risk module."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub.check.rules import decide_verdicts
from ouhub.cli import main
from ouhub.store import Store
from tests.support.fill import module, scan
from tests.support.github_server import GitHubServer
from tests.test_check import VECTORS

NOW = "2024-08-13T12:00:00+00:00"


def _reasons(modules: list[str]) -> dict[str, list[str]]:
    report = decide_verdicts(modules, "16.0", "17.0", VECTORS["data"]["work"], now=NOW)
    return {m.module: [r.text for r in m.steps[0].reasons if r.code == "work_in_progress"]
            for m in report.modules}


def test_the_reason_names_the_work_and_when_its_author_last_worked() -> None:
    found = _reasons(["project", "sale", "mrp", "note", "stock"])
    assert found["project"] == [
        "scripts in open pull request #5010 by @carol, updated 3 days ago; 1 more open: #5002"]
    assert found["mrp"] == [
        "scripts in open merge proposal lp:~bob/openupgrade-addons/7.0-mrp by @bob, updated "
        "590 days ago (stale: no activity of its author for over 120 days)"]
    assert found["note"] == ["scripts in open pull request #4914 by @erin, updated today"]
    assert found["sale"] == [] and found["stock"] == []  # ok needs no work; stock has none


def test_check_command_shows_the_reason(tmp_path: Path, monkeypatch) -> None:
    from tests.contributions.test_stage import TOKEN_ENV, fill
    from tests.support.config import write_config

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with GitHubServer() as gh:
        fill(gh)
        branch = "https://github.com/OCA/OpenUpgrade.git,branch={}"
        path = write_config(tmp_path, {"16.0": {"o": branch.format("16.0")},
                                       "17.0": {"o": branch.format("17.0")}},
                            contributions={"api": gh.api, "token_env": TOKEN_ENV})
        config = config_mod.load(path)
        with Store.open(config.store_path) as store:
            scan(store, "17.0", "16.0", [module("17.0", m, "todo") for m in ("project", "sale")])
        runner = CliRunner()
        assert runner.invoke(main, ["--config", str(path), "contributions", "sync"]).exit_code == 0
        result = runner.invoke(main, ["--config", str(path), "check", "--from", "16.0", "--to",
                                      "17.0", "--modules", "project,sale", "--json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    project = next(m for m in report["modules"] if m["module"] == "project")
    texts = [r["text"] for r in project["steps"][0]["reasons"]]
    assert any(t.startswith("scripts in open pull request #5010 by @carol, updated ")
               and t.endswith("; 1 more open: #5002") for t in texts), texts
    sale = next(m for m in report["modules"] if m["module"] == "sale")
    assert not any(r["code"] == "work_in_progress" for r in sale["steps"][0]["reasons"])
