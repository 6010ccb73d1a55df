"""A loopback GitHub REST API: the documented JSON shapes over real HTTP on 127.0.0.1.

It serves one repository's pull requests (list, single, files, reviews), issues and
their timelines, and the issue search, the way api.github.com does: pages of
``per_page`` items linked by a ``Link`` header (``rel="next"``, ``rel="last"``),
an ``ETag`` on every 200 and a bodiless ``304`` when ``If-None-Match`` matches, the
``X-RateLimit-*`` headers, ``403`` (or ``429`` with ``Retry-After``) once the limit is
spent, ``401 Bad credentials`` for a wrong token. Bodies are cached per URL until
the data changes, so a large repository answers its conditional requests quickly.

Usage::

    with GitHubServer() as gh:
        pull = gh.add_pull(5002, "[17.0][OU-ADD] project: Migration scripts", base="17.0")
        pull.add_file("openupgrade_scripts/scripts/project/17.0.1.3/post-migration.py")
        GitHub(gh.api, gh.repo).pulls("open", "17.0")
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_REPO = "OCA/OpenUpgrade"
START = datetime(2024, 1, 1, tzinfo=UTC)


def iso(moment: datetime | str) -> str:
    """GitHub's timestamp form: ``2024-01-01T00:00:00Z``."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(login: str, bot: bool = False) -> dict[str, Any]:
    return {
        "login": login, "id": abs(hash(login)) % 10**8, "node_id": f"U_{login}",
        "avatar_url": f"https://avatars.example.test/{login}", "gravatar_id": "",
        "url": f"https://api.github.test/users/{login}",
        "html_url": f"https://github.test/{login}", "type": "Bot" if bot else "User",
        "site_admin": False,
    }


