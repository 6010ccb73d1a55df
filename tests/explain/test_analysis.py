"""`ouhub explain`'s analysis on logs as users paste them into OpenUpgrade's issues.

Each excerpt keeps the shape of a real paste (the issue it comes from is named), with
database names and paths changed.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.explain.analysis import explain_text
from ouhub.explain.hints import MIGRATE_SIGNATURE, ONLY_BASE_SCRIPTS, REGISTRY_FAILED, SCRIPT_IMPORT


def causes(explanation) -> list[tuple[str, str | None]]:
    return [(h.cause, h.module) for h in explanation.hints]


# 6.1 (openerp.*): a post-migration script failing on the data, OpenUpgrade 6.1's wording
OPENERP_61 = """\
2012-06-14 09:12:01,120 2310 INFO acme61 openerp.modules.loading: loading 34 modules...
2012-06-14 09:12:03,481 2310 INFO acme61 openerp.modules.migration: module account: Running migration [6.1.1.1>] post-migration
2012-06-14 09:12:03,481 2310 INFO acme61 openerp.modules.migration: module account: Running migration [6.1.1.1>] post-migration
2012-06-14 09:12:03,502 2310 ERROR acme61 openerp.sql_db: bad query: UPDATE account_journal SET company_id = 1 WHERE id = 7
Traceback (most recent call last):
  File "/opt/openerp-6.1/server/openerp/sql_db.py", line 226, in execute
    res = self._obj.execute(query, params)
ProgrammingError: column "company_id" of relation "account_journal" does not exist
LINE 1: UPDATE account_journal SET company_id = 1 WHERE id = 7
"""  # noqa: E501


def test_61_script_failure():
    explained = explain_text(OPENERP_61)
    (error,) = explained.errors
    assert (error.module, error.stage, error.exception) == ("account", "post", "ProgrammingError")
    assert error.message == 'column "company_id" of relation "account_journal" does not exist'
    assert error.lineno == 4 and not error.cut
    assert explained.modules_with_scripts == ("account",)
    assert explained.dbnames == ("acme61",)


# 7.0 (OpenUpgrade #1759): openupgradelib's decorator logs the repr, then the traceback
OPENUPGRADE_70 = """\
2019-02-22 11:08:49,316 18993 INFO erp_db openerp.modules.migration: module base: Running migration [7.0.1.3>] post-migration
2019-02-22 11:08:49,316 18993 INFO erp_db openerp.modules.migration: module base: Running migration [7.0.1.3>] post-migration
2019-02-22 11:08:49,317 18993 INFO erp_db OpenUpgrade: base: post-migration script called with version 6.1.1.3
2019-02-22 11:08:49,318 18993 ERROR erp_db OpenUpgrade: base: error in migration script base/migrations/7.0.1.3/post-migration.py: TypeError('get() takes exactly 2 arguments (3 given)',)
2019-02-22 11:08:49,318 18993 ERROR erp_db OpenUpgrade: get() takes exactly 2 arguments (3 given)
Traceback (most recent call last):
  File "/srv/openupgradelib/openupgradelib/openupgrade.py", line 1446, in wrapped_function
    if use_env2 else cr, version)
  File "/srv/OpenUpgrade/openerp/addons/base/migrations/7.0.1.3/post-migration.py", line 514, in migrate
    openupgrade.set_defaults(cr, pool, force_defaults, force=True)
TypeError: get() takes exactly 2 arguments (3 given)
2019-02-22 11:08:49,402 18993 CRITICAL erp_db openerp.service: Failed to initialize database `erp_db`.
Traceback (most recent call last):
  File "/srv/OpenUpgrade/openerp/service/__init__.py", line 55, in preload_registry
    db, registry = openerp.pooler.get_db_and_pool(dbname,update_module=update_module)
