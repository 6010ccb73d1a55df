"""One exception base for ouhub; each stage subclasses it.

Every error a user can cause or meet carries a message that names the thing,
and a ``hint`` that says what to do. The CLI's single error boundary prints
both; anything else is a bug and gets a traceback in the data dir's log.
"""

from __future__ import annotations

from collections.abc import Sequence


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT reached ouhub: what runs is stopped and cleaned up on the way out."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class OuhubError(Exception):
    """An expected failure: printed as one message plus a hint, never a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(OuhubError):
    exit_code = 2


class StoreError(OuhubError):
    pass


class SyncError(OuhubError):
    pass


class RevisionGone(SyncError):
    """A run's revision that none of its branch's URLs has any more (either kind of mirror)."""

    def __init__(self, revid: str, key: str, urls: Sequence[str], failures: Sequence[str]):
        from ouhub.redact import redact_dsn

        shown = ", ".join(redact_dsn(u) for u in urls)
        super().__init__(
            f"revision {revid} of branch {key} is no longer on {shown} "
            f"({'; '.join(failures)}): the branch was rewritten since the coordinator synced it",
            hint="sync on the coordinator and run again",
        )


class CoverageError(OuhubError):
    pass


class RunnerError(OuhubError):
    pass


class SiteError(OuhubError):
    pass


class CheckError(OuhubError):
    exit_code = 3


class ExplainError(OuhubError):
    """`ouhub explain` has nothing to read (no file, no paste)."""

    exit_code = 2


class ContributionsError(OuhubError):
    pass
