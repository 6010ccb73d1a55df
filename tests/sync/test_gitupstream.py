"""Upstream lag and assisted merge of git branches, on an OpenUpgrade-shaped pair of
repositories (each release merged its upstream up to `lag` commits before the tip)."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from examples.demo.gitrepo import Shape, openupgrade_pair
from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.store import Store
from ouhub.sync import git, gitmirror
from ouhub.sync.stage import run_sync
from ouhub.sync.upstream import merge_upstream, run_upstream
from tests.support.gitrepos import commit, sha_of
from tests.support.imports import probe

RELEASES = ("17.0", "18.0", "19.0")


@pytest.fixture
def project(tmp_path, pair):
    lines = ['data_dir = "data"']
    for r in RELEASES:
        lines += [f'[releases."{r}"]', f'[releases."{r}".branches.openupgrade]',
                  f'url = "{pair.openupgrade},branch={r}"',
                  f'upstream = "{pair.upstream},branch={r}"']
    path = tmp_path / "ouhub.toml"
    path.write_text("\n".join(lines) + "\n")
    config = config_mod.load(path)
    with Store.open(config.store_path) as store:
        assert all(r.ok for r in run_sync(config, store, quiet=True))
    return config, pair


def test_git_branches_sync_upstream_and_scan_without_breezy(project):
    """breezy (~0.2 s to import) is for bzr branches: git ones never load it."""
    config, _pair = project
    for args in (["sync", "--json"], ["upstream", "--json"], ["coverage", "scan", "--json"],
                 ["coverage", "scan", "--json"]):  # the second scan is the cached one
        found = probe(["--config", str(config.path), *args])
        assert found["code"] in (0, 1), (args, found)
        assert not [m for m in found["heavy"] if m in ("breezy", "dulwich", "docutils")], (
            args, found["heavy"])


def test_lag_is_read_with_git_one_fetch_per_upstream_remote(project, caplog):
    config, pair = project
    caplog.set_level(logging.DEBUG, logger="ouhub.sync.git")
    with Store.open(config.store_path) as store:
        lags = run_upstream(config, store, quiet=True)
    fetches = [r for r in caplog.records if r.levelno == logging.DEBUG and "'fetch'" in r.msg % r.args]
    assert len(fetches) == 1
    for lag, release in zip(lags, RELEASES, strict=True):
        assert lag.error is None and lag.count == pair.shape.lag
        assert lag.upstream_revid == sha_of(pair.upstream, f"refs/heads/{release}")
        assert lag.mirror_revid == sha_of(pair.openupgrade, f"refs/heads/{release}")
        dates = [r.date for r in lag.unmerged]
        assert dates == sorted(dates)  # oldest first
        assert lag.unmerged[-1].revid == lag.upstream_revid
        assert all(r.modules and r.modules[0].startswith("mod_") for r in lag.unmerged)
        assert all(r.message.startswith("[FIX] ") for r in lag.unmerged)
    upstream_repo = gitmirror.git_dir_for(config, f"{pair.upstream},branch=17.0")
    assert git.refs(upstream_repo, "refs/ouhub-upstream/") == {
        f"refs/ouhub-upstream/{r}/openupgrade": sha_of(pair.upstream, f"refs/heads/{r}")
        for r in RELEASES}
    # the release's repository got none of the upstream's objects: they were only read
    ou_repo = gitmirror.git_dir_for(config, f"{pair.openupgrade},branch=17.0")
    assert git.resolve(ou_repo, lags[0].upstream_revid) is None

    result = CliRunner().invoke(main, ["--config", str(config.path), "upstream", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["unmerged_count"] for d in data] == [pair.shape.lag] * 3


def test_a_clean_merge_is_committed_in_a_temporary_worktree_and_pushed(project, tmp_path):
    config, pair = project
    with Store.open(config.store_path) as store:
        run_upstream(config, store, quiet=True)
    published = tmp_path / "published.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(pair.openupgrade), str(published)],
                   check=True)
    outcome = merge_upstream(config, "17.0", "openupgrade",
                             push=f"{published},branch=17.0")
    assert outcome.ok and len(outcome.merged) == pair.shape.lag and outcome.committed
    assert outcome.message.startswith(f"Merge upstream {pair.upstream},branch=17.0 (5 revisions)")
    short = outcome.merged[0].revid[:12]
    assert f"- {short} " in outcome.message
    assert not outcome.workdir.exists()  # the worktree was temporary
    ou_repo = gitmirror.git_dir_for(config, f"{pair.openupgrade},branch=17.0")
    parents = git.output(["rev-list", "--parents", "-n", "1", outcome.committed], ou_repo).split()
    assert parents[1:] == [sha_of(pair.openupgrade, "refs/heads/17.0"), outcome.merged[-1].revid]
    assert sha_of(published, "refs/heads/17.0") == outcome.committed
    assert "ouhub-merge/17.0/openupgrade" in outcome.kept_in

    # nothing left to merge
    again = merge_upstream(config, "17.0", "openupgrade")
    assert again.merged == () and again.committed is None
    # pushed elsewhere, not synced yet: still the merge --push would publish
    assert again.earlier == outcome.committed == again.to_push
    assert not again.as_dict()["nothing_to_push"]


@pytest.mark.slow
def test_an_unpushed_merge_is_kept_and_merged_on_top_of(project):
    config, pair = project
    with Store.open(config.store_path) as store:
        run_upstream(config, store, quiet=True)
        first = merge_upstream(config, "18.0", "openupgrade")
        new = commit(pair.upstream, "18.0", {"addons/mod_0001/models/model_0.py": "# new\n"},
                     "[FIX] mod_0001: later")
        run_upstream(config, store, releases=["18.0"], quiet=True)
    second = merge_upstream(config, "18.0", "openupgrade")
    assert [r.revid for r in second.merged] == [new]
    ou_repo = gitmirror.git_dir_for(config, f"{pair.openupgrade},branch=18.0")
    assert git.is_ancestor(ou_repo, first.committed, second.committed)


def test_conflicts_are_listed_by_module_and_the_worktree_is_left_to_resolve(project):
    config, pair = project
    with Store.open(config.store_path) as store:
        [lag] = run_upstream(config, store, releases=["19.0"], quiet=True)
        touched = git.log(gitmirror.git_dir_for(config, f"{pair.upstream},branch=19.0"),
                          [lag.upstream_revid], [f"{lag.upstream_revid}~1"])[0].files[0]
        commit(pair.openupgrade, "19.0", {touched: "# OpenUpgrade's own version\n"})
        run_sync(config, store, releases=["19.0"], quiet=True)
    result = CliRunner().invoke(main, ["--config", str(config.path), "upstream", "merge",
                                       "--release", "19.0", "--branch", "openupgrade"])
    assert result.exit_code == 1
    module = touched.split("/")[1]
    assert module in result.stdout and touched.rpartition("/")[2] in result.stdout
    workdir = config.data_dir / "merges" / "19.0" / "openupgrade"
    assert "`git add` the files and `git commit`" in result.stderr and str(workdir) in result.stderr
    assert "<<<<<<<" in (workdir / touched).read_text()

    refused = CliRunner().invoke(main, ["--config", str(config.path), "upstream", "merge",
                                        "--release", "19.0", "--branch", "openupgrade"])
    assert refused.exit_code == 1 and "unfinished merge" in refused.stderr
    assert "<<<<<<<" in (workdir / touched).read_text()  # left as it was


def test_a_git_branch_with_a_bzr_upstream_is_a_clear_error(tmp_path):
    config_path = tmp_path / "ouhub.toml"
    config_path.write_text('data_dir = "data"\n[releases."8.0"]\n'
                           '[releases."8.0".branches.openupgrade]\n'
                           'url = "https://example.org/ou.git,branch=8.0"\n'
                           'upstream = "lp:openobject-server/8.0"\n')
    config = config_mod.load(config_path)
    with Store.open(config.store_path) as store:
        [lag] = run_upstream(config, store, quiet=True)
    assert lag.error.startswith("8.0/openupgrade is a git branch but its upstream "
                                "lp:openobject-server/8.0 is bzr")


def test_readers_need_a_sync_first(tmp_path: Path):
    pair = openupgrade_pair(tmp_path / "src", Shape(releases=("19.0",)))
    config = config_mod.from_dict({"data_dir": str(tmp_path / "data"), "releases": {"19.0": {
        "branches": {"openupgrade": {"url": f"{pair.openupgrade},branch=19.0",
                                     "upstream": f"{pair.upstream},branch=19.0"}}}}})
    with Store.open(config.store_path) as store:
        [lag] = run_upstream(config, store, quiet=True)
    assert "the mirror of 19.0/openupgrade is missing" in lag.error
    assert "run `ouhub sync --release 19.0` first" in lag.error
