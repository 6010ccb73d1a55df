"""The coverage stage's scans (0003, 0006, 0010, 0050): per release, each scan's modules and
warnings; per scanned source, its stamp and its analyses' parse results.

A release's coverage is its newest *published* scan: every scan of the mirrors is, a scan
of a directory (``--path``) only when it was published (0050). Show, check, status, the
site and the next release's scan read that one; a scan's id is no longer enough."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ouhub import records  # each record made on first use
from ouhub.store.db import Database
from ouhub.vocab import NOT_IN_RELEASE

if TYPE_CHECKING:
    from ouhub.records import CoverageScan, ModuleCoverage


def _encoder(sort_keys: bool) -> Callable[[Any], str]:
    """``json.dumps(x, sort_keys=sort_keys)`` for the plain data a scan writes (dicts,
    lists, str, numbers: no cycle to check), without making an encoder per call: a scan
    writes three per module. The C encoder made once when there is one."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(sort_keys=sort_keys).encode
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
                  sort_keys, False, True)
    return lambda value: "".join(encode(value, 0))


_sorted_json = _encoder(sort_keys=True)
_json = _encoder(sort_keys=False)


class CoverageQueries(Database):
    def find_coverage_scan(
        self, release: str, source: str, revisions_key: str
    ) -> CoverageScan | None:
        """The stored scan of exactly these revisions of this source, if any (the scan cache)."""
        row = self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? AND source = ? AND revisions_key = ?",
            (release, source, revisions_key),
        ).fetchone()
        return _coverage_scan(row) if row else None

    def record_coverage_scan(
        self, scan: CoverageScan, modules: list[ModuleCoverage],
        warnings: list[tuple[str, str]],
    ) -> int:
        """Store one scan with its modules and warnings (replacing a scan of the same key)."""
        with self.transaction():
            self._execute(
                "DELETE FROM coverage_scans WHERE release = ? AND source = ? AND revisions_key = ?",
                (scan.release, scan.source, scan.revisions_key),
            )
            scan_id = self._execute(
                "INSERT INTO coverage_scans (release, previous, source, revisions_key, revisions, "
                "scanned_at, duration, totals, summary, published) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scan.release, scan.previous, scan.source, scan.revisions_key,
                    json.dumps(scan.revisions, sort_keys=True), scan.scanned_at, scan.duration,
                    json.dumps(scan.totals, sort_keys=True),
                    json.dumps(scan.summary, sort_keys=True), int(scan.published),
                ),
            ).lastrowid
            self._conn.executemany(
                "INSERT INTO coverage_modules (scan_id, module, status, target, version, path, "
                "in_tree, manifest_error, evidence, analysis_size, analysis_annotated, "
                "analysed_share, analysis_counts, analysis_source, disagreements) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        scan_id, m.module, m.status, m.target, m.version, m.path, int(m.in_tree),
                        m.manifest_error, _sorted_json(m.evidence.as_dict()),
                        m.analysis_size, m.analysis_annotated, m.analysed_share,
                        _sorted_json(m.analysis_counts), m.analysis_source,
                        _json(list(m.disagreements)) if m.disagreements else "[]",
                    )
                    for m in modules
                ],
            )
            self._conn.executemany(
                "INSERT INTO coverage_warnings (scan_id, path, message) VALUES (?, ?, ?)",
                [(scan_id, path, message) for path, message in warnings],
            )
        return int(scan_id)

    def coverage_scan(self, scan_id: int) -> CoverageScan | None:
        row = self._execute("SELECT * FROM coverage_scans WHERE id = ?", (scan_id,)).fetchone()
        return _coverage_scan(row) if row else None

    def latest_coverage_scan(self, release: str) -> CoverageScan | None:
        """The release's coverage: its newest published scan."""
        row = self.latest_coverage_scan_row(release)
        return _coverage_scan(row) if row else None

    def latest_coverage_scan_row(self, release: str) -> sqlite3.Row | None:
        """``latest_coverage_scan`` as the row it is made of: `ouhub status` shows it without
        making a record."""
        return self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? AND published = 1 "
            "ORDER BY id DESC LIMIT 1", (release,)
        ).fetchone()

    def has_mirror_scan(self, release: str) -> bool:
        """Whether the release's mirrors were ever scanned (then they are its coverage)."""
        return self._execute(
            "SELECT 1 FROM coverage_scans WHERE release = ? AND source = 'mirrors' LIMIT 1",
            (release,),
        ).fetchone() is not None

    def coverage_history(self, release: str, everything: bool = False) -> list[CoverageScan]:
        """The published scans of a release (``everything``: the unpublished --path scans too),
        oldest first: scan time, revisions, counts per status."""
        rows = self._execute(
            "SELECT * FROM coverage_scans WHERE release = ? "
            + ("" if everything else "AND published = 1 ") + "ORDER BY id", (release,)
        )
        return [_coverage_scan(r) for r in rows]

    def coverage_of_scan(self, scan_id: int) -> list[ModuleCoverage]:
        """The modules of one scan, sorted by module name."""
        scan = self.coverage_scan(scan_id)
        if scan is None:
            return []
        rows = self._execute(
            "SELECT * FROM coverage_modules WHERE scan_id = ? ORDER BY module", (scan_id,)
        )
        return [_module_coverage(r, scan) for r in rows]

    def recent_statuses(self, release: str, scans: int) -> list[tuple[int, str, dict[str, str]]]:
        """The last ``scans`` scans of a release, oldest first: (id, scanned_at, module ->
        status), for the site's feeds of coverage changes."""
        chosen = self._execute(
            "SELECT id, scanned_at FROM coverage_scans WHERE release = ? AND published = 1 "
            "ORDER BY id DESC LIMIT ?", (release, int(scans)),
        ).fetchall()
        out = []
        for scan_id, scanned_at in reversed(chosen):
            rows = self._tuples().execute(
                "SELECT module, status FROM coverage_modules WHERE scan_id = ?", (scan_id,))
            out.append((scan_id, scanned_at, dict(rows.fetchall())))
        return out

    def latest_coverage(self, release: str) -> list[ModuleCoverage]:
        """The modules of the newest scan of a release (empty if never scanned)."""
        scan = self.latest_coverage_scan(release)
        return self.coverage_of_scan(scan.id) if scan else []

    def coverage_warnings(self, scan_id: int) -> list[tuple[str, str]]:
        """(path, message) of each warning a scan recorded."""
        rows = self._execute(
            "SELECT path, message FROM coverage_warnings WHERE scan_id = ? ORDER BY id", (scan_id,)
        )
        return [(r["path"], r["message"]) for r in rows]

    def coverage_stamp(self, source: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        """(revisions, stamp) recorded for a scanned directory by its last walk, if any."""
        row = self._execute(
            "SELECT revisions, stamp FROM coverage_stamps WHERE source = ?", (source,)
        ).fetchone()
        return (json.loads(row["revisions"]), json.loads(row["stamp"])) if row else None

    def record_coverage_stamp(
        self, source: str, revisions: dict[str, str], stamp: dict[str, Any] | None
    ) -> None:
        """Keep (or with None, forget) what a scanned directory looked like when walked."""
        with self.transaction():
            if stamp is None:
                self._execute("DELETE FROM coverage_stamps WHERE source = ?", (source,))
                return
            self._execute(
                "INSERT OR REPLACE INTO coverage_stamps (source, revisions, stamp) "
                "VALUES (?, ?, ?)",
                (source, json.dumps(revisions, sort_keys=True),
                 json.dumps(stamp, separators=(",", ":"))),
            )

    def coverage_parse_cache(self, source: str) -> bytes | None:
        """The parse results kept for a scanned source (ouhub.coverage.parsecache), if any."""
        row = self._execute(
            "SELECT data FROM coverage_parse_cache WHERE source = ?", (source,)
        ).fetchone()
        return bytes(row["data"]) if row else None

    def record_coverage_parse_cache(self, source: str, data: bytes) -> None:
        with self.transaction():
            self._execute(
                "INSERT OR REPLACE INTO coverage_parse_cache (source, data) VALUES (?, ?)",
                (source, data),
            )

    def release_presence(self, release: str) -> tuple[frozenset[str], bool] | None:
        """The modules the newest scan of ``release`` holds as part of it (in its tree, or
        with a status other than removed, renamed, merged), and whether that tree was whole
        (it held base); None if never scanned."""
        scan = self.latest_coverage_scan(release)
        if scan is None:
            return None
        rows = self._execute(
            "SELECT module FROM coverage_modules WHERE scan_id = ? AND (in_tree = 1 OR status "
            f"NOT IN ({', '.join('?' * len(NOT_IN_RELEASE))}))", (scan.id, *NOT_IN_RELEASE),
        ).fetchall()
        whole = self._execute(
            "SELECT 1 FROM coverage_modules WHERE scan_id = ? AND module = 'base' AND in_tree = 1",
            (scan.id,),
        ).fetchone()
        return frozenset(r["module"] for r in rows), whole is not None

    def release_modules(self, release: str) -> frozenset[str] | None:
        """Modules found in the release's tree by its newest scan; None if never scanned."""
        scan = self.latest_coverage_scan(release)
        if scan is None:
            return None
        rows = self._execute(
            "SELECT module FROM coverage_modules WHERE scan_id = ? AND in_tree = 1", (scan.id,)
        )
        return frozenset(r["module"] for r in rows)


def _coverage_scan(row: sqlite3.Row) -> CoverageScan:
    return records.CoverageScan(
        id=row["id"], release=row["release"], previous=row["previous"], source=row["source"],
        revisions_key=row["revisions_key"], revisions=json.loads(row["revisions"]),
        scanned_at=row["scanned_at"], duration=row["duration"], totals=json.loads(row["totals"]),
        summary=json.loads(row["summary"]), published=bool(row["published"]),
    )


def _module_coverage(row: sqlite3.Row, scan: CoverageScan) -> ModuleCoverage:
    return records.ModuleCoverage(
        release=scan.release, module=row["module"], status=row["status"], target=row["target"],
        version=row["version"], path=row["path"], in_tree=bool(row["in_tree"]),
        manifest_error=row["manifest_error"],
        evidence=records.Evidence.from_dict(json.loads(row["evidence"])),
        analysis_size=row["analysis_size"], analysis_annotated=row["analysis_annotated"],
        analysed_share=row["analysed_share"], analysis_counts=json.loads(row["analysis_counts"]),
        analysis_source=row["analysis_source"],
        disagreements=tuple(json.loads(row["disagreements"])), scan_id=scan.id,
        scanned_at=scan.scanned_at,
    )
