"""`ouhub check`: can these modules be upgraded, and has it been shown to work?"""

from __future__ import annotations

import sys

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


class CheckCommand(click.Command):
    """`check` promises exit 3 for every usage mistake, click's own included, and for every
    other error (exits 1 and 2 are verdicts: at risk, blocked)."""

    error_exit_code = 3

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = 3
            raise


@main.command("check", cls=CheckCommand)
@click.option("--to", "target", metavar="RELEASE", help="The release to upgrade to (required).")
@click.option("--from", "source", metavar="RELEASE",
              help="The release the modules run on now (with --database: read from base).")
@click.option("--modules", metavar="A,B,C", help="Module names, separated by commas or spaces.")
@click.option("--modules-file", metavar="FILE",
              help="A file of module names (newlines, commas or spaces; # comments); - for stdin.")
@click.option("--database", metavar="DSN",
              help="A live database to read the installed modules from (read-only): a DSN, "
                   "or a database name on the config's server.")
@click.option("--data", "data_file", metavar="FILE",
              help="Check against a site's api/check-data.json instead of the store.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True,
              help="table for people, markdown for an issue or a plan, json for data.")
@json_option
@pass_ctx
def check_command(
    obj: Context, target: str | None, source: str | None, modules: str | None,
    modules_file: str | None, database: str | None, data_file: str | None, fmt: str,
    as_json: bool,
) -> None:
    """Can these modules be upgraded to --to, and has it been shown to work?

    A verdict per module and upgrade step (ok, at_risk, blocked, not_covered),
    each with its reasons and evidence, from the stored coverage and the last
    nightly runs. Exit 0 all ok, 1 something at risk, 2 something blocked or
    not covered, 3 any error (usage, connection, store, a bug). --database only reads, inside
    a read-only transaction.

    \b
    Example:
      ouhub check --from 7.0 --to 9.0 --modules account,sale,stock
      ouhub check --from 8.0 --to 9.0 --modules-file modules.txt --format markdown
      ouhub check --to 9.0 --database postgresql://odoo@dbhost/prod --format json
    """
    from ouhub.check.command import check
    from ouhub.check.data import cached_check_data
    from ouhub.check.render import render, skipped_line
    from ouhub.memory import without_gc

    if database is not None:
        from ouhub.check.db import database_dsn

        database = database_dsn(database, lambda: obj.config.dsn)
    with without_gc():
        result = check(target, source, modules, modules_file, database, data_file,
                       stored=lambda: cached_check_data(obj.config, obj.reader,
                                                        lambda: obj.store))
        text = render(result.report, result.found, result.detected,
                      "json" if as_json else fmt)
    if result.found.skipped:
        output.info(skipped_line(result.found.skipped))
    if result.detected and fmt == "table" and not as_json:
        output.info(f"database release {result.report.source} "
                    f"(base {result.found.base_version})")
    sys.stdout.write(output.terminal_safe(text))  # evidence holds server log lines
    sys.exit(result.report.exit_code)
