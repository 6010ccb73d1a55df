"""The work the contributions stage found, as the site shows it: rows, sections, JSON.

Made from a ``ContributionsReport`` (contributions/report.py) in Python; the
templates only loop and read fields. Every text here comes from GitHub or Launchpad
(titles, logins, labels): it is autoescaped like all data, and a link is kept only
when its URL is http(s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ouhub.site import model as m
from ouhub.vocab import OPEN

if TYPE_CHECKING:
    from ouhub.contributions.report import ContributionsReport
    from ouhub.contributions.tell import Work

#: The chip of a ``todo`` module someone is writing scripts for.
TODO_IN_PROGRESS = "todo_in_progress"


@dataclass(frozen=True)
class WorkRow:
    """One pull request or merge proposal on a release or module page."""

    release: str
    module: str | None
    module_href: str | None
    work: m.Link  # "#5002", to the pull request
    title: str
    author: str
    state: str  # open, merged, closed
    state_text: str  # "open, draft, stale"
    opened_at: str
    closed_at: str
    last_activity: str
    reviews: str
    next_actor: str
    dependency: str  # the labels that speak of dependencies ("Dependency OK")
    evidence: str
    stale: bool
    duplicates: tuple[str, ...]


@dataclass(frozen=True)
class Duplicate:
    module: str
    module_href: str
    works: tuple[WorkRow, ...]


@dataclass(frozen=True)
class ReleaseWork:
    """The work sections of a release page."""

    in_progress: tuple[WorkRow, ...] = ()
    waiting: tuple[WorkRow, ...] = ()  # oldest first
    duplicates: tuple[Duplicate, ...] = ()
    drift: tuple[str, ...] = ()
    tracking: m.Link | None = None
    json_href: str = ""
    collected: bool = False


def work_row(work: Work) -> WorkRow:
    from ouhub.contributions.report import reviews_text, state_text

    return WorkRow(
        release=work.release, module=work.module,
        module_href=f"modules/{m.slug(work.module)}.html" if work.module else None,
        work=m.Link(work.ref, m.safe_href(work.url)), title=work.title,
        author=work.author, state=work.state, state_text=state_text(work),
        opened_at=work.opened_at, closed_at=work.closed_at or "",
        last_activity=work.last_author_activity or "", reviews=reviews_text(work),
        next_actor=work.next_actor or "",
        dependency=", ".join(label for label in work.labels if "depend" in label.lower()),
        evidence=" ".join(e.kind for e in work.evidence), stale=work.stale,
        duplicates=work.duplicates,
    )


def in_progress_modules(report: ContributionsReport | None, release: str) -> frozenset[str]:
    """Modules of a release someone is writing scripts for (open, not superseded)."""
    if report is None:
        return frozenset()
    return frozenset(w.module for w in report.in_progress(release) if w.module)


def release_work(report: ContributionsReport | None, release: str) -> ReleaseWork:
    if report is None:
        return ReleaseWork()
    tracking = report.tracking.get(release)
    return ReleaseWork(
        in_progress=tuple(work_row(w) for w in report.in_progress(release)),
        waiting=tuple(work_row(w) for w in report.waiting_for_review(release)),
        duplicates=tuple(
            Duplicate(module, f"modules/{m.slug(module)}.html",
                      tuple(work_row(w) for w in works))
            for module, works in report.duplicates(release)
        ),
        drift=tuple(
            f"{d.module}: {d.kind.replace('_', ' ')} (line {d.line}: {d.text})"
            for d in report.drift_of(release)
        ),
        tracking=m.Link(f"#{tracking.number} {tracking.title}", m.safe_href(tracking.url))
        if tracking and tracking.number else None,
        json_href=f"api/{m.slug(release)}/contributions.json",
        collected=release in report.releases,
    )


def module_work(report: ContributionsReport | None, module: str) -> tuple[WorkRow, ...]:
    """A module's work across releases and sources, newest first: its history."""
    if report is None:
        return ()
    works = sorted(report.of(module=module), key=lambda w: (w.opened_at, w.ref), reverse=True)
    return tuple(work_row(w) for w in works)


def contributions_json(report: ContributionsReport, release: str, schema: int
                       ) -> dict[str, Any]:
    """``api/<release>/contributions.json``: the work, sections and drift of a release."""
    data = report.as_dict(release)
    return {
        "schema_version": schema, "release": release, "stale_days": data["stale_days"],
        "tracking": data["tracking"].get(release), "work": data["work"], "drift": data["drift"],
        "in_progress": [w.ref for w in report.in_progress(release)],
        "waiting_for_review": [w.ref for w in report.waiting_for_review(release)],
        "duplicates": {module: [w.ref for w in works]
                       for module, works in report.duplicates(release)},
        "open": sum(1 for w in report.of(release) if w.state == OPEN),
    }
