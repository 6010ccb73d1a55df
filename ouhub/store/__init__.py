"""ouhub's state: one SQLite file in the data dir, behind one ``Store``.

No SQL lives outside this package: every query is a method whose name says what it
returns, kept in the module of the stage that writes it (``sync``, ``upstream``,
``coverage``, ``runner``, ``failures``, ``contributions``; ``stages`` for the stage log,
``keys`` for check's and the site's reads). Connection, transactions and migrations are
``db``'s; the schema is ``migrations``'. The records returned are ``ouhub.records``': the
store imports no stage.

``Store`` (``facade``) is imported on first use: it brings every stage's queries and so
the records they return (frozen dataclasses, ~0.3 ms each to create), which `ouhub check`
does not need when it reads its cached data through ``keys.ReadQueries``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ouhub.store.db import utcnow
from ouhub.store.migrations import MIGRATIONS

if TYPE_CHECKING:
    from ouhub.store.facade import Store

__all__ = ["MIGRATIONS", "Store", "utcnow"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from ouhub.store.facade import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
