"""Files and processes, done one way: atomic writes, exclusive locks, "is this pid alive"."""

from __future__ import annotations

import os
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
