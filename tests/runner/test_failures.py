"""Failure classes from a module's sequence of runs, and a fingerprint's history."""

from __future__ import annotations

import pytest

from ouhub.records import Attempt, revisions_of
from ouhub.runner.failures import classes_by_run, classify, fingerprint_history
from ouhub.vocab import ALWAYS_FAILING, FIXED, FLAKY, NEW, REGRESSION

REV_A = revisions_of({"addons": "10 (rev-a)", "server": "4 (srv-1)"})
REV_B = revisions_of({"addons": "11 (rev-b)", "server": "4 (srv-1)"})
REV_C = revisions_of({"addons": "12 (rev-c)", "server": "4 (srv-1)"})


def attempts(*steps: tuple[str, tuple]) -> list[Attempt]:
    """Runs 1, 2, ... one day apart: (outcome, revisions)."""
    return [Attempt(i, f"2024-05-{i:02d}T02:00:00+00:00", outcome, revisions,
                    "fp-1" if outcome == "failed" else None)
            for i, (outcome, revisions) in enumerate(steps, 1)]


@pytest.mark.parametrize("steps, expected", [
    ([("failed", REV_A)], NEW),
    ([("failed", REV_A), ("failed", REV_B)], ALWAYS_FAILING),
    ([("upgraded", REV_A), ("failed", REV_B)], REGRESSION),
    ([("upgraded", REV_A), ("failed", REV_B), ("failed", REV_C)], REGRESSION),
    ([("failed", REV_A), ("upgraded", REV_B)], FIXED),
    ([("failed", REV_A), ("upgraded", REV_B), ("upgraded", REV_C)], FIXED),
    ([("upgraded", REV_A), ("failed", REV_A)], FLAKY),
    ([("failed", REV_A), ("upgraded", REV_B), ("failed", REV_B)], FLAKY),
    # not reached says nothing: still a first failure, still a regression
    ([("not_reached", REV_A), ("failed", REV_B)], NEW),
    ([("upgraded", REV_A), ("not_reached", REV_B), ("failed", REV_C)], REGRESSION),
    # runs without recorded revisions prove no flakiness
    ([("upgraded", ()), ("failed", ())], REGRESSION),
])
def test_classes(steps, expected):
    result = classify("7.0", "demo61", "sale", attempts(*steps))
    assert result is not None and result.failure_class == expected


@pytest.mark.parametrize("steps", [
    [],
    [("upgraded", REV_A)],
    [("upgraded", REV_A), ("not_reached", REV_B)],
])
def test_a_module_that_never_failed_has_no_class(steps):
    assert classify("7.0", "demo61", "sale", attempts(*steps)) is None


def test_a_regression_is_bracketed_by_the_last_pass_and_the_first_failure():
    history = attempts(("failed", REV_A), ("upgraded", REV_A), ("upgraded", REV_B),
                       ("failed", REV_C), ("failed", REV_C))
    # the first two are at the same revisions: flaky wins; drop the first to get a regression
    result = classify("7.0", "demo61", "sale", history[1:])
    assert result.failure_class == REGRESSION
    assert (result.last_passed.run_id, result.broke_at.run_id) == (3, 4)
    assert (result.runs, result.failed_runs) == (4, 2)
    assert result.label == "regression"


def test_fixed_names_the_first_pass_after_the_last_failure():
    result = classify("7.0", "demo61", "sale", attempts(
        ("failed", REV_A), ("failed", REV_B), ("upgraded", REV_C), ("upgraded", REV_C)))
    assert result.failure_class == FIXED and result.fixed_at.run_id == 3
    assert (result.first_failed.run_id, result.last_failed.run_id) == (1, 2)


def test_flaky_names_the_revisions_where_it_went_both_ways():
    result = classify("7.0", "demo61", "sale", attempts(
        ("upgraded", REV_A), ("upgraded", REV_B), ("failed", REV_B)))
    assert result.failure_class == FLAKY and result.flaky_revisions == REV_B
    assert ALWAYS_FAILING.replace("_", " ") == classify(
        "7.0", "demo61", "sale", attempts(("failed", REV_A), ("failed", REV_A))).label


def test_fingerprint_history_says_where_it_was_seen_and_whether_it_is_fixed():
    sale = attempts(("failed", REV_A), ("failed", REV_B), ("upgraded", REV_C))
    crm = attempts(("upgraded", REV_A), ("failed", REV_B), ("failed", REV_C))
    other = [Attempt(1, "2024-05-01T02:00:00+00:00", "failed", REV_A, "fp-2")]
    history = fingerprint_history("fp-1", [
        ("7.0", "demo61", "sale", sale), ("7.0", "big61", "crm", crm),
        ("7.0", "demo61", "stock", other)])
    assert [(s.module, s.runs, s.first_run, s.last_run) for s in history.sightings] == [
        ("sale", 2, 1, 2), ("crm", 2, 2, 3)]
    sale_seen, crm_seen = history.sightings
    assert sale_seen.fixed_at.run_id == 3 and crm_seen.fixed_at is None
    assert not history.fixed and history.runs == 4
    assert history.samples == ("big61", "demo61")
    assert history.first_seen == "2024-05-01T02:00:00+00:00"
    assert history.last_seen == "2024-05-03T02:00:00+00:00"
    assert fingerprint_history("fp-unknown", [("7.0", "demo61", "sale", sale)]) is None


def test_failing_another_way_is_not_fixed():
    steps = attempts(("failed", REV_A), ("failed", REV_B))
    steps[1] = Attempt(2, steps[1].started_at, "failed", REV_B, "fp-other")
    (sighting,) = fingerprint_history("fp-1", [("7.0", "demo61", "sale", steps)]).sightings
    assert sighting.fixed_at is None


def test_the_class_after_each_run_agrees_with_classify_on_every_prefix():
    steps = attempts(("upgraded", REV_A), ("failed", REV_B), ("not_reached", REV_B),
                     ("failed", REV_C), ("upgraded", REV_C), ("failed", REV_C))
    by_run = classes_by_run(steps)
    assert by_run == {2: REGRESSION, 4: REGRESSION, 5: FLAKY, 6: FLAKY}
    for end in range(1, len(steps) + 1):
        decided = classify("7.0", "demo61", "sale", steps[:end])
        last = steps[end - 1]
        if last.outcome != "not_reached":
            assert by_run.get(last.run_id) == (decided.failure_class if decided else None)
    assert classes_by_run(attempts(("failed", REV_A), ("failed", REV_B), ("upgraded", REV_C))) \
        == {1: NEW, 2: ALWAYS_FAILING, 3: FIXED}
