"""The runner's PostgreSQL work, and its safety rule.

ouhub drops or changes only databases whose names it generated and recorded in
the store *before* creating them (``scratch_databases``). Every drop, rename and
upgrade goes through ``Databases``, which refuses anything else.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import parse_dsn

from ouhub.errors import RunnerError
from ouhub.pgcluster import dsn_for
from ouhub.records import ScratchDatabase
from ouhub.redact import redact_dsn
from ouhub.store import Store

log = logging.getLogger(__name__)

MAX_NAME = 63  # PostgreSQL's identifier length
# restore: a template being built; spare: a clone of a template made ahead for the next run
KINDS = ("template", "scratch", "copy", "restore", "spare")
STRATEGIES = ("FILE_COPY", "WAL_LOG")  # CREATE DATABASE's (PostgreSQL 15 and later)
UPGRADABLE = ("scratch", "copy")


@dataclass(frozen=True)
class IrModule:
    """A row of ir_module_module: what the database says about a module."""

    name: str
    state: str
    version: str | None


def hostname() -> str:
    return socket.gethostname()


def token(length: int = 8) -> str:
    return secrets.token_hex(length // 2)


def safe_part(text: str, length: int) -> str:
    """A fragment of a database name: lowercase letters, digits and '_' only."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:length] or "db"


def server_params(dsn: str) -> dict[str, str]:
    """host, port, user, password of a DSN, with libpq's defaults filled in."""
    try:
        params = parse_dsn(dsn)
    except psycopg2.ProgrammingError as exc:
        raise RunnerError(f"invalid dsn {redact_dsn(dsn)!r}: {exc}",
                          hint="use postgresql://user[:password]@host:port/db") from exc
    return {
        "host": params.get("host") or os.environ.get("PGHOST") or "localhost",
        "port": str(params.get("port") or os.environ.get("PGPORT") or "5432"),
        "user": params.get("user") or os.environ.get("PGUSER") or _login(),
        "password": params.get("password") or "",
        "dbname": params.get("dbname") or "postgres",
    }


def _login() -> str:
    import getpass

    return getpass.getuser()


def pg_env(dsn: str) -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER (and PGPASSWORD) for programs started on the runner's server."""
    params = server_params(dsn)
    env = {"PGHOST": params["host"], "PGPORT": params["port"], "PGUSER": params["user"]}
    if params["password"]:
        env["PGPASSWORD"] = params["password"]
    return env


def same_server(a: str, b: str) -> bool:
    pa, pb = server_params(a), server_params(b)
    local = {"localhost", "127.0.0.1", "::1"}
    hosts_equal = pa["host"] == pb["host"] or (pa["host"] in local and pb["host"] in local)
    return hosts_equal and pa["port"] == pb["port"]


def create_statement(name: str, template: str | None, server_version: int,
                     strategy: str | None = None) -> sql.Composed:
    """CREATE DATABASE name TEMPLATE template, copying files where the server can.

    PostgreSQL 15 made WAL_LOG the default strategy, which writes the whole copy
    through the WAL: for a sample of 100 MB and more, FILE_COPY (one checkpoint,
    then a file copy) is about twice as fast. bench/runner.py measures it. A
    template's own ``strategy`` (measured at import: runner/spare.py) comes first.
    """
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template or "template0"))
    if template and server_version >= 150000:
        chosen = strategy or "FILE_COPY"
        assert chosen in STRATEGIES, chosen
        statement += sql.SQL(" STRATEGY " + chosen)
    return statement


def server_version(dsn: str) -> int:
    """The server's version as a number (150004 for 15.4)."""
    with connect(dsn) as conn:
        return conn.server_version


@contextmanager
def connect(dsn: str, dbname: str | None = None, readonly: bool = False) -> Iterator:
    """A connection to ``dbname`` on the server of ``dsn`` (default: the DSN's database);
    ``readonly``: every transaction is READ ONLY, else each statement commits at once."""
    target = dsn_for(dsn, dbname) if dbname else dsn
    try:
        conn = psycopg2.connect(target, connect_timeout=10)
    except psycopg2.Error as exc:
        raise RunnerError(
            f"cannot connect to PostgreSQL {redact_dsn(target)}: {str(exc).strip()}",
            hint="check `dsn` in the config (or --dsn) and that the server answers",
        ) from exc
    try:
        if readonly:
            conn.set_session(readonly=True, autocommit=False)
        else:
            conn.autocommit = True
        yield conn
    finally:
        conn.close()


def database_exists(dsn: str, name: str) -> bool:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cur.fetchone() is not None


