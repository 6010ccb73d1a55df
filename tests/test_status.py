"""`ouhub status` shows each stage's last event the same whoever ran the stage: its own
command, or `ouhub nightly` (each stage's entry point records its own event)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from breezy.controldir import ControlDir
from click.testing import CliRunner

from examples.demo.vcs import commit_files, make_branch
from ouhub.cli import main
from tests.support.config import write_config


def manifest(name: str, version: str) -> str:
    return repr({"name": name, "version": version, "depends": [] if name == "base" else ["base"]})


def project(root: Path) -> Path:
    """6.1 -> 7.0 in bzr; 7.0 has a script for sale, and an upstream one revision ahead."""
    tree_61 = {f"addons/{m}/__openerp__.py": manifest(m, "1.0") for m in ("base", "sale", "stock")}
    make_branch(root / "branches" / "6.1", [tree_61])
    upstream = root / "branches" / "upstream-7.0"
    make_branch(upstream, [{f"addons/{m}/__openerp__.py": manifest(m, "1.1")
                            for m in ("base", "sale", "stock")}])
    openupgrade = root / "branches" / "7.0"
    ControlDir.open(str(upstream)).sprout(str(openupgrade))
    commit_files(openupgrade, {
        "addons/sale/migrations/7.0.1.1/post-migration.py": "def migrate(cr, v):\n    pass\n"
    }, "sale: migration")
    commit_files(upstream, {"addons/stock/stock.py": "fixed = True\n"}, "[FIX] stock")
    return write_config(root, {
        "6.1": {"server": {"url": str(root / "branches" / "6.1"), "vcs": "bzr"}},
        "7.0": {"server": {"url": str(openupgrade), "vcs": "bzr", "upstream": str(upstream)}},
    }, site={"output": "site"})


def stage_events(config: Path) -> dict[str, Any]:
    """`ouhub status --json`'s stages, without their times."""
    result = CliRunner().invoke(main, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    return {name: {k: v for k, v in event.items() if not k.endswith("_at")}
            for name, event in json.loads(result.stdout)["stages"].items() if event}


def test_status_shows_the_same_whether_a_command_or_the_nightly_ran_the_stage(tmp_path):
    config = project(tmp_path)
    cli = CliRunner()
    for command in (["sync"], ["upstream"], ["coverage", "scan"], ["samples", "import"],
                    ["site", "build"]):
        result = cli.invoke(main, ["--config", str(config), *command])
        assert result.exit_code == 0, (command, result.output)
    by_commands = stage_events(config)
    assert set(by_commands) == {"sync", "upstream", "coverage", "samples", "site"}
    assert by_commands["upstream"] == {
        "ok": True, "summary": {"branches": 1, "failed": 0, "unmerged": 1},
        "summary_line": "branches=1, failed=0, unmerged=1"}
    assert by_commands["coverage"]["summary"] == {
        "releases": 2, "cached": 0, "failed": 0, "warnings": 0}

    shutil.rmtree(tmp_path / "data")
    shutil.rmtree(tmp_path / "site")
    result = cli.invoke(main, ["--config", str(config), "nightly"])
    assert result.exit_code == 0, result.output
    by_nightly = stage_events(config)
    assert set(by_nightly) == set(by_commands) | {"runner", "nightly"}
    for stage, event in by_commands.items():
        assert by_nightly[stage] == event, stage
    assert by_nightly["runner"]["summary"] == {"runs": 0, "passed": 0, "failed": 0}


def test_a_stage_that_cannot_run_is_shown_failed_with_its_reason(tmp_path):
    config = write_config(tmp_path, {"7.0": {"server": str(tmp_path / "nowhere")}})
    result = CliRunner().invoke(main, ["--config", str(config), "coverage", "scan", "--path",
                                       str(tmp_path / "missing"), "--release", "7.0"])
    assert result.exit_code == 1 and "no such directory" in result.stderr
    event = stage_events(config)["coverage"]
    assert event["ok"] is False
    assert event["summary"] == {"message": f"{tmp_path / 'missing'}: no such directory"}
