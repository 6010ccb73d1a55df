"""`ouhub sync`, `ouhub discover` and `ouhub upstream [merge]`: the branches and their upstreams."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


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
    """Mirror the configured branches under <data_dir>/mirrors.

    Git: one bare repository per remote (mirrors/git/<host>/<path>.git), one fetch
    for all of its branches, each kept as refs/ouhub/<release>/<branch>. Bzr: a
    branch at mirrors/<release>/<branch>, its revisions in the shared repository
    mirrors/. Later runs fetch only new revisions. A branch's `fallback` URLs are
    tried in order when its `url` fails. Exits 1 when any branch failed; the others
    are still mirrored and the error is stored.

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
        for result in results:
            if result.note:
                output.info(result.note)
        for result in failed:
            output.info(f"{result.key}: {result.error}")
            if result.hint:
                output.info(f"  hint: {result.hint}")
    if failed:
        raise SystemExit(1)


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
    from ouhub.sync.releases import render_releases, write_releases

    if obj.config_path.exists():
        cache = launchpad.cache_dir_for(obj.config)
    else:  # bootstrapping a config: the default data dir next to where it will be
        cache = obj.config_path.resolve().parent / "data" / "launchpadlib"
    found = launchpad.discover(projects, service_root, cache)
    if write:
        added = write_releases(obj.config_path, found)
        output.info(f"{obj.config_path}: added " + (", ".join(added) if added else "nothing "
                    "(every discovered branch is already configured)"))
    if as_json:
        output.print_json(found.as_dict())
    elif not write:
        sys.stdout.write(output.terminal_safe(render_releases(found)))


@main.group("upstream", invoke_without_command=True)
@click.option("--release", "releases", multiple=True, metavar="R",
              help="Only this release (repeatable; default: all).")
@json_option
@click.pass_context
def upstream_group(ctx: click.Context, releases: tuple[str, ...], as_json: bool) -> None:
    """Upstream revisions not merged into each branch: count, oldest, authors, modules.

    Mirrors each branch's `upstream`, compares it with the branch's mirror (run
    `ouhub sync` first) with git (git branches) or breezy (bzr), stores the lag and
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
@json_option
@click.pass_context
def upstream_merge(
    ctx: click.Context, release: str, branch_name: str, workdir: Path | None, push: str | None,
    as_json: bool,
) -> None:
    """Merge the upstream mirror into a working tree of the branch's mirror.

    Git: a worktree of the release's repository, on the branch
    ouhub-merge/<release>/<branch>; bzr: a branch of the mirror. On conflicts,
    lists the conflicted files by module, leaves the tree for you to resolve and
    exits 1. On a clean merge, commits with a message listing the merged
    revisions (git: the worktree is then removed, the commit stays on the
    branch); pushes only with --push. With every upstream revision merged already
    (and no earlier merge waiting to be pushed) there is nothing to merge and nothing
    to push. --json prints the outcome (`nothing_to_merge`, `nothing_to_push`).

    \b
    Example:
      ouhub upstream merge --release 7.0 --branch server
      ouhub upstream merge --release 7.0 --branch server \\
          --push bzr+ssh://bazaar.launchpad.net/~openupgrade-committers/openupgrade-server/7.0
      ouhub upstream merge --release 17.0 --branch openupgrade \\
          --push git@github.com:OCA/OpenUpgrade.git,branch=17.0
    """
    from ouhub.sync.upstream import merge_upstream

    obj: Context = ctx.obj
    as_json = as_json or bool(ctx.parent and ctx.parent.params.get("as_json"))  # upstream --json
    outcome = merge_upstream(obj.config, release, branch_name, workdir=workdir, push=push)
    if as_json:
        output.print_json(outcome.as_dict())
        if outcome.conflicts:
            sys.exit(1)
        return
    if outcome.conflicts:
        output.print_table(
            ("module", "conflicted files"),
            [(module, "\n".join(files)) for module, files in outcome.conflicts.items()],
            title=f"merge of {len(outcome.merged)} upstream revisions: conflicts",
        )
        then = "`git add` the files and `git commit`" if outcome.vcs == "git" else \
            "`brz resolve` and `brz commit`"
        output.info(f"the merge is left in {outcome.workdir}: resolve there, then {then}")
        sys.exit(1)
    if outcome.to_push is None:
        output.stdout.print(f"nothing to merge and nothing to push: {release}/{branch_name} "
                            "has every upstream revision", markup=False)
        return
    if outcome.committed is None:
        output.stdout.print(
            f"nothing new to merge: the merge committed earlier ({outcome.earlier}, in "
            f"{outcome.kept_in or outcome.workdir}) has every upstream revision; it is not in "
            f"{release}/{branch_name}'s mirror yet", markup=False)
    else:
        output.stdout.print(outcome.message.rstrip(), markup=False)
        output.info(f"committed {outcome.committed} in {outcome.kept_in or outcome.workdir}")
    if outcome.pushed_to:
        output.info(f"pushed to {outcome.pushed_to}")
    else:
        output.info("not pushed (use --push URL to publish the merge)")
