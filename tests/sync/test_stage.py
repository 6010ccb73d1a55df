"""`ouhub sync` over several releases and branches at once: store, stage log, CLI, exit code."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from breezy.branch import Branch
from click.testing import CliRunner

from examples.demo.vcs import commit_files
from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.runner.upgrade import addons_dirs, command_values
from ouhub.store import Store
from ouhub.sync import gitmirror
from ouhub.sync.mirror import update_mirror
from ouhub.sync.stage import run_sync, sync_branch
from tests.support.config import write_config
from tests.support.gitrepos import commit, git_repo, sha_of


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tip(path: Path) -> str:
    return Branch.open(str(path)).last_revision().decode()


def build_project(bzr_branch, bzr_server, tmp_path):
    """6.1 and 7.0 in bzr (server, addons) over bzr://, 8.0 and 9.0 as two branches of one
    git repository."""
    sources = {}
    for release in ("6.1", "7.0"):
        for name in ("server", "addons"):
            path, _ = bzr_branch(f"{release}-{name}", [{f"{name}.py": release}, {"x": "1"}])
            sources[(release, name)] = path
    ou = tmp_path / "ou.git"
    git_repo(ou, {"8.0": [{"a.py": "1"}], "9.0": [{"a.py": "1"}, {"a.py": "2"}, {"b.py": "3"}]})
    config_path = write_config(tmp_path, {
        "6.1": {n: {"url": bzr_server.url_of(f"6.1-{n}")} for n in ("server", "addons")},
        "7.0": {n: {"url": bzr_server.url_of(f"7.0-{n}")} for n in ("server", "addons")},
        "8.0": {"openupgrade": {"url": f"{ou},branch=8.0"}},
        "9.0": {"openupgrade": {"url": f"{ou},branch=9.0"}},
    })
    return config_mod.load(config_path), sources, ou


def synced(config, result) -> str:
    """The commit (git) or revision (bzr) a branch's mirror holds."""
    branch = config.release(result.release).branch(result.branch)
    if result.vcs == "git":
        return sha_of(gitmirror.git_dir_for(config, branch.url), gitmirror.synced_ref(branch))
    return tip(config.mirror_path(branch))


@pytest.mark.slow
def test_sync_mirrors_every_release_then_reports_nothing_new(bzr_branch, bzr_server, tmp_path):
    config, sources, ou = build_project(bzr_branch, bzr_server, tmp_path)
    with Store.open(config.store_path) as store:
        first = run_sync(config, store, jobs=4, quiet=True)
        assert [(r.release, r.branch, r.ok, r.vcs) for r in first] == [
            ("6.1", "server", True, "bzr"), ("6.1", "addons", True, "bzr"),
            ("7.0", "server", True, "bzr"), ("7.0", "addons", True, "bzr"),
            ("8.0", "openupgrade", True, "git"), ("9.0", "openupgrade", True, "git"),
        ]
        assert [r.new_revisions for r in first] == [2, 2, 2, 2, 1, 3]
        for result in first:
            source = sources.get((result.release, result.branch))
            expected = tip(source) if source else sha_of(ou, f"refs/heads/{result.release}")
            assert synced(config, result) == expected == result.revid
            state = store.sync_state(result.release, result.branch)
            assert state.revid == result.revid and state.last_error is None
            assert state.vcs == result.vcs and state.mirror == result.path
            assert state.last_success == state.last_attempt
        # the two git releases share one repository, the bzr branches one shared repository
        repository = config.data_dir / "mirrors" / "git" / "local" / str(ou)[1:]
        assert first[4].path == first[5].path == str(repository)
        assert first[5].ref == "refs/ouhub/9.0/openupgrade" and first[5].revno == 3
        assert sorted(p.name for p in config.mirrors_dir.iterdir()) == \
            [".bzr", "6.1", "7.0", "git"]
        assert not (config.mirrors_dir / "7.0" / "server" / ".bzr" / "repository").exists()

        second = run_sync(config, store, jobs=4, quiet=True)
        assert [r.new_revisions for r in second] == [0] * 6

        commit_files(sources[("7.0", "addons")], {"new.py": "n"}, "one more")
        third = run_sync(config, store, releases=["7.0"], jobs=2, quiet=True)
        assert [(r.branch, r.new_revisions, r.revno) for r in third] == [
            ("server", 0, 2), ("addons", 1, 3)
        ]
        event = store.last_stage_events()["sync"]
        assert event.ok and event.summary == {"branches": 2, "failed": 0, "new_revisions": 1}


