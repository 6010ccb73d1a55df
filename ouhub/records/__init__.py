"""The records the store returns, so that the store imports no stage.

Frozen dataclasses named with DESIGN.md's words, one module per stage; the stages build
them and read them back through ``ouhub.store``. No I/O here. Import them from
``ouhub.records``.
"""

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
