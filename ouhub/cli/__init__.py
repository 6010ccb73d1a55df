"""The `ouhub` command: one click group (``group``) and one module per stage's commands.

Each command parses its options, calls one stage entry point, renders the result
and exits; importing this package imports no heavy library (the commands import
theirs when they run), nor the commands' modules: the group imports the one a command
line asks for (``group.COMMAND_MODULES``).
"""

from __future__ import annotations

from ouhub.cli.group import main

__all__ = ["main"]
