"""Read the store into the records the site is made from: the only part that talks to it.

Like coverage.py's html.py, the data is gathered first, once; ``pages.py`` derives
every page's records from it and ``api.py`` its JSON documents.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ouhub.coverage.status import coverage_share
from ouhub.redact import hide_paths
from ouhub.site import model as m

if TYPE_CHECKING:
    from ouhub.contributions.report import ContributionsReport


@dataclass
class Gathered:
    """Everything the site shows, read from the store once."""

    title: str
    steps: list[tuple[str, str]]
    coverage: dict[str, list[Any]] = field(default_factory=dict)  # release -> ModuleCoverage
    history: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    scanned_at: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # release -> module -> o
    runs: list[Any] = field(default_factory=list)  # sample runs, newest first
    run_modules: dict[int, list[OutcomeRow]] = field(default_factory=dict)  # by run id
    sync: dict[str, tuple[str, bool | None]] = field(default_factory=dict)  # release -> (at, ok)
    upstream: list[m.UpstreamBranch] = field(default_factory=list)
    check_data: dict[str, Any] | None = None
    contributions: ContributionsReport | None = None  # None: no [contributions]
    fingerprints: dict[str, Any] = field(default_factory=dict)  # key -> Fingerprint
    suspects: dict[tuple[int, str], list[Any]] = field(default_factory=dict)  # SuspectRange
    # release -> the last scans, oldest first: (scan id, scanned at, module -> status)
    recent_statuses: dict[str, list[tuple[int, str, dict[str, str]]]] = field(
        default_factory=dict)


# A module's outcome in one run: a row of store.site_run_modules kept as the store gives it,
# (run_id, module, outcome, version_before, version_after, excerpt). Plain tuples: a year of
# nightly runs is ~160,000 of them, and making even a NamedTuple of each costs 10 times more.
OutcomeRow = tuple[int, str, str, str | None, str | None, str | None, str | None]
MODULE, OUTCOME, BEFORE, AFTER, EXCERPT, FINGERPRINT = 1, 2, 3, 4, 5, 6  # an OutcomeRow's fields
FEED_SCANS = 10  # the scans of a release whose coverage changes the feeds tell


class LastOutcome(NamedTuple):
    outcome: str
    run_id: int


def gather(config: Any, store: Any) -> Gathered:
    """Read what the pages need; the only place that talks to the store."""
    data = Gathered(title=config.site.title, steps=list(config.steps))
    for _previous, release in data.steps:
        rows = sorted(store.latest_coverage(release), key=lambda c: c.module)
        data.coverage[release] = rows
        data.history[release] = _history(store.coverage_history(release))
        data.scanned_at[release] = data.history[release][-1][0] if data.history[release] else ""
    data.runs = [
        r for r in store.runs(kind="run") if r.status != "running" and r.sample is not None
    ]
    by_id = {r.id: r for r in data.runs}
    run_modules = data.run_modules
    # Rows come by run: one list per run, ~160,000 rows in a year of nightly runs.
    for run_id, rows in itertools.groupby(store.site_run_modules(), key=operator.itemgetter(0)):
        if run_id in by_id:
            run_modules[run_id] = list(rows)
    # The newest finished run of each module per release (as store.last_run_outcomes).
    for run in data.runs:  # newest first: the first seen wins
        outcomes = data.outcomes.setdefault(run.release, {})
        for x in run_modules.get(run.id, ()):
            if x[MODULE] not in outcomes:
                outcomes[x[MODULE]] = LastOutcome(x[OUTCOME], run.id)
    data.sync = _sync(store, config)
    data.upstream = _upstream(store, config)
    data.check_data = _check_data(config, store)
    if config.contributions is not None:
        from ouhub.contributions.report import load_report

        data.contributions = load_report(store, config.contributions.stale_days)
    data.fingerprints = store.fingerprints()
    for one in store.suspect_ranges():
        data.suspects.setdefault((one.run_id, one.module), []).append(one)
    for _previous, release in data.steps:
        data.recent_statuses[release] = store.recent_statuses(release, FEED_SCANS)
    return data


def _history(scans: Iterable[Any]) -> list[tuple[str, float]]:
    """(scan time, coverage share) per stored scan, oldest first."""
    out = []
    for scan in scans:
        share = coverage_share(scan.totals)
        if share is not None:
            out.append((scan.scanned_at, share))
    return out


def _sync(store: Any, config: Any) -> dict[str, tuple[str, bool | None]]:
    """Per release: the oldest of its branches' last successful syncs, and whether all are ok."""
    out: dict[str, tuple[str, bool | None]] = {}
    for state in store.sync_states():
        last = state.last_success or ""
        at, all_ok = out.get(state.release, (None, True))
        out[state.release] = (last if at is None else min(at, last), bool(all_ok and state.ok))
    return out


def _upstream(store: Any, config: Any) -> list[m.UpstreamBranch]:
    """Each branch's last lag check and its unmerged upstream revisions (newest first)."""
    branches = []
    for lag in store.upstream_lags():
        revisions = tuple(
            m.Revision(
                revision=str(rev.revno or rev.revid), author=rev.author, date=rev.date,
                message=rev.message,
                modules=tuple(m.Link(name, f"modules/{m.slug(name)}.html") for name in rev.modules),
            )
            for rev in reversed(lag.unmerged)
        )
        upstream = lag.upstream_url or ""
        href = m.safe_href(upstream)
        branches.append(m.UpstreamBranch(
            release=lag.release, branch=lag.branch,
            upstream=m.Link(upstream if href else hide_paths(upstream), href),
            lag=None if lag.error and not lag.last_success else lag.count,
            checked_at=lag.checked_at or "", error=hide_paths(lag.error or ""),
            revisions=revisions,
        ))
    return branches


def _check_data(config: Any, store: Any) -> dict[str, Any] | None:
    """The check page's data, from the check stage's own builder."""
    from ouhub.check.data import build_check_data

    return build_check_data(config, store)

