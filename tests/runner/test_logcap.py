"""cap_log: a log that travels from a worker keeps its head and its tail, whatever its size."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ouhub.runner.logcap import MIN_LOG_LIMIT, cap_log

MARK = re.compile(r"^# ouhub: (\d+) characters cut from the middle of this log", re.M)


def split(capped: str) -> tuple[str, int, str]:
    """(head, characters cut, tail) of a capped log."""
    match = MARK.search(capped)
    assert match, capped
    end = capped.index("\n", match.end()) + 1
    return capped[: match.start()], int(match.group(1)), capped[end:]


def server_log(lines: int) -> str:
    return "".join(f"2014-05-02 08:00:{i % 60:02d},001 77 INFO db70 openerp.modules.loading: "
                   f"module m{i}: loading\n" for i in range(lines))


@pytest.mark.parametrize("text, limit", [
    ("", 10_000),
    ("one line without an end", 10_000),
    (server_log(100), len(server_log(100))),  # exactly the limit: whole
])
def test_a_log_that_fits_is_whole(text, limit):
    assert cap_log(text, limit) == text


def test_a_long_log_keeps_first_and_last_lines_and_says_what_was_cut():
    text = server_log(5000) + "Traceback (most recent call last):\nValueError: the last error\n"
    capped = cap_log(text, 10_000)
    assert len(capped) <= 10_000
    head, cut, tail = split(capped)
    assert text.startswith(head) and head.endswith("\n")
    assert text.endswith(tail) and tail.endswith("ValueError: the last error\n")
    assert tail.startswith("2014-")  # the tail starts on a whole line
    assert cut == len(text) - len(head) - len(tail) > 0


def test_the_smallest_limit_still_holds_and_a_smaller_one_is_refused():
    capped = cap_log("a" * 5000, MIN_LOG_LIMIT)
    assert len(capped) <= MIN_LOG_LIMIT + 1 and split(capped)[1] > 4000
    with pytest.raises(ValueError, match="at least"):
        cap_log("a" * 5000, MIN_LOG_LIMIT - 1)


def test_an_open_file_is_read_line_by_line(tmp_path):
    path = tmp_path / "upgrade.log"
    text = server_log(20_000)  # ~1.7 MB, read as lines
    path.write_text(text)
    with path.open() as fh:
        assert cap_log(fh, 50_000) == cap_log(text, 50_000)


@given(text=st.text(alphabet="abc\n", min_size=100, max_size=1500),
       cuts=st.lists(st.integers(0, 1500)), limit=st.integers(MIN_LOG_LIMIT, 800))
def test_any_chunking_gives_the_same_head_and_tail(text, cuts, limit):
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    capped = cap_log(chunks, limit)
    assert capped == cap_log(text, limit)
    if len(text) <= limit:
        assert capped == text
    else:
        head, cut, tail = split(capped)
        if not text.startswith(head):  # a head cut mid-line gets a line end before the mark
            head = head.removesuffix("\n")
            assert text.startswith(head)
        assert text.endswith(tail)
        assert cut == len(text) - len(head) - len(tail)
        assert len(capped) <= limit + 1
