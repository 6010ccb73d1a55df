"""The git program: one logged wrapper, and what ouhub asks of git through it.

Every git command goes through ``run``: the argv and the working directory are logged,
no shell is involved, and a failure is re-raised as a ``GitError`` carrying the command,
its exit code and what git said (in the manner of acsone/git-aggregator's ``log_call``).
Output is parsed here too, by small pure functions pinned by tests on real output.

Readers work from the object store, never from a working tree: ``list_tree`` is
``git ls-tree -r``, ``ObjectReader`` one long-lived ``git cat-file --batch``,
``count_commits`` ``git rev-list --count`` and ``log`` ``git log`` with the files each
commit touched, so a history of 100,000 commits is walked by git, not by Python.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from ouhub.errors import SyncError

logger = logging.getLogger("ouhub.sync.git")

GIT = "git"
ZERO = "0" * 40
# Never ask a terminal for credentials; messages in English, so that they can be parsed.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"}
# A transfer slower than 1 kB/s for a minute is a dead transfer (git has no overall timeout).
_FETCH_CONFIG = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60")
# What git says when the remote cannot be reached, or is not a repository there.
_UNREACHABLE = (
    "could not resolve host", "unable to access", "failed to connect", "connection refused",
    "connection timed out", "could not read from remote repository",
    "does not appear to be a git repository", "repository not found", "not found",
    "no such device or address", "network is unreachable", "the remote end hung up",
    "early eof", "operation timed out", "ssl", "authentication failed",
)
_DISK_FULL = ("no space left on device", "disk quota exceeded")


class GitError(SyncError):
    """A git command failed: the message names the command, the hint what to do."""

    def __init__(self, argv: Sequence[str], cwd: Path | None, returncode: int, stderr: str,
                 message: str | None = None, hint: str | None = None):
        self.argv = tuple(argv)
        self.cwd = cwd
        self.returncode = returncode
        self.stderr = stderr
        detail = reason(stderr) or f"exit code {returncode}"
        where = f" (in {cwd})" if cwd else ""
        super().__init__(
            message or f"`{' '.join(self.argv)}` failed{where}: {detail}",
            hint=hint or "run the command by hand to see git's whole message",
        )

    @property
    def unreachable(self) -> bool:
        """The remote could not be reached or is no repository there: try the next URL."""
        text = self.stderr.lower()
        return any(marker in text for marker in _UNREACHABLE)

    @property
    def disk_full(self) -> bool:
        text = self.stderr.lower()
        return any(marker in text for marker in _DISK_FULL)

    @property
    def missing_ref(self) -> str | None:
        """The ref a fetch asked for and the remote does not have, if that is the failure."""
        return missing_remote_ref(self.stderr)


def reason(text: str) -> str:
    """The line of git's message that says why, without its ``fatal:``/``error:`` tag.

    git follows the reason with generic advice, so that is the first tagged line:

    >>> reason("fatal: '/x' does not appear to be a git repository\\n"
    ...           "fatal: Could not read from remote repository.\\n\\nPlease make sure ...")
    "'/x' does not appear to be a git repository"
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith(("fatal:", "error:")):
            return line.partition(":")[2].strip()
    return lines[-1] if lines else ""


def missing_remote_ref(stderr: str) -> str | None:
    """The ref in ``fatal: couldn't find remote ref refs/heads/8.O``, else None.

    >>> missing_remote_ref("fatal: couldn't find remote ref refs/heads/8.O\\n")
    'refs/heads/8.O'
    >>> missing_remote_ref("fatal: unable to access 'https://x/': Could not resolve host: x")
    """
    marker = "couldn't find remote ref "
    for line in stderr.splitlines():
        if marker in line:
            return line.split(marker, 1)[1].strip()
    return None


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **_ENV, **(extra or {})}


def _argv(args: Sequence[str], git_dir: Path | None) -> list[str]:
    return [GIT, *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]


def _not_installed(exc: FileNotFoundError, argv: list[str], where: Path | None) -> SyncError:
    if where is not None and not Path(where).exists():
        return GitError(argv, where, -1, f"fatal: {where} does not exist")
    return SyncError("the git program is not installed (needed to mirror git branches)",
                     hint="install git (apt-get install git) and sync again")