TypeError: get() takes exactly 2 arguments (3 given)
"""  # noqa: E501


def test_70_script_error_and_the_registry_that_failed_after_it():
    explained = explain_text(OPENUPGRADE_70)
    (error,) = explained.errors  # the CRITICAL line is the consequence, not a second failure
    assert (error.module, error.stage, error.kind) == ("base", "post", "script")
    assert error.script == "base/migrations/7.0.1.3/post-migration.py"
    assert (error.exception, error.message) == ("TypeError",
                                                "get() takes exactly 2 arguments (3 given)")
    assert error.fingerprint.message == "get() takes exactly N arguments (N given)"
    assert causes(explained) == [(REGISTRY_FAILED, "base")]
    (hint,) = explained.hints
    assert "post stage of base" in hint.summary and "line 4 is the cause" in hint.summary
    assert hint.evidence[0].lineno == 12
    assert explained.fatal and not explained.finished


# 10.0 (OpenUpgrade #1292): base's pre-migration cannot import openupgradelib
UNABLE_TO_LOAD_10 = """\
2018-03-21 11:10:03,094 14130 INFO ? odoo: Odoo version 10.0
2018-03-21 11:10:03,115 14130 INFO nmpl odoo.modules.loading: loading 1 modules...
2018-03-21 11:10:03,117 14130 ERROR nmpl odoo.modules.migration: module base: Unable to load pre-migration file base/migrations/10.0.1.3/pre-migration.py
Traceback (most recent call last):
  File "/home/ou/openupgrade/odoo/modules/migration.py", line 153, in migrate_module
    mod = imp.load_module(name, fp, pathname, ('.py', 'r', imp.PY_SOURCE))
  File "/home/ou/openupgrade/odoo/addons/base/migrations/10.0.1.3/pre-migration.py", line 4, in <module>
    from openupgradelib import openupgrade
  File "/usr/local/lib/python2.7/dist-packages/openupgradelib/openupgrade.py", line 27, in <module>
    from openupgradelib.openupgrade_tools import table_exists
ImportError: cannot import name table_exists
"""  # noqa: E501


def test_a_script_that_cannot_import_openupgradelib():
    explained = explain_text(UNABLE_TO_LOAD_10)
    (error,) = explained.errors
    assert (error.module, error.stage, error.kind) == ("base", "pre", "load")
    assert error.exception == "ImportError" and error.message == "cannot import name table_exists"
    (hint,) = explained.hints
    assert (hint.cause, hint.module) == (SCRIPT_IMPORT, "base")
    assert "openupgradelib" in hint.summary and "pip install --upgrade openupgradelib" in hint.advice
    assert [e.lineno for e in hint.evidence] == [3, 11]


def test_a_script_with_a_syntax_error():
    text = UNABLE_TO_LOAD_10.split("Traceback")[0] + (
        "Traceback (most recent call last):\n"
        '  File "/home/ou/openupgrade/odoo/modules/migration.py", line 153, in migrate_module\n'
        "    mod = imp.load_module(name, fp, pathname, ('.py', 'r', imp.PY_SOURCE))\n"
        '  File "/home/ou/openupgrade/odoo/addons/base/migrations/10.0.1.3/pre-migration.py", '
        "line 12\n"
        "    def migrate(cr, version)\n"
        "                           ^\n"
        "SyntaxError: invalid syntax\n")
    (hint,) = explain_text(text).hints
    assert hint.cause == SCRIPT_IMPORT and "syntax error" in hint.summary
    assert [e.text.split(",")[0] for e in hint.evidence][1].endswith('pre-migration.py"')


# 11.0 (OpenUpgrade #2390): headers cut off, the registry fails while loading a script
REGISTRY_11 = """\
ERROR migration_db odoo.modules.registry: Failed to load registry
Traceback (most recent call last):
  File "/OpenUpgrade/odoo/modules/registry.py", line 85, in new
    odoo.modules.load_modules(registry._db, force_demo, status, update_module)
  File "/OpenUpgrade/odoo/modules/loading.py", line 151, in load_module_graph
    migrations.migrate_module(package, 'pre')
  File "/OpenUpgrade/odoo/modules/migration.py", line 191, in migrate_module
    mod = load_script(pyfile, name)
  File "/OpenUpgrade/odoo/modules/migration.py", line 38, in load_script
    return imp.load_module(module_name, fp, fname, ('.py', 'r', imp.PY_SOURCE))
ValueError: load_module arg#2 should be a file or None
2020-08-06 15:44:00,148 66 CRITICAL migration_db odoo.service.server: Failed to initialize database `migration_db`.
Traceback (most recent call last):
  File "/OpenUpgrade/odoo/service/server.py", line 1054, in preload_registries
    registry = Registry.new(dbname, update_module=update_module)
