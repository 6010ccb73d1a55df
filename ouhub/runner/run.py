"""`ouhub run` and `ouhub migrate`: provide a copy, upgrade it, store the run, clean up.

A run reads only the config, the mirrors and its sample's template database; it
writes only its scratch database, its log files and its record (see DESIGN.md,
"Growing past one machine").
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.config import Config, Release, Sample
from ouhub.errors import ConfigError, Interrupted, OuhubError, RunnerError, SyncError
from ouhub.fsutil import pid_alive, process_gone
from ouhub.pgcluster import find_pg_program
from ouhub.records import RunModule, SampleTemplate, recorded_revision
from ouhub.runner.outcome import ModuleOutcome
from ouhub.runner.pg import (
    Databases,
    database_exists,
    hostname,
    module_rows,
    pg_env,
    same_server,
    server_params,
)
from ouhub.runner.proc import kill_marked, run_command
from ouhub.runner.spare import make_spare_later, provide_scratch
from ouhub.runner.upgrade import StepResult, command_for, detect_release, execute_step, run_dir
from ouhub.store import Store
from ouhub.vocab import ERROR, INTERRUPTED, PASSED

log = logging.getLogger(__name__)

SCRATCH_DIRS = "tmp"  # under the data dir: temporary files, cleaned when their process is gone


@dataclass(frozen=True)
class RunResult:
    """What `ouhub run` (or one step of `ouhub migrate`) did."""

    run_id: int
    kind: str
    previous: str
    release: str
    sample: str | None
    status: str
    message: str
    duration: float
    command_seconds: float | None
    database: str | None
    kept: bool
    log_path: str | None
    modules: tuple[ModuleOutcome, ...] = ()
    dump: str | None = None
    host: str = ""  # where it ran
    worker: str | None = None  # the worker that ran it; None: in-process

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "kind": self.kind, "previous": self.previous,
            "release": self.release, "sample": self.sample, "status": self.status,
            "message": self.message, "duration": round(self.duration, 3),
            "database": self.database, "kept": self.kept, "log": self.log_path,
            "dump": self.dump, "host": self.host, "worker": self.worker,
            "modules": [m.as_dict() for m in self.modules],
        }


def branch_revisions(config: Config, store: Store, release: str) -> dict[str, Any]:
    """Per branch of the release, ``"<revno> (<revid>)"`` as the last sync left it (none if never
    synced)."""
    revisions: dict[str, Any] = {}
    for branch in config.release(release).branches:
        state = store.sync_state(release, branch.name)
        if state is not None and state.revid:
            # one readable string per branch: the site and the JSON show it as is
            revisions[branch.name] = recorded_revision(state.revno, state.revid)
    return revisions


def synced_revids(config: Config, store: Store, release: str) -> dict[str, str]:
    """Per branch of the release, the revision id the last sync left (none if never synced)."""
    revids: dict[str, str] = {}
    for branch in config.release(release).branches:
        state = store.sync_state(release, branch.name)
        if state is not None and state.revid:
            revids[branch.name] = state.revid
    return revids


def trees_at(config: Config, release: str, wanted: Mapping[str, str]) -> dict[str, str]:
    """Each branch's tree (its ``{mirror_<branch>}``) brought to its revision in ``wanted``, a
    branch not named there left where it is; returns the revision each tree is at, as a run
    records it. A run records these, not the sync state: a worker sharing this data dir may
    have left a tree at its task's older revision. A branch with no tree is not recorded."""
    from ouhub.sync.stage import tree_at, tree_revision

    placed: dict[str, str] = {}
    for branch in config.release(release).branches:
        want = wanted.get(branch.name) or tree_revision(config, branch)
        if want is None:
            continue
        try:
            placed[branch.name] = recorded_revision(tree_at(config, branch, want), want)
        except SyncError as exc:
            raise RunnerError(exc.message, hint=exc.hint) from exc
    return placed


def run_modules(outcomes: Iterable[ModuleOutcome]) -> list[RunModule]:
    """The modules' outcomes as the store keeps them."""
    return [RunModule(m.module, m.outcome, m.version_before, m.version_after, m.scripts,
                      m.excerpt, fingerprint=m.fingerprint) for m in outcomes]


