"""Launchpad discovery and lp: resolution, through launchpadlib's real client and a loopback server."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.errors import SyncError
from ouhub.sync.launchpad import Discovery, discover, resolve_lp
from ouhub.sync.releases import merge_releases, render_releases
from tests.sync.conftest import OWNER
from tests.sync.launchpad_server import LaunchpadServer


def _discover(server: LaunchpadServer, cache: Path, *projects: str) -> Discovery:
    return discover(projects or ("openupgrade-server", "openupgrade-addons"),
                    server.service_root, cache)


# -- resolve_lp ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lp:openupgrade-server/7.0",
         [f"https://bazaar.launchpad.net/{OWNER}/openupgrade-server/7.0"]),
        ("lp:openupgrade-addons/6.1",
         [f"https://bazaar.launchpad.net/{OWNER}/openupgrade-addons/6.1"]),
        ("lp:~bob/openupgrade-server/fix-1234",
         ["https://bazaar.launchpad.net/~bob/openupgrade-server/fix-1234"]),
        # the development focus's bzr branch first, then the project's default git repository
        ("lp:openupgrade-server", [
            f"https://bazaar.launchpad.net/{OWNER}/openupgrade-server/7.0",
            f"https://git.launchpad.test/{OWNER}/openupgrade-server/+git/openupgrade-server",
        ]),
        (f"lp:{OWNER}/openupgrade-server/+git/openupgrade-server",
         [f"https://git.launchpad.test/{OWNER}/openupgrade-server/+git/openupgrade-server"]),
    ],
)
def test_resolve_lp_names_to_concrete_urls(
    lp_server: LaunchpadServer, lp_cache: Path, name: str, expected: list[str]
) -> None:
    urls = resolve_lp(name, service_root=lp_server.service_root, cache_dir=lp_cache)
    assert urls == expected
    # the client asked for the WADL and the root JSON like launchpadlib does against Launchpad
    accepts = [accept for path, accept in lp_server.requests if path == "/devel/"]
    assert "application/vnd.sun.wadl+xml" in accepts and "application/json" in accepts
    assert any(lp_cache.iterdir())  # the cache lives where we said


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("lp:no-such-project", "lp:no-such-project"),
        ("lp:openupgrade-server/9.0", "lp:openupgrade-server/9.0"),
        ("lp:openupgrade-server/5.0", "lp:openupgrade-server/5.0"),  # a series without branch
        ("lp:~nobody/openupgrade-server/gone", "lp:~nobody/openupgrade-server/gone"),  # 404
        ("lp:~nobody/openupgrade-server/+git/gone", "lp:~nobody/openupgrade-server/+git/gone"),
    ],
)
def test_unknown_lp_name_is_a_clear_sync_error(
    lp_server: LaunchpadServer, lp_cache: Path, name: str, missing: str
) -> None:
    with pytest.raises(SyncError) as caught:
        resolve_lp(name, service_root=lp_server.service_root, cache_dir=lp_cache)
    assert caught.value.message == f"{missing} does not exist on Launchpad (127.0.0.1:" \
        f"{lp_server.service_root.rsplit(':', 1)[1].rstrip('/')})"
    assert "ouhub discover" in caught.value.hint


def test_unreachable_service_root_names_the_host(tmp_path: Path) -> None:
    server = LaunchpadServer()
    server.start()
    root = server.service_root
    server.stop()  # nothing listens there any more
    with pytest.raises(SyncError) as caught:
        resolve_lp("lp:openupgrade-server/7.0", service_root=root, cache_dir=tmp_path / "c")
    assert "unreachable" in caught.value.message
    assert root.split("//")[1].rstrip("/") in caught.value.message
    assert "fallback" in caught.value.hint


def test_service_root_from_the_environment(
    lp_server: LaunchpadServer, lp_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUHUB_LP_SERVICE_ROOT", lp_server.service_root)
    assert resolve_lp("lp:openupgrade-addons/7.0", cache_dir=lp_cache) == [
        f"https://bazaar.launchpad.net/{OWNER}/openupgrade-addons/7.0"
    ]


# -- discover -----------------------------------------------------------------------------------


def test_discover_lists_series_branches_and_git(lp_server: LaunchpadServer, lp_cache: Path) -> None:
    found = _discover(lp_server, lp_cache)
    server, addons = found.projects
    assert server.project == "openupgrade-server" and server.development_focus == "7.0"
    assert [s.name for s in server.series] == ["5.0", "6.1", "7.0", "trunk"]
    by_name = {s.name: s for s in server.series}
    assert by_name["7.0"].development_focus and not by_name["6.1"].development_focus
    assert by_name["5.0"].branch is None and not by_name["5.0"].active
    branch = by_name["6.1"].branch
    assert branch is not None
    assert branch.identity == "lp:openupgrade-server/6.1"
    assert branch.url == f"https://bazaar.launchpad.net/{OWNER}/openupgrade-server/6.1"
    assert branch.last_scanned_id == "server-6.1-tip"
    assert branch.lifecycle_status == "Mature"
    assert by_name["7.0"].branch.identity == "lp:openupgrade-server"  # the focus's identity
    # other active branches: not a series branch, and not abandoned
    assert [b.unique_name for b in server.other_branches] == ["~bob/openupgrade-server/fix-1234"]
    assert [r.identity for r in server.git_repositories] == ["lp:openupgrade-server"]
    assert server.git_repositories[0].project_default
    assert [s.name for s in addons.series] == ["6.1", "7.0"]
    assert addons.git_repositories == ()


def test_discover_unknown_project(lp_server: LaunchpadServer, lp_cache: Path) -> None:
    with pytest.raises(SyncError, match="has no project 'openupgrade-nope'"):
        _discover(lp_server, lp_cache, "openupgrade-nope")


def test_rendered_toml_is_a_valid_config(lp_server: LaunchpadServer, lp_cache: Path) -> None:
    text = render_releases(_discover(lp_server, lp_cache))
    cfg = config_mod.from_dict(tomllib.loads(text))
    assert list(cfg.releases) == ["6.1", "7.0"]
    assert cfg.release("7.0").previous == "6.1" and cfg.release("6.1").previous is None
    server = cfg.release("7.0").branch("server")
    # the stable series name, not lp:openupgrade-server which moves with the focus
    assert server.url == "lp:openupgrade-server/7.0" and server.vcs == "bzr"
    assert cfg.release("6.1").branch("addons").url == "lp:openupgrade-addons/6.1"
    assert "trunk" in text and "not a release name" in text  # said, not silently dropped
    assert "lp:~bob/openupgrade-server/fix-1234" in text
    assert "+git/openupgrade-server" in text


USER_CONFIG = """\
# my OpenUpgrade deployment
data_dir = "state"   # keep it on the big disk

