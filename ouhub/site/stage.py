"""The site stage's entry point: `ouhub site build`, which records the stage event; the
building itself is ``build.py``'s."""

from __future__ import annotations

from pathlib import Path

from ouhub.config import Config
from ouhub.site.build import BuildReport, build_site
from ouhub.store import Store


def run_site(config: Config, store: Store, out: Path | None = None) -> BuildReport:
    """Render the store into the site (``out``, default ``[site] output``)."""
    with store.stage_event("site") as event:
        report = build_site(config, store, out)
        event.finish(True, pages=report.pages, written=report.written,
                     unchanged=report.unchanged, bytes=report.bytes_total,
                     check_page=report.check_page)
    return report
