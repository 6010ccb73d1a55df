"""The parse cache: a result is reused only for the same path and stamp, by this parser."""

from __future__ import annotations

import marshal

import pytest

from ouhub.coverage.analysis import AnalysisFile, parse_analysis
from ouhub.coverage.parsecache import ParseCache, parser_fingerprint

TEXT = "---Fields in module 'm'---\nm / a.b / f (char) : DEL\n# NOTHING TO DO\n"


def test_a_result_comes_back_for_the_same_stamp_only() -> None:
    parsed = parse_analysis(TEXT, "m/19.0.1.0/upgrade_analysis_work.txt")
    cache = ParseCache()
    cache.put("m/19.0.1.0/upgrade_analysis_work.txt", (52, 1700), parsed.as_dict())
    again = ParseCache.loads(cache.dumps())
    assert again.get("m/19.0.1.0/upgrade_analysis_work.txt", (53, 1700)) is None  # resized
    assert again.get("m/19.0.1.0/upgrade_analysis_work.txt", (52, 1701)) is None  # touched
    kept = again.get("m/19.0.1.0/upgrade_analysis_work.txt", (52, 1700))
    assert AnalysisFile.from_dict(kept) == parsed
    assert (again.hits, again.misses) == (1, 2)


def test_only_what_a_scan_used_is_kept_for_the_next() -> None:
    cache = ParseCache()
    cache.put("gone.txt", "blob1", {"x": 1})
    cache.put("kept.txt", "blob2", {"x": 2})
    second = ParseCache.loads(cache.dumps())
    assert second.get("kept.txt", "blob2") == {"x": 2}
    third = ParseCache.loads(second.dumps())
    assert third.get("gone.txt", "blob1") is None  # not read by the second scan: forgotten
    assert third.get("kept.txt", "blob2") == {"x": 2}


def test_a_cache_is_written_again_only_when_what_it_keeps_changed() -> None:
    cache = ParseCache()
    cache.put("a.txt", "blob1", {"x": 1})
    cache.put("b.txt", "blob2", {"x": 2})
    assert cache.changed
    same = ParseCache.loads(cache.dumps())
    assert same.get("a.txt", "blob1") and same.get("b.txt", "blob2")
    assert not same.changed  # every result reused, none dropped: nothing to write
    fewer = ParseCache.loads(cache.dumps())
    assert fewer.get("a.txt", "blob1")
    assert fewer.changed  # b.txt is gone from the tree: forget it
    edited = ParseCache.loads(cache.dumps())
    assert edited.get("a.txt", "blob1") and edited.get("b.txt", "blob3") is None
    assert edited.changed


def test_a_file_without_a_stamp_is_never_kept() -> None:
    cache = ParseCache()
    cache.put("a.txt", None, {"x": 1})
    cache.put("b.txt", "", {"x": 1})
    assert ParseCache.loads(cache.dumps()).get("a.txt", None) is None


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"not marshal at all",
        marshal.dumps(("another parser", {"a.txt": ("s", {"x": 1})})),
        marshal.dumps([1, 2, 3]),
        marshal.dumps((parser_fingerprint(), ["not", "a", "dict"])),
    ],
)
def test_bytes_that_do_not_load_give_an_empty_cache(data: bytes | None) -> None:
    cache = ParseCache.loads(data)
    assert cache.get("a.txt", "s") is None
