"""Cap a log that travels (a worker's run record): its head and its tail within a limit.

Pure: text in, text out. Reads the log as a stream of pieces, so that a log of
gigabytes is read once and never held whole.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

CUT_MARK = "# ouhub: {count} characters cut from the middle of this log (head and tail kept)"
MIN_LOG_LIMIT = 2 * (len(CUT_MARK) + 24)


def cap_log(chunks: str | Iterable[str], limit: int) -> str:
    """The log whole when it fits in ``limit`` characters, else its head and its tail.

    ``chunks`` is the text, or pieces of it in order (an open text file yields its
    lines), so a log of gigabytes is read once while at most about ``2 * limit``
    characters are held. The cut falls on line ends where one is near, and a marker
    line between head and tail says how much was left out: the start (what ran,
    the first error) and the end (the last traceback, the summary) are what a
    reader of a failed upgrade needs.
    """
    if limit < MIN_LOG_LIMIT:
        raise ValueError(f"cap_log keeps at least {MIN_LOG_LIMIT} characters, not {limit}")
    if isinstance(chunks, str):
        chunks = (chunks,)
    half = limit // 2
    head: list[str] = []
    head_size = total = tail_size = 0
    tail: deque[str] = deque()
    for chunk in chunks:
        total += len(chunk)
        if head_size < limit:  # the head keeps up to ``limit``: the whole log, if it fits
            taken = chunk[: limit - head_size]
            head.append(taken)
            head_size += len(taken)
            chunk = chunk[len(taken):]
        if chunk:
            tail.append(chunk)
            tail_size += len(chunk)
            while tail_size - len(tail[0]) >= limit:
                tail_size -= len(tail.popleft())
    whole = "".join(head)
    if total <= limit:
        return whole
    mark_room = len(CUT_MARK) + 24  # the mark line with its count, and a line end
    keep_head = whole[: half - mark_room // 2]
    rest = whole + "".join(tail)  # ends with the log's last ``limit`` characters at least
    keep_tail = rest[len(rest) - (limit - len(keep_head) - mark_room):]
    newline = keep_head.rfind("\n")
    if newline >= len(keep_head) // 2:  # end the head on a line end when one is near
        keep_head = keep_head[: newline + 1]
    newline = keep_tail.find("\n")
    if 0 <= newline < len(keep_tail) // 2:  # and start the tail on a new line
        keep_tail = keep_tail[newline + 1:]
    cut = total - len(keep_head) - len(keep_tail)
    if not keep_head.endswith("\n"):
        keep_head += "\n"
    return keep_head + CUT_MARK.format(count=cut) + "\n" + keep_tail
