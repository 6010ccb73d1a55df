"""Launchpad through launchpadlib: resolve `lp:` names, discover a project's series and branches.

Anonymous login only; launchpadlib's HTTP cache lives under the data dir. The API
version is ``devel`` because git repositories (``git_repositories``) exist only there.
The `[releases]` TOML of what discovery finds is ``releases.py``'s.

Launchpad stopped hosting Bazaar branches in 2025 and breezy resolves `lp:` to git
only, so ouhub resolves `lp:` names itself: a bzr branch becomes its public
``https://bazaar.launchpad.net/~owner/project/name`` URL, a git repository its
``git_https_url``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2
from lazr.restfulclient.errors import HTTPError, NotFound

from ouhub import config as config_mod
from ouhub.errors import SyncError
from ouhub.versions import is_release_name, version_key

log = logging.getLogger(__name__)

CONSUMER = "ouhub"
API_VERSION = "devel"
DEFAULT_SERVICE_ROOT = "https://api.launchpad.net/"
ENV_SERVICE_ROOT = "OUHUB_LP_SERVICE_ROOT"  # lets `ouhub sync` resolve lp: names elsewhere
BAZAAR_ROOT = "https://bazaar.launchpad.net/"
ACTIVE_STATUSES = ("Experimental", "Development", "Mature")
TIMEOUT = 60.0

# launchpadlib's HTTP cache is not thread-safe and the mirror stage resolves names from
# worker threads: one connection per (service root, cache dir), used under one lock.
_lock = threading.RLock()
_connections: dict[tuple[str, str], Any] = {}


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LpBranch:
    """A bzr branch on Launchpad."""

    unique_name: str  # ~owner/project/name
    identity: str  # its lp: name (bzr_identity), e.g. lp:openupgrade-server/7.0
    url: str  # public https://bazaar.launchpad.net/... URL
    lifecycle_status: str
    last_scanned_id: str | None


@dataclass(frozen=True)
class LpSeries:
    name: str
    status: str
    active: bool
    development_focus: bool
    branch: LpBranch | None


@dataclass(frozen=True)
class LpGitRepository:
    unique_name: str  # ~owner/project/+git/name
    identity: str  # git_identity, e.g. lp:openupgrade-server
    url: str  # git_https_url
    default_branch: str | None
    project_default: bool


@dataclass(frozen=True)
class ProjectDiscovery:
    """One Launchpad project: its series (with their branches), other active branches, git."""

    project: str
    development_focus: str | None
    series: tuple[LpSeries, ...]
    other_branches: tuple[LpBranch, ...]
    git_repositories: tuple[LpGitRepository, ...]


@dataclass(frozen=True)
class Discovery:
    service_root: str
    projects: tuple[ProjectDiscovery, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- connecting -------------------------------------------------------------------------------


def service_root_or_default(service_root: str | None) -> str:
    return service_root or os.environ.get(ENV_SERVICE_ROOT) or DEFAULT_SERVICE_ROOT


def cache_dir_for(config: config_mod.Config) -> Path:
    """launchpadlib's cache dir for a config: under the data dir."""
    return config.data_dir / "launchpadlib"


def host(url: str) -> str:
    """The host of a URL (the URL itself when it has none), as messages name it."""
    return urlsplit(url).netloc or url


def _unreachable(service_root: str, exc: BaseException) -> SyncError:
    return SyncError(
        f"Launchpad web service at {host(service_root)} is unreachable: {_describe(exc)}",
        hint="check the network, or pass --service-root (or set $OUHUB_LP_SERVICE_ROOT) "
        "to another Launchpad instance; configured `fallback` URLs still work",
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HTTPError):
        return f"HTTP {exc.response.status}"
    return str(exc) or type(exc).__name__


_NETWORK_ERRORS = (OSError, socket.timeout, httplib2.HttpLib2Error, HTTPError)


def connect(service_root: str | None = None, cache_dir: Path | None = None) -> Any:
    """An anonymous launchpadlib Launchpad on ``service_root`` (API ``devel``), reused."""
    from launchpadlib.launchpad import Launchpad

    root = service_root_or_default(service_root)
    cache = Path(cache_dir) if cache_dir else Path.home() / ".launchpadlib"
    key = (root, str(cache))
    with _lock:
        if key not in _connections:
            try:
                _connections[key] = Launchpad.login_anonymously(
                    CONSUMER, service_root=root, launchpadlib_dir=str(cache),
                    version=API_VERSION, timeout=TIMEOUT,
                )
            except ValueError as exc:  # launchpadlib: not a URL nor a known alias
                raise SyncError(
                    f"{root!r} is not a Launchpad service root: {exc}",
                    hint="pass a URL such as https://api.launchpad.net/ or an alias "
                    "(production, staging)",
                ) from exc
            except _NETWORK_ERRORS as exc:
                raise _unreachable(root, exc) from exc
        return _connections[key]


