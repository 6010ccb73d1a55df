"""Stand-in for an OpenERP (6.1/7.0) or Odoo server running ``--update all --stop-after-init``.

The tests and the demo run it where a real OpenUpgrade server would run: it does
what OpenERP's native migration mechanism (``openerp/modules/loading.py`` and
``migration.py``) does to the database, against the real database, and logs what
the real server logs, in its format::

    %(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s

For each installed module, in dependency order: the ``pre-*.py`` scripts of the
``migrations/<version>/`` folders with installed < version <= new, the "load"
(``latest_version`` and ``state`` updated), the ``post-*.py`` scripts; after all
modules, the ``end-*.py`` scripts (not in 6.1/7.0, whose MigrationManager knows only
``pre`` and ``post``). Each script's ``migrate(cr, version)`` gets a real psycopg2
cursor; a module's work is one transaction, committed when it is done.

The log follows the era (``--log-format``): 6.1/7.0 say ``module X: loading objects``
for each module and announce each script twice (7.0's migration.py logs "Running
migration" both after loading the file and before calling it); later servers say
``Loading module X (n/m)`` at DEBUG only, so at the default ``--log-level info`` only the
scripts name the modules.

Failure modes come from the modules themselves: a script that raises (ERROR lines
as openupgradelib's ``@migrate`` decorator and the server write them, rollback of
that module, the update aborted, exit 0 like old servers; 255 in ``--log-format
odoo``, like ``sys.exit(-1)`` of newer ones), a script that sleeps (a hang), a
script that calls ``os._exit`` or kills itself (a crash), a module missing from
the addons path or not installable (left ``to upgrade`` with a WARNING).

Only the standard library and psycopg2: it must run without ouhub installed.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extensions

MANIFEST_NAMES = ("__manifest__.py", "__openerp__.py", "__terp__.py")
STAGE_FORMAT = {"pre": "[>%s]", "post": "[%s>]", "end": "[$%s]"}
LOG_FORMAT = "%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s"
# options of the real server that change nothing here: accepted so real command lines run
IGNORED_OPTIONS = ("-c", "--config", "-D", "--data-dir", "--load", "--workers",
                   "--max-cron-threads", "--xmlrpc-port", "--http-port", "--db-filter")
IGNORED_FLAGS = ("--without-demo", "--no-xmlrpc", "--no-http")


class _Context(logging.Filter):
    """Adds %(pid)s and %(dbname)s, as openerp.netsvc's formatter does."""

    dbname = "?"

    def filter(self, record: logging.LogRecord) -> bool:
        record.pid = os.getpid()
        record.dbname = self.dbname
        return True


CONTEXT = _Context()


class Names:
    """Logger names of the era: ``openerp.*`` (6.1/7.0) or ``odoo.*`` (10.0 and later)."""

    def __init__(self, flavour: str):
        self.flavour = flavour
        root = "odoo" if flavour == "odoo" else "openerp"
        self.server = logging.getLogger(root)
        self.init_failed = logging.getLogger("odoo.service.server" if flavour == "odoo" else root)
        self.loading = logging.getLogger(f"{root}.modules.loading")
        self.migration = logging.getLogger(f"{root}.modules.migration")
        self.graph = logging.getLogger(f"{root}.modules.graph")
        self.openupgrade = logging.getLogger("OpenUpgrade")  # openupgradelib's logger
        self.running = "Running upgrade" if flavour == "odoo" else "Running migration"

    def loading_module(self, name: str, index: int, count: int) -> None:
        if self.flavour == "odoo":
            self.loading.debug("Loading module %s (%d/%d)", name, index, count)
        else:
            self.loading.info("module %s: loading objects", name)


@dataclass
class Package:
    """A node of the module graph: the database row and the manifest found on disk."""

    id: int
    name: str
    state: str
    installed_version: str | None
    path: str | None = None
    manifest: dict = field(default_factory=dict)
    depth: int = 0
    load_state: str | None = None  # state and version before this run touched the module
    load_version: str | None = None

    @property
    def depends(self) -> list[str]:
        return list(self.manifest.get("depends", []))


class CountingCursor(psycopg2.extensions.cursor):
    queries = 0

    def execute(self, query, vars=None):  # noqa: A002 - psycopg2's own parameter name
        CountingCursor.queries += 1
        return super().execute(query, vars)


