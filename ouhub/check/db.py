"""Which modules a live database has installed, read in a read-only transaction.

The connection is the runner's (``ouhub.runner.pg.connect``, every transaction READ
ONLY): check never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ouhub.check.modlist import MODULE_NAME
from ouhub.errors import CheckError, RunnerError
from ouhub.versions import release_of_version


@dataclass(frozen=True)
class InstalledModules:
    """What a database has installed (state installed or to upgrade), with versions."""

    versions: dict[str, str | None]
    base_version: str | None
    skipped: tuple[str | None, ...] = ()  # installed rows whose name is no module name

    @property
    def release(self) -> str | None:
        """The release of the database, from base's version (7.0.1.3 -> 7.0)."""
        return release_of_version(self.base_version)


def read_installed(conn: Any, dsn: str = "the database") -> InstalledModules:
    """Installed modules from ir_module_module, inside a read-only transaction."""
    import psycopg2

    from ouhub.redact import redact_dsn

    try:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute("SELECT to_regclass('ir_module_module')")
            if cur.fetchone()[0] is None:
                raise CheckError(
                    f"{redact_dsn(dsn)} is not an OpenERP database: it has no ir_module_module "
                    "table",
                    hint="point --database at the OpenERP/Odoo database to upgrade",
                )
            cur.execute(
                "SELECT name, latest_version, state FROM ir_module_module ORDER BY name"
            )
            rows = cur.fetchall()
    except psycopg2.Error as exc:
        raise CheckError(
            f"cannot read the installed modules of {redact_dsn(dsn)}: {str(exc).strip()}",
            hint="the user needs SELECT on ir_module_module",
        ) from exc
    finally:
        conn.rollback()
    installed = [(name, version) for name, version, state in rows
                 if state in ("installed", "to upgrade")]
    # a database of someone else's making may hold anything: only module names go on
    versions = {name: version for name, version in installed
                if isinstance(name, str) and MODULE_NAME.fullmatch(name)}
    skipped = tuple(name for name, _ in installed if name not in versions)
    base = next((version for name, version, _ in rows if name == "base"), None)
    return InstalledModules(versions=versions, base_version=base, skipped=skipped)


def database_dsn(value: str, server_dsn: Callable[[], str]) -> str:
    """``--database``: a DSN (key=value or URL), or a bare database name on the configured
    server, as `ouhub migrate -d NAME` reads it."""
    if "=" in value or "://" in value:
        return value
    from ouhub.pgcluster import dsn_for

    return dsn_for(server_dsn(), value)


def read_database(dsn: str) -> InstalledModules:
    """Connect read-only, read the installed modules, disconnect."""
    from ouhub.redact import redact_dsn
    from ouhub.runner.pg import connect

    try:
        with connect(dsn, readonly=True) as conn:
            installed = read_installed(conn, dsn)
    except RunnerError as exc:  # no connection: say it as check does, in check's exit code
        cause = exc.__cause__
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise CheckError(
            f"cannot connect to the database {redact_dsn(dsn)}: {detail}",
            hint="check the DSN (e.g. postgresql://user@host:5432/dbname), that the server runs "
            "and that it accepts your connection",
        ) from cause
    if not installed.versions:
        raise CheckError(
            "the database has no installed modules (ir_module_module has none installed or "
            "to upgrade)",
            hint="point --database at a database in use, or pass --modules",
        )
    return installed
