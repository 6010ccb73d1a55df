"""The queries on stored scans behind `ouhub coverage show` and `ouhub coverage diff`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ouhub.errors import CoverageError
from ouhub.records import CoverageScan, ModuleCoverage
from ouhub.store import Store
from ouhub.vocab import COVERAGE_STATUSES


def ranked(modules: list[ModuleCoverage], status: str | None = None) -> list[ModuleCoverage]:
    """``todo`` first, by open changes (the largest job first: changes no annotation answers,
    additions left out), then by analysis size; then the rest by status, name."""
    chosen = [m for m in modules if status is None or m.status == status]
    order = {s: i for i, s in enumerate(COVERAGE_STATUSES)}
    order["todo"] = -1
    return sorted(chosen, key=lambda m: (order.get(m.status, 99), -m.open_changes,
                                         -m.analysis_size, m.module))


@dataclass(frozen=True)
class StatusChange:
    module: str
    before: str | None
    after: str | None


def _pick_scan(history: list[CoverageScan], ref: str | None, default: int) -> CoverageScan:
    if ref is None:
        return history[default]
    for scan in reversed(history):
        if ref.isdigit() and scan.id == int(ref):
            return scan
        if any(rev == ref or rev.startswith(ref) or rev.endswith(ref)
               for rev in scan.revisions.values()):
            return scan
    known = ", ".join(f"{s.id}" for s in history)
    release = history[-1].release
    raise CoverageError(
        f"no scan matches {ref!r}",
        hint=f"give a scan id ({known}) or a revision id (`revisions` in "
             f"`ouhub coverage show {release} --format json`)",
    )


def never_scanned(release: str, configured: tuple[str, ...] = ()) -> CoverageError:
    """The error for a release without a stored scan, telling a typo from a missing scan."""
    if configured and release not in configured:
        return CoverageError(
            f"release {release} was never scanned and is not in the config",
            hint=f"configured releases: {', '.join(configured)}; a directory is scanned as "
                 f"any release with `ouhub coverage scan --path DIR --release {release} "
                 "--previous P`",
        )
    return CoverageError(f"release {release} was never scanned",
                         hint=f"run `ouhub coverage scan --release {release}` first")


def diff_scans(store: Store, release: str, old: str | None = None,
               new: str | None = None, configured: tuple[str, ...] = (),
               ) -> tuple[CoverageScan, CoverageScan, list[StatusChange]]:
    """Modules whose status differs between two scans (default: the last two) of a release."""
    history = store.coverage_history(release)  # the release's coverage over time
    if not history:
        raise never_scanned(release, configured)
    everything = store.coverage_history(release, everything=True)  # what a reference names
    before = _pick_scan(everything if old else history, old, -2 if len(history) > 1 else -1)
    after = _pick_scan(everything if new else history, new, -1)
    a = {m.module: m.status for m in store.coverage_of_scan(before.id or 0)}
    b = {m.module: m.status for m in store.coverage_of_scan(after.id or 0)}
    return before, after, status_changes(a, b)


def status_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[StatusChange]:
    """The modules whose status differs between two scans (module -> status), by name."""
    return [
        StatusChange(module, before.get(module), after.get(module))
        for module in sorted(set(before) | set(after)) if before.get(module) != after.get(module)
    ]
