"""The `ouhub` command: one click group; each command parses, calls a stage, prints, exits.

Exit codes: 0 success; 1 the work ran and something failed (a branch, a run);
2 bad config or usage; 3 `check` usage or connection errors (see `ouhub check --help`).
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ouhub import __version__, output
from ouhub import config as config_mod
from ouhub.errors import OuhubError
from ouhub.store import Store

log = logging.getLogger("ouhub")


class Context:
    """What every command gets: the config and the store, loaded on first use."""

    def __init__(self, config_path: str | None, verbose: int, quiet: bool):
        self.config_path = config_mod.find_config(config_path)
        self.verbose = verbose
        self.quiet = quiet
        self._config: config_mod.Config | None = None
        self._store: Store | None = None

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = config_mod.load(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.config.store_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class OuhubGroup(click.Group):
    """The one error boundary: expected errors print a message and a hint; bugs leave a log."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OuhubError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception:
            where = _write_crash_log(ctx)
            click.echo(f"error: ouhub hit a bug; the traceback is in {where}", err=True)
            click.echo("  hint: please report it with that file attached", err=True)
            ctx.exit(1)


def _write_crash_log(ctx: click.Context) -> Path:
    obj = ctx.find_object(Context)
    try:
        base = obj.config.data_dir if obj else Path.cwd()
    except OuhubError:
        base = Path.cwd()
    path = base / "ouhub-crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(UTC).isoformat()} ouhub {' '.join(sys.argv[1:])}\n")
            fh.write(traceback.format_exc())
    except OSError:
        traceback.print_exc()
        return Path("<stderr>")
    return path


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def pass_ctx(func: Callable) -> Callable:
    """Give a command the ouhub Context as its first argument."""

    @click.pass_obj
    @functools.wraps(func)
    def wrapper(obj: Context, *args: Any, **kwargs: Any) -> Any:
        return func(obj, *args, **kwargs)

    return wrapper


@click.group(cls=OuhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", metavar="FILE",
    help="Config file (default: $OUHUB_CONFIG, else ./ouhub.toml).",
)
@click.option("-v", "--verbose", count=True, help="More diagnostics on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bars.")
@click.version_option(__version__, prog_name="ouhub")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """ouhub: mirrors, coverage, nightly upgrade runs and a status site for OpenUpgrade.

    Every stage reads what the previous one stored, so each also runs on its own:
    sync -> upstream -> coverage scan -> samples import -> run -> site build, or
    all of them with `ouhub nightly`.

    \b
    Who uses what:
      all           config check, status
      maintainers   sync, upstream, upstream merge, discover
      contributors  coverage scan / show / diff
      users         check (a module list or a live database), migrate
      the nightly   samples import, run, nightly (all stages), site build

    \b
    Example:
      ouhub --config examples/openupgrade.toml config check
      ouhub status --json
    """
    output.setup_logging(verbose, quiet)
    ctx.obj = Context(config_path, verbose, quiet)
    ctx.call_on_close(ctx.obj.close)


# -- foundation -----------------------------------------------------------------------------------


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@json_option
@pass_ctx
def config_check(obj: Context, as_json: bool) -> None:
    """Validate the config and print it resolved (paths absolute, defaults filled in).

    Exits 2 and lists every mistake (file, line, key, what is expected) when the
    config is wrong.

    \b
    Example:
      ouhub --config examples/openupgrade.toml config check
    """
    data = obj.config.redacted()
    if as_json:
        output.print_json(data)
        return
    cfg = obj.config
    output.stdout.print(f"config {cfg.path}: ok", markup=False)
    output.stdout.print(f"data dir: {cfg.data_dir}", markup=False)
    output.stdout.print(f"runner database: {config_mod.redact_dsn(cfg.dsn)}", markup=False)
    rows = []
    for release in cfg.releases.values():
        for branch in release.branches:
            rows.append((
                release.name, release.previous or "-", branch.name, branch.vcs or "auto",
                branch.url, branch.upstream or "-", ", ".join(branch.fallback) or "-",
            ))
    output.print_table(
        ("release", "previous", "branch", "vcs", "url", "upstream", "fallback"), rows,
        title="releases",
    )
    if cfg.samples:
        output.print_table(
            ("sample", "release", "dump"), [(s.name, s.release, s.dump) for s in cfg.samples],
            title="samples",
        )


