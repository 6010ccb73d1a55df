"""bench/site.py: build the site from a synthetic store, cold and then unchanged.

12 releases x 600 modules (with a coverage history), 365 nightly runs per step,
each run recording its sample's modules. Prints pages, bytes and seconds for a
cold build and for an unchanged rebuild, whose files rewritten must be 0.
Target: a cold build under 5 s on the project's machine.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

RELEASES = [f"{n}.0" for n in range(7, 19)]  # 12 releases, 11 steps
MODULES = 600
NIGHTS = 365
SCANS = 12  # stored scans per release: the coverage-over-time plot
SAMPLE_MODULES = 40  # modules installed in the sample database


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


def main() -> None:
    from ouhub.site.build import build_site
    from ouhub.store import Store
    from tests.support.config import make_config

    rnd = random.Random(6)
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-site-") as tmp:
        config = make_config(Path(tmp), RELEASES, site={
            "code_browser": "https://github.com/OCA/OpenUpgrade/blob/{release}/{path}"})
        started = time.perf_counter()
        with Store.open(config.store_path) as store:
            runs = fill(store, rnd)
            print(f"synthetic store: {len(RELEASES)} releases x {MODULES} modules, {runs} runs, "
                  f"filled in {time.perf_counter() - started:.1f}s", flush=True)
            started, cpu, workers_cpu = time.perf_counter(), time.process_time(), _children_cpu()
            cold = build_site(config, store)
            cold_s, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
            workers_cpu = _children_cpu() - workers_cpu
            started = time.perf_counter()
            warm = build_site(config, store)
            warm_s = time.perf_counter() - started
        index_kb = (cold.index.stat().st_size) / 1024
        # CPU seconds beside wall seconds: on a shared machine the wall clock also counts
        # other processes and the file system's creation of ~5,000 files. The pages are
        # rendered and written by one worker process per CPU: their CPU is counted apart.
        print(f"cold build:       {cold.pages} pages, {cold.bytes_total / 1e6:.1f} MB, "
              f"{cold_s:.2f}s ({cold_cpu:.2f}s CPU + {workers_cpu:.2f}s in "
              f"{os.cpu_count()} workers; target < 5 s), "
              f"index.html {index_kb:.0f} KB (limit 100 KB)")
        print(f"unchanged build:  {warm.pages} pages, {warm.written} files rewritten "
              f"(must be 0), {warm_s:.3f}s = {warm_s / cold_s:.3f} x cold")
        if warm.written:
            print("FAIL: an unchanged rebuild rewrote files", file=sys.stderr)
            raise SystemExit(1)


if __name__ == "__main__":
    main()
