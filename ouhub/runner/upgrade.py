"""Run one release step's upgrade command on a database ouhub created, and judge it.

The command is the release's template from ``[runner.commands]``, split like a
shell line and then filled in token by token (so paths with spaces stay one
argument). It runs in its own process group with PG* set, its output and its
``--logfile`` land under ``<data>/runs/<run id>/``, and a timeout kills the
whole group. Then ``ir_module_module`` is read again and ``outcome.decide_run``
weighs the evidence. While it runs the store knows its process group and marker,
so that what an ouhub killed meanwhile leaves running is found and killed later
(``run.clean_leftovers``).
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ouhub.config import Config
from ouhub.coverage.manifest import ManifestError, parse_manifest
from ouhub.errors import ConfigError, OuhubError, RunnerError
from ouhub.fsutil import link_outside
from ouhub.redact import redact_argv
from ouhub.runner.outcome import RunOutcome, decide_run
from ouhub.runner.pg import Databases, IrModule, hostname, module_rows, pg_env, server_params
from ouhub.runner.proc import MARKER_ENV, kill_marked, marked_processes, run_command
from ouhub.runner.runlog import parse_step_logs, write_kept_log
from ouhub.versions import full_version, release_of_version, version_tuple
from ouhub.vocab import ERROR, MANIFEST_NAMES

log = logging.getLogger(__name__)

SCRIPT_PREFIXES = ("pre-", "post-", "end-")
# 6.1/7.0's MigrationManager runs only pre- and post- scripts; end- came later
NO_END_STAGE = ("6.0", "6.1", "7.0")


@dataclass(frozen=True)
class StepResult:
    """One step's result: its outcome plus where its evidence lives."""

    previous: str
    release: str
    database: str
    outcome: RunOutcome
    exit_code: int | None
    timed_out: bool
    command_seconds: float
    log_path: Path
    pid: int | None

    @property
    def status(self) -> str:
        return self.outcome.status


def run_dir(config: Config, run_id: int) -> Path:
    return config.data_dir / "runs" / str(run_id)


# -- addons path ----------------------------------------------------------------------------------


class MirrorReads:
    """What the runner reads of a release's mirrors goes through ``inside``: the coverage
    scan's rule (``fsutil.link_outside``), so a path resolving outside its branch's mirror is
    never followed, and each such link is kept in ``warnings`` by name (``<branch>/<path>``)."""

    def __init__(self, config: Config, release: str):
        self.roots = [(b.name, config.mirror_path(b)) for b in config.release(release).branches]
        self._real = {root: os.path.realpath(root) for _, root in self.roots}
        self.warnings: dict[str, str] = {}

    def inside(self, path: Path) -> bool:
        for name, root in self.roots:
            if path.is_relative_to(root):
                out = link_outside(path, self._real[root])
                if out is not None:
                    self.warnings.setdefault(f"{name}/{path.relative_to(root)}", out)
                return out is None
        return True  # a folder the config names outside the mirrors: the user's own choice

    def is_dir(self, path: Path) -> bool:
        return self.inside(path) and path.is_dir()

    def is_file(self, path: Path) -> bool:
        return self.inside(path) and path.is_file()


def _has_modules(reads: MirrorReads, directory: Path) -> bool:
    try:
        return any(
            reads.is_dir(child) and any(reads.is_file(child / m) for m in MANIFEST_NAMES)
            for child in directory.iterdir()
        )
    except OSError:
        return False


def detect_addons(reads: MirrorReads, root: Path) -> list[Path]:
    """Module folders inside a branch: the root, addons/, openerp/addons/, odoo/addons/."""
    candidates = [root / "openerp" / "addons", root / "odoo" / "addons", root / "addons", root]
    return [c for c in candidates if reads.is_dir(c) and _has_modules(reads, c)]


def addons_dirs(config: Config, release: str, reads: MirrorReads | None = None) -> list[Path]:
    reads = reads or MirrorReads(config, release)
    dirs: list[Path] = []
    for branch in config.release(release).branches:
        root = config.mirror_path(branch)
        found = [root / a for a in branch.addons if reads.inside(root / a)] if branch.addons \
            else detect_addons(reads, root)
        dirs.extend(d for d in found if d not in dirs)
    return dirs


