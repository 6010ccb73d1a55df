"""Small release trees in the real OpenUpgrade formats, written by the coverage tests."""

from __future__ import annotations

from pathlib import Path

ADDONS = "openerp/addons"


def manifest(name: str, version: str = "1.0", depends: tuple[str, ...] = ("base",)) -> str:
    return (
        "# -*- coding: utf-8 -*-\n"
        "##############################################################################\n"
        "#    OpenERP, Open Source Management Solution\n"
        "##############################################################################\n"
        "{\n"
        f"    'name': u'{name.title()}',\n"
        f"    'version': '{version}',\n"
        f"    'depends': {list(depends)!r},\n"
        "    'installable': True,\n"
        "    'active': False,\n"
        "}\n"
    )


def tree_61() -> dict[str, str | bytes]:
    """The previous release: the server's modules under openerp/addons/."""
    names = ("base", "account", "sale", "stock", "crm", "purchase", "old_mod", "renamed_old",
             "merged_old", "broken")
    return {f"{ADDONS}/{n}/__openerp__.py": manifest(n, "1.0", () if n == "base" else ("base",))
            for n in names}


ANALYSIS_ACCOUNT = """\
---Fields in module 'account'---
account      / account.account          / company_currency_id (many2one): NEW relation: res.currency
account      / account.invoice          / payment_term (many2one)       : type is now 'integer' ('many2one')
account      / account.move.line        / reconcile (boolean)          : DEL
---XML records in module 'account'---
NEW account.payment.term: account.account_payment_term_15days
DEL ir.ui.view: account.view_account_form_old
"""

ANALYSIS_BASE_WORK = """\
---Fields in module 'base'---
base         / res.partner              / is_company (boolean)          : NEW
# DONE: pre-migration sets is_company from the partner type
base         / res.users                / menu_tips (boolean)           : DEL
# NOTHING TO DO
---XML records in module 'base'---
NEW ir.ui.view: base.view_res_partner_filter
"""

DECLARED = """\
Modules coverage 6.1 -> 7.0
===========================

+----------------------------+----------------------+---------------------------+
|Module                      |Status                |Extra Information          |
+============================+======================+===========================+
|base                        |Done                  |                           |
+----------------------------+----------------------+---------------------------+
|sale                        |Nothing to do         |No DB layout changes.      |
+----------------------------+----------------------+---------------------------+
|stock                       |Partial               |                           |
+----------------------------+----------------------+---------------------------+
|crm                         |Done [#crm]_          |                           |
+----------------------------+----------------------+---------------------------+
||new| new_mod               |                      |                           |
+----------------------------+----------------------+---------------------------+
||del| old_mod               |                      |                           |
+----------------------------+----------------------+---------------------------+
|ghost_declared              |Done                  |                           |
+----------------------------+----------------------+---------------------------+
"""

APRIORI = """\
# -*- coding: utf-8 -*-
\"\"\"Encode any known changes to the database here\"\"\"

renamed_modules = {
    'renamed_old': 'renamed_new',
}

merged_modules = [
    ('merged_old', 'ghost_target'),
]

renamed_models = {}
"""


def tree_70() -> dict[str, str | bytes]:
    """The release: scripts, analysis, a declared table, apriori and some bad files."""
    files: dict[str, str | bytes] = {}
    for n in ("base", "account", "sale", "stock", "crm", "purchase", "new_mod", "renamed_new",
              "mystery"):
        files[f"{ADDONS}/{n}/__openerp__.py"] = manifest(n, "7.0.1.1")
    base = f"{ADDONS}/base/migrations/7.0.1.3"
    files[f"{base}/pre-migration.py"] = "def migrate(cr, version):\n    pass\n"
    files[f"{base}/post-migration.py"] = "def migrate(cr, version):\n    pass\n"
    files[f"{base}/openupgrade_analysis.txt"] = ANALYSIS_BASE_WORK.replace("# ", "")
    files[f"{base}/openupgrade_analysis_work.txt"] = ANALYSIS_BASE_WORK
    account = f"{ADDONS}/account/migrations/7.0.1.1"
    files[f"{account}/openupgrade_analysis.txt"] = ANALYSIS_ACCOUNT
    files[f"{account}/post_migration.py"] = "# not run: wrong name\n"  # look-alike
    files[f"{ADDONS}/stock/migrations/7.0.1.1/post-migration.py"] = "def migrate(cr, v): pass\n"
    files[f"{ADDONS}/purchase/migrations/7.0.1.0/end-migration.py"] = "def migrate(cr, v): pass\n"
    # a leftover from the previous step does not count for 7.0
    files[f"{ADDONS}/sale/migrations/6.1.1.0/post-migration.py"] = "def migrate(cr, v): pass\n"
    files["doc/source/modules61-70.rst"] = DECLARED
    files[f"{ADDONS}/openupgrade_records/lib/apriori.py"] = APRIORI
    files[f"{ADDONS}/openupgrade_records/__openerp__.py"] = manifest("openupgrade_records")
    # bad input: a manifest that is not a dict, a binary analysis, a non-UTF-8 analysis
    files[f"{ADDONS}/broken/__openerp__.py"] = "['not', 'a', 'dict']\n"
    files[f"{ADDONS}/crm/migrations/7.0.1.0/openupgrade_analysis.txt"] = b"\x00\x01\x02binary"
    files[f"{ADDONS}/mystery/migrations/7.0.1.0/openupgrade_analysis.txt"] = (
        "---Fields in module 'mystery'---\n"
        "mystery / mystery.thing / name (char) : DEL caf\xe9\n"
    ).encode("latin-1")
    return files


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for relpath, content in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root
