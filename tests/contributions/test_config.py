"""The [contributions] table of the config."""

from __future__ import annotations

import pytest

from ouhub import config as config_mod
from ouhub.errors import ConfigError

RELEASES = {"releases": {"17.0": {"branches": {"openupgrade": {
    "url": "https://github.com/OCA/OpenUpgrade.git,branch=17.0"}}}}}


def _config(table: dict | None) -> config_mod.Config:
    data = dict(RELEASES)
    if table is not None:
        data["contributions"] = table
    return config_mod.from_dict(data)


def test_absent_table_means_the_stage_is_not_configured() -> None:
    assert _config(None).contributions is None


def test_defaults_are_openupgrade_on_github() -> None:
    settings = _config({}).contributions
    assert settings == config_mod.ContributionsSettings()
    assert (settings.github, settings.api, settings.stale_days) == (
        "OCA/OpenUpgrade", "https://api.github.com", 120)


def test_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _config({
        "github": "acme/OpenUpgrade", "api": "http://127.0.0.1:8080/", "token_env": "OU_TOKEN",
        "tracking_title": "Migrate to {release}", "stale_days": 30,
        "launchpad": ["openupgrade-server", "openupgrade-addons"],
    }).contributions
    assert settings.api == "http://127.0.0.1:8080"
    assert settings.launchpad == ("openupgrade-server", "openupgrade-addons")
    monkeypatch.delenv("OU_TOKEN", raising=False)
    assert settings.token() is None
    monkeypatch.setenv("OU_TOKEN", "ghp_abcdef")
    assert settings.token() == "ghp_abcdef"


def test_redacted_config_names_the_variable_not_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_s3cr3t")
    shown = str(_config({}).redacted())
    assert "GITHUB_TOKEN" in shown and "ghp_s3cr3t" not in shown


def test_mistakes_are_listed_together() -> None:
    with pytest.raises(ConfigError) as caught:
        _config({"github": "OpenUpgrade", "api": "api.github.com", "token_env": "my token",
                 "tracking_title": "Migration", "stale_days": 0, "launchpd": []})
    message = caught.value.message
    assert "6 mistakes" in message
    assert "contributions.github: expected owner/repo such as OCA/OpenUpgrade" in message
    assert "contributions.api: expected an http(s) URL" in message
    assert "contributions.token_env: expected the NAME of an environment variable" in message
    assert "contributions.tracking_title: must contain {release}" in message
    assert "contributions.stale_days: expected at least 1 day" in message
    assert "contributions.launchpd: unknown key; did you mean 'launchpad'?" in message


def test_a_token_pasted_into_token_env_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as caught:
        _config({"token_env": "ghp_R3alT0kenDoNotShow"})
    assert "looks like a token itself" in caught.value.message
    assert "R3alT0ken" not in caught.value.message + (caught.value.hint or "")
