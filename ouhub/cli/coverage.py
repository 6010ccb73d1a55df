"""`ouhub coverage scan / show / diff`: which modules have migration scripts, per release."""

from __future__ import annotations

import sys
from typing import Any

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


@main.group("coverage")
def coverage_group() -> None:
    """Which modules have migration scripts, per release, from the real trees."""


@coverage_group.command("scan")
@click.option("--release", "releases", multiple=True, metavar="R",
              help="Release to scan (repeatable; default: all configured).")
@click.option("--path", "path", type=click.Path(file_okay=False), metavar="DIR",
              help="Scan this directory as the tree of --release instead of the mirrors.")
@click.option("--previous", metavar="P",
              help="With --path: the release before --release (default: from the config).")
@click.option("--force", is_flag=True, help="Rescan even when the revisions are unchanged.")
@json_option
@pass_ctx
def coverage_scan(obj: Context, releases: tuple[str, ...], path: str | None,
                  previous: str | None, force: bool, as_json: bool) -> None:
    """Scan the release trees: modules, migration scripts, analysis, declared coverage.

    A release whose revisions did not change since its last scan is answered from
    the store. Problems in a tree (malformed manifest, binary file, symlink loop)
    are recorded as warnings; a release that cannot be scanned at all exits 1.

    \b
    Example:
      ouhub coverage scan
      ouhub coverage scan --release 7.0 --json
      ouhub coverage scan --path ./OpenUpgrade --release 17.0
    """
    from ouhub.coverage import scan as scan_mod
    from ouhub.errors import CoverageError
    from ouhub.store import utcnow

    started = utcnow()
    store = obj.store
    if path is not None:
        if len(releases) != 1:
            raise CoverageError("--path needs exactly one --release",
                                hint="e.g. ouhub coverage scan --path DIR --release 17.0")
        release = releases[0]
        first = False
        if previous is None and release in obj.config.releases:
            previous = obj.config.releases[release].previous
            first = previous is None  # the configured chain starts here: no step
        results = [scan_mod.scan_path(store, path, release, previous, force=force,
                                      first_release=first)]
    else:
        names = list(releases) or list(obj.config.releases)
        with output.progress("coverage scan", len(names), obj.quiet) as advance:
            results = scan_mod.scan_releases(obj.config, store, names, force=force,
                                             advance=advance)
    failed = [r for r in results if not r.ok]
    store.record_stage("coverage", started, not failed, {
        "releases": len(results), "cached": sum(r.cached for r in results),
        "failed": len(failed), "warnings": sum(len(r.warnings) for r in results),
    })
    if as_json:
        output.print_json([r.as_dict() for r in results])
    else:
        output.print_table(
            ("release", "source", "scan", "modules", "done", "todo", "nothing_to_do", "new",
             "unknown", "warnings"),
            [
                (r.release, r.source, "cached" if r.cached else ("FAILED" if r.error else "new"),
                 sum(r.totals.values()), r.totals.get("done", 0), r.totals.get("todo", 0),
                 r.totals.get("nothing_to_do", 0), r.totals.get("new", 0),
                 r.totals.get("unknown", 0), r.summary.get("warnings", len(r.warnings)))
                for r in results
            ],
            title="coverage scan",
        )
        for result in results:
            if result.error:
                output.info(f"error: {result.error}")
            elif result.summary.get("first_release"):
                output.info(f"{result.release} is the first configured release: no step "
                            "leads to it, so its modules are recorded as new")
            elif result.previous is None and result.totals.get("unknown"):
                output.info(f"{result.release}: the release before it is not known, so most "
                            f"modules are unknown; give --previous (the release before "
                            f"{result.release})")
            elif result.totals.get("unknown") and result.previous and \
                    "base" not in (store.release_modules(result.previous) or ()):
                output.info(f"{result.release}: {result.totals['unknown']} modules are unknown: "
                            f"nothing tells whether they were in {result.previous}; a scan of "
                            f"{result.previous}'s whole tree (holding base) tells")
            for where, message in result.warnings[:20]:
                output.info(f"warning: {where}: {message}")
            if len(result.warnings) > 20:
                output.info(f"... {len(result.warnings) - 20} more warnings "
                            f"(ouhub coverage show {result.release} --format json)")
    if failed:
        sys.exit(1)


