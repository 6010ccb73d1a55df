"""The collected work as the commands and the site read it: per release and module.

``load_report`` reads the stored matches, pull requests and merge proposals and lets
tell.py decide stale, superseded, duplicates and drift at the time asked (stale
depends on the day). The labels (``#5002 open 12 d``) are made
here once, for coverage show and the site alike (check's reason is check/rules.py's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ouhub.contributions.match import parse_tracking
from ouhub.contributions.tell import Drift, Work, assemble, drift
from ouhub.records import ContributionRelease, Match, MergeProposal, StoredPull, TrackingIssue
from ouhub.store import Store
from ouhub.vocab import MERGED, OPEN, REVIEWERS


@dataclass(frozen=True)
class ContributionsReport:
    """Every work found, with what tell.py decided, and each release's drift."""

    works: tuple[Work, ...]
    drift: tuple[Drift, ...] = ()
    tracking: dict[str, TrackingIssue] = field(default_factory=dict)
    releases: dict[str, ContributionRelease] = field(default_factory=dict)
    stale_days: int = 120

    def of(self, release: str | None = None, module: str | None = None) -> list[Work]:
        return [w for w in self.works
                if (release is None or w.release == release)
                and (module is None or w.module == module)]

    def by_module(self, release: str) -> dict[str, list[Work]]:
        grouped: dict[str, list[Work]] = defaultdict(list)
        for work in self.of(release):
            if work.module is not None:
                grouped[work.module].append(work)
        return dict(grouped)

    def in_progress(self, release: str) -> list[Work]:
        """Open work writing a module's scripts, newest activity first."""
        found = [w for w in self.of(release) if w.state == OPEN and w.writing
                 and not w.superseded_by]
        return sorted(found, key=lambda w: w.last_author_activity or "", reverse=True)

    def waiting_for_review(self, release: str) -> list[Work]:
        """Open, ready work whose next move is the reviewers', longest waiting first."""
        seen: dict[str, Work] = {}
        for work in self.of(release):
            if (work.state == OPEN and work.next_actor == REVIEWERS and not work.draft
                    and not work.superseded_by):
                seen.setdefault(work.ref, work)
        return sorted(seen.values(), key=lambda w: (w.last_author_activity or "", w.ref))

    def duplicates(self, release: str) -> list[tuple[str, list[Work]]]:
        """(module, its open works) where two or more write the same module's scripts."""
        return [(module, [w for w in works if w.duplicates])
                for module, works in sorted(self.by_module(release).items())
                if any(w.duplicates for w in works)]

    def drift_of(self, release: str) -> list[Drift]:
        return [d for d in self.drift if d.release == release]

    def as_dict(self, release: str | None = None, module: str | None = None) -> dict[str, Any]:
        return {
            "stale_days": self.stale_days,
            "work": [w.as_dict() for w in self.of(release, module)],
            "drift": [d.as_dict() for d in self.drift
                      if (release is None or d.release == release)
                      and (module is None or d.module == module)],
            "tracking": {
                r: {"number": t.number, "url": t.url, "title": t.title}
                for r, t in sorted(self.tracking.items())
                if t.number is not None and (release is None or r == release)
            },
        }


def load_report(store: Store, stale_days: int, now: datetime | None = None,
                release: str | None = None) -> ContributionsReport:
    """The stored work (of one release), decided as of ``now``."""
    now = now or datetime.now(UTC)
    by_ref: dict[tuple[str, str], list[Match]] = defaultdict(list)
    for source, ref, match in store.contribution_matches(release):
        by_ref[(source, ref)].append(match)
    pulls: dict[str, StoredPull] = {f"#{s.pull.number}": s for s in store.contribution_pulls()}
    proposals: dict[str, MergeProposal] = store.merge_proposals()
    pull_items = [
        (pulls[ref].pull, pulls[ref].activity, matches)
        for (source, ref), matches in by_ref.items() if source == "github" and ref in pulls
    ]
    proposal_items = [
        (proposals[ref], matches)
        for (source, ref), matches in by_ref.items() if source == "launchpad" and ref in proposals
    ]
    works = assemble(pull_items, proposal_items, now, stale_days)
    tracking = store.tracking_issues()
    drifts = [
        d for name, issue in sorted(tracking.items())
        if (release is None or name == release) and issue.body
        for d in drift(name, parse_tracking(issue.body), works)
    ]
    return ContributionsReport(
        works=tuple(works), drift=tuple(drifts), tracking=tracking,
        releases=store.contribution_releases(), stale_days=stale_days,
    )


def work_label(works: list[Work]) -> str:
    """coverage show's work column: the most telling work, e.g. ``#5002 open 12 d``.

    Open work writing the scripts first (the most recently active; ``+N`` more open),
    else the newest merged one; docsource-only and closed work say nothing here.
    """
    live = sorted((w for w in works if w.state == OPEN and w.writing and not w.superseded_by),
                  key=lambda w: w.last_author_activity or "", reverse=True)
    if live:
        first = live[0]
        text = f"{first.ref} open {first.idle_days or 0} d"
        if first.stale:
            text += " stale"
        return text + (f" +{len(live) - 1}" if len(live) > 1 else "")
    merged = sorted((w for w in works if w.state == MERGED and w.writing),
                    key=lambda w: w.closed_at or "", reverse=True)
    return f"{merged[0].ref} merged" if merged else ""


def state_text(work: Work) -> str:
    """``open, draft, stale, duplicate of #5010`` — the state with what tell.py decided."""
    parts = [work.state]
    if work.draft:
        parts.append("draft")
    if work.stale:
        parts.append("stale")
    if work.duplicates:
        parts.append("duplicate of " + " ".join(work.duplicates))
    if work.superseded_by:
        parts.append(f"superseded by {work.superseded_by}")
    return ", ".join(parts)


def reviews_text(work: Work) -> str:
    parts = []
    if work.approvals:
        parts.append(f"{work.approvals} approved")
    if work.changes_requested:
        parts.append(f"{work.changes_requested} changes requested")
    return ", ".join(parts) or "-"


def show_rows(works: list[Work]) -> list[tuple[str, ...]]:
    """Rows for `ouhub contributions show`."""
    return [
        (w.release, w.module or "-", w.ref, state_text(w), f"@{w.author}", w.opened_at[:10],
         "-" if w.idle_days is None else f"{w.idle_days} d", reviews_text(w),
         w.next_actor or "-", " ".join(e.kind for e in w.evidence))
        for w in works
    ]