def _manifest_version(reads: MirrorReads, module_dir: Path, release: str) -> str | None:
    """The module's version in this release (``7.0.1.1``), or None when unreadable."""
    for name in MANIFEST_NAMES:
        path = module_dir / name
        if reads.is_file(path):
            try:
                manifest = parse_manifest(path.read_bytes(), str(path))
            except (OSError, ManifestError):
                return None
            return full_version(manifest.version, release) if manifest.version else None
    return None


def modules_with_scripts(
    dirs: Iterable[Path], release: str, before: dict[str, IrModule], reads: MirrorReads,
) -> dict[str, list[str]]:
    """Per installed module, the migration scripts of OpenUpgrade's branches this step must run.

    The same window as OpenERP's MigrationManager: ``migrations/<version>/`` folders
    with installed < version <= the manifest's version (short forms prefixed with the
    release). These come from ouhub's mirrors, not from the server's addons path: a
    plain Odoo addons folder ahead of OpenUpgrade's on the server's path (OpenUpgrade
    #2446) upgrades modules without their scripts, and this is how that shows. A link out
    of a mirror is not followed (``reads``).
    """
    dirs = list(dirs)
    prefixes = tuple(p for p in SCRIPT_PREFIXES
                     if not (p == "end-" and release in NO_END_STAGE))
    found: dict[str, list[str]] = {}
    for name, row in before.items():
        module_dir = next((d / name for d in dirs if reads.is_dir(d / name)), None)
        if module_dir is None or not reads.is_dir(module_dir / "migrations"):
            continue  # the first addons folder holding the module wins, as in the server
        newest = _manifest_version(reads, module_dir, release)
        for version_dir in sorted(p for p in (module_dir / "migrations").iterdir()
                                  if reads.is_dir(p)):
            version = version_dir.name
            full = full_version(version, release)
            if newest is None:  # no readable manifest: any folder of this release counts
                if not (full == release or full.startswith(release + ".")):
                    continue
            elif version_tuple(full) > version_tuple(newest):
                continue
            if version_tuple(full) <= version_tuple(row.version):
                continue
            scripts = [f"{version}/{p.name}" for p in sorted(version_dir.iterdir())
                       if p.name.startswith(prefixes) and p.suffix.lower() == ".py"
                       and reads.inside(p)]
            found.setdefault(name, []).extend(scripts)
        if not found.get(name):
            found.pop(name, None)
    return found


# -- the command ----------------------------------------------------------------------------------


def command_values(
    config: Config, release: str, database: str, logfile: Path, data_dir: Path
) -> dict[str, str]:
    rel = config.release(release)
    params = server_params(config.dsn)
    values = {
        "database": database,
        "db_host": params["host"],
        "db_port": params["port"],
        "db_user": params["user"],
        "db_password": params["password"],
        "addons_path": ",".join(str(d) for d in addons_dirs(config, release)),
        "logfile": str(logfile),
        "data_dir": str(data_dir),
        "release": release,
        "previous": rel.previous or "",
    }
    for branch in rel.branches:
        values[f"mirror_{branch.name}"] = str(config.mirror_path(branch))
    return values


def build_argv(template: str, values: dict[str, str]) -> list[str]:
    """Split the template like a shell line, then fill each token's placeholders."""
    try:
        tokens = shlex.split(template)
    except ValueError as exc:
        raise RunnerError(f"the upgrade command {template!r} cannot be split: {exc}",
                          hint="check the quotes in [runner.commands]") from exc
    argv = []
    for tok in tokens:
        try:
            argv.append(tok.format_map(values))
        except KeyError as exc:
            raise RunnerError(
                f"the upgrade command uses the unknown placeholder {{{exc.args[0]}}}",
                hint="placeholders: " + ", ".join(f"{{{k}}}" for k in sorted(values)),
            ) from None
        except (ValueError, IndexError) as exc:
            raise RunnerError(f"the upgrade command token {tok!r} is malformed: {exc}",
                              hint="write a literal brace as {{ or }}") from None
    if not argv:
        raise RunnerError("the upgrade command is empty", hint="fill in [runner.commands]")
    return argv