@main.command("status")
@json_option
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """Show what the store holds: releases, and the last sync, scan and run.

    \b
    Example:
      ouhub status
      ouhub status --json | jq .stages.sync
    """
    from ouhub.status import gather_status

    data = gather_status(obj.config, obj.store)
    if as_json:
        output.print_json(data)
        return
    rows = []
    for r in data["releases"]:
        branches = ", ".join(
            f"{b['name']}" + (f" r{b['revno']}" if b["revno"] is not None else " (not synced)")
            + (" FAILED" if b["last_error"] else "")
            for b in r["branches"]
        )
        scan, run = r["last_scan"], r["last_run"]
        rows.append((
            r["name"], r["previous"] or "-", branches,
            scan["scanned_at"] if scan else "never",
            ", ".join(f"{k} {v}" for k, v in scan["totals"].items()) if scan else "",
            f"#{run['id']} {run['sample']} {run['status']}" if run else "never",
        ))
    output.print_table(
        ("release", "previous", "branches", "last scan", "coverage", "last run"), rows,
        title=f"releases ({data['config']})",
    )
    stages = data["stages"]
    output.print_table(
        ("stage", "last finished", "result", "summary"),
        [
            (name, ev["finished_at"], "ok" if ev["ok"] else "FAILED", ev["summary_line"])
            if ev else (name, "never", "-", "")
            for name, ev in stages.items()
        ],
        title="stages",
    )


# -- sync -----------------------------------------------------------------------------------------


@main.command("sync")
@click.option(
    "--release", "releases", multiple=True, metavar="R",
    help="Sync only this release's branches (repeatable; default: all).",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
    help="Branches mirrored at once.",
)
@click.option("--force", is_flag=True, help="Re-mirror diverged branches, rebuild damaged mirrors.")
@click.option(
    "--wait", is_flag=True, help="Wait for another sync holding a mirror's lock, instead of failing.",
)
@json_option
@pass_ctx
def sync_command(
    obj: Context, releases: tuple[str, ...], jobs: int, force: bool, wait: bool, as_json: bool
) -> None:
    """Mirror the configured branches into <data_dir>/mirrors/<release>/<branch>.

    The first run branches, later runs pull only new revisions. A branch's
    `fallback` URLs are tried in order when its `url` fails. Exits 1 when any
    branch failed; the others are still mirrored and the error is stored.

    \b
    Example:
      ouhub sync
      ouhub sync --release 7.0 --jobs 2 --json
      ouhub sync --release 6.1 --force
    """
    from ouhub.sync.stage import TABLE_COLUMNS, run_sync, table_rows

    results = run_sync(
        obj.config, obj.store, releases=list(releases) or None, jobs=jobs, force=force,
        wait=wait, quiet=obj.quiet,
    )
    failed = [r for r in results if not r.ok]
    if as_json:
        output.print_json({"ok": not failed, "branches": [r.as_dict() for r in results]})
    else:
        output.print_table(TABLE_COLUMNS, table_rows(results), title="sync")
        for result in failed:
            output.info(f"{result.key}: {result.error}")
            if result.hint:
                output.info(f"  hint: {result.hint}")
    if failed:
        raise SystemExit(1)



# -- upstream -------------------------------------------------------------------------------------


@main.command("discover")
@click.option("--project", "projects", multiple=True, required=True, metavar="P",
              help="Launchpad project name (repeatable), e.g. openupgrade-server.")
@click.option("--service-root", metavar="URL", default=None,
              help="Launchpad web service root (default: $OUHUB_LP_SERVICE_ROOT, else "
              "https://api.launchpad.net/).")
@click.option("--write", is_flag=True,
              help="Merge the releases into the config file instead of printing them.")
@json_option
@pass_ctx
def discover_cmd(
    obj: Context, projects: tuple[str, ...], service_root: str | None, write: bool, as_json: bool
) -> None:
    """List Launchpad projects' series and branches; print (or --write) the [releases] TOML.

    Anonymous access; launchpadlib's cache lives under the data dir. With --write the
    releases are merged into the config file, keeping every other key and comment; it
    refuses (exit 1, nothing written) when a branch is already configured with another URL.

    \b
    Example:
      ouhub discover --project openupgrade-server --project openupgrade-addons
      ouhub discover --project openupgrade-server --write
    """
    from ouhub.sync import launchpad

    if obj.config_path.exists():
        cache = launchpad.cache_dir_for(obj.config)
    else:  # bootstrapping a config: the default data dir next to where it will be
        cache = obj.config_path.resolve().parent / "data" / "launchpadlib"
    found = launchpad.discover(projects, service_root, cache)
    if write:
        added = launchpad.write_releases(obj.config_path, found)
        output.info(f"{obj.config_path}: added " + (", ".join(added) if added else "nothing "
                    "(every discovered branch is already configured)"))
    if as_json:
        output.print_json(found.as_dict())
    elif not write:
        sys.stdout.write(launchpad.render_releases(found))


