"""`ouhub nightly`: every stage in order."""

from __future__ import annotations

import sys

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


@main.command("nightly")
@json_option
@pass_ctx
def nightly_command(obj: Context, as_json: bool) -> None:
    """Every stage in order: sync, upstream, contributions, coverage, runs, site.

    That is: sync, upstream, contributions sync (with a [contributions] table), coverage
    scan, samples import, each sample's run into the next release (in-process, or on the
    workers with [runner] broker), site build. A failing stage does not stop the next
    ones; exit 1 if a stage or a run failed. One nightly at a time (a lock in the data dir). At start, databases left by an
    interrupted earlier run are dropped and listed. Schedule it with a systemd timer
    or cron (see README).

    \b
    Example:
      ouhub nightly
      ouhub -q nightly --json > nightly.json
    """
    from ouhub.nightly import run_nightly

    report = run_nightly(obj.config, obj.store, quiet=obj.quiet,
                         say=(lambda _m: None) if obj.quiet else output.info)
    if as_json:
        output.print_json(report.as_dict())
    else:
        if report.cleaned:
            output.stdout.print("dropped leftovers: " + ", ".join(report.cleaned), markup=False)
        output.print_table(("stage", "status", "detail"),
                           [(s.stage, s.status, s.detail) for s in report.stages],
                           title="nightly")
        if report.runs:
            output.print_table(
                ("step", "sample", "status", "run", "message"),
                [(f"{r.previous} -> {r.release}", r.sample, r.status, r.run_id, r.message)
                 for r in report.runs], title="runs")
        output.stdout.print(f"nightly {'ok' if report.ok else 'FAILED'} in "
                            f"{report.duration:.0f}s", markup=False)
    if not report.ok:
        sys.exit(1)
