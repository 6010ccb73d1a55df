"""The test helpers themselves work against the real parts."""

from __future__ import annotations

import subprocess

import psycopg2
import pytest
from breezy.branch import Branch

from ouhub import pgcluster


def test_pg_database_is_a_real_empty_database(pg_database):
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchone()[0] == 0
        cur.execute("CREATE TABLE t (x int)")


@pytest.mark.slow
def test_throwaway_cluster_starts_and_stops(tmp_path):
    if not pgcluster.find_pg_program("initdb"):
        pytest.fail("initdb is not installed: tests/prereqs.py should have installed PostgreSQL")
    cluster = pgcluster.ThrowawayCluster(tmp_path / "pg")
    dsn = cluster.start()
    try:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_setting('listen_addresses')")
            assert cur.fetchone()[0] == "127.0.0.1"
    finally:
        cluster.stop()
    assert not pgcluster.reachable(dsn, timeout=1)


def test_bzr_branch_holds_the_commits(bzr_branch):
    path, revids = bzr_branch("b", [{"a.txt": "1"}, {"a.txt": "2", "b.txt": "x"}, {"b.txt": None}])
    branch = Branch.open(str(path))
    assert branch.revno() == 3
    assert branch.last_revision() == revids[-1]
    with branch.lock_read():
        tree = branch.repository.revision_tree(revids[1])
        with tree.lock_read():
            assert tree.get_file_text("a.txt") == b"2"
        assert not branch.repository.revision_tree(revids[2]).has_filename("b.txt")


def test_git_branch_is_a_real_git_repository(git_branch):
    path, revids = git_branch("g", [{"mod/x.py": "1"}, {"mod/x.py": "2"}])
    out = subprocess.run(
        ["git", "-C", str(path), "log", "--format=%s"], capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[:2] == ["commit 2", "commit 1"]
    assert Branch.open(str(path)).last_revision() == revids[-1]


def test_bzr_server_serves_branches_over_bzr_protocol(bzr_branch, bzr_server):
    path, revids = bzr_branch("served", [{"x": "1"}, {"x": "2"}])
    url = bzr_server.url_of("served")
    assert url.startswith("bzr://127.0.0.1:")
    remote = Branch.open(url)
    assert remote.revno() == 2 and remote.last_revision() == revids[-1]
