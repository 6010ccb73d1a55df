"""Runner fixtures: a config on the test PostgreSQL, sample dumps made with sampledb.py."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg2
import pytest

from examples.demo.sampledb import SampleModule, create_sample_database, dump_database
from ouhub import config as config_mod
from ouhub.runner.pg import Databases, dsn_for
from ouhub.store import Store

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "standin" / "openerp_server.py"
STANDIN_COMMAND = (
    f"{sys.executable} {STANDIN} -d {{database}} --db_host {{db_host}} --db_port {{db_port}} "
    "-r {db_user} --addons-path {addons_path} --logfile {logfile} -u all --stop-after-init "
    "--release {release}"
)


def make_dump(
    server: str, path: Path, release: str, modules: Sequence[SampleModule], fmt: str = "custom",
    partners: int = 20,
) -> Path:
    """A sample dump of ``release`` with ``modules``, made through a throwaway database."""
    name = f"ouhub_test_src_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(server)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        create_sample_database(dsn_for(server, name), release, modules, partners=partners)
        return dump_database(dsn_for(server, name), path, fmt=fmt)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def build_config(
    tmp_path: Path, server: str, samples: list[dict] | None = None,
    commands: dict[str, str] | None = None, timeout: float = 60, parallel: int = 1,
) -> config_mod.Config:
    data = {
        "data_dir": str(tmp_path / "data"),
        "dsn": server,
        "releases": {
            "6.1": {"branches": {"server": {"url": str(tmp_path / "b61"), "vcs": "bzr"}}},
            "7.0": {"previous": "6.1",
                    "branches": {"server": {"url": str(tmp_path / "b70"), "vcs": "bzr"}}},
            "8.0": {"previous": "7.0",
                    "branches": {"openupgrade": {"url": str(tmp_path / "b80"), "vcs": "git"}}},
        },
        "samples": samples or [],
        "runner": {"timeout": timeout, "parallel": parallel, "commands": commands or {}},
    }
    return config_mod.from_dict(data, path=None)


@pytest.fixture
def runner_store(tmp_path: Path, pg_server: str) -> Iterator[Callable[[config_mod.Config], Store]]:
    """Opens the store of a config; at the end drops every database ouhub recorded there."""
    opened: list[tuple[Store, str]] = []

    def open_for(config: config_mod.Config) -> Store:
        store = Store.open(config.store_path)
        opened.append((store, config.dsn))
        return store

    yield open_for
    for store, dsn in opened:
        for rec in store.live_databases():
            Databases(store, dsn).drop(rec.name)
        store.close()