def run(
    args: Sequence[str], *, git_dir: Path | None = None, cwd: Path | None = None,
    input: bytes | None = None, ok: Iterable[int] = (0,), env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git [--git-dir=DIR] ARGS`` and return the finished process; ``GitError`` if its
    exit code is not in ``ok``. ``git_dir`` names the repository explicitly, so that a
    damaged one is never mistaken for a repository further up."""
    argv = _argv(args, git_dir)
    where = cwd if cwd is not None else git_dir
    logger.debug("%s> %r", where or ".", argv)
    try:
        proc = subprocess.run(
            argv, cwd=where, input=input, capture_output=True, env=environment(env), check=False,
        )
    except FileNotFoundError as exc:
        raise _not_installed(exc, argv, where) from exc
    if proc.returncode not in tuple(ok):
        stderr = proc.stderr.decode("utf-8", "replace")
        logger.info("%s> %r failed with exit code %d: %s", where or ".", argv, proc.returncode,
                    reason(stderr))
        raise GitError(argv, where, proc.returncode, stderr)
    return proc


def start(args: Sequence[str], git_dir: Path,
          env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``run``'s long-lived form: a git process to talk to through its stdin and stdout."""
    argv = _argv(args, git_dir)
    logger.debug("%s> %r", git_dir, argv)
    try:
        return subprocess.Popen(argv, cwd=git_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=environment(env))
    except FileNotFoundError as exc:
        raise _not_installed(exc, argv, git_dir) from exc


def output(args: Sequence[str], git_dir: Path, **kwargs: object) -> str:
    """``run`` for a command whose stdout is text."""
    return run(args, git_dir=git_dir, **kwargs).stdout.decode("utf-8", "surrogateescape")


# -- where a branch lives ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteBranch:
    """A branch of a remote repository, from a configured URL such as
    ``https://github.com/OCA/OpenUpgrade.git,branch=8.0`` (breezy's notation, kept)."""

    url: str  # the repository, as git fetches it
    branch: str | None  # None: the remote's default branch (its HEAD)

    @property
    def source_ref(self) -> str:
        return f"refs/heads/{self.branch}" if self.branch else "HEAD"


def parse_url(text: str) -> RemoteBranch:
    """A configured URL as repository and branch.

    >>> parse_url("https://github.com/OCA/OpenUpgrade.git,branch=8.0")
    RemoteBranch(url='https://github.com/OCA/OpenUpgrade.git', branch='8.0')
    >>> parse_url("/srv/ou,branch=feature%2Fx")
    RemoteBranch(url='/srv/ou', branch='feature/x')
    >>> parse_url("git@github.com:odoo/odoo.git")
    RemoteBranch(url='git@github.com:odoo/odoo.git', branch=None)
    """
    url, branch = text, None
    head, sep, tail = text.rpartition(",")
    if sep and "/" not in tail and tail.startswith("branch="):
        url, branch = head, unquote(tail[len("branch="):]) or None
    return RemoteBranch(url, branch)


def repository_dir(root: Path, url: str) -> Path:
    """Where the bare repository of a remote lives under ``root`` (``<data>/mirrors/git``):
    ``<host>/<path>.git``, local paths under ``local/``.

    >>> str(repository_dir(Path("/m"), "https://github.com/OCA/OpenUpgrade.git"))
    '/m/github.com/OCA/OpenUpgrade.git'
    >>> str(repository_dir(Path("/m"), "git@GitHub.com:odoo/odoo"))
    '/m/github.com/odoo/odoo.git'
    >>> str(repository_dir(Path("/m"), "ssh://me:pw@host:2222/a/../b/"))
    '/m/host_2222/a/_/b.git'
    >>> str(repository_dir(Path("/m"), "/srv/repos/ou"))
    '/m/local/srv/repos/ou.git'
    """
    host, path = _host_and_path(url)
    parts = [p if p not in ("..", ".") else "_" for p in path.split("/") if p]
    if not parts:
        parts = ["repository"]
    name = parts[-1][:-4] if parts[-1].endswith(".git") and len(parts[-1]) > 4 else parts[-1]
    return root.joinpath(host, *parts[:-1], name + ".git")


def _host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme and parts.scheme != "file" and "://" in url:
        host = (parts.hostname or "unknown").lower()
        return (f"{host}_{parts.port}" if parts.port else host), parts.path
    if parts.scheme == "file":
        return "local", parts.path
    if ":" in url and not url.startswith(("/", ".")) and "/" not in url.split(":", 1)[0]:
        # scp-like: [user@]host:path
        host, _, path = url.partition(":")
        return host.rpartition("@")[2].lower(), path
    return "local", str(Path(url).absolute())


# -- a bare repository -------------------------------------------------------------------------


def init_bare(path: Path) -> None:
    """A new bare repository whose maintenance runs in the foreground (never a git process
    left running behind ouhub) and whose fetches keep a commit-graph for fast walks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run(["init", "--bare", "--quiet", str(path)], cwd=path.parent)
    for key, value in (("gc.autoDetach", "false"), ("fetch.writeCommitGraph", "true"),
                       ("core.logAllRefUpdates", "false")):
        run(["config", key, value], git_dir=path)


def is_repository(path: Path) -> bool:
    """Whether ``path`` is a readable git repository (bare or a .git directory)."""
    if not (path / "HEAD").is_file() or not (path / "objects").is_dir():
        return False
    try:
        run(["rev-parse", "--git-dir"], git_dir=path)
    except GitError:
        return False
    return True


def fetch(git_dir: Path, url: str, refspecs: Sequence[str]) -> None:
    """One ``git fetch`` of ``refspecs`` from ``url``: objects first, then the refs."""
    run([*_FETCH_CONFIG, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
         "--no-recurse-submodules", url, *refspecs], git_dir=git_dir)


def refs(git_dir: Path, *prefixes: str) -> dict[str, str]:
    """The refs under ``prefixes`` (``refs/ouhub/``) and the commits they name."""
    text = output(["for-each-ref", "--format=%(refname) %(objectname)", *prefixes], git_dir)
    pairs = (line.split(" ", 1) for line in text.splitlines() if line)
    return {name: sha for name, sha in pairs}


def resolve(git_dir: Path, rev: str) -> str | None:
    """The commit ``rev`` names, or None when the repository has no such commit."""
    proc = run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], git_dir=git_dir,
               ok=(0, 1, 128))
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def is_ancestor(git_dir: Path, old: str, new: str) -> bool:
    """Whether ``old`` is in ``new``'s history (a fast-forward from old to new)."""
    return run(["merge-base", "--is-ancestor", old, new], git_dir=git_dir,
               ok=(0, 1)).returncode == 0


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    new: str
    old: str | None  # None: the ref must not exist yet


def update_refs(git_dir: Path, updates: Sequence[RefUpdate]) -> None:
    """Move refs in one ``update-ref`` transaction; each only from the value it was read at."""
    if not updates:
        return
    lines = ["start"]
    for u in updates:
        lines.append(f"update {u.ref}\0{u.new}\0{u.old or ZERO}")
    lines.append("commit")
    run(["update-ref", "--stdin", "-z"], git_dir=git_dir,
        input=b"".join(line.encode() + b"\0" for line in lines))


def count_commits(git_dir: Path, include: Sequence[str], exclude: Sequence[str] = (),
                  first_parent: bool = False, env: Mapping[str, str] | None = None) -> int:
    """``git rev-list --count``: the commits of ``include`` not in ``exclude``'s history."""
    args = ["rev-list", "--count", *(["--first-parent"] if first_parent else []),
            *include, *(f"^{rev}" for rev in exclude), "--"]
    return int(output(args, git_dir, env=env).strip() or 0)


def ahead_behind(git_dir: Path, old: str, new: str) -> tuple[int, int]:
    """(commits of ``new`` not in ``old``, commits of ``old`` not in ``new``) in one walk:
    ``old`` is an ancestor of ``new`` when the second is 0."""
    left, right = output(["rev-list", "--left-right", "--count", f"{old}...{new}", "--"],
                         git_dir).split()
    return int(right), int(left)


def mainline_since(git_dir: Path, new: str, old: str) -> int | None:
    """How many commits ``new``'s first-parent history adds on top of ``old``, or None when
    ``old`` is not on that history (then a revno must be counted from the start)."""
    lines = output(["rev-list", "--first-parent", "--parents", new, f"^{old}", "--"],
                   git_dir).splitlines()
    if not lines:
        return 0 if new == old else None
    oldest = lines[-1].split()
    return len(lines) if len(oldest) > 1 and oldest[1] == old else None


# -- trees and files --------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # "100644", "100755", "120000" (symlink), "160000" (submodule)
    oid: str
    path: str


def list_tree(git_dir: Path, rev: str) -> list[TreeEntry]:
    """Every file of ``rev``'s tree (``git ls-tree -r``), symlinks and submodules included."""
    out = run(["ls-tree", "-r", "-z", "--full-tree", rev], git_dir=git_dir).stdout
    return parse_ls_tree(out)


def parse_ls_tree(out: bytes) -> list[TreeEntry]:
    r"""Entries of ``git ls-tree -r -z`` output.

    >>> parse_ls_tree(b"100644 blob fb49a2f6f37bad66e1ff2531216cf64ed2bde100\taddons/a b.py\x00")
    [TreeEntry(mode='100644', oid='fb49a2f6f37bad66e1ff2531216cf64ed2bde100', path='addons/a b.py')]
    """
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _kind, oid = meta.decode().split(" ")
        entries.append(TreeEntry(mode, oid, path.decode("utf-8", "surrogateescape")))
    return entries


class ObjectReader:
    """One long-lived ``git cat-file --batch``: ``read(oid)`` returns an object's content.

    Use it as a context manager (the process ends with the block)."""

    def __init__(self, git_dir: Path, env: Mapping[str, str] | None = None):
        self.git_dir = git_dir
        self._args = ["cat-file", "--batch"]
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ObjectReader:
        self._proc = start(self._args, self.git_dir, self._env)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def read(self, oid: str) -> bytes:
        """The content of object ``oid`` (a blob's bytes); GitError if it is missing."""
        proc = self._running()
        assert proc.stdin is not None
        try:
            proc.stdin.write(oid.encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        return self._answer(oid)

    def read_many(self, oids: Sequence[str]) -> dict[str, bytes | GitError]:
        """The contents of many objects in one exchange (each asked before any is read: one
        wait for git instead of one per object); a missing one maps to its GitError."""
        proc = self._running()
        assert proc.stdin is not None
        ask = b"".join(oid.encode() + b"\n" for oid in oids)

        def write() -> None:  # from a thread: git answers while we still ask, pipes stay open
            try:
                proc.stdin.write(ask)
                proc.stdin.flush()
            except BrokenPipeError:
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        found: dict[str, bytes | GitError] = {}
        try:
            for oid in oids:
                try:
                    found[oid] = self._answer(oid)
                except GitError as exc:
                    found[oid] = exc
        finally:
            writer.join()
        return found

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("ObjectReader used outside its `with` block")
        return self._proc

    def _answer(self, oid: str) -> bytes:
        proc = self._running()
        assert proc.stdout is not None
        header = proc.stdout.readline()
        fields = header.split()
        if len(fields) != 3:
            detail = header.decode("utf-8", "replace").strip()
            if not detail and proc.poll() is not None and proc.stderr is not None:
                detail = proc.stderr.read().decode("utf-8", "replace").strip()  # git has ended
            detail = detail or "no answer"
            raise GitError(_argv(self._args, self.git_dir), self.git_dir, proc.poll() or 0, detail,
                           message=f"cannot read object {oid} from {self.git_dir}: {detail}",
                           hint="the mirror may be damaged: sync it again with --force")
        size = int(fields[2])
        data = proc.stdout.read(size + 1)  # the content and git's trailing newline
        return data[:size]


# -- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """A commit as ``git log`` shows it, with the files it touched (none for a merge)."""

    sha: str
    author: str  # "Name <email>"
    timestamp: int  # author date, seconds since the epoch
    message: str
    files: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The message's first line."""
        return (self.message.strip().splitlines() or [""])[0].strip()


# A leading NUL opens each commit: a file name is never empty, so the parse cannot mistake one.
_LOG_FORMAT = "--format=%x00%H%x00%an <%ae>%x00%at%x00%B"


def log(git_dir: Path, include: Sequence[str], exclude: Sequence[str] = (),
        paths: Sequence[str] = (), *, files: bool = True, reverse: bool = False,
        max_count: int | None = None, env: Mapping[str, str] | None = None) -> list[Commit]:
    """``git log include ^exclude -- paths``: newest first (oldest first with ``reverse``),
    each with the files it touched when ``files`` (renames as a removal and an addition)."""
    args = ["log", "-z", "--no-renames", "--no-color", _LOG_FORMAT, "--topo-order",
            *(["--name-only"] if files else []), *(["--reverse"] if reverse else []),
            *([f"--max-count={max_count}"] if max_count is not None else []),
            *include, *(f"^{rev}" for rev in exclude), "--", *paths]
    return parse_log(run(args, git_dir=git_dir, env=env).stdout)


def parse_log(out: bytes) -> list[Commit]:
    r"""Commits of ``git log -z --name-only`` output in ``_LOG_FORMAT``.

    >>> parse_log(b"\x00a1\x00Ann <a@x>\x0017\x00fix sale\n\x00\naddons/sale/a.py\x00b.py\x00"
    ...           b"\x00b2\x00Bob <b@x>\x0016\x00Merge\n\x00")
    ... # doctest: +NORMALIZE_WHITESPACE
    [Commit(sha='a1', author='Ann <a@x>', timestamp=17, message='fix sale\n',
            files=('addons/sale/a.py', 'b.py')),
     Commit(sha='b2', author='Bob <b@x>', timestamp=16, message='Merge\n', files=())]
    """
    commits: list[Commit] = []
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        if tokens[i] or i + 4 >= len(tokens):
            i += 1  # only an empty token opens a commit; a trailing one closes the output
            continue
        sha, author, stamp, message = (t.decode("utf-8", "replace") for t in tokens[i + 1:i + 5])
        i += 5
        names: list[str] = []
        while i < len(tokens) and tokens[i]:
            names.append(tokens[i].lstrip(b"\n").decode("utf-8", "surrogateescape"))
            i += 1
        commits.append(Commit(sha, author, int(stamp or 0), message, tuple(n for n in names if n)))
    return commits


def commits_touching(git_dir: Path, old: str | None, new: str, paths: Sequence[str],
                     limit: int | None = None) -> tuple[list[Commit], int]:
    """The commits in ``new`` and not in ``old`` (merged ones included) that touch
    ``paths`` (folders, or git pathspecs such as ``:(glob)**/scripts/sale/**``), newest
    first with author and message (``Commit.summary``: the first line), at most ``limit``
    of them; and how many there are in all.

    For suspect commits: what changed a module's folder between a passing and a failing run.
    """
    exclude = [old] if old else []
    commits = log(git_dir, [new], exclude, paths, files=False, max_count=limit)
    if limit is None or len(commits) < limit:
        return commits, len(commits)
    total = int(output(["rev-list", "--count", new, *(f"^{r}" for r in exclude), "--",
                        *paths], git_dir).strip())
    return commits, total


def alternates_env(*git_dirs: Path) -> dict[str, str]:
    """An environment under which a command also reads the objects of other repositories
    (``GIT_ALTERNATE_OBJECT_DIRECTORIES``): nothing is copied and nothing is written."""
    return {"GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join(
        str(d / "objects") for d in git_dirs)}


# -- working trees -------------------------------------------------------------------------------


def checkout(git_dir: Path, worktree: Path, sha: str) -> None:
    """Files of ``sha`` at ``worktree``: a ``git worktree`` of the bare repository, made once
    and then updated in place (only the files that differ are rewritten)."""
    if not (worktree / ".git").is_file():
        if worktree.exists() and any(worktree.iterdir()):
            raise SyncError(
                f"{worktree} exists and is not a git worktree of {git_dir}",
                hint=f"remove {worktree}; the next sync checks the branch out there again",
            )
        run(["worktree", "prune"], git_dir=git_dir)
        worktree.parent.mkdir(parents=True, exist_ok=True)
        run(["worktree", "add", "--force", "--detach", "--quiet", str(worktree), sha],
            git_dir=git_dir, cwd=worktree.parent)
        return
    run(["checkout", "--force", "--detach", "--quiet", sha], cwd=worktree)
    run(["clean", "-ffdq"], cwd=worktree)


def remove_worktree(git_dir: Path, worktree: Path) -> None:
    run(["worktree", "remove", "--force", str(worktree)], git_dir=git_dir, ok=(0, 128))
    run(["worktree", "prune"], git_dir=git_dir)
