"""Release names and module versions, parsed in one place.

A release is a major series (``6.1``, ``7.0``, ``17.0``, ``saas~11.1``); a module
version carries its release in front (``7.0.1.3``) once the server has read it.
"""

from __future__ import annotations

import re

_RELEASE_PREFIX = re.compile(r"^((?:saas~)?\d+\.\d+)(?:\.|$)")


def release_of_version(version: str | None) -> str | None:
    """The release a module version starts with (``7.0.1.3`` -> ``7.0``), else None."""
    match = _RELEASE_PREFIX.match(version or "")
    return match.group(1) if match else None
