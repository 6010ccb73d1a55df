"""Build OpenERP-like sample databases and dump them (used by the demo, the tests and the bench).

The tables are the ones OpenERP 6.1/7.0 keep for modules (``ir_module_module``,
``ir_module_module_dependency``, ``ir_model_data``) with the columns an upgrade
reads, plus a ``res_partner`` table so the database holds data worth copying.
Versions are stored the way OpenERP stores them: ``<release>.<manifest version>``.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from ouhub.errors import RunnerError
from ouhub.pgcluster import find_pg_program

BASE_MANIFEST_VERSION = "1.3"
DUMP_FORMATS = ("custom", "plain", "gzip")


@dataclass(frozen=True)
class SampleModule:
    """A module as installed in a sample database; ``version`` is the manifest's (``1.1``)."""

    name: str
    version: str
    depends: tuple[str, ...] = ()
    state: str = "installed"


def stored_version(release: str, version: str) -> str:
    """The ``latest_version`` OpenERP stores for a manifest version (its ``adapt_version``)."""
    if version == release or version.startswith(release + "."):
        return version
    return f"{release}.{version}"


def base_version(release: str) -> str:
    """``latest_version`` of ``base`` in a database of ``release`` (e.g. ``7.0.1.3``)."""
    return stored_version(release, BASE_MANIFEST_VERSION)


_SCHEMA = """
CREATE TABLE ir_module_category (
    id serial PRIMARY KEY,
    name varchar(128) NOT NULL,
    parent_id integer REFERENCES ir_module_category(id) ON DELETE SET NULL,
    sequence integer,
    visible boolean DEFAULT true
);
CREATE TABLE ir_module_module (
    id serial PRIMARY KEY,
    create_uid integer,
    create_date timestamp without time zone DEFAULT (now() at time zone 'UTC'),
    write_date timestamp without time zone DEFAULT (now() at time zone 'UTC'),
    write_uid integer,
    name varchar(128) NOT NULL,
    state varchar(16),
    latest_version varchar(64),
    published_version varchar(64),
    shortdesc varchar(256),
    summary varchar(256),
    description text,
    author varchar(128),
    maintainer varchar(128),
    contributors text,
    website varchar(256),
    url varchar(128),
    license varchar(32),
    category_id integer REFERENCES ir_module_category(id) ON DELETE SET NULL,
    sequence integer DEFAULT 100,
    demo boolean DEFAULT false,
    web boolean DEFAULT false,
    application boolean DEFAULT false,
    auto_install boolean DEFAULT false,
    icon varchar(128),
    menus_by_module text,
    reports_by_module text,
    views_by_module text,
    certificate varchar(64),
    CONSTRAINT ir_module_module_name_uniq UNIQUE (name)
);
CREATE INDEX ir_module_module_state_index ON ir_module_module (state);
CREATE TABLE ir_module_module_dependency (
    id serial PRIMARY KEY,
    create_uid integer,
    create_date timestamp without time zone DEFAULT (now() at time zone 'UTC'),
    write_date timestamp without time zone,
    write_uid integer,
    name varchar(128),
    module_id integer REFERENCES ir_module_module(id) ON DELETE CASCADE
);
CREATE TABLE ir_model_data (
    id serial PRIMARY KEY,
    create_uid integer,
    create_date timestamp without time zone DEFAULT (now() at time zone 'UTC'),
    write_date timestamp without time zone,
    write_uid integer,
    noupdate boolean DEFAULT false,
    name varchar(128) NOT NULL,
    date_init timestamp without time zone,
    date_update timestamp without time zone,
    module varchar(64) NOT NULL,
    model varchar(64) NOT NULL,
    res_id integer,
    CONSTRAINT ir_model_data_module_name_uniq UNIQUE (module, name)
);
CREATE TABLE res_partner (
    id serial PRIMARY KEY,
    create_uid integer,
    create_date timestamp without time zone DEFAULT (now() at time zone 'UTC'),
    write_date timestamp without time zone,
    write_uid integer,
    name varchar(128) NOT NULL,
    display_name varchar,
    ref varchar(64),
    lang varchar(64),
    active boolean DEFAULT true,
    customer boolean DEFAULT true,
    supplier boolean DEFAULT false,
    is_company boolean DEFAULT false,
    email varchar(240),
    phone varchar(64),
    street varchar(128),
    zip varchar(24),
    city varchar(128),
    comment text
);
"""