def module_rows(dsn: str, dbname: str | None = None) -> dict[str, IrModule]:
    """ir_module_module of a database (read-only), by module name."""
    with connect(dsn, dbname, readonly=True) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT name, state, latest_version FROM ir_module_module ORDER BY name")
        except psycopg2.errors.UndefinedTable as exc:
            raise RunnerError(
                f"database {dbname or parse_dsn(dsn).get('dbname')} has no ir_module_module: "
                "it is not an OpenERP/Odoo database",
                hint="check the database name",
            ) from exc
        rows = {name: IrModule(name, state or "", version) for name, state, version in cur}
        conn.rollback()
        return rows


class Databases:
    """Create, clone, rename and drop the databases ouhub owns on the runner's server."""

    def __init__(self, store: Store, dsn: str):
        self.store = store
        self.dsn = dsn

    def new_name(self, prefix: str, middle: str = "") -> str:
        """A fresh database name that does not exist yet."""
        while True:
            tail = "_" + token(8)
            head = f"ouhub_{prefix}_" + (middle + "_" if middle else "")
            name = safe_part(head, MAX_NAME - len(tail)).rstrip("_") + tail
            if not database_exists(self.dsn, name) and self.store.database_record(name) is None:
                return name

    def record(self, name: str) -> ScratchDatabase:
        """The store's record of a live database ouhub created; refuses any other."""
        rec = self.store.database_record(name)
        if rec is None or rec.dropped_at is not None:
            raise RunnerError(
                f"refusing to touch database {name!r}: ouhub did not create it",
                hint="ouhub only changes databases it generated and recorded; "
                "use `ouhub migrate --database NAME` to upgrade a copy of your own database",
            )
        return rec

    def check_upgradable(self, name: str) -> ScratchDatabase:
        """Refuse to run an upgrade on a template or on a database ouhub did not create."""
        rec = self.record(name)
        if rec.kind not in UPGRADABLE:
            raise RunnerError(
                f"refusing to upgrade database {name!r}: it is a sample {rec.kind}, not a copy",
                hint="`ouhub run` clones the template into a scratch database first",
            )
        return rec

    def create(
        self, name: str, kind: str, *, template: str | None = None, run_id: int | None = None,
        keep: bool = False, strategy: str | None = None,
    ) -> None:
        """Record ``name``, then create it (empty, or as a copy of ``template``)."""
        assert kind in KINDS, kind
        self.store.register_database(name, kind, run_id=run_id, host=hostname(),
                                     pid=os.getpid(), keep=keep, cloned_from=template)
        try:
            with connect(self.dsn) as conn, conn.cursor() as cur:
                cur.execute(create_statement(name, template, conn.server_version, strategy))
        except psycopg2.Error as exc:
            self.store.mark_database_dropped(name)
            busy = "being accessed by other users" in str(exc)
            raise RunnerError(
                f"cannot create database {name}"
                + (f" from {template}" if template else "") + f": {str(exc).strip()}",
                hint="close the other sessions on the source database and retry" if busy
                else "check that the runner's PostgreSQL user may create databases",
            ) from exc
        log.info("created database %s%s", name, f" from {template}" if template else "")

    def drop(self, name: str) -> None:
        """Drop a database ouhub recorded (if it still exists) and mark it dropped."""
        self.record(name)
        with connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        self.store.mark_database_dropped(name)
        log.info("dropped database %s", name)

    def take(self, spare: str, name: str, kind: str, *, run_id: int | None = None,
             keep: bool = False) -> bool:
        """Rename the database ``spare`` to ``name`` (of ``kind``), recording ``name`` first;
        False, and nothing changed, when another run took it first."""
        rec = self.store.database_record(spare)
        if rec is None or rec.dropped_at is not None:
            return False  # taken meanwhile (and a name ouhub never recorded is not touched)
        self.store.register_database(name, kind, run_id=run_id, host=hostname(),
                                     pid=os.getpid(), keep=keep, cloned_from=rec.cloned_from)
        try:
            with connect(self.dsn) as conn, conn.cursor() as cur:
                cur.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(spare), sql.Identifier(name)))
        except psycopg2.Error as exc:
            self.store.mark_database_dropped(name)
            if isinstance(exc, psycopg2.errors.InvalidCatalogName):  # gone: taken elsewhere
                self.store.mark_database_dropped(spare)
            log.info("cannot take database %s: %s", spare, str(exc).strip())
            return False
        self.store.mark_database_dropped(spare)  # the name is gone; the database is ``name``
        log.info("took database %s as %s", spare, name)
        return True

    def rename(self, old: str, new: str, kind: str) -> None:
        self.record(old)
        with connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(old), sql.Identifier(new)))
        self.store.rename_database_record(old, new, kind)


def drop_recorded(store: Store, dsn: str) -> list[str]:
    """Drop every live database the store recorded (templates included): for throwaway setups."""
    dbs = Databases(store, dsn)
    dropped = []
    for rec in store.live_databases():
        dbs.drop(rec.name)
        dropped.append(rec.name)
    return dropped