def test_one_failing_branch_is_stored_and_does_not_stop_the_others(
    bzr_branch, bzr_server, tmp_path
):
    good, _ = bzr_branch("good", [{"a.py": "1"}])
    moving, _ = bzr_branch("moving", [{"a.py": "1"}])
    config_path = write_config(tmp_path, {"7.0": {
        "server": {"url": bzr_server.url_of("good")},
        "addons": {"url": bzr_server.url_of("moving")},
        "web": {"url": f"bzr://127.0.0.1:{closed_port()}/web"},
    }})
    config = config_mod.load(config_path)
    with Store.open(config.store_path) as store:
        results = {r.branch: r for r in run_sync(config, store, jobs=3, quiet=True)}
        assert results["server"].ok and results["addons"].ok
        assert not results["web"].ok and "cannot reach 127.0.0.1" in results["web"].error
        web = store.sync_state("7.0", "web")
        assert web.revid is None and "cannot reach" in web.last_error and web.last_success is None
        assert not store.last_stage_events()["sync"].ok

        # The addons host dies: its error is stored, its last good head is kept.
        good_head = store.sync_state("7.0", "addons").revid
        config_path.write_text(config_path.read_text().replace(
            bzr_server.url_of("moving"), f"bzr://127.0.0.1:{closed_port()}/moving"))
        config = config_mod.load(config_path)
        results = {r.branch: r for r in run_sync(config, store, jobs=2, quiet=True)}
        assert results["server"].ok and not results["addons"].ok
        addons = store.sync_state("7.0", "addons")
        assert addons.revid == good_head and addons.last_error and addons.last_success
        assert addons.last_attempt >= addons.last_success
        assert tip(config.mirror_path(config.release("7.0").branch("addons"))) == good_head


