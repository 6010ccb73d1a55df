"""Release names and module versions, parsed in one place.

A release is a major series (``6.1``, ``7.0``, ``17.0``, ``saas~11.1``); a module
version carries its release in front (``7.0.1.3``) once the server has read it, and
a migrations folder or manifest may give it without (``1.3``).
"""

from __future__ import annotations

import functools
import re

RELEASE_NAME = re.compile(r"(saas~)?\d+\.\d+")
# A migrations/ version folder: 1.1, 7.0.1.1, 17.0.1.0.0, saas~11.1.1.0
VERSION_FOLDER = re.compile(r"^(saas~)?\d+(\.\d+)*$")
_RELEASE_PREFIX = re.compile(r"^((?:saas~)?\d+\.\d+)(?:\.|$)")


def is_release_name(name: str) -> bool:
    """Whether ``name`` is spelled like a release: ``7.0``, ``17.0``, ``saas~11.1``."""
    return RELEASE_NAME.fullmatch(name) is not None


def version_key(name: str) -> tuple:
    """Sort release names as versions: 6.1 < 7.0 < 10.0 (a word counts as -1: the
    saas~ releases sort before the numbered ones)."""
    return tuple(int(p) if p.isdigit() else -1 for p in re.findall(r"\d+|[a-z]+", name))


@functools.lru_cache(maxsize=4096)  # a scan ranks hundreds of folders of a few versions
def version_tuple(version: str | None) -> tuple:
    """A module version as a comparable tuple: numbers as numbers, trailing zeros dropped
    (``7.0.1.1`` < ``7.0.1.10``, ``7.0.1`` == ``7.0.1.0``)."""
    parts = []
    for piece in (version or "").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    while parts and parts[-1] == (0, 0, ""):
        parts.pop()
    return tuple(parts)


def release_of_version(version: str | None) -> str | None:
    """The release a module version starts with (``7.0.1.3`` -> ``7.0``), else None."""
    match = _RELEASE_PREFIX.match(version or "")
    return match.group(1) if match else None


def full_version(version: str, release: str) -> str:
    """A migrations/ folder or manifest version with the release in front, as the server
    reads it (``1.1`` in 7.0 -> ``7.0.1.1``)."""
    return version if version.count(".") >= 2 else f"{release}.{version}"


def folder_release(version: str, scanned_release: str) -> str:
    """The release a version folder belongs to: its series prefix, else the scanned release.

    Like the upgrade mechanism, a version with three or more parts carries its series
    (``7.0.1.1`` -> 7.0, ``17.0.1.03.00`` -> 17.0); a shorter one (``1.1``) belongs to
    the release being scanned.
    """
    saas = version.startswith("saas~")
    parts = version.removeprefix("saas~").split(".")
    if len(parts) >= 3 and parts[0].isdigit() and int(parts[0]) >= 5:
        return ("saas~" if saas else "") + f"{int(parts[0])}.{parts[1]}"
    return scanned_release
