"""Module lists as users paste or save them, pure (check.js splits them the same way)."""

from __future__ import annotations

import re

from ouhub.errors import CheckError

# technical names are lowercase, at most 128 characters (OpenERP's ir_module_module.name)
MODULE_NAME = re.compile(r"[a-z0-9_]{1,128}")  # whole names: use fullmatch
LIST_HINT = (
    "a module list holds lowercase technical names (account, sale_stock, ...), "
    "separated by newlines, commas or spaces; '#' starts a comment"
)


class ModuleListError(CheckError):
    """A module list with junk lines (their numbers in ``junk_lines``) or no names at all."""

    def __init__(self, message: str, hint: str | None = None, junk_lines: tuple[int, ...] = ()):
        super().__init__(message, hint)
        self.junk_lines = junk_lines


def parse_module_list(text: str, source: str = "the module list") -> tuple[str, ...]:
    """Module names separated by newlines, commas or spaces, '#' comments; first seen order."""
    names: list[str] = []
    junk: list[str] = []
    junk_lines: list[int] = []
    # Explicit separators, so that check.js splits exactly the same way.
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        body = line.split("#", 1)[0]
        tokens = [t for t in re.split(r"[ \t\f\v,]+", body) if t]
        if any(not MODULE_NAME.fullmatch(t) for t in tokens):
            junk.append(f"line {number}: {line.strip()!r}")
            junk_lines.append(number)
            continue
        names.extend(tokens)
    if junk:
        count = f"{len(junk)} line" + ("s are" if len(junk) > 1 else " is")
        shown = junk[:10] + ([f"... and {len(junk) - 10} more"] if len(junk) > 10 else [])
        raise ModuleListError(
            f"{source}: {count} not module names:\n  " + "\n  ".join(shown),
            hint=LIST_HINT, junk_lines=tuple(junk_lines),
        )
    unique = tuple(dict.fromkeys(names))
    if not unique:
        raise ModuleListError(f"{source}: no module names found", hint=LIST_HINT)
    return unique


