"""Release names and module versions (ouhub/versions.py): parametrized tables of literal strings."""

from __future__ import annotations

import pytest

from ouhub.versions import release_of_version


@pytest.mark.parametrize(
    ("version", "release"),
    [("7.0.1.3", "7.0"), ("6.1.1.1", "6.1"), ("12.0.1.3", "12.0"), ("saas~11.1.1.3", "saas~11.1"),
     ("8.0", "8.0"), ("1.3", "1.3"), ("", None), (None, None), ("garbage", None)],
)
def test_release_of_base_version(version: str | None, release: str | None) -> None:
    assert release_of_version(version) == release
