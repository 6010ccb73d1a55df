"""The records the store returns, so that the store imports no stage.

Frozen dataclasses named with DESIGN.md's words, one module per stage; the stages build
them and read them back through ``ouhub.store``. No I/O here. Import them from
``ouhub.records``.

A name is resolved on first use (PEP 562's module ``__getattr__``): importing one record
imports its stage's module alone. Creating a frozen dataclass costs ~0.3 ms (its methods
are compiled from source), and there are some fifty: a command that needs one of them
should not pay for all (bench/startup.py).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and editors read; at run time, __getattr__ below
    from ouhub.records.contributions import (
        CachedResponse,
        ContributionRelease,
        Issue,
        Match,
        MatchEvidence,
        MergeProposal,
        Pull,
        PullActivity,
        PullFile,
        StoredPull,
        TrackingIssue,
    )
    from ouhub.records.coverage import (
        CoverageScan,
        Evidence,
        ModuleCoverage,
    )
    from ouhub.records.runner import (
        FINGERPRINT_KEY_CHARS,
        Attempt,
        Commit,
        Fingerprint,
        ModuleRunOutcome,
        Run,
        RunModule,
        SampleTemplate,
        ScratchDatabase,
        SuspectRange,
        UpgradeProcess,
        recorded_revision,
        revid_of,
        revisions_of,
        revno_of,
    )
    from ouhub.records.stages import (
        StageEvent,
        StageSummary,
    )
    from ouhub.records.sync import (
        BranchLag,
        SyncState,
        UnmergedRevision,
    )

# Each name's stage module (ouhub.records.<stage>); tests/test_records.py checks that this,
# the imports above and the stage modules agree.
_STAGE_OF = {
    **dict.fromkeys((
        "CachedResponse", "ContributionRelease", "Issue", "Match", "MatchEvidence",
        "MergeProposal", "Pull", "PullActivity", "PullFile", "StoredPull", "TrackingIssue",
    ), "contributions"),
    **dict.fromkeys(("CoverageScan", "Evidence", "ModuleCoverage"), "coverage"),
    **dict.fromkeys((
        "FINGERPRINT_KEY_CHARS", "Attempt", "Commit", "Fingerprint", "ModuleRunOutcome", "Run",
        "RunModule", "SampleTemplate", "ScratchDatabase", "SuspectRange", "UpgradeProcess",
        "recorded_revision", "revid_of", "revisions_of", "revno_of",
    ), "runner"),
    **dict.fromkeys(("StageEvent", "StageSummary"), "stages"),
    **dict.fromkeys(("BranchLag", "SyncState", "UnmergedRevision"), "sync"),
}

__all__ = [
    "Attempt",
    "BranchLag",
    "CachedResponse",
    "Commit",
    "ContributionRelease",
    "CoverageScan",
    "Evidence",
    "FINGERPRINT_KEY_CHARS",
    "Fingerprint",
    "Issue",
    "Match",
    "MatchEvidence",
    "MergeProposal",
    "ModuleCoverage",
    "ModuleRunOutcome",
    "Pull",
    "PullActivity",
    "PullFile",
    "Run",
    "RunModule",
    "SampleTemplate",
    "ScratchDatabase",
    "StageEvent",
    "StageSummary",
    "StoredPull",
    "SuspectRange",
    "SyncState",
    "TrackingIssue",
    "UnmergedRevision",
    "UpgradeProcess",
    "recorded_revision",
    "revid_of",
    "revisions_of",
    "revno_of",
]


def __getattr__(name: str) -> Any:
    stage = _STAGE_OF.get(name)
    if stage is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{stage}"), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