def command_for(config: Config, release: str) -> str:
    command = config.runner.commands.get(release)
    if not command:
        raise ConfigError(
            f"no upgrade command for release {release}",
            hint=f'add [runner.commands] "{release}" = "... -d {{database}} -u all '
            '--stop-after-init ..." to the config',
        )
    return command


# -- one step -------------------------------------------------------------------------------------


def execute_step(
    config: Config, dbs: Databases, database: str, previous: str, release: str, directory: Path,
) -> StepResult:
    """Upgrade ``database`` (an ouhub copy) from ``previous`` to ``release`` and judge it."""
    dbs.check_upgradable(database)
    template = command_for(config, release)
    directory.mkdir(parents=True, exist_ok=True)
    server_log = directory / "server.log"
    log_path = directory / "upgrade.log"
    before = module_rows(config.dsn, database)
    reads = MirrorReads(config, release)
    expected = modules_with_scripts(addons_dirs(config, release, reads), release, before, reads)
    values = command_values(config, release, database, server_log, directory)
    argv = build_argv(template, values)
    password = values["db_password"]
    env = pg_env(config.dsn)
    env["PGDATABASE"] = database
    head = [f"# ouhub: upgrade {previous} -> {release} of database {database}\n",
            f"# command: {redact_argv(argv, [password])}\n# cwd: {directory}\n"]
    for name, warning in sorted(reads.warnings.items()):
        log.warning("%s: %s", name, warning)
        head.append(f"# ouhub: warning: {name}: {warning}\n")
    output_path = directory / "output.log"
    marker = secrets.token_hex(16)
    env[MARKER_ENV] = marker

    group: list[int] = []

    def started(pgid: int) -> None:
        group.append(pgid)
        dbs.store.record_upgrade_process(marker, host=hostname(), pgid=pgid,
                                         owner_pid=os.getpid(), database=database)

    try:
        result = run_command(argv, cwd=directory, env=env, log_file=output_path,
                             timeout=config.runner.timeout, secrets=[password], what="upgrade",
                             on_start=started)
    finally:
        # run_command killed the group; a child that left it (setsid, a daemon) but kept
        # the marker in its environment goes too (one that cleared it cannot be found)
        left = marked_processes(marker) if group else []
        if left:
            log.warning("killing what the upgrade left outside its process group: pids %s",
                        ", ".join(map(str, left)))
            kill_marked(marker, group[0])
        dbs.store.end_upgrade_process(marker)
    if result.timed_out:
        end = f"\n# ouhub: timed out after {config.runner.timeout:g}s; process group killed\n"
    else:
        end = f"\n# ouhub: exit code {result.returncode}\n"
    report = parse_step_logs(output_path, server_log, [password])
    write_kept_log(log_path, head, output_path, [end], server_log, [password],
                   config.runner.log_limit)
    try:
        after = module_rows(config.dsn, database)
    except OuhubError as exc:
        outcome = RunOutcome(ERROR, f"cannot read the database after the upgrade: {exc}", ())
    else:
        outcome = decide_run(before, after, report, result.returncode, result.timed_out,
                         with_scripts=set(expected))
    return StepResult(
        previous=previous, release=release, database=database, outcome=outcome,
        exit_code=result.returncode, timed_out=result.timed_out,
        command_seconds=result.duration, log_path=log_path, pid=result.pid,
    )


def detect_release(config: Config, rows: dict[str, IrModule]) -> str:
    """The release of a database, from base's latest_version (``7.0.1.3`` -> ``7.0``)."""
    base = rows.get("base")
    if base is None or not base.version:
        raise RunnerError("the database has no installed `base` module with a version",
                          hint="is it an OpenERP/Odoo database?")
    release = release_of_version(base.version) or base.version
    if release not in config.releases:
        raise RunnerError(
            f"the database is at release {release} (base {base.version}), which is not configured",
            hint="known releases: " + ", ".join(config.releases),
        )
    return release

