"""ouhub run as a child process, for what must not happen inside the test process.

Reading a FIFO or /dev/zero, a signal, a damaged store: a regression there hangs or
eats memory, so the child gets a timeout and an address-space cap that keep it from
taking the shared machine with it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

MEMORY_CAP = 2 << 30  # bytes of address space: ouhub needs a few hundred MB at most


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def ouhub_process(*args: str | Path, timeout: float = 60,
                  stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m ouhub ARGS`` in a child: its exit code, stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", "ouhub", *(str(a) for a in args)], input=stdin,
        capture_output=True, text=True, timeout=timeout, check=False, preexec_fn=_cap_memory,
    )
