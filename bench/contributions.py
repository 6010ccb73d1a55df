"""bench/contributions.py: collecting 2,000 pull requests over 12 releases from the loopback GitHub.

The repository is generated (``populate``, a seeded Random): about a third open, the rest
merged or closed; each pull request with its scripts, a docsource row, reviews and a
timeline; one tracking issue per release naming the pull requests on their module's line.
It is served by the tests' loopback GitHub API (real HTTP, real requests) with a token.

Three collections by `ouhub contributions sync`'s entry point into one store: the first
(everything is new: the baseline, a full collection), an unchanged one (every request
should be conditional and answered 304), and one after 10 open pull requests got a new
commit. Printed: requests made, how many were conditional and 304, time, and each
time as a ratio of the first's. Target for the unchanged one: only conditional requests,
under 1 s. No assertions.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.github_server import GitHubServer

RELEASES = tuple(f"{major}.0" for major in range(8, 20))
START = datetime(2022, 1, 1, tzinfo=UTC)
LOGINS = ("alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi")


def _step_file(release: str) -> str:
    major = int(release.split(".")[0])
    return f"docsource/modules{major - 1}0-{major}0.rst"


def _script(module: str, release: str) -> str:
    if int(release.split(".")[0]) >= 14:
        return f"openupgrade_scripts/scripts/{module}/{release}.1.0/post-migration.py"
    return f"addons/{module}/migrations/{release}.1.0/post-migration.py"


def populate(server: GitHubServer, pulls: int = 2000, releases: tuple[str, ...] = RELEASES,
             seed: int = 14) -> None:
    """Fill ``server`` with ``pulls`` pull requests spread over ``releases``."""
    rng = random.Random(seed)
    lines: dict[str, list[str]] = {r: [] for r in releases}
    for index in range(pulls):
        number = 1000 + index
        release = releases[index % len(releases)]
        module = f"module_{index // len(releases) % 150:03d}"
        author = rng.choice(LOGINS)
        opened = START + timedelta(hours=index * 7)
        pull = server.add_pull(
            number, f"[{release}][OU-ADD] {module}: Migration scripts", base=release,
            author=author, created_at=opened, draft=rng.random() < 0.05,
            labels=["Dependency OK"] if rng.random() < 0.2 else [],
        )
        pull.add_file(_script(module, release))
        pull.add_file(f"{_script(module, release).rsplit('/', 1)[0]}/pre-migration.py")
        pull.add_file(_step_file(release), status="modified",
                      patch=f"@@ -1 +1 @@\n-|{module} | |\n+|{module} |Done |")
        pull.push(opened + timedelta(days=1))
        if rng.random() < 0.6:
            reviewer = rng.choice([x for x in LOGINS if x != author])
            state = rng.choice(("APPROVED", "CHANGES_REQUESTED", "COMMENTED"))
            pull.review(reviewer, state, opened + timedelta(days=3))
        if rng.random() < 0.3:
            pull.comment("OCA-git-bot", opened + timedelta(days=4), "ping", bot=True)
        roll = rng.random()
        if roll < 0.55:
            pull.close(opened + timedelta(days=20), merged=True)
        elif roll < 0.67:
            pull.close(opened + timedelta(days=20))
        tick = "x" if pull.merged_at else " "
        lines[release].append(f"- [{tick}] {module} - By @{author} - #{number}")
    for position, release in enumerate(releases):
        server.add_issue(4000 + position, f"Migration to version {release}",
                         "# Pending / done work\n" + "\n".join(lines[release]))


def change(server: GitHubServer, count: int = 10, seed: int = 15) -> list[int]:
    """Push a new commit to ``count`` open pull requests; their numbers."""
    rng = random.Random(seed)
    open_pulls = sorted(n for n, p in server.pulls.items() if p.state == "open")
    chosen = sorted(rng.sample(open_pulls, count))
    moment = max(p.updated_at for p in server.pulls.values())
    later = datetime.fromisoformat(moment.replace("Z", "+00:00")) + timedelta(days=1)
    for number in chosen:
        pull = server.pulls[number]
        pull.push(later)
        pull.add_file(_script("module_extra", pull.base))
    return chosen


TOKEN_ENV = "OUHUB_BENCH_GITHUB_TOKEN"


def _collect(config, store) -> tuple[float, dict]:  # noqa: ANN001 (bench glue)
    from ouhub.contributions.stage import run_contributions

    started = time.perf_counter()
    result = run_contributions(config, store)
    elapsed = time.perf_counter() - started
    if not result.ok:
        print(f"collection did not finish: {result.stopped or result.errors[:3]}")
    return elapsed, {**result.requests, "pulls": result.pulls, "matches": result.matches}


def main() -> None:
    from ouhub import config as config_mod
    from ouhub.store import Store

    token = "bench-token-not-a-secret"
    os.environ[TOKEN_ENV] = token
    with GitHubServer(token=token) as gh, \
            tempfile.TemporaryDirectory(prefix="ouhub-bench-contributions-") as tmp:
        started = time.perf_counter()
        populate(gh)
        print(f"repository: {len(gh.pulls)} pull requests over {len(RELEASES)} releases, "
              f"generated in {time.perf_counter() - started:.1f}s", flush=True)
        config = config_mod.from_dict({
            "data_dir": str(Path(tmp) / "data"),
            "releases": {r: {"branches": {"openupgrade": {
                "url": f"https://github.com/OCA/OpenUpgrade.git,branch={r}"}}}
                for r in RELEASES},
            "contributions": {"api": gh.api, "token_env": TOKEN_ENV},
        })
        with Store.open(config.store_path) as store:
            runs = []
            for label, prepare in (("first", None), ("unchanged", None),
                                   ("10 changed", lambda: change(gh, 10))):
                if prepare:
                    prepare()
                runs.append((label, *_collect(config, store)))
        base = runs[0][1]
        for label, elapsed, stats in runs:
            print(f"{label + ' collection:':23} {stats['requests']:5} requests "
                  f"({stats['conditional']} conditional, {stats['not_modified']} answered 304), "
                  f"{elapsed:6.2f}s = {elapsed / base:.3f} x the first; "
                  f"{stats['pulls']} pull requests, {stats['matches']} matches", flush=True)
        _label, elapsed, stats = runs[1]
        only_conditional = stats["requests"] == stats["conditional"] == stats["not_modified"]
        print(f"unchanged target (only conditional requests, all 304, under 1 s): "
              f"{'met' if only_conditional and elapsed < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
