"""The OCA case of bench/sync.py: ouhub's sync, scan and lag against plain git (issue 12)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path

from examples.demo.gitrepo import RELEASES, Shape, add_commits, openupgrade_pair

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "sync"
SHAPE = Shape(trunk=88_000, per_release=1_000, releases=RELEASES, modules=400,
              files_per_module=10, ou_commits=300, lag=200)
NEW_COMMITS = 40
ROUNDS = 3  # best of, for each side (the first sync: 2)

# ouhub's sync in a child process (its peak memory, git's included, is sampled from /proc)
SYNC = """
import json, sys, time
from ouhub import config as config_mod
from ouhub.store import Store
from ouhub.sync.stage import run_sync
config = config_mod.load(sys.argv[1])
with Store.open(config.store_path) as store:
    started = time.perf_counter()
    results = run_sync(config, store, quiet=True)
    seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "failed": [r.error for r in results if not r.ok],
                  "new": [r.new_revisions for r in results]}))
"""


def _tree_rss(pid: int) -> tuple[int, int]:
    """(RSS of process ``pid``, RSS of its descendants) in kB, read from /proc."""
    rss, parent = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    family, frontier = set(), {pid}
    while frontier:
        family |= frontier
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in family}
    return rss.get(pid, 0), sum(rss.get(p, 0) for p in family - {pid})


def child(argv: list[str]) -> dict:
    """Run ``argv``, sampling its memory every 5 ms: its wall time (its own report if it
    prints one), its CPU time with its children's (git's), its peak RSS and its children's."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True)
        own = kids = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            mine, theirs = _tree_rss(proc.pid)
            own, kids = max(own, mine), max(kids, theirs)
            time.sleep(0.005)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, problem = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{argv[:4]} failed: {problem.strip()[-800:]}")
    found = json.loads(text.strip().splitlines()[-1]) if text.strip() else {"seconds": seconds}
    if found.get("failed"):
        raise RuntimeError(f"sync failed: {found['failed'][0]}")
    return {**found, "cpu": usage.ru_utime + usage.ru_stime, "self_kb": own, "children_kb": kids}


def source_pair() -> Path:
    """The generated pair, made once (about a minute and a half) and kept in the cache."""
    key = hashlib.sha256(json.dumps(asdict(SHAPE), sort_keys=True).encode()).hexdigest()[:12]
    cached = CACHE / f"oca-{key}"
    if not (cached / "done").exists():
        shutil.rmtree(cached, ignore_errors=True)
        started = time.perf_counter()
        openupgrade_pair(cached, SHAPE)
        (cached / "done").write_text("")
        print(f"generated the pair with git fast-import in {time.perf_counter() - started:.0f}s",
              flush=True)
    return cached