@coverage_group.command("show")
@click.argument("release")
@click.option("--status", "status_filter", metavar="S",
              help="Only modules with this status (todo, done, nothing_to_do, ...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="table for people, json for data, csv for a spreadsheet.")
@pass_ctx
def coverage_show(obj: Context, release: str, status_filter: str | None, fmt: str) -> None:
    """Show a release's coverage from its newest scan: todo modules first, largest job first.

    \b
    Example:
      ouhub coverage show 7.0
      ouhub coverage show 17.0 --status todo --format csv > todo.csv
    """
    import csv

    from ouhub.coverage.scan import never_scanned, ranked
    from ouhub.coverage.status import STATUSES, totals

    if status_filter is not None and status_filter not in STATUSES:
        # A usage error (exit 2), like any other bad option value.
        raise click.BadParameter(
            f"unknown status {status_filter!r}; one of: {', '.join(STATUSES)}",
            param_hint="--status",
        )
    store = obj.store
    scan = store.latest_coverage_scan(release)
    if scan is None:
        raise never_scanned(release, tuple(obj.config.releases))
    modules = store.latest_coverage(release)
    rows = ranked(modules, status_filter)
    counts = totals(modules)  # type: ignore[arg-type]
    if fmt == "json":
        output.print_json({
            "release": release, "previous": scan.previous, "scan_id": scan.id,
            "scanned_at": scan.scanned_at, "source": scan.source, "revisions": scan.revisions,
            "totals": counts, "summary": scan.summary,
            "warnings": [{"path": p, "message": m}
                         for p, m in store.coverage_warnings(scan.id or 0)],
            "modules": [_coverage_row(m) for m in rows],
        })
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(("module", "status", "target", "analysis_size", "analysed_share",
                         "scripts", "declaration", "disagreements"))
        for m in rows:
            writer.writerow((m.module, m.status, m.target or "", m.analysis_size,
                             "" if m.analysed_share is None else m.analysed_share,
                             len(m.evidence.scripts), m.evidence.declaration or "",
                             "; ".join(m.disagreements)))
        return
    output.print_table(
        ("module", "status", "target", "analysis", "analysed", "scripts", "disagreements"),
        [
            (m.module, m.status, m.target or "", m.analysis_size or "",
             "" if m.analysed_share is None else f"{m.analysed_share:.0%}",
             len(m.evidence.scripts) or "", "; ".join(m.disagreements))
            for m in rows
        ],
        title=(f"modules of {release}, the first configured release: no step leads to it"
               if scan.summary.get("first_release") else
               f"coverage {scan.previous or '?'} -> {release}")
        + f" (scan {scan.id}, {scan.scanned_at})",
    )
    output.print_table(("status", "modules"), [(s, n) for s, n in counts.items() if n] +
                       [("total", sum(counts.values()))], title="totals")


def _coverage_row(m: Any) -> dict[str, Any]:
    return {
        "module": m.module, "status": m.status, "target": m.target, "version": m.version,
        "path": m.path, "in_tree": m.in_tree, "manifest_error": m.manifest_error,
        "evidence": m.evidence.as_dict(), "analysis_size": m.analysis_size,
        "analysis_annotated": m.analysis_annotated, "analysed_share": m.analysed_share,
        "analysis_counts": m.analysis_counts, "analysis_source": m.analysis_source,
        "disagreements": list(m.disagreements),
    }


@coverage_group.command("diff")
@click.argument("release")
@click.option("--from", "from_ref", metavar="REV",
              help="Older scan: scan id, or a revision id or its prefix.")
@click.option("--to", "to_ref", metavar="REV", help="Newer scan (default: the newest).")
@json_option
@pass_ctx
def coverage_diff(obj: Context, release: str, from_ref: str | None, to_ref: str | None,
                  as_json: bool) -> None:
    """Show the modules whose status changed between two scans of a release.

    Without --from/--to: the last two scans.

    \b
    Example:
      ouhub coverage diff 7.0
      ouhub coverage diff 7.0 --from 3 --to 5
    """
    from ouhub.coverage.scan import diff_scans

    before, after, changes = diff_scans(obj.store, release, from_ref, to_ref,
                                        configured=tuple(obj.config.releases))
    if as_json:
        output.print_json({
            "release": release,
            "from": {"scan_id": before.id, "scanned_at": before.scanned_at,
                     "revisions": before.revisions},
            "to": {"scan_id": after.id, "scanned_at": after.scanned_at,
                   "revisions": after.revisions},
            "changes": [{"module": c.module, "before": c.before, "after": c.after}
                        for c in changes],
        })
        return
    if before.id == after.id:
        output.stdout.print(
            f"{release} has one scan so far (scan {after.id}, {after.scanned_at}): nothing to "
            "compare yet; `ouhub coverage scan` records another once the branches change",
            markup=False,
        )
        return
    output.print_table(
        ("module", "before", "after"),
        [(c.module, c.before or "(absent)", c.after or "(absent)") for c in changes],
        title=f"coverage {release}: scan {before.id} -> scan {after.id}",
    )
    if not changes:
        output.info("no module changed status")
