"""What the collected work tells: author activity, who acts next, stale, superseded,
duplicates, and drift from the tracking issue. Pure: records in, records out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from ouhub.contributions.github import Review, TimelineEvent
from ouhub.contributions.match import TrackingLine, superseded_by, supersedes
from ouhub.records import Match, MatchEvidence, MergeProposal, Pull, PullActivity
from ouhub.vocab import (
    AUTHOR,
    CLOSED,
    CLOSED_UNMERGED,
    MERGED,
    MERGED_UNTICKED,
    OPEN,
    REVIEWERS,
    TICKED_UNMERGED,
)

#: Timeline events that are the author's own activity when the author is their actor.
#: Label changes, assignments, review requests and anything a bot does never count.
AUTHOR_EVENTS = frozenset({
    "commented", "reviewed", "head_ref_force_pushed", "ready_for_review", "convert_to_draft",
    "reopened", "line-commented", "commit-commented",
})
REVIEW_VERDICTS = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})


@dataclass(frozen=True)
class Work:
    """A pull request or merge proposal writing a module's scripts for a release."""

    release: str
    module: str | None  # None: it touches no module (docs, CI)
    source: str  # github, launchpad
    ref: str  # "#5002", or the merge proposal's source branch
    url: str
    title: str
    author: str
    state: str  # open, merged, closed
    draft: bool
    opened_at: str
    closed_at: str | None
    last_author_activity: str | None
    idle_days: int | None  # days since the author's last activity, while open
    approvals: int
    changes_requested: int
    next_actor: str | None
    labels: tuple[str, ...]
    evidence: tuple[MatchEvidence, ...]
    declared_status: str | None
    writing: bool  # evidence beyond its docsource row
    number: int | None = None
    stale: bool = False
    superseded_by: str | None = None  # ref of the newer work
    duplicates: tuple[str, ...] = ()  # refs of the other open work for the module

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = [asdict(e) for e in self.evidence]
        data["labels"] = list(self.labels)
        data["duplicates"] = list(self.duplicates)
        return data


@dataclass(frozen=True)
class Drift:
    """Where the tracking issue and what happened disagree."""

    release: str
    module: str
    kind: str  # one of vocab.DRIFT_KINDS
    number: int | None
    line: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def author_activity(pull: Pull, events: Iterable[TimelineEvent]) -> str:
    """The author's last activity: opening it, a commit pushed, an own comment or push."""
    latest = pull.created_at
    for event in events:
        if event.is_bot:
            continue
        if event.kind == "committed" or (
            event.kind in AUTHOR_EVENTS and event.actor == pull.author
        ):
            latest = max(latest, event.at)
    return latest


def summarize(pull: Pull, reviews: Sequence[Review], events: Sequence[TimelineEvent]
              ) -> PullActivity:
    """The activity record of a pull request from its reviews and timeline."""
    last = author_activity(pull, events)
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        if review.is_bot or review.reviewer == pull.author or review.state not in REVIEW_VERDICTS:
            continue
        latest[review.reviewer] = review
    approvals = sum(1 for r in latest.values() if r.state == "APPROVED")
    changes = [r for r in latest.values() if r.state == "CHANGES_REQUESTED"]
    if pull.state != OPEN:
        next_actor = None
    elif pull.draft or any(r.submitted_at >= last for r in changes):
        next_actor = AUTHOR
    else:
        next_actor = REVIEWERS
    said = [superseded_by(e.body) for e in events if e.kind == "commented" and not e.is_bot]
    return PullActivity(
        last_author_activity=last, approvals=approvals, changes_requested=len(changes),
        next_actor=next_actor, superseded_by=next((n for n in reversed(said) if n), None),
    )


def _days(since: str | None, now: datetime) -> int | None:
    if not since:
        return None
    return max(0, (now - datetime.fromisoformat(since)).days)


def pull_work(pull: Pull, activity: PullActivity | None, match: Match, now: datetime) -> Work:
    state = pull.work_state
    last = activity.last_author_activity if activity else pull.created_at
    return Work(
        release=match.release, module=match.module, source="github", ref=f"#{pull.number}",
        number=pull.number, url=pull.url, title=pull.title, author=pull.author, state=state,
        draft=pull.draft, opened_at=pull.created_at,
        closed_at=pull.merged_at or pull.closed_at, last_author_activity=last,
        idle_days=_days(last, now) if state == OPEN else None,
        approvals=activity.approvals if activity else 0,
        changes_requested=activity.changes_requested if activity else 0,
        next_actor=activity.next_actor if activity and state == OPEN else None,
        labels=pull.labels, evidence=match.evidence, declared_status=match.declared_status,
        writing=match.writing,
    )