def _store_step(store: Store, run_id: int, step: StepResult, started: float) -> None:
    store.finish_run(
        run_id, status=step.outcome.status, duration=time.monotonic() - started,
        exit_code=step.exit_code, message=step.outcome.message, log_path=str(step.log_path),
        modules=run_modules(step.outcome.modules),
    )


def _fail_run(store: Store, run_id: int, started: float, message: str) -> None:
    store.finish_run(run_id, status=ERROR, duration=time.monotonic() - started, exit_code=None,
                     message=message)


def _interrupt_run(store: Store, run_id: int, started: float, exc: Interrupted) -> None:
    store.finish_run(run_id, status=INTERRUPTED, duration=time.monotonic() - started,
                     exit_code=None, message=f"interrupted by {exc.signal_name}: the upgrade's "
                     "process group was killed")


def _copy_filestore(source: str | None, directory: Path, database: str) -> None:
    """The filestore beside the run, where an Odoo `--data-dir {data_dir}` looks for it."""
    if source and Path(source).is_dir():
        shutil.copytree(source, directory / "filestore" / database)


def check_step(config: Config, release: str, sample_name: str) -> tuple[Release, Sample]:
    """The release and the sample of a run, when the sample is of the step's previous release."""
    rel = config.release(release)
    sample = config.sample(sample_name)
    if rel.previous is None:
        raise ConfigError(f"release {release} has no previous release: there is no step into it",
                          hint="name a release with `previous` in the config")
    if rel.previous != sample.release:
        raise ConfigError(
            f"sample {sample.name} is a {sample.release} database; the step into {release} "
            f"starts from {rel.previous}",
            hint="run a sample of the previous release, or use `ouhub migrate` for a chain",
        )
    command_for(config, release)
    return rel, sample


@dataclass(frozen=True)
class CopyUpgrade:
    """One upgrade of a clone of a sample's template: the step's result, or why there is none."""

    scratch: str | None
    step: StepResult | None  # None: an error stopped the run before an outcome
    error: str = ""
    dumped: str | None = None


def upgrade_copy(
    config: Config, store: Store, template: SampleTemplate, rel: Release, run_id: int,
    directory: Path, *, keep: bool = False, dump_to: str | Path | None = None,
    on_scratch: Callable[[str], None] = lambda _name: None,
) -> CopyUpgrade:
    """Clone the template into a scratch database, upgrade it over the step, drop it unless kept.

    The one way a sample run happens, in `ouhub run` as in a worker: ``on_scratch``
    hears the scratch database's name before it is created. The scratch database is the
    template's spare clone, renamed, when there is one; the next spare is made after. ``dump_to`` saves the
    upgraded copy, only when the run passed.
    """
    dbs = Databases(store, config.dsn)
    dbs.record(template.dbname)
    directory.mkdir(parents=True, exist_ok=True)
    scratch: str | None = None
    try:
        scratch = dbs.new_name("run", str(run_id))
        on_scratch(scratch)
        provide_scratch(dbs, template, scratch, run_id=run_id, keep=keep)
        _copy_filestore(template.filestore, directory, scratch)
        step = execute_step(config, dbs, scratch, rel.previous or "", rel.name, directory)
        dumped = None
        if dump_to and step.status == PASSED:
            dumped = str(dump_database(config, scratch, Path(dump_to)))
        return CopyUpgrade(scratch, step, dumped=dumped)
    except OuhubError as exc:
        return CopyUpgrade(scratch, None, error=exc.message)
    finally:
        if scratch and not keep:
            rec = store.database_record(scratch)
            if rec is not None and rec.dropped_at is None:
                dbs.drop(scratch)
        if scratch:
            make_spare_later(config, template.sample)  # for the next run; this one does not wait


def sample_template(config: Config, store: Store, sample: Sample) -> SampleTemplate:
    """The sample's imported template database; an error if it was never imported."""
    template = store.sample_template(sample.name)
    if template is None or not database_exists(config.dsn, template.dbname):
        raise RunnerError(f"sample {sample.name} has no template database yet",
                          hint=f"run `ouhub samples import {sample.name}` first")
    return template