@main.group("upstream", invoke_without_command=True)
@click.option("--release", "releases", multiple=True, metavar="R",
              help="Only this release (repeatable; default: all).")
@json_option
@click.pass_context
def upstream_group(ctx: click.Context, releases: tuple[str, ...], as_json: bool) -> None:
    """Upstream revisions not merged into each branch: count, oldest, authors, modules.

    Mirrors each branch's `upstream`, compares it with the branch's mirror (run
    `ouhub sync` first) using breezy's missing-revisions logic, stores the lag and
    prints it. Exits 1 when some branch could not be checked.

    \b
    Example:
      ouhub upstream --release 7.0
      ouhub upstream --json | jq '.[] | {branch, unmerged_count, modules}'
      ouhub upstream merge --release 7.0 --branch server
    """
    if ctx.invoked_subcommand is not None:
        return
    from ouhub.sync.upstream import run_upstream

    obj: Context = ctx.obj
    for name in releases:
        obj.config.release(name)  # unknown release: exit 2 before any work
    lags = run_upstream(obj.config, obj.store, releases, quiet=obj.quiet)
    if as_json:
        output.print_json([lag.as_dict() for lag in lags])
    else:
        output.print_table(
            ("release", "branch", "unmerged", "oldest", "authors", "modules", "error"),
            [
                (lag.release, lag.branch, "-" if lag.error else lag.count,
                 (lag.oldest or "-")[:10], ", ".join(lag.authors[:3])
                 + (f" +{len(lag.authors) - 3}" if len(lag.authors) > 3 else ""),
                 ", ".join(lag.modules) or "-", lag.error or "")
                for lag in lags
            ],
            title="upstream revisions not merged",
        )
        if not lags:
            output.info("no branch has an `upstream` in the config; nothing to check")
    if any(lag.error for lag in lags):
        ctx.exit(1)


