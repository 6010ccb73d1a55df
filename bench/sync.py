"""bench/sync.py: ouhub's sync against plain git, and against a plain loop of breezy calls.

The OCA case (issue 12), OpenUpgrade's shape generated with `git fast-import` (cached in
bench/.cache/sync): an OpenUpgrade repository of twelve release branches (8.0 to 19.0)
holding its upstream's history, about 100,000 commits and 4,600 files, and an upstream
of 100,001 commits whose release branches are 200 commits ahead of OpenUpgrade's merges.
Served as file:// URLs (git's pack protocol, no network). Side by side in one run, with
their targets: the first sync of the twelve branches vs one `git clone --mirror`; 40 new
commits on every branch vs one `git fetch`; the disk of the mirrors vs the clone; peak
memory (printed); the coverage scan of a release at its synced commit vs an os.walk of a
checkout that reads the same files; the upstream lag of one release (printed, < 2 s).
ouhub's times are its entry points' (run in a child process for its peak memory; the
CLI's start-up, about 0.3 s, is not counted); each figure is the best of a few rounds,
the machine being shared.

The bzr case: 20 bzr branches of 200 revisions each, served over bzr:// by a breezy
smart server in its own process. Three mirror sets receive the same work: one by the
plain loop (``sprout`` then ``WorkingTree.pull``), one by ouhub serially, one by ouhub
with --jobs 4. Printed: each ouhub time as a ratio of the plain loop's time measured in
the same run (< 1 is faster). Targets from issue 3: nothing new <= 1.2x serially, < 1x
with 4 jobs. No assertions.

    python -m bench.sync [oca|bzr]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import breezy.bzr  # noqa: F401
from breezy.branch import Branch
from breezy.branchbuilder import BranchBuilder
from breezy.transport import get_transport_from_path
from breezy.workingtree import WorkingTree

from bench._sync_oca import oca_case
from ouhub import config as config_mod
from ouhub.store import Store
from ouhub.sync.stage import run_sync

ROOT = Path(__file__).resolve().parents[1]
COMMITTER = "Bench <bench@example.org>"
SERVER = (
    "import sys, time\n"
    "from examples.demo.vcs import BzrServer\n"
    "server = BzrServer(sys.argv[1]); print(server.start(), flush=True)\n"
    "sys.stdin.read()\n"
)


def build_sources(root: Path, branches: int, revisions: int) -> list[str]:
    """One branch of ``revisions`` revisions, copied ``branches`` times, each with one more."""
    template = root / "template"
    builder = BranchBuilder(transport=get_transport_from_path(str(template)), format="2a")
    builder.start_series()
    parent = builder.build_snapshot(
        None, [("add", ("", b"root-id", "directory", None))]
        + [("add", (f"mod{m}.py", f"mod{m}-id".encode(), "file", b"# module\n")) for m in range(40)],
        message="initial", timestamp=1325376000, timezone=0, committer=COMMITTER,
    )
    for i in range(1, revisions):
        name = f"mod{i % 40}.py"
        content = f"# module, revision {i}\n".encode() + b"x = 1\n" * (i % 50)
        parent = builder.build_snapshot(
            [parent], [("modify", (name, content))], message=f"revision {i}",
            timestamp=1325376000 + i * 60, timezone=0, committer=COMMITTER,
        )
    builder.finish_series()
    names = []
    for n in range(branches):
        name = f"b{n:02d}"
        shutil.copytree(template, root / name)
        add_revision(root / name, f"distinct change of {name}")
        names.append(name)
    return names


def add_revision(path: Path, message: str) -> None:
    branch = Branch.open(str(path))
    builder = BranchBuilder(branch=branch)
    builder.build_snapshot(
        [branch.last_revision()], [("modify", ("mod0.py", message.encode() + b"\n"))],
        message=message, committer=COMMITTER,
    )


def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def plain_branch(urls: list[str], dest: Path) -> None:
    for n, url in enumerate(urls):
        source = Branch.open(url)
        source.controldir.sprout(str(dest / str(n)), source_branch=source)


def plain_pull(urls: list[str], dest: Path) -> None:
    for n, url in enumerate(urls):
        WorkingTree.open(str(dest / str(n))).pull(Branch.open(url))


def ouhub_setup(root: Path, name: str, urls: list[str]) -> tuple[config_mod.Config, Store]:
    config = config_mod.from_dict({
        "data_dir": str(root / name),
        "releases": {"7.0": {"branches": {f"b{n:02d}": {"url": u} for n, u in enumerate(urls)}}},
    })
    return config, Store.open(config.store_path)


def main(*cases: str) -> None:
    for case in cases or ("oca", "bzr"):
        {"oca": oca_case, "bzr": bzr_case}[case]()


def bzr_case(branches: int = 20, revisions: int = 200) -> None:
    print("-- bzr: 20 branches over bzr:// (ouhub vs a plain loop of breezy calls)", flush=True)
    with tempfile.TemporaryDirectory(prefix="ouhub-bench-sync-") as tmp:
        root = Path(tmp)
        sources = root / "sources"
        sources.mkdir()
        started = time.perf_counter()
        names = build_sources(sources, branches, revisions)
        print(f"built {branches} branches x {revisions + 1} revisions in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(sources)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            base = server.stdout.readline().strip().rstrip("/")
            urls = [f"{base}/{name}" for name in names]
            _measure(root, sources, names, urls)
        finally:
            server.stdin.close()
            server.wait(timeout=30)


def _measure(root: Path, sources: Path, names: list[str], urls: list[str]) -> None:
    plain_dir = root / "plain"
    plain_dir.mkdir()
    serial, serial_store = ouhub_setup(root, "serial", urls)
    parallel, parallel_store = ouhub_setup(root, "parallel", urls)

    def ouhub(config: config_mod.Config, store: Store, jobs: int) -> Callable[[], object]:
        def run() -> None:
            results = run_sync(config, store, jobs=jobs, quiet=True)
            failed = [r.error for r in results if not r.ok]
            if failed:
                raise RuntimeError(f"sync failed: {failed[0]}")
        return run

    for url in urls:  # warm the server up: the first measure must not pay for it
        Branch.open(url).last_revision()
    rows = []
    plain = timed(lambda: plain_branch(urls, plain_dir))
    rows.append(("cold mirror", plain,
                 timed(ouhub(serial, serial_store, 1)), timed(ouhub(parallel, parallel_store, 4))))
    # nothing new: best of three, the others share the machine
    plain = min(timed(lambda: plain_pull(urls, plain_dir)) for _ in range(3))
    rows.append(("nothing new", plain,
                 min(timed(ouhub(serial, serial_store, 1)) for _ in range(3)),
                 min(timed(ouhub(parallel, parallel_store, 4)) for _ in range(3))))
    for name in names:
        add_revision(sources / name, "one new revision")
    rows.append(("one new revision each", timed(lambda: plain_pull(urls, plain_dir)),
                 timed(ouhub(serial, serial_store, 1)), timed(ouhub(parallel, parallel_store, 4))))

    print(f"{'':24} {'plain loop':>11} {'ouhub -j1':>10} {'ratio':>6} {'ouhub -j4':>10} {'ratio':>6}")
    for label, base, one, four in rows:
        print(f"{label:24} {base:10.2f}s {one:9.2f}s {one / base:5.2f}x "
              f"{four:9.2f}s {four / base:5.2f}x")
    serial_store.close()
    parallel_store.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
