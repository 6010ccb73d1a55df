"""`ouhub contributions sync`: collect pull requests, tracking issues and merge proposals.

Per configured release: the open pull requests into its branch (every page), those
closed since the last collection (newest update first, until older than the last one
seen), and its tracking issue. Then, for each pull request whose head changed, its
files; for each open one whose update time changed, its reviews and timeline. Every
GET is conditional on the stored ETag, so an unchanged repository costs only 304s.

Everything is stored as soon as it is read: when GitHub's rate limit stops the
collection, what was read stays, the time it may resume is stored, and the next run
continues with what is still missing. Then every pull request and merge proposal is
matched to (release, module) again (match.py), because the tracking issue or the
modules known by the coverage scan may have changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ouhub.config import Config, ContributionsSettings
from ouhub.contributions.github import (
    ANONYMOUS_LIMIT,
    GitHub,
    GitHubError,
    GitHubNotFound,
    GitHubUnavailable,
    RateLimited,
    resume_time,
)
from ouhub.contributions.launchpad import read_proposals
from ouhub.contributions.match import match_proposal, match_pull, parse_tracking
from ouhub.contributions.tell import summarize
from ouhub.coverage.declared import declared_file_step
from ouhub.errors import ConfigError
from ouhub.records import Pull, StoredPull
from ouhub.store import Store, utcnow

log = logging.getLogger("ouhub.contributions")

#: A release without a tracking issue is searched again after this long (search is rationed).
SEARCH_AGAIN = timedelta(days=7)


@dataclass(frozen=True)
class ReleaseCollection:
    release: str
    open: int = 0  # open pull requests listed
    closed: int = 0  # pull requests read as closed since the last collection
    tracking: int | None = None  # the tracking issue's number
    error: str | None = None


@dataclass(frozen=True)
class ContributionsSync:
    """What one collection did and what it cost."""

    releases: tuple[ReleaseCollection, ...]
    detailed: int  # pull requests whose files or activity were read
    pending: int  # pull requests still waiting for their files or activity
    pulls: int  # pull requests stored
    proposals: int  # merge proposals stored
    matches: int
    requests: dict[str, Any]
    anonymous: bool
    rate_remaining: int | None
    resume_at: str | None  # set when GitHub's rate limit stopped the collection
    stopped: str | None  # why the GitHub collection stopped early
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # diagnostics: anonymous reading, projects gone
    launchpad_gone: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.errors

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def settings_of(config: Config) -> ContributionsSettings:
    if config.contributions is None:
        raise ConfigError(
            "the config has no [contributions] table",
            hint='add `[contributions]` with github = "OCA/OpenUpgrade" (see README, '
            "Contributions)",
        )
    return config.contributions


def run_contributions(
    config: Config, store: Store, now: datetime | None = None
) -> ContributionsSync:
    """Collect from GitHub (and Launchpad), store it, match it; records its stage event."""
    settings = settings_of(config)
    with store.stage_event("contributions") as event:
        result = _collect(config, settings, store, now or datetime.now(UTC))
        event.finish(
            result.ok, message=result.stopped or "; ".join(result.errors[:3]),
            pulls=result.pulls, pending=result.pending, proposals=result.proposals,
            matches=result.matches, requests=result.requests.get("requests", 0),
            not_modified=result.requests.get("not_modified", 0),
            anonymous=int(result.anonymous), errors=len(result.errors),
        )
    return result


def _collect(config: Config, settings: ContributionsSettings, store: Store, now: datetime
             ) -> ContributionsSync:
    releases = list(config.releases)
    token = settings.token()
    notes: list[str] = []
    if not token:
        notes.append(
            f"no token in ${settings.token_env}: reading GitHub anonymously "
            f"({ANONYMOUS_LIMIT} requests an hour)")
    collector = _Collector(store, settings, releases, now)
    resume = store.contributions_resume_at()
    if resume is not None and datetime.fromisoformat(resume) > now:
        collector.stopped = (
            f"GitHub's rate limit was reached: collection resumes after "
            f"{resume_time(resume, now)}; what was collected is kept")
        collector.resume_at = resume
    else:
        with GitHub(settings.api, settings.github, token, cache=store.github_cache()) as client:
            collector.run(client)
            collector.stats = client.stats.as_dict()
            collector.remaining = client.rate.remaining
    gone = _launchpad(config, settings, store, notes)
    known = {release: store.release_modules(release) for release in releases}
    matches = rematch(store, known)
    stored = store.contribution_pulls()
    return ContributionsSync(
        releases=tuple(collector.releases), detailed=collector.detailed,
        pending=sum(1 for s in stored if _needs_files(s) or _needs_activity(s)),
        pulls=len(stored), proposals=len(store.merge_proposals()), matches=matches,
        requests=collector.stats, anonymous=not token, rate_remaining=collector.remaining,
        resume_at=collector.resume_at, stopped=collector.stopped,
        errors=tuple(collector.errors), notes=tuple(notes), launchpad_gone=gone,
    )


def _needs_files(stored: StoredPull) -> bool:
    return stored.files_head != stored.pull.head_sha


def _needs_activity(stored: StoredPull) -> bool:
    """Open: whenever it was updated; closed unmerged: once after closing (its last words
    may say what superseded it); merged: never."""
    pull = stored.pull
    if pull.state == "open":
        return stored.activity_at != pull.updated_at
    return not pull.merged and (stored.activity_at or "") < (pull.closed_at or "")


class _Collector:
    def __init__(self, store: Store, settings: ContributionsSettings, releases: list[str],
                 now: datetime):
        self.store = store
        self.settings = settings
        self.releases_wanted = releases
        self.now = now
        self.releases: list[ReleaseCollection] = []
        self.errors: list[str] = []
        self.detailed = 0
        self.stopped: str | None = None
        self.resume_at: str | None = None
        self.stats: dict[str, Any] = {"requests": 0, "conditional": 0, "not_modified": 0}
        self.remaining: int | None = None

    def run(self, client: GitHub) -> None:
        try:
            stored = {s.pull.number: s for s in self.store.contribution_pulls()}
            listed: dict[str, set[int]] = {}
            for release in self.releases_wanted:
                try:
                    listed[release] = self._release(client, release, stored)
                except GitHubUnavailable:
                    raise
                except GitHubError as exc:
                    self.errors.append(f"{release}: {exc.message}")
                    self.releases.append(ReleaseCollection(release, error=exc.message))
                    self.store.record_contribution_release(release, error=exc.message)
            self._vanished(client, stored, listed)
            self._details(client)
            self.store.set_contributions_resume_at(None)
        except RateLimited as exc:
            self.stopped = exc.message
            self.resume_at = exc.resume_at.isoformat(timespec="seconds")
            self.store.set_contributions_resume_at(self.resume_at)
        except GitHubUnavailable as exc:
            self.stopped = exc.message + (f" ({exc.hint})" if exc.hint else "")

    # -- lists --------------------------------------------------------------------------------

    def _save(self, pulls: Iterable[Pull], stored: dict[int, StoredPull]) -> int:
        """Store the pull requests that differ from what is stored; how many."""
        fresh = [p for p in pulls if p.number not in stored or stored[p.number].pull != p]
        if fresh:
            self.store.save_pulls(fresh, collected_at=utcnow())
        return len(fresh)

    def _release(self, client: GitHub, release: str, stored: dict[int, StoredPull]) -> set[int]:
        """List the release's open and newly closed pull requests and its tracking issue."""
        listed: set[int] = set()
        for pulls, _changed in client.pulls("open", release):
            listed.update(p.number for p in pulls)
            self._save(pulls, stored)
        state = self.store.contribution_release(release)
        since = state.closed_through if state else None
        newest, closed = since, 0
        for pulls, changed in client.pulls("closed", release):
            if not changed and since is not None:
                break  # the first page as last time: nothing closed or touched since
            fresh = [p for p in pulls if since is None or p.updated_at >= since]
            closed += self._save(fresh, stored)
            if pulls:
                newest = max(newest or "", max(p.updated_at for p in pulls))
            if since is not None and (not pulls or pulls[-1].updated_at < since):
                break
        tracking = self._tracking(client, release)
        self.store.record_contribution_release(release, closed_through=newest,
                                               collected_at=utcnow())
        self.releases.append(ReleaseCollection(release, len(listed), closed, tracking))
        return listed

    def _tracking(self, client: GitHub, release: str) -> int | None:
        title = self.settings.tracking_title.format(release=release)
        known = self.store.tracking_issue(release)
        if known is not None and known.number is not None:
            try:
                issue = client.issue(known.number)
            except GitHubNotFound:  # deleted or moved: look for the release's issue again
                log.info("tracking issue #%s of %s is gone; searching again", known.number,
                         release)
            else:
                self.store.save_tracking_issue(release, issue, searched_at=known.searched_at)
                return issue.number
        elif known is not None and (
                datetime.fromisoformat(known.searched_at) + SEARCH_AGAIN > self.now):
            return None
        found = client.find_issue(title)
        # read it at its own URL now, so that the next runs ask for it conditionally
        issue = client.issue(found.number) if found else None
        self.store.save_tracking_issue(release, issue, searched_at=utcnow())
        return issue.number if issue else None

    def _vanished(self, client: GitHub, stored: dict[int, StoredPull],
                  listed: dict[str, set[int]]) -> None:
        """Open pull requests missing from their release's open list: read them alone."""
        now_stored = {s.pull.number: s for s in self.store.contribution_pulls()}
        for number in sorted(stored):
            pull = now_stored[number].pull
            if pull.state != "open" or pull.base not in listed or number in listed[pull.base]:
                continue
            try:
                self._save([client.pull(number)], now_stored)
            except GitHubUnavailable:
                raise
            except GitHubError as exc:
                self.errors.append(f"#{number}: {exc.message}")
                self.store.record_pull_error(number, exc.message)

    # -- details ------------------------------------------------------------------------------

    def _details(self, client: GitHub) -> None:
        """Files of pull requests whose head changed, activity of those updated; open first."""
        todo = [s for s in self.store.contribution_pulls()
                if s.pull.base in self.releases_wanted and (_needs_files(s) or _needs_activity(s))]
        todo.sort(key=lambda s: s.pull.updated_at, reverse=True)
        todo.sort(key=lambda s: s.pull.state != "open")  # stable: open first, newest first
        for item in todo:
            pull = item.pull
            try:
                if _needs_files(item):
                    self.store.save_pull_files(pull.number, pull.head_sha, [
                        f if declared_file_step(f.filename) else replace(f, patch=None)
                        for f in client.files(pull.number)  # keep only what matching reads
                    ])
                if _needs_activity(item):
                    reviews = client.reviews(pull.number) if pull.state == "open" else []
                    events = client.timeline(pull.number)
                    self.store.save_pull_activity(pull.number, pull.updated_at,
                                                  summarize(pull, reviews, events))
                self.detailed += 1
            except GitHubUnavailable:
                raise
            except GitHubError as exc:
                self.errors.append(f"#{pull.number}: {exc.message}")
                self.store.record_pull_error(pull.number, exc.message)


