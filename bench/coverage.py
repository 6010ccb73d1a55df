"""Scan the real OpenUpgrade trees (17.0, 18.0, 19.0 from the package index) and time it.

Downloads the newest ``odoo-addon-openupgrade-scripts`` wheel of each release with
``pip download --no-deps`` into bench/.cache/ (once), unpacks it, scans it with
ouhub, and prints per release: modules, modules with scripts by stage, declared vs
found disagreements, the scan time as a ratio against a bare ``os.walk`` that reads
the same files, and the cached rescan time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ouhub.config import from_dict, version_key
from ouhub.coverage.scan import scan_path, scan_release
from ouhub.store import Store

PACKAGE = "odoo-addon-openupgrade-scripts"
RELEASES = ("17.0", "18.0", "19.0")
CACHE = Path(__file__).resolve().parent / ".cache" / "coverage"


def _pip(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode:
        raise RuntimeError(f"pip {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def newest_versions() -> dict[str, str]:
    """The newest published version of the package for each release."""
    listing = _pip("index", "versions", PACKAGE)
    found = re.search(r"Available versions:\s*(.*)", listing)
    versions = [v.strip() for v in found.group(1).split(",")] if found else []
    newest: dict[str, str] = {}
    for release in RELEASES:
        mine = [v for v in versions if v.startswith(release + ".")]
        if mine:
            newest[release] = max(mine, key=version_key)
    return newest


def fetch(release: str, version: str) -> Path:
    """The unpacked wheel of ``version`` (downloaded and unpacked once)."""
    target = CACHE / f"{PACKAGE}-{version}"
    if target.is_dir():
        return target
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = next(wheels.glob(f"*-{version}-*.whl"), None)
    if wheel is None:
        _pip("download", "--no-deps", "--only-binary", ":all:", "-d", str(wheels),
             f"{PACKAGE}=={version}")
        wheel = next(wheels.glob(f"*-{version}-*.whl"))
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(partial)
    partial.rename(target)
    return target


def mirror_config(versions: dict[str, str]):
    """A config whose git mirrors hold the unpacked wheels (committed once, then reused)."""
    from examples.demo.vcs import commit_files, init_branch

    config = from_dict({
        "data_dir": str(CACHE / "data"),
        "releases": {
            release: {"branches": {"openupgrade": {
                "url": "https://github.com/OCA/OpenUpgrade.git", "vcs": "git"}}}
            for release in versions
        },
    })
    for release, version in versions.items():
        mirror = config.mirror_path(config.release(release).branch("openupgrade"))
        if (mirror / ".git").exists():
            continue
        root = fetch(release, version)
        files = {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*") if path.is_file()
        }
        commit_files(init_branch(mirror, "git"), files, f"{PACKAGE} {version}")
    return config


def bare_walk(root: Path, relpaths: list[str]) -> float:
    """An os.walk of the tree that reads the files the scan read: the baseline."""
    wanted = set(relpaths)
    started = time.perf_counter()
    for directory, _dirs, files in os.walk(root):
        rel = os.path.relpath(directory, root)
        for name in files:
            path = name if rel == "." else f"{rel}/{name}"
            if path in wanted:
                with open(os.path.join(directory, name), "rb") as fh:
                    fh.read()
    return time.perf_counter() - started


def main() -> None:
    versions = newest_versions()
    print(f"{PACKAGE}: " + ", ".join(f"{r} -> {v}" for r, v in versions.items()))
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.sqlite") as store:
        print(f"{'release':8} {'modules':>7} {'scripts':>7} {'pre':>4} {'post':>4} {'end':>4} "
              f"{'todo':>5} {'disagr':>6} {'warn':>5} {'scan s':>7} {'walk s':>7} {'ratio':>6} "
              f"{'cached ms':>9}")
        worst = 0.0
        for release, version in versions.items():
            root = fetch(release, version)
            previous = f"{int(release.split('.')[0]) - 1}.0"
            bare_walk(root, [])  # warm the page cache for both sides alike
            started = time.perf_counter()
            result = scan_path(store, root, release, previous, force=True)
            scanned = time.perf_counter() - started
            walked = min(bare_walk(root, list(result.files_read)) for _ in range(3))
            started = time.perf_counter()
            cached = scan_path(store, root, release, previous)
            cached_ms = (time.perf_counter() - started) * 1000
            assert cached.cached, "the rescan of an unchanged tree was not cached"
            if not result.ok:
                raise RuntimeError(f"{release}: scan failed: {result.error}")
            summary = result.summary
            stages = summary["scripts_by_stage"]
            ratio = scanned / walked if walked else float("inf")
            worst = max(worst, ratio)
            print(f"{release:8} {sum(result.totals.values()):>7} "
                  f"{summary['modules_with_scripts']:>7} {stages['pre']:>4} {stages['post']:>4} "
                  f"{stages['end']:>4} {result.totals['todo']:>5} "
                  f"{sum(summary['disagreements'].values()):>6} {len(result.warnings):>5} "
                  f"{scanned:>7.3f} {walked:>7.3f} {ratio:>5.1f}x {cached_ms:>9.1f}")
            for where, message in result.warnings[:5]:
                print(f"    warning: {where}: {message}")
            if summary["disagreements"]:
                print("    disagreements: " + ", ".join(
                    f"{k}: {n}" for k, n in sorted(summary["disagreements"].items())))
        config = mirror_config(versions)
        with Store.open(Path(tmp) / "mirrors.sqlite") as mirror_store:
            for release in versions:
                scan_release(config, mirror_store, release)
                started = time.perf_counter()
                again = scan_release(config, mirror_store, release)
                elapsed = (time.perf_counter() - started) * 1000
                assert again.cached, "the rescan of an unchanged mirror was not cached"
                print(f"{release}: cached rescan of the git mirror: {elapsed:.1f} ms")
        print(f"worst scan/walk ratio {worst:.1f}x (target <= 3x); cached rescans target < 50 ms")


if __name__ == "__main__":
    main()
