"""A failure's fingerprint: module, stage, exception class and normalised message.

Two runs that fail the same way get the same fingerprint, whatever differs between them
that does not change the failure: the database's name, the paths of the checkout, ids,
numbers, memory addresses, quoted values. A log a user pastes gets the fingerprint of the
same failure in ouhub's own runs, so ``ouhub explain`` can say where it was seen before.

Pure: a parsed log error (or a failure reason) in, a ``Fingerprint`` out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ouhub.records import Fingerprint
from ouhub.runner import tracebacks
from ouhub.runner.logparse import LogError

__all__ = ["FINGERPRINT_STAGES", "Fingerprint", "fingerprint_error", "fingerprint_reason",
           "normalise_message", "own_message"]

# where a module's failure happened: its scripts' stages, its own loading, or the registry
FINGERPRINT_STAGES = (*tracebacks.STAGES, "load", "registry")
MESSAGE_CHARS = 200

_SCRIPT_ERROR = re.compile(r"^[\w.-]+: error in migration script \S+?: ")
_MODULE_PREFIX = re.compile(r"^[Mm]odule [\w.-]+: ")
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:\\|/)[^\s'\"`,;()\[\]<>]+")
_QUOTED = re.compile(r"(?<!\w)(['\"`])[^\n]*?\1(?!\w)")
_HEX = re.compile(r"\b0x[0-9A-Fa-f]+\b")
_HEX_ID = re.compile(r"(?<![\w-])(?=[0-9a-f-]*\d)[0-9a-f]{8,}(?:-[0-9a-f]{4,})*(?![\w-])")
_NUMBER = re.compile(r"(?<![A-Za-z_\d])\d+(?:[.,:]\d+)*(?![A-Za-z_\d])")
_SPACES = re.compile(r"\s+")


def normalise_message(text: str, module: str | None = None, dbnames: Iterable[str] = ()) -> str:
    """The message without what changes from run to run (see the module's docstring)."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    for db in sorted({d for d in dbnames if d and len(d) >= 3}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(db)}(?![\w.])", "<db>", text)
    text = _PATH.sub(lambda m: _short_path(m.group(0), module), text)
    text = _QUOTED.sub(lambda m: m.group(1) * 2, text)
    text = _HEX.sub("0x?", text)
    text = _HEX_ID.sub("<id>", text)
    text = _NUMBER.sub("N", text)
    return _SPACES.sub(" ", text).strip()[:MESSAGE_CHARS]


def _short_path(path: str, module: str | None) -> str:
    """A path from the module's folder on (addons/sale/x.py -> sale/x.py), else its name."""
    parts = re.split(r"[/\\]", path)
    if module and module in parts[:-1]:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index(module):])
    return parts[-1] or path


def fingerprint_error(error: LogError, dbnames: Iterable[str] = ()) -> Fingerprint:
    """The fingerprint of an error of a server log."""
    module = error.module or ""
    lines = error.excerpt.splitlines()
    raised = tracebacks.root_cause(lines)
    own = own_message(error.message)
    if raised is None:
        raised = tracebacks.exception_from_message(own)
    if raised is not None:
        exception, message = raised.name, own_message(raised.message)
    else:
        exception, message = "", own
    stage = error.stage if error.stage in FINGERPRINT_STAGES else "load"
    if not module:
        stage = "registry"
    return Fingerprint(module, stage, exception, normalise_message(message, module, dbnames))


def fingerprint_reason(module: str, reason: str) -> Fingerprint:
    """The fingerprint of a failure with no error in the log (a module left 'to upgrade',
    scripts that did not run, a timeout): the first line of the reason."""
    return Fingerprint(module, "load", "", normalise_message(reason, module))


def own_message(message: str) -> str:
    """A log or exception message without the prefixes that only repeat the module or the script."""
    message = _SCRIPT_ERROR.sub("", message, count=1)
    return _MODULE_PREFIX.sub("", message, count=1)