def run_sample(
    config: Config, store: Store, release: str, sample_name: str, keep: bool = False,
    dump_to: str | Path | None = None,
) -> RunResult:
    """Upgrade a clone of the sample's template over the step into ``release``."""
    rel, sample = check_step(config, release, sample_name)
    template = sample_template(config, store, sample)
    revisions = trees_at(config, release, synced_revids(config, store, release))
    started = time.monotonic()
    run_id = store.start_run(
        kind="run", release=release, previous=rel.previous, sample=sample.name,
        revisions=revisions, host=hostname(), pid=os.getpid(),
    )
    directory = run_dir(config, run_id)
    log_path = directory / "upgrade.log"
    try:
        done = upgrade_copy(
            config, store, template, rel, run_id, directory, keep=keep, dump_to=dump_to,
            on_scratch=lambda name: store.update_run(run_id, scratch_db=name,
                                                     log_path=str(log_path)))
    except Interrupted as exc:
        _interrupt_run(store, run_id, started, exc)
        raise
    except BaseException as exc:
        _fail_run(store, run_id, started, f"interrupted: {exc!r}")
        raise
    if done.step is None:
        _fail_run(store, run_id, started, done.error)
        return RunResult(run_id, "run", rel.previous or "", release, sample.name, ERROR,
                         done.error, time.monotonic() - started, None, done.scratch, keep,
                         str(log_path), host=hostname())
    step = done.step
    _store_step(store, run_id, step, started)
    message = step.outcome.message
    if dump_to and not done.dumped:
        # a half-upgraded database is no input for the next step; --keep is for a look
        message += "; not dumped: the run did not pass (--keep keeps its database)"
    return RunResult(
        run_id=run_id, kind="run", previous=rel.previous or "", release=release,
        sample=sample.name, status=step.status, message=message,
        duration=time.monotonic() - started, command_seconds=step.command_seconds,
        database=done.scratch, kept=keep, log_path=str(step.log_path),
        modules=step.outcome.modules, dump=done.dumped, host=hostname(),
    )


def store_not_run(store: Store, release: str, previous: str, sample: str, message: str
             ) -> RunResult:
    """A run that could not start is still stored, as an `error` with the reason."""
    run_id = store.start_run(kind="run", release=release, previous=previous, sample=sample)
    store.finish_run(run_id, status=ERROR, duration=0.0, exit_code=None, message=message)
    return RunResult(run_id=run_id, kind="run", previous=previous, release=release, sample=sample,
                     status=ERROR, message=message, duration=0.0, command_seconds=None,
                     database=None, kept=False, log_path=None, host=hostname())


def dump_database(config: Config, database: str, path: Path) -> Path:
    """pg_dump -Fc of an ouhub database (the input of a next step, or the user's result)."""
    program = find_pg_program("pg_dump")
    if not program:
        raise RunnerError("pg_dump is not installed", hint="install postgresql-client")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = run_command([program, "-Fc", "--no-owner", "-f", str(path), "-d", database],
                         env=pg_env(config.dsn), secrets=[server_params(config.dsn)["password"]],
                         what="dump")
    if result.returncode != 0:
        raise RunnerError(f"pg_dump of {database} to {path} failed: {result.output.strip()}",
                          hint="check the disk space and the path")
    return path


# -- migrate: the user's chain --------------------------------------------------------------------


@dataclass(frozen=True)
class MigrateResult:
    source: str
    source_release: str
    target: str
    status: str
    message: str
    database: str | None  # where the (last) upgraded copy is
    steps: tuple[RunResult, ...] = field(default_factory=tuple)
    chain: tuple[tuple[str, str], ...] = ()  # the steps (previous, release) planned

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "source_release": self.source_release,
            "target": self.target, "status": self.status, "message": self.message,
            "database": self.database, "chain": [list(s) for s in self.chain],
            "steps": [s.as_dict() for s in self.steps],
        }


