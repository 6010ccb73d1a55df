"""Real git repositories for the tests, made with ``git fast-import`` (see examples/demo/gitrepo.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from examples.demo.gitrepo import FastImport, Files, git


def git_repo(path: Path, branches: dict[str, list[Files]], start: int = 1_400_000_000) -> dict[
        str, list[str]]:
    """A bare repository at ``path`` with, per branch, one commit per mapping of files
    (each branch from scratch); returns each branch's commit shas, oldest first."""
    marks: dict[str, list[str]] = {}
    with FastImport(path) as fi:
        when = start
        for branch, commits in branches.items():
            for i, files in enumerate(commits):
                when += 60
                marks.setdefault(branch, []).append(
                    fi.commit(f"refs/heads/{branch}", files, f"{branch} commit {i + 1}\n\nbody",
                              when=when))
    return {b: [fi.marks[m] for m in ms] for b, ms in marks.items()}


def commit(path: Path, branch: str, files: Files, message: str = "more", *,
           parent: str | None = None) -> str:
    """One more commit on ``branch`` (from ``parent`` instead of the branch's tip if given)."""
    with FastImport(path) as fi:
        mark = fi.commit(f"refs/heads/{branch}", files, message,
                         parents=[parent or f"refs/heads/{branch}^0"], when=1_500_000_000)
    return fi.marks[mark]


def sha_of(path: Path, rev: str) -> str:
    return git(path, "rev-parse", rev)


def fsck(path: Path) -> None:
    """git's own check of a repository: every object and ref sound (raises otherwise)."""
    subprocess.run(["git", f"--git-dir={path}", "fsck", "--no-progress", "--no-dangling"],
                   check=True, capture_output=True)
