"""`make demo`: build the demo project offline, then run ouhub's stages on it.

The demo simulates the OpenERP server with tests/standin/openerp_server.py; every
other part is real: bzr branches, PostgreSQL, the store, the site.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from examples.demo.build import DEFAULT_OUT, build_demo

# (title, ouhub arguments, exit codes that are expected). Each stage adds its step.
STEPS: list[tuple[str, list[str], tuple[int, ...]]] = [
    ("check the config", ["config", "check"], (0,)),
    ("what the store holds", ["status"], (0,)),
    ("mirror the branches", ["sync"], (0,)),
    ("sync again: no new revisions", ["sync"], (0,)),
    ("upstream revisions not merged yet", ["upstream"], (0,)),
    # coverage reads the mirrors: keep these after the sync step
    ("scan coverage", ["coverage", "scan"], (0,)),
    ("coverage of 6.1 -> 7.0", ["coverage", "show", "7.0"], (0,)),
]


def run_steps(config: Path) -> int:
    failures = 0
    for title, args, expected in STEPS:
        print(f"\n=== {title}: ouhub {' '.join(args)}", flush=True)
        proc = subprocess.run([sys.executable, "-m", "ouhub", "--config", str(config), *args])
        if proc.returncode not in expected:
            failures += 1
            print(f"=== demo step failed: `ouhub {' '.join(args)}` exited {proc.returncode}",
                  flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to build the demo")
    parser.add_argument("--build-only", action="store_true", help="build, do not run ouhub")
    args = parser.parse_args(argv)
    demo = build_demo(args.out)
    print(f"demo project built in {demo.root}; config {demo.config}", flush=True)
    try:
        if args.build_only:
            return 0
        failures = run_steps(demo.config)
    finally:
        demo.close()
    if failures:
        print(f"\n{failures} demo step(s) failed", file=sys.stderr)
        return 1
    print(f"\ndemo done; config: {demo.config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