def migrate_database(
    config: Config, store: Store, source: str, target: str, source_dsn: str | None = None,
    keep_steps: bool = False, say: Callable[[str], None] = log.info,
) -> MigrateResult:
    """Copy ``source`` and upgrade the copy step by step to ``target``; SRC is only read.

    ``say`` gets the plan and one line before and after each step (the CLI shows them
    on stderr while the chain runs, which takes hours on a real database).
    """
    source_dsn = source_dsn or config.dsn
    dbs = Databases(store, config.dsn)
    rec = store.database_record(source)
    if rec is not None and rec.dropped_at is None and rec.kind == "restore":
        raise RunnerError(f"{source} is a half-built sample restore, not a database to migrate")
    source_release = detect_release(config, module_rows(source_dsn, source))
    chain = tuple(config.chain(source_release, target))
    if not chain:
        raise RunnerError(f"database {source} is already at release {target}",
                          hint="name a later release with --to")
    for _, release in chain:
        command_for(config, release)
    trees = {release: trees_at(config, release, synced_revids(config, store, release))
             for _, release in chain}
    say(f"migrate {source}: {' -> '.join([source_release, *(r for _, r in chain)])} "
        f"({len(chain)} step{'s' if len(chain) > 1 else ''})")
    copy = dbs.new_name("mig", source)
    say(f"copying {source} into {copy}")
    _copy_source(config, dbs, store, source, source_dsn, copy)
    chain_id: int | None = None
    results: list[RunResult] = []
    current = copy
    for index, (previous, release) in enumerate(chain):
        started = time.monotonic()
        run_id = store.start_run(kind="migrate", release=release, previous=previous,
                                 source_db=source, chain_id=chain_id, host=hostname(),
                                 pid=os.getpid(), revisions=trees[release])
        if chain_id is None:
            chain_id = run_id
            store.update_run(run_id, chain_id=chain_id)
        directory = run_dir(config, run_id)
        store.update_run(run_id, scratch_db=current, log_path=str(directory / "upgrade.log"))
        say(f"step {index + 1}/{len(chain)}: {previous} -> {release} on {current} "
            f"(log: {directory / 'upgrade.log'})")
        try:
            step = execute_step(config, dbs, current, previous, release, directory)
        except Interrupted as exc:
            _interrupt_run(store, run_id, started, exc)
            raise
        except OuhubError as exc:
            _fail_run(store, run_id, started, exc.message)
            results.append(RunResult(run_id, "migrate", previous, release, None, ERROR,
                                     exc.message, time.monotonic() - started, None, current,
                                     True, str(directory / "upgrade.log")))
            say(f"step {index + 1}/{len(chain)}: {previous} -> {release} error: {exc.message}")
            break
        _store_step(store, run_id, step, started)
        results.append(RunResult(
            run_id, "migrate", previous, release, None, step.status, step.outcome.message,
            time.monotonic() - started, step.command_seconds, current, True,
            str(step.log_path), step.outcome.modules,
        ))
        say(f"step {index + 1}/{len(chain)}: {previous} -> {release} {step.status} in "
            f"{step.command_seconds:.0f}s")
        if step.status != PASSED:
            break
        if keep_steps and index + 1 < len(chain):
            following = dbs.new_name("mig", f"{source}_{release}")
            dbs.create(following, "copy", template=current)
            store.set_database_keep(following, True)
            current = following
    last = results[-1]
    if last.status == PASSED and len(results) == len(chain):
        status = PASSED
        message = (f"{source} upgraded from {source_release} to {target} in {len(chain)} "
                   f"step(s); the upgraded copy is database {current}")
    else:
        status = last.status
        message = (f"step {last.previous} -> {last.release} {last.status}: {last.message}; "
                   f"the copy is left in database {current} (log: {last.log_path})")
    return MigrateResult(source, source_release, target, status, message, current,
                         tuple(results), chain)


