"""bench/startup.py: the commands people wait on, as whole processes, against `python -c pass`.

`ouhub check` of 8 modules (against the store of bench/check.py: 6 releases of 1,200
modules), `ouhub status` and `ouhub --help`, each run as the installed `ouhub` script
runs it (bytecode compiled, as `make setup` leaves it), against the same interpreter
starting and doing nothing, in the same run. Medians of REPEAT, interleaved; CPU time
of the child (user + system) beside wall time, since the machine is shared.
Instructions counted by callgrind, where valgrind is installed, are printed beside: they
do not move with the machine's load. Target: each command <= 2x the interpreter's start.
"""

from __future__ import annotations

import compileall
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEAT = int(os.environ.get("OUHUB_BENCH_STARTUP_REPEAT", "15"))
TARGET = 2.0
CHECKED = "account,sale,stock,purchase,crm,module_0001,module_0002,custom_1"


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, child CPU ms) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1, 2):
        raise RuntimeError(f"{argv[1:5]} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def commands(config: Path) -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "ouhub"
    ouhub = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from ouhub.cli import main; sys.exit(main())"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ouhub check (8 modules)": ouhub + ["--config", str(config), "check", "--from", "7.0",
                                            "--to", "12.0", "--modules", CHECKED],
        "ouhub status": ouhub + ["--config", str(config), "status"],
        "ouhub --help": ouhub + ["--help"],
    }


def measure(config: Path, repeat: int = REPEAT) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per command, the baseline first; bytecode compiled first."""
    compileall.compile_dir(str(ROOT / "ouhub"), quiet=1)
    env = dict(os.environ)
    argvs = commands(config)
    for argv in argvs.values():
        run(argv, env)  # warm: the check data cache, the page cache
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
    for _ in range(repeat):
        for name, argv in argvs.items():
            samples[name].append(run(argv, env))
    return {name: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
            for name, got in samples.items()}


def instructions(config: Path) -> dict[str, float] | None:
    """Millions of instructions per command, counted by valgrind's callgrind: the same
    whatever the machine's load (None without valgrind)."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None
    counted = {}
    for name, argv in commands(config).items():
        if not argv[0].endswith("python") and not argv[0].endswith("python3"):
            argv = [sys.executable, *argv]  # the script, through the interpreter valgrind runs
        done = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
                               *argv], capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if not found:
            return None
        counted[name] = int(found.group(1)) / 1e6
    return counted


def rows(config: Path) -> list[tuple[str, str, str, float, str]]:
    """The issue's table rows: (measure, now, baseline, ratio, target), ratio on CPU time
    (medians), instructions beside it when valgrind is there."""
    got = measure(config)
    counted = instructions(config) or {}
    base_wall, base_cpu = got.pop("python -c pass")
    base_ir = counted.get("python -c pass")
    return [(f"`{name}`, whole process",
             f"{wall:.0f} ms wall, {cpu:.0f} ms CPU"
             + (f", {counted[name]:.0f} M instr. ({counted[name] / base_ir:.1f}x)"
                if base_ir else ""),
             f"`python -c pass` {base_wall:.0f} ms wall, {base_cpu:.0f} ms CPU"
             + (f", {base_ir:.0f} M instr." if base_ir else ""),
             cpu / base_cpu, f"<= {TARGET:g}x")
            for name, (wall, cpu) in got.items()]


def project(tmp: Path) -> Path:
    from bench.check import build_project

    config, _listing = build_project(tmp)
    return config


def main() -> list:
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-startup-") as tmp:
        config = project(Path(tmp))
        load = os.getloadavg()[0]
        measured = rows(config)
        for name, now, baseline, ratio, target in measured:
            print(f"{name}: {now}\n    vs {baseline}: {ratio:.2f}x CPU (target {target})")
        print(f"medians of {REPEAT}; load average {load:.1f}-{os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores; instructions by callgrind (one run each)")
    return measured


if __name__ == "__main__":
    main()
