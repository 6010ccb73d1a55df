"""``Store``: one connection to the state file with every stage's queries (see the package)."""

from __future__ import annotations

from ouhub.store.contributions import ContributionQueries
from ouhub.store.coverage import CoverageQueries
from ouhub.store.failures import FailureQueries
from ouhub.store.keys import ReadQueries
from ouhub.store.runner import RunnerQueries
from ouhub.store.stages import StageQueries
from ouhub.store.sync import SyncQueries
from ouhub.store.upstream import UpstreamQueries


class Store(StageQueries, SyncQueries, UpstreamQueries, CoverageQueries, RunnerQueries,
            FailureQueries, ContributionQueries, ReadQueries):
    """A connection to the state file (``Store.open``), with every stage's queries."""
