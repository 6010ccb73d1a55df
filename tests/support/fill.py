"""The one store filler of the tests and benches: coverage scans, runs, syncs and upstream
lags recorded through the store's own methods, as the stages record them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ouhub.records import (
    BranchLag,
    Commit,
    CoverageScan,
    Evidence,
    Fingerprint,
    ModuleCoverage,
    RunModule,
    SuspectRange,
    UnmergedRevision,
)
from ouhub.store import Store

HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
HOSTILE_URL = "javascript:window.__pwned=3"


def module(release: str, name: str, status: str, *, target: str | None = None,
           scripts: tuple[str, ...] = (), declaration: str | None = None,
           apriori: str | None = None, size: int = 0, share: float | None = None,
           disagreements: tuple[str, ...] = (), analysis: tuple[str, ...] = ()
           ) -> ModuleCoverage:
    """A module as a scan records it; an analysis of ``size`` changes (field deletions)
    whose ``share`` the analysts answered, the rest open."""
    annotated = int(size * (share or 0))
    counts = {"fields.del": size, "open.fields.del": size - annotated} if size else {}
    return ModuleCoverage(
        release=release, module=name, status=status, target=target, version=None,
        path=f"addons/{name}", in_tree=status not in ("removed",), manifest_error=None,
        evidence=Evidence(scripts=scripts, declaration=declaration, apriori=apriori,
                          analysis=analysis),
        analysis_size=size, analysis_annotated=annotated, analysed_share=share,
        analysis_counts={k: v for k, v in counts.items() if v},
        analysis_source=f"addons/{name}/migrations/{release}.1.0/openupgrade_analysis.txt"
        if size else None, disagreements=disagreements,
    )


def scan(store: Store, release: str, previous: str | None, modules: list[ModuleCoverage],
         at: str = "2026-01-01T00:00:00+00:00", key: str | None = None) -> int:
    """Record one coverage scan, as `ouhub coverage scan` would."""
    totals: dict[str, int] = {}
    for m in modules:
        totals[m.status] = totals.get(m.status, 0) + 1
    return store.record_coverage_scan(
        CoverageScan(
            id=None, release=release, previous=previous, source="mirrors",
            revisions_key=key or f"{release}-{at}", revisions={"server": "rev-1"},
            scanned_at=at, duration=0.1, totals=totals, summary={},
        ),
        modules, [],
    )


def run(store: Store, release: str, previous: str, sample: str, status: str,
        modules: list[tuple[str, str, str]] = (), message: str = "",
        started_at: str = "2026-01-01T01:00:00+00:00") -> int:
    """Record one finished sample run; ``modules`` are (module, outcome, excerpt)."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample,
                             revisions={"server": "rev-1"}, started_at=started_at)
    store.finish_run(
        run_id, status=status, duration=42.0, exit_code=0 if status == "passed" else 1,
        message=message,
        modules=[RunModule(module=m, outcome=o, version_before="1.0", version_after="1.1",
                           excerpt=e) for m, o, e in modules],
    )
    return run_id


def record_coverage(
    store: Store, release: str, previous: str | None, modules: Mapping[str, Mapping[str, Any]]
) -> int:
    """One scan of ``release`` from {module: {"status": ..., and any of module()'s options}}."""
    return scan(store, release, previous, [
        module(release, name, **{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in spec.items()})
        for name, spec in modules.items()])


def record_run(
    store: Store, release: str, previous: str, sample: str, status: str,
    outcomes: Mapping[str, str], excerpt: str = "",
) -> int:
    """A finished run with one outcome per module; the failed ones carry ``excerpt``."""
    return run(store, release, previous, sample, status,
               [(name, outcome, excerpt if outcome == "failed" else "")
                for name, outcome in outcomes.items()], message=status)


def sync_ok(store: Store, release: str, branch: str = "server",
            at: str = "2026-01-01T00:00:00+00:00") -> None:
    store.record_sync_success(release, branch, f"/srv/{release}", served_url=f"/srv/{release}",
                              vcs="bzr", revid="rev-1", revno=1, new_revisions=0, at=at)


def upstream(store: Store, release: str, revisions: list[tuple[str, str, str, tuple[str, ...]]],
             url: str = "https://github.com/odoo/odoo", branch: str = "server") -> None:
    """Record a lag check: ``revisions`` are unmerged (author, date, message, modules)."""
    store.record_upstream_lag(BranchLag(
        release=release, branch=branch, upstream_url=url, upstream_revid="up-1",
        mirror_revid="rev-1",
        unmerged=tuple(UnmergedRevision(revid=f"up-{i}", revno=str(i), author=a, date=d,
                                        message=msg, modules=mods)
                       for i, (a, d, msg, mods) in enumerate(revisions, 1)),
        checked_at="2026-01-01T00:00:00+00:00", last_success="2026-01-01T00:00:00+00:00",
    ))


