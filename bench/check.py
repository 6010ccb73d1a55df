"""bench/check.py: `ouhub check` of 1,000 modules across 5 steps (target: < 200 ms beyond
interpreter start).

A synthetic store holds 6 releases (5 steps) of 1,200 modules each, with renames,
merges, removals and one finished nightly run per step. The command runs as a
subprocess, as a user runs it; the baseline is `python -c pass` in the same run.
The in-process split (check data from the store, the rules) is printed too.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RELEASES = ["7.0", "8.0", "9.0", "10.0", "11.0", "12.0"]
MODULES = 1200
CHECKED = 1000
REPEAT = 7
TARGET_MS = 200.0


def build_project(root: Path) -> tuple[Path, Path]:
    """A config and a filled store under ``root``; returns (config, module list file)."""
    from ouhub import config as config_mod
    from ouhub.store import Store
    from tests.support.config import write_config
    from tests.support.fill import record_coverage, record_run

    path = write_config(root, {
        release: {"openupgrade": f"https://github.com/OCA/OpenUpgrade.git,branch={release}"}
        for release in RELEASES})
    config = config_mod.load(path)
    rng = random.Random(7)
    statuses = ["done"] * 6 + ["nothing_to_do"] * 2 + ["partial", "todo", "new"]
    with Store.open(config.store_path) as store:
        for previous, release in config.steps:
            modules = {}
            for n in range(MODULES):
                name = f"module_{n:04d}"
                status = rng.choice(statuses)
                entry: dict = {"status": status}
                if status == "done":
                    entry["scripts"] = [f"addons/{name}/migrations/{release}.1.0/pre-migration.py",
                                        f"addons/{name}/migrations/{release}.1.0/post-migration.py"]
                elif status in ("nothing_to_do", "partial"):
                    entry["declaration"] = f"docsource/modules.rst:{n}: {name} | {status}"
                if n % 97 == 0:
                    entry = {"status": "renamed", "target": f"{name}_ng",
                             "apriori": f"apriori.py: renamed_modules['{name}'] = '{name}_ng'"}
                elif n % 89 == 0:
                    entry = {"status": "merged", "target": "module_0001"}
                elif n % 83 == 0:
                    entry = {"status": "removed"}
                if n % 31 == 0:
                    entry["disagreements"] = ["declared Done without scripts"]
                modules[name] = entry
                modules[f"{name}_ng"] = {"status": "done"}
            record_coverage(store, release, previous, modules)
            record_run(store, release, previous, "sample", "failed",
                       {f"module_{n:04d}": rng.choice(["upgraded", "failed", "not_reached"])
                        for n in range(0, MODULES, 3)}, excerpt="Traceback ... KeyError")
    listing = root / "modules.txt"
    names = [f"module_{n:04d}" for n in range(CHECKED - 20)] + [f"custom_{n}" for n in range(20)]
    listing.write_text("\n".join(names) + "\n")
    return path, listing


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall ms, CPU ms of the child, result): CPU time is steadier on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    if done.returncode not in (0, 1, 2):
        raise RuntimeError(f"{argv[:4]} failed: {done.stderr}")
    return wall, cpu, done


def main() -> None:
    from ouhub import config as config_mod
    from ouhub.check.data import build_check_data
    from ouhub.check.modlist import parse_module_list
    from ouhub.check.rules import decide_verdicts
    from ouhub.store import Store

    with tempfile.TemporaryDirectory(prefix="ouhub-bench-check-") as tmp:
        config_path, listing = build_project(Path(tmp))
        # As installed: bytecode cached (in a private prefix, whatever PYTHONDONTWRITEBYTECODE
        # says, so the tree stays clean), and `ouhub` imported, not run as __main__.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        command = [sys.executable, "-c", "from ouhub.cli import main; main()",
                   "--config", str(config_path), "check",
                   "--from", RELEASES[0], "--to", RELEASES[-1], "--modules-file", str(listing)]
        variants = {"json": command + ["--format", "json"], "table": command}
        for argv in variants.values():
            timed(argv, env)  # compile and cache the bytecode
        samples: dict[str, list[tuple[float, float]]] = {"start": [], "json": [], "table": []}
        for _ in range(REPEAT):
            samples["start"].append(timed([sys.executable, "-c", "pass"], env)[:2])
            for name, argv in variants.items():
                samples[name].append(timed(argv, env)[:2])
        config = config_mod.load(config_path)
        with Store.open(config.store_path) as store:
            started = time.perf_counter()
            data = build_check_data(config, store)
            build_ms = (time.perf_counter() - started) * 1000
        modules = parse_module_list(listing.read_text())
        started = time.perf_counter()
        report = decide_verdicts(modules, RELEASES[0], RELEASES[-1], data)
        decide_ms = (time.perf_counter() - started) * 1000

    def median(name: str, index: int) -> float:
        return statistics.median(s[index] for s in samples[name])

    def least(name: str, index: int) -> float:
        # On a shared machine other work only ever adds time: the least is the steadiest.
        return min(s[index] for s in samples[name])

    print(f"check: {len(report.modules)} modules x {len(report.steps)} steps "
          f"(store: {MODULES * 2} coverage rows per step); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  interpreter start (python -c pass): wall {median('start', 0):7.1f} ms, "
          f"CPU {median('start', 1):7.1f} ms")
    for name in ("json", "table"):
        wall = median(name, 0) - median("start", 0)
        cpu = median(name, 1) - median("start", 1)
        print(f"  ouhub check --format {name:5} beyond start: wall {wall:7.1f} ms, CPU {cpu:7.1f} ms"
              f" (target < {TARGET_MS:.0f} ms: {wall / TARGET_MS:.2f} / {cpu / TARGET_MS:.2f} of it)")
        least_cpu = least(name, 1) - least("start", 1)
        print(f"  {'':28} least of {REPEAT}: wall {least(name, 0) - least('start', 0):7.1f} ms, "
              f"CPU {least_cpu:7.1f} ms ({least_cpu / TARGET_MS:.2f} of the target)")
    print(f"  in process: check data from the store {build_ms:.1f} ms, rules {decide_ms:.1f} ms")
    started = time.process_time()
    sum(range(10**7))
    print(f"  machine speed reference: sum(range(10**7)) took "
          f"{(time.process_time() - started) * 1000:.0f} ms CPU (an idle modern core: ~150 ms)")


if __name__ == "__main__":
    main()
