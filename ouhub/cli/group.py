"""The `ouhub` click group: the Context every command gets, the one error boundary, the
crash log, and the option decorators the commands share.

Exit codes: 0 success; 1 the work ran and something failed (a branch, a run, the store);
2 bad config or usage; 128 + the signal for SIGTERM/SIGINT; 141 (SIGPIPE's) when the
reader of stdout went away; `check`: 3 for every error
(see `ouhub check --help`).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ouhub import __version__, output
from ouhub.errors import Interrupted, OuhubError

if TYPE_CHECKING:
    from ouhub.config import Config
    from ouhub.store import Store
    from ouhub.store.keys import ReadQueries


class Context:
    """What every command gets: the config and the store, loaded on first use.

    They are imported here too, not by `import ouhub.cli`: `ouhub --help` reads neither,
    and the config (tomllib, its frozen dataclasses) and the store are most of ouhub's
    own start-up (bench/startup.py)."""

    def __init__(self, config_path: str | None, verbose: int, quiet: bool):
        self._given_config = config_path
        self.verbose = verbose
        self.quiet = quiet
        self._config: Config | None = None
        self._store: Store | None = None
        self._reader: ReadQueries | None = None

    @property
    def config_path(self) -> Path:
        """--config, else $OUHUB_CONFIG, else ./ouhub.toml."""
        from ouhub.config import find_config

        return find_config(self._given_config)

    @property
    def config(self) -> Config:
        if self._config is None:
            from ouhub.config import load

            self._config = load(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            from ouhub.store import Store

            self._store = Store.open(self.config.store_path)
        return self._store

    @property
    def reader(self) -> ReadQueries:
        """The store's reads for check and the site alone: opening it creates none of the
        stages' records (~17 frozen dataclasses, a third of a check's start-up)."""
        if self._reader is None:
            from ouhub.store.keys import ReadQueries

            self._reader = ReadQueries.open(self.config.store_path)
        return self._reader

    def close(self) -> None:
        for opened in (self._reader, self._store):
            if opened is not None:
                opened.close()


# Each command's module in ouhub/cli/, imported when the command is asked for: `ouhub check`
# defines its own command alone, `ouhub --help` all of them (tests/test_cli.py checks this
# table against what the modules define).
COMMAND_MODULES = {
    "check": "check", "config": "config", "status": "config", "contributions": "contributions",
    "coverage": "coverage", "explain": "explain", "nightly": "nightly", "samples": "runner",
    "run": "runner", "worker": "runner", "migrate": "runner", "site": "site", "sync": "sync",
    "discover": "sync", "upstream": "sync",
}


class OuhubGroup(click.Group):
    """The one error boundary: expected errors print a message and a hint; bugs leave a log.

    A command may set ``error_exit_code`` (check: 3) for every error it ends with.

    Commands are defined when asked for (``COMMAND_MODULES``, click's lazily loaded
    subcommands): defining all of them cost a quarter of the interpreter's start.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # an unknown name: every command, for click's "did you mean"
            for module in ([COMMAND_MODULES[cmd_name]] if cmd_name in COMMAND_MODULES
                           else sorted(set(COMMAND_MODULES.values()))):
                importlib.import_module(f"ouhub.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        _interrupt_on_signals()
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader gone away (`| head`) shows here, not at exit
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Interrupted as exc:
            import signal

            click.echo(f"interrupted ({exc.signal_name})", err=True)
            ctx.exit(128 + signal.Signals[exc.signal_name])
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
                # nobody reads our output any more (`| head`): stop quietly, with the code
                # of a program killed by SIGPIPE; another pipe's error is a bug like any
                import signal

                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                ctx.exit(128 + signal.SIGPIPE)
            error = _expected(exc, ctx)
            if error is None:
                where = _write_crash_log(ctx)
                error = OuhubError(f"ouhub hit a bug; the traceback is in {where}",
                                   hint="please report it with that file attached")
            # what reaches the terminal is data: a server's escape sequences stay inert
            click.echo(f"error: {output.terminal_safe(error.message)}", err=True)
            if error.hint:
                click.echo(f"  hint: {output.terminal_safe(error.hint)}", err=True)
            command = self.get_command(ctx, ctx.invoked_subcommand or "")
            ctx.exit(getattr(command, "error_exit_code", None) or error.exit_code)


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader closed it (poll says POLLERR)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # POLLERR is always reported
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _expected(exc: Exception, ctx: click.Context) -> OuhubError | None:
    """The error a user can act on (OuhubError; the store's file failing), else None: a bug."""
    if isinstance(exc, OuhubError):
        return exc
    sqlite3 = sys.modules.get("sqlite3")  # not imported: not its error (--help never opens it)
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        from ouhub.store.db import store_fault

        return store_fault(exc, _store_path(ctx))
    return None


def _state_dir() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "ouhub"


def _store_path(ctx: click.Context) -> Path | None:
    obj = ctx.find_object(Context)
    try:
        return obj.config.store_path if obj else None
    except OuhubError:
        return None


def _interrupt_on_signals() -> None:
    """SIGTERM (systemd's stop) and SIGINT raise Interrupted, so that what runs is stopped and
    cleaned up (an upgrade's process group killed, its scratch database dropped, its run
    marked interrupted) instead of ouhub dying on the spot. A second signal during that
    cleanup is ignored."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread
    import signal  # here: `ouhub --help` runs no command (its enums cost 3 M instructions)

    def handler(signum: int, frame: Any) -> None:
        for name in (signal.SIGTERM, signal.SIGINT):
            signal.signal(name, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    for name in (signal.SIGTERM, signal.SIGINT):
        signal.signal(name, handler)


def _write_crash_log(ctx: click.Context) -> Path:
    """The traceback into the data dir's crash log; with no config, the user's state folder
    ($XDG_STATE_HOME/ouhub): never the current directory."""
    import traceback

    obj = ctx.find_object(Context)
    try:
        base = obj.config.data_dir if obj else _state_dir()
    except OuhubError:
        base = _state_dir()
    path = base / "ouhub-crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(UTC).isoformat()} ouhub {' '.join(sys.argv[1:])}\n")
            fh.write(traceback.format_exc())
    except OSError:
        traceback.print_exc()
        return Path("<stderr>")
    return path


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def pass_ctx(func: Callable) -> Callable:
    """Give a command the ouhub Context as its first argument."""

    @click.pass_obj
    @functools.wraps(func)
    def wrapper(obj: Context, *args: Any, **kwargs: Any) -> Any:
        return func(obj, *args, **kwargs)

    return wrapper


@click.group(cls=OuhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", metavar="FILE",
    help="Config file (default: $OUHUB_CONFIG, else ./ouhub.toml).",
)
@click.option("-v", "--verbose", count=True, help="More diagnostics on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bars.")
@click.version_option(__version__, prog_name="ouhub")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """ouhub: mirrors, coverage, nightly upgrade runs and a status site for OpenUpgrade.

    Every stage reads what the previous one stored, so each also runs on its own:
    sync -> upstream -> contributions sync -> coverage scan -> samples import -> run
    -> site build, or all of them with `ouhub nightly`.

    \b
    Who uses what:
      all           config check, status
      maintainers   sync, upstream, upstream merge, discover
      contributors  coverage scan / show / diff, contributions sync / show
      users         check (a module list or a live database), migrate, explain (a log)
      the nightly   samples import, run, worker, nightly (all stages), site build

    \b
    Example:
      ouhub --config examples/openupgrade.toml config check
      ouhub status --json
    """
    output.setup_logging(verbose, quiet)
    ctx.obj = Context(config_path, verbose, quiet)
    ctx.call_on_close(ctx.obj.close)
