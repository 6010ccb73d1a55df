"""Build real bzr and git branches with breezy's Python API (used by the demo and the tests)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

import breezy.bzr  # noqa: F401  (registers the bzr formats)
import breezy.git  # noqa: F401  (registers the git format)
from breezy import controldir
from breezy.bzr.smart.server import SmartTCPServer
from breezy.transport import get_transport_from_path
from breezy.workingtree import WorkingTree

FORMATS = {"bzr": "2a", "git": "git"}
# file content, or None to delete the file
Files = Mapping[str, "str | bytes | None"]


def init_branch(path: str | Path, vcs: str = "bzr") -> WorkingTree:
    """A new standalone branch with a working tree at ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fmt = controldir.format_registry.make_controldir(FORMATS[vcs])
    cdir = controldir.ControlDir.create(str(path), format=fmt)
    if vcs == "bzr":
        cdir.create_repository()
    cdir.create_branch()
    return cdir.create_workingtree()


def commit_files(
    tree: WorkingTree | str | Path,
    files: Files,
    message: str,
    author: str = "Demo Maintainer <demo@example.org>",
    timestamp: float | None = None,
) -> bytes:
    """Write (or delete) ``files`` in the tree and commit them; returns the revision id."""
    if not isinstance(tree, WorkingTree):
        tree = WorkingTree.open(str(tree))
    root = Path(tree.basedir)
    added, removed = [], []
    for relpath, content in files.items():
        target = root / relpath
        if content is None:
            if target.exists():
                removed.append(relpath)
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        added.append(str(target))
    with tree.lock_write():
        if removed:
            tree.remove(removed, keep_files=False)
        if added:
            tree.smart_add(added)
        return tree.commit(
            message, committer=author, timestamp=timestamp, timezone=0, allow_pointless=True
        )


def make_branch(
    path: str | Path, commits: list[Files], vcs: str = "bzr", start: float = 1325376000.0
) -> list[bytes]:
    """A branch at ``path`` with one commit per mapping of files; returns the revision ids."""
    tree = init_branch(path, vcs)
    return [
        commit_files(tree, files, f"commit {i + 1}", timestamp=start + 3600 * i)
        for i, files in enumerate(commits)
    ]


class BzrServer:
    """Serve a directory of bzr branches on bzr://127.0.0.1:PORT with breezy's smart server."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._server = SmartTCPServer(
            get_transport_from_path(str(self.directory)), client_timeout=60.0
        )

    def start(self) -> str:
        self._server.start_server("127.0.0.1", 0)
        self._server.start_background_thread("-ouhub-tests")
        return self.url

    @property
    def url(self) -> str:
        return self._server.get_url().rstrip("/")

    def url_of(self, relpath: str) -> str:
        return f"{self.url}/{relpath.strip(os.sep)}"

    def stop(self) -> None:
        # breezy's stop_background_thread waits for accept() to time out (1 s) on Linux:
        # a connection wakes the accept loop, which sees the flag, closes the socket and ends.
        server = self._server
        server._should_terminate = True
        with socket.socket() as poke:
            poke.connect_ex(server._sockname)
        server._server_thread.join(timeout=10)

    def __enter__(self) -> BzrServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