[releases."7.0"]
previous = "6.1"

[releases."7.0".branches.server]
url = "lp:openupgrade-server/7.0"
upstream = "lp:openobject-server/7.0"  # follow OpenERP

[releases."6.1".branches.server]
url = "https://bazaar.launchpad.net/~openupgrade-committers/openupgrade-server/6.1"

[site]
title = "Our upgrades"
"""


def test_merge_keeps_user_keys_and_comments(lp_server: LaunchpadServer, lp_cache: Path) -> None:
    merged, added = merge_releases(USER_CONFIG, _discover(lp_server, lp_cache))
    assert sorted(added) == ["6.1/addons", "7.0/addons"]
    for line in USER_CONFIG.splitlines():
        assert line in merged  # every original line survives, comments included
    cfg = config_mod.from_dict(tomllib.loads(merged))
    assert cfg.release("7.0").branch("server").upstream == "lp:openobject-server/7.0"
    assert cfg.release("7.0").branch("addons").url == "lp:openupgrade-addons/7.0"
    assert cfg.site.title == "Our upgrades"


def test_merge_refuses_a_branch_with_other_url(lp_server: LaunchpadServer, lp_cache: Path) -> None:
    text = USER_CONFIG.replace('url = "lp:openupgrade-server/7.0"', 'url = "bzr://elsewhere/7.0"')
    with pytest.raises(SyncError) as caught:
        merge_releases(text, _discover(lp_server, lp_cache))
    assert 'releases."7.0".branches.server' in caught.value.message
    assert "bzr://elsewhere/7.0" in caught.value.message
    assert "nothing was written" in caught.value.hint


# -- the command --------------------------------------------------------------------------------


def _cli(config: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_discover_command_prints_toml_and_json(lp_server: LaunchpadServer, tmp_path: Path) -> None:
    config = tmp_path / "ouhub.toml"
    config.write_text('data_dir = "data"\n')
    root = lp_server.service_root
    result = _cli(config, "discover", "--project", "openupgrade-server", "--service-root", root)
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.stdout)["releases"]["7.0"]["branches"]["server"]["url"] == \
        "lp:openupgrade-server/7.0"
    assert config.read_text() == 'data_dir = "data"\n'  # printing never writes
    assert (tmp_path / "data" / "launchpadlib").is_dir()  # cache under the data dir
    result = _cli(config, "discover", "--project", "openupgrade-server", "--service-root", root,
                  "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["projects"][0]["series"][2]["branch"]["last_scanned_id"] == "server-7.0-tip"


def test_discover_write_merges_then_refuses(lp_server: LaunchpadServer, tmp_path: Path) -> None:
    config = tmp_path / "ouhub.toml"
    config.write_text(USER_CONFIG)
    args = ("discover", "--project", "openupgrade-server", "--project", "openupgrade-addons",
            "--service-root", lp_server.service_root, "--write")
    result = _cli(config, *args)
    assert result.exit_code == 0, result.output
    assert "6.1/addons" in result.stderr
    written = config.read_text()
    assert "# keep it on the big disk" in written
    assert config_mod.load(config).release("6.1").branch("addons").url == "lp:openupgrade-addons/6.1"
    again = _cli(config, *args)  # idempotent
    assert again.exit_code == 0 and config.read_text() == written
    config.write_text(USER_CONFIG.replace("lp:openupgrade-server/7.0", "bzr://elsewhere/7.0"))
    before = config.read_text()
    refused = _cli(config, *args)
    assert refused.exit_code == 1
    assert "cannot merge" in refused.stderr and "bzr://elsewhere/7.0" in refused.stderr
    assert config.read_text() == before


def test_sync_of_an_unknown_lp_name_fails_clearly(
    lp_server: LaunchpadServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror stage resolves lp: names through resolve_lp: a 404 is a clear failure."""
    from ouhub.sync.mirror import update_mirror

    monkeypatch.setenv("OUHUB_LP_SERVICE_ROOT", lp_server.service_root)
    with pytest.raises(SyncError) as caught:
        update_mirror(["lp:~nobody/openupgrade-server/gone"], tmp_path / "mirror")
    assert "lp:~nobody/openupgrade-server/gone does not exist on Launchpad" in caught.value.message
    assert not (tmp_path / "mirror").exists()
