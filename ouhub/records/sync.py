"""Sync and upstream records: mirrored branch heads and upstream lag."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

# -- sync (0002) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncState:
    """A branch's mirror as the last sync left it; revid/revno are those of the last success."""

    release: str
    branch: str
    url: str
    served_url: str | None
    vcs: str | None
    revid: str | None
    revno: int | None
    new_revisions: int
    last_success: str | None
    last_attempt: str
    last_error: str | None
    mirror: str | None = None  # git: the repository shared by the remote's branches

    @property
    def ok(self) -> bool:
        return self.last_error is None


# -- upstream (0005) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnmergedRevision:
    """An upstream revision the OpenUpgrade branch has not merged."""

    revid: str
    revno: str | None  # upstream's revno (dotted for merged revisions)
    author: str
    date: str  # ISO 8601, UTC
    message: str
    modules: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"revid": self.revid, "revno": self.revno, "author": self.author,
                "date": self.date, "message": self.message, "modules": list(self.modules)}


@dataclass(frozen=True)
class BranchLag:
    """How far a release's branch is behind its upstream, as of ``checked_at``."""

    release: str
    branch: str
    upstream_url: str
    served_url: str | None = None
    upstream_revid: str | None = None
    mirror_revid: str | None = None
    unmerged: tuple[UnmergedRevision, ...] = ()
    checked_at: str | None = None
    last_success: str | None = None
    error: str | None = None

    @property
    def count(self) -> int:
        return len(self.unmerged)

    @property
    def oldest(self) -> str | None:
        return min((r.date for r in self.unmerged), default=None)

    @property
    def authors(self) -> tuple[str, ...]:
        """Authors of unmerged revisions, the most prolific first."""
        counts = Counter(r.author for r in self.unmerged)
        return tuple(a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted({m for r in self.unmerged for m in r.modules}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "branch": self.branch,
            "upstream_url": self.upstream_url,
            "served_url": self.served_url,
            "upstream_revid": self.upstream_revid,
            "mirror_revid": self.mirror_revid,
            "unmerged_count": self.count,
            "oldest_unmerged": self.oldest,
            "authors": list(self.authors),
            "modules": list(self.modules),
            "checked_at": self.checked_at,
            "last_success": self.last_success,
            "error": self.error,
            "unmerged": [r.as_dict() for r in self.unmerged],
        }
