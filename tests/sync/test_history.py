"""Suspect commits: the commits between two revisions of a real branch that touch a module."""

from __future__ import annotations

import pytest
from breezy.workingtree import WorkingTree

from examples.demo.gitrepo import FastImport
from examples.demo.vcs import commit_files, init_branch
from ouhub.errors import SyncError
from ouhub.sync.history import commits_touching, touches
from ouhub.sync.lag import module_roots
from ouhub.sync.mirror import revid_text
from tests.support.gitrepos import commit as commit_git
from tests.support.gitrepos import git_repo

MANIFEST = "{'name': 'x', 'version': '1.1', 'depends': ['base']}\n"


@pytest.fixture
def addons(tmp_path):
    """An addons branch (modules at the root, as OpenUpgrade's 7.0 addons): sale and crm."""
    tree = init_branch(tmp_path / "addons")
    revs = [commit_files(tree, {"sale/__openerp__.py": MANIFEST, "crm/__openerp__.py": MANIFEST},
                         "start", timestamp=1_400_000_000)]
    return tree, revs


def commit(tree, files, message, author, hours):
    return commit_files(tree, files, message, author=author, timestamp=1_400_000_000 + 3600 * hours)


def test_the_commits_that_touch_the_module_newest_first(addons, tmp_path):
    tree, (start,) = addons
    passing = commit(tree, {"crm/x.py": "1"}, "crm: tweak", "Ann <ann@example.org>", 1)
    c1 = commit(tree, {"sale/migrations/7.0.1.1/post-migration.py": "boom"},
                "[FIX] sale: rename the column\n\nlong explanation", "Bob <bob@example.org>", 2)
    commit(tree, {"crm/y.py": "2"}, "crm only", "Ann <ann@example.org>", 3)
    # a feature branch merged in: its own commit touches sale too
    feature = tree.branch.controldir.sprout(str(tmp_path / "feature")).open_workingtree()
    c2 = commit(feature, {"sale/sale.py": "x = 1"}, "sale: new field", "Cy <cy@example.org>", 4)
    tree.merge_from_branch(feature.branch)
    merge = tree.commit("merge the feature", committer="Ann <ann@example.org>",
                        timestamp=1_400_000_000 + 3600 * 5, timezone=0)
    failing = commit(tree, {"README": "docs"}, "docs", "Ann <ann@example.org>", 6)

    found = commits_touching(tree.basedir, revid_text(passing), revid_text(failing), "sale")
    assert [(c.revision, c.author, c.summary) for c in found.commits] == [
        ("5", "Ann <ann@example.org>", "merge the feature"),
        ("4.1.1", "Cy <cy@example.org>", "sale: new field"),
        ("3", "Bob <bob@example.org>", "[FIX] sale: rename the column"),
    ]
    assert found.total == 3 and found.folder == "sale"
    assert [c.revid for c in found.commits] == [revid_text(r) for r in (merge, c2, c1)]
    assert found.commits[-1].date == "2014-05-13T18:53:20+00:00"
    assert commits_touching(tree.basedir, revid_text(passing), revid_text(failing),
                            "crm").total == 1
    assert commits_touching(tree.basedir, revid_text(start), revid_text(passing),
                            "sale").total == 0
    assert commits_touching(tree.basedir, revid_text(failing), revid_text(failing),
                            "sale").commits == ()


def test_the_limit_keeps_the_newest_and_counts_all(addons):
    tree, (start,) = addons
    revs = [commit(tree, {"sale/f.py": str(i)}, f"sale {i}", "Bob <b@x>", i) for i in range(1, 6)]
    found = commits_touching(tree.basedir, revid_text(start), revid_text(revs[-1]), "sale",
                             limit=2)
    assert [c.summary for c in found.commits] == ["sale 5", "sale 4"] and found.total == 5