def _copy_source(
    config: Config, dbs: Databases, store: Store, source: str, source_dsn: str, copy: str
) -> None:
    """CREATE DATABASE ... TEMPLATE on the same server when nobody is connected, else dump/restore.

    The copy is recorded ``keep`` only once it is complete: a copy left by a killed
    ouhub is a leftover that the next run drops.
    """
    if same_server(source_dsn, config.dsn):
        try:
            dbs.create(copy, "copy", template=source)
            store.set_database_keep(copy, True)
            return
        except RunnerError as exc:
            log.warning("cannot clone %s directly (%s); copying with pg_dump | pg_restore",
                        source, exc.message)
    dbs.create(copy, "copy")
    pg_dump, pg_restore = find_pg_program("pg_dump"), find_pg_program("pg_restore")
    if not pg_dump or not pg_restore:
        raise RunnerError("pg_dump/pg_restore are not installed", hint="install postgresql-client")
    secrets = [server_params(source_dsn)["password"], server_params(config.dsn)["password"]]
    try:
        with scratch_dir(config) as tmp:
            dump = tmp / "source.dump"
            src_env = pg_env(source_dsn)
            done = run_command([pg_dump, "-Fc", "--no-owner", "-f", str(dump), "-d", source],
                               env=src_env, secrets=secrets, what="copy (dump)")
            if done.returncode != 0:
                raise RunnerError(f"pg_dump of {source} failed: {done.output.strip()[-500:]}",
                                  hint="check --dsn and that the user may read the database")
            done = run_command([pg_restore, "--exit-on-error", "--no-owner", "--no-privileges",
                                "-d", copy, str(dump)], env=pg_env(config.dsn), secrets=secrets,
                               what="copy (restore)")
            if done.returncode != 0:
                raise RunnerError(f"pg_restore into {copy} failed: {done.output.strip()[-500:]}")
    except BaseException:
        dbs.drop(copy)
        raise
    store.set_database_keep(copy, True)


@contextmanager
def scratch_dir(config: Config) -> Iterator[Path]:
    """A folder for temporary files (a dump of the user's database) under ``<data>/tmp``, named
    by host and pid so that ``clean_leftovers`` removes it when the process is gone."""
    root = config.data_dir / SCRATCH_DIRS
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{hostname()}-{os.getpid()}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _clean_scratch_dirs(config: Config, here: str) -> None:
    root = config.data_dir / SCRATCH_DIRS
    for path in root.glob(f"{glob.escape(here)}-*-*") if root.is_dir() else ():
        host, pid, _ = path.name.rsplit("-", 2)
        if host == here and pid.isdigit() and not pid_alive(int(pid)):
            log.info("removing %s, left by process %s", path, pid)
            shutil.rmtree(path, ignore_errors=True)


# -- leftovers of crashed runs --------------------------------------------------------------------


def clean_leftovers(config: Config, store: Store) -> list[str]:
    """Drop the databases ouhub created for runs that are no longer active on this host.

    A crashed ouhub leaves its run `running` and its scratch (or half-restored)
    database, or a temporary dump in ``<data>/tmp``, behind; the process that owned them is
    gone. Kept databases (--keep,
    migrate copies) and templates stay; records from other hosts are not judged here.
    An upgrade whose ouhub died (a worker killed mid-run) runs on in its own process
    group: it is killed first, found by the marker in its environment.
    """
    here = hostname()
    dbs = Databases(store, config.dsn)
    dropped = []
    _clean_scratch_dirs(config, here)
    for proc in store.live_upgrade_processes(here):
        if pid_alive(proc.owner_pid):
            continue
        killed = kill_marked(proc.marker, proc.pgid)
        if killed:
            log.warning("killed the upgrade of %s left running by dead process %s: pids %s",
                        proc.database, proc.owner_pid, ", ".join(map(str, killed)))
        store.end_upgrade_process(proc.marker)
    for run in store.active_runs():
        if process_gone(run.host, run.pid):
            store.finish_run(run.id, status=INTERRUPTED, duration=0.0, exit_code=None,
                             message="interrupted: the ouhub process running it is gone")
    for rec in store.live_databases():
        if rec.kind == "template" or rec.keep:
            continue
        if rec.host != here or pid_alive(rec.pid):
            continue
        dbs.drop(rec.name)  # or only marked dropped, when it is gone already
        dropped.append(rec.name)
    return dropped

