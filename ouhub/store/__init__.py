"""ouhub's state: one SQLite file in the data dir, behind one ``Store``.

No SQL lives outside this package: every query is a method whose name says what it
returns, kept in the module of the stage that writes it (``sync``, ``upstream``,
``coverage``, ``runner``, ``failures``, ``contributions``; ``stages`` for the stage log, ``keys``
for check's and the
site's reads). Connection, transactions and migrations are ``db``'s; the schema is
``migrations``'. The records returned are ``ouhub.records``': the store imports no stage.
"""

from __future__ import annotations

from ouhub.store.contributions import ContributionQueries
from ouhub.store.coverage import CoverageQueries
from ouhub.store.db import utcnow
from ouhub.store.failures import FailureQueries
from ouhub.store.keys import ReadQueries
from ouhub.store.migrations import MIGRATIONS
from ouhub.store.runner import RunnerQueries
from ouhub.store.stages import StageQueries
from ouhub.store.sync import SyncQueries
from ouhub.store.upstream import UpstreamQueries

__all__ = ["MIGRATIONS", "Store", "utcnow"]


class Store(StageQueries, SyncQueries, UpstreamQueries, CoverageQueries, RunnerQueries,
            FailureQueries, ContributionQueries, ReadQueries):
    """A connection to the state file (``Store.open``), with every stage's queries."""
