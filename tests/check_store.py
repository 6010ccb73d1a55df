"""Fill a real store with coverage scans and finished runs, for the check tests and bench."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ouhub.records import CoverageScan, Evidence, ModuleCoverage, RunModule
from ouhub.store import Store


def record_coverage(
    store: Store, release: str, previous: str, modules: Mapping[str, Mapping[str, Any]]
) -> None:
    """One scan of ``release``; each module: status, and optionally target, scripts,
    declaration, apriori, disagreements."""
    totals: dict[str, int] = {}
    rows = []
    for name, m in modules.items():
        totals[m["status"]] = totals.get(m["status"], 0) + 1
        rows.append(ModuleCoverage(
            release=release, module=name, status=m["status"], target=m.get("target"),
            version=None, path=f"addons/{name}", in_tree=True, manifest_error=None,
            evidence=Evidence(tuple(m.get("scripts", ())), m.get("declaration"),
                              m.get("apriori")),
            analysis_size=0, analysis_annotated=0, analysed_share=None, analysis_counts={},
            analysis_source=None, disagreements=tuple(m.get("disagreements", ())),
        ))
    scan = CoverageScan(
        id=None, release=release, previous=previous, source="mirrors",
        revisions_key=f"{release}-test", revisions={}, scanned_at="2026-11-20T01:00:00+00:00",
        duration=0.1, totals=totals, summary={},
    )
    store.record_coverage_scan(scan, rows, [])


def record_run(
    store: Store, release: str, previous: str, sample: str, status: str,
    outcomes: Mapping[str, str], excerpt: str = "",
) -> int:
    """A finished nightly run with one outcome per module (failed ones carry ``excerpt``)."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample)
    store.finish_run(
        run_id, status=status, duration=1.0, exit_code=0 if status == "passed" else 1,
        message=status,
        modules=[RunModule(module=name, outcome=outcome,
                           excerpt=excerpt if outcome == "failed" else "")
                 for name, outcome in outcomes.items()],
    )
    return run_id