def forget_connections() -> None:
    """Drop cached connections (tests start a new server per test)."""
    with _lock:
        _connections.clear()


# -- resolving lp: names ----------------------------------------------------------------------


def bazaar_url(unique_name: str) -> str:
    return BAZAAR_ROOT + unique_name.lstrip("/")


def resolve_lp(
    name: str, *, service_root: str | None = None, cache_dir: Path | None = None
) -> list[str]:
    """Concrete URLs for an `lp:` name, best first: the bzr branch, then the git repository.

    ``lp:project``, ``lp:project/series``, ``lp:~owner/project/name`` and
    ``lp:~owner/project/+git/name`` are understood. A name Launchpad does not know
    raises SyncError.
    """
    path = name[3:] if name.startswith("lp:") else name
    path = path.strip("/")
    if not path or " " in path:
        raise SyncError(f"{name!r} is not an lp: name", hint="use lp:project, lp:project/series "
                        "or lp:~owner/project/branch")
    root = service_root_or_default(service_root)
    with _lock:
        lp = connect(root, cache_dir)
        try:
            urls = _resolve(lp, path)
        except _NETWORK_ERRORS as exc:
            if isinstance(exc, HTTPError) and exc.response.status == 404:
                urls = []
            else:
                raise _unreachable(root, exc) from exc
    if not urls:
        raise SyncError(
            f"lp:{path} does not exist on Launchpad ({host(root)})",
            hint="check the name with `ouhub discover --project PROJECT`, or give the branch "
            "a concrete URL or a `fallback`",
        )
    log.debug("lp:%s resolved to %s", path, urls)
    return urls


def _resolve(lp: Any, path: str) -> list[str]:
    urls: list[str] = []
    if path.startswith("~"):
        if "/+git/" in path:
            repo = lp.git_repositories.getByPath(path=path)
            return [repo.git_https_url] if repo is not None else []
        try:
            branch = lp.load(path)
        except NotFound:
            return []
        return [bazaar_url(branch.unique_name)]
    project_name, _, series_name = path.partition("/")
    try:
        project = lp.projects[project_name]
    except KeyError:
        return []
    if series_name:
        series = project.getSeries(name=series_name)
        if series is not None and series.branch is not None:
            urls.append(bazaar_url(series.branch.unique_name))
        return urls
    focus = project.development_focus
    if focus is not None and focus.branch is not None:
        urls.append(bazaar_url(focus.branch.unique_name))
    repo = lp.git_repositories.getDefaultRepository(target=project)
    if repo is not None:
        urls.append(repo.git_https_url)
    return urls


# -- discovery --------------------------------------------------------------------------------


def _branch_record(branch: Any) -> LpBranch:
    return LpBranch(
        unique_name=branch.unique_name,
        identity=branch.bzr_identity or f"lp:{branch.unique_name}",
        url=bazaar_url(branch.unique_name),
        lifecycle_status=branch.lifecycle_status,
        last_scanned_id=branch.last_scanned_id,
    )


def discover(
    projects: Iterable[str], service_root: str | None = None, cache_dir: Path | None = None
) -> Discovery:
    """Series, branches and git repositories of each Launchpad project."""
    root = service_root_or_default(service_root)
    found = []
    with _lock:
        lp = connect(root, cache_dir)
        for name in projects:
            try:
                found.append(_discover_project(lp, name))
            except KeyError:
                raise SyncError(
                    f"Launchpad ({host(root)}) has no project {name!r}",
                    hint="use the project's name from its URL, e.g. openupgrade-server for "
                    "https://launchpad.net/openupgrade-server",
                ) from None
            except _NETWORK_ERRORS as exc:
                raise _unreachable(root, exc) from exc
    return Discovery(service_root=root, projects=tuple(found))


def _discover_project(lp: Any, name: str) -> ProjectDiscovery:
    project = lp.projects[name]
    focus = project.development_focus
    focus_name = focus.name if focus is not None else None
    series, linked = [], set()
    for item in project.series:
        branch = _branch_record(item.branch) if item.branch is not None else None
        if branch:
            linked.add(branch.unique_name)
        series.append(LpSeries(
            name=item.name, status=item.status, active=bool(item.active),
            development_focus=item.name == focus_name, branch=branch,
        ))
    others = [
        _branch_record(b) for b in project.getBranches(status=list(ACTIVE_STATUSES))
        if b.unique_name not in linked
    ]
    repos = [
        LpGitRepository(
            unique_name=r.unique_name, identity=r.git_identity, url=r.git_https_url,
            default_branch=r.default_branch, project_default=bool(r.target_default),
        )
        for r in lp.git_repositories.getRepositories(target=project)
    ]
    series.sort(key=lambda s: (not is_release_name(s.name), version_key(s.name)))
    return ProjectDiscovery(
        project=name, development_focus=focus_name, series=tuple(series),
        other_branches=tuple(sorted(others, key=lambda b: b.unique_name)),
        git_repositories=tuple(repos),
    )
