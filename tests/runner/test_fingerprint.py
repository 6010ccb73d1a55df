"""Fingerprints: the same failure, the same fingerprint, across runs, databases and checkouts."""

from __future__ import annotations

import pytest

from ouhub.runner.fingerprint import (
    Fingerprint,
    fingerprint_error,
    fingerprint_reason,
    normalise_message,
)
from ouhub.runner.logparse import parse_log, parse_paste


def log(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def openupgrade_70(db: str, root: str, column: str = "foo", stage: str = "post",
                   when: str = "2014-03-10 14:02") -> str:
    """OpenUpgrade 7.0 (openupgradelib's decorator) failing in sale's script, as in #1759."""
    script = f"{root}/addons/sale/migrations/7.0.1.1/{stage}-migration.py"
    marker = ">]" if stage == "post" else "]"
    version = f"[7.0.1.1{marker}" if stage == "post" else "[>7.0.1.1]"
    return log(
        f"{when}:22,000 5123 INFO {db} openerp.modules.migration: module sale: Running "
        f"migration {version} {stage}-migration",
        f"{when}:22,500 5123 ERROR {db} OpenUpgrade: sale: error in migration script {script}: "
        f'column "{column}" does not exist',
        f"LINE 1: SELECT {column} FROM sale_order WHERE id = 42",
        "",
        f'{when}:22,501 5123 ERROR {db} OpenUpgrade: column "{column}" does not exist',
        f"LINE 1: SELECT {column} FROM sale_order WHERE id = 42",
        "Traceback (most recent call last):",
        f'  File "{root}/openerp/openupgrade/openupgrade.py", line 480, in wrapped_function',
        "    func(cr, version)",
        f'  File "{script}", line 9, in migrate',
        f'    cr.execute("SELECT {column} FROM sale_order")',
        f'ProgrammingError: column "{column}" does not exist',
        f"LINE 1: SELECT {column} FROM sale_order WHERE id = 42",
        f"{when}:22,502 5123 ERROR {db} openerp: Failed to initialize database `{db}`.",
    )


def odoo_12(db: str, pid: int, table_id: int) -> str:
    return log(
        f"2019-05-02 10:01:02,401 {pid} INFO {db} odoo.modules.migration: module stock: Running "
        "migration [12.0.1.1>] post-migration",
        f"2019-05-02 10:01:02,500 {pid} ERROR {db} OpenUpgrade: stock: error in migration script "
        f"/srv/{db}/addons/stock/migrations/12.0.1.1/post-migration.py: boom",
        f"2019-05-02 10:01:02,501 {pid} ERROR {db} OpenUpgrade: boom",
        "Traceback (most recent call last):",
        f'  File "/srv/{db}/addons/stock/migrations/12.0.1.1/post-migration.py", line 4, in '
        "migrate",
        f"psycopg2.IntegrityError: insert or update on table \"stock_move\" violates foreign key "
        f"constraint \"stock_move_location_id_fkey\" DETAIL: Key (location_id)=({table_id}) is "
        f"not present in table \"stock_location\".",
    )


def fingerprint_of(text: str, module: str) -> Fingerprint:
    report = parse_log(text)
    dbnames = {r.dbname for r in report.records if r.dbname}
    return fingerprint_error(report.primary_error(module), dbnames)


def test_the_same_70_failure_in_two_runs_has_one_fingerprint():
    first = fingerprint_of(openupgrade_70("ouhub_run_1_demo61", "/data/mirrors/7.0"), "sale")
    second = fingerprint_of(openupgrade_70("prod_copy", "/home/me/ou-7.0",
                                           when="2015-01-22 08:11"), "sale")
    assert first == second
    assert first.key == second.key and len(first.key) == 16
    assert (first.module, first.stage, first.exception) == ("sale", "post", "ProgrammingError")
    assert first.message == 'column "" does not exist'


def test_the_same_12_failure_with_other_ids_and_pids_has_one_fingerprint():
    first = fingerprint_of(odoo_12("db12", 77, 42), "stock")
    second = fingerprint_of(odoo_12("other_db", 4242, 1337), "stock")
    assert first.key == second.key
    assert (first.stage, first.exception) == ("post", "IntegrityError")


@pytest.mark.parametrize("other", [
    openupgrade_70("db70", "/ou", column="bar").replace("sale", "purchase"),  # another module
    openupgrade_70("db70", "/ou", stage="pre"),  # another stage
    openupgrade_70("db70", "/ou").replace("ProgrammingError", "InternalError"),  # exception
    openupgrade_70("db70", "/ou").replace("does not exist", "is ambiguous"),  # message
])
def test_different_failures_have_different_fingerprints(other):
    module = "purchase" if "module purchase" in other else "sale"
    assert fingerprint_of(openupgrade_70("db70", "/ou"), "sale").key != \
        fingerprint_of(other, module).key


def test_a_pasted_excerpt_matches_the_full_log():
    """A user pastes the traceback's end only, indented: the same fingerprint as ouhub's run."""
    full = fingerprint_of(odoo_12("ouhub_run_7", 12, 5), "stock")
    excerpt = "\n".join("    " + line for line in odoo_12("customer", 99, 6).splitlines()[2:])
    report = parse_paste(excerpt)
    assert fingerprint_error(report.errors[0], {"customer"}).key == full.key


@pytest.mark.parametrize("raw, module, dbnames, expected", [
    ("Failed to initialize database `prod_2024`.", None, ["prod_2024"], "Failed to initialize "
     "database ``."),
    ("module sale: `migrate`'s signature should be `(cr, version)`, <function migrate at "
     "0x7fbc8a8b7c40> is (env, version)", "sale",
     [], "module sale: ``'s signature should be ``, <function migrate at 0x?> is (env, version)"),
    ("File /opt/ou/addons/sale/migrations/7.0.1.1/post-migration.py missing", "sale", [],
     "File sale/migrations/N/post-migration.py missing"),
    ("no such file /usr/lib/python3/dist-packages/openupgradelib/openupgrade.py", "sale", [],
     "no such file openupgrade.py"),
    ("duplicate key (id)=(42) in l10n_es at 2024-01-01 id 5f3e2a1b9c0d", None, [],
     "duplicate key (id)=(N) in l10n_es at N-N-N id <id>"),
    ("column odoo.x of db odoo", None, ["odoo"], "column odoo.x of db <db>"),
    ("first line\nsecond line", None, [], "first line"),
    ("", None, [], ""),
])
def test_normalise_message(raw, module, dbnames, expected):
    assert normalise_message(raw, module, dbnames) == expected


def test_an_error_without_a_traceback_uses_its_own_message():
    report = parse_log(log(
        "2015-01-22 14:23:23,431 3842 ERROR demo_migrated OpenUpgrade: product: error in "
        "migration script /var/tmp/openupgrade/8.0/addons/product/migrations/8.0.1.1/"
        "post-migration.py: TypeError('get() takes exactly 2 arguments (3 given)',)"))
    fingerprint = fingerprint_error(report.errors[0], {"demo_migrated"})
    assert fingerprint == Fingerprint("product", "post", "TypeError",
                                      "get() takes exactly N arguments (N given)")


def test_a_failure_without_a_log_error():
    fingerprint = fingerprint_reason("mrp", "mrp was left in state 'to upgrade'")
    assert fingerprint == Fingerprint("mrp", "load", "", "mrp was left in state ''")
    assert fingerprint.key != fingerprint_reason("mrp", "mrp: version did not rise").key
