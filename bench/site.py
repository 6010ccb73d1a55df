"""bench/site.py: build the site from a synthetic store, cold and then unchanged.

12 releases x 600 modules (with a coverage history), 365 nightly runs per step,
each run recording its sample's modules. Prints pages, bytes and seconds of a cold
build against writing the same files (write_atomic, one process: the floor of any
build), ROUNDS of each interleaved, and of an unchanged rebuild, whose files rewritten
must be 0. Target: the cold build <= 2x writing the same files.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

RELEASES = [f"{n}.0" for n in range(7, 19)]  # 12 releases, 11 steps
MODULES = 600
NIGHTS = 365
SCANS = 12  # stored scans per release: the coverage-over-time plot
SAMPLE_MODULES = 40  # modules installed in the sample database
ROUNDS = int(os.environ.get("OUHUB_BENCH_SITE_ROUNDS", "3"))
TARGET = 2.0


def fill(store, rnd: random.Random) -> int:
    from tests.support import fill as f

    names = [f"module_{i:03d}" for i in range(MODULES)]
    statuses = ["done"] * 5 + ["nothing_to_do"] * 2 + ["todo"] * 3 + ["partial", "new"]
    runs = 0
    with store.transaction():
        for previous, release in zip(RELEASES[:-1], RELEASES[1:], strict=True):
            for scan in range(SCANS):
                modules = [
                    f.module(release, name, rnd.choice(statuses), size=rnd.randint(0, 400),
                             share=rnd.random(),
                             scripts=(f"addons/{name}/migrations/{release}.1.0/post-migration.py",),
                             declaration=f"doc/modules.rst:{i}: {name} | Done")
                    for i, name in enumerate(names)
                ]
                f.scan(store, release, previous, modules, at=f"2026-{scan + 1:02d}-01T00:00:00")
            installed = rnd.sample(names, SAMPLE_MODULES)
            for night in range(NIGHTS):
                failing = rnd.random() < 0.2
                outcomes = [
                    (name, "failed" if failing and i == 3 else
                     "not_reached" if failing and i > 3 else "upgraded",
                     "Traceback (most recent call last):\n  KeyError: 'x'" if failing and i == 3
                     else "")
                    for i, name in enumerate(installed)
                ]
                f.run(store, release, previous, f"sample_{previous.replace('.', '')}",
                      "failed" if failing else "passed", outcomes,
                      started_at=f"2025-01-01T00:00:00+{night:05d}")
                runs += 1
            f.sync_ok(store, release)
    return runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _files(root: Path) -> list[tuple[Path, bytes]]:
    return [(path.relative_to(root), path.read_bytes())
            for path in sorted(root.rglob("*")) if path.is_file() and not path.name.startswith(".")]


def write_same(files: list[tuple[Path, bytes]], out: Path) -> None:
    """The baseline: the site's files written as the build writes each (write_atomic)."""
    from ouhub.fsutil import write_atomic

    for relative, content in files:
        write_atomic(out / relative, content)


def measure(rounds: int = ROUNDS) -> dict:
    """Cold builds of the synthetic store and the same files written, ``rounds`` each,
    interleaved; wall and CPU (the build's workers included) per round."""
    from ouhub.site.build import build_site
    from ouhub.store import Store
    from tests.support.config import make_config

    rnd = random.Random(6)
    got: dict = {"build": [], "write": []}
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-site-") as tmp:
        config = make_config(Path(tmp), RELEASES, site={
            "code_browser": "https://github.com/OCA/OpenUpgrade/blob/{release}/{path}"})
        started = time.perf_counter()
        with Store.open(config.store_path) as store:
            got["runs"] = fill(store, rnd)
            got["fill_s"] = time.perf_counter() - started
            files: list[tuple[Path, bytes]] = []
            for n in range(rounds):
                out = Path(tmp) / f"site-{n}"
                started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
                cold = build_site(config, store, out=out)
                got["build"].append((time.perf_counter() - started, time.process_time() - cpu
                                     + _children_cpu() - children))
                if not files:
                    files = _files(out)
                    got["cold"] = cold
                    started = time.perf_counter()
                    got["warm"] = build_site(config, store, out=out)
                    got["warm_s"] = time.perf_counter() - started
                shutil.rmtree(out)
                out = Path(tmp) / f"written-{n}"
                started, cpu = time.perf_counter(), time.process_time()
                write_same(files, out)
                got["write"].append((time.perf_counter() - started, time.process_time() - cpu))
                shutil.rmtree(out)
        got["index_kb"] = len(dict(files)[Path("index.html")]) / 1024
    return got


def rows(got: dict) -> list[tuple[str, str, str, float, str]]:
    """The issue's table row: (measure, now, baseline, ratio, target), ratio on wall time."""
    build = statistics.median(w for w, _ in got["build"])
    build_cpu = statistics.median(c for _, c in got["build"])
    write = statistics.median(w for w, _ in got["write"])
    write_cpu = statistics.median(c for _, c in got["write"])
    return [(f"site cold build, {got['cold'].pages:,} pages",
             f"{build:.2f} s ({build_cpu:.2f} s CPU, {os.cpu_count()} workers)",
             f"writing the same files {write:.2f} s ({write_cpu:.2f} s CPU)",
             build / write, f"<= {TARGET:g}x")]


def main() -> dict:
    load = os.getloadavg()[0]
    got = measure()
    cold, warm = got["cold"], got["warm"]
    print(f"synthetic store: {len(RELEASES)} releases x {MODULES} modules, {got['runs']} runs, "
          f"filled in {got['fill_s']:.1f}s", flush=True)
    [(name, now, baseline, ratio, target)] = rows(got)
    # Wall time is what people wait; the CPU (workers included) beside it, since on a shared
    # machine the wall clock also counts the neighbours and the disk.
    print(f"cold build:       {cold.pages} pages, {cold.bytes_total / 1e6:.1f} MB, {now}; "
          f"index.html {got['index_kb']:.0f} KB (limit 100 KB)")
    print(f"baseline:         {baseline}")
    print(f"cold build / writing the same files: {ratio:.2f}x wall (target {target}), "
          f"medians of {len(got['build'])}, interleaved; load average {load:.1f}-"
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"unchanged build:  {warm.pages} pages, {warm.written} files rewritten "
          f"(must be 0), {got['warm_s']:.3f}s")
    if warm.written:
        print("FAIL: an unchanged rebuild rewrote files", file=sys.stderr)
        raise SystemExit(1)
    return got


if __name__ == "__main__":
    main()
