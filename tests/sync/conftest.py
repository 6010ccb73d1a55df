"""One loopback Launchpad for the whole sync test package: each launchpadlib login parses
the 1.5 MB WADL (about a second), so the server and its client cache are shared; and the
project-shaped pair of git repositories, made once and copied for each test that changes it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from examples.demo.gitrepo import Pair, Shape, openupgrade_pair
from ouhub.sync import launchpad
from tests.sync.launchpad_server import LaunchpadServer

OWNER = "~openupgrade-committers"


@pytest.fixture(scope="package")
def lp_server() -> Iterator[LaunchpadServer]:
    """Launchpad with openupgrade-server (6.1, 7.0 focus, trunk), openupgrade-addons, and
    openobject-server (OpenERP's upstream, series 7.0)."""
    launchpad.forget_connections()
    server = LaunchpadServer()
    server.add_project("openupgrade-server", development_focus="7.0")
    for series, status in (("6.1", "Mature"), ("7.0", "Development"), ("trunk", "Development")):
        server.add_branch(f"{OWNER}/openupgrade-server/{series}", lifecycle_status=status,
                          last_scanned_id=f"server-{series}-tip")
    server.add_branch("~bob/openupgrade-server/fix-1234", lifecycle_status="Experimental")
    server.add_branch("~bob/openupgrade-server/old", lifecycle_status="Abandoned")
    server.add_series("openupgrade-server", "6.1", branch=f"{OWNER}/openupgrade-server/6.1",
                      status="Current Stable Release")
    server.add_series("openupgrade-server", "7.0", branch=f"{OWNER}/openupgrade-server/7.0")
    server.add_series("openupgrade-server", "trunk", branch=f"{OWNER}/openupgrade-server/trunk")
    server.add_series("openupgrade-server", "5.0", status="Obsolete", active=False)
    server.add_git_repository(f"{OWNER}/openupgrade-server/+git/openupgrade-server",
                              target_default=True)
    server.add_project("openupgrade-addons", development_focus="7.0")
    for series in ("6.1", "7.0"):
        server.add_branch(f"{OWNER}/openupgrade-addons/{series}",
                          last_scanned_id=f"addons-{series}-tip")
        server.add_series("openupgrade-addons", series, branch=f"{OWNER}/openupgrade-addons/{series}")
    server.add_project("openobject-server", development_focus="7.0")
    server.add_branch("~openerp/openobject-server/7.0")
    server.add_series("openobject-server", "7.0", branch="~openerp/openobject-server/7.0")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        launchpad.forget_connections()


@pytest.fixture(scope="package")
def lp_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One launchpadlib cache for the package, so its connection is reused."""
    return tmp_path_factory.mktemp("lpcache")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB tmpfs (needs root and mount rights, as in the CI container); where it
    cannot be mounted, the disk-full tests that simulate the fault cover it."""
    point = tmp_path / "tiny"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture(scope="session")
def made_pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """upstream.git and openupgrade.git in the project's shape (0.4 s of git fast-import)."""
    return openupgrade_pair(tmp_path_factory.mktemp("pair"), Shape())


@pytest.fixture
def pair(made_pair: Pair, tmp_path: Path) -> Pair:
    """A copy of ``made_pair`` of this test's own, to commit to and rewrite (a copy: 0.04 s)."""
    root = tmp_path / "src"
    shutil.copytree(made_pair.openupgrade.parent, root, symlinks=True)
    return replace(made_pair, upstream=root / made_pair.upstream.name,
                   openupgrade=root / made_pair.openupgrade.name)
