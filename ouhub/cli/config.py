"""`ouhub config check` and `ouhub status`: what the config says and what the store holds."""

from __future__ import annotations

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx
from ouhub.redact import redact_dsn


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
    output.stdout.print(f"runner database: {redact_dsn(cfg.dsn)}", markup=False)
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
