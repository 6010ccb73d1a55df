"""A loopback Launchpad web service that launchpadlib's real client code talks to.

It serves the WADL shipped inside launchpadlib (``launchpadlib/testing/launchpad-wadl.xml``)
with its base URL rewritten to this server's ``/devel/`` root, the service root's JSON,
and JSON representations of projects, series, bzr branches and git repositories.
launchpadlib fetches the root twice: with ``Accept: application/vnd.sun.wadl+xml`` for
the WADL and with ``Accept: application/json`` for the root resource.

Merge proposals (``project.getMergeProposals``) are served with their preview diffs
(the ``diffstat`` that names the changed paths) and their registrants as people.

The shipped WADL is Launchpad's 1.0 description; its ``git_repositories`` collection
lacks the named operations that ``devel`` has (``getByPath``, ``getRepositories``,
``getDefaultRepository``), so the server adds those three to the WADL it serves.

Usage::

    with LaunchpadServer() as lp:
        lp.add_project("openupgrade-server", development_focus="7.0")
        lp.add_branch("~openupgrade-committers/openupgrade-server/7.0")
        lp.add_series("openupgrade-server", "7.0",
                      branch="~openupgrade-committers/openupgrade-server/7.0")
        resolve_lp("lp:openupgrade-server/7.0", service_root=lp.service_root, ...)
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

WADL_BASE = "https://api.launchpad.test/1.0/"
VERSION = "devel"
ACTIVE = ("Experimental", "Development", "Mature")

_GIT_OPERATIONS = """
      <wadl:method id="git_repositories-getByPath" name="GET">
        <wadl:request>
          <wadl:param style="query" name="ws.op" required="true" fixed="getByPath"/>
          <wadl:param style="query" name="path" required="true"/>
        </wadl:request>
        <wadl:response>
          <wadl:representation href="{base}#git_repository-full"/>
        </wadl:response>
      </wadl:method>
      <wadl:method id="git_repositories-getDefaultRepository" name="GET">
        <wadl:request>
          <wadl:param style="query" name="ws.op" required="true" fixed="getDefaultRepository"/>
          <wadl:param style="query" name="target" required="true"/>
        </wadl:request>
        <wadl:response>
          <wadl:representation href="{base}#git_repository-full"/>
        </wadl:response>
      </wadl:method>
      <wadl:method id="git_repositories-getRepositories" name="GET">
        <wadl:request>
          <wadl:param style="query" name="ws.op" required="true" fixed="getRepositories"/>
          <wadl:param style="query" name="target" required="false"/>
          <wadl:param style="query" name="order_by" required="false"/>
        </wadl:request>
        <wadl:response>
          <wadl:representation href="{base}#git_repository-page"/>
        </wadl:response>
      </wadl:method>
"""


class ProjectGone(Exception):
    """A project whose code Launchpad no longer serves."""


@functools.cache
def _shipped_wadl() -> str:
    return (resources.files("launchpadlib") / "testing" / "launchpad-wadl.xml").read_text("utf-8")


def wadl_for(base: str) -> str:
    """The shipped WADL with its base URL replaced by ``base`` and devel's git operations."""
    text = _shipped_wadl().replace(WADL_BASE, base)
    anchor = 'id="git_repositories-wadl"/>\n        </wadl:response>\n      </wadl:method>\n'
    if anchor not in text:  # pragma: no cover - a launchpadlib upgrade changed the file
        raise RuntimeError("launchpad-wadl.xml changed shape: git_repositories anchor not found")
    return text.replace(anchor, anchor + _GIT_OPERATIONS.format(base=base), 1)


@dataclass
class FakeBranch:
    unique_name: str  # ~owner/project/name
    lifecycle_status: str = "Development"
    last_scanned_id: str | None = None
    revision_count: int = 0
    bzr_identity: str | None = None  # lp:project/series when linked to a series


@dataclass
class FakeSeries:
    name: str
    status: str = "Active Development"
    active: bool = True
    branch: str | None = None  # unique name


@dataclass
class FakeGitRepository:
    unique_name: str  # ~owner/project/+git/name
    default_branch: str = "refs/heads/master"
    target_default: bool = False


