"""GitHub's REST API through requests: conditional GETs, paging, rate limits.

Every GET is conditional when a stored ETag exists (``If-None-Match``); a ``304``
hands back the stored body, so an unchanged repository costs only conditional
requests (which GitHub does not count against an authenticated client's limit).
Pages are followed through the ``Link`` header's ``rel="next"``, never by counting.

On ``403``/``429`` with ``X-RateLimit-Remaining: 0`` or ``Retry-After`` the client
raises ``RateLimited`` with the time it may resume; the stage keeps what it had.
The token goes into the ``Authorization`` header and nowhere else: not into a
message, a log line, the cache or the store.

The JSON shapes read here are GitHub's documented ones (pull-request-simple,
diff-entry, pull-request-review, timeline events, issue); ``pull_of`` and friends
turn them into records, and a body of the wrong shape raises ``GitHubError``
naming the URL, never a KeyError.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

from ouhub.errors import ContributionsError
from ouhub.records import CachedResponse, Issue, Pull, PullFile

if TYPE_CHECKING:
    import requests

log = logging.getLogger("ouhub.contributions")

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
TIMEOUT = 30.0
ANONYMOUS_LIMIT = 60  # requests an hour per address, GitHub's documented figure
TOKEN_LIMIT = 5000


class GitHubError(ContributionsError):
    """A request GitHub answered with an error, or a body that is not what it documents."""

    status: int | None = None  # the HTTP status GitHub answered with, when it is one


class GitHubNotFound(GitHubError):
    status = 404


class GitHubUnavailable(GitHubError):
    """GitHub cannot be asked anything now (unreachable, the token refused): stop collecting."""


class RateLimited(GitHubUnavailable):
    """GitHub's rate limit is reached: nothing more may be asked before ``resume_at``."""

    def __init__(self, message: str, resume_at: datetime, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.resume_at = resume_at


# -- records and the conditional cache ----------------------------------------------------------


@dataclass(frozen=True)
class Review:
    reviewer: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    submitted_at: str
    is_bot: bool = False


@dataclass(frozen=True)
class TimelineEvent:
    """One timeline event: its kind (committed, commented, labeled...), who, when."""

    kind: str
    actor: str
    at: str
    is_bot: bool = False
    body: str = ""


class ConditionalCache(Protocol):
    def lookup(self, url: str) -> CachedResponse | None: ...

    def save(self, url: str, cached: CachedResponse) -> None: ...


class MemoryCache:
    """A ConditionalCache in a dict (tests, the bench; the stage uses the store's)."""

    def __init__(self) -> None:
        self.entries: dict[str, CachedResponse] = {}

    def lookup(self, url: str) -> CachedResponse | None:
        return self.entries.get(url)

    def save(self, url: str, cached: CachedResponse) -> None:
        self.entries[url] = cached


@dataclass
class RequestStats:
    """What a collection cost: every request, those sent with an ETag, the 304s."""

    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "conditional": self.conditional,
            "not_modified": self.not_modified, "by_kind": dict(sorted(self.by_kind.items())),
        }


@dataclass(frozen=True)
class RateStatus:
    limit: int | None = None
    remaining: int | None = None
    reset: datetime | None = None


# -- the client -----------------------------------------------------------------------------------


