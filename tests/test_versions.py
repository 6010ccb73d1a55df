"""Release names and module versions (ouhub/versions.py): parametrized tables of literal strings."""

from __future__ import annotations

import pytest

from ouhub.versions import (
    folder_release,
    full_version,
    is_release_name,
    release_of_version,
    version_key,
    version_tuple,
)


@pytest.mark.parametrize(
    ("version", "release"),
    [("7.0.1.3", "7.0"), ("6.1.1.1", "6.1"), ("12.0.1.3", "12.0"), ("saas~11.1.1.3", "saas~11.1"),
     ("8.0", "8.0"), ("1.3", "1.3"), ("", None), (None, None), ("garbage", None)],
)
def test_release_of_base_version(version: str | None, release: str | None) -> None:
    assert release_of_version(version) == release


@pytest.mark.parametrize(
    ("version", "release"),
    [("7.0.1.1", "7.0"), ("17.0.1.03.00", "17.0"), ("19.0.13.0.2", "19.0"), ("1.1", "8.0"),
     ("1.0", "8.0"), ("6.1.1.0", "6.1"), ("2.0.1", "8.0"), ("saas~11.1.1.0", "saas~11.1")],
)
def test_folder_release(version: str, release: str) -> None:
    assert folder_release(version, "8.0") == release


@pytest.mark.parametrize(
    ("name", "ok"),
    [("7.0", True), ("17.0", True), ("saas~11.1", True), ("7", False), ("7.0.1", False),
     ("v7.0", False), ("7.x", False), ("", False)],
)
def test_is_release_name(name: str, ok: bool) -> None:
    assert is_release_name(name) is ok


def test_version_key_sorts_releases_by_number() -> None:
    names = ["10.0", "6.1", "7.0", "9.0", "11.0", "8.0"]
    assert sorted(names, key=version_key) == ["6.1", "7.0", "8.0", "9.0", "10.0", "11.0"]


@pytest.mark.parametrize(
    ("older", "newer"),
    [("7.0.1.1", "7.0.1.10"), ("6.1.1.0", "7.0.1.0"), ("7.0.1", "7.0.1.0.1"),
     ("7.0.1.1", "7.0.1.1-1")],
)
def test_version_tuple_orders_versions(older: str | None, newer: str) -> None:
    assert version_tuple(older) < version_tuple(newer)


def test_version_tuple_ignores_trailing_zeros() -> None:
    assert version_tuple("7.0.1") == version_tuple("7.0.1.0.0")


@pytest.mark.parametrize(
    ("version", "full"), [("1.1", "7.0.1.1"), ("7.0.1.1", "7.0.1.1"), ("1.0.2", "1.0.2")],
)
def test_full_version(version: str, full: str) -> None:
    assert full_version(version, "7.0") == full
