"""Launchpad merge proposals of the bzr era, read through launchpadlib.

``project.getMergeProposals(status=[...])`` lists a project's proposals; each one's
source and target branch and registrant are read from its links (no extra request),
its changed paths from its preview diff's ``diffstat``. A proposal already stored in
the same status keeps its stored paths, so a second reading fetches no diff.

Launchpad stopped hosting bzr code in 2025: a project that no longer answers is
returned in ``unreachable`` (the stage reports it once), never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ouhub.contributions.match import release_of_branch
from ouhub.errors import SyncError
from ouhub.records import MergeProposal

log = logging.getLogger("ouhub.contributions")

#: Every queue status a merge proposal can have (Launchpad's BranchMergeProposalStatus).
STATUSES = (
    "Work in progress", "Needs review", "Approved", "Rejected", "Merged",
    "Code failed to merge", "Queued", "Superseded",
)


@dataclass(frozen=True)
class ProposalReading:
    proposals: tuple[MergeProposal, ...]
    unreachable: tuple[tuple[str, str], ...]  # (project, what went wrong)
    diffs_read: int = 0


def _after_api_root(link: str | None) -> str:
    """``https://api.launchpad.net/devel/~owner/project/name`` -> ``~owner/project/name``."""
    if not link:
        return ""
    tail = link.split("/~", 1)
    return "~" + tail[1].rstrip("/") if len(tail) == 2 else link.rstrip("/").rsplit("/", 1)[-1]


def _timestamp(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)
    return text.replace("Z", "+00:00")


def read_proposals(
    projects: Iterable[str],
    releases: Iterable[str],
    *,
    service_root: str | None = None,
    cache_dir: Path | None = None,
    stored: Mapping[str, MergeProposal] | None = None,
) -> ProposalReading:
    """The merge proposals of each Launchpad project; unreachable projects listed apart."""
    from lazr.restfulclient.errors import HTTPError

    from ouhub.sync.launchpad import _NETWORK_ERRORS, connect

    projects, releases, stored = list(projects), list(releases), stored or {}
    try:
        lp = connect(service_root, cache_dir)
    except SyncError as exc:
        return ProposalReading((), tuple((p, exc.message) for p in projects))
    found: list[MergeProposal] = []
    unreachable: list[tuple[str, str]] = []
    diffs = 0
    for name in projects:
        try:
            project = lp.projects[name]
            entries = list(project.getMergeProposals(status=list(STATUSES)))
        except KeyError:
            unreachable.append((name, f"Launchpad has no project {name!r}"))
            continue
        except _NETWORK_ERRORS as exc:
            what = f"HTTP {exc.response.status}" if isinstance(exc, HTTPError) else (
                str(exc) or type(exc).__name__)
            unreachable.append((name, f"Launchpad project {name} does not answer: {what}"))
            continue
        for entry in entries:
            proposal, fetched = _proposal(entry, name, releases, stored)
            diffs += fetched
            found.append(proposal)
    return ProposalReading(tuple(found), tuple(unreachable), diffs)


def _proposal(
    entry: Any, project: str, releases: list[str], stored: Mapping[str, MergeProposal]
) -> tuple[MergeProposal, int]:
    url = str(entry.web_link)
    status = str(entry.queue_status)
    source = _after_api_root(entry.source_branch_link) or (
        _after_api_root(entry.source_git_repository_link) + ":" + str(entry.source_git_path))
    target = _after_api_root(entry.target_branch_link) or (
        _after_api_root(entry.target_git_repository_link) + ":" + str(entry.target_git_path))
    known = stored.get(url)
    if known is not None and known.status == status:
        paths, fetched = known.paths, 0
    else:
        paths, fetched = _diff_paths(entry)
    return MergeProposal(
        url=url, project=project, source_branch=source, target_branch=target,
        release=release_of_branch(target.split(":", 1)[0], releases),
        registrant=_after_api_root(entry.registrant_link).lstrip("~"), status=status,
        created_at=_timestamp(entry.date_created) or "", merged_at=_timestamp(entry.date_merged),
        paths=paths,
    ), fetched


def _diff_paths(entry: Any) -> tuple[tuple[str, ...], int]:
    """(the paths of a proposal's preview diff, diffs fetched); no diff: ((), 0)."""
    diff = entry.preview_diff
    if diff is None:
        return (), 0
    stat = diff.diffstat or {}
    if not isinstance(stat, dict):
        log.warning("merge proposal %s: diffstat is not a mapping, paths unknown",
                    entry.web_link)
        return (), 1
    return tuple(sorted(str(path) for path in stat)), 1
