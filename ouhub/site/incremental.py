"""What the last build wrote, so that a rebuild rewrites only what changed.

In the manner of coverage.py's ``IncrementalChecker``: a status file in the output
holds a format number, a hash of everything global (ouhub's version, the site
config, the templates, the static files, the code that renders) and a hash per page
of its data. An unchanged rebuild rewrites nothing; any doubt (no status file,
another format, a global change) rebuilds everything.

The status file also says which files the last build wrote, and so which a rebuild
may remove. It lies in the output, where anyone publishing the site can edit it, so
it carries a MAC under a key kept in the data dir (``status_key``): a status file
ouhub did not write is in doubt, and a build in doubt removes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ouhub.fsutil import write_atomic

STATUS_FILE = ".ouhub-site-status.json"
STATUS_FORMAT = 3
KEY_FILE = "site-status.key"  # in the data dir, never in the output


def status_key(data_dir: Path) -> bytes:
    """The key of the status files' MACs, made on first use."""
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(32)
    write_atomic(path, key.hex().encode())
    path.chmod(0o600)
    return key


def data_hash(key: Any) -> str:
    """The hash of a page's data (any tree of records, tuples, lists, dicts and scalars)."""
    return hashlib.sha256(repr(key).encode("utf-8", "surrogatepass")).hexdigest()


def globals_hash(data: Any, trees: Iterable[Path], files: Iterable[Path]) -> str:
    """The hash of what every page depends on: ``data`` (the format, versions, the site
    config), each file under ``trees`` (templates, static files) and ``files`` (code)."""
    digest = hashlib.sha256()
    digest.update(repr(data).encode())
    for base in trees:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class IncrementalBuild:
    """The status file of the build in ``out``: the previous build's page hashes and store
    key, read only when made with the same globals; written back after each build."""

    def __init__(self, out: Path, globals_hash: str, key: bytes) -> None:
        self.out = out
        self.globals = globals_hash
        self.key = key
        self.pages: dict[str, str] = {}  # path -> data hash, of the previous build
        self.store: str | None = None  # the previous build's store key

    def read(self) -> None:
        """Load the previous build's status; anything in doubt leaves it empty."""
        self.pages, self.store = {}, None
        try:
            status = json.loads((self.out / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(status, dict) or status.get("format") != STATUS_FORMAT:
            return
        mac = status.pop("mac", None)
        if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(status)):
            return  # not written by this ouhub: nothing in it is to be trusted
        if status.get("globals") != self.globals or not isinstance(status.get("pages"), dict):
            return
        store = status.get("store")
        self.pages = {str(k): str(v) for k, v in status["pages"].items()}
        self.store = store if isinstance(store, str) else None

    def up_to_date(self, store_hash: str) -> tuple[int, int] | None:
        """(files, bytes) when nothing in the store, the config or ouhub changed since the
        last build and every file it wrote is still there, else None."""
        if not self.pages or self.store != store_hash:
            return None
        total = 0
        for path in self.pages:
            try:
                total += os.stat(self.out / path).st_size
            except OSError:
                return None
        return len(self.pages), total

    def stale(self, hashes: dict[str, str]) -> list[str]:
        """The files of the previous build that this one no longer has, sorted."""
        return sorted(set(self.pages) - set(hashes))

    def status_bytes(self, hashes: dict[str, str], store_hash: str) -> bytes:
        """The status file of a build that wrote ``hashes`` from the store of ``store_hash``."""
        status: dict[str, Any] = {"format": STATUS_FORMAT, "globals": self.globals,
                                  "store": store_hash, "pages": hashes}
        status["mac"] = self._mac(status)
        return json.dumps(status, sort_keys=True, indent=0).encode()

    def _mac(self, status: dict[str, Any]) -> str:
        body = json.dumps(status, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()