ValueError: load_module arg#2 should be a file or None
"""  # noqa: E501


def test_11_registry_failure_while_loading_a_script():
    explained = explain_text(REGISTRY_11)
    (error,) = explained.errors
    assert (error.module, error.stage, error.exception) == (None, "pre", "ValueError")
    assert error.repeats == 2  # the CRITICAL line repeats the same failure
    assert causes(explained) == [(SCRIPT_IMPORT, None), (REGISTRY_FAILED, None)]
    script, registry = explained.hints
    assert script.evidence[0].text.startswith("mod = load_script(")
    assert "during the pre stage" in registry.summary


# 16.0 (OCA/l10n-spain#3510): headers without timestamp, a migrate() of the wrong arity
SIGNATURE_16 = """\
INFO odoo odoo.modules.loading: Loading module l10n_es_facturae (386/490)
INFO odoo odoo.modules.migration: module l10n_es_facturae: Running migration [>16.0.1.7.0] pre-migration
WARNING odoo odoo.modules.loading: Transient module states were reset
ERROR odoo odoo.modules.registry: Failed to load registry
Traceback (most recent call last):
  File "/opt/odoo/src/odoo/odoo/odoo/modules/registry.py", line 90, in new
    odoo.modules.load_modules(registry, force_demo, status, update_module)
  File "/opt/odoo/src/odoo/odoo/odoo/modules/loading.py", line 183, in load_module_graph
    migrations.migrate_module(package, 'pre')
  File "/opt/odoo/src/odoo/odoo/odoo/modules/migration.py", line 189, in migrate_module
    migrate(self.cr, installed_version)
