"""`ouhub contributions sync / show`: who writes which module's scripts, and what waits."""

from __future__ import annotations

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


@main.group("contributions")
def contributions_group() -> None:
    """Pull requests and merge proposals writing migration scripts, per release and module."""


@contributions_group.command("sync")
@json_option
@pass_ctx
def contributions_sync(obj: Context, as_json: bool) -> None:
    """Collect pull requests, tracking issues and merge proposals; match them to modules.

    Reads [contributions] github through GitHub's REST API with conditional requests
    (an unchanged repository costs only 304s), and the merge proposals of the
    configured Launchpad projects. The token is read from the variable named by
    token_env; without it GitHub is read anonymously (60 requests an hour). When the
    rate limit is reached it stops, keeps what it read, says when it can resume, and
    the next run continues. Exits 1 when something could not be read.

    \b
    Example:
      GITHUB_TOKEN=... ouhub contributions sync
      ouhub contributions sync --json | jq .requests
    """
    from ouhub.contributions.stage import run_contributions

    result = run_contributions(obj.config, obj.store)
    for note in result.notes:
        output.info(note)
    if as_json:
        output.print_json(result.as_dict())
    elif result.stopped and not result.releases:  # a table without rows would say nothing
        from datetime import UTC, datetime

        from ouhub.contributions.github import resume_time

        resume = "" if result.resume_at is None else (
            f"; it can resume after {resume_time(result.resume_at, datetime.now(UTC))}")
        click.echo(
            f"stopped before any release was read; kept: {result.pulls} pull requests "
            f"({result.pending} still to read in detail), {result.proposals} merge proposals, "
            f"{result.matches} matches{resume}")
    else:
        output.print_table(
            ("release", "open", "closed since last", "tracking issue", "error"),
            [(r.release, r.open, r.closed, f"#{r.tracking}" if r.tracking else "-",
              r.error or "") for r in result.releases],
            title="contributions sync",
        )
        stats = result.requests
        remaining = "" if result.rate_remaining is None else (
            f"; {result.rate_remaining} left this hour")
        click.echo(
            f"{result.pulls} pull requests ({result.detailed} read in detail, "
            f"{result.pending} waiting), {result.proposals} merge proposals, "
            f"{result.matches} matches; {stats.get('requests', 0)} requests, "
            f"{stats.get('not_modified', 0)} answered 304 Not Modified{remaining}")
    if result.stopped:
        output.info(f"stopped: {result.stopped}")
    for error in result.errors:
        output.info(f"error: {error}")
    if not result.ok:
        raise SystemExit(1)


@contributions_group.command("show")
@click.option("--release", metavar="R", help="Only this release.")
@click.option("--module", metavar="M", help="Only this module.")
@json_option
@pass_ctx
def contributions_show(obj: Context, release: str | None, module: str | None,
                       as_json: bool) -> None:
    """Print per (release, module) the work found: state, author, activity, reviews,
    who acts next, duplicates, stale and superseded work, and the tracking issue's drift.

    Reads what `ouhub contributions sync` stored; stale means no activity of the
    author for [contributions] stale_days.

    \b
    Example:
      ouhub contributions show --release 17.0
      ouhub contributions show --module project --json
    """
    from ouhub.contributions.report import load_report, show_rows
    from ouhub.contributions.stage import settings_of

    settings = settings_of(obj.config)
    if release is not None:
        obj.config.release(release)
    report = load_report(obj.store, settings.stale_days, release=release)
    if as_json:
        output.print_json(report.as_dict(release, module))
        return
    works = report.of(release, module)
    if not works and not report.releases:
        output.info("nothing collected yet: run `ouhub contributions sync`")
        return
    output.print_table(
        ("release", "module", "work", "state", "author", "opened", "author idle", "reviews",
         "next", "evidence"),
        show_rows(works), title="contributions",
    )
    for drift in report.drift:
        if (release is None or drift.release == release) and (
                module is None or drift.module == module):
            output.stdout.print(f"drift {drift.release} {drift.module}: "
                                f"{drift.kind.replace('_', ' ')} (tracking issue line "
                                f"{drift.line}: {drift.text})")