def rematch(store: Store, known: dict[str, frozenset[str] | None]) -> int:
    """Match every stored pull request and merge proposal again; how many matches."""
    tracking = {
        release: parse_tracking(issue.body)
        for release, issue in store.tracking_issues().items() if issue.body
    }
    pulls = {
        f"#{s.pull.number}": match_pull(s.pull, s.files, known, tracking.get(s.pull.base, ()))
        for s in store.contribution_pulls()
    }
    proposals = {url: match_proposal(p, known) for url, p in store.merge_proposals().items()}
    store.replace_matches("github", pulls)
    store.replace_matches("launchpad", proposals)
    return sum(len(m) for m in pulls.values()) + sum(len(m) for m in proposals.values())


def _launchpad(config: Config, settings: ContributionsSettings, store: Store,
               notes: list[str]) -> tuple[str, ...]:
    """Read the merge proposals; a project that stops answering is reported once."""
    if not settings.launchpad:
        return ()
    from ouhub.sync.launchpad import cache_dir_for

    reading = read_proposals(settings.launchpad, config.releases, cache_dir=cache_dir_for(config),
                             stored=store.merge_proposals())
    store.save_merge_proposals(reading.proposals)
    already = store.launchpad_unreachable()
    newly = []
    for project, message in reading.unreachable:
        if project not in already:
            newly.append(project)
            notes.append(f"{message}; its merge proposals stay as stored (said once)")
        else:
            log.debug("%s still does not answer (since %s)", project, already[project])
    store.set_launchpad_unreachable({p: m for p, m in reading.unreachable},
                                    answered=[p for p in settings.launchpad
                                              if p not in dict(reading.unreachable)])
    return tuple(newly)
