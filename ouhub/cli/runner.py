"""`ouhub samples import`, `ouhub run`, `ouhub worker` and `ouhub migrate`: upgrades of copies
of databases, here or on workers."""

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
@click.option("--release", "-r", help="Target release of the step (e.g. 7.0).")
@click.option("--sample", "-s", help="Sample of the previous release.")
@click.option("--all", "run_every", is_flag=True,
              help="Every sample over every step it can take (as the nightly does).")
@click.option("--local", is_flag=True,
              help="Run here even when [runner] broker is configured.")
@click.option("--keep", is_flag=True, help="Keep the scratch database after the run.")
@click.option("--dump-to", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the upgraded database there (pg_dump custom), only if the run "
              "passed: a failed run's database is no input for the next step (use --keep).")
@json_option
@pass_ctx
def run_sample_command(obj: Context, release: str | None, sample: str | None, run_every: bool,
                       local: bool, keep: bool, dump_to: Path | None, as_json: bool) -> None:
    """Upgrade copies of samples and store the runs; exit 1 unless every run passed.

    The scratch database is the sample template's spare clone, renamed (else a new
    clone of the template); the release's upgrade command runs on it, and the database and the log are inspected: a run passes only
    when every module is installed with a higher version and ran its scripts.

    With [runner] broker configured the runs go to `ouhub worker`s through RabbitMQ,
    and each result is stored as it arrives; --local runs here. --json prints the run
    (with --all: the list of runs).

    \b
    Example:
      ouhub run --release 7.0 --sample demo61
      ouhub run -r 7.0 -s demo61 --local --keep --dump-to /tmp/demo70.dump --json
      ouhub run --all
    """
    from ouhub.runner.stage import run_all, run_one

    say = (lambda _m: None) if obj.quiet else output.info
    if run_every:
        if release or sample or keep or dump_to:
            raise click.UsageError("--all runs every step and sample: drop --release, "
                                   "--sample, --keep and --dump-to")
        report = run_all(obj.config, obj.store, say=say, local=local, quiet=obj.quiet)
        if as_json:
            output.print_json([r.as_dict() for r in report.runs])
        else:
            _print_runs(report.runs)
        if not report.ok:
            sys.exit(1)
        return
    if not (release and sample):
        raise click.UsageError("name a step and a sample (--release R --sample S), or --all")
    result = run_one(obj.config, obj.store, release, sample, keep=keep, dump_to=dump_to,
                     local=local, say=say, quiet=obj.quiet)
    if as_json:
        output.print_json(result.as_dict())
    else:
        _print_run(result)
    if result.status != "passed":
        sys.exit(1)


def _print_runs(runs: Any) -> None:
    output.print_table(
        ("step", "sample", "status", "run", "where", "message"),
        [(f"{r.previous} -> {r.release}", r.sample, r.status, r.run_id, r.worker or r.host,
          r.message) for r in runs], title="runs")
    passed = sum(r.status == "passed" for r in runs)
    output.stdout.print(f"{passed} of {len(runs)} runs passed", markup=False)


@main.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Runs at once on this host (each needs a PostgreSQL copy and a server).")
@click.option("--queue", "-Q", metavar="QUEUE",
              help="Queue to take runs from (default: [runner] queue, else ouhub-runs).")
@pass_ctx
def worker_command(obj: Context, concurrency: int, queue: str | None) -> None:
    """Take runs from RabbitMQ ([runner] broker) and run them here, until stopped.

    Each run is brought to the coordinator's state first (this host's mirrors
    fetched to its revisions, the sample's template restored from its dump), then
    made as `ouhub run` makes it, with this host's config and upgrade commands; the
    record goes back to the coordinator. At start, what dead runs left on this host
    is cleaned up. Stop it with SIGTERM (runs in progress finish first).

    \b
    Example:
      ouhub worker --concurrency 2
      ouhub --config /etc/ouhub/ouhub.toml worker --queue ouhub-runs
    """
    import logging

    from ouhub.runner.worker import serve

    if not obj.quiet:  # a worker is a service: its log says what it does
        logging.getLogger("ouhub").setLevel(min(logging.INFO,
                                                logging.getLogger("ouhub").level))
    sys.exit(serve(obj.config, obj.store, concurrency, queue or obj.config.runner.queue))


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