def create_sample_database(
    dsn: str, release: str, modules: Sequence[SampleModule], partners: int = 50
) -> None:
    """Fill the EXISTING empty database at ``dsn`` with OpenERP's module tables and some data.

    A ``base`` module is added when ``modules`` lacks one: every OpenERP database has it,
    and its version tells a database's release.
    """
    names = [m.name for m in modules]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate module names in {names}")
    if "base" not in names:
        modules = [SampleModule("base", BASE_MANIFEST_VERSION), *modules]
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(_SCHEMA)
            cur.execute(
                "INSERT INTO ir_module_category (name, sequence) VALUES (%s, 1) RETURNING id",
                ("Hidden",),
            )
            (category_id,) = cur.fetchone()
            for module in modules:
                installed = module.state not in ("uninstalled", "uninstallable")
                cur.execute(
                    "INSERT INTO ir_module_module (name, state, latest_version, shortdesc,"
                    " author, website, license, category_id, demo, description)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, %s) RETURNING id",
                    (
                        module.name,
                        module.state,
                        stored_version(release, module.version) if installed else None,
                        module.name.replace("_", " ").title(),
                        "OpenERP SA",
                        "http://www.openerp.com",
                        "AGPL-3",
                        category_id,
                        f"The {module.name} module of a {release} sample database.",
                    ),
                )
                (module_id,) = cur.fetchone()
                for dep in module.depends:
                    cur.execute(
                        "INSERT INTO ir_module_module_dependency (name, module_id)"
                        " VALUES (%s, %s)",
                        (dep, module_id),
                    )
                cur.execute(
                    "INSERT INTO ir_model_data (name, module, model, res_id, noupdate,"
                    " date_init, date_update)"
                    " VALUES (%s, 'base', 'ir.module.module', %s, true, now(), now())",
                    (f"module_{module.name}", module_id),
                )
            if partners > 0:
                _insert_partners(cur, partners)
    finally:
        conn.close()


def _insert_partners(cur, count: int) -> None:
    # One set-based INSERT: the bench asks for hundreds of thousands of rows.
    cur.execute(
        """
        INSERT INTO res_partner (name, display_name, ref, lang, is_company, email, phone,
                                 street, zip, city, comment, create_uid, write_uid, write_date)
        SELECT 'Partner ' || i, 'Partner ' || i, 'P' || lpad(i::text, 7, '0'), 'en_US',
               i %% 10 = 0, 'partner' || i || '@example.org', '+32 2 555 ' || lpad(i::text, 5, '0'),
               (i %% 300) || ' Avenue des Arts', lpad((1000 + i %% 9000)::text, 4, '0'),
               (ARRAY['Brussels', 'Ghent', 'Liege', 'Namur', 'Antwerp'])[1 + i %% 5],
               'Customer since ' || (2005 + i %% 8) || '. ' || md5(i::text) || md5((i * 7)::text),
               1, 1, now() at time zone 'UTC'
        FROM generate_series(1, %s) AS i
        """,
        (count,),
    )
    cur.execute(
        "INSERT INTO ir_model_data (name, module, model, res_id, noupdate, date_init, date_update)"
        " SELECT 'main_partner', 'base', 'res.partner', min(id), true, now(), now()"
        " FROM res_partner"
    )


def dump_database(dsn: str, path: str | Path, fmt: str = "custom") -> Path:
    """Dump ``dsn`` with pg_dump: ``custom`` (-Fc), ``plain`` (.sql) or ``gzip`` (.sql.gz)."""
    if fmt not in DUMP_FORMATS:
        raise ValueError(f"unknown dump format {fmt!r}: expected one of {', '.join(DUMP_FORMATS)}")
    pg_dump = find_pg_program("pg_dump")
    if not pg_dump:
        raise RunnerError("pg_dump is not installed", hint="apt-get install postgresql-client")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    argv = [pg_dump, "--no-owner", "--no-privileges", f"--dbname={dsn}"]
    if fmt == "custom":
        _run(argv + ["-Fc", "-f", str(path)], path)
        return path
    if fmt == "plain":
        _run(argv + ["-Fp", "-f", str(path)], path)
        return path
    with subprocess.Popen(argv + ["-Fp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        with gzip.open(path, "wb") as out:
            shutil.copyfileobj(proc.stdout, out)
        stderr = proc.stderr.read()
    if proc.returncode != 0:
        path.unlink(missing_ok=True)
        raise RunnerError(f"pg_dump of {path.name} failed: {stderr.decode(errors='replace')}")
    return path


def _run(argv: list[str], path: Path) -> None:
    proc = subprocess.run(argv, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        path.unlink(missing_ok=True)
        raise RunnerError(f"pg_dump of {path.name} failed: {proc.stderr.strip()}")
