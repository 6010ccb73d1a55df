"""`ouhub samples import`, `ouhub run` and `ouhub migrate`: upgrades of copies of databases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


@main.group("samples")
def samples_group() -> None:
    """Sample databases: restore each dump once into a template database."""


@samples_group.command("import")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@json_option
@pass_ctx
def samples_import(obj: Context, names: tuple[str, ...], as_json: bool) -> None:
    """Restore each sample's dump into a template named from its checksum (all by default).

    An unchanged dump is not restored again; a changed one makes a new template and
    drops the old one. A corrupt or truncated dump is an error that leaves nothing
    behind. Exits 1 when a sample failed.

    \b
    Example:
      ouhub samples import
      ouhub samples import demo61 --json
    """
    from ouhub.runner.samples import import_samples

    results = import_samples(obj.config, obj.store, list(names) or None)
    failed = [r for r in results if r.status == "failed"]
    if as_json:
        output.print_json([r.as_dict() for r in results])
    else:
        output.print_table(("sample", "status", "template", "dropped", "message"),
                           [(r.sample, r.status, r.template or "-", r.dropped or "-", r.message)
                            for r in results], title="samples")
    if failed:
        sys.exit(1)


def _print_run(result: Any) -> None:
    output.print_table(
        ("module", "outcome", "before", "after", "scripts", "why"),
        [(m.module, m.outcome, m.version_before or "-", m.version_after or "-",
          len(m.scripts), m.why[:100]) for m in result.modules],
        title=f"run {result.run_id}: {result.previous} -> {result.release} "
              f"{result.sample or result.database}: {result.status.upper()}",
    )
    output.stdout.print(f"{result.status}: {result.message}", markup=False)
    output.stdout.print(f"log: {result.log_path}", markup=False)
    if result.kept and result.database:
        output.stdout.print(f"database kept: {result.database}", markup=False)
    if result.dump:
        output.stdout.print(f"dump: {result.dump}", markup=False)


@main.command("run")
@click.option("--release", "-r", required=True, help="Target release of the step (e.g. 7.0).")
@click.option("--sample", "-s", required=True, help="Sample of the previous release.")
@click.option("--keep", is_flag=True, help="Keep the scratch database after the run.")
@click.option("--dump-to", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the upgraded database there (pg_dump custom), only if the run "
              "passed: a failed run's database is no input for the next step (use --keep).")
@json_option
@pass_ctx
def run_sample_command(obj: Context, release: str, sample: str, keep: bool,
                       dump_to: Path | None, as_json: bool) -> None:
    """Upgrade a copy of a sample over one step and store the run; exit 1 unless it passed.

    The sample's template is cloned into a scratch database, the release's upgrade
    command runs on it, and the database and the log are inspected: a run passes only
    when every module is installed with a higher version and ran its scripts.

    \b
    Example:
      ouhub run --release 7.0 --sample demo61
      ouhub run -r 7.0 -s demo61 --keep --dump-to /tmp/demo70.dump --json
    """
    from ouhub.runner.stage import run_one

    result = run_one(obj.config, obj.store, release, sample, keep=keep, dump_to=dump_to)
    if as_json:
        output.print_json(result.as_dict())
    else:
        _print_run(result)
    if result.status != "passed":
        sys.exit(1)


@main.command("migrate")
@click.option("--database", "-d", "source", required=True, help="Your database (only read).")
@click.option("--to", "target", required=True, help="The release to reach.")
@click.option("--dsn", help="Server of --database (default: the config's dsn).")
@click.option("--keep-steps", is_flag=True, help="Keep each step's result as its own database.")
@json_option
@pass_ctx
def migrate_command(obj: Context, source: str, target: str, dsn: str | None, keep_steps: bool,
                    as_json: bool) -> None:
    """Upgrade a copy of your database step by step to a release; never writes to it.

    The release of the database is read from base's version; each step's upgrade
    command runs in order on the copy and the chain stops at the first failed step,
    saying what failed and where the copy is. Exits 1 unless every step passed.

    \b
    Example:
      ouhub migrate --database prod61 --to 8.0
      ouhub migrate -d prod61 --to 8.0 --dsn postgresql://me@db.example.org/postgres --json
    """
    from ouhub.runner.run import migrate_database

    result = migrate_database(obj.config, obj.store, source, target, source_dsn=dsn,
                              keep_steps=keep_steps,
                              say=(lambda _m: None) if obj.quiet else output.info)
    if as_json:
        output.print_json(result.as_dict())
    else:
        output.stdout.print(
            f"{source}: {' -> '.join([result.source_release, *(r for _, r in result.chain)])}",
            markup=False)
        for step in result.steps:
            _print_run(step)
        output.stdout.print(f"{result.status}: {result.message}", markup=False)
    if result.status != "passed":
        sys.exit(1)
