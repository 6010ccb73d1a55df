"""ouhub.sync.git against real repositories: the wrapper, its parsers, the readers."""

from __future__ import annotations

import doctest
import logging
from pathlib import Path

import pytest

from ouhub.sync import git
from ouhub.sync.git import GitError, RemoteBranch
from tests.support.gitrepos import commit, git_repo, sha_of


def test_the_parsers_doctests_hold():
    assert doctest.testmod(git, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("https://github.com/OCA/OpenUpgrade.git,branch=8.0",
     RemoteBranch("https://github.com/OCA/OpenUpgrade.git", "8.0")),
    ("https://github.com/OCA/OpenUpgrade.git", RemoteBranch("https://github.com/OCA/OpenUpgrade.git", None)),
    ("/srv/ou,branch=", RemoteBranch("/srv/ou", None)),
    ("file:///srv/a,b/repo", RemoteBranch("file:///srv/a,b/repo", None)),  # a comma in the path
    ("/srv/ou,branch=release%2F17.0", RemoteBranch("/srv/ou", "release/17.0")),
])
def test_parse_url(text, expected):
    assert git.parse_url(text) == expected


@pytest.mark.parametrize(("url", "where"), [
    ("https://github.com/OCA/OpenUpgrade.git", "github.com/OCA/OpenUpgrade.git"),
    ("https://github.com/OCA/OpenUpgrade", "github.com/OCA/OpenUpgrade.git"),
    ("https://token@github.com/OCA/OpenUpgrade.git/", "github.com/OCA/OpenUpgrade.git"),
    ("git@github.com:odoo/odoo.git", "github.com/odoo/odoo.git"),
    ("git://127.0.0.1:9418/ou", "127.0.0.1_9418/ou.git"),
    ("file:///srv/git/ou.git", "local/srv/git/ou.git"),
    ("/srv/../etc/ou", "local/srv/_/etc/ou.git"),
])
def test_repository_dir_per_remote(url, where):
    assert git.repository_dir(Path("/data/mirrors/git"), url) == Path("/data/mirrors/git") / where


def test_a_failing_command_names_itself_and_is_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="ouhub.sync.git")
    repo = tmp_path / "r.git"
    git.init_bare(repo)
    with pytest.raises(GitError) as info:
        git.run(["rev-parse", "--verify", "no-such-branch"], git_dir=repo)
    error = info.value
    assert error.argv == ("git", f"--git-dir={repo}", "rev-parse", "--verify", "no-such-branch")
    assert "`git --git-dir=" in error.message and "no-such-branch" in error.message
    assert error.returncode == 128
    assert f"{repo}> ['git', '--git-dir={repo}', 'rev-parse'" in caplog.text


def test_fetch_errors_are_classified(tmp_path):
    repo = tmp_path / "r.git"
    git.init_bare(repo)
    git_repo(tmp_path / "src.git", {"main": [{"a": "1"}]})
    with pytest.raises(GitError) as info:
        git.fetch(repo, str(tmp_path / "src.git"), ["+refs/heads/nope:refs/x"])
    assert info.value.missing_ref == "refs/heads/nope"
    with pytest.raises(GitError) as info:
        git.fetch(repo, str(tmp_path / "absent"), ["+HEAD:refs/x"])
    assert info.value.unreachable and info.value.missing_ref is None
    assert "does not appear to be a git repository" in info.value.message


def test_tree_is_read_from_the_object_store(made_pair):
    entries = git.list_tree(made_pair.openupgrade, "refs/heads/19.0")
    paths = {e.path for e in entries}
    assert len(paths) == len(entries) and "addons/mod_0000/__manifest__.py" in paths
    assert any(p.endswith("/openupgrade_analysis.txt") for p in paths)
    oid = {e.path: e.oid for e in entries}
    with git.ObjectReader(made_pair.openupgrade) as reader:
        manifest = reader.read(oid["addons/mod_0003/__manifest__.py"])
        readme = reader.read(oid["README.md"])
        with pytest.raises(GitError, match="cannot read object 0{40}"):
            reader.read("0" * 40)
    assert b"'version': '19.0.1.0'" in manifest
    assert readme == b"OpenUpgrade 19.0\n"
    assert manifest == git.run(["cat-file", "blob", oid["addons/mod_0003/__manifest__.py"]],
                               git_dir=made_pair.openupgrade).stdout


def test_counts_and_resolution(made_pair):
    tip = sha_of(made_pair.openupgrade, "refs/heads/18.0")
    assert git.resolve(made_pair.openupgrade, "refs/heads/18.0") == tip
    assert git.resolve(made_pair.openupgrade, "refs/heads/none") is None
    total = int(git.run(["rev-list", "--count", tip], git_dir=made_pair.openupgrade).stdout)
    assert git.count_commits(made_pair.openupgrade, [tip]) == total
    mainline = git.run(["rev-list", "--first-parent", tip], git_dir=made_pair.openupgrade).stdout
    assert git.count_commits(made_pair.openupgrade, [tip], first_parent=True) == \
        len(mainline.split()) < total
    assert git.count_commits(made_pair.openupgrade, [tip], [f"{tip}~2"]) == 2
    # three mainline commits back is before the upstream merge: the merged commits count too
    merged = git.count_commits(made_pair.openupgrade, [f"{tip}~2^2"], [f"{tip}~2^1"])
    assert merged > 0
    assert git.count_commits(made_pair.openupgrade, [tip], [f"{tip}~3"]) == 3 + merged