@dataclass
class FakePull:
    server: GitHubServer
    number: int
    title: str
    base: str
    author: str
    created_at: str
    updated_at: str
    state: str = "open"
    draft: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    body: str | None = None
    labels: list[str] = field(default_factory=list)
    head_sha: str = ""
    author_bot: bool = False
    html_url: str | None = None  # instead of the server's own (a hostile one, say)
    files: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    # -- changes, each bumping updated_at as GitHub does ----------------------------------------

    def _touch(self, at: str) -> None:
        self.updated_at = max(self.updated_at, iso(at))
        self.server.changed()

    def add_file(self, filename: str, patch: str | None = None, status: str = "added",
                 additions: int = 1, deletions: int = 0) -> None:
        self.files.append({
            "sha": hashlib.sha1(filename.encode()).hexdigest(), "filename": filename,
            "status": status, "additions": additions, "deletions": deletions,
            "changes": additions + deletions,
            "blob_url": f"https://github.test/{self.server.repo}/blob/{self.head_sha}/{filename}",
            "raw_url": f"https://github.test/{self.server.repo}/raw/{self.head_sha}/{filename}",
            "contents_url": f"{self.server.api}/repos/{self.server.repo}/contents/{filename}",
            **({"patch": patch} if patch is not None else {}),
        })
        self.server.changed()

    def push(self, at: str, name: str | None = None, sha: str | None = None) -> None:
        """A new commit on the head branch: a new head sha and a ``committed`` event."""
        self.head_sha = sha or hashlib.sha1(f"{self.number}{at}{name}".encode()).hexdigest()
        who = name or self.author
        person = {"name": who, "email": f"{who}@example.test", "date": iso(at)}
        self.timeline.append({
            "sha": self.head_sha, "node_id": f"C_{self.head_sha[:8]}",
            "url": f"{self.server.api}/repos/{self.server.repo}/git/commits/{self.head_sha}",
            "html_url": f"https://github.test/{self.server.repo}/commit/{self.head_sha}",
            "author": person, "committer": person,
            "tree": {"sha": "0" * 40, "url": ""}, "message": "[OU-ADD] scripts", "parents": [],
            "verification": {"verified": False, "reason": "unsigned", "signature": None,
                             "payload": None},
            "event": "committed",
        })
        self._touch(at)

    def comment(self, login: str, at: str, body: str = "ping", bot: bool = False) -> None:
        self.timeline.append({
            "url": f"{self.server.api}/repos/{self.server.repo}/issues/comments/1",
            "html_url": f"https://github.test/{self.server.repo}/pull/{self.number}#c",
            "issue_url": f"{self.server.api}/repos/{self.server.repo}/issues/{self.number}",
            "id": len(self.timeline) + 1, "node_id": "IC_x", "user": _user(login, bot),
            "created_at": iso(at), "updated_at": iso(at), "author_association": "CONTRIBUTOR",
            "body": body, "event": "commented", "actor": _user(login, bot),
        })
        self._touch(at)

    def label(self, login: str, at: str, name: str, bot: bool = False) -> None:
        self.labels.append(name)
        self.timeline.append({
            "id": len(self.timeline) + 1, "node_id": "LE_x",
            "url": f"{self.server.api}/repos/{self.server.repo}/issues/events/1",
            "actor": _user(login, bot), "event": "labeled", "commit_id": None,
            "commit_url": None, "created_at": iso(at), "label": {"name": name, "color": "ccc"},
            "performed_via_github_app": None,
        })
        self._touch(at)

    def review(self, login: str, state: str, at: str, body: str = "") -> None:
        """A submitted review (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED)."""
        review = {
            "id": len(self.reviews) + 1, "node_id": "PRR_x", "user": _user(login),
            "body": body, "state": state,
            "html_url": f"https://github.test/{self.server.repo}/pull/{self.number}#r",
            "pull_request_url": f"{self.server.api}/repos/{self.server.repo}/pulls/{self.number}",
            "author_association": "MEMBER", "_links": {}, "submitted_at": iso(at),
            "commit_id": self.head_sha,
        }
        self.reviews.append(review)
        self.timeline.append({**review, "state": state.lower(), "event": "reviewed"})
        self._touch(at)

    def close(self, at: str, merged: bool = False) -> None:
        self.state = "closed"
        self.closed_at = iso(at)
        self.merged_at = iso(at) if merged else None
        self._touch(at)

    # -- representations ------------------------------------------------------------------------

    def simple(self) -> dict[str, Any]:
        """The pull-request-simple object of the pulls list."""
        server, number = self.server, self.number
        api = f"{server.api}/repos/{server.repo}"
        head_owner = self.author
        return {
            "url": f"{api}/pulls/{number}", "id": number * 7, "node_id": f"PR_{number}",
            "html_url": self.html_url or f"https://github.test/{server.repo}/pull/{number}",
            "diff_url": f"https://github.test/{server.repo}/pull/{number}.diff",
            "patch_url": f"https://github.test/{server.repo}/pull/{number}.patch",
            "issue_url": f"{api}/issues/{number}", "commits_url": f"{api}/pulls/{number}/commits",
            "review_comments_url": f"{api}/pulls/{number}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "statuses_url": f"{api}/statuses/{self.head_sha}", "number": number,
            "state": self.state, "locked": False, "title": self.title,
            "user": _user(self.author, self.author_bot), "body": self.body,
            "labels": [{"id": i, "node_id": f"L_{i}", "url": "", "name": name,
                        "description": None, "color": "ededed", "default": False}
                       for i, name in enumerate(self.labels)],
            "milestone": None, "active_lock_reason": None, "created_at": self.created_at,
            "updated_at": self.updated_at, "closed_at": self.closed_at,
            "merged_at": self.merged_at, "merge_commit_sha": None, "assignee": None,
            "assignees": [], "requested_reviewers": [], "requested_teams": [],
            "head": {"label": f"{head_owner}:{self.base}-mig-{number}",
                     "ref": f"{self.base}-mig-{number}", "sha": self.head_sha,
                     "user": _user(head_owner), "repo": None},
            "base": {"label": f"{server.repo.split('/')[0]}:{self.base}", "ref": self.base,
                     "sha": "b" * 40, "user": _user(server.repo.split("/")[0]), "repo": None},
            "_links": {}, "author_association": "CONTRIBUTOR", "auto_merge": None,
            "draft": self.draft,
        }


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    state: str = "open"
    updated_at: str = iso(START)

    def representation(self, server: GitHubServer) -> dict[str, Any]:
        api = f"{server.api}/repos/{server.repo}"
        return {
            "url": f"{api}/issues/{self.number}", "repository_url": api,
            "labels_url": f"{api}/issues/{self.number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{self.number}/comments",
            "events_url": f"{api}/issues/{self.number}/events",
            "html_url": f"https://github.test/{server.repo}/issues/{self.number}",
            "id": self.number * 11, "node_id": f"I_{self.number}", "number": self.number,
            "title": self.title, "user": _user("legalsylvain"), "labels": [],
            "state": self.state, "locked": False, "assignee": None, "assignees": [],
            "milestone": None, "comments": 0, "created_at": iso(START),
            "updated_at": self.updated_at, "closed_at": None, "author_association": "MEMBER",
            "active_lock_reason": None, "body": self.body,
        }


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    status: int


