"""`ouhub site build`: the static coverage-and-status site."""

from __future__ import annotations

from pathlib import Path

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


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
    from ouhub.site.stage import run_site

    report = run_site(obj.config, obj.store, out)
    if as_json:
        output.print_json(report.as_dict())
        return
    if not obj.quiet:
        output.info(f"site: {report.pages} files, {report.written} written, "
                    f"{report.unchanged} unchanged, {report.removed} removed, "
                    f"{report.bytes_total} bytes")
    output.stdout.print(str(report.index), markup=False)
