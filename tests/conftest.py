"""Shared fixtures: a real PostgreSQL server, real bzr and git branches, a bzr:// server.

PostgreSQL: $OUHUB_TEST_DSN if set; else the machine's server on 127.0.0.1:5432
when it answers; else a throwaway cluster (initdb/pg_ctl) for the session.
OUHUB_TEST_THROWAWAY=1 forces the throwaway cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from examples.demo.vcs import BzrServer, make_branch
from ouhub import pgcluster

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of a PostgreSQL maintenance database on which tests may create databases."""
    explicit = os.environ.get("OUHUB_TEST_DSN")
    if explicit:
        yield explicit
        return
    if not os.environ.get("OUHUB_TEST_THROWAWAY") and pgcluster.reachable(LOCAL_DSN):
        yield LOCAL_DSN
        return
    cluster = pgcluster.ThrowawayCluster(tmp_path_factory.mktemp("pgcluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards. Yields its DSN."""
    with pgcluster.scratch_database(pg_server, "ouhub_test") as dsn:
        yield dsn


@pytest.fixture
def bzr_branch(tmp_path: Path) -> Callable[..., tuple[Path, list[bytes]]]:
    """Build a real bzr branch: ``bzr_branch("name", [{path: content}, ...])``."""

    def build(name: str, commits: list[dict], vcs: str = "bzr") -> tuple[Path, list[bytes]]:
        path = tmp_path / "branches" / name
        return path, make_branch(path, commits, vcs=vcs)

    return build


@pytest.fixture
def git_branch(bzr_branch: Callable) -> Callable[..., tuple[Path, list[bytes]]]:
    """Build a real git repository the same way."""

    def build(name: str, commits: list[dict]) -> tuple[Path, list[bytes]]:
        return bzr_branch(name, commits, vcs="git")

    return build


@pytest.fixture
def bzr_server(tmp_path: Path) -> Iterator[BzrServer]:
    """A breezy smart server on bzr://127.0.0.1:PORT serving ``tmp_path / "branches"``."""
    root = tmp_path / "branches"
    root.mkdir(exist_ok=True)
    server = BzrServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
