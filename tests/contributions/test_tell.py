"""tell.py: author activity, who acts next, duplicates, stale, superseded and drift."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ouhub.contributions.github import Review, TimelineEvent
from ouhub.contributions.match import parse_tracking
from ouhub.contributions.tell import Work, assemble, author_activity, drift, summarize
from ouhub.records import Match, MatchEvidence, Pull, PullActivity

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SCRIPTS = MatchEvidence("scripts", "openupgrade_scripts/scripts/project/17.0.1.3/post-migration.py")
BASE = MatchEvidence("base", "17.0")


def _pull(number: int, created: str = "2024-01-01", state: str = "open", merged: bool = False,
          draft: bool = False, body: str = "", author: str = "alice") -> Pull:
    return Pull(
        number=number, title=f"[17.0][OU-ADD] project: #{number}", state=state, merged=merged,
        draft=draft, author=author, author_is_bot=False, created_at=f"{created}T00:00:00+00:00",
        updated_at=f"{created}T00:00:00+00:00", closed_at=None, merged_at=None, base="17.0",
        head_sha="h", head_ref="r", url=f"https://github.com/OCA/OpenUpgrade/pull/{number}",
        body=body,
    )


def _at(day: str) -> str:
    return f"{day}T00:00:00+00:00"


def _event(kind: str, actor: str, day: str, bot: bool = False, body: str = "") -> TimelineEvent:
    return TimelineEvent(kind=kind, actor=actor, at=_at(day), is_bot=bot, body=body)


def test_author_activity_ignores_bots_labels_and_others() -> None:
    pull = _pull(1)
    events = [
        _event("committed", "Alice A.", "2024-02-01"),
        _event("commented", "alice", "2024-03-01"),
        _event("labeled", "alice", "2024-04-01"),  # a label change is not activity
        _event("commented", "OCA-git-bot", "2024-05-01", bot=True),
        _event("commented", "bob", "2024-06-01"),  # someone else's comment
        _event("committed", "dependabot[bot]", "2024-07-01", bot=True),
    ]
    assert author_activity(pull, events) == _at("2024-03-01")
    assert author_activity(pull, []) == pull.created_at


@pytest.mark.parametrize("pull, reviews, events, expected", [
    # no review yet: the reviewers
    (_pull(1), [], [], (0, 0, "reviewers")),
    # a draft is the author's to finish
    (_pull(1, draft=True), [], [], (0, 0, "author")),
    # changes requested after the author's last push: the author
    (_pull(1), [Review("bob", "CHANGES_REQUESTED", _at("2024-02-01"))],
     [_event("committed", "alice", "2024-01-15")], (0, 1, "author")),
    # the author pushed after the request: the reviewers again
    (_pull(1), [Review("bob", "CHANGES_REQUESTED", _at("2024-02-01"))],
     [_event("committed", "alice", "2024-03-01")], (0, 1, "reviewers")),
    # the latest verdict of each reviewer counts; the author's own and bots' do not
    (_pull(1), [Review("bob", "CHANGES_REQUESTED", _at("2024-02-01")),
                Review("bob", "APPROVED", _at("2024-03-01")),
                Review("carol", "APPROVED", _at("2024-03-02")),
                Review("dan", "COMMENTED", _at("2024-03-03")),
                Review("alice", "APPROVED", _at("2024-03-04")),
                Review("ci[bot]", "CHANGES_REQUESTED", _at("2024-03-05"), is_bot=True)],
     [], (2, 0, "reviewers")),
    # closed: nobody
    (_pull(1, state="closed"), [], [], (0, 0, None)),
])
def test_who_acts_next(pull: Pull, reviews: list[Review], events: list[TimelineEvent],
                       expected: tuple) -> None:
    activity = summarize(pull, reviews, events)
    assert (activity.approvals, activity.changes_requested, activity.next_actor) == expected


def test_superseded_by_comment() -> None:
    events = [_event("commented", "bob", "2024-02-01", body="Superseded by #2997."),
              _event("commented", "OCA-git-bot", "2024-02-02", bot=True,
                     body="superseded by #1")]
    assert summarize(_pull(1), [], events).superseded_by == 2997


def _match(module: str | None = "project", *evidence: MatchEvidence) -> Match:
    return Match("17.0", module, (BASE, *(evidence or (SCRIPTS,))))


def _activity(day: str, next_actor: str | None = "reviewers") -> PullActivity:
    return PullActivity(last_author_activity=_at(day), next_actor=next_actor)


def _works(*items: tuple[Pull, PullActivity | None, list[Match]], stale_days: int = 120
           ) -> dict[str, Work]:
    works = assemble(list(items), [], NOW, stale_days)
    return {f"{w.ref} {w.module}": w for w in works}


def test_two_open_pulls_for_one_module_are_duplicates() -> None:
    works = _works(
        (_pull(1, "2024-10-01"), _activity("2024-12-01"), [_match()]),
        (_pull(2, "2024-11-01"), _activity("2024-12-01"), [_match()]),
        # only its docsource row: declares, does not write the scripts
        (_pull(3, "2024-11-02"), None, [_match("project", MatchEvidence("docsource", "d.rst"))]),
    )
    assert works["#1 project"].duplicates == ("#2",)
    assert works["#2 project"].duplicates == ("#1",)
    assert works["#3 project"].duplicates == ()
    assert not any(w.superseded_by for w in works.values())


def test_superseded_by_text_is_not_a_duplicate() -> None:
    works = _works(
        (_pull(4469, "2024-10-01"), _activity("2024-12-01"), [_match()]),
        (_pull(4892, "2024-11-01", body="Supersedes #4469"), _activity("2024-12-01"),
         [_match()]),
    )
    assert works["#4469 project"].superseded_by == "#4892"
    assert works["#4469 project"].duplicates == works["#4892 project"].duplicates == ()


def test_superseded_by_a_newer_merged_or_after_closing() -> None:
    works = _works(
        (_pull(1, "2024-01-01"), _activity("2024-12-20"), [_match()]),  # open, older
        (_pull(2, "2024-02-01", state="closed"), None, [_match()]),  # closed unmerged
        (_pull(3, "2024-03-01", state="closed", merged=True), None, [_match()]),
        (_pull(4, "2024-04-01", state="closed", merged=True), None, [_match()]),
    )
    assert works["#1 project"].superseded_by == "#3"
    assert works["#2 project"].superseded_by == "#3"
    assert works["#3 project"].superseded_by is None  # merged work stays merged
    assert works["#1 project"].duplicates == ()


def test_stale_after_stale_days_without_author_activity() -> None:
    works = _works(
        (_pull(1, "2024-01-01"), _activity("2024-08-01"), [_match("project")]),
        (_pull(2, "2024-01-01"), _activity("2024-12-01"), [_match("sale")]),
        (_pull(3, "2024-01-01", state="closed", merged=True), None, [_match("stock")]),
    )
    assert works["#1 project"].stale and works["#1 project"].idle_days == 153
    assert not works["#2 sale"].stale
    assert not works["#3 stock"].stale and works["#3 stock"].idle_days is None
    assert not _works((_pull(1), _activity("2024-08-01"), [_match()]),
                      stale_days=200)["#1 project"].stale


def test_work_touching_no_module_is_kept() -> None:
    works = _works((_pull(9, "2024-12-01"), _activity("2024-12-01"), [Match("17.0", None, (BASE,))]))
    assert works["#9 None"].module is None and works["#9 None"].state == "open"


def test_drift_between_tracking_issue_and_pulls() -> None:
    works = assemble([
        (_pull(10, state="closed", merged=True), None, [_match("sale")]),
        (_pull(11), _activity("2024-12-01"), [_match("stock")]),
        (_pull(12, state="closed"), None, [_match("mrp")]),
        (_pull(13, state="closed", merged=True), None, [_match("account")]),
        (_pull(14, state="closed", merged=True), None, [_match("portal")]),
    ], [], NOW, 120)
    lines = parse_tracking(
        "- [ ] sale - By @a - #10\n"  # merged, unticked
        "- [x] stock - By @b - #11\n"  # ticked, still open
        "- [ ] mrp - By @c - #12\n"  # closed unmerged: a stale claim
        "- [ ] account\n"  # no pull named, but #13 writing account is merged
        "- [x] portal - By @d - #14\n"  # all good
        "- [x] website - By @e - #99999\n"  # a pull never collected: nothing to say
    )
    found = [(d.module, d.kind, d.number, d.line) for d in drift("17.0", lines, works)]
    assert found == [
        ("sale", "merged_unticked", 10, 1),
        ("stock", "ticked_unmerged", 11, 2),
        ("mrp", "closed_unmerged", 12, 3),
        ("account", "merged_unticked", 13, 4),
    ]
    assert drift("16.0", lines, works) == []


def test_work_as_dict_is_plain_data() -> None:
    work = _works((_pull(1), _activity("2024-12-01"), [_match()]))["#1 project"]
    data = work.as_dict()
    assert data["evidence"][1] == {"kind": "scripts", "detail": SCRIPTS.detail}
    assert data["ref"] == "#1" and data["duplicates"] == [] and data["labels"] == []
    assert replace(work, stale=True).as_dict()["stale"] is True