_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a Link header, or None.

    >>> next_link('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"')
    'https://api.github.com/x?page=2'
    >>> next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    True
    """
    for part in header.split(","):
        match = _NEXT.search(part)
        if match:
            return match.group(1)
    return None


class GitHub:
    """One repository on a GitHub API root, read with conditional requests."""

    def __init__(
        self, api: str, repo: str, token: str | None = None,
        cache: ConditionalCache | None = None, session: requests.Session | None = None,
        timeout: float = TIMEOUT, clock: Callable[[], datetime] | None = None,
    ):
        import requests

        self.api = api.rstrip("/")
        self.repo = repo
        self.authenticated = bool(token)
        self.cache: ConditionalCache = cache if cache is not None else MemoryCache()
        self.stats = RequestStats()
        self.rate = RateStatus()
        self.timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self._session = session or requests.Session()
        self._session.headers.update({
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "ouhub",
        })
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL of a repository path, query keys sorted (one cache key per URL)."""
        url = f"{self.api}/repos/{self.repo}/{path.lstrip('/')}" if not path.startswith("/") \
            else f"{self.api}{path}"
        if params:
            url += "?" + urlencode(sorted(params.items()))
        return url

    def get(self, url: str, kind: str = "other", remember: bool = True) -> tuple[Any, str, bool]:
        """GET ``url``: (parsed JSON, Link header, changed) where ``changed`` is False on a 304.

        ``remember``: keep the body and its ETag for the next conditional request (worth it
        for what is asked again unchanged: lists, reviews, issues; not for a head's files).
        """
        import requests

        cached = self.cache.lookup(url)
        headers = {"If-None-Match": cached.etag} if cached else {}
        self.stats.requests += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        if cached:
            self.stats.conditional += 1
        try:
            response = self._session.get(url, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GitHubUnavailable(
                f"GitHub API at {urlsplit(self.api).netloc} is unreachable: "
                f"{type(exc).__name__}",
                hint="check the network or [contributions] api; what was collected is kept, "
                "the next run continues",
            ) from None
        self._note_rate(response)
        log.debug("GET %s -> %s", url, response.status_code)
        if response.status_code == 304 and cached:
            self.stats.not_modified += 1
            return _parse(cached.body, url), cached.link, False
        if response.status_code in (403, 429):
            self._raise_if_limited(response)
        if response.status_code != 200:
            raise _http_error(response, url, self.authenticated)
        text = response.text
        data = _parse(text, url)
        link = response.headers.get("Link", "")
        etag = response.headers.get("ETag")
        if etag and remember:
            self.cache.save(url, CachedResponse(etag=etag, body=text, link=link))
        return data, link, True

    def pages(self, url: str, kind: str = "other", remember: int | None = None
              ) -> Iterator[tuple[list[Any], bool]]:
        """Each page of a list, following ``rel="next"``: (items, changed).

        ``remember``: how many pages to keep for conditional requests (None: all).
        """
        page = 0
        while url:
            data, link, changed = self.get(url, kind, remember is None or page < remember)
            if not isinstance(data, list):
                raise _shape(url, "a JSON array", data)
            yield data, changed
            url = next_link(link) or ""
            page += 1

    def _note_rate(self, response: requests.Response) -> None:
        headers = response.headers
        if "X-RateLimit-Remaining" not in headers:
            return
        reset = _int(headers.get("X-RateLimit-Reset"))
        self.rate = RateStatus(
            limit=_int(headers.get("X-RateLimit-Limit")),
            remaining=_int(headers.get("X-RateLimit-Remaining")),
            reset=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
        )

    def _raise_if_limited(self, response: requests.Response) -> None:
        headers = response.headers
        retry_after = _int(headers.get("Retry-After"))
        if retry_after is None and headers.get("X-RateLimit-Remaining") != "0":
            return
        now = self._clock()
        if retry_after is not None:
            resume = now + timedelta(seconds=retry_after)
        elif self.rate.reset is not None:
            resume = self.rate.reset
        else:  # GitHub's advice when it says nothing: wait at least a minute
            resume = now + timedelta(minutes=1)
        who = "with the token" if self.authenticated else (
            f"anonymously ({ANONYMOUS_LIMIT} requests an hour)"
        )
        raise RateLimited(
            f"GitHub's rate limit is reached {who}: collection stopped, what was collected is "
            f"kept; it can resume after {resume_time(resume, now)}",
            resume_at=resume,
            hint="run `ouhub contributions sync` again after that time; it continues where "
            "it stopped" + ("" if self.authenticated else
                            f"; a token raises the limit to {TOKEN_LIMIT} an hour"),
        )

    # -- endpoints --------------------------------------------------------------------------

    def pulls(self, state: str, base: str) -> Iterator[tuple[list[Pull], bool]]:
        """Pull requests into ``base``, newest update first, page by page."""
        params: dict[str, Any] = {"state": state, "base": base, "per_page": PER_PAGE}
        remember = None
        if state == "closed":  # read newest first until older than the last collection
            params.update(sort="updated", direction="desc")
            remember = 1
        url = self.url("pulls", params)
        for items, changed in self.pages(url, kind=f"pulls-{state}", remember=remember):
            yield [pull_of(item, url) for item in items], changed

    def pull(self, number: int) -> Pull:
        url = self.url(f"pulls/{number}")
        data, _link, _changed = self.get(url, kind="pull", remember=False)
        return pull_of(data, url)

    def files(self, number: int) -> list[PullFile]:
        url = self.url(f"pulls/{number}/files", {"per_page": PER_PAGE})
        pages = self.pages(url, "files", remember=0)  # asked again only for a new head
        return [file_of(item, url) for items, _ in pages for item in items]

    def reviews(self, number: int) -> list[Review]:
        url = self.url(f"pulls/{number}/reviews", {"per_page": PER_PAGE})
        found = [review_of(item, url) for items, _ in self.pages(url, "reviews") for item in items]
        return [r for r in found if r is not None]

    def timeline(self, number: int) -> list[TimelineEvent]:
        url = self.url(f"issues/{number}/timeline", {"per_page": PER_PAGE})
        pages = self.pages(url, "timeline", remember=0)  # it changes whenever it is asked
        found = [event_of(item, url) for items, _ in pages for item in items]
        return [e for e in found if e is not None]

    def issue(self, number: int) -> Issue:
        url = self.url(f"issues/{number}")
        data, _link, _changed = self.get(url, kind="issue")
        return issue_of(data, url)

    def find_issue(self, title: str) -> Issue | None:
        """The issue titled exactly ``title`` (any case), an open one first, else the newest."""
        query = f'repo:{self.repo} is:issue in:title "{title}"'
        url = self.url("/search/issues", {"q": query, "per_page": PER_PAGE})
        data, _link, _changed = self.get(url, kind="search")
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise _shape(url, "a search result with items", data)
        found = [issue_of(item, url) for item in data["items"]]
        exact = [i for i in found if i.title.strip().lower() == title.strip().lower()]
        exact.sort(key=lambda i: (i.state != "open", -i.number))
        return exact[0] if exact else None


# -- shapes -------------------------------------------------------------------------------------


def _parse(text: str, url: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise GitHubError(
            f"GitHub answered {url} with a body that is not JSON ({exc})",
            hint="a proxy or an outage may be answering instead of GitHub; run again later",
        ) from None


def _shape(url: str, expected: str, got: Any) -> GitHubError:
    shown = json.dumps(got)[:80] if not isinstance(got, str) else repr(got[:80])
    return GitHubError(
        f"GitHub answered {url} with {type(got).__name__} {shown}, expected {expected}",
        hint="the API root may not be GitHub's ([contributions] api); nothing stored was changed",
    )


def _http_error(response: requests.Response, url: str, authenticated: bool) -> GitHubError:
    status = response.status_code
    try:
        detail = str(response.json().get("message", ""))[:200]
    except (ValueError, AttributeError):
        detail = ""
    said = f" ({detail})" if detail else ""
    if status == 401:
        return GitHubUnavailable(
            f"GitHub refused the token for {url}: HTTP 401{said}",
            hint="renew the token in the environment variable named by [contributions] "
            "token_env, or unset it to read anonymously",
        )
    if status == 404:
        return GitHubNotFound(
            f"GitHub has no {url}: HTTP 404{said}",
            hint="check [contributions] github (owner/repo)"
            + ("" if authenticated else "; a private repository needs a token"),
        )
    return GitHubError(
        f"GitHub answered {url} with HTTP {status}{said}",
        hint="run again later; what was collected is kept",
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def resume_time(resume: datetime | str, now: datetime) -> str:
    """When a stopped collection may resume, as people read it: `2026-11-30 15:02 UTC (in 40 min)`."""
    if isinstance(resume, str):  # as the store keeps it
        resume = datetime.fromisoformat(resume)
    wait = max(0, int((resume - now).total_seconds()))
    return f"{resume:%Y-%m-%d %H:%M} UTC (in {_duration(wait)})"


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def timestamp(value: Any) -> str | None:
    """GitHub's ``2024-05-01T10:00:00Z`` as the store's ``2024-05-01T10:00:00+00:00``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).isoformat(
        timespec="seconds")


def _user(value: Any) -> tuple[str, bool]:
    """(login, is_bot) of a simple-user object; a deleted account is GitHub's ghost."""
    if value is None:
        return "ghost", False
    login = value["login"]
    if not isinstance(login, str):
        raise TypeError("login")
    return login, value.get("type") == "Bot" or login.endswith("[bot]")


def _record(url: str, expected: str, item: Any, build: Callable[[dict[str, Any]], Any]) -> Any:
    if not isinstance(item, dict):
        raise _shape(url, expected, item)
    try:
        return build(item)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GitHubError(
            f"GitHub answered {url} with {expected} lacking a valid {exc}",
            hint="the API root may not be GitHub's ([contributions] api); nothing stored was "
            "changed",
        ) from None


def pull_of(item: Any, url: str) -> Pull:
    """A pull-request-simple (list) or pull-request (single) object as a Pull."""

    def build(d: dict[str, Any]) -> Pull:
        author, bot = _user(d["user"])
        merged_at = timestamp(d.get("merged_at"))
        number = d["number"]
        if not isinstance(number, int) or d["state"] not in ("open", "closed"):
            raise ValueError("number or state")
        return Pull(
            number=number, title=str(d["title"]), state=d["state"],
            merged=merged_at is not None or bool(d.get("merged")), draft=bool(d.get("draft")),
            author=author, author_is_bot=bot, created_at=timestamp(d["created_at"]) or "",
            updated_at=timestamp(d["updated_at"]) or "", closed_at=timestamp(d.get("closed_at")),
            merged_at=merged_at, base=d["base"]["ref"], head_sha=d["head"]["sha"],
            head_ref=str(d["head"].get("ref") or ""), url=d["html_url"],
            body=d.get("body") or "",
            labels=tuple(str(label["name"]) for label in d.get("labels") or ()),
        )

    return _record(url, "a pull request", item, build)


def file_of(item: Any, url: str) -> PullFile:
    """A diff-entry object (``/pulls/{n}/files``)."""

    def build(d: dict[str, Any]) -> PullFile:
        return PullFile(
            filename=d["filename"], status=str(d.get("status", "")),
            additions=int(d.get("additions", 0)), deletions=int(d.get("deletions", 0)),
            patch=d.get("patch"), previous_filename=d.get("previous_filename"),
        )

    return _record(url, "a changed file", item, build)


def review_of(item: Any, url: str) -> Review | None:
    """A pull-request-review; a PENDING (unsubmitted) review is None."""

    def build(d: dict[str, Any]) -> Review | None:
        if d["state"] == "PENDING" or not d.get("submitted_at"):
            return None
        reviewer, bot = _user(d["user"])
        return Review(reviewer=reviewer, state=d["state"], submitted_at=timestamp(
            d["submitted_at"]) or "", is_bot=bot)

    return _record(url, "a review", item, build)


def event_of(item: Any, url: str) -> TimelineEvent | None:
    """A timeline event as (kind, who, when); events without a time or person are None.

    ``committed`` events carry a git author and committer (name, date) and no GitHub
    user: the commit's author name stands as its actor, a ``[bot]`` name marks a bot.
    """

    def build(d: dict[str, Any]) -> TimelineEvent | None:
        kind = d.get("event")
        if not isinstance(kind, str):
            raise ValueError("event")
        if kind == "committed":
            # the committer's date: a rebased commit keeps its old author date
            author, committer = d["author"], d.get("committer") or {}
            name = str(author.get("name") or "")
            at = timestamp(committer.get("date") or author["date"]) or ""
            return TimelineEvent(kind=kind, actor=name, at=at, is_bot=name.endswith("[bot]"),
                                 body=str(d.get("message") or ""))
        if kind == "reviewed":
            who, bot = _user(d.get("user"))
            at = d.get("submitted_at")
        else:
            who, bot = _user(d.get("actor") or d.get("user"))
            at = d.get("created_at")
        if not at:
            return None
        return TimelineEvent(kind=kind, actor=who, at=timestamp(at) or "", is_bot=bot,
                             body=str(d.get("body") or ""))

    return _record(url, "a timeline event", item, build)


def issue_of(item: Any, url: str) -> Issue:
    def build(d: dict[str, Any]) -> Issue:
        return Issue(
            number=int(d["number"]), title=str(d["title"]), state=str(d["state"]),
            body=d.get("body") or "", url=d["html_url"],
            updated_at=timestamp(d["updated_at"]) or "",
        )

    return _record(url, "an issue", item, build)
