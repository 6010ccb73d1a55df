"""The one config factory of the tests: a real TOML file, loaded by ouhub's own loader.

``write_config`` writes it (commands take its path); ``make_config`` loads it. Releases
are chained by ``previous`` in the order given, each with its branches (a branch is its
URL, or its table); a plain list of release names gives each one bzr branch, ``server``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ouhub import config as config_mod

BranchSpec = str | Mapping[str, Any]  # a URL, or the branch's table (url, vcs, upstream, ...)
Releases = Mapping[str, Mapping[str, BranchSpec]] | Sequence[str]


def write_config(
    root: Path, releases: Releases, *, dsn: str | None = None,
    samples: Sequence[Mapping[str, Any]] = (), runner: Mapping[str, Any] | None = None,
    site: Mapping[str, Any] | None = None, data_dir: str | Path = "data",
    name: str = "ouhub.toml", contributions: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``root/name`` and return its path; relative paths in it are relative to ``root``."""
    data: dict[str, Any] = {"data_dir": str(data_dir)}
    if dsn is not None:
        data["dsn"] = dsn
    if not isinstance(releases, Mapping):
        releases = {name: {"server": {"url": f"/srv/{name}", "vcs": "bzr"}} for name in releases}
    table: dict[str, Any] = {}
    previous = None
    for release, branches in releases.items():
        body: dict[str, Any] = {"previous": previous} if previous else {}
        body["branches"] = {
            branch: {"url": spec} if isinstance(spec, str) else dict(spec)
            for branch, spec in branches.items()
        }
        table[release] = body
        previous = release
    data["releases"] = table
    if samples:
        data["samples"] = [dict(s) for s in samples]
    if runner is not None:
        data["runner"] = dict(runner)
    if site is not None:
        data["site"] = dict(site)
    if contributions is not None:
        data["contributions"] = dict(contributions)
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(toml_text(data), encoding="utf-8")
    return path


def make_config(root: Path, releases: Releases, **options: Any) -> config_mod.Config:
    """The loaded Config of ``write_config(root, releases, **options)``."""
    return config_mod.load(write_config(root, releases, **options))


def toml_text(data: Mapping[str, Any]) -> str:
    """TOML for the shapes a config has: scalars and lists of scalars, nested tables, and
    arrays of tables. JSON's strings, numbers, booleans and lists are TOML's too."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _table(lines: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    def nested(value: Any) -> bool:
        return isinstance(value, Mapping) or (
            isinstance(value, list) and bool(value) and isinstance(value[0], Mapping))

    for key, value in data.items():
        if value is not None and not nested(value):
            lines.append(f"{_key(key)} = {json.dumps(value)}")
    for key, value in data.items():
        if isinstance(value, Mapping):
            if not value or any(v is not None and not nested(v) for v in value.values()):
                lines += ["", f"[{'.'.join(_key(k) for k in (*path, key))}]"]
            _table(lines, (*path, key), value)
        elif nested(value):
            for item in value:
                lines += ["", f"[[{'.'.join(_key(k) for k in (*path, key))}]]"]
                _table(lines, (*path, key), item)
