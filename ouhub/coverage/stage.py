"""The coverage stage's entry points: `ouhub coverage scan` (which records the stage
event), `show` and `diff` (which read the stored scans).

Each returns a record the CLI renders; the scanning itself is ``scan.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub import output
from ouhub.config import Config
from ouhub.coverage.queries import StatusChange, diff_scans, never_scanned, ranked
from ouhub.coverage.scan import ScanResult, scan_path, scan_releases
from ouhub.coverage.status import totals
from ouhub.errors import CoverageError
from ouhub.records import CoverageScan, ModuleCoverage
from ouhub.store import Store

WARNINGS_SHOWN = 20  # per release on the terminal; the JSON output has them all


@dataclass(frozen=True)
class CoverageScanReport:
    """What `ouhub coverage scan` did: one result per release, and the notes for the person
    at the terminal (errors, advice, warnings)."""

    results: tuple[ScanResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> list[ScanResult]:
        return [r for r in self.results if not r.ok]


def run_coverage(
    config: Config, store: Store, releases: Sequence[str] = (), *, path: str | Path | None = None,
    previous: str | None = None, force: bool = False, quiet: bool = False,
    declared: str | Path | None = None, publish: bool = False,
) -> CoverageScanReport:
    """Scan the named releases' mirrors (default: all), or with ``path`` that directory as
    the tree of the one release named (with ``declared``, that declared table); records
    the coverage stage's event."""
    if path is not None and len(releases) != 1:
        raise CoverageError("--path needs exactly one --release",
                            hint="e.g. ouhub coverage scan --path DIR --release 17.0")
    if publish and path is None:
        raise CoverageError("--publish goes with --path: a scan of the mirrors is always the "
                            "release's coverage",
                            hint="e.g. ouhub coverage scan --path DIR --release 17.0 --publish")
    if declared is not None and path is None:
        raise CoverageError("--declared goes with --path: a mirror holds its own table",
                            hint="e.g. ouhub coverage scan --path DIR --release 19.0 "
                                 "--declared modules180-190.rst")
    names = list(releases) or list(config.releases)
    if path is None:
        for name in names:
            config.release(name)  # unknown names fail before any work
    with store.stage_event("coverage") as event:
        if path is not None:
            release = names[0]
            first = False
            if previous is None and release in config.releases:
                previous = config.releases[release].previous
                first = previous is None  # the configured chain starts here: no step
            results = [scan_path(store, path, release, previous, force=force,
                                 first_release=first, declared=declared, publish=publish)]
        else:
            with output.progress("coverage scan", len(names), quiet) as advance:
                results = scan_releases(config, store, names, force=force, advance=advance)
        failed = [r for r in results if not r.ok]
        event.finish(not failed, releases=len(results), cached=sum(r.cached for r in results),
                     failed=len(failed), warnings=sum(len(r.warnings) for r in results))
    return CoverageScanReport(tuple(results), tuple(_notes(store, results)))


def _notes(store: Store, results: Sequence[ScanResult]) -> list[str]:
    notes = []
    for result in results:
        if result.error:
            notes.append(f"error: {result.error}")
        elif not result.published:
            notes.append(f"{result.release}: the scan of {result.source} is stored, not "
                         f"published: the scan of the mirrors stays {result.release}'s coverage "
                         "(show, check, status, the site); add --publish to make this one it")
        elif result.summary.get("first_release"):
            notes.append(f"{result.release} is the first configured release: no step leads "
                         "to it, so its modules are recorded as new")
        elif result.previous is None and result.totals.get("unknown"):
            notes.append(f"{result.release}: the release before it is not known, so most "
                         f"modules are unknown; give --previous (the release before "
                         f"{result.release})")
        elif result.totals.get("unknown") and result.previous and \
                "base" not in (store.release_modules(result.previous) or ()):
            notes.append(f"{result.release}: {result.totals['unknown']} modules are unknown: "
                         f"nothing tells whether they were in {result.previous}; a scan of "
                         f"{result.previous}'s whole tree (holding base) tells")
        notes.extend(f"warning: {where}: {message}"
                     for where, message in result.warnings[:WARNINGS_SHOWN])
        if len(result.warnings) > WARNINGS_SHOWN:
            notes.append(f"... {len(result.warnings) - WARNINGS_SHOWN} more warnings "
                         f"(ouhub coverage show {result.release} --format json)")
    return notes


@dataclass(frozen=True)
class CoverageView:
    """A release's coverage as its newest scan decided it: `ouhub coverage show`."""

    release: str
    scan: CoverageScan
    modules: tuple[ModuleCoverage, ...]  # ranked: todo first, largest job first
    totals: dict[str, int]  # of every module of the scan, whatever the filter
    warnings: tuple[tuple[str, str], ...]
    work: dict[str, str] = field(default_factory=dict)  # module -> "#5002 open 12 d"

    def as_dict(self) -> dict[str, Any]:
        scan = self.scan
        return {
            "release": self.release, "previous": scan.previous, "scan_id": scan.id,
            "scanned_at": scan.scanned_at, "source": scan.source, "revisions": scan.revisions,
            "totals": self.totals, "summary": scan.summary,
            "warnings": [{"path": p, "message": m} for p, m in self.warnings],
            "modules": [m.as_dict() for m in self.modules],
            "work": {m.module: self.work[m.module] for m in self.modules if m.module in self.work},
        }


def show_coverage(
    config: Config, store: Store, release: str, status: str | None = None
) -> CoverageView:
    """The newest scan of ``release``, its modules (of one status) ranked; an error naming
    the fix when the release was never scanned."""
    scan = store.latest_coverage_scan(release)
    if scan is None:
        raise never_scanned(release, tuple(config.releases))
    modules = store.latest_coverage(release)
    return CoverageView(
        release=release, scan=scan, modules=tuple(ranked(modules, status)),
        totals=totals(modules),  # type: ignore[arg-type]
        warnings=tuple(store.coverage_warnings(scan.id or 0)),
        work=_work(config, store, release),
    )


def _work(config: Config, store: Store, release: str) -> dict[str, str]:
    """The work column: per module, its most telling pull request (contributions stage)."""
    if config.contributions is None:
        return {}
    from ouhub.contributions.report import load_report, work_label

    report = load_report(store, config.contributions.stale_days, release=release)
    labels = {module: work_label(works) for module, works in report.by_module(release).items()}
    return {module: label for module, label in labels.items() if label}


@dataclass(frozen=True)
class CoverageDiff:
    """The modules whose status changed between two scans of a release."""

    release: str
    before: CoverageScan
    after: CoverageScan
    changes: tuple[StatusChange, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "from": {"scan_id": self.before.id, "scanned_at": self.before.scanned_at,
                     "revisions": self.before.revisions},
            "to": {"scan_id": self.after.id, "scanned_at": self.after.scanned_at,
                   "revisions": self.after.revisions},
            "changes": [{"module": c.module, "before": c.before, "after": c.after}
                        for c in self.changes],
        }


def diff_coverage(
    config: Config, store: Store, release: str, old: str | None = None, new: str | None = None
) -> CoverageDiff:
    """Two scans of ``release`` (default: the last two) and what changed between them."""
    before, after, changes = diff_scans(store, release, old, new,
                                        configured=tuple(config.releases))
    return CoverageDiff(release, before, after, tuple(changes))
