"""The `[releases]` config of what `ouhub discover` found on Launchpad.

``render_releases`` prints it as TOML (with what was skipped as comments) and
``merge_releases`` merges it into a config's text, keeping every other key and
comment: both pure, over the discovery records and text. ``write_releases`` writes
the merge back, atomically.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit

from ouhub import config as config_mod
from ouhub.errors import ConfigError, SyncError
from ouhub.fsutil import write_atomic
from ouhub.sync.launchpad import Discovery, host
from ouhub.versions import is_release_name, version_key


def branch_name_for(project: str) -> str:
    """The config's branch name for a project: openupgrade-server -> server."""
    for prefix in ("openupgrade-", "openupgrade_"):
        if project.startswith(prefix) and len(project) > len(prefix):
            return project[len(prefix):]
    return project


def releases_from(discovery: Discovery) -> dict[str, dict[str, Any]]:
    """``{release: {"previous": ..., "branches": {name: {"url", "vcs"}}}}`` for series
    named like releases and having a branch, previous linking consecutive releases."""
    releases: dict[str, dict[str, Any]] = {}
    for project in discovery.projects:
        for series in project.series:
            if series.branch is None or not is_release_name(series.name):
                continue
            entry = releases.setdefault(series.name, {"branches": {}})
            # lp:project/series, not the branch's identity: the development focus's identity
            # (lp:project) moves to the next series one day.
            stable = f"lp:{project.project}/{series.name}"
            entry["branches"][branch_name_for(project.project)] = {
                "url": stable, "vcs": "bzr",
                "aliases": sorted({stable, series.branch.identity, series.branch.url,
                                   f"lp:{series.branch.unique_name}"}),
            }
    ordered = sorted(releases, key=version_key)
    result = {}
    for index, name in enumerate(ordered):
        result[name] = {"previous": ordered[index - 1] if index else None, **releases[name]}
    return result


def render_releases(discovery: Discovery) -> str:
    """The `[releases]` TOML for the discovered series, with the rest as comments."""
    releases = releases_from(discovery)
    doc = tomlkit.document()
    names = ", ".join(p.project for p in discovery.projects)
    doc.add(tomlkit.comment(f"discovered on Launchpad ({host(discovery.service_root)}): {names}"))
    for project in discovery.projects:
        for series in project.series:
            if series.branch is None:
                doc.add(tomlkit.comment(f"{project.project} series {series.name}: no branch"))
            elif not is_release_name(series.name):
                doc.add(tomlkit.comment(
                    f"{project.project} series {series.name} ({series.branch.identity}): "
                    "not a release name, skipped"))
        for branch in project.other_branches:
            doc.add(tomlkit.comment(
                f"{project.project}: other active branch {branch.identity} "
                f"({branch.lifecycle_status})"))
        for repo in project.git_repositories:
            doc.add(tomlkit.comment(f"{project.project}: git repository {repo.url}"))
    _merge_into(doc, releases)
    return tomlkit.dumps(doc)


def _merge_into(doc: Any, releases: dict[str, dict[str, Any]]) -> list[str]:
    """Add discovered releases and branches to a tomlkit document; returns what was added.

    Raises SyncError listing every release/branch configured with another URL.
    """
    conflicts, added = [], []
    if "releases" not in doc:
        doc.add(tomlkit.nl())
        doc["releases"] = tomlkit.table(is_super_table=True)
    table = doc["releases"]
    if not isinstance(table, dict):
        raise SyncError("the config's `releases` is not a table", hint="fix the config first")
    for name, body in releases.items():
        existing = table.get(name)
        if existing is None:
            release = tomlkit.table()
            if body["previous"] is not None and body["previous"] in (set(table) | set(releases)):
                release["previous"] = body["previous"]
            branches = tomlkit.table(is_super_table=True)
            for bname, bbody in body["branches"].items():
                branches[bname] = _branch_table(bbody)
                added.append(f"{name}/{bname}")
            release["branches"] = branches
            table[name] = release
            continue
        branches = existing.get("branches")
        if branches is None:
            existing["branches"] = branches = tomlkit.table(is_super_table=True)
        for bname, bbody in body["branches"].items():
            current = branches.get(bname)
            if current is None:
                branches[bname] = _branch_table(bbody)
                added.append(f"{name}/{bname}")
                continue
            url = current if isinstance(current, str) else current.get("url")
            if url not in bbody["aliases"]:
                conflicts.append(
                    f"releases.\"{name}\".branches.{bname}: configured url {url!r}, "
                    f"Launchpad says {bbody['url']!r}"
                )
    if conflicts:
        raise SyncError(
            "cannot merge the discovered releases into the config:\n  " + "\n  ".join(conflicts),
            hint="edit those branches by hand, or remove them and run `ouhub discover --write` "
            "again; nothing was written",
        )
    return added


def _branch_table(body: dict[str, Any]) -> Any:
    table = tomlkit.table()
    for key, value in body.items():
        if key != "aliases":
            table[key] = value
    return table


def merge_releases(
    text: str, discovery: Discovery, source: str = "<config>"
) -> tuple[str, list[str]]:
    """The config text with the discovered releases merged in, and the branches added.

    Keeps every other key and comment; refuses (SyncError) where a release's branch is
    already configured with another URL, or where the result would not be a valid config.
    """
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise SyncError(f"{source}: not valid TOML: {exc}", hint="fix the config first") from exc
    added = _merge_into(doc, releases_from(discovery))
    merged = tomlkit.dumps(doc)
    try:
        config_mod.from_dict(tomllib.loads(merged), path=Path(source), text=merged)
    except ConfigError as exc:
        raise SyncError(
            f"the merged config would be invalid, so {source} was left as it was:\n{exc.message}",
            hint="fix the config (ouhub config check) and run `ouhub discover --write` again",
        ) from exc
    return merged, added


def write_releases(path: Path, discovery: Discovery) -> list[str]:
    """Merge the discovered releases into the config file at ``path`` (atomically)."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as exc:
        raise SyncError(f"{path}: cannot read the config: {exc}") from exc
    merged, added = merge_releases(text, discovery, source=str(path))
    if not added:
        return added
    try:
        write_atomic(path, merged.encode("utf-8"))
    except OSError as exc:
        raise SyncError(f"{path}: cannot write the config: {exc}",
                        hint="check that the file and its folder are writable") from exc
    return added