@dataclass
class FakeMergeProposal:
    id: int
    source_branch: str  # unique names
    target_branch: str
    registrant: str  # login
    queue_status: str = "Needs review"
    date_created: str = "2013-01-01T00:00:00+00:00"
    date_merged: str | None = None
    diffstat: dict[str, list[int]] | None = None  # path -> [added, removed]; None: no diff


@dataclass
class FakeProject:
    name: str
    development_focus: str = "trunk"
    series: dict[str, FakeSeries] = field(default_factory=dict)


class LaunchpadServer:
    """An HTTP server on 127.0.0.1 speaking the Launchpad web service's wire format."""

    def __init__(self) -> None:
        self.projects: dict[str, FakeProject] = {}
        self.branches: dict[str, FakeBranch] = {}
        self.git_repositories: dict[str, FakeGitRepository] = {}
        self.merge_proposals: list[FakeMergeProposal] = []
        self.gone: set[str] = set()  # projects that answer 410 Gone, as after bzr hosting ended
        self.requests: list[tuple[str, str]] = []  # (path with query, Accept header)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data -------------------------------------------------------------------------------

    def add_project(self, name: str, development_focus: str = "trunk") -> FakeProject:
        project = FakeProject(name, development_focus)
        self.projects[name] = project
        return project

    def add_series(self, project: str, name: str, branch: str | None = None, **kw: Any) -> None:
        self.projects[project].series[name] = FakeSeries(name, branch=branch, **kw)
        if branch is not None:
            fake = self.branches[branch]
            focus = self.projects[project].development_focus == name
            fake.bzr_identity = f"lp:{project}" if focus else f"lp:{project}/{name}"

    def add_branch(self, unique_name: str, **kw: Any) -> FakeBranch:
        branch = FakeBranch(unique_name, **kw)
        self.branches[unique_name] = branch
        return branch

    def add_git_repository(self, unique_name: str, **kw: Any) -> FakeGitRepository:
        repo = FakeGitRepository(unique_name, **kw)
        self.git_repositories[unique_name] = repo
        return repo

    def add_merge_proposal(self, source_branch: str, target_branch: str, registrant: str,
                           **kw: Any) -> FakeMergeProposal:
        """A merge proposal; its branches are added when missing."""
        for name in (source_branch, target_branch):
            self.branches.setdefault(name, FakeBranch(name))
        proposal = FakeMergeProposal(len(self.merge_proposals) + 1, source_branch,
                                     target_branch, registrant, **kw)
        self.merge_proposals.append(proposal)
        return proposal

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.service_root

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LaunchpadServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def service_root(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    @property
    def api_root(self) -> str:
        return f"{self.service_root}{VERSION}/"

    # -- representations --------------------------------------------------------------------

    def _entry(self, path: str, rtype: str, **fields: Any) -> dict[str, Any]:
        body = {
            "self_link": self.api_root + path,
            "web_link": "https://launchpad.test/" + path,
            "resource_type_link": f"{self.api_root}#{rtype}",
            "http_etag": f'"{abs(hash((path, json.dumps(fields, sort_keys=True))))}"',
        }
        body.update(fields)
        return body

    def _collection(self, entries: list[dict[str, Any]], rtype: str) -> dict[str, Any]:
        return {
            "total_size": len(entries),
            "start": 0,
            "entries": entries,
            "resource_type_link": f"{self.api_root}#{rtype}",
        }

    def _root(self) -> dict[str, Any]:
        root = self.api_root
        return {
            "self_link": root,
            "resource_type_link": f"{root}#service-root",
            "projects_collection_link": root + "projects",
            "branches_collection_link": root + "branches",
            "git_repositories_collection_link": root + "+git",
            "people_collection_link": root + "people",
            "me_link": root + "people/+me",
        }

    def _project(self, project: FakeProject) -> dict[str, Any]:
        focus = self.api_root + f"{project.name}/{project.development_focus}"
        return self._entry(
            project.name, "project", name=project.name, display_name=project.name,
            title=project.name, active=True, development_focus_link=focus,
            series_collection_link=self.api_root + f"{project.name}/series",
            owner_link=None, vcs="Bazaar",
        )

    def _series(self, project: FakeProject, series: FakeSeries) -> dict[str, Any]:
        branch = self.api_root + series.branch if series.branch else None
        return self._entry(
            f"{project.name}/{series.name}", "project_series", name=series.name,
            display_name=series.name, title=f"{project.name} {series.name}",
            status=series.status, active=series.active, branch_link=branch,
            project_link=self.api_root + project.name,
        )

    def _branch(self, branch: FakeBranch) -> dict[str, Any]:
        owner, project, name = branch.unique_name.lstrip("~").split("/")
        return self._entry(
            branch.unique_name, "branch", unique_name=branch.unique_name, name=name,
            display_name=branch.bzr_identity or f"lp:{branch.unique_name}",
            bzr_identity=branch.bzr_identity or f"lp:{branch.unique_name}",
            lifecycle_status=branch.lifecycle_status, last_scanned_id=branch.last_scanned_id,
            revision_count=branch.revision_count, branch_type="Hosted",
            url=None, project_link=self.api_root + project,
        )

    def _git_repository(self, repo: FakeGitRepository) -> dict[str, Any]:
        owner, project, _git, name = repo.unique_name.lstrip("~").split("/")
        identity = f"lp:{project}" if repo.target_default else f"lp:{repo.unique_name}"
        return self._entry(
            repo.unique_name, "git_repository", unique_name=repo.unique_name, name=name,
            display_name=identity, git_identity=identity,
            git_https_url=f"https://git.launchpad.test/{repo.unique_name}",
            git_ssh_url=f"git+ssh://git.launchpad.test/{repo.unique_name}",
            default_branch=repo.default_branch, target_default=repo.target_default,
            owner_default=False, repository_type="Hosted",
        )

    def _merge_proposal_path(self, proposal: FakeMergeProposal) -> str:
        return f"{proposal.source_branch}/+merge/{proposal.id}"

    def _merge_proposal(self, proposal: FakeMergeProposal) -> dict[str, Any]:
        path = self._merge_proposal_path(proposal)
        diff = self.api_root + f"{path}/+preview-diff/{proposal.id}" if proposal.diffstat \
            is not None else None
        return self._entry(
            path, "branch_merge_proposal", address=f"mp+{proposal.id}@code.launchpad.test",
            queue_status=proposal.queue_status, date_created=proposal.date_created,
            date_merged=proposal.date_merged, date_review_requested=proposal.date_created,
            date_reviewed=None, description=None, commit_message=None, private=False,
            merged_revno=None, merged_revision_id=None, reviewed_revid=None,
            source_branch_link=self.api_root + proposal.source_branch,
            target_branch_link=self.api_root + proposal.target_branch,
            prerequisite_branch_link=None, source_git_repository_link=None,
            source_git_path=None, target_git_repository_link=None, target_git_path=None,
            prerequisite_git_repository_link=None, prerequisite_git_path=None,
            registrant_link=self.api_root + f"~{proposal.registrant}",
            merge_reporter_link=None, reviewer_link=None, superseded_by_link=None,
            supersedes_link=None, preview_diff_link=diff,
            preview_diffs_collection_link=self.api_root + f"{path}/preview_diffs",
            all_comments_collection_link=self.api_root + f"{path}/all_comments",
            votes_collection_link=self.api_root + f"{path}/votes",
        )

    def _preview_diff(self, proposal: FakeMergeProposal) -> dict[str, Any]:
        stat = proposal.diffstat or {}
        return self._entry(
            f"{self._merge_proposal_path(proposal)}/+preview-diff/{proposal.id}", "preview_diff",
            id=proposal.id, title="", diffstat=stat, conflicts=None, stale=False,
            added_lines_count=sum(a for a, _r in stat.values()),
            removed_lines_count=sum(r for _a, r in stat.values()),
            diff_lines_count=sum(a + r for a, r in stat.values()),
            date_created=proposal.date_created, source_revision_id="src",
            target_revision_id="tgt", prerequisite_revision_id=None,
            diff_text_link=None, branch_merge_proposal_link=self.api_root
            + self._merge_proposal_path(proposal),
        )

    def _person(self, login: str) -> dict[str, Any]:
        return self._entry(f"~{login}", "person", name=login, display_name=login)

    def _project_repositories(self, project: str) -> list[FakeGitRepository]:
        return [
            r for r in self.git_repositories.values() if r.unique_name.split("/")[1] == project
        ]

    # -- routing ----------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        accept = request.headers.get("Accept", "")
        self.requests.append((request.path, accept))
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path)
        prefix = f"/{VERSION}/"
        if not (path + "/").startswith(prefix):
            return self._send(request, 404, "text/plain", b"unknown API version")
        rest = path[len(prefix):].strip("/")
        if rest == "":
            if "application/vnd.sun.wadl+xml" in accept:
                body = wadl_for(self.api_root).encode("utf-8")
                return self._send(request, 200, "application/vnd.sun.wadl+xml", body)
            return self._json(request, self._root())
        try:
            document = self._route(rest, query)
        except ProjectGone as exc:
            return self._send(request, 410, "text/plain", f"Gone: {exc}".encode())
        except LookupError as exc:
            return self._send(request, 404, "text/plain", f"Object: {exc}".encode())
        return self._json(request, document)

    def _route(self, rest: str, query: dict[str, str]) -> Any:
        op = query.get("ws.op")
        args = {k: json.loads(v) for k, v in query.items() if k != "ws.op"}
        if rest == "+git":
            return self._git_operation(op, args)
        segments = rest.split("/")
        if segments[0].startswith("~"):
            name = rest
            if "/+merge/" in name:
                for proposal in self.merge_proposals:
                    path = self._merge_proposal_path(proposal)
                    if name == path:
                        return self._merge_proposal(proposal)
                    if name == f"{path}/+preview-diff/{proposal.id}":
                        return self._preview_diff(proposal)
                raise LookupError(name)
            if len(segments) == 1:
                return self._person(segments[0][1:])
            if "/+git/" in name:
                if name in self.git_repositories:
                    return self._git_repository(self.git_repositories[name])
            elif name in self.branches:
                return self._branch(self.branches[name])
            raise LookupError(name)
        project = self.projects.get(segments[0])
        if project is None:
            raise LookupError(segments[0])
        if project.name in self.gone:
            raise ProjectGone(project.name)
        if len(segments) == 1:
            if op is None:
                return self._project(project)
            if op == "getMergeProposals":
                statuses = args.get("status") or None
                return self._collection([
                    self._merge_proposal(p) for p in self.merge_proposals
                    if p.target_branch.split("/")[1] == project.name
                    and (statuses is None or p.queue_status in statuses)
                ], "branch_merge_proposal-page-resource")
            if op == "getSeries":
                series = project.series.get(args["name"])
                return self._series(project, series) if series else None
            if op == "getBranches":
                statuses = args.get("status") or None
                return self._collection([
                    self._branch(b) for b in self.branches.values()
                    if b.unique_name.split("/")[1] == project.name
                    and (statuses is None or b.lifecycle_status in statuses)
                ], "branch-page-resource")
            raise LookupError(f"{project.name}?ws.op={op}")
        if len(segments) == 2 and segments[1] == "series":
            return self._collection(
                [self._series(project, s) for s in project.series.values()],
                "project_series-page-resource",
            )
        if len(segments) == 2 and segments[1] in project.series:
            return self._series(project, project.series[segments[1]])
        raise LookupError(rest)

    def _git_operation(self, op: str | None, args: dict[str, Any]) -> Any:
        if op == "getByPath":
            path = args["path"]
            if path in self.git_repositories:
                return self._git_repository(self.git_repositories[path])
            defaults = [r for r in self._project_repositories(path) if r.target_default]
            return self._git_repository(defaults[0]) if defaults else None
        target = args.get("target", "").rstrip("/").rsplit("/", 1)[-1]
        if op == "getDefaultRepository":
            defaults = [r for r in self._project_repositories(target) if r.target_default]
            return self._git_repository(defaults[0]) if defaults else None
        if op == "getRepositories":
            return self._collection(
                [self._git_repository(r) for r in self._project_repositories(target)],
                "git_repository-page-resource",
            )
        raise LookupError(f"+git?ws.op={op}")

    def _json(self, request: BaseHTTPRequestHandler, document: Any) -> None:
        self._send(request, 200, "application/json", json.dumps(document).encode("utf-8"))

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", ctype)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
