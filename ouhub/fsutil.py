"""Files and processes, done one way: atomic writes, exclusive locks, "is this pid alive"."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write_atomic(path: Path, content: bytes) -> None:
    """Write through a temporary file renamed into place: a reader sees the old content or
    the new, never half of it. Missing parent folders are made."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.ouhub-tmp")
    try:
        tmp.write_bytes(content)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(content)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused past ``limit`` bytes.

    A FIFO, a device (``/dev/zero``) or a directory is refused before it is opened, so
    reading user input never hangs nor fills the memory. Raises OSError (a missing or
    unreadable file) or ValueError (not a regular file, too large), the message saying which.
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise ValueError("not a regular file")
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    return data
