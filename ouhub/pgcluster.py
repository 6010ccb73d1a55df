"""A PostgreSQL server to talk to: the configured one when it answers, else a throwaway cluster.

The tests and the demo use this; a real deployment names its server in the config.
A throwaway cluster lives in a directory of ours, listens on 127.0.0.1 on a free
port with trust auth, and is stopped (and may be deleted) when done.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

from ouhub.errors import OuhubError

log = logging.getLogger(__name__)


def find_pg_program(name: str) -> str | None:
    """A PostgreSQL program on PATH, else under /usr/lib/postgresql/<newest>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()],
    )
    return candidates[-1] if candidates else None


def reachable(dsn: str, timeout: int = 3) -> bool:
    try:
        psycopg2.connect(dsn, connect_timeout=timeout).close()
        return True
    except psycopg2.Error:
        return False


def dsn_for(server_dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    params = parse_dsn(server_dsn)
    params["dbname"] = dbname
    return make_dsn(**params)


@contextmanager
def scratch_database(server_dsn: str, prefix: str = "ouhub_scratch") -> Iterator[str]:
    """A new, empty database of our own for the block, dropped afterwards; yields its DSN.

    For the tests, the demo and the benchmarks; the runner has its own recorded registry.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield dsn_for(server_dsn, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayCluster:
    """initdb + pg_ctl in ``directory``; ``dsn`` points at its `postgres` database."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.datadir = self.directory / "pgdata"
        self.port = 0
        self._run_as: str | None = None
        self._owns_directory = False

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, argv: list[str]) -> list[str]:
        # initdb and postgres refuse to run as root: run them as an unprivileged user.
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *argv]
        return argv

    def start(self) -> str:
        initdb, pg_ctl = find_pg_program("initdb"), find_pg_program("pg_ctl")
        if not initdb or not pg_ctl:
            raise OuhubError(
                "no PostgreSQL server answers and initdb/pg_ctl are not installed",
                hint="install PostgreSQL (apt-get install postgresql) or set OUHUB_TEST_DSN",
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._run_as = _unprivileged_user()
            if not _traversable_by_others(self.directory):
                # e.g. pytest's 0700 tmp dirs: the server's user could not reach its files.
                self.directory = Path(tempfile.mkdtemp(prefix="ouhub-pg-"))
                self.datadir = self.directory / "pgdata"
                self._owns_directory = True
            user = pwd.getpwnam(self._run_as)
            os.chmod(self.directory, 0o755)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        if not (self.datadir / "PG_VERSION").exists():
            subprocess.run(
                self._cmd([initdb, "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--locale=C"]),
                check=True, capture_output=True,
            )
        self.port = _free_port()
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-k {self.directory} -c fsync=off -c full_page_writes=off")
        proc = subprocess.run(
            self._cmd([pg_ctl, "-D", str(self.datadir), "-o", options, "-w", "-t", "60",
                       "-l", str(self.directory / "postgres.log"), "start"]),
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise OuhubError(
                f"could not start a throwaway PostgreSQL in {self.directory}: {proc.stderr.strip()}",
                hint=f"see {self.directory / 'postgres.log'}",
            )
        deadline = time.monotonic() + 30
        while not reachable(self.dsn, timeout=2):
            if time.monotonic() > deadline:
                raise OuhubError(f"throwaway PostgreSQL on port {self.port} does not answer")
            time.sleep(0.2)
        log.info("started a throwaway PostgreSQL at %s", self.dsn)
        return self.dsn

    def stop(self) -> None:
        pg_ctl = find_pg_program("pg_ctl")
        if pg_ctl and (self.datadir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd([pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def _traversable_by_others(path: Path) -> bool:
    return all(os.stat(part).st_mode & 0o001 for part in [path, *path.resolve().parents])


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise OuhubError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")
