"""A regression's suspect commits: read once from the mirrors after the runs, then stored.

For each module whose class is ``regression``, each branch of its release is read between
the revisions of the last run where it passed and of the first where it failed; the commits
that touch the module's folder are its suspects. Runs record their branches' revisions;
the mirrors hold the history (``ouhub.sync.history``). A branch that cannot be read is
stored with the reason, and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from ouhub.config import Config
from ouhub.errors import OuhubError
from ouhub.records import SuspectRange, revid_of
from ouhub.runner.failures import ModuleFailures, classify
from ouhub.store import Store
from ouhub.vocab import REGRESSION

log = logging.getLogger(__name__)


def read_suspects(config: Config, store: Store, releases: Iterable[str] | None = None) -> int:
    """Read and store the suspect commits of every regression not read yet; returns how many
    regressions were read."""
    read = 0
    for release in releases if releases is not None else config.releases:
        if release not in config.releases:
            continue
        for (rel, sample, module), attempts in store.module_histories(release).items():
            found = classify(rel, sample, module, attempts)
            if found is None or found.failure_class != REGRESSION or found.broke_at is None:
                continue
            if store.has_suspect_ranges(found.broke_at.run_id, module):
                continue
            store.record_suspect_ranges(suspect_ranges(config, found))
            read += 1
    if read:
        log.info("suspect commits read for %d regression(s)", read)
    return read


def suspect_ranges(config: Config, regression: ModuleFailures) -> list[SuspectRange]:
    """Per branch of the release, the commits between the bracketing runs touching the module."""
    from ouhub.sync.history import commits_touching, mirror_of

    assert regression.last_passed is not None and regression.broke_at is not None
    since_revisions = dict(regression.last_passed.revisions)
    until_revisions = dict(regression.broke_at.revisions)
    ranges = []
    for branch in config.release(regression.release).branches:
        since = since_revisions.get(branch.name, "")
        until = until_revisions.get(branch.name, "")
        base = SuspectRange(
            release=regression.release, sample=regression.sample, module=regression.module,
            run_id=regression.broke_at.run_id, since_run_id=regression.last_passed.run_id,
            branch=branch.name, since=since, until=until,
        )
        if not since or not until:
            ranges.append(replace(base, error=f"run {base.since_run_id if not since else base.run_id}"
                                f" recorded no revision of {branch.name}"))
            continue
        try:
            found = commits_touching(mirror_of(config, branch), revid_of(since), revid_of(until),
                                     regression.module)
        except OuhubError as exc:
            log.warning("suspects of %s in %s: %s", regression.module, branch.key, exc.message)
            ranges.append(replace(base, error=exc.message))
            continue
        ranges.append(replace(base, commits=found.commits, total=found.total, folder=found.folder))
    return ranges

