"""Coverage records: scans, per-module coverage and its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# -- coverage (0003) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What a coverage status rests on: the scripts, the declaration line, the apriori entry,
    the analysis lines (the analysts' annotations, or "nothing has changed")."""

    scripts: tuple[str, ...] = ()
    declaration: str | None = None  # "<file>:<line>: <row as written>"
    apriori: str | None = None  # "<file>: renamed_modules['old'] = 'new'"
    analysis: tuple[str, ...] = ()  # "<file>:<line>: # NOTHING TO DO ... (3 changes)"

    def as_dict(self) -> dict[str, Any]:
        return {"scripts": list(self.scripts), "declaration": self.declaration,
                "apriori": self.apriori, "analysis": list(self.analysis)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(tuple(data.get("scripts") or ()), data.get("declaration"),
                   data.get("apriori"), tuple(data.get("analysis") or ()))


@dataclass(frozen=True)
class CoverageScan:
    """One stored scan of a release: its revisions, when, how long, and counts per status."""

    id: int | None
    release: str
    previous: str | None
    source: str  # "mirrors", or the scanned directory
    revisions_key: str
    revisions: dict[str, str]
    scanned_at: str
    duration: float
    totals: dict[str, int]  # status -> number of modules
    summary: dict[str, Any]  # scripts_by_stage, disagreements, warnings, files_read, ...
    published: bool = True  # the release's coverage (mirrors; --path only when published)


@dataclass(frozen=True)
class ModuleCoverage:
    """A module's coverage status in a step, as the newest (or a given) scan decided it."""

    release: str
    module: str
    status: str
    target: str | None
    version: str | None
    path: str | None
    in_tree: bool
    manifest_error: str | None
    evidence: Evidence
    analysis_size: int  # changes listed in the module's analysis: ranks `todo` modules
    analysis_annotated: int
    analysed_share: float | None  # annotated / size; None without an analysis
    # "<table>.<kind>" -> changes; "open.<table>.<kind>" -> those no annotation answers
    analysis_counts: dict[str, int]
    analysis_source: str | None
    disagreements: tuple[str, ...]
    scan_id: int | None = None
    scanned_at: str | None = None

    @property
    def open_changes(self) -> int:
        """Changes no annotation answers, additions left out (the ORM makes what is new):
        the size of the job, which ranks the modules that need scripts."""
        return sum(number for key, number in self.analysis_counts.items()
                   if key.startswith("open.") and not key.rpartition(".")[2].startswith("new"))

    def as_dict(self) -> dict[str, Any]:
        """The module as `coverage show --format json` prints it."""
        return {
            "module": self.module, "status": self.status, "target": self.target,
            "version": self.version, "path": self.path, "in_tree": self.in_tree,
            "manifest_error": self.manifest_error, "evidence": self.evidence.as_dict(),
            "analysis_size": self.analysis_size, "analysis_annotated": self.analysis_annotated,
            "analysed_share": self.analysed_share, "open_changes": self.open_changes,
            "analysis_counts": self.analysis_counts,
            "analysis_source": self.analysis_source, "disagreements": list(self.disagreements),
        }
