"""`ouhub status`: what the config names and what the store holds, as plain data."""

from __future__ import annotations

from typing import Any

from ouhub.config import Config
from ouhub.store import Store

STAGES = ("sync", "upstream", "coverage", "runner", "site", "nightly")


def summary_line(summary: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(summary.items()) if not isinstance(v, (dict, list)))


def gather_status(config: Config, store: Store) -> dict[str, Any]:
    events = store.last_stage_events()
    stages: dict[str, Any] = {}
    for name in STAGES:
        event = events.get(name)
        stages[name] = None if event is None else {
            "started_at": event.started_at,
            "finished_at": event.finished_at,
            "ok": event.ok,
            "summary": event.summary,
            "summary_line": summary_line(event.summary),
        }
    return {
        "config": str(config.path),
        "store": str(store.path),
        "schema_version": store.schema_version,
        "releases": [
            {"name": r.name, "previous": r.previous, "branches": [b.name for b in r.branches]}
            for r in config.releases.values()
        ],
        "stages": stages,
    }
