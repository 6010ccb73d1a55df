"""Upstream lag and assisted merge on real bzr branches (the upstream served over bzr://)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from breezy.branch import Branch as VcsBranch
from breezy.controldir import ControlDir
from breezy.workingtree import WorkingTree
from click.testing import CliRunner

from examples.demo.vcs import BzrServer, commit_files
from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.store import Store
from ouhub.sync.mirror import update_mirror
from ouhub.sync.upstream import merge_upstream, run_upstream
from tests.support.config import make_config

BASE = {
    "openerp/addons/base/__openerp__.py": "{'name': 'Base'}\n",
    "openerp/addons/base/res_partner.py": "partner = 1\n",
    "addons/sale/__openerp__.py": "{'name': 'Sales'}\n",
    "addons/sale/sale.py": "line one\nline two\n",
    "addons/stock/__terp__.py": "{'name': 'Stock'}\n",
    "addons/stock/stock.py": "stock = 1\n",
    "README": "OpenERP\n",
}
T0 = 1356998400.0  # 2013-01-01


@dataclass
class Project:
    config: Config
    upstream: WorkingTree
    openupgrade: WorkingTree
    published: Path  # where the maintainers publish the OpenUpgrade branch
    upstream_revids: list[bytes]


Config = config_mod.Config


def _write_config(tmp_path: Path, branches: dict[str, tuple[str, str | None]]) -> Config:
    """7.0 with these branches: {name: (url, upstream or None)}."""
    return make_config(tmp_path, {"7.0": {
        name: {"url": url, "upstream": upstream} for name, (url, upstream) in branches.items()}})


@pytest.fixture
def project(
    tmp_path: Path, bzr_branch: Callable, bzr_server: BzrServer
) -> Project:
    """An upstream 7.0 branch served over bzr://, an OpenUpgrade branch from its first
    revision with a migration script, both mirrored; upstream then gets 3 new revisions."""
    up_path, up_revids = bzr_branch("openobject-server-7.0", [BASE])
    ou_path = tmp_path / "openupgrade-server-7.0"
    ControlDir.open(str(up_path)).sprout(str(ou_path))
    openupgrade = WorkingTree.open(str(ou_path))
    commit_files(openupgrade, {
        "addons/sale/migrations/7.0.1.0/pre-migration.py": "def migrate(cr, v): pass\n",
    }, "sale: migration", author="Ou Maintainer <ou@example.org>", timestamp=T0 + 60)
    upstream = WorkingTree.open(str(up_path))
    up_revids += [
        commit_files(upstream, {"addons/sale/sale.py": "line one\nline 2 fixed\n"},
                     "[FIX] sale: line two", author="Alice <alice@openerp.com>",
                     timestamp=T0 + 86400 * 10),
        commit_files(upstream, {"openerp/addons/base/res_partner.py": "partner = 2\n",
                                "addons/stock/stock.py": "stock = 2\n"},
                     "[IMP] base, stock", author="Bob <bob@openerp.com>",
                     timestamp=T0 + 86400 * 20),
        commit_files(upstream, {"README": "OpenERP 7\n"}, "[DOC] readme",
                     author="Alice <alice@openerp.com>", timestamp=T0 + 86400 * 30),
    ]
    published = tmp_path / "published"
    ControlDir.open(str(ou_path)).sprout(str(published))
    config = _write_config(tmp_path, {
        "server": (str(ou_path), bzr_server.url_of("openobject-server-7.0")),
        "web": (str(ou_path), None),  # no upstream: not checked
    })
    update_mirror([str(ou_path)], config.mirror_path(config.release("7.0").branch("server")))
    return Project(config, upstream, openupgrade, published, up_revids)


def test_lag_is_counted_with_modules_and_stored(project: Project) -> None:
    with Store.open(project.config.store_path) as store:
        lags = run_upstream(project.config, store, quiet=True)
        assert [(lag.release, lag.branch) for lag in lags] == [("7.0", "server")]
        lag = lags[0]
        assert lag.error is None
        assert lag.count == 3
        assert [r.revid for r in lag.unmerged] == [r.decode() for r in project.upstream_revids[1:]]
        assert lag.oldest == "2013-01-11T00:00:00+00:00"
        assert lag.authors == ("Alice <alice@openerp.com>", "Bob <bob@openerp.com>")
        assert [r.modules for r in lag.unmerged] == [("sale",), ("base", "stock"), ()]
        assert [r.revno for r in lag.unmerged] == ["2", "3", "4"]
        # the upstream was mirrored where the config says
        upstream_mirror = project.config.upstream_mirror_path(project.config.release("7.0")
                                                              .branch("server"))
        assert VcsBranch.open(str(upstream_mirror)).last_revision() == project.upstream_revids[-1]
        stored = store.upstream_lags("7.0")
        assert stored == [lag]  # the summary and every unmerged revision round-trip
        assert store.last_stage_events()["upstream"].summary == {
            "branches": 1, "failed": 0, "unmerged": 3,
        }


def test_lag_shrinks_when_openupgrade_merges(project: Project) -> None:
    # OpenUpgrade merges upstream up to its second new revision, then syncs
    tree = project.openupgrade
    tree.merge_from_branch(project.upstream.branch, to_revision=project.upstream_revids[2])
    tree.commit("merge upstream", committer="Ou <ou@example.org>")
    cfg = project.config
    server = cfg.release("7.0").branch("server")
    update_mirror([server.url], cfg.mirror_path(server))
    with Store.open(cfg.store_path) as store:
        (lag,) = run_upstream(cfg, store, ["7.0"], quiet=True)
    assert [r.revid for r in lag.unmerged] == [project.upstream_revids[3].decode()]
    assert lag.modules == ()


def test_revisions_merged_upstream_count_too(project: Project, tmp_path: Path) -> None:
    """A feature branch merged upstream: its revision is unmerged here as well, with its author."""
    feature = tmp_path / "feature"
    ControlDir.open(project.upstream.basedir).sprout(str(feature))
    carol = commit_files(feature, {"addons/stock/stock.py": "stock = 3\n"}, "[IMP] stock: carol",
                         author="Carol <carol@openerp.com>", timestamp=T0 + 86400 * 40)
    project.upstream.merge_from_branch(WorkingTree.open(str(feature)).branch)
    merge = project.upstream.commit("[MRG] carol's branch", committer="Dan <dan@openerp.com>",
                                    timestamp=T0 + 86400 * 41, timezone=0)
    with Store.open(project.config.store_path) as store:
        (lag,) = run_upstream(project.config, store, quiet=True)
    by_revid = {r.revid: r for r in lag.unmerged}
    assert lag.count == 5
    assert by_revid[carol.decode()].revno == "4.1.1"
    assert by_revid[carol.decode()].modules == ("stock",)
    assert by_revid[merge.decode()].revno == "5"
    assert "Carol <carol@openerp.com>" in lag.authors
    revids = [r.revid for r in lag.unmerged]
    assert revids[:3] == [r.decode() for r in project.upstream_revids[1:]]  # oldest first
    assert revids[3:] == [merge.decode(), carol.decode()]  # a merge, then what it merged


def test_one_failing_upstream_is_stored_and_others_continue(
    project: Project, tmp_path: Path
) -> None:
    cfg = project.config
    server = cfg.release("7.0").branch("server")
    with Store.open(cfg.store_path) as store:
        run_upstream(cfg, store, quiet=True)  # a good lag first
        broken = _write_config(tmp_path, {
            "server": (server.url, server.upstream),
            "addons": (server.url, str(tmp_path / "no-such-upstream")),
        })
        lags = {lag.branch: lag for lag in run_upstream(broken, store, quiet=True)}
        assert lags["addons"].error and "no-such-upstream" in lags["addons"].error
        assert lags["server"].error is None and lags["server"].count == 3
        stored = {lag.branch: lag for lag in store.upstream_lags()}
        assert stored["addons"].error == lags["addons"].error
        assert stored["server"].count == 3
        assert not store.last_stage_events()["upstream"].ok


def _cli(config: Config, *args: str) -> object:
    return CliRunner().invoke(main, ["--config", str(config.path), *args])


def test_upstream_command_table_and_json(project: Project) -> None:
    result = _cli(project.config, "upstream", "--release", "7.0")
    assert result.exit_code == 0, result.output
    assert "server" in result.stdout and "2013-01-11" in result.stdout
    assert "sale" in result.stdout
    result = _cli(project.config, "upstream", "--json")
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert data["unmerged_count"] == 3 and data["modules"] == ["base", "sale", "stock"]
    assert data["unmerged"][0]["message"] == "[FIX] sale: line two"


def test_clean_merge_is_committed_and_not_pushed(project: Project, tmp_path: Path) -> None:
    cfg = project.config
    with Store.open(cfg.store_path) as store:
        run_upstream(cfg, store, quiet=True)
    published_tip = VcsBranch.open(str(project.published)).last_revision()
    workdir = tmp_path / "work"
    result = _cli(cfg, "upstream", "merge", "--release", "7.0", "--branch", "server",
                  "--workdir", str(workdir))
    assert result.exit_code == 0, result.output
    tree = WorkingTree.open(str(workdir))
    tip = tree.branch.repository.get_revision(tree.last_revision())
    assert tip.parent_ids[1] == project.upstream_revids[-1]  # upstream merged
    assert tip.message.splitlines()[0].startswith("Merge upstream bzr://")
    assert "[FIX] sale: line two [sale]" in tip.message and "[DOC] readme" in tip.message
    assert (workdir / "addons/sale/migrations/7.0.1.0/pre-migration.py").exists()
    assert (workdir / "README").read_text() == "OpenERP 7\n"
    assert VcsBranch.open(str(project.published)).last_revision() == published_tip
    assert "not pushed" in result.stderr
    # again: nothing new, and the earlier merge still waits to be pushed
    again = _cli(cfg, "upstream", "merge", "--release", "7.0", "--branch", "server",
                 "--workdir", str(workdir))
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("nothing new to merge: the merge committed earlier (")
    assert "not pushed (use --push URL" in again.stderr
    # with --push, the published branch gets the merge
    outcome = merge_upstream(cfg, "7.0", "server", workdir=workdir, push=str(project.published))
    assert outcome.merged == ()  # nothing new to merge; the earlier commit is pushed
    result = _cli(cfg, "upstream", "merge", "--release", "7.0", "--branch", "server",
                  "--workdir", str(workdir), "--push", str(project.published))
    assert result.exit_code == 0, result.output
    assert VcsBranch.open(str(project.published)).last_revision() == tree.branch.last_revision()


def test_nothing_to_merge_is_nothing_to_push(project: Project, tmp_path: Path) -> None:
    """OpenUpgrade merged every upstream revision itself: nothing to merge, nothing to push
    (even with --push), and --json says so."""
    project.openupgrade.merge_from_branch(project.upstream.branch)
    project.openupgrade.commit("merge upstream", committer="Ou <ou@example.org>")
    cfg = project.config
    server = cfg.release("7.0").branch("server")
    update_mirror([server.url], cfg.mirror_path(server))
    with Store.open(cfg.store_path) as store:
        run_upstream(cfg, store, ["7.0"], quiet=True)
    published_tip = VcsBranch.open(str(project.published)).last_revision()
    args = ("upstream", "merge", "--release", "7.0", "--branch", "server",
            "--workdir", str(tmp_path / "work"))
    result = _cli(cfg, *args, "--push", str(project.published))
    assert result.exit_code == 0, result.output
    assert result.stdout == ("nothing to merge and nothing to push: 7.0/server has every "
                             "upstream revision\n")
    assert "pushed" not in result.stderr
    assert VcsBranch.open(str(project.published)).last_revision() == published_tip
    for json_args in ((*args, "--json"), ("upstream", "--json", *args[1:])):
        shown = _cli(cfg, *json_args)
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.stdout)
        assert data["nothing_to_merge"] and data["nothing_to_push"]
        assert data["merged"] == [] and data["pushed_to"] is None and data["earlier"] is None


def test_conflicting_merge_reported_by_module_and_tree_left(
    project: Project, tmp_path: Path
) -> None:
    commit_files(project.openupgrade, {"addons/sale/sale.py": "line one\nline two (ou)\n"},
                 "sale: our fix", timestamp=T0 + 3600)
    cfg = project.config
    server = cfg.release("7.0").branch("server")
    update_mirror([server.url], cfg.mirror_path(server))
    with Store.open(cfg.store_path) as store:
        run_upstream(cfg, store, quiet=True)
    workdir = tmp_path / "work"
    result = _cli(cfg, "upstream", "merge", "--release", "7.0", "--branch", "server",
                  "--workdir", str(workdir))
    assert result.exit_code == 1, result.output
    assert "sale" in result.stdout and "addons/sale/sale.py" in result.stdout
    assert str(workdir) in result.stderr
    tree = WorkingTree.open(str(workdir))
    assert [c.path for c in tree.conflicts()] == ["addons/sale/sale.py"]
    assert "<<<<<<<" in (workdir / "addons/sale/sale.py").read_text()
    assert tree.get_parent_ids()[1] == project.upstream_revids[-1]  # merge pending, uncommitted
    # running again refuses to touch the maintainer's unfinished merge
    again = _cli(cfg, "upstream", "merge", "--release", "7.0", "--branch", "server",
                 "--workdir", str(workdir))
    assert again.exit_code == 1 and "unfinished merge" in again.stderr
    assert "<<<<<<<" in (workdir / "addons/sale/sale.py").read_text()


def test_unknown_release_is_a_usage_error(project: Project) -> None:
    result = _cli(project.config, "upstream", "--release", "9.0")
    assert result.exit_code == 2 and "unknown release '9.0'" in result.stderr
    with Store.open(project.config.store_path) as store:
        assert store.upstream_lags() == []


def test_merge_needs_an_upstream_mirror(project: Project) -> None:
    result = _cli(project.config, "upstream", "merge", "--release", "7.0", "--branch", "server")
    assert result.exit_code == 1
    assert "upstream mirror of 7.0/server is missing" in result.stderr
    assert "ouhub upstream --release 7.0" in result.stderr
    result = _cli(project.config, "upstream", "merge", "--release", "7.0", "--branch", "web")
    assert result.exit_code == 1 and "7.0/web has no upstream" in result.stderr


def test_lp_upstream_resolves_through_the_data_dirs_cache(
    project: Project, lp_server, bzr_server: BzrServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """upstream = "lp:openobject-server/7.0": resolved by launchpadlib, cached under data_dir."""
    from ouhub.sync import launchpad

    served = bzr_server.directory / "~openerp" / "openobject-server" / "7.0"
    served.parent.mkdir(parents=True)
    ControlDir.open(project.upstream.basedir).sprout(str(served))
    monkeypatch.setenv(launchpad.ENV_SERVICE_ROOT, lp_server.service_root)
    monkeypatch.setattr(launchpad, "BAZAAR_ROOT", bzr_server.url + "/")
    server = project.config.release("7.0").branch("server")
    config = _write_config(tmp_path, {"server": (server.url, "lp:openobject-server/7.0")})
    with Store.open(config.store_path) as store:
        (lag,) = run_upstream(config, store, quiet=True)
    assert lag.error is None and lag.count == 3
    assert lag.served_url == bzr_server.url_of("~openerp/openobject-server/7.0")
    assert any(launchpad.cache_dir_for(config).iterdir())
