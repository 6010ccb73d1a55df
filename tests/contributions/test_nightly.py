"""`ouhub nightly` runs the contributions stage after sync and upstream, when configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.nightly import run_nightly
from ouhub.store import Store
from tests.contributions.test_stage import TOKEN_ENV, fill
from tests.support.config import make_config
from tests.support.github_server import GitHubServer


def test_nightly_runs_the_stage_after_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with GitHubServer() as gh:
        fill(gh)
        config: config_mod.Config = make_config(
            tmp_path, {"16.0": {"openupgrade": str(tmp_path / "no-branch-16")},
                       "17.0": {"openupgrade": str(tmp_path / "no-branch-17")}},
            contributions={"api": gh.api, "token_env": TOKEN_ENV},
            site={"output": str(tmp_path / "site")})
        with Store.open(config.store_path) as store:
            report = run_nightly(config, store)
            names = [s.stage for s in report.stages]
            assert names.index("contributions") == names.index("upstream") + 1
            assert names.index("contributions") > names.index("sync")
            stage = next(s for s in report.stages if s.stage == "contributions")
            assert stage.status == "ok" and stage.detail.startswith("5 pull requests")
            assert store.last_stage_events()["contributions"].ok
            # `ouhub nightly --help` names every stage the nightly ran
            told = CliRunner().invoke(main, ["nightly", "--help"]).output.lower()
            for name in names:
                assert {"runner": "run"}.get(name, name) in told, name