def proposal_work(proposal: MergeProposal, match: Match, now: datetime) -> Work:
    state = proposal.work_state
    return Work(
        release=match.release, module=match.module, source="launchpad",
        ref=f"lp:{proposal.source_branch}", url=proposal.url,
        title=f"{proposal.source_branch} => {proposal.target_branch}",
        author=proposal.registrant, state=state, draft=False, opened_at=proposal.created_at,
        closed_at=proposal.merged_at, last_author_activity=proposal.created_at,
        idle_days=_days(proposal.created_at, now) if state == OPEN else None,
        approvals=0, changes_requested=0, next_actor=REVIEWERS if state == OPEN else None,
        labels=(), evidence=match.evidence, declared_status=match.declared_status,
        writing=match.writing,
    )


def assemble(
    pulls: Sequence[tuple[Pull, PullActivity | None, Sequence[Match]]],
    proposals: Sequence[tuple[MergeProposal, Sequence[Match]]],
    now: datetime,
    stale_days: int,
) -> list[Work]:
    """Every (release, module, work) with stale, superseded and duplicates decided."""
    said: dict[int, int] = {}  # number -> the number that supersedes it, as the texts say
    for pull, activity, _matches in pulls:
        for older in supersedes(pull.body):
            if older != pull.number:
                said[older] = pull.number
        if activity and activity.superseded_by and activity.superseded_by != pull.number:
            said[pull.number] = activity.superseded_by
    works = [pull_work(p, a, m, now) for p, a, ms in pulls for m in ms]
    works += [proposal_work(p, m, now) for p, ms in proposals for m in ms]
    works = [
        replace(w, superseded_by=f"#{said[w.number]}") if w.number in said else w for w in works
    ]
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, work in enumerate(works):
        if work.module is not None:
            groups[(work.release, work.module)].append(index)
    for indexes in groups.values():
        _decide_group(works, indexes)
    return sorted(
        (replace(w, stale=w.state == OPEN and w.superseded_by is None
                 and (w.idle_days or 0) > stale_days) for w in works),
        key=lambda w: (w.release, w.module or "", w.opened_at, w.ref),
    )


def _decide_group(works: list[Work], indexes: list[int]) -> None:
    """Superseded by a newer one (merged, or any when it was closed), then duplicates."""
    ordered = sorted(indexes, key=lambda i: (works[i].opened_at, works[i].ref))
    for position, index in enumerate(ordered):
        work = works[index]
        if work.superseded_by or work.state == MERGED or not work.writing:
            continue
        for newer in ordered[position + 1:]:
            other = works[newer]
            if other.writing and (other.state == MERGED or work.state == CLOSED):
                works[index] = replace(work, superseded_by=other.ref)
                break
    live = [i for i in ordered
            if works[i].state == OPEN and works[i].writing and not works[i].superseded_by]
    if len(live) > 1:
        for index in live:
            works[index] = replace(
                works[index], duplicates=tuple(works[i].ref for i in live if i != index))


def drift(release: str, lines: Sequence[TrackingLine], works: Sequence[Work]) -> list[Drift]:
    """Where a release's tracking issue disagrees with its pull requests.

    merged_unticked: the line's pull request (or, with none named, a merged pull request
    writing the module) is merged but the box is empty; ticked_unmerged: the box is ticked
    but no pull request it names is merged; closed_unmerged: every pull request it names
    was closed without merging, the box empty (a stale claim).
    """
    states: dict[int, str] = {}
    merged_for: dict[str, list[int]] = defaultdict(list)
    for work in works:
        if work.release != release or work.number is None:
            continue
        states[work.number] = work.state
        if work.state == MERGED and work.writing and work.module:
            merged_for[work.module].append(work.number)
    found = []
    for line in lines:
        known = [(n, states[n]) for n in line.numbers if n in states]

        def add(kind: str, number: int | None, line: TrackingLine = line) -> None:
            found.append(Drift(release, line.module, kind, number, line.line, line.text))

        merged = [n for n, state in known if state == MERGED]
        if line.ticked:
            if known and not merged:
                add(TICKED_UNMERGED, known[0][0])
        elif merged:
            add(MERGED_UNTICKED, merged[0])
        elif known and all(state == CLOSED for _n, state in known):
            add(CLOSED_UNMERGED, known[0][0])
        elif not line.numbers and merged_for.get(line.module):
            add(MERGED_UNTICKED, merged_for[line.module][0])
    return found


def by_module(works: Iterable[Work]) -> Mapping[tuple[str, str | None], list[Work]]:
    """Works grouped by (release, module), in the order given."""
    grouped: dict[tuple[str, str | None], list[Work]] = defaultdict(list)
    for work in works:
        grouped[(work.release, work.module)].append(work)
    return grouped