@upstream_group.command("merge")
@click.option("--release", required=True, metavar="R", help="The release of the branch.")
@click.option("--branch", "branch_name", required=True, metavar="B", help="The branch name.")
@click.option("--workdir", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Working tree to merge in (default: <data_dir>/merges/<release>/<branch>).")
@click.option("--push", metavar="URL", default=None,
              help="Push the merge commit there; without it nothing is pushed.")
@pass_ctx
def upstream_merge(
    obj: Context, release: str, branch_name: str, workdir: Path | None, push: str | None
) -> None:
    """Merge the upstream mirror into a working tree of the branch's mirror.

    On conflicts, lists the conflicted files by module, leaves the tree for you
    to resolve and exits 1. On a clean merge, commits with a message listing the
    merged revisions; pushes only with --push.

    \b
    Example:
      ouhub upstream merge --release 7.0 --branch server
      ouhub upstream merge --release 7.0 --branch server \\
          --push bzr+ssh://bazaar.launchpad.net/~openupgrade-committers/openupgrade-server/7.0
    """
    from ouhub.sync.upstream import merge_upstream

    outcome = merge_upstream(obj.config, release, branch_name, workdir=workdir, push=push)
    if outcome.conflicts:
        output.print_table(
            ("module", "conflicted files"),
            [(module, "\n".join(files)) for module, files in outcome.conflicts.items()],
            title=f"merge of {len(outcome.merged)} upstream revisions: conflicts",
        )
        output.info(f"the merge is left in {outcome.workdir}: resolve there, then "
                    "`brz resolve` and `brz commit`")
        sys.exit(1)
    if not outcome.merged and outcome.committed is None:
        output.stdout.print(f"nothing to merge: {release}/{branch_name} has every upstream "
                            "revision", markup=False)
    else:
        output.stdout.print(outcome.message.rstrip(), markup=False)
        output.info(f"committed {outcome.committed} in {outcome.workdir}")
    if outcome.pushed_to:
        output.info(f"pushed to {outcome.pushed_to}")
    else:
        output.info("not pushed (use --push URL to publish the merge)")


# -- coverage -------------------------------------------------------------------------------------


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


# -- runner ---------------------------------------------------------------------------------------


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
    from ouhub.store import utcnow

    started = utcnow()
    results = import_samples(obj.config, obj.store, list(names) or None)
    failed = [r for r in results if r.status == "failed"]
    obj.store.record_stage("runner", started, not failed, {
        "samples": len(results), "imported": sum(r.status == "imported" for r in results),
        "failed": len(failed),
    })
    if as_json:
        output.print_json([r.__dict__ for r in results])
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
def run_command(obj: Context, release: str, sample: str, keep: bool, dump_to: Path | None,
                as_json: bool) -> None:
    """Upgrade a copy of a sample over one step and store the run; exit 1 unless it passed.

    The sample's template is cloned into a scratch database, the release's upgrade
    command runs on it, and the database and the log are inspected: a run passes only
    when every module is installed with a higher version and ran its scripts.

    \b
    Example:
      ouhub run --release 7.0 --sample demo61
      ouhub run -r 7.0 -s demo61 --keep --dump-to /tmp/demo70.dump --json
    """
    from ouhub.runner.run import run_sample
    from ouhub.store import utcnow

    started = utcnow()
    result = run_sample(obj.config, obj.store, release, sample, keep=keep, dump_to=dump_to)
    obj.store.record_stage("runner", started, result.status == "passed", {
        "runs": 1, "passed": int(result.status == "passed"), "status": result.status,
    })
    if as_json:
        output.print_json(result.to_json())
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
        output.print_json(result.to_json())
    else:
        output.stdout.print(
            f"{source}: {' -> '.join([result.source_release, *(r for _, r in result.hops)])}",
            markup=False)
        for step in result.steps:
            _print_run(step)
        output.stdout.print(f"{result.status}: {result.message}", markup=False)
    if result.status != "passed":
        sys.exit(1)


@main.command("nightly")
@json_option
@pass_ctx
def nightly_command(obj: Context, as_json: bool) -> None:
    """Sync, upstream, coverage scan, every sample run, site build; exit 1 if anything failed.

    One nightly at a time (a lock in the data dir). At start, databases left by an
    interrupted earlier run are dropped and listed. Schedule it with a systemd timer
    or cron (see README).

    \b
    Example:
      ouhub nightly
      ouhub -q nightly --json > nightly.json
    """
    from ouhub.runner.nightly import run_nightly

    report = run_nightly(obj.config, obj.store, quiet=obj.quiet,
                         say=(lambda _m: None) if obj.quiet else output.info)
    if as_json:
        output.print_json(report.to_json())
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


# -- site -----------------------------------------------------------------------------------------

@main.group("site")
def site_group() -> None:
    """Publish the static coverage-and-status site."""


@site_group.command("build")
@click.option("--out", "out", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (default: [site] output of the config).")
@json_option
@pass_ctx
def site_build(obj: Context, out: Path | None, as_json: bool) -> None:
    """Render the store into a static site (HTML, SVG badges, JSON); prints index.html's path.

    Only the pages whose data changed are rewritten; an unchanged rebuild writes nothing.
    The site has relative links only: open it from disk or copy it to any static host.

    \b
    Example:
      ouhub site build
      ouhub site build --out /var/www/openupgrade --json
    """
    from ouhub.site.build import build_site
    from ouhub.store import utcnow

    started = utcnow()
    try:
        report = build_site(obj.config, obj.store, out)
    except OuhubError as exc:
        obj.store.record_stage("site", started, False, {"error": exc.message})
        raise
    obj.store.record_stage("site", started, True, {
        "pages": report.pages, "written": report.written, "unchanged": report.unchanged,
        "bytes": report.bytes_total, "check_page": report.check_page,
    })
    if as_json:
        output.print_json(report.as_dict())
        return
    if not obj.quiet:
        output.info(f"site: {report.pages} files, {report.written} written, "
                    f"{report.unchanged} unchanged, {report.removed} removed, "
                    f"{report.bytes_total} bytes")
    output.stdout.print(str(report.index), markup=False)



# -- check ----------------------------------------------------------------------------------------


class CheckCommand(click.Command):
    """`check` promises exit 3 for every usage mistake, click's own included."""

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
              help="A live database to read the installed modules from (read-only).")
@click.option("--data", "data_file", metavar="FILE",
              help="Check against a site's api/check-data.json instead of the store.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
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
    not covered, 3 a usage or connection error. --database only reads, inside
    a read-only transaction.

    \b
    Example:
      ouhub check --from 7.0 --to 9.0 --modules account,sale,stock
      ouhub check --to 9.0 --modules-file modules.txt --format markdown
      ouhub check --to 9.0 --database postgresql://odoo@dbhost/prod --format json
    """
    from ouhub.check.command import check, without_gc
    from ouhub.check.data import cached_check_data
    from ouhub.check.render import render

    with without_gc():
        result = check(target, source, modules, modules_file, database, data_file,
                       stored=lambda: cached_check_data(obj.config, obj.store))
        text = render(result.report, result.found, result.detected,
                      "json" if as_json else fmt)
    if result.detected and fmt == "table" and not as_json:
        output.info(f"database release {result.report.source} "
                    f"(base {result.found.base_version})")
    sys.stdout.write(text)
    sys.exit(result.report.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
