"""`ouhub explain`: what a pasted server log says went wrong."""

from __future__ import annotations

import sys

import click

from ouhub import output
from ouhub.cli.group import Context, json_option, main, pass_ctx


@main.command("explain")
@click.argument("source", metavar="[FILE|-]", required=False)
@json_option
@pass_ctx
def explain_command(obj: Context, source: str | None, as_json: bool) -> None:
    """Explain an OpenERP/Odoo server log, whole or an excerpt as pasted into an issue.

    Per failure: the module, the stage (pre, post, end, load, registry), the script,
    the exception, and its fingerprint; the modules whose scripts ran and those that
    loaded; the known causes it shows (a script that cannot be imported, migrate's
    signature, the registry failing during a stage, only base running its scripts),
    each with its evidence lines. No config or store is needed; with one, each
    fingerprint is looked up in ouhub's own runs (where seen, fixed since when).
    Reads FILE, or stdin for - or no argument. Exit 0 once explained.

    \b
    Example:
      ouhub explain server.log
      xclip -o | ouhub explain - --json
    """
    from ouhub.explain.command import explain
    from ouhub.explain.render import render

    def open_store():  # the history is optional: no config file, no store file, no history
        if not obj.config_path.is_file():
            return None
        if not obj.config.store_path.is_file():
            return None
        return obj.store

    report = explain(source, open_store)
    if as_json:
        output.print_json(report.as_dict())
        return
    sys.stdout.write(render(report))
