"""The store's connection, transactions and migrations: SQLite opened in one place.

``Database.open`` applies the store's named migrations in order, each in its own
transaction: a failed one rolls back and stays pending. Every write runs inside
``transaction()``; nested blocks join the outer one, so a stage that wraps its
work in one block leaves the store as it was if anything inside raises.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from ouhub.errors import StoreError
from ouhub.store.migrations import MIGRATIONS


def store_fault(exc: sqlite3.Error | OSError, path: Path | None) -> StoreError:
    """What a failing store means for the user: damaged, read-only, on a full disk, or out of
    reach. SQLite left the file as it was in each case (a write that fails rolls back)."""
    where = str(path) if path else "the state store"
    detail = str(exc)
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(
            f"the state store {where} is damaged ({detail}); nothing was changed",
            hint=f"keep a copy of it for a report; restore it from a backup, or move it aside "
            f"(mv {where} {where}.damaged): ouhub then starts an empty store, and the next sync, "
            "scan and runs fill it again",
        )
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"the state store {where} is read-only ({detail})",
                          hint="let the user running ouhub write the store and its folder")
    if code == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == errno.ENOSPC:
        return StoreError(f"the disk under the state store {where} is full ({detail}); the "
                          "store is as it was", hint="free space on that disk, then run again")
    return StoreError(f"cannot use the state store {where}: {detail}",
                      hint="check that the data dir exists, is writable and not on a full disk")


# SQLite result codes that are about the file, not about a statement
_FILE_FAULTS = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_READONLY,
                sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)


def utcnow() -> str:
    """Timestamps are stored as ISO 8601 UTC strings: sortable and readable."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """A connection to the state file, with its schema migrated to the newest."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self._conn = conn
        self.path = path
        self._depth = 0
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | Path, migrations: list[tuple[str, str]] | None = None) -> Self:
        """Open (creating if needed) the store at ``path`` and apply pending migrations."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
        except (OSError, sqlite3.Error) as exc:
            raise store_fault(exc, path) from exc
        store = cls(conn, path)
        try:
            store.migrate(MIGRATIONS if migrations is None else migrations)
        except sqlite3.Error as exc:  # reading which migrations ran: the file itself fails
            conn.close()
            raise store_fault(exc, path) from exc
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """All writes inside commit together, or none do; nested blocks join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def _tuples(self) -> sqlite3.Cursor:
        """A cursor returning plain tuples: a third of the time of sqlite3.Row, for bulk reads."""
        cursor = self._conn.cursor()
        cursor.row_factory = None
        return cursor

    def applied_migrations(self) -> list[str]:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        return [r[0] for r in self._conn.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def migrate(self, migrations: list[tuple[str, str]]) -> list[str]:
        """Apply the migrations not yet recorded; returns the names applied now."""
        done = set(self.applied_migrations())
        applied = []
        for name, sql in migrations:
            if name in done:
                continue
            if not applied:
                _add_sql_functions(self._conn)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(sql):
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, utcnow()),
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _FILE_FAULTS:
                    raise store_fault(exc, self.path) from exc
                raise StoreError(
                    f"store migration {name} failed on {self.path}: {exc}",
                    hint="the store is unchanged; report this with the store file attached",
                ) from exc
            applied.append(name)
        return applied

    @property
    def schema_version(self) -> int:
        return len(self.applied_migrations())


def _add_sql_functions(conn: sqlite3.Connection) -> None:
    """The Python functions a migration's SQL calls: ``redact_dsn`` and ``redact_urls``,
    ouhub.redact's (imported only when a migration is pending); NULL stays NULL."""
    from ouhub import redact

    for name in ("redact_dsn", "redact_urls"):
        function = getattr(redact, name)
        conn.create_function(name, 1, lambda value, f=function: None if value is None
                             else f(value), deterministic=True)


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (sqlite3 runs one per execute)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
