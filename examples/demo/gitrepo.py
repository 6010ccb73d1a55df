"""Build real git repositories with ``git fast-import`` (large ones in seconds).

``FastImport`` streams commits into a bare repository. ``openupgrade_pair`` builds the
shape of the real project: an upstream (odoo/odoo-like: a long trunk, one branch per
release forked from it) and an OpenUpgrade repository (OCA/OpenUpgrade-like: each
release branch is the upstream release branch plus migration scripts and analysis
files, with the upstream merged up to ``lag`` commits before its tip). Used by the tests
and by ``bench/sync.py``.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

AUTHORS = ("Ann Dev <ann@example.org>", "Bob Port <bob@example.org>",
           "OpenERP SA <info@openerp.com>", "Cleo Mig <cleo@example.org>")
START = 1_300_000_000  # commit dates count on from here, one a minute
RELEASES = tuple(f"{n}.0" for n in range(8, 20))  # 8.0 ... 19.0: twelve releases

# path -> content; None deletes the file
Files = Mapping[str, "str | bytes | None"]


class FastImport:
    """``git fast-import`` into the bare repository ``git_dir`` (made if missing).

    ``commit`` returns a mark (``:7``) usable as a parent; ``marks`` maps marks to shas
    once the block is left."""

    def __init__(self, git_dir: Path):
        self.git_dir = Path(git_dir)
        self._mark = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._marks_file = self.git_dir / "fast-import.marks"
        self.marks: dict[str, str] = {}

    def __enter__(self) -> FastImport:
        if not (self.git_dir / "HEAD").exists():
            subprocess.run(["git", "init", "--bare", "--quiet", str(self.git_dir)], check=True)
        self._proc = subprocess.Popen(
            ["git", f"--git-dir={self.git_dir}", "fast-import", "--quiet", "--done", "--force",
             f"--export-marks={self._marks_file}"],
            stdin=subprocess.PIPE,
        )
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        proc, self._proc = self._proc, None
        assert proc is not None and proc.stdin is not None
        if kind is None:
            proc.stdin.write(b"done\n")
        proc.stdin.close()
        if proc.wait() != 0 and kind is None:
            raise RuntimeError(f"git fast-import into {self.git_dir} failed")
        if self._marks_file.exists():
            for line in self._marks_file.read_text().splitlines():
                mark, sha = line.split()
                self.marks[mark] = sha
            self._marks_file.unlink()

    def _write(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(data)

    def commit(
        self, ref: str, files: Files, message: str, *, parents: Sequence[str] = (),
        author: str = AUTHORS[0], when: int = START,
    ) -> str:
        """A commit on ``ref`` (``refs/heads/8.0``); ``parents``: marks, shas or refs
        (``refs/heads/8.0^0`` for a ref of the repository); none continues the ref."""
        self._mark += 1
        mark = f":{self._mark}"
        msg = message.encode()
        out = [f"commit {ref}\nmark {mark}\n".encode(),
               f"author {author} {when} +0000\ncommitter {author} {when} +0000\n".encode(),
               f"data {len(msg)}\n".encode(), msg, b"\n"]
        if parents:
            out.append(f"from {parents[0]}\n".encode())
            out.extend(f"merge {p}\n".encode() for p in parents[1:])
        for path, content in files.items():
            if content is None:
                out.append(f"D {path}\n".encode())
                continue
            data = content.encode() if isinstance(content, str) else content
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
            out.extend((data, b"\n"))
        out.append(b"\n")
        self._write(b"".join(out))
        return mark

    def reset(self, ref: str, to: str) -> None:
        """Point ``ref`` at ``to`` (a mark or a sha) without a new commit."""
        self._write(f"reset {ref}\nfrom {to}\n\n".encode())


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


# -- the shape of OpenUpgrade ----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How big ``openupgrade_pair`` makes things (the defaults: a test-sized pair)."""

    trunk: int = 600  # upstream commits before the newest release forks
    per_release: int = 40  # upstream commits on each release branch after its fork
    releases: tuple[str, ...] = RELEASES[-3:]
    modules: int = 40
    files_per_module: int = 10  # manifest and __init__ included
    ou_commits: int = 20  # OpenUpgrade's own commits per release (scripts, analyses)
    lag: int = 5  # upstream commits of each release not merged into OpenUpgrade

    @property
    def upstream_commits(self) -> int:
        return self.trunk + len(self.releases) * self.per_release


@dataclass(frozen=True)
class Pair:
    upstream: Path  # bare repository: refs/heads/master and one branch per release
    openupgrade: Path  # bare repository: one branch per release
    shape: Shape
    modules: tuple[str, ...]


def module_name(n: int) -> str:
    return f"mod_{n:04d}"


def _manifest(module: str, release: str) -> str:
    return (f"{{\n    'name': '{module}',\n    'version': '{release}.1.0',\n"
            f"    'depends': ['base'],\n    'license': 'LGPL-3',\n}}\n")


def _source(path: str, revision: int, rng: random.Random) -> str:
    words = " ".join(rng.choice(("partner", "invoice", "move", "line", "state", "amount",
                                 "company", "currency", "journal", "tax")) for _ in range(12))
    body = "".join(f"    def method_{i}(self):\n        return '{words} {i}'\n\n"
                   for i in range(rng.randrange(4, 14)))
    return f"# {path}\n# revision {revision}\n\n\nclass Model:\n{body}"