class GitHubServer:
    """An HTTP server on 127.0.0.1 speaking GitHub's REST API for one repository."""

    def __init__(self, repo: str = DEFAULT_REPO, token: str | None = None) -> None:
        self.repo = repo
        self.token = token  # when set, requests with another token get 401
        self.pulls: dict[int, FakePull] = {}
        self.issues: dict[int, FakeIssue] = {}
        self.seen: list[Seen] = []
        self.limit_after: int | None = None  # answer 403 (rate limit) after this many
        self.retry_after: int | None = None  # with limit_after: a 429 with Retry-After instead
        self.malformed: dict[str, str] = {}  # path (no query) -> body served instead
        self.reset_at = datetime.now(UTC) + timedelta(minutes=40)
        self._served = 0
        self._version = 0
        self._bodies: dict[str, tuple[int, bytes, str, str]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- data ---------------------------------------------------------------------------------

    def changed(self) -> None:
        self._version += 1

    def add_pull(
        self, number: int, title: str, base: str, author: str = "contributor",
        created_at: datetime | str = START, **kw: Any,
    ) -> FakePull:
        pull = FakePull(self, number, title, base, author, iso(created_at), iso(created_at), **kw)
        if not pull.head_sha:
            pull.head_sha = hashlib.sha1(f"head-{number}".encode()).hexdigest()
        self.pulls[number] = pull
        self.changed()
        return pull

    def add_issue(self, number: int, title: str, body: str, **kw: Any) -> FakeIssue:
        issue = FakeIssue(number, title, body, **kw)
        self.issues[number] = issue
        self.changed()
        return issue

    def requests_for(self, fragment: str) -> list[Seen]:
        return [s for s in self.seen if fragment in s.path]

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as requests' Session expects
            # one write per response, sent at once: without these a response's headers and
            # body go out apart and the client waits on a delayed ACK (20 ms a request)
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self.api

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- serving ------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in request.headers.items()}
        with self._lock:
            status, body, extra = self._answer(request.path, headers)
            self.seen.append(Seen(request.path, headers, status))
        request.send_response(status)
        for key, value in extra.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if body:
            request.wfile.write(body)

    def _rate_headers(self, authenticated: bool) -> dict[str, str]:
        limit = 5000 if authenticated else 60
        remaining = limit - self._served
        if self.limit_after is not None:
            remaining = max(0, self.limit_after - self._served)
        return {
            "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(int(self.reset_at.timestamp())),
            "X-RateLimit-Used": str(self._served), "X-RateLimit-Resource": "core",
        }

    def _answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        auth = headers.get("Authorization")
        if self.token is not None and auth is not None and auth != f"Bearer {self.token}":
            return self._json(401, {"message": "Bad credentials",
                                    "documentation_url": "https://docs.github.com/rest"})
        rate = self._rate_headers(auth is not None)
        if self.limit_after is not None and self._served >= self.limit_after:
            message = {"message": "API rate limit exceeded for 127.0.0.1.",
                       "documentation_url": "https://docs.github.com/rest/rate-limit"}
            if self.retry_after is not None:
                return self._json(429, message, {**rate, "Retry-After": str(self.retry_after)})
            return self._json(403, message, {**rate, "X-RateLimit-Remaining": "0"})
        parts = urlsplit(raw_path)
        if parts.path in self.malformed:
            self._served += 1
            body = self.malformed[parts.path].encode()
            return 200, body, {**rate, "Content-Type": "application/json; charset=utf-8"}
        cached = self._bodies.get(raw_path)
        if cached is None or cached[0] != self._version:
            try:
                status, document, link = self._route(parts.path, parse_qs(parts.query), raw_path)
            except LookupError:
                return self._json(404, {"message": "Not Found"}, rate)
            body = json.dumps(document).encode()
            etag = f'"{hashlib.sha1(body).hexdigest()}"'
            cached = (self._version, body, etag, link)
            self._bodies[raw_path] = cached
        _version, body, etag, link = cached
        extra = {**rate, "ETag": etag, "Content-Type": "application/json; charset=utf-8",
                 "Cache-Control": "private, max-age=60, s-maxage=60"}
        if link:
            extra["Link"] = link
        if headers.get("If-None-Match") == etag:
            if auth is None:  # GitHub spares only authorized 304s from the limit
                self._served += 1
            return 304, b"", extra
        self._served += 1
        return 200, body, extra

    @staticmethod
    def _json(status: int, document: Any, extra: dict[str, str] | None = None
              ) -> tuple[int, bytes, dict[str, str]]:
        return status, json.dumps(document).encode(), {
            **(extra or {}), "Content-Type": "application/json; charset=utf-8"}

    def _page(self, items: list[Any], query: dict[str, list[str]], path: str
              ) -> tuple[int, list[Any], str]:
        per_page = min(100, int(query.get("per_page", ["30"])[0]))
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        links = []
        flat = {k: v[0] for k, v in query.items()}

        def url(number: int) -> str:
            return f"{self.api}{path}?{urlencode({**flat, 'page': number})}"

        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        return 200, items[(page - 1) * per_page: page * per_page], ", ".join(links)

    def _route(self, path: str, query: dict[str, list[str]], raw: str
               ) -> tuple[int, Any, str]:
        prefix = f"/repos/{self.repo}/"
        if path == "/search/issues":
            return 200, self._search(query.get("q", [""])[0]), ""
        if not path.startswith(prefix):
            raise LookupError(path)
        rest = path[len(prefix):].strip("/").split("/")
        if rest == ["pulls"]:
            return self._page(self._list(query), query, path)
        if rest[0] == "pulls" and len(rest) >= 2:
            pull = self.pulls.get(int(rest[1])) if rest[1].isdigit() else None
            if pull is None:
                raise LookupError(path)
            if len(rest) == 2:
                return 200, {**pull.simple(), "merged": pull.merged_at is not None}, ""
            if rest[2:] == ["files"]:
                return self._page(pull.files, query, path)
            if rest[2:] == ["reviews"]:
                return self._page(pull.reviews, query, path)
        if rest[0] == "issues" and len(rest) >= 2 and rest[1].isdigit():
            number = int(rest[1])
            if len(rest) == 2 and number in self.issues:
                return 200, self.issues[number].representation(self), ""
            if rest[2:] == ["timeline"] and number in self.pulls:
                return self._page(self.pulls[number].timeline, query, path)
        raise LookupError(path)

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        state = query.get("state", ["open"])[0]
        base = query.get("base", [None])[0]
        pulls = [p for p in self.pulls.values()
                 if (state == "all" or p.state == state) and (base is None or p.base == base)]
        sort = query.get("sort", ["created"])[0]
        descending = query.get("direction", ["desc"])[0] == "desc"
        key = (lambda p: (p.updated_at, p.number)) if sort == "updated" else (
            lambda p: (p.created_at, p.number))
        return [p.simple() for p in sorted(pulls, key=key, reverse=descending)]

    def _search(self, q: str) -> dict[str, Any]:
        phrase = re.search(r'"([^"]*)"', q)
        wanted = phrase.group(1).lower() if phrase else ""
        items = [i.representation(self) for i in self.issues.values()
                 if wanted in i.title.lower()]
        return {"total_count": len(items), "incomplete_results": False, "items": items}
