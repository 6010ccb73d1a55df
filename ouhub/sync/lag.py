"""Upstream lag: modules touched by unmerged revisions, merge messages. No I/O.

A module is a directory holding a manifest (``__manifest__.py``, ``__openerp__.py``
or ``__terp__.py``); ``module_roots`` finds them in a list of paths and
``module_of`` maps a changed file to the module that contains it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.records import UnmergedRevision
from ouhub.vocab import MANIFEST_NAMES

NO_MODULE = "(no module)"


def module_roots(paths: Iterable[str]) -> frozenset[str]:
    """The directories (relative paths) that hold a module manifest."""
    roots = set()
    for path in paths:
        head, _, name = path.rstrip("/").rpartition("/")
        if name in MANIFEST_NAMES and head:
            roots.add(head)
    return frozenset(roots)


def module_of(path: str, roots: frozenset[str] | set[str]) -> str | None:
    """The module a file belongs to: its deepest enclosing module root, else the
    directory after the last ``addons/`` (a module since deleted), else None."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts) - 1, 0, -1):
        if "/".join(parts[:depth]) in roots:
            return parts[depth - 1]
    dirs = parts[:-1]
    for index in range(len(dirs) - 1, -1, -1):
        if dirs[index] == "addons" and index + 1 < len(dirs):
            return dirs[index + 1]
    return None


def modules_of(paths: Iterable[str], roots: frozenset[str] | set[str]) -> tuple[str, ...]:
    return tuple(sorted({m for p in paths if (m := module_of(p, roots)) is not None}))


def group_by_module(paths: Iterable[str], roots: frozenset[str] | set[str]) -> dict[str, list[str]]:
    """Files grouped by module (files outside any module under NO_MODULE), sorted."""
    groups: dict[str, list[str]] = {}
    for path in sorted(set(paths)):
        groups.setdefault(module_of(path, roots) or NO_MODULE, []).append(path)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == NO_MODULE, kv[0])))


def first_line(message: str, width: int = 72) -> str:
    line = (message.strip().splitlines() or [""])[0].strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def merge_message(upstream_url: str, revisions: Iterable[UnmergedRevision]) -> str:
    """The commit message of a merge from upstream: one line per merged revision."""
    revisions = list(revisions)
    plural = "revision" if len(revisions) == 1 else "revisions"
    lines = [f"Merge upstream {upstream_url} ({len(revisions)} {plural})", ""]
    for rev in revisions:
        modules = f" [{', '.join(rev.modules)}]" if rev.modules else ""
        lines.append(f"- {_name(rev)} {rev.date[:10]} {rev.author}: "
                     f"{first_line(rev.message)}{modules}")
    return "\n".join(lines) + "\n"


def _name(rev: UnmergedRevision) -> str:
    """How a person names a revision: its bzr revno, else a git commit's short sha."""
    if rev.revno:
        return f"r{rev.revno}"
    is_sha = len(rev.revid) == 40 and all(c in "0123456789abcdef" for c in rev.revid)
    return rev.revid[:12] if is_sha else "r?"


@dataclass(frozen=True)
class MergeOutcome:
    """What `ouhub upstream merge` did in its working tree."""

    workdir: Path
    merged: tuple[UnmergedRevision, ...] = ()
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # module -> files
    committed: str | None = None  # the merge commit's revision id
    message: str = ""
    pushed_to: str | None = None
    vcs: str = "bzr"
    kept_in: str | None = None  # where the commit is once the working tree is gone (git)
    earlier: str | None = None  # a merge committed before, not in the mirror yet: merged on top of

    @property
    def ok(self) -> bool:
        return not self.conflicts

    @property
    def to_push(self) -> str | None:
        """The merge --push publishes: this run's commit, else the earlier one; None: nothing."""
        return self.committed or self.earlier

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "vcs": self.vcs, "workdir": str(self.workdir),
            "merged": [r.as_dict() for r in self.merged], "conflicts": self.conflicts,
            "committed": self.committed, "earlier": self.earlier, "kept_in": self.kept_in,
            "message": self.message, "pushed_to": self.pushed_to,
            "nothing_to_merge": self.ok and not self.merged,
            "nothing_to_push": self.ok and self.to_push is None,
        }
