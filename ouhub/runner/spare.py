"""Spare clones: one copy of each sample's template made ahead, so a run takes its scratch
database with a rename instead of a clone.

A clone (CREATE DATABASE ... TEMPLATE) copies and fsyncs every file of the database,
~5,700 for a sample in Odoo's shape: 1-5 s on the run's critical path. The runner keeps
one *spare* clone per template instead, made after each run (in a background thread,
once the run's outcome is stored) and after `samples import`; a run renames it to its
scratch name (ALTER DATABASE ... RENAME: milliseconds) and clones the template itself
only when there is no spare.

Safety as everywhere in the runner (pg.py): a spare's name is recorded (kind ``spare``,
with the template it copies) before it is created, and recorded ``keep`` only once
complete, so a spare half-made by a killed ouhub is a leftover that ``clean_leftovers``
drops. A spare older than its template (the template was restored again) or of a
template no sample uses any more is dropped, never taken.

PostgreSQL 15 and later copy a database by FILE_COPY (a checkpoint, then a file copy)
or WAL_LOG (block by block through the WAL); which is faster depends on the database
and the disk. At import both are measured once on the new template, the faster is the
template's strategy from then on, and its clone stays as the first spare.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import psycopg2

from ouhub.config import Config
from ouhub.errors import OuhubError
from ouhub.fsutil import FileLock, LockHeld
from ouhub.records import SampleTemplate, ScratchDatabase
from ouhub.runner.pg import STRATEGIES, Databases, connect, database_exists, server_version
from ouhub.store import Store

log = logging.getLogger(__name__)

SPARE = "spare"


def usable(spare: ScratchDatabase, template: SampleTemplate) -> bool:
    """A complete spare of this very template, made after the template was."""
    return (spare.kind == SPARE and spare.keep and spare.dropped_at is None
            and spare.cloned_from == template.dbname and spare.created_at >= template.imported_at)


def stale(spare: ScratchDatabase, templates: dict[str, SampleTemplate]) -> bool:
    """A complete spare whose template is gone or was made again after it."""
    template = templates.get(spare.cloned_from or "")
    return spare.keep and (template is None or not usable(spare, template))


def provide_scratch(dbs: Databases, template: SampleTemplate, name: str, *,
                    run_id: int | None, keep: bool) -> str:
    """Create the run's scratch database ``name``: the template's spare renamed when there is
    one, else a clone by the template's strategy. Returns ``spare`` or ``clone``."""
    for spare in dbs.store.spare_databases():
        if usable(spare, template) and dbs.take(spare.name, name, "scratch", run_id=run_id,
                                                keep=keep):
            return "spare"
    dbs.create(name, "scratch", template=template.dbname, run_id=run_id, keep=keep,
               strategy=dbs.store.clone_strategy(template.dbname))
    return "clone"


def make_spare(config: Config, store: Store, template: SampleTemplate) -> str | None:
    """Make the template's spare unless it has one; drop the spares gone stale. Returns the
    new spare's name (None: there was one, or another process is making it)."""
    dbs = Databases(store, config.dsn)
    drop_stale(dbs, store)
    if any(usable(s, template) for s in store.spare_databases()):
        return None
    try:
        with FileLock(_lock_path(config, template), wait=False):
            if any(usable(s, template) for s in store.spare_databases()):
                return None
            return _clone(dbs, template, store.clone_strategy(template.dbname))[0]
    except LockHeld:
        return None


def choose_strategy(config: Config, store: Store, template: SampleTemplate) -> str | None:
    """Clone a template just restored once by each strategy, timed; keep the faster as the
    template's strategy and its clone as the spare, drop the other. Returns what was
    measured (``WAL_LOG 1.20 s, FILE_COPY 2.31 s``, the chosen first); None before
    PostgreSQL 15, where there is no choice (the spare is made all the same). Spares of
    an earlier template of the same name (restored again, same dump) are dropped first."""
    dbs = Databases(store, config.dsn)
    with FileLock(_lock_path(config, template), wait=True):
        drop_stale(dbs, store, remade=template.dbname)
        if server_version(config.dsn) < 150000:
            _clone(dbs, template, None)
            return None
        _checkpoint(config.dsn)
        made = {strategy: _clone(dbs, template, strategy) for strategy in STRATEGIES}
        seconds = {strategy: took for strategy, (_name, took) in made.items()}
        best = min(seconds, key=seconds.__getitem__)
        for strategy, (name, _took) in made.items():
            if strategy != best:
                dbs.drop(name)
        store.record_clone_strategy(template.dbname, best, seconds)
        measured = ", ".join(f"{s} {seconds[s]:.2f} s"
                             for s in sorted(seconds, key=lambda s: s != best))
        log.info("template %s: clones by %s", template.dbname, measured)
        return measured


def drop_stale(dbs: Databases, store: Store, remade: str | None = None) -> list[str]:
    """Drop the complete spares whose template is gone or newer than they are, and every
    complete spare of ``remade`` (a template just restored again)."""
    templates = {t.dbname: t for t in store.sample_templates()}
    dropped = []
    for spare in store.spare_databases():
        if stale(spare, templates) or (spare.keep and spare.cloned_from == remade):
            dbs.drop(spare.name)  # or only marked dropped, when it is gone already
            dropped.append(spare.name)
    return dropped


# -- after a run: the next spare, in the background -----------------------------------------------

_making: list[threading.Thread] = []
_making_lock = threading.Lock()


def make_spare_later(config: Config, sample: str) -> None:
    """Make the spare of ``sample``'s template in a thread with its own store connection:
    the run that just ended does not wait for it, and the process exits once it is made."""
    thread = threading.Thread(target=_make_spare_of, args=(config, sample),
                              name=f"ouhub-spare-{sample}")
    with _making_lock:
        _making[:] = [t for t in _making if t.is_alive()]
        _making.append(thread)
    thread.start()


def wait_for_spares() -> None:
    """Until the spares being made in the background are made (or failed)."""
    with _making_lock:
        threads = list(_making)
    for thread in threads:
        thread.join()


def _make_spare_of(config: Config, sample: str) -> None:
    try:
        with Store.open(config.store_path) as store:
            template = store.sample_template(sample)
            if template is not None and database_exists(config.dsn, template.dbname):
                make_spare(config, store, template)
    except (OuhubError, psycopg2.Error, OSError) as exc:
        # only the next run's start is slower: it clones the template itself
        log.warning("sample %s: no spare clone made: %s", sample,
                    getattr(exc, "message", None) or str(exc).strip())


def _clone(dbs: Databases, template: SampleTemplate, strategy: str | None) -> tuple[str, float]:
    """A complete spare of ``template`` made by ``strategy``: (its name, seconds taken)."""
    name = dbs.new_name(SPARE, template.sample)
    started = time.monotonic()
    dbs.create(name, SPARE, template=template.dbname, strategy=strategy)
    took = time.monotonic() - started
    dbs.store.set_database_keep(name, True)  # complete: no longer a leftover if we die
    log.info("made spare %s of %s in %.2fs", name, template.dbname, took)
    return name, took


def _checkpoint(dsn: str) -> None:
    """A checkpoint before timing, where the role may ask for one: FILE_COPY starts with a
    checkpoint, which right after a restore would flush the restore's writes and make
    FILE_COPY look slower than it will be in the runs."""
    try:
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("CHECKPOINT")
    except psycopg2.Error as exc:
        log.info("no checkpoint before timing the clones: %s", str(exc).strip())


def _lock_path(config: Config, template: SampleTemplate) -> Path:
    path = config.data_dir / "samples" / f"{template.dbname}.spare.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
