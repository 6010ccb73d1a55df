"""The contributions stage against the loopback GitHub (and Launchpad): collect, store, match."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ouhub import config as config_mod
from ouhub.contributions.report import load_report
from ouhub.contributions.stage import run_contributions
from ouhub.errors import ConfigError
from ouhub.store import Store
from tests.support.config import make_config
from tests.support.fill import module, scan
from tests.support.github_server import GitHubServer

NOW = datetime(2024, 9, 1, tzinfo=UTC)
TOKEN_ENV = "OUHUB_TEST_GITHUB_TOKEN"
TRACKING = "- [ ] sale - By @dave - #4900\n- [x] project - By @alice - #5002\n- [ ] mrp\n"
SCRIPTS = "openupgrade_scripts/scripts/{}/{}.1.0/post-migration.py"


def fill(gh: GitHubServer) -> None:
    """A small OpenUpgrade: work in progress, a duplicate, a merge, docs, a stale one."""
    alice = gh.add_pull(5002, "[17.0][OU-ADD] project: Migration scripts", base="17.0",
                        author="alice", created_at="2024-08-01T00:00:00Z",
                        labels=["Dependency OK"])
    alice.add_file(SCRIPTS.format("project", "17.0"))
    alice.add_file("docsource/modules160-170.rst", status="modified",
                   patch="@@ -1 +1 @@\n-|project | |\n+|project |Done |")
    alice.push("2024-08-02T00:00:00Z")
    alice.review("bob", "CHANGES_REQUESTED", "2024-08-03T00:00:00Z")
    alice.comment("OCA-git-bot", "2024-08-04T00:00:00Z", "bot says hi", bot=True)
    carol = gh.add_pull(5010, "[17.0][OU-ADD] project: migration", base="17.0", author="carol",
                        created_at="2024-08-10T00:00:00Z")
    carol.add_file(SCRIPTS.format("project", "17.0"))
    merged = gh.add_pull(4900, "[17.0][OU-ADD] sale: Migration scripts", base="17.0",
                         author="dave", created_at="2024-06-01T00:00:00Z")
    merged.add_file(SCRIPTS.format("sale", "17.0"))
    merged.close("2024-07-01T00:00:00Z", merged=True)
    gh.add_pull(4950, "[17.0][DOC] Fix a typo", base="17.0", author="erin",
                created_at="2024-08-20T00:00:00Z").add_file("README.md")
    old = gh.add_pull(4800, "[16.0][OU-ADD] stock: Migration scripts", base="16.0",
                      author="frank", created_at="2024-01-01T00:00:00Z")
    old.add_file(SCRIPTS.format("stock", "16.0"))
    gh.add_pull(4999, "[master] something else", base="master", created_at="2024-08-01T00:00:00Z")
    gh.add_issue(4124, "Migration to version 17.0", TRACKING)


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        fill(server)
        yield server


def _config(tmp_path: Path, gh: GitHubServer, **extra: object) -> config_mod.Config:
    branch = "https://github.com/OCA/OpenUpgrade.git,branch={}"
    return make_config(
        tmp_path, {"16.0": {"openupgrade": branch.format("16.0")},
                   "17.0": {"openupgrade": branch.format("17.0")}},
        contributions={"api": gh.api, "token_env": TOKEN_ENV, "stale_days": 120, **extra},
    )


@pytest.fixture
def setup(tmp_path: Path, gh: GitHubServer, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[config_mod.Config, Store]]:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = _config(tmp_path, gh)
    with Store.open(config.store_path) as store:
        scan(store, "17.0", "16.0", [module("17.0", m, "todo") for m in
                                     ("project", "sale", "mrp", "stock")])
        yield config, store


def test_first_collection_stores_and_matches_the_work(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    result = run_contributions(config, store, now=NOW)
    assert result.ok and result.anonymous and result.pending == 0
    assert "reading GitHub anonymously (60 requests an hour)" in result.notes[0]
    assert result.pulls == 5  # the pull into master is not asked for
    assert [(r.release, r.open, r.tracking) for r in result.releases] == [
        ("16.0", 1, None), ("17.0", 3, 4124)]
    report = load_report(store, 120, NOW)
    by = {(w.ref, w.module): w for w in report.works}
    assert sorted(by) == [("#4800", "stock"), ("#4900", "sale"), ("#4950", None),
                          ("#5002", "project"), ("#5010", "project")]
    alice = by[("#5002", "project")]
    assert [e.kind for e in alice.evidence] == ["base", "scripts", "docsource", "tracking",
                                                "title"]
    assert alice.declared_status == "done" and alice.labels == ("Dependency OK",)
    assert (alice.changes_requested, alice.next_actor) == (1, "author")
    assert alice.last_author_activity == "2024-08-02T00:00:00+00:00"  # not the bot's comment
    assert alice.duplicates == ("#5010",) and by[("#5010", "project")].duplicates == ("#5002",)
    assert by[("#4800", "stock")].stale and not alice.stale
    assert by[("#4900", "sale")].state == "merged"
    assert [(d.module, d.kind) for d in report.drift] == [
        ("sale", "merged_unticked"), ("project", "ticked_unmerged")]
    assert [w.ref for w in report.waiting_for_review("17.0")] == ["#5010", "#4950"]  # oldest first
    event = store.last_stage_events()["contributions"]
    assert event.ok and event.summary["pulls"] == 5 and event.summary["anonymous"] == 1


def test_unchanged_repository_costs_only_conditional_requests(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    run_contributions(config, store, now=NOW)
    before = len(gh.seen)
    again = run_contributions(config, store, now=NOW)
    asked = gh.seen[before:]
    assert asked and all(s.status == 304 for s in asked)
    assert all(s.headers.get("If-None-Match") for s in asked)
    assert again.requests["requests"] == again.requests["not_modified"] == len(asked)
    assert not any("/files" in s.path or "/timeline" in s.path for s in asked)


def test_only_changed_pulls_are_read_again(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    run_contributions(config, store, now=NOW)
    before = len(gh.seen)
    gh.pulls[5002].push("2024-08-05T00:00:00Z")  # a new head: files again
    gh.pulls[5010].comment("carol", "2024-08-11T00:00:00Z")  # same head: activity only
    gh.pulls[5010].close("2024-08-12T00:00:00Z")  # and closed since the last collection
    run_contributions(config, store, now=NOW)
    asked = [s.path.split("?")[0].rsplit("OpenUpgrade/", 1)[1] for s in gh.seen[before:]
             if s.status == 200]
    # the lists that changed, then: 5002's files and timeline (its reviews answer 304),
    # 5010's timeline once closed (why it was closed); nothing of the others
    assert sorted(p for p in asked if p != "pulls") == [
        "issues/5002/timeline", "issues/5010/timeline", "pulls/5002/files"]
    by = {(w.ref, w.module): w for w in load_report(store, 120, NOW).works}
    assert by[("#5010", "project")].state == "closed"
    assert by[("#5010", "project")].superseded_by is None  # closed, nothing newer
    assert by[("#5002", "project")].next_actor == "reviewers"  # the author pushed since
    assert by[("#5002", "project")].duplicates == ()


def test_an_open_pull_moved_to_another_branch_is_read_alone(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    run_contributions(config, store, now=NOW)
    gh.pulls[5010].base = "master"
    gh.changed()
    run_contributions(config, store, now=NOW)
    assert any(s.path.endswith("/pulls/5010") for s in gh.seen)
    refs = {w.ref for w in load_report(store, 120, NOW).works}
    assert "#5010" not in refs


def test_rate_limit_stops_keeps_and_resumes(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    gh.limit_after = 7  # the lists and tracking issues pass, the details do not
    stopped = run_contributions(config, store, now=NOW)
    assert not stopped.ok and stopped.resume_at is not None
    assert "it can resume after" in stopped.stopped and stopped.pending > 0
    assert stopped.pulls == 5  # what was listed is kept
    assert store.last_stage_events()["contributions"].ok is False
    asked = len(gh.seen)
    waiting = run_contributions(config, store, now=NOW)  # before the reset: GitHub not asked
    assert len(gh.seen) == asked and "resumes after" in waiting.stopped
    gh.limit_after = None
    later = datetime.fromisoformat(stopped.resume_at) + timedelta(seconds=1)
    done = run_contributions(config, store, now=later)
    assert done.ok and done.pending == 0 and done.resume_at is None
    assert {w.ref for w in load_report(store, 120, later).works} >= {"#5002", "#5010"}


def test_malformed_files_of_one_pull_spare_the_others(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    gh.malformed[f"/repos/{gh.repo}/pulls/5010/files"] = '{"not": "a list"}'
    result = run_contributions(config, store, now=NOW)
    assert not result.ok and result.pending == 1
    assert result.errors[0].startswith("#5010: GitHub answered")
    assert "expected a JSON array" in result.errors[0]
    stored = {s.pull.number: s for s in store.contribution_pulls()}
    assert stored[5010].files is None and "expected a JSON array" in stored[5010].error
    assert stored[5002].files is not None
    del gh.malformed[f"/repos/{gh.repo}/pulls/5010/files"]
    assert run_contributions(config, store, now=NOW).ok
    assert {s.pull.number: s for s in store.contribution_pulls()}[5010].error is None


def test_a_malformed_list_is_that_release_s_error(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    run_contributions(config, store, now=NOW)
    gh.malformed[f"/repos/{gh.repo}/pulls"] = "<html>Unicorn!</html>"
    result = run_contributions(config, store, now=NOW)
    assert not result.ok
    assert [r.release for r in result.releases if r.error] == ["16.0", "17.0"]
    assert "not JSON" in result.errors[0]
    assert len(load_report(store, 120, NOW).works) == 5  # nothing stored was lost


def test_the_token_never_reaches_logs_or_store(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    config, store = setup
    token = "ghp_n0tInTh3St0r3EverPlease"
    monkeypatch.setenv(TOKEN_ENV, token)
    gh.token = token
    caplog.set_level(logging.DEBUG)
    result = run_contributions(config, store, now=NOW)
    assert result.ok and not result.anonymous and not result.notes
    assert gh.seen[0].headers["Authorization"] == f"Bearer {token}"
    store.close()
    data = b"".join(p.read_bytes() for p in config.store_path.parent.glob("ouhub.sqlite*"))
    assert token.encode() not in data and token not in caplog.text


def test_stage_needs_its_table(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"17.0": {"openupgrade": "https://x.test/y.git"}})
    with Store.open(config.store_path) as store, pytest.raises(ConfigError) as caught:
        run_contributions(config, store)
    assert "[contributions]" in caught.value.message


def test_a_deleted_tracking_issue_is_searched_again(
    setup: tuple[config_mod.Config, Store], gh: GitHubServer
) -> None:
    config, store = setup
    run_contributions(config, store, now=NOW)
    del gh.issues[4124]
    gh.add_issue(5555, "Migration to version 17.0", "- [x] sale - By @dave - #4900")
    result = run_contributions(config, store, now=NOW)
    assert result.ok and dict((r.release, r.tracking) for r in result.releases)["17.0"] == 5555
    assert load_report(store, 120, NOW).drift == ()  # sale's line is ticked now
