"""bench/speed.py: issue 18's table, "speed where people wait", every row measured in one run.

| measure | now | baseline | ratio | target |, one row per:
- `coverage scan` of the real 17.0 / 18.0 / 19.0 trees vs a bare walk reading the same files
  (bench/coverage.py's ``measure``: a first scan, no parse result kept; CPU, best of 9);
- `ouhub check` of 8 modules, `status`, `--help` as whole processes vs `python -c pass`
  (bench/startup.py; CPU time, medians);
- a run's scratch database vs `pg_restore`, 800-table 300 MB sample (bench/clone.py; wall);
- the site's cold build vs writing the same files (bench/site.py; wall, medians).

`python -m bench speed` measures them all; `make bench` prints this table last, from the
figures the other benches measured in the same run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

Row = tuple[str, str, str, float, str]  # measure, now, baseline, ratio, target


def coverage_rows() -> list[Row]:
    """A first scan (no parse result kept) of each real tree against a bare walk reading
    the files it read: bench/coverage.py's ``measure``, best of its ROUNDS, on CPU time."""
    from bench.coverage import TARGET, measure
    from ouhub.store import Store
    from tests.support.real_trees import VERSIONS

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "scan.sqlite") as store:
        found = [measure(store, release) for release in VERSIONS]  # oldest first: a chain

    def ms(values: list[float]) -> str:
        return " / ".join(f"{v * 1000:.0f}" for v in values)

    return [("`coverage scan` of the real " + " / ".join(f.release for f in found)
             + " trees, in process",
             f"first scan {ms([f.first for f in found])} ms CPU (a rescan reusing the parse "
             f"results {ms([f.again for f in found])} ms)",
             f"bare walk reading the same files {ms([f.walk for f in found])} ms",
             max(f.first_ratio for f in found), f"<= {TARGET:g}x (worst)")]


def startup_rows(measured: list[Row] | None = None) -> list[Row]:
    from bench.startup import project, rows

    if measured:
        return measured
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-startup-") as tmp:
        return rows(project(Path(tmp)))


def clone_rows(got: dict | None = None) -> list[Row]:
    from bench import clone

    return clone.rows(got or clone.measure())


def site_rows(got: dict | None = None) -> list[Row]:
    from bench import site

    return site.rows(got or site.measure())


def table(rows: list[Row]) -> str:
    """The rows as the issue's Markdown table, with whether each meets its target."""
    lines = ["| measure | now | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for measure, now, baseline, ratio, target in rows:
        bound = float(target.split()[1].rstrip("x"))
        met = ratio <= bound if target.startswith("<=") else ratio >= bound
        lines.append(f"| {measure} | {now} | {baseline} | {ratio:.1f}x | {target} | "
                     f"{'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"


def main(measured: dict[str, object] | None = None) -> list[Row]:
    """Print the table; ``measured`` holds what bench/startup.py, clone.py and site.py
    returned earlier in the same `make bench`, which is not measured again."""
    measured = measured or {}
    load = os.getloadavg()[0]
    sources: list[tuple[str, Callable[[], list[Row]]]] = [
        ("coverage", coverage_rows),
        ("startup", partial(startup_rows, measured.get("startup"))),
        ("clone", partial(clone_rows, measured.get("clone"))),
        ("site", partial(site_rows, measured.get("site"))),
    ]
    rows: list[Row] = []
    for name, source in sources:
        try:
            rows += source()
        except Exception as exc:  # one missing part (no PostgreSQL, no network) hides no row
            print(f"bench/speed.py: the {name} row failed: {exc!r}", flush=True)
    print(table(rows), end="")
    print(f"load average {load:.1f}-{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          "ratios only: the machine is shared")
    return rows


if __name__ == "__main__":
    main()
