"""`make demo`: build the demo project offline, then run ouhub's stages on it.

The demo simulates the OpenERP server with tests/standin/openerp_server.py and serves
its pull requests from a loopback GitHub API (examples/demo/contributions.py); every
other part is real: bzr branches, PostgreSQL, the store, the site.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from examples.demo.build import DEFAULT_OUT, HERE, Demo, build_demo, second_night
from examples.demo.contributions import config_table, serve_pull_requests

PASTED = HERE / "pasted.log"  # a user's excerpt of project's failure, as pasted in an issue


def commit_second_night(demo: Demo) -> int:
    for message in second_night(demo.root):
        print(f"committed on openupgrade/7.0/addons: {message}", flush=True)
    return 0


# (title, ouhub arguments or a function of the demo, exit codes that are expected). Each
# stage adds its step.
STEPS: list[tuple[str, list[str] | Callable[[Demo], int], tuple[int, ...]]] = [
    ("check the config", ["config", "check"], (0,)),
    ("what the store holds", ["status"], (0,)),
    ("mirror the branches", ["sync"], (0,)),
    ("sync again: no new revisions", ["sync"], (0,)),
    ("upstream revisions not merged yet", ["upstream"], (0,)),
    # contributions: the demo's pull requests, from its own loopback GitHub API
    ("who is writing which module's scripts", ["contributions", "sync"], (0,)),
    ("the work on 7.0", ["contributions", "show", "--release", "7.0"], (0,)),
    # coverage reads the mirrors: keep these after the sync step
    ("scan coverage", ["coverage", "scan"], (0,)),
    ("coverage of 6.1 -> 7.0", ["coverage", "show", "7.0"], (0,)),
    # runner: the sample's template, then the whole pipeline with the stand-in server;
    # one demo module's post-migration script fails, so the run (and nightly) exit 1
    ("restore the sample into its template", ["samples", "import"], (0,)),
    ("the nightly: sync, upstream, contributions, coverage, upgrade run, site", ["nightly"],
     (1,)),
    # check: wiki is renamed, mrp partial, hr_expense todo (with open pull requests),
    # project failed in the nightly run, and my_company_reports is a custom module: exit 2
    # (something blocked)
    ("can these modules go from 6.1 to 7.0?",
     ["check", "--from", "6.1", "--to", "7.0", "--modules",
      "base,account,sale,wiki,mrp,project,hr_expense,my_company_reports"], (2,)),
    # failures: a second night where project's script is fixed and a change to crm's breaks
    # crm (a regression, its suspect commit read from the mirror); then a user's pasted log of
    # project's failure, which ouhub recognises from its own first night
    ("the second night's commits", commit_second_night, (0,)),
    ("the second nightly: project fixed, crm regresses", ["nightly"], (1,)),
    ("explain a log a user pasted", ["explain", str(PASTED)], (0,)),
    # site: an unchanged rebuild after the nightly's; it prints the path of index.html
    ("build the static site", ["site", "build"], (0,)),
]


def run_steps(demo: Demo) -> int:
    failures = 0
    for title, args, expected in STEPS:
        if callable(args):
            print(f"\n=== {title}", flush=True)
            code, what = args(demo), title
        else:
            print(f"\n=== {title}: ouhub {' '.join(args)}", flush=True)
            code = subprocess.run([sys.executable, "-m", "ouhub", "--config", str(demo.config),
                                   *args]).returncode
            what = f"`ouhub {' '.join(args)}`"
        if code not in expected:
            failures += 1
            print(f"=== demo step failed: {what} exited {code}", flush=True)
    return failures


def _drop_previous_databases(out: Path) -> None:
    """A rebuilt demo forgets its store: first drop the databases the old one recorded."""
    from ouhub import config as config_mod
    from ouhub.errors import OuhubError
    from ouhub.runner.pg import drop_recorded
    from ouhub.store import Store

    config_path = out / "ouhub.toml"
    if not (out / "data" / "ouhub.sqlite").exists() or not config_path.exists():
        return
    try:
        config = config_mod.load(config_path)
        with Store.open(config.store_path) as store:
            drop_recorded(store, config.dsn)
    except OuhubError as exc:  # e.g. the old throwaway cluster is gone with its databases
        print(f"note: old demo databases not dropped: {exc.message}", file=sys.stderr)


def _site_index(config_path: Path) -> Path:
    from ouhub import config as config_mod

    return config_mod.load(config_path).site.output / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to build the demo")
    parser.add_argument("--build-only", action="store_true", help="build, do not run ouhub")
    args = parser.parse_args(argv)
    _drop_previous_databases(args.out)
    demo = build_demo(args.out)
    print(f"demo project built in {demo.root}; config {demo.config}", flush=True)
    try:
        if args.build_only:
            return 0
        github = serve_pull_requests()
        try:
            with demo.config.open("a", encoding="utf-8") as fh:
                fh.write("\n" + config_table(github.api))
            failures = run_steps(demo)
        finally:
            github.stop()
    finally:
        demo.close()
    if failures:
        print(f"\n{failures} demo step(s) failed", file=sys.stderr)
        return 1
    print(f"\ndemo done; config: {demo.config}")
    print(f"open the site: {_site_index(demo.config)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