def git_out(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write_config(root: Path, src: Path) -> Path:
    lines = [f'data_dir = "{root / "data"}"']
    for release in SHAPE.releases:
        lines += [f'[releases."{release}"]', f'[releases."{release}".branches.openupgrade]',
                  f'url = "file://{src / "openupgrade.git"},branch={release}"',
                  f'upstream = "file://{src / "upstream.git"},branch={release}"']
    path = root / "ouhub.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call; the CPU time counts the git processes
    it ran too (waited for), as bench/coverage.py judges a scan on CPU time: on a shared
    machine, wall time also counts the waits for a core."""
    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
            resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    wall, before = time.perf_counter(), cpu()
    result = work()
    return time.perf_counter() - wall, cpu() - before, result


def oca_case() -> None:
    cached = source_pair()
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-oca-") as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        # hard links: git never rewrites an object file, and the new commits go to new packs
        for name in ("openupgrade.git", "upstream.git"):
            subprocess.run(["cp", "-al", str(cached / name), str(src / name)], check=True)
        ou = src / "openupgrade.git"
        commits = int(git_out(ou, "rev-list", "--count", "--all"))
        files = len(git_out(ou, "ls-tree", "-r", "--name-only", SHAPE.releases[-1]).splitlines())
        upstream_commits = int(git_out(src / "upstream.git", "rev-list", "--count", "--all"))
        print(f"-- OCA shape: OpenUpgrade {commits:,} commits, {files:,} files, "
              f"{len(SHAPE.releases)} release branches of one URL; upstream "
              f"{upstream_commits:,} commits; load {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores", flush=True)
        rows = measure(root, src)
    print(f"{'':44} {'ouhub':>9} {'git':>9} {'ratio':>7}  target")
    for label, mine, theirs, unit, target in rows:
        ratio = f"{mine / theirs:6.2f}x" if theirs else ""
        theirs_text = f"{theirs:8.2f}{unit}" if theirs else ""
        print(f"{label:44} {mine:8.2f}{unit} {theirs_text:>9} {ratio:>7}  {target}")


def measure(root: Path, src: Path) -> list[tuple[str, float, float, str, str]]:
    rows = []
    url = f"file://{src / 'openupgrade.git'}"
    first_ouhub: list[dict] = []
    first_git: list[dict] = []
    mem: dict[str, int] = {}
    for n in range(ROUNDS):  # fresh data dir and clone each time
        for side in (("git", "ouhub") if n % 2 == 0 else ("ouhub", "git")):
            if side == "git":
                shutil.rmtree(root / "clone.git", ignore_errors=True)
                done = child(["git", "clone", "--quiet", "--mirror", url, str(root / "clone.git")])
                first_git.append(done)
                mem["git"] = max(mem.get("git", 0), done["self_kb"] + done["children_kb"])
            else:
                shutil.rmtree(root / "data", ignore_errors=True)
                config = write_config(root, src)
                done = child([sys.executable, "-c", SYNC, str(config)])
                first_ouhub.append(done)
                mem["ouhub"] = max(mem.get("ouhub", 0), done["self_kb"])
                mem["ouhub git"] = max(mem.get("ouhub git", 0), done["children_kb"])
    rows.extend(timings("first sync vs git clone --mirror", first_ouhub, first_git, "<= 1.3x"))

    incremental_ouhub: list[dict] = []
    incremental_git: list[dict] = []
    for n in range(ROUNDS):
        add_commits(src / "openupgrade.git", SHAPE.releases, NEW_COMMITS, seed=100 + n)
        for side in (("git", "ouhub") if n % 2 == 0 else ("ouhub", "git")):
            if side == "git":
                done = child(["git", f"--git-dir={root / 'clone.git'}", "fetch", "--quiet"])
                incremental_git.append(done)
            else:
                done = child([sys.executable, "-c", SYNC, str(config)])
                assert done["new"] == [NEW_COMMITS] * len(SHAPE.releases), done["new"]
                incremental_ouhub.append(done)
    rows.extend(timings(f"{NEW_COMMITS} new commits on each branch vs git fetch",
                        incremental_ouhub, incremental_git, "<= 2x"))

    mirrors = du(root / "data" / "mirrors" / "git")
    rows.append(("disk of the mirrors vs the clone", mirrors / 1e6, du(root / "clone.git") / 1e6,
                 "MB", "<= 1.2x"))
    rows.append(("peak memory of the first sync vs the clone", (mem["ouhub"] + mem["ouhub git"])
                 / 1024, mem["git"] / 1024, "MB", "printed"))
    rows.append(("  of which ouhub's Python process", mem["ouhub"] / 1024, 0.0, "MB", ""))
    rows.extend(scan_and_lag(root, config))
    return rows


def timings(label: str, mine: list[dict], theirs: list[dict],
            target: str) -> list[tuple[str, float, float, str, str]]:
    """Two rows, best of each side: wall time, and CPU time with git's (ouhub's start-up
    counted there, not in its wall time)."""
    return [(f"{label}, wall", min(d["seconds"] for d in mine),
             min(d["seconds"] for d in theirs), "s", target),
            ("  the same, CPU", min(d["cpu"] for d in mine), min(d["cpu"] for d in theirs), "s",
             target)]


def scan_and_lag(root: Path, config_path: Path) -> list[tuple[str, float, float, str, str]]:
    from bench.coverage import bare_walk
    from ouhub import config as config_mod
    from ouhub.coverage.scan import scan_release
    from ouhub.store import Store
    from ouhub.sync import gitupstream
    from ouhub.sync.upstream import run_upstream

    config = config_mod.load(config_path)
    release = SHAPE.releases[-1]
    checkout = root / "checkout"
    git_out(root / "clone.git", "worktree", "add", "--quiet", "--detach", str(checkout),
            f"refs/heads/{release}")
    with Store.open(config.store_path) as store:
        scans, walks = [], []
        for _ in range(ROUNDS):
            *spent, result = cpu_timed(lambda: scan_release(config, store, release, force=True))
            scans.append(spent)
            if not result.ok:
                raise RuntimeError(f"scan failed: {result.error}")
            wanted = [p.partition("/")[2] for p in result.files_read]
            walks.append(cpu_timed(partial(bare_walk, checkout, wanted))[:2])
        rows = [(f"coverage scan of {release} vs os.walk of a checkout, CPU",
                 min(c for _, c in scans), min(c for _, c in walks), "s", "<= 3x"),
                ("  the same, wall time", min(w for w, _ in scans), min(w for w, _ in walks), "s",
                 "(waits for a core)")]
        run_upstream(config, store, releases=[release], quiet=True)  # fetches the upstream
        branch = config.release(release).branch("openupgrade")
        lags = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            lag = gitupstream.compute_lag(config, branch)
            lags.append(time.perf_counter() - started)
        rows.append((f"upstream lag of {release} ({lag.count} unmerged)", min(lags), 0.0, "s",
                     "< 2 s, printed"))
    return rows
