"""The `ouhub` command: one click group (``group``) and one module per stage's commands.

Each command parses its options, calls one stage entry point, renders the result
and exits; importing this package imports no heavy library (the commands import
theirs when they run).
"""

from __future__ import annotations

from ouhub.cli import (  # noqa: F401  (the commands)
    check,
    config,
    contributions,
    coverage,
    explain,
    nightly,
    runner,
    site,
    sync,
)
from ouhub.cli.group import main

__all__ = ["main"]
