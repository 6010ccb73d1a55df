"""Runner fixtures: a config on the test PostgreSQL, sample dumps made with sampledb.py."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from examples.demo.sampledb import SampleModule, create_sample_database, dump_database
from ouhub import config as config_mod
from ouhub.pgcluster import scratch_database
from ouhub.runner.pg import Databases
from ouhub.runner.spare import wait_for_spares
from ouhub.store import Store
from tests.coverage.trees import write_tree
from tests.support.config import make_config

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "standin" / "openerp_server.py"
STANDIN_COMMAND = (
    f"{sys.executable} {STANDIN} -d {{database}} --db_host {{db_host}} --db_port {{db_port}} "
    "-r {db_user} --addons-path {addons_path} --logfile {logfile} -u all --stop-after-init "
    "--release {release}"
)


def make_dumps(
    server: str, paths: dict[str, Path], release: str, modules: Sequence[SampleModule],
    partners: int = 20,
) -> dict[str, Path]:
    """Dumps {format: path} of one sample of ``release`` with ``modules``, made through a
    throwaway database."""
    with scratch_database(server, "ouhub_test_src") as source:
        create_sample_database(source, release, modules, partners=partners)
        return {fmt: dump_database(source, path, fmt=fmt) for fmt, path in paths.items()}


def make_dump(
    server: str, path: Path, release: str, modules: Sequence[SampleModule], fmt: str = "custom",
    partners: int = 20,
) -> Path:
    """A sample dump of ``release`` with ``modules``."""
    return make_dumps(server, {fmt: path}, release, modules, partners)[fmt]


def build_config(
    tmp_path: Path, server: str, samples: list[dict] | None = None,
    commands: dict[str, str] | None = None, timeout: float = 60, parallel: int = 1,
    url_70: str | None = None, vcs_70: str = "bzr", **runner: object,
) -> config_mod.Config:
    """The runner tests' project: 6.1 -> 7.0 in bzr (7.0 in ``vcs_70``), 8.0 in git, on the
    test PostgreSQL; ``runner`` adds [runner] keys (broker, log_limit...)."""
    return make_config(tmp_path, {
        "6.1": {"server": {"url": str(tmp_path / "b61"), "vcs": "bzr"}},
        "7.0": {"server": {"url": url_70 or str(tmp_path / "b70"), "vcs": vcs_70}},
        "8.0": {"openupgrade": {"url": str(tmp_path / "b80"), "vcs": "git"}},
    }, dsn=server, samples=samples or [],
        runner={"timeout": timeout, "parallel": parallel, "commands": commands or {},
                **runner})


@pytest.fixture
def runner_store(tmp_path: Path, pg_server: str) -> Iterator[Callable[[config_mod.Config], Store]]:
    """Opens the store of a config; at the end drops every database ouhub recorded there."""
    opened: list[tuple[Store, str]] = []

    def open_for(config: config_mod.Config) -> Store:
        store = Store.open(config.store_path)
        opened.append((store, config.dsn))
        return store

    yield open_for
    wait_for_spares()  # the spare a run makes in the background, before the drops
    for store, dsn in opened:
        for rec in store.live_databases():
            Databases(store, dsn).drop(rec.name)
        store.close()


def write_module(
    addons: Path, name: str, version: str, depends: Sequence[str] = (),
    scripts: dict[str, str] | None = None,
) -> Path:
    """A module folder with an __openerp__.py and migration scripts {"7.0.1.0/post-x.py": code}."""
    directory = addons / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__openerp__.py").write_text(
        repr({"name": name, "version": version, "depends": list(depends)}) + "\n")
    for relative, code in (scripts or {}).items():
        path = directory / "migrations" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    return directory


SAMPLE_61 = [SampleModule("base", "1.3"), SampleModule("sale", "1.0", depends=("base",)),
             SampleModule("stock", "1.1", depends=("base",))]
OK_SCRIPT = (
    "def migrate(cr, version):\n"
    "    cr.execute(\"UPDATE res_partner SET comment = 'migrated' WHERE id = 1\")\n"
)


def module_files(sale_script: str | None = OK_SCRIPT, *, release: str = "7.0",
                 stock: bool = True) -> dict[str, str]:
    """A branch's files holding the s61 sample's modules: base 1.3, sale 1.0 (``sale_script``
    its post-migration script into ``release``; none if None) and stock 1.1."""
    def manifest(name: str, version: str, depends: Sequence[str] = ()) -> str:
        return repr({"name": name, "version": version, "depends": list(depends)}) + "\n"

    files = {
        "openerp/addons/base/__openerp__.py": manifest("base", "1.3"),
        "openerp/addons/sale/__openerp__.py": manifest("sale", "1.0", ["base"]),
    }
    if sale_script is not None:
        files[f"openerp/addons/sale/migrations/{release}.1.0/post-migration.py"] = sale_script
    if stock:
        files["openerp/addons/stock/__openerp__.py"] = manifest("stock", "1.1", ["base"])
    return files


def addons_70(config: config_mod.Config, sale_script: str = OK_SCRIPT, stock: bool = True,
              release: str = "7.0") -> Path:
    """The 7.0 mirror with base, sale (a post-migration script) and stock."""
    root = config.mirror_path(config.release(release).branches[0])
    write_tree(root, module_files(sale_script, release=release, stock=stock))
    return root / "openerp" / "addons"


@pytest.fixture(scope="session")
def dump_61(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6.1 sample (base, sale, stock) as a pg_dump custom file, made once."""
    return make_dump(pg_server, tmp_path_factory.mktemp("dumps") / "s61.dump", "6.1", SAMPLE_61)
