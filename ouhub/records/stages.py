"""Stage events: what each stage's entry point records of its last run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# -- stage events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSummary:
    """What one invocation of a stage did, in the one shape every stage records: ok or
    failed, counts by name, and a message (why a stage that could not run failed)."""

    ok: bool
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The stored summary: the counts, and ``message`` when there is one."""
        data: dict[str, Any] = dict(self.counts)
        if self.message:
            data["message"] = self.message
        return data


@dataclass(frozen=True)
class StageEvent:
    """One finished invocation of a stage (sync, upstream, coverage, samples, runner, site,
    nightly)."""

    stage: str
    started_at: str
    finished_at: str
    ok: bool
    summary: dict[str, Any]