def _module_files(module: str, count: int, release: str, rng: random.Random) -> dict[str, str]:
    base = f"addons/{module}"
    files = {f"{base}/__manifest__.py": _manifest(module, release),
             f"{base}/__init__.py": "from . import models\n"}
    for k in range(count - 2):
        path = f"{base}/models/model_{k}.py" if k % 2 == 0 else f"{base}/views/view_{k}.xml"
        files[path] = _source(path, 0, rng)
    return files


def _analysis(module: str) -> str:
    return (f"---Fields in module '{module}'---\n"
            f"{module:<12} / res.partner              / x_{module} (char)              : NEW\n"
            f"---XML records in module '{module}'---\n"
            f"NEW ir.ui.view: {module}.view_form\n")


def openupgrade_pair(root: Path, shape: Shape = Shape(), seed: int = 1) -> Pair:
    """Make ``root/upstream.git`` and ``root/openupgrade.git`` in the shape of the project."""
    rng = random.Random(seed)
    modules = tuple(module_name(n) for n in range(shape.modules))
    work = root / "generate.git"
    tips: dict[str, str] = {}
    with FastImport(work) as fi:
        files: dict[str, str] = {}
        for module in modules:
            files.update(_module_files(module, shape.files_per_module, shape.releases[0], rng))
        paths = sorted(p for p in files if "/models/" in p or "/views/" in p)
        when = START
        trunk = fi.commit("refs/heads/up/master", files, "initial import", when=when)
        n_rel = len(shape.releases)
        fork_at = {r: shape.trunk * (i + 1) // n_rel for i, r in enumerate(shape.releases)}
        forks: dict[str, str] = {}
        for i in range(1, shape.trunk + 1):
            when += 60
            path = rng.choice(paths)
            trunk = fi.commit("refs/heads/up/master", {path: _source(path, i, rng)},
                              f"[IMP] {path.split('/')[1]}: change {i}",
                              author=rng.choice(AUTHORS), when=when)
            for release, at in fork_at.items():
                if at == i:
                    forks[release] = trunk
        for release in shape.releases:
            release_files = {f"addons/{m}/__manifest__.py": _manifest(m, release)
                             for m in modules}
            up = fi.commit(f"refs/heads/up/{release}", release_files,
                           f"[REL] {release}", parents=[forks[release]], when=when)
            up_marks = [up]
            for i in range(shape.per_release - 1):
                when += 60
                path = rng.choice(paths)
                up = fi.commit(f"refs/heads/up/{release}", {path: _source(path, -i, rng)},
                               f"[FIX] {path.split('/')[1]}: fix {i} in {release}",
                               author=rng.choice(AUTHORS), when=when)
                up_marks.append(up)
            tips[release] = up
            # OpenUpgrade: from the middle of the release branch, scripts, then a merge of
            # the upstream up to `lag` commits before its tip, then a few more scripts.
            ou = fi.commit(f"refs/heads/ou/{release}", {"README.md": f"OpenUpgrade {release}\n"},
                           f"[INIT] OpenUpgrade {release}",
                           parents=[up_marks[len(up_marks) // 2]], when=when)
            merged = up_marks[max(0, len(up_marks) - 1 - shape.lag)]
            for i in range(shape.ou_commits):
                when += 60
                module = modules[(i * 7 + len(release)) % len(modules)]
                folder = f"addons/{module}/migrations/{release}.1.0"
                parents = [ou, merged] if i == shape.ou_commits - 3 else []
                ou = fi.commit(
                    f"refs/heads/ou/{release}",
                    {f"{folder}/pre-migration.py": f"def migrate(cr, version):\n    pass  # {i}\n",
                     f"{folder}/openupgrade_analysis.txt": _analysis(module)},
                    f"[OU-ADD] {module}: migration scripts" if not parents
                    else f"[MERGE] upstream {release}",
                    parents=parents, author=rng.choice(AUTHORS), when=when,
                )
    upstream, openupgrade = root / "upstream.git", root / "openupgrade.git"
    for target, prefix in ((upstream, "up"), (openupgrade, "ou")):
        subprocess.run(["git", "init", "--bare", "--quiet", str(target)], check=True)
        git(target, "fetch", "--quiet", "--no-tags", str(work),
            f"refs/heads/{prefix}/*:refs/heads/*")
        git(target, "symbolic-ref", "HEAD",
            "refs/heads/master" if prefix == "up" else f"refs/heads/{shape.releases[-1]}")
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return Pair(upstream, openupgrade, shape, modules)


def add_commits(git_dir: Path, branches: Sequence[str], count: int, seed: int = 2,
                folder: str = "addons/mod_0000/migrations") -> dict[str, str]:
    """``count`` new commits on each branch of ``git_dir``; returns each branch's new tip."""
    rng = random.Random(seed)
    with FastImport(git_dir) as fi:
        when = START + 10_000_000 + rng.randrange(1000)
        last: dict[str, str] = {}
        for branch in branches:
            parent = f"refs/heads/{branch}^0"
            for i in range(count):
                when += 60
                path = f"{folder}/{branch}/new_{i}_{rng.randrange(10**6)}.py"
                mark = fi.commit(f"refs/heads/{branch}", {path: f"# new {i}\n"},
                                 f"[ADD] new commit {i} on {branch}",
                                 parents=[parent] if i == 0 else [], author=rng.choice(AUTHORS),
                                 when=when)
                parent = mark
            last[branch] = mark
    return {branch: fi.marks[mark] for branch, mark in last.items()}
