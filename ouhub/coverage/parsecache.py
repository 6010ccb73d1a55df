"""Parse results of a tree's files, kept by the stamp of the file each came from.

A scan reads a tree's analysis files, and between two scans most are unchanged. Each
result is kept under the file's path with its stamp (size and modification time in a
directory, the blob id in a git tree), so a rescan after one changed module parses one
file. A cache is plain data serialised with :mod:`marshal` (fast, and never code); it
carries the fingerprint of the parser's source, so results of another parser are never
reused, and bytes that do not load (another format, damage) give an empty cache, never
an error: the scan then parses everything, as the first time.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
from collections.abc import Hashable
from pathlib import Path
from typing import Any

_PARSERS = ("analysis.py", "analysis_lines.py")  # what the kept results depend on


@functools.lru_cache(maxsize=1)
def parser_fingerprint() -> str:
    """A hash of the analysis parser's source: any change to it empties every cache."""
    digest = hashlib.sha1()
    for name in _PARSERS:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


class ParseCache:
    """Results by path and stamp; only the entries used by this scan are kept for the next."""

    def __init__(self, entries: dict[str, tuple[Any, Any]] | None = None) -> None:
        self._old = entries or {}
        self._kept: dict[str, tuple[Any, Any]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, path: str, stamp: Hashable) -> Any | None:
        """The result kept for ``path`` if its stamp is unchanged, else None."""
        found = self._old.get(path)
        if found is not None and found[0] == stamp and stamp:
            self._kept[path] = found
            self.hits += 1
            return found[1]
        self.misses += 1
        return None

    def put(self, path: str, stamp: Hashable, result: Any) -> None:
        """Keep ``result`` (plain data: dicts, lists, str, int) for ``path`` at ``stamp``."""
        if stamp:  # a file without a stamp (size and time unknown) is parsed every time
            self._kept[path] = (stamp, result)

    @property
    def changed(self) -> bool:
        """Whether the results to keep differ from those loaded (else nothing to write)."""
        return bool(self.misses) or len(self._kept) != len(self._old)

    def dumps(self) -> bytes:
        return marshal.dumps((parser_fingerprint(), self._kept))

    @classmethod
    def loads(cls, data: bytes | None) -> ParseCache:
        """The cache in ``data``; an empty one for None, another parser's or damaged bytes."""
        if not data:
            return cls()
        try:
            fingerprint, entries = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return cls()
        if fingerprint != parser_fingerprint() or not isinstance(entries, dict):
            return cls()
        return cls(entries)