def test_a_server_branch_module_and_a_deleted_one(tmp_path):
    tree = init_branch(tmp_path / "server")
    start = commit(tree, {"openerp/addons/base/__openerp__.py": MANIFEST,
                          "openerp/addons/web_old/__openerp__.py": MANIFEST}, "start", "A <a@x>", 0)
    base = commit(tree, {"openerp/addons/base/migrations/7.0.1.3/pre-migration.py": "x"},
                  "base: pre", "A <a@x>", 1)
    gone = commit(tree, {"openerp/addons/web_old/__openerp__.py": None}, "drop web_old",
                  "A <a@x>", 2)
    assert [c.revid for c in commits_touching(tree.basedir, revid_text(start), revid_text(gone),
                                              "base").commits] == [revid_text(base)]
    deleted = commits_touching(tree.basedir, revid_text(start), revid_text(gone), "web_old")
    assert [c.revid for c in deleted.commits] == [revid_text(gone)]
    assert deleted.folder == "openerp/addons/web_old"
    assert commits_touching(tree.basedir, revid_text(start), revid_text(gone),
                            "base").folder == "openerp/addons/base"


def test_a_git_branch_names_commits_by_sha(tmp_path):
    tree = init_branch(tmp_path / "ou", vcs="git")
    start = commit(tree, {"addons/sale/__manifest__.py": MANIFEST}, "start", "A <a@x>", 0)
    fix = commit(tree, {"addons/sale/migrations/12.0.1.1/pre-migration.py": "x"},
                 "[12.0][FIX] sale", "B <b@x>", 1)
    # revision ids as a store made before git mirrors were read with git keeps them
    (found,) = commits_touching(tree.basedir, revid_text(start), revid_text(fix), "sale").commits
    assert revid_text(fix) == f"git-v1:{found.revid}" and found.revision == found.revid
    assert len(found.revision) == 40 and found.summary == "[12.0][FIX] sale"


def test_a_git_mirror_of_the_shared_repository(tmp_path):
    """What the sync keeps (a bare repository per remote) read with git: merged commits
    included, scripts under openupgrade_scripts/ count, a sibling module does not."""
    repo = tmp_path / "ou.git"
    shas = git_repo(repo, {"17.0": [
        {"addons/sale/__manifest__.py": MANIFEST, "addons/sale_crm/__manifest__.py": MANIFEST,
         "openupgrade_scripts/__manifest__.py": MANIFEST},
        {"openupgrade_scripts/scripts/sale/17.0.1.1/post-migration.py": "x"},
        {"addons/sale_crm/x.py": "1"},
        {"addons/sale/i18n/fr.po": "msgid"},
    ]})["17.0"]
    side = commit_git(repo, "17.0", {"addons/sale/side.py": "1"}, "sale: side", parent=shas[1])
    with FastImport(repo) as fi:
        mark = fi.commit("refs/heads/17.0", {"addons/sale/side.py": "1"}, "merge side",
                         parents=[shas[3], side])
    tip = fi.marks[mark]
    found = commits_touching(repo, shas[0], tip, "sale")
    assert [c.summary for c in found.commits] == [
        "merge side", "sale: side", "17.0 commit 4", "17.0 commit 2"]  # as brz log sorts
    assert found.commits[2].revision == shas[3] and found.total == 4
    assert found.folder == "addons/sale"  # what a suspect commit's code-browser link shows
    limited = commits_touching(repo, f"git-v1:{shas[0]}", tip, "sale", limit=1)
    assert len(limited.commits) == 1 and limited.total == 4
    with pytest.raises(SyncError, match="not in the mirror"):
        commits_touching(repo, "0" * 40, tip, "sale")


@pytest.mark.parametrize("path, module, expected", [
    ("sale/sale.py", "sale", True),
    ("sale_crm/x.py", "sale", False),
    ("openupgrade_scripts/scripts/sale/16.0.1.2/post-migration.py", "sale", True),
    ("openupgrade_scripts/scripts/sale_crm/16.0.1.2/post-migration.py", "sale", False),
    ("addons/sale/i18n/fr.po", "sale", True),
])
def test_touches(path, module, expected):
    roots = module_roots(["sale/__openerp__.py", "sale_crm/__openerp__.py",
                          "openupgrade_scripts/__manifest__.py"])
    assert touches(path, module, roots) is expected


def test_a_revision_the_mirror_does_not_have(addons):
    tree, (start,) = addons
    with pytest.raises(SyncError, match="not in the mirror"):
        commits_touching(tree.basedir, "ghost-revision-id", revid_text(start), "sale")
    with pytest.raises(SyncError, match="cannot be opened"):
        commits_touching(WorkingTree.open(tree.basedir).basedir + "/nope", "a", "b", "sale")