def parse_version(version: str) -> tuple:
    """Compare versions like ``openerp.tools.parse_version`` does for dotted numbers."""
    parts = []
    for piece in re.split(r"[.\-]", version or ""):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    while parts and parts[-1] == (0, 0, ""):
        parts.pop()
    return tuple(parts)


class Server:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.release = args.release
        self.names = Names(args.log_format)
        self.addons_paths = [p for p in (args.addons_path or "").split(",") if p.strip()]
        # 6.1/7.0's MigrationManager asserts stage in ('pre', 'post'): no end- scripts there
        self.stages_run_at_end = () if self.release in ("6.0", "6.1", "7.0") else ("end",)

    # -- versions, as openerp.modules.module.adapt_version and migration.convert_version
    def adapt_version(self, version: str) -> str:
        if version == self.release or version.startswith(self.release + "."):
            return version
        return f"{self.release}.{version}"

    def convert_version(self, version: str) -> str:
        if version.count(".") >= 2:
            return version  # the folder already names the server series
        return f"{self.release}.{version}"

    # -- modules on disk
    def find_module(self, name: str) -> tuple[str | None, dict | None]:
        for addons in self.addons_paths:
            directory = os.path.join(addons.strip(), name)
            for manifest_name in MANIFEST_NAMES:
                manifest_path = os.path.join(directory, manifest_name)
                if os.path.isfile(manifest_path):
                    with open(manifest_path, encoding="utf-8") as handle:
                        source = handle.read()
                    try:
                        manifest = ast.literal_eval(source)
                    except (ValueError, SyntaxError):
                        self.names.graph.warning(
                            "module %s: invalid manifest %s", name, manifest_path)
                        return directory, None
                    if not isinstance(manifest, dict):
                        return directory, None
                    manifest.setdefault("installable", True)
                    manifest.setdefault("version", "1.0")
                    manifest.setdefault("depends", [])
                    return directory, manifest
        return None, None

    # -- the update
    def run(self) -> int:
        server = self.names.server
        product = "Odoo" if self.names.flavour == "odoo" else "OpenERP"
        server.info("%s version %s", product, self.release)
        server.info("addons paths: %s", self.addons_paths)
        server.info("database hostname: %s", self.args.db_host or "localhost")
        server.info("database port: %s", self.args.db_port or 5432)
        server.info("database user: %s", self.args.db_user or os.environ.get("PGUSER", "openerp"))
        CONTEXT.dbname = self.args.database
        try:
            conn = psycopg2.connect(
                dbname=self.args.database, host=self.args.db_host, port=self.args.db_port,
                user=self.args.db_user, password=self.args.db_password,
                cursor_factory=CountingCursor,
            )
        except psycopg2.Error:
            return self.init_failed()
        try:
            self.load_modules(conn)
        except Exception:
            return self.init_failed()  # closing without commit rolls the module's work back
        finally:
            conn.close()
        if not self.args.stop_after_init:
            # a real server goes on serving: a command line without --stop-after-init hangs
            server.info("HTTP service (werkzeug) running on 0.0.0.0:8069")
            while True:
                time.sleep(3600)
        return 0

    def init_failed(self) -> int:
        if self.names.flavour == "odoo":
            self.names.init_failed.critical(
                "Failed to initialize database `%s`.", self.args.database, exc_info=True)
            return 255  # sys.exit(-1)
        self.names.init_failed.exception("Failed to initialize database `%s`.", self.args.database)
        return 0  # OpenERP 6.1/7.0 exit 0 after this

    def load_modules(self, conn) -> None:
        cr = conn.cursor()
        cr.execute("SELECT id, name, state, latest_version FROM ir_module_module"
                   " WHERE state IN ('installed', 'to upgrade', 'to remove', 'to install')"
                   " ORDER BY name")
        rows = {name: Package(id_, name, state, version) for id_, name, state, version
                in cr.fetchall()}
        if "base" not in rows:
            raise RuntimeError("module base is not installed in this database")
        to_update = self.modules_to_update(cr, rows)
        if to_update:
            cr.execute("UPDATE ir_module_module SET state = 'to upgrade'"
                       " WHERE name IN %s AND state = 'installed'", (tuple(sorted(to_update)),))
            for name in to_update:
                if rows[name].state == "installed":
                    rows[name].state = "to upgrade"
        graph = self.build_graph(rows)
        if "base" not in graph:
            self.names.loading.critical("module base cannot be loaded! (hint: verify addons-path)")
            raise RuntimeError("module base cannot be loaded! (hint: verify addons-path)")
        conn.commit()

        # STEP 1 loads base alone, then the other modules, as loading.load_modules does
        base = [graph["base"]]
        self.load_graph(conn, cr, base, len(base), offset=0)
        others = [p for p in graph.values() if p.name != "base"]
        if others:
            self.load_graph(conn, cr, others, len(graph), offset=1)
        for stage in self.stages_run_at_end:
            for package in graph.values():
                self.migrate(cr, package, stage)
        conn.commit()
        missing = sorted(set(rows) - set(graph))
        if missing and self.names.flavour == "odoo":
            self.names.loading.error(
                "Some modules are not loaded, some dependencies or manifest may be missing: %s",
                missing)
        self.names.loading.info("Modules loaded.")

    def modules_to_update(self, cr, rows: dict[str, Package]) -> set[str]:
        wanted = {m.strip() for m in (self.args.update or "").split(",") if m.strip()}
        if not wanted:
            return set()
        if "all" in wanted or "base" in wanted:
            return {n for n, p in rows.items() if p.state in ("installed", "to upgrade")}
        cr.execute("SELECT m.name, d.name FROM ir_module_module_dependency d"
                   " JOIN ir_module_module m ON m.id = d.module_id")
        dependents: dict[str, set[str]] = {}
        for module, dep in cr.fetchall():
            dependents.setdefault(dep, set()).add(module)
        result, todo = set(), [w for w in wanted if w in rows]
        while todo:  # button_upgrade also upgrades what depends on an upgraded module
            name = todo.pop()
            if name not in result:
                result.add(name)
                todo.extend(d for d in dependents.get(name, ()) if d in rows)
        return {n for n in result if rows[n].state in ("installed", "to upgrade")}

    def build_graph(self, rows: dict[str, Package]) -> dict[str, Package]:
        graph: dict[str, Package] = {}
        candidates: dict[str, Package] = {}
        for name, package in rows.items():
            path, manifest = self.find_module(name)
            if manifest is None or not manifest.get("installable"):
                self.names.graph.warning("module %s: not installable, skipped", name)
                continue
            package.path, package.manifest = path, manifest
            candidates[name] = package
        pending = dict(candidates)
        while pending:
            ready = [p for p in pending.values() if all(d in graph for d in p.depends)]
            if not ready:
                break
            for package in sorted(ready, key=lambda p: p.name):
                package.depth = 1 + max((graph[d].depth for d in package.depends), default=-1)
                graph[package.name] = package
                del pending[package.name]
        for name in sorted(pending):
            unmet = [d for d in pending[name].depends if d not in graph]
            log = self.names.graph.info if self.names.flavour == "odoo" else self.names.graph.error
            log("module %s: Unmet dependencies: %s", name, ", ".join(unmet))
        return dict(sorted(graph.items(), key=lambda item: (item[1].depth, item[0])))

    def load_graph(self, conn, cr, packages: list[Package], count: int, offset: int) -> None:
        loading = self.names.loading
        started, queries = time.time(), CountingCursor.queries
        loading.info("loading %d modules...", count)
        for index, package in enumerate(packages, offset + 1):
            self.names.loading_module(package.name, index, count)
            package.load_state = package.state
            package.load_version = package.installed_version
            if package.state in ("to upgrade", "to install"):
                self.migrate(cr, package, "pre")
                version = self.adapt_version(str(package.manifest["version"]))
                cr.execute("UPDATE ir_module_module SET state = 'installed', latest_version = %s"
                           " WHERE id = %s", (version, package.id))
                self.migrate(cr, package, "post")
                package.state = "installed"
            conn.commit()  # load_module_graph commits after each module
        loading.info("%s modules loaded in %.2fs, %s queries", count, time.time() - started,
                     CountingCursor.queries - queries)

    # -- migration.MigrationManager.migrate_module
    def migrate(self, cr, package: Package, stage: str) -> None:
        state = package.state if stage in ("pre", "post") else package.load_state
        if state != "to upgrade" or package.path is None:
            return
        folder = os.path.join(package.path, "migrations")
        if not os.path.isdir(folder):
            return
        installed = package.load_version or ""
        current = parse_version(self.convert_version(str(package.manifest["version"])))
        versions = sorted((v for v in os.listdir(folder) if os.path.isdir(os.path.join(folder, v))),
                          key=lambda v: parse_version(self.convert_version(v)))
        for version in versions:
            if not parse_version(installed) < parse_version(self.convert_version(version)) \
                    <= current:
                continue
            directory = os.path.join(folder, version)
            for filename in sorted(os.listdir(directory)):
                if not filename.startswith(stage + "-") or not filename.lower().endswith(".py"):
                    continue
                self.run_script(cr, package, stage, version, os.path.join(directory, filename))

    def run_script(self, cr, package: Package, stage: str, version: str, path: str) -> None:
        name = os.path.splitext(os.path.basename(path))[0]
        strfmt = {"addon": package.name, "stage": stage, "version": STAGE_FORMAT[stage] % version}
        try:
            spec = importlib.util.spec_from_file_location(
                f"migrations.{package.name}.{version}.{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except (ImportError, SyntaxError):
            self.names.migration.exception(
                "module %(addon)s: Unable to load %(stage)s-migration file %(file)s",
                dict(strfmt, file=path))
            raise
        announcements = 1 if self.names.flavour == "odoo" else 2  # 7.0 logs it twice
        for _ in range(announcements):
            self.names.migration.info("module %s: %s %s %s", package.name, self.names.running,
                                      strfmt["version"], name)
        migrate = getattr(module, "migrate", None)
        if migrate is None:
            self.names.migration.error(
                'module %(addon)s: Each %(stage)s-migration file must have a '
                '"migrate(cr, installed_version)" function', strfmt)
            return
        installed = package.load_version or ""
        self.names.openupgrade.info("%s: %s-migration script called with version %s",
                                    package.name, stage, installed)
        try:
            migrate(cr, installed)
        except Exception as exc:
            # what openupgradelib's @openupgrade.migrate() decorator logs before re-raising
            self.names.openupgrade.error("%s: error in migration script %s: %s",
                                         package.name, path, exc)
            self.names.openupgrade.exception(exc)
            if stage == "post" and self.names.flavour == "openerp":
                # OpenUpgrade 7.0's loading.py wraps the post stage and logs once more
                self.names.loading.error(
                    "Error executing post migration script for module %s: %s", package.name, exc)
            raise


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="openerp-server", description="Stand-in for openerp-server --update all")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--db_host")
    parser.add_argument("--db_port", type=int)
    parser.add_argument("-r", "--db_user")
    parser.add_argument("-w", "--db_password")
    parser.add_argument("--addons-path", default="")
    parser.add_argument("--logfile")
    parser.add_argument("-u", "--update", default="")
    parser.add_argument("--stop-after-init", action="store_true")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warn", "error", "critical"))
    parser.add_argument("--release", default="7.0", help="series of this server (stand-in only)")
    parser.add_argument("--log-format", choices=("openerp", "odoo"), default="openerp",
                        help="logger names openerp.* (6.1/7.0) or odoo.* (stand-in only)")
    for option in IGNORED_OPTIONS:
        parser.add_argument(option, dest=f"ignored{option.replace('-', '_')}")
    for flag in IGNORED_FLAGS:
        parser.add_argument(flag, action="store_true", dest=f"ignored{flag.replace('-', '_')}")
    args = parser.parse_args(argv)
    for path in args.addons_path.split(","):
        if path.strip() and not os.path.isdir(path.strip()):
            parser.error(f"option addons_path: invalid addons directory {path.strip()!r}")
    return args


def setup_logging(logfile: str | None, level: str = "info") -> None:
    handler: logging.Handler
    if logfile:
        handler = logging.FileHandler(logfile, encoding="utf-8")  # appends, like the server
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(CONTEXT)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level == "warn" else getattr(logging, level.upper()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.logfile, args.log_level)
    return Server(args).run()


if __name__ == "__main__":
    sys.exit(main())