def test_log_across_two_repositories_lists_the_unmerged_upstream_commits(made_pair):
    ou = sha_of(made_pair.openupgrade, "refs/heads/17.0")
    up = sha_of(made_pair.upstream, "refs/heads/17.0")
    env = git.alternates_env(made_pair.upstream)
    unmerged = git.log(made_pair.openupgrade, [up], [ou], env=env)
    assert len(unmerged) == made_pair.shape.lag
    assert unmerged[0].sha == up  # newest first
    assert all(c.files and c.files[0].startswith("addons/mod_") for c in unmerged)
    assert all(c.summary.startswith("[FIX] mod_") for c in unmerged)
    assert git.count_commits(made_pair.openupgrade, [up], [ou], env=env) == made_pair.shape.lag
    # without the upstream's objects the OpenUpgrade repository cannot see them
    with pytest.raises(GitError):
        git.log(made_pair.openupgrade, [up], [ou])


def test_commits_touching_a_module_folder(tmp_path):
    repo = tmp_path / "r.git"
    shas = git_repo(repo, {"main": [
        {"addons/sale/__manifest__.py": "{}", "addons/stock/__manifest__.py": "{}"},
        {"addons/sale/sale.py": "1"},
        {"addons/stock/stock.py": "1"},
        {"addons/sale/sale.py": "2", "addons/sale_stock/x.py": "1"},
    ]})["main"]
    found, total = git.commits_touching(repo, shas[0], shas[-1], ["addons/sale/"])
    assert [c.sha for c in found] == [shas[3], shas[1]] and total == 2  # not sale_stock alone
    assert found[0].author == "Ann Dev <ann@example.org>"
    assert found[0].summary == "main commit 4"
    found, total = git.commits_touching(repo, None, shas[-1], ["addons/stock/"], limit=1)
    assert [c.sha for c in found] == [shas[2]] and total == 2
    glob = git.commits_touching(repo, None, shas[-1], [":(glob)**/sale_stock/**"])
    assert [c.sha for c in glob[0]] == [shas[3]]


def test_update_refs_only_from_the_value_read(tmp_path):
    repo = tmp_path / "r.git"
    shas = git_repo(repo, {"main": [{"a": "1"}, {"a": "2"}]})["main"]
    git.update_refs(repo, [git.RefUpdate("refs/ouhub/8.0/ou", shas[0], None)])
    with pytest.raises(GitError, match="expected"):
        git.update_refs(repo, [git.RefUpdate("refs/ouhub/8.0/ou", shas[1], shas[1])])
    git.update_refs(repo, [git.RefUpdate("refs/ouhub/8.0/ou", shas[1], shas[0])])
    assert git.refs(repo, "refs/ouhub/") == {"refs/ouhub/8.0/ou": shas[1]}
    assert git.is_ancestor(repo, shas[0], shas[1]) and not git.is_ancestor(repo, shas[1], shas[0])


def test_checkout_is_a_worktree_updated_in_place(tmp_path):
    repo = tmp_path / "r.git"
    shas = git_repo(repo, {"main": [{"keep.py": "same", "a.py": "1", "gone.py": "x"}]})["main"]
    wt = tmp_path / "checkouts" / "8.0" / "ou"
    git.checkout(repo, wt, shas[0])
    assert (wt / "a.py").read_text() == "1"
    kept = (wt / "keep.py").stat().st_ino
    (wt / "stray.pyc").write_text("left by a server")
    (wt / "a.py").write_text("edited by hand")
    new = commit(repo, "main", {"a.py": "2", "gone.py": None, "b/new.py": "3"})
    git.checkout(repo, wt, new)
    assert (wt / "a.py").read_text() == "2" and (wt / "b" / "new.py").read_text() == "3"
    assert not (wt / "gone.py").exists() and not (wt / "stray.pyc").exists()
    assert (wt / "keep.py").stat().st_ino == kept  # unchanged files are left alone
    assert git.run(["rev-parse", "HEAD"], cwd=wt).stdout.decode().strip() == new


def test_checkout_refuses_a_foreign_directory(tmp_path):
    repo = tmp_path / "r.git"
    shas = git_repo(repo, {"main": [{"a.py": "1"}]})["main"]
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / "mine.txt").write_text("x")
    with pytest.raises(git.SyncError, match="is not a git worktree"):
        git.checkout(repo, tmp_path / "wt", shas[0])
    assert (tmp_path / "wt" / "mine.txt").read_text() == "x"
