"""The cyclic garbage collector paused for a burst of many small objects.

A check's report, a site's gathered records and pages: hundreds of thousands of objects
made in a few seconds, none in a cycle that needs collecting. Left on, the collector
rescans them all again and again (check: ~30% of the time; the site's build: ~20%,
bench/site.py); paused, nothing is left uncollected (the same peak memory).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc() -> Iterator[None]:
    """The block runs with the cyclic GC off; it is back on after, if it was on before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
