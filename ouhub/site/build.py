"""`ouhub site build`: render the store into a static site (HTML, SVG, JSON), incrementally.

Three steps, as in coverage.py's html.py: gather every page's data from the store
into frozen records (``gather.py``, ``model.py``), render each page of the plan
(``pages.py``, ``api.py``) with a Jinja2 template that only loops and reads fields
(autoescape on, data never marked safe), and write only what changed
(``incremental.py``), from forked workers when the site is large.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ouhub import __version__
from ouhub.errors import SiteError
from ouhub.fsutil import write_atomic
from ouhub.memory import without_gc
from ouhub.site import model as m
from ouhub.site.api import API_SCHEMA_VERSION
from ouhub.site.gather import gather
from ouhub.site.incremental import (
    STATUS_FILE,
    STATUS_FORMAT,
    IncrementalBuild,
    data_hash,
    globals_hash,
    status_key,
)
from ouhub.site.pages import STATIC, TEMPLATES, Output, plan

PARALLEL_FROM = 500  # files from which the pages are rendered in one process per CPU


@dataclass(frozen=True)
class BuildReport:
    out: Path
    index: Path
    pages: int  # every file of the site
    written: int
    unchanged: int
    removed: int
    bytes_written: int
    bytes_total: int
    check_page: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out), "index": str(self.index), "pages": self.pages,
            "written": self.written, "unchanged": self.unchanged, "removed": self.removed,
            "bytes_written": self.bytes_written, "bytes_total": self.bytes_total,
            "check_page": self.check_page,
        }


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "svg"), default_for_string=True, default=True,
        ),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change during a build: no stat of each template at every render.
        auto_reload=False,
    )
    env.globals.update(word=m.word, look=m.look, date_text=m.date_text, share_text=m.share_text)
    snippets = env.get_template("snippets.html").module
    env.globals["status"] = functools.lru_cache(maxsize=64)(snippets.status)
    env.globals["when"] = functools.lru_cache(maxsize=16384)(snippets.when)
    env.globals["site_header"] = functools.lru_cache(maxsize=64)(snippets.site_header)
    env.globals["site_footer"] = functools.lru_cache(maxsize=64)(snippets.site_footer)
    # The macros' template is made after the globals it uses; a row is rendered once per build.
    macros = env.get_template("macros.html").module
    env.globals["run_row"] = functools.lru_cache(maxsize=8192)(macros.run_row)
    env.globals["counts"] = functools.lru_cache(maxsize=8192)(macros.counts)
    return env


def _globals_hash(config: Any) -> str:
    # The releases, not only the steps: branch names decide the evidence links, names the
    # check page's choices. The code that turns data into pages is hashed too: a new ouhub
    # renders everything anew.
    return globals_hash(
        (STATUS_FORMAT, __version__, API_SCHEMA_VERSION, config.site.title,
         config.site.code_browser, config.site.base_url, list(config.steps), config.releases,
         config.site.feeds),
        (TEMPLATES, STATIC), sorted(Path(__file__).parent.glob("*.py")),
    )


# -- writing ------------------------------------------------------------------------------------


# A page's outcome: (path, hash of its data, rewritten?, size in bytes).
Done = tuple[str, str, bool, int]

# Set just before forking the workers, which inherit it: the outputs' renderers are closures
# over the gathered data, never pickled.
_JOB: tuple[list[Output], dict[str, str], Path, int] | None = None


def _produce_share(share: int) -> list[Done]:
    """Hash, and render and write when changed, every ``workers``-th output from ``share``."""
    assert _JOB is not None
    outputs, previous, out, workers = _JOB
    done = []
    for output in outputs[share::workers]:
        digest = data_hash(output.key() if output.lazy_key else output.key)
        target = out / output.path
        if previous.get(output.path) == digest:
            try:
                found = os.stat(target)
            except FileNotFoundError:
                pass
            else:
                if stat.S_ISREG(found.st_mode):
                    done.append((output.path, digest, False, found.st_size))
                    continue
        content = output.render()
        write_atomic(target, content)
        done.append((output.path, digest, True, len(content)))
    return done


def _produce(outputs: list[Output], previous: dict[str, str], out: Path,
             workers: int) -> list[Done]:
    """Every output's outcome, from ``workers`` forked processes sharing them in turn (run
    pages, the bulk, come in a row: each worker takes every ``workers``-th)."""
    global _JOB
    _JOB = (outputs, previous, out, workers)
    try:
        if workers == 1:
            return _produce_share(0)
        # Fork: the workers inherit the gathered data and the compiled templates. Frozen out
        # of the garbage collector's sight first: its passes would touch, hence copy, every
        # page of the parent's memory in each worker.
        # concurrent.futures rather than multiprocessing.Pool: a worker that dies (killed,
        # out of memory) breaks the pool with an error instead of leaving map waiting forever
        # for its share, and its shutdown only sends each worker its end, never terminates
        # one in the middle of a queue operation.
        gc.freeze()
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) \
                    as pool:
                shares = list(pool.map(_produce_share, range(workers)))
        except BrokenProcessPool as exc:
            raise SiteError(
                f"a process writing the site in {out} died before finishing its pages",
                hint="the system log says why (the out-of-memory killer?); the next "
                     "`ouhub site build` writes what is missing",
            ) from exc
        finally:
            gc.unfreeze()
        return [one for share in shares for one in share]
    finally:
        _JOB = None


def build_site(config: Any, store: Any, out: Path | None = None,
               workers: int | None = None) -> BuildReport:
    """Render the store into ``out`` (default: ``[site] output``), rewriting only what changed.

    ``workers`` processes render and write the pages (default: one per CPU for a site of
    ``PARALLEL_FROM`` files or more, else 1); the files are the same whatever their number.
    """
    out = Path(out or config.site.output).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SiteError(f"cannot create the site directory {out}: {exc}",
                        hint="pass --out DIR or fix [site] output in the config") from exc
    status = IncrementalBuild(out, _globals_hash(config), status_key(config.data_dir))
    status.read()
    store_hash = data_hash(store.site_key())
    # Nothing in the store, the config or ouhub changed since the last build, and its files
    # are all there: the site is up to date without reading a page's data.
    found = status.up_to_date(store_hash)
    if found is not None:
        return BuildReport(
            out=out, index=out / "index.html", pages=found[0], written=0,
            unchanged=found[0], removed=0, bytes_written=0, bytes_total=found[1],
            check_page="check.html" in status.pages,
        )
    # Hundreds of thousands of records and page pieces, no cycle among them to collect: the
    # cyclic GC would only rescan them (~20% of a cold build's CPU, bench/site.py); the
    # forked workers inherit it paused.
    with without_gc():
        data = gather(config, store)
        outputs = plan(config, data, environment())
        if workers is None:
            workers = (os.cpu_count() or 1) if len(outputs) >= PARALLEL_FROM else 1
        try:
            done = _produce(outputs, status.pages, out, max(1, min(workers, len(outputs))))
            hashes: dict[str, str] = {}
            written = unchanged = bytes_written = bytes_total = 0
            for path, digest, wrote, size in done:
                hashes[path] = digest
                bytes_total += size
                if wrote:
                    written += 1
                    bytes_written += size
                else:
                    unchanged += 1
            removed = 0
            for stale in status.stale(hashes):
                path = (out / stale).resolve()
                if path.is_relative_to(out) and path.is_file():
                    path.unlink()
                    removed += 1
            status_bytes = status.status_bytes(hashes, store_hash)
            status_path = out / STATUS_FILE
            if not status_path.is_file() or status_path.read_bytes() != status_bytes:
                write_atomic(status_path, status_bytes)
        except OSError as exc:
            raise SiteError(
                f"cannot write the site in {out}: {exc}",
                hint="check the disk space and the permissions of the output directory",
            ) from exc
    return BuildReport(
        out=out, index=out / "index.html", pages=len(outputs), written=written,
        unchanged=unchanged, removed=removed, bytes_written=bytes_written,
        bytes_total=bytes_total, check_page=data.check_data is not None,
    )
