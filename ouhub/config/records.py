"""The config's records: frozen objects that ``validate`` builds and every stage reads."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.errors import ConfigError
from ouhub.redact import redact_dsn

DEFAULT_QUEUE = "ouhub-runs"
DEFAULT_LOG_LIMIT = 1_000_000  # characters of an upgrade log kept, and sent back by a worker
# (head + tail)


@dataclass(frozen=True)
class Branch:
    """A named source of a release: its URL, fallbacks and upstream."""

    release: str
    name: str
    url: str
    fallback: tuple[str, ...] = ()
    upstream: str | None = None
    vcs: str | None = None  # None: detected from the URL and the mirror
    addons: tuple[str, ...] = ()  # module folders inside the branch; () = detect
    code_browser: str | None = None  # its files' URLs; None: [site] code_browser

    @property
    def key(self) -> str:
        return f"{self.release}/{self.name}"


@dataclass(frozen=True)
class Release:
    """A release ([releases."X"]): its name, the release it upgrades from, its branches."""

    name: str
    previous: str | None
    branches: tuple[Branch, ...] = ()

    def branch(self, name: str) -> Branch:
        for branch in self.branches:
            if branch.name == name:
                return branch
        known = ", ".join(b.name for b in self.branches) or "none"
        raise ConfigError(
            f"release {self.name} has no branch {name!r} (it has: {known})",
            hint="check the branch name against `ouhub config check`",
        )


@dataclass(frozen=True)
class Sample:
    """A sample database of a release: a dump, and optionally its filestore.

    A dump given as an http(s) URL is fetched into ``dump`` (under the data dir) first.
    """

    name: str
    release: str
    dump: Path
    filestore: Path | None = None
    url: str | None = None  # where the dump is fetched from, when not a path


@dataclass(frozen=True)
class RunnerSettings:
    """How upgrades run ([runner]): each release's command, time limit, parallelism, broker."""

    commands: dict[str, str] = field(default_factory=dict)  # release -> command template
    timeout: float = 3600.0
    parallel: int = 1
    broker: str | None = None  # RabbitMQ URL: runs go to `ouhub worker`s; None = in-process
    queue: str = DEFAULT_QUEUE
    log_limit: int = DEFAULT_LOG_LIMIT


@dataclass(frozen=True)
class SiteSettings:
    """Where and how the static site is built ([site])."""

    output: Path
    base_url: str = ""
    code_browser: str | None = None  # e.g. https://host/{release}/{branch}/{path}
    title: str = "OpenUpgrade status"
    feeds: tuple[tuple[str, ...], ...] = ()  # module sets with an Atom feed of their own


@dataclass(frozen=True)
class ContributionsSettings:
    """Where pull requests and tracking issues are read ([contributions])."""

    github: str = "OCA/OpenUpgrade"  # owner/repo
    api: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"  # the variable holding the token; the token is never stored
    tracking_title: str = "Migration to version {release}"
    stale_days: int = 120
    launchpad: tuple[str, ...] = ()  # Launchpad projects whose merge proposals are read

    def token(self) -> str | None:
        """The token from the environment, or None (anonymous)."""
        return os.environ.get(self.token_env) or None


@dataclass(frozen=True)
class Config:
    """The whole validated config: releases, samples, and each stage's settings."""

    path: Path | None
    data_dir: Path
    dsn: str
    releases: dict[str, Release]
    samples: tuple[Sample, ...]
    runner: RunnerSettings
    site: SiteSettings
    contributions: ContributionsSettings | None = None  # None: no [contributions] table

    def release(self, name: str) -> Release:
        try:
            return self.releases[name]
        except KeyError:
            raise ConfigError(
                f"unknown release {name!r}",
                hint="known releases: " + (", ".join(self.releases) or "none configured"),
            ) from None

    def sample(self, name: str) -> Sample:
        for sample in self.samples:
            if sample.name == name:
                return sample
        known = ", ".join(s.name for s in self.samples) or "none configured"
        raise ConfigError(f"unknown sample {name!r}", hint=f"known samples: {known}")

    def chain(self, source: str, target: str) -> list[tuple[str, str]]:
        """The steps (previous, release) that lead from ``source`` to ``target``."""
        self.release(source)
        steps: list[tuple[str, str]] = []
        current = self.release(target)
        while current.name != source:
            if current.previous is None:
                raise ConfigError(
                    f"release {target} does not follow {source}",
                    hint="an upgrade only goes forward along `previous`",
                )
            steps.append((current.previous, current.name))
            current = self.releases.get(current.previous) or Release(current.previous, None)
        return steps[::-1]

    @property
    def steps(self) -> list[tuple[str, str]]:
        """Every configured step (previous, release), oldest first."""
        return [(r.previous, r.name) for r in self.releases.values() if r.previous]

    @property
    def mirrors_dir(self) -> Path:
        return self.data_dir / "mirrors"

    def mirror_path(self, branch: Branch) -> Path:
        return self.mirrors_dir / branch.release / branch.name

    def upstream_mirror_path(self, branch: Branch) -> Path:
        return self.mirrors_dir / "upstream" / branch.release / branch.name

    @property
    def store_path(self) -> Path:
        return self.data_dir / "ouhub.sqlite"

    def redacted(self) -> dict[str, Any]:
        """The resolved config as plain data, passwords hidden."""
        return {
            "path": str(self.path) if self.path else None,
            "data_dir": str(self.data_dir),
            "dsn": redact_dsn(self.dsn),
            "releases": {
                r.name: {
                    "previous": r.previous,
                    "branches": {
                        b.name: {
                            "url": redact_dsn(b.url),
                            "fallback": [redact_dsn(u) for u in b.fallback],
                            "upstream": redact_dsn(b.upstream) if b.upstream else None,
                            "vcs": b.vcs or "auto",
                            "addons": list(b.addons) or "auto",
                            "code_browser": b.code_browser,
                        }
                        for b in r.branches
                    },
                }
                for r in self.releases.values()
            },
            "samples": [
                {
                    "name": s.name,
                    "release": s.release,
                    "dump": redact_dsn(s.url) if s.url else str(s.dump),
                    "filestore": str(s.filestore) if s.filestore else None,
                }
                for s in self.samples
            ],
            "runner": {
                "timeout": self.runner.timeout,
                "parallel": self.runner.parallel,
                "broker": redact_dsn(self.runner.broker) if self.runner.broker else None,
                "queue": self.runner.queue,
                "log_limit": self.runner.log_limit,
                "commands": dict(self.runner.commands),
            },
            "site": {
                "output": str(self.site.output),
                "base_url": self.site.base_url,
                "code_browser": self.site.code_browser,
                "title": self.site.title,
                "feeds": [list(modules) for modules in self.site.feeds],
            },
            "contributions": None if self.contributions is None else {
                "github": self.contributions.github,
                "api": self.contributions.api,
                "token_env": self.contributions.token_env,  # its name; the token is never shown
                "tracking_title": self.contributions.tracking_title,
                "stale_days": self.contributions.stale_days,
                "launchpad": list(self.contributions.launchpad),
            },
        }