def test_cli_sync_table_json_and_exit_code(bzr_branch, bzr_server, tmp_path):
    bzr_branch("server", [{"a.py": "1"}, {"b.py": "2"}, {"c.py": "3"}])
    config_path = write_config(tmp_path, {"7.0": {
        "server": {"url": bzr_server.url_of("server")},
        "addons": {"url": bzr_server.url_of("missing"), "fallback": [bzr_server.url_of("gone")]},
    }})
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config_path), "-q", "sync", "--release", "7.0"])
    assert result.exit_code == 1
    assert "server" in result.stdout and "3 (new mirror)" in result.stdout
    assert "7.0/addons: cannot mirror" in result.stderr and "not a branch" in result.stderr
    assert "hint: every URL failed, fallbacks included" in result.stderr

    config_path.write_text(config_path.read_text().replace(
        "[releases.\"7.0\".branches.addons]", "[releases.\"7.0\".branches.addons]\n"
        'vcs = "bzr"\n# addons moved to the server branch\n'
    ).replace(bzr_server.url_of("missing"), bzr_server.url_of("server")))
    result = runner.invoke(main, ["--config", str(config_path), "sync", "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    rows = {b["branch"]: b for b in data["branches"]}
    assert rows["server"]["new_revisions"] == 0 and rows["server"]["revno"] == 3
    assert rows["addons"]["created"] and rows["addons"]["served_url"] == bzr_server.url_of("server")

    status = json.loads(runner.invoke(main, ["--config", str(config_path), "status", "--json"]).stdout)
    assert status["stages"]["sync"]["ok"] is True


def test_cli_unknown_release_is_a_config_error(tmp_path):
    config_path = write_config(tmp_path, {"7.0": {"server": {"url": "/nowhere"}}})
    result = CliRunner().invoke(main, ["--config", str(config_path), "sync", "--release", "9.0"])
    assert result.exit_code == 2 and "unknown release '9.0'" in result.stderr


def test_a_mirror_locked_by_another_sync_is_reported_not_stored(bzr_branch, tmp_path):
    import fcntl
    import os

    src, _ = bzr_branch("server", [{"a.py": "1"}])
    config = config_mod.load(write_config(tmp_path, {"7.0": {"server": {"url": str(src)}}}))
    dest = config.mirror_path(config.release("7.0").branch("server"))
    dest.parent.mkdir(parents=True)
    fd = os.open(dest.parent / ".server.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with Store.open(config.store_path) as store:
            [result] = run_sync(config, store, quiet=True)
            assert not result.ok and result.locked and "another ouhub sync" in result.error
            assert "--wait" in result.hint
            assert store.sync_state("7.0", "server") is None  # the other sync records its own
    finally:
        os.close(fd)


def test_mirrors_of_the_previous_layout_are_adopted_and_said_once(bzr_branch, tmp_path):
    """A data dir of the previous layout: a breezy-made git mirror per release, a bzr branch
    with its own repository. The first sync adopts both (one line each), and fetches only
    what they lack."""
    ou = tmp_path / "ou.git"
    shas = git_repo(ou, {"8.0": [{"a.py": "1"}, {"a.py": "2"}, {"a.py": "3"}]})["8.0"]
    server, _ = bzr_branch("server", [{"s.py": "1"}])
    config_path = write_config(tmp_path, {
        "7.0": {"server": {"url": str(server)}},
        "8.0": {"openupgrade": {"url": f"{ou},branch=8.0"}},
    })
    config = config_mod.load(config_path)
    old_git = config.mirror_path(config.release("8.0").branch("openupgrade"))
    git_run = ["git", "clone", "--quiet", "--branch", "8.0", str(ou), str(old_git)]
    subprocess.run(git_run, check=True)
    subprocess.run(["git", "-C", str(old_git), "reset", "--quiet", "--hard", shas[0]], check=True)
    update_mirror([str(server)], config.mirror_path(config.release("7.0").branch("server")))

    result = CliRunner().invoke(main, ["--config", str(config_path), "-q", "sync", "-j", "1"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "previous layout" in line]
    assert notes == [
        f"7.0/server: the standalone mirror of the previous layout "
        f"{config.mirror_path(config.release('7.0').branch('server'))} was adopted into the "
        f"shared repository {config.mirrors_dir}",
        f"8.0/openupgrade: the mirror of the previous layout {old_git} was adopted into "
        f"{gitmirror.git_dir_for(config, str(ou))}",
    ]
    assert "8.0 " in result.stdout and not old_git.exists()
    with Store.open(config.store_path) as store:
        assert store.sync_state("8.0", "openupgrade").new_revisions == 2  # on top of the old one
    again = CliRunner().invoke(main, ["--config", str(config_path), "-q", "sync"])
    assert again.exit_code == 0 and "previous layout" not in again.stderr


def test_releases_the_runner_runs_get_a_checkout_at_the_synced_commit(tmp_path):
    ou = tmp_path / "ou.git"
    git_repo(ou, {"8.0": [{"openerp/addons/base/__openerp__.py": "{}"}],
                  "9.0": [{"openerp/addons/base/__openerp__.py": "{}"}]})
    config_path = write_config(tmp_path, {
        "8.0": {"openupgrade": {"url": f"{ou},branch=8.0"}},
        "9.0": {"openupgrade": {"url": f"{ou},branch=9.0"}},
    })
    config_path.write_text(config_path.read_text() + '[runner.commands]\n"9.0" = '
                           '"{mirror_openupgrade}/openerp-server -d {database}"\n')
    config = config_mod.load(config_path)
    with Store.open(config.store_path) as store:
        run_sync(config, store, quiet=True)
        checkout = config.mirror_path(config.release("9.0").branch("openupgrade"))
        assert (checkout / "openerp" / "addons" / "base" / "__openerp__.py").is_file()
        assert not config.mirror_path(config.release("8.0").branch("openupgrade")).exists()
        new = commit(ou, "9.0", {"openerp/addons/sale/__openerp__.py": "{}"})
        [result] = run_sync(config, store, releases=["9.0"], quiet=True)
        assert result.revid == new
        assert (checkout / "openerp" / "addons" / "sale" / "__openerp__.py").is_file()
    # what the runner gives the upgrade server: the worktree and its module folders
    values = command_values(config, "9.0", "db", tmp_path / "log", config.data_dir)
    assert values["mirror_openupgrade"] == str(checkout)
    assert addons_dirs(config, "9.0") == [checkout / "openerp" / "addons"]


def test_one_branch_of_either_kind_syncs_alone(bzr_branch, tmp_path):
    """What a worker does for a run: fetch just the branches of its release."""
    ou = tmp_path / "ou.git"
    shas = git_repo(ou, {"8.0": [{"a.py": "1"}, {"a.py": "2"}]})["8.0"]
    server, _ = bzr_branch("server", [{"s.py": "1"}])
    config = config_mod.load(write_config(tmp_path, {
        "7.0": {"server": {"url": str(server)}},
        "8.0": {"openupgrade": {"url": f"{ou},branch=8.0"}},
    }))
    git_result = sync_branch(config, config.release("8.0").branch("openupgrade"),
                             known_head=(shas[0], 1))
    assert git_result.ok and git_result.vcs == "git" and git_result.revid == shas[1]
    assert git_result.revno == 2 and git_result.new_revisions == 2  # counted on from the first
    bzr_result = sync_branch(config, config.release("7.0").branch("server"))
    assert bzr_result.ok and bzr_result.vcs == "bzr" and bzr_result.revno == 1