TypeError: migrate() takes 1 positional argument but 2 were given
"""


def test_16_migrate_with_the_wrong_signature():
    explained = explain_text(SIGNATURE_16)
    (error,) = explained.errors
    assert (error.module, error.stage, error.exception) == ("l10n_es_facturae", "pre",
                                                            "TypeError")
    assert causes(explained) == [(MIGRATE_SIGNATURE, "l10n_es_facturae"),
                                 (REGISTRY_FAILED, "l10n_es_facturae")]
    assert explained.hints[0].evidence[0].lineno == 12
    assert explained.modules_loaded == ("l10n_es_facturae",)
    assert explained.records == 4


# 18.0 (OCA/project#1795): indented by two, the top of the traceback cut off
SIGNATURE_18_INDENTED = """\
  processed_modules += load_marked_modules(env, graph,
                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    File "/odoo/src/odoo/modules/loading.py", line 233, in load_module_graph
      migrations.migrate_module(package, 'post')
    File "/odoo/src/odoo/modules/migration.py", line 217, in migrate_module
      exec_script(self.cr, installed_version, pyfile, pkg.name, stage, version)
    File "/odoo/src/odoo/modules/migration.py", line 255, in exec_script
      raise TypeError("module %(addon)s: `migrate`'s signature should be `(cr, version)`, %(func)s is %(sig)s" % dict(locals(), func=mod.migrate, sig=sig))
  TypeError: module project_task_default_stage: `migrate`'s signature should be `(cr, version)`, <function migrate at 0x7fbc8a8b7c40> is (env, version)
  2026-08-24 16:25:44,862 92 INFO prod odoo.service.server: Initiating shutdown
"""  # noqa: E501


def test_18_indented_excerpt_cut_at_the_top():
    explained = explain_text(SIGNATURE_18_INDENTED)
    (error,) = explained.errors
    assert (error.module, error.stage) == ("project_task_default_stage", "post")
    assert error.exception == "TypeError" and "signature" in error.message
    assert error.fingerprint.message.startswith("``'s signature should be ``")
    (hint,) = explained.hints
    assert hint.cause == MIGRATE_SIGNATURE and hint.evidence[0].lineno == 9
    assert hint.evidence[0].text.startswith("TypeError: module project_task_default_stage")


def test_an_excerpt_cut_before_its_exception():
    cut = "\n".join(SIGNATURE_16.splitlines()[:-1])
    (error,) = explain_text(cut).errors
    assert error.cut and error.exception == ""
    assert (error.module, error.stage) == ("l10n_es_facturae", "pre")
    assert error.message == "Failed to load registry"


# 13.0 (OpenUpgrade #2446): a clean log where only base ran its scripts
ONLY_BASE_13 = """\
2020-11-22 10:00:00,001 4242 INFO ? odoo: Odoo version 13.0
2020-11-22 10:00:00,002 4242 INFO ? odoo: addons paths: ['/home/me/odoo-13/addons', '/home/me/OpenUpgrade-13/addons', '/home/me/OpenUpgrade-13/odoo/addons']
2020-11-22 10:00:01,000 4242 INFO v12 odoo.modules.loading: loading 1 modules...
2020-11-22 10:00:01,100 4242 INFO v12 odoo.modules.migration: module base: Running migration [>13.0.1.3] pre-migration
2020-11-22 10:00:02,000 4242 INFO v12 odoo.modules.registry: module base: creating or updating database tables
2020-11-22 10:00:09,000 4242 INFO v12 odoo.modules.migration: module base: Running migration [13.0.1.3>] post-migration
2020-11-22 10:00:10,000 4242 INFO v12 odoo.modules.loading: loading 42 modules...
2020-11-22 10:00:11,000 4242 INFO v12 odoo.modules.registry: module mail: creating or updating database tables
2020-11-22 10:00:12,000 4242 INFO v12 odoo.modules.loading: loading mail/data/mail_data.xml
2020-11-22 10:00:20,000 4242 INFO v12 odoo.modules.registry: module account: creating or updating database tables
2020-11-22 10:00:30,000 4242 INFO v12 odoo.modules.registry: module purchase: creating or updating database tables
2020-11-22 10:01:00,000 4242 INFO v12 odoo.modules.loading: Modules loaded.
"""  # noqa: E501


def test_only_base_ran_its_scripts_2446():
    explained = explain_text(ONLY_BASE_13)
    assert explained.errors == () and explained.finished
    assert explained.modules_with_scripts == ("base",)
    assert explained.modules_loaded == ("base", "mail", "account", "purchase")
    (hint,) = explained.hints
    assert hint.cause == ONLY_BASE_SCRIPTS and "#2446" in hint.summary
    assert "3 other modules" in hint.summary
    assert hint.advice.startswith("/home/me/odoo-13/addons comes before "
                                  "/home/me/OpenUpgrade-13/addons")
    assert [e.lineno for e in hint.evidence] == [4, 2]


def test_a_clean_log_where_every_module_ran_scripts_has_no_hint():
    text = ONLY_BASE_13.replace(
        "module mail: creating", "module mail: Running migration [>13.0.1.0] pre-migration\n"
        "2020-11-22 10:00:11,000 4242 INFO v12 odoo.modules.registry: module mail: creating")
    text = text.replace("module account: creating", "module account: Running migration "
                        "[13.0.1.1>] post-migration\n2020-11-22 10:00:11,000 4242 INFO v12 "
                        "odoo.modules.registry: module account: creating")
    assert explain_text(text).hints == ()


def test_the_same_excerpt_as_data():
    data = explain_text(SIGNATURE_16).as_dict()
    assert data["errors"][0]["fingerprint"]["key"] == explain_text(
        "    " + SIGNATURE_16.replace("\n", "\n    ")).errors[0].fingerprint.key
    assert [h["cause"] for h in data["hints"]] == [MIGRATE_SIGNATURE, REGISTRY_FAILED]
    assert data["scripts_run"] == [{"module": "l10n_es_facturae", "stage": "pre",
                                    "version": "16.0.1.7.0", "name": "pre-migration",
                                    "line": 2}]


def test_text_that_is_no_log():
    explained = explain_text("Hello, my upgrade does not work, please help!\n")
    assert explained.errors == () and explained.hints == () and explained.records == 0


# A log line's pieces, so that random text often comes close to a real log.
_PIECES = st.sampled_from([
    "2019-05-02 10:01:02,345 77 ", "ERROR ", "CRITICAL ", "INFO ", "db12 ", "? ",
    "odoo.modules.migration: ", "OpenUpgrade: ", "module sale: ", "Running migration [>1.1] ",
    "pre-migration", "Unable to load pre-migration file ", "error in migration script ",
    "Traceback (most recent call last):", '  File "/x/sale/migrations/1.1/post-m.py", line 3',
    "ValueError: boom", "Failed to load registry", "addons paths: ['/a', ",
    "migrate_module(package, 'post')", "The above exception was the direct cause of the "
    "following exception:", "`migrate`'s signature should be", "> ", "```", "\t", "    ",
    "\n", "\r", "\x1b[1;31m", "\x00", "é", "\ud800",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=40)), max_size=60).map("".join))
def test_random_text_never_raises(text):
    explained = explain_text(text)
    explained.as_dict()
    for error in explained.errors:
        assert error.fingerprint.key
