"""`ouhub status`: what the config names and what the store holds, as plain data.

Read from the store's rows, not its records: status shows a few fields of four stages'
records, and making their classes would cost more than the rest of the command
(bench/startup.py).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ouhub.config import Config
from ouhub.fsutil import process_gone
from ouhub.store import Store
from ouhub.vocab import INTERRUPTED, RUNNING

STAGES = ("sync", "upstream", "contributions", "coverage", "samples", "runner", "site", "nightly")


def summary_line(summary: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(summary.items()) if not isinstance(v, (dict, list)))


def _shown_status(run: sqlite3.Row) -> str:
    """A run still recorded running whose ouhub process is gone was interrupted."""
    if run["status"] == RUNNING and process_gone(run["host"], run["pid"]):
        return INTERRUPTED
    return run["status"]


def _release_status(config: Config, store: Store, name: str) -> dict[str, Any]:
    release = config.release(name)
    states = {s["branch"]: s for s in store.sync_state_rows(name)}
    branches = []
    for branch in release.branches:
        state = states.get(branch.name)
        branches.append({
            "name": branch.name,
            "revno": state["revno"] if state else None,
            "last_success": state["last_success"] if state else None,
            "last_error": state["last_error"] if state else None,
        })
    scan = store.latest_coverage_scan_row(name)
    runs = store.run_rows(release=name, kind="run", limit=1)
    run = runs[0] if runs else None
    return {
        "name": name,
        "previous": release.previous,
        "branches": branches,
        "last_scan": None if scan is None else {
            "scanned_at": scan["scanned_at"],
            "totals": {k: v for k, v in json.loads(scan["totals"]).items() if v},
        },
        "last_run": None if run is None else {
            "id": run["id"], "sample": run["sample"], "status": _shown_status(run),
            "finished_at": run["finished_at"], "message": run["message"],
        },
    }


def gather_status(config: Config, store: Store) -> dict[str, Any]:
    events = {r["stage"]: r for r in store.last_stage_event_rows()}
    stages: dict[str, Any] = {}
    for name in STAGES:
        event = events.get(name)
        summary = None if event is None else json.loads(event["summary"])
        stages[name] = None if event is None else {
            "started_at": event["started_at"],
            "finished_at": event["finished_at"],
            "ok": bool(event["ok"]),
            "summary": summary,
            "summary_line": summary_line(summary),
        }
    return {
        "config": str(config.path),
        "store": str(store.path),
        "schema_version": store.schema_version,
        "releases": [_release_status(config, store, name) for name in config.releases],
        "stages": stages,
    }
