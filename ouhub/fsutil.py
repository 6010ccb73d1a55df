"""Files and processes, done one way: atomic writes, exclusive locks (between processes, and
between the threads of one), links out of a tree, "is this pid alive"."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

LINK_OUT = "symlink to {}, outside the tree: not followed"


def link_outside(path: str | os.PathLike[str], root: str) -> str | None:
    """The warning for ``path`` when it resolves outside the tree whose resolved root is
    ``root``, else None. Whatever reads a mirror or a scanned tree asks this before it
    follows a path: a mirrored branch could point ``openupgrade_analysis_work.txt`` at
    /etc/passwd, or its addons folder at any folder of the host, and such a link is never
    followed, and warned about by name."""
    real = os.path.realpath(path)
    if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return LINK_OUT.format(real)


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


def read_open(descriptor: int, size: int) -> bytes:
    """The whole content of an open file of ``size`` bytes (as its stat said; read to the
    end whatever it holds now), without a buffered file object around it."""
    data = os.read(descriptor, size + 1)
    more = os.read(descriptor, 65536) if data else b""
    if not more:
        return data
    chunks = [data, more]
    while more:
        more = os.read(descriptor, 65536)
        chunks.append(more)
    return b"".join(chunks)


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


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` is what it wrote into the lock file."""

    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path = path
        self.holder = holder


class FileLock:
    """An exclusive flock on a file (created if missing): released on ``release()``, or by
    the system when the process dies, so a killed holder never leaves it stuck."""

    def __init__(self, path: Path, wait: bool = False):
        self.path = path
        self.wait = wait
        self.handle: IO[str] | None = None

    def acquire(self) -> IO[str]:
        """Take the lock, waiting for it if ``wait``, else raising LockHeld at once; the
        open lock file is returned, for the holder to write who it is."""
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise LockHeld(self.path, holder) from None
        except BaseException:
            handle.close()
            raise
        self.handle = handle
        return handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None

    def __enter__(self) -> IO[str]:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def thread_lock(key: str) -> Iterator[None]:
    """One thread of this process at a time for ``key``: a ``FileLock`` keeps other
    processes out, not the other threads of its own."""
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield


def process_gone(host: str | None, pid: int | None) -> bool:
    """Whether the process recorded as ``pid`` on ``host`` is known to be gone: it ran on this
    host and runs no more (another host's processes cannot be judged from here)."""
    import socket  # here: every command imports this module, few ask for the host (~2 ms)

    return host == socket.gethostname() and not pid_alive(pid)


def pid_alive(pid: int | None, group: bool = False) -> bool:
    """Whether process ``pid`` (``group``: any process of group ``pid``) still runs; one we
    may not signal counts as alive."""
    if pid is None:
        return False
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
