"""A damaged, read-only or full store: one clear line and an exit code, the data kept."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from ouhub.store import Store
from tests.support.config import write_config
from tests.support.process import ouhub_process


def filled_store(tmp_path: Path) -> tuple[Path, Path]:
    """A config, and its store holding a few stage events (several pages of data)."""
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})
    path = tmp_path / "data" / "ouhub.sqlite"
    with Store.open(path) as store:
        for number in range(300):
            with store.stage_event("sync") as event:
                event.finish(True, message=f"event {number} " + "x" * 200)
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return config, path


def ouhub(config: Path, *args: str) -> subprocess.CompletedProcess:
    return ouhub_process("--config", config, *args)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_clear_line(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "hit a bug" not in result.stderr, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and all(word in first for word in words), first
    assert "hint: " in result.stderr


@pytest.mark.parametrize("where, words", [
    (8192, ("damaged", "database disk image is malformed")),  # a page in the middle
    (0, ("damaged", "file is not a database")),  # the header
])
def test_a_damaged_store_is_one_clear_line_and_stays_as_it_was(tmp_path, where, words):
    config, path = filled_store(tmp_path)
    with path.open("r+b") as fh:
        fh.seek(where)
        fh.write(b"\xa5" * 4096)
    before = digest(path)
    for command, code in ((["status"], 1), (["check", "--to", "7.0", "--from", "6.1",
                                                  "--modules", "sale"], 3)):
        result = ouhub(config, *command)
        assert_one_clear_line(result, code, str(path), *words)
        assert "move it aside" in result.stderr
    assert digest(path) == before


def test_a_full_disk_under_the_store_is_one_clear_line(tmp_path):
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ouhub.sqlite").symlink_to("/dev/full")  # every write: ENOSPC
    assert_one_clear_line(ouhub(config, "status"), 1, "disk", "full")


def test_a_read_only_store_is_one_clear_line(tmp_path):
    config, path = filled_store(tmp_path)
    before = digest(path)
    # root writes any file whatever its mode, but not an immutable one
    lock, unlock = ((["chattr", "+i", str(path)], ["chattr", "-i", str(path)])
                    if os.getuid() == 0 else
                    (["chmod", "a-w", str(path), str(path.parent)],
                     ["chmod", "u+w", str(path), str(path.parent)]))
    subprocess.run(lock, check=True)
    try:
        assert ouhub(config, "status").returncode == 0  # reading needs no writing
        result = ouhub(config, "sync", "--release", "7.0")  # which records what it did
    finally:
        subprocess.run(unlock, check=True)
    assert_one_clear_line(result, 1, str(path), "read-only")
    assert digest(path) == before
