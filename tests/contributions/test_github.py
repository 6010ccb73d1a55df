"""The GitHub client against the loopback server: real HTTP, real requests."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ouhub.contributions.github import GitHub, GitHubError, MemoryCache, RateLimited, next_link
from tests.support.github_server import GitHubServer

TOKEN = "ghp_s3cr3tT0kenValue0123456789"


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        yield server


def _many(gh: GitHubServer, count: int, base: str = "17.0") -> None:
    for n in range(1, count + 1):
        gh.add_pull(n, f"[{base}][OU-ADD] mod{n}: Migration scripts", base=base,
                    created_at=f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z")


def _read_all(client: GitHub, base: str = "17.0") -> list[tuple[list, bool]]:
    return list(client.pulls("open", base))


def test_open_pulls_follow_every_page_of_the_link_header(gh: GitHubServer) -> None:
    _many(gh, 230)
    gh.add_pull(999, "[16.0][OU-ADD] other: Migration scripts", base="16.0")
    pages = _read_all(GitHub(gh.api, gh.repo))
    assert [len(items) for items, _ in pages] == [100, 100, 30]
    numbers = [p.number for items, _ in pages for p in items]
    assert sorted(numbers) == list(range(1, 231))  # the 16.0 one is not in 17.0's list
    assert [s.path.split("page=")[-1] for s in gh.requests_for("/pulls?")][1:] == ["2", "3"]


def test_unchanged_pages_cost_only_conditional_requests(gh: GitHubServer) -> None:
    _many(gh, 230)
    cache = MemoryCache()
    first = GitHub(gh.api, gh.repo, cache=cache)
    before = [p for items, _ in _read_all(first) for p in items]
    second = GitHub(gh.api, gh.repo, cache=cache)
    pages = _read_all(second)
    assert [p for items, _ in pages for p in items] == before
    assert [changed for _, changed in pages] == [False, False, False]
    assert second.stats.requests == second.stats.conditional == second.stats.not_modified == 3
    assert [s.status for s in gh.seen[-3:]] == [304, 304, 304]
    assert all(s.headers.get("If-None-Match") for s in gh.seen[-3:])


def test_a_changed_pull_changes_only_its_page(gh: GitHubServer) -> None:
    _many(gh, 230)
    cache = MemoryCache()
    _read_all(GitHub(gh.api, gh.repo, cache=cache))
    gh.pulls[50].comment("contributor", "2024-03-01T00:00:00Z")  # on the 2nd page (newest first)
    client = GitHub(gh.api, gh.repo, cache=cache)
    pages = _read_all(client)
    assert [changed for _, changed in pages] == [False, True, False]
    assert client.stats.not_modified == 2
    changed = next(p for items, _ in pages for p in items if p.number == 50)
    assert changed.updated_at == "2024-03-01T00:00:00+00:00"


def test_files_reviews_and_timeline_in_the_documented_shapes(gh: GitHubServer) -> None:
    pull = gh.add_pull(5002, "[17.0][OU-ADD] project: Migration scripts", base="17.0",
                       author="alice", labels=["Dependency OK"])
    for n in range(130):
        pull.add_file(f"openupgrade_scripts/scripts/project/17.0.1.3/file{n}.py")
    pull.add_file("docsource/modules160-170.rst", status="modified",
                  patch="@@ -1 +1 @@\n-|project |  |\n+|project |Done |")
    pull.push("2024-02-01T00:00:00Z")
    pull.label("maintainer", "2024-02-02T00:00:00Z", "needs review")
    pull.comment("OCA-git-bot", "2024-02-03T00:00:00Z", "hi", bot=True)
    pull.review("bob", "CHANGES_REQUESTED", "2024-02-04T00:00:00Z")
    client = GitHub(gh.api, gh.repo)
    files = client.files(5002)
    assert len(files) == 131
    assert files[-1].patch.endswith("+|project |Done |")
    reviews = client.reviews(5002)
    assert [(r.reviewer, r.state) for r in reviews] == [("bob", "CHANGES_REQUESTED")]
    events = client.timeline(5002)
    assert [(e.kind, e.actor, e.is_bot) for e in events] == [
        ("committed", "alice", False), ("labeled", "maintainer", False),
        ("commented", "OCA-git-bot", True), ("reviewed", "bob", False),
    ]
    single = client.pull(5002)
    assert (single.author, single.labels, single.work_state) == (
        "alice", ("Dependency OK", "needs review"), "open")


def test_merged_and_closed_pulls(gh: GitHubServer) -> None:
    gh.add_pull(1, "a: x", base="17.0").close("2024-02-01T00:00:00Z", merged=True)
    gh.add_pull(2, "b: x", base="17.0").close("2024-02-02T00:00:00Z")
    pulls = [p for items, _ in GitHub(gh.api, gh.repo).pulls("closed", "17.0") for p in items]
    assert [(p.number, p.work_state) for p in pulls] == [(2, "closed"), (1, "merged")]
    assert "sort=updated" in gh.seen[-1].path and "direction=desc" in gh.seen[-1].path


def test_tracking_issue_is_found_by_its_exact_title(gh: GitHubServer) -> None:
    gh.add_issue(10, "Migration to version 17.0 (old)", "", state="closed")
    gh.add_issue(4124, "Migration to version 17.0", "- [x] project - By @alice - #5002")
    client = GitHub(gh.api, gh.repo)
    issue = client.find_issue("Migration to version 17.0")
    assert issue is not None and issue.number == 4124
    assert client.issue(4124).body.startswith("- [x] project")
    assert client.find_issue("Migration to version 99.0") is None


def test_primary_rate_limit_stops_with_when_to_resume(gh: GitHubServer) -> None:
    _many(gh, 230)
    gh.limit_after = 2
    client = GitHub(gh.api, gh.repo)
    got = []
    with pytest.raises(RateLimited) as caught:
        for items, _ in client.pulls("open", "17.0"):
            got.append(items)
    assert len(got) == 2  # what came before the limit was handed over
    error = caught.value
    assert error.resume_at == gh.reset_at.replace(microsecond=0)
    assert f"{gh.reset_at:%Y-%m-%d %H:%M} UTC" in error.message
    assert "anonymously (60 requests an hour)" in error.message
    assert "token" in (error.hint or "")
    assert gh.seen[-1].status == 403


def test_secondary_rate_limit_with_retry_after(gh: GitHubServer) -> None:
    _many(gh, 3)
    gh.limit_after, gh.retry_after = 0, 120
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    client = GitHub(gh.api, gh.repo, token=TOKEN, clock=lambda: now)
    with pytest.raises(RateLimited) as caught:
        _read_all(client)
    assert caught.value.resume_at == now + timedelta(seconds=120)
    assert "2025-06-01 12:02 UTC (in 2 min)" in caught.value.message
    assert "with the token" in caught.value.message
    assert gh.seen[-1].status == 429


@pytest.mark.parametrize("body, said", [
    ("<html>Unicorn!</html>", "not JSON"),
    ('{"message": "an object, not a list"}', "expected a JSON array"),
    ('[{"title": "no number", "state": "open"}]', "lacking a valid"),
    ('[{"number": 1, "state": "open", "title": "t", "user": {"login": "a"}, '
     '"created_at": "yesterday", "updated_at": "2024-01-01T00:00:00Z", '
     '"base": {"ref": "17.0"}, "head": {"sha": "x"}, "html_url": "u"}]', "lacking a valid"),
])
def test_a_malformed_body_is_a_clear_error_and_not_cached(
    gh: GitHubServer, body: str, said: str
) -> None:
    gh.malformed[f"/repos/{gh.repo}/pulls"] = body
    cache = MemoryCache()
    with pytest.raises(GitHubError) as caught:
        _read_all(GitHub(gh.api, gh.repo, cache=cache))
    assert said in caught.value.message
    assert f"/repos/{gh.repo}/pulls?base=17.0" in caught.value.message
    assert cache.entries == {}  # the next run asks again instead of trusting it


def test_token_is_sent_and_never_said(gh: GitHubServer, caplog: pytest.LogCaptureFixture) -> None:
    gh.token = TOKEN
    gh.add_pull(1, "a: b", base="17.0")
    caplog.set_level(logging.DEBUG)
    client = GitHub(gh.api, gh.repo, token=TOKEN)
    _read_all(client)
    assert gh.seen[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert client.rate.limit == 5000
    wrong = GitHub(gh.api, gh.repo, token=TOKEN[::-1])
    with pytest.raises(GitHubError) as caught:
        _read_all(wrong)
    assert "HTTP 401 (Bad credentials)" in caught.value.message
    assert "token_env" in (caught.value.hint or "")
    said = caught.value.message + (caught.value.hint or "") + caplog.text
    assert TOKEN not in said and TOKEN[::-1] not in said


def test_anonymous_client_sends_no_authorization(gh: GitHubServer) -> None:
    gh.add_pull(1, "a: b", base="17.0")
    client = GitHub(gh.api, gh.repo)
    _read_all(client)
    assert "Authorization" not in gh.seen[-1].headers
    assert (client.authenticated, client.rate.limit) == (False, 60)


def test_unknown_repository_and_unreachable_api(gh: GitHubServer) -> None:
    with pytest.raises(GitHubError) as caught:
        _read_all(GitHub(gh.api, "OCA/NoSuchRepo"))
    assert "HTTP 404" in caught.value.message and "owner/repo" in (caught.value.hint or "")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GitHubError) as caught:
        _read_all(GitHub(f"http://127.0.0.1:{port}", gh.repo, timeout=2))
    assert f"127.0.0.1:{port} is unreachable" in caught.value.message


@pytest.mark.parametrize("header, expected", [
    ('<https://api.github.com/r?page=2>; rel="next", <https://api.github.com/r?page=9>; '
     'rel="last"', "https://api.github.com/r?page=2"),
    ('<https://api.github.com/r?page=1>; rel="prev", <https://api.github.com/r?page=3>; '
     'rel="next"', "https://api.github.com/r?page=3"),
    ('<https://api.github.com/r?page=1>; rel="first"', None),
    ("", None),
])
def test_next_link(header: str, expected: str | None) -> None:
    assert next_link(header) == expected
