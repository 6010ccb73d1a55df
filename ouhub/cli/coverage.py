"""`ouhub coverage scan / show / diff`: which modules have migration scripts, per release."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


def _share_text(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _counts_table(title: str, totals: Sequence[tuple[str, dict[str, int]]],
                  extra: Sequence[tuple[Any, ...]] = ()) -> None:
    """Statuses down, releases across, what each means beside: each release's column adds
    up to its modules row, and the legend is the table's last column."""
    from ouhub.coverage.status import coverage_share
    from ouhub.vocab import COVERAGE_STATUSES, SHARE_MEANING, STATUS_MEANINGS

    rows: list[tuple[Any, ...]] = [
        (status, *(counts.get(status, 0) for _, counts in totals), STATUS_MEANINGS[status])
        for status in COVERAGE_STATUSES
    ]
    rows.append(("modules", *(sum(counts.values()) for _, counts in totals), "all of the above"))
    rows.append(("share", *(_share_text(coverage_share(counts)) for _, counts in totals),
                 SHARE_MEANING.partition(": ")[2]))
    output.print_table(("status", *(release for release, _ in totals), "meaning"),
                       [*rows, *extra], title=title)


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
@click.option("--declared", "declared", type=click.Path(dir_okay=False), metavar="FILE",
              help="With --path: the declared coverage table of the step (a tree without "
                   "its own, such as a wheel).")
@click.option("--publish", is_flag=True,
              help="With --path: make this scan the release's coverage even though its "
                   "mirrors were scanned.")
@click.option("--force", is_flag=True, help="Rescan even when the revisions are unchanged.")
@json_option
@pass_ctx
def coverage_scan(obj: Context, releases: tuple[str, ...], path: str | None,
                  previous: str | None, declared: str | None, publish: bool, force: bool,
                  as_json: bool) -> None:
    """Scan the release trees: modules, migration scripts, analysis, declared coverage.

    A release whose revisions did not change since its last scan is answered from
    the store. The mirrors' scan is the release's coverage; a --path scan is only
    when the mirrors were never scanned, or with --publish. Problems in a tree (malformed manifest, binary file, symlink loop)
    are recorded as warnings; a release that cannot be scanned at all exits 1.

    \b
    Example:
      ouhub coverage scan
      ouhub coverage scan --release 7.0 --json
      ouhub coverage scan --path ./OpenUpgrade --release 17.0
      ouhub coverage scan --path ./odoo_addon_openupgrade_scripts-19.0.1.0.0.407 \\
          --release 19.0 --declared modules180-190.rst
    """
    from ouhub.coverage.stage import run_coverage

    report = run_coverage(obj.config, obj.store, releases, path=path, previous=previous,
                          force=force, quiet=obj.quiet, declared=declared, publish=publish)
    if as_json:
        output.print_json([r.as_dict() for r in report.results])
    else:
        results = report.results
        _counts_table("coverage scan", [(r.release, r.totals) for r in results], [
            ("warnings", *(r.summary.get("warnings", len(r.warnings)) for r in results),
             "problems met reading the tree (listed below)"),
            ("scan", *("cached" if r.cached else "FAILED" if r.error else "new"
                       for r in results),
             "new: scanned now; cached: the tree had not changed since its last scan"),
        ])
        for r in report.results:
            placed = r.summary.get("placed_as")
            output.stdout.print(f"{r.release}: {r.source}" + (f" ({placed})" if placed else ""))
        for note in report.notes:
            output.info(note)
    if report.failed:
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

    The job's size is the open changes: those of the module's analysis that no annotation
    answers, additions left out (the ORM makes what is new).

    The work column names the open pull request writing a module's scripts (its
    author's idle days; `+N` more when several) or the merged one, as collected by
    `ouhub contributions sync`.

    \b
    Example:
      ouhub coverage show 7.0
      ouhub coverage show 17.0 --status todo --format csv > todo.csv
    """
    from ouhub.coverage.stage import show_coverage
    from ouhub.vocab import COVERAGE_STATUSES as STATUSES

    if status_filter is not None and status_filter not in STATUSES:
        # A usage error (exit 2), like any other bad option value.
        raise click.BadParameter(
            f"unknown status {status_filter!r}; one of: {', '.join(STATUSES)}",
            param_hint="--status",
        )
    view = show_coverage(obj.config, obj.store, release, status_filter)
    if fmt == "json":
        output.print_json(view.as_dict())
        return
    if fmt == "csv":
        output.print_csv(
            ("module", "status", "target", "open_changes", "analysis_size", "analysed_share",
             "scripts", "declaration", "disagreements", "work"),
            ((m.module, m.status, m.target or "", m.open_changes, m.analysis_size,
              "" if m.analysed_share is None else m.analysed_share, len(m.evidence.scripts),
              m.evidence.declaration or "", "; ".join(m.disagreements),
              view.work.get(m.module, "")) for m in view.modules))
        return
    scan = view.scan
    output.print_table(
        ("module", "status", "target", "open", "analysis", "analysed", "scripts",
         "disagreements", "work"),
        [
            (m.module, m.status, m.target or "", m.open_changes or "", m.analysis_size or "",
             "" if m.analysed_share is None else f"{m.analysed_share:.0%}",
             len(m.evidence.scripts) or "", "; ".join(m.disagreements),
             view.work.get(m.module, ""))
            for m in view.modules
        ],
        title=(f"modules of {release}, the first configured release: no step leads to it"
               if scan.summary.get("first_release") else
               f"coverage {scan.previous or '?'} -> {release}")
        + f" (scan {scan.id}, {scan.scanned_at})",
    )
    _counts_table("totals", [(release, view.totals)])


def _scan_ref(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An empty --from/--to would match every revision: a usage error, not a silent pick."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give a scan id or a revision id (or its prefix)")
    return value


@coverage_group.command("diff")
@click.argument("release")
@click.option("--from", "from_ref", metavar="REV", callback=_scan_ref,
              help="Older scan: scan id, or a revision id or its prefix.")
@click.option("--to", "to_ref", metavar="REV", callback=_scan_ref,
              help="Newer scan (default: the newest).")
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
    from ouhub.coverage.stage import diff_coverage

    diff = diff_coverage(obj.config, obj.store, release, from_ref, to_ref)
    if as_json:
        output.print_json(diff.as_dict())
        return
    before, after, changes = diff.before, diff.after, diff.changes
    if before.id == after.id:
        output.stdout.print(
            f"{release} has one scan so far (scan {after.id}, {after.scanned_at}): nothing to "
            "compare yet; `ouhub coverage scan` records another once the branches change",
            markup=False,
        )
        return
    if not changes:  # a line, not a table without rows (--json keeps its empty list)
        output.stdout.print(f"coverage {release}: no module's status changed between scan "
                            f"{before.id} and scan {after.id}", markup=False)
        return
    output.print_table(
        ("module", "before", "after"),
        [(c.module, c.before or "(absent)", c.after or "(absent)") for c in changes],
        title=f"coverage {release}: scan {before.id} -> scan {after.id}",
    )