def small_store(store: Store) -> None:
    """Two steps with every status, renames, runs passed and failed, a sync."""
    scan(store, "7.0", "6.1", [
        module("7.0", "account", "done", scripts=("addons/account/migrations/7.0.1.1/post-migration.py",),
               declaration="doc/modules61-70.rst:12: account | Done", size=40, share=1.0),
        module("7.0", "base", "nothing_to_do", declaration="doc:3: base | Nothing to do"),
        module("7.0", "sale", "todo", size=120, share=0.0),
        module("7.0", "stock", "todo", size=300, share=0.1),
        module("7.0", "crm", "partial", size=10, share=0.5, disagreements=("declared Done without scripts",)),
        module("7.0", "portal", "new"),
        module("7.0", "old_mod", "removed"),
        module("7.0", "hr_timesheet_old", "renamed", target="hr_timesheet",
               apriori="apriori.py: renamed_modules['hr_timesheet_old'] = 'hr_timesheet'"),
        module("7.0", "hr_timesheet", "new"),
    ], at="2026-01-01T00:00:00+00:00")
    scan(store, "8.0", "7.0", [
        module("8.0", "account", "done", scripts=("addons/account/migrations/8.0.1.1/pre-migration.py",), size=50, share=1.0),
        module("8.0", "base", "done", size=5, share=1.0),
        module("8.0", "sale", "todo", size=200),
        module("8.0", "hr_timesheet", "merged", target="hr"),
        module("8.0", "hr", "done"),
    ], at="2026-01-02T00:00:00+00:00")
    scan(store, "8.0", "7.0", [
        module("8.0", "account", "done", scripts=("addons/account/migrations/8.0.1.1/pre-migration.py",), size=50, share=1.0),
        module("8.0", "base", "done", size=5, share=1.0),
        module("8.0", "sale", "done", size=200, share=1.0),
        module("8.0", "hr_timesheet", "merged", target="hr"),
        module("8.0", "hr", "done"),
    ], at="2026-01-03T00:00:00+00:00")
    sync_ok(store, "7.0")
    sync_ok(store, "8.0")
    upstream(store, "7.0", [
        ("Jane Doe <jane@example.org>", "2026-01-01T10:00:00+00:00", "[FIX] account: rounding",
         ("account", "not_a_known_module")),
        ("John Roe", "2026-01-02T10:00:00+00:00", "[IMP] sale: faster", ("sale",)),
    ])
    run(store, "7.0", "6.1", "demo61", "passed",
        [("account", "upgraded", ""), ("base", "upgraded", "")])
    run(store, "7.0", "6.1", "demo61", "failed",
        [("account", "upgraded", ""), ("sale", "failed", "Traceback: KeyError 'x'"),
         ("stock", "not_reached", "")], message="1 module failed")


def hostile_store(store: Store) -> None:
    """Hostile strings wherever the store holds text from outside: names, logs, messages."""
    evil = HOSTILE
    scan(store, "7.0", "6.1", [
        module("7.0", evil, "todo", size=5),
        module("7.0", "account", "done", scripts=(evil, HOSTILE_URL),
               declaration=evil, apriori=evil, disagreements=(evil,)),
        module("7.0", HOSTILE_URL, "renamed", target=evil),
    ])
    sync_ok(store, "7.0")
    upstream(store, "7.0", [(evil, evil, evil, (evil, "account"))], url=HOSTILE_URL)
    run(store, "7.0", "6.1", "demo61", "failed",
        [(evil, "failed", evil), ("account", "failed", HOSTILE_URL)], message=evil)


SALE_BROKE = Fingerprint("sale", "post", "ProgrammingError", 'column "" does not exist')
STOCK_FAILS = Fingerprint("stock", "pre", "ValueError", "no location N")


def night(store: Store, sample: str, when: str, revision: str,
          outcomes: Mapping[str, Fingerprint | None], release: str = "7.0",
          previous: str = "6.1") -> int:
    """A finished nightly run: per module its failure's fingerprint, or None if upgraded."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample,
                             revisions={"server": f"{revision} (rev-{revision})"},
                             started_at=when)
    failed = [name for name, f in outcomes.items() if f is not None]
    store.finish_run(
        run_id, status="failed" if failed else "passed", duration=60.0,
        exit_code=0, message=f"{', '.join(failed)} failed" if failed else "passed",
        modules=[RunModule(name, "failed" if f else "upgraded", "1.0", "1.1", (),
                           f"Traceback (most recent call last):\n{f.exception}: {name} broke"
                           if f else "", fingerprint=f)
                 for name, f in outcomes.items()],
    )
    return run_id


def failures_store(store: Store, summary: str = "[FIX] sale: rename the column") -> dict[str, int]:
    """Three nights into 7.0: sale passes, then regresses (a suspect commit); stock fails,
    then is fixed in demo61 and flaky in big61; sale's coverage goes from todo to done."""
    scan(store, "7.0", "6.1", [module("7.0", "sale", "todo", size=10),
                               module("7.0", "stock", "todo", size=5)],
         at="2026-02-01T00:00:00+00:00")
    scan(store, "7.0", "6.1", [module("7.0", "sale", "done", size=10),
                               module("7.0", "stock", "todo", size=5)],
         at="2026-02-02T00:00:00+00:00", key="second")
    runs = {
        "first": night(store, "demo61", "2026-02-01T02:00:00+00:00", "10",
                       {"sale": None, "stock": STOCK_FAILS}),
        "second": night(store, "demo61", "2026-02-02T02:00:00+00:00", "11",
                        {"sale": SALE_BROKE, "stock": STOCK_FAILS}),
        "third": night(store, "demo61", "2026-02-03T02:00:00+00:00", "12",
                       {"sale": SALE_BROKE, "stock": None}),
        "big_pass": night(store, "big61", "2026-02-02T03:00:00+00:00", "11",
                          {"stock": None}),
        "big_fail": night(store, "big61", "2026-02-03T03:00:00+00:00", "11",
                          {"stock": STOCK_FAILS}),
    }
    store.record_suspect_ranges([SuspectRange(
        release="7.0", sample="demo61", module="sale", run_id=runs["second"],
        since_run_id=runs["first"], branch="server", since="10 (rev-10)", until="11 (rev-11)",
        commits=(Commit("11", "rev-11", "Bob <bob@example.org>", "2026-02-01T12:00:00+00:00",
                        summary),),
        total=1, folder="openerp/addons/sale",
    ), SuspectRange(
        release="7.0", sample="demo61", module="sale", run_id=runs["second"],
        since_run_id=runs["first"], branch="addons", since="7 (a-7)", until="7 (a-7)",
    )])
    return runs
