"""parse_log on excerpts in the real formats: OpenERP 6.1/7.0 (openerp.*), 8.0, Odoo 10+ (odoo.*)."""

from __future__ import annotations

import pytest

from ouhub.runner.logparse import ScriptRun, parse_line, parse_log, parse_paste, tidy_paste


def log(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# -- one line ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("2012-03-01 10:00:00,123 4242 INFO db61 openerp.modules.loading: loading 12 modules...",
     ("2012-03-01 10:00:00,123", 4242, "INFO", "db61", "openerp.modules.loading",
      "loading 12 modules...")),
    ("2014-05-02 08:00:01,001 77 WARNING ? openerp: database hostname: localhost",
     ("2014-05-02 08:00:01,001", 77, "WARNING", None, "openerp", "database hostname: localhost")),
    ("2019-05-02 10:01:02,345 77 CRITICAL db12 odoo.service.server: Failed to initialize "
     "database `db12`.",
     ("2019-05-02 10:01:02,345", 77, "CRITICAL", "db12", "odoo.service.server",
      "Failed to initialize database `db12`.")),
    # Odoo 16+ appends perf info, empty outside HTTP requests: a trailing space
    ("2024-02-02 10:00:00,000 9 INFO db17 odoo.modules.migration: module sale: Running upgrade "
     "[17.0.1.2>] post-migrate ",
     ("2024-02-02 10:00:00,000", 9, "INFO", "db17", "odoo.modules.migration",
      "module sale: Running upgrade [17.0.1.2>] post-migrate")),
    # colours when the server logs to a terminal
    ("2019-05-02 10:01:02,345 77 \x1b[1;32m\x1b[1;49mINFO\x1b[0m db12 odoo.modules.loading: "
     "Loading module sale (33/80)",
     ("2019-05-02 10:01:02,345", 77, "INFO", "db12", "odoo.modules.loading",
      "Loading module sale (33/80)")),
    # the logger of a script, as modern Odoo names it
    ("2026-05-21 08:02:28,056 12 INFO db odoo.upgrade.sale.19.0.1.8.3.post-migrate: done",
     ("2026-05-21 08:02:28,056", 12, "INFO", "db", "odoo.upgrade.sale.19.0.1.8.3.post-migrate",
      "done")),
])
def test_parse_line_reads_each_field(line, expected):
    record = parse_line(line)
    assert record is not None
    assert (record.timestamp, record.pid, record.level, record.dbname, record.logger,
            record.message) == expected


@pytest.mark.parametrize("line", [
    "Traceback (most recent call last):",
    '  File "/opt/openerp/server/openerp/modules/migration.py", line 162, in migrate_module',
    "ProgrammingError: column \"foo\" does not exist",
    "LINE 1: SELECT foo FROM sale_order",
    "",
])
def test_continuation_lines_are_not_records(line):
    assert parse_line(line) is None


# -- scripts run, in each wording ---------------------------------------------------------------

@pytest.mark.parametrize("message, script", [
    ("module sale: Running migration [>7.0.1.1] pre-migration",
     ScriptRun("sale", "pre", "7.0.1.1", "pre-migration", 1)),
    ("module sale: Running migration [7.0.1.1>] post-migration",
     ScriptRun("sale", "post", "7.0.1.1", "post-migration", 1)),
    ("module sale: Running migration [$8.0.1.1] end-migration",
     ScriptRun("sale", "end", "8.0.1.1", "end-migration", 1)),
    ("module account: Running migration [>1.1] pre-set_defaults",
     ScriptRun("account", "pre", "1.1", "pre-set_defaults", 1)),
    ("module sale: Running upgrade [>17.0.1.2] pre-migrate",
     ScriptRun("sale", "pre", "17.0.1.2", "pre-migrate", 1)),
    ("module l10n_ve_iot_mf: Running upgrade [17.0.0.3.0>] post-migration",
     ScriptRun("l10n_ve_iot_mf", "post", "17.0.0.3.0", "post-migration", 1)),
    ("module sale: Running upgrade [$19.0.1.0] end-cleanup",
     ScriptRun("sale", "end", "19.0.1.0", "end-cleanup", 1)),
])
@pytest.mark.parametrize("root", ["openerp", "odoo"])
def test_script_runs_in_each_wording(message, script, root):
    report = parse_log(f"2014-03-10 14:02:22,000 5123 INFO db {root}.modules.migration: {message}")
    assert report.scripts_run == (script,)
    assert report.modules_loaded == (script.module,)
    assert report.errors == ()


# -- whole excerpts -----------------------------------------------------------------------------

OPENERP_70_PASSED = log(
    "2014-03-10 14:02:11,120 5123 INFO ? openerp: OpenERP version 7.0-20140310",
    "2014-03-10 14:02:11,455 5123 INFO db70 openerp.modules.loading: loading 1 modules...",
    "2014-03-10 14:02:11,480 5123 INFO db70 openerp.modules.migration: module base: "
    "Running migration [>7.0.1.3] pre-migration",
    "2014-03-10 14:02:12,001 5123 INFO db70 openerp.modules.module: module base: creating or "
    "updating database tables",
    "2014-03-10 14:02:13,010 5123 INFO db70 openerp.modules.loading: module base: loading "
    "base_data.xml",
    "2014-03-10 14:02:20,101 5123 INFO db70 openerp.modules.migration: module base: "
    "Running migration [7.0.1.3>] post-migration",
    "2014-03-10 14:02:21,000 5123 INFO db70 openerp.modules.loading: loading 3 modules...",
    "2014-03-10 14:02:21,100 5123 INFO db70 openerp.modules.loading: module product: loading "
    "product_data.xml",
    "2014-03-10 14:02:22,000 5123 INFO db70 openerp.modules.migration: module sale: "
    "Running migration [>7.0.1.1] pre-migration",
    "2014-03-10 14:02:22,001 5123 INFO db70 OpenUpgrade: sale: pre-migration script called "
    "with version 6.1.1.0",
    "2014-03-10 14:02:25,000 5123 INFO db70 openerp.modules.loading: module sale: loading "
    "sale_view.xml",
    "2014-03-10 14:02:26,000 5123 WARNING db70 openerp.osv.orm: Field sale.order.foo: "
    "deprecated",
    "2014-03-10 14:05:00,000 5123 INFO db70 openerp.modules.loading: Modules loaded.",
)


def test_a_passing_70_log():
    report = parse_log(OPENERP_70_PASSED)
    assert report.modules_loaded == ("base", "product", "sale")
    assert [(s.module, s.stage) for s in report.scripts_run] == [
        ("base", "pre"), ("base", "post"), ("sale", "pre")]
    assert report.errors == () and not report.fatal and report.finished
    assert len(report.records) == 13


OPENUPGRADE_70_SCRIPT_ERROR = log(
    "2014-03-10 14:02:21,000 5123 INFO db70 openerp.modules.loading: loading 3 modules...",
    "2014-03-10 14:02:22,000 5123 INFO db70 openerp.modules.migration: module sale: "
    "Running migration [7.0.1.1>] post-migration",
    "2014-03-10 14:02:22,500 5123 ERROR db70 OpenUpgrade: sale: error in migration script "
    "/opt/ou/addons/sale/migrations/7.0.1.1/post-migration.py: column \"foo\" does not exist",
    "LINE 1: SELECT foo FROM sale_order",
    "               ^",
    "",
    "2014-03-10 14:02:22,501 5123 ERROR db70 OpenUpgrade: column \"foo\" does not exist",
    "LINE 1: SELECT foo FROM sale_order",
    "               ^",
    "Traceback (most recent call last):",
    '  File "/opt/ou/openerp/openupgrade/openupgrade.py", line 480, in wrapped_function',
    "    func(cr, version)",
    '  File "/opt/ou/addons/sale/migrations/7.0.1.1/post-migration.py", line 9, in migrate',
    '    cr.execute("SELECT foo FROM sale_order")',
    'ProgrammingError: column "foo" does not exist',
    "LINE 1: SELECT foo FROM sale_order",
    "               ^",
    "",
    "2014-03-10 14:02:22,502 5123 ERROR db70 openerp: Failed to initialize database `db70`.",
    "Traceback (most recent call last):",
    '  File "/opt/ou/openerp/cli/server.py", line 97, in preload_registry',
    "    db, registry = openerp.pooler.get_db_and_pool(dbname,update_module=update_module)",
    'ProgrammingError: column "foo" does not exist',
)


def test_openupgradelib_script_error_is_one_error_of_its_module_with_the_traceback():
    report = parse_log(OPENUPGRADE_70_SCRIPT_ERROR)
    assert report.failed_modules == ("sale",)
    assert report.fatal and not report.finished
    script_error, init_error = report.errors
    assert (script_error.kind, script_error.module, script_error.level) == ("script", "sale",
                                                                             "ERROR")
    assert script_error.script == "/opt/ou/addons/sale/migrations/7.0.1.1/post-migration.py"
    assert script_error.excerpt.splitlines()[0].endswith('column "foo" does not exist')
    assert "Traceback (most recent call last):" in script_error.excerpt
    assert 'line 9, in migrate' in script_error.excerpt
    assert (init_error.kind, init_error.module) == ("init", "sale")
    assert report.primary_error("sale") == script_error


ODOO_12_CRITICAL = log(
    "2019-05-02 10:01:02,345 77 INFO db12 odoo.modules.loading: Loading module stock (31/80)",
    "2019-05-02 10:01:02,400 77 INFO db12 odoo.modules.loading: Loading module sale (33/80)",
    "2019-05-02 10:01:02,401 77 INFO db12 odoo.modules.migration: module sale: Running "
    "migration [>12.0.1.1] pre-migration",
    "2019-05-02 10:01:02,500 77 ERROR db12 OpenUpgrade: sale: error in migration script "
    "sale/migrations/12.0.1.1/pre-migration.py: boom",
    "2019-05-02 10:01:02,501 77 ERROR db12 OpenUpgrade: boom",
    "Traceback (most recent call last):",
    '  File "/opt/odoo/addons/sale/migrations/12.0.1.1/pre-migration.py", line 4, in migrate',
    "ValueError: boom",
    "2019-05-02 10:01:02,600 77 CRITICAL db12 odoo.service.server: Failed to initialize "
    "database `db12`.",
    "Traceback (most recent call last):",
    "ValueError: boom",
)


def test_odoo_critical_is_fatal_and_attributed():
    report = parse_log(ODOO_12_CRITICAL)
    assert report.modules_loaded == ("stock", "sale")
    assert [(e.kind, e.module, e.level) for e in report.errors] == [
        ("script", "sale", "ERROR"), ("init", "sale", "CRITICAL")]
    assert report.fatal
    assert report.errors_of("stock") == ()


@pytest.mark.parametrize("text, module, kind, script", [
    (log("2014-03-10 14:02:21,000 5123 INFO db70 openerp.modules.loading: loading 3 modules...",
         "2014-03-10 14:02:22,000 5123 ERROR db70 openerp.modules.migration: module stock: "
         "Unable to load pre-migration file stock/migrations/7.0.1.1/pre-migration.py",
         "Traceback (most recent call last):",
         '  File "stock/migrations/7.0.1.1/pre-migration.py", line 3, in <module>',
         "ImportError: cannot import name openupgrade_70"),
     "stock", "load", "stock/migrations/7.0.1.1/pre-migration.py"),
    # an error of the ORM while a module is loading: the module being loaded
    (log("2014-03-10 14:02:21,000 5123 INFO db70 openerp.modules.loading: module purchase: "
         "loading purchase_view.xml",
         "2014-03-10 14:02:21,500 5123 ERROR db70 openerp.osv.orm: Can't find field 'foo' in "
         "the following view parts composing the view of object model 'purchase.order':"),
     "purchase", "other", None),
    # 7.0's graph: the message names its module
    (log("2014-03-10 14:02:11,000 5123 ERROR db70 openerp.modules.graph: module crm: Unmet "
         "dependencies: sale_crm_ghost"),
     "crm", "other", None),
    # after the graph is loaded, nobody is being loaded
    (log("2019-05-02 10:01:02,400 77 INFO db12 odoo.modules.loading: Loading module sale (3/3)",
         "2019-05-02 10:01:03,000 77 INFO db12 odoo.modules.loading: 3 modules loaded in 0.62s,"
         " 120 queries (+0 extra)",
         "2019-05-02 10:01:03,100 77 ERROR db12 odoo.modules.loading: Some modules are not "
         "loaded, some dependencies or manifest may be missing: ['ghost']"),
     None, "other", None),
    # 6.1: the same native wording, openerp.* loggers
    (log("2012-03-01 10:00:00,123 4242 INFO db61 openerp.modules.migration: module account: "
         "Running migration [6.1.1.1>] post-migration",
         "2012-03-01 10:00:01,000 4242 ERROR db61 openerp.sql_db: bad query: UPDATE x SET y=1",
         "Traceback (most recent call last):",
         "ProgrammingError: relation \"x\" does not exist"),
     "account", "other", None),
])
def test_errors_are_attributed(text, module, kind, script):
    report = parse_log(text)
    (error,) = report.errors
    assert (error.module, error.kind, error.script) == (module, kind, script)


@pytest.mark.parametrize("line, expected", [
    ("2020-01-01 10:00:00,000 12 ERROR db13 odoo.modules.loading: Module sale: 2 failures, "
     "1 errors of 14 tests", ("sale", 2, 1, 14)),
    ("2016-01-01 10:00:00,000 12 ERROR db9 openerp.modules.module: Module account: 0 failures, "
     "3 errors of 3 tests", ("account", 0, 3, 3)),
])
def test_test_failures(line, expected):
    report = parse_log(line)
    (failure,) = report.test_failures
    assert (failure.module, failure.failures, failure.errors, failure.tests) == expected
    assert report.errors[0].kind == "test" and report.errors[0].module == expected[0]


def test_skipped_modules_are_listed_without_being_errors_in_newer_servers():
    report = parse_log(log(
        "2019-05-02 10:00:00,000 77 WARNING db12 odoo.modules.graph: module ghost: not "
        "installable, skipped",
        "2019-05-02 10:00:00,001 77 INFO db12 odoo.modules.graph: module crm: Unmet "
        "dependencies: ghost"))
    assert report.skipped_modules == ("ghost", "crm")
    assert report.errors == ()


def test_traceback_outside_an_error_record_is_an_error_of_the_current_module():
    report = parse_log(log(
        "2014-03-10 14:02:21,000 5123 INFO db70 openerp.modules.loading: Loading module sale "
        "(2/3)",
        "Traceback (most recent call last):",
        '  File "openerp-server", line 5, in <module>',
        "MemoryError",
    ))
    (error,) = report.errors
    assert (error.module, error.kind, error.message) == ("sale", "traceback", "MemoryError")


def test_traceback_before_any_log_line_is_an_error_without_module():
    report = parse_log(log(
        "Traceback (most recent call last):",
        '  File "/opt/odoo/odoo-bin", line 5, in <module>',
        "    import odoo",
        "ModuleNotFoundError: No module named 'odoo'",
    ))
    (error,) = report.errors
    assert error.module is None and error.message.startswith("ModuleNotFoundError")
    assert report.modules_loaded == ()


def test_a_warning_with_a_traceback_is_not_an_error():
    report = parse_log(log(
        "2019-05-02 10:00:00,000 77 WARNING db12 odoo.models: something odd",
        "Traceback (most recent call last):",
        "KeyError: 'x'"))
    assert report.errors == ()


def test_long_traceback_excerpt_keeps_head_and_tail():
    frames = [f'  File "/opt/odoo/mod{i}.py", line {i}, in f{i}' for i in range(200)]
    report = parse_log(log(
        "2019-05-02 10:01:02,500 77 ERROR db12 odoo.sql_db: bad query: " + "x" * 5000,
        "Traceback (most recent call last):", *frames, "RecursionError: too deep"))
    excerpt = report.errors[0].excerpt.splitlines()
    assert len(excerpt) < 45
    assert excerpt[-1] == "RecursionError: too deep"
    assert excerpt[1] == "Traceback (most recent call last):"
    assert any("lines omitted" in line for line in excerpt)
    assert len(excerpt[0]) < 500


@pytest.mark.parametrize("text", ["", "\n\n", "not a log at all\n"])
def test_empty_or_foreign_text_gives_an_empty_report(text):
    report = parse_log(text)
    assert report.modules_loaded == () and report.scripts_run == ()
    assert report.errors == () and not report.fatal and not report.finished


def test_a_script_announced_twice_by_70_is_one_run_but_a_rerun_later_counts():
    announce = ("2014-03-10 14:02:22,000 5123 INFO db70 openerp.modules.migration: module sale: "
                "Running migration [>7.0.1.1] pre-migration")
    report = parse_log(log(announce, announce, announce.replace("pre-migration", "pre-fix"),
                           announce))
    assert [s.name for s in report.scripts_run] == ["pre-migration", "pre-fix", "pre-migration"]


# -- stages ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, stage", [
    # the script running when it failed
    (["module sale: Running migration [>7.0.1.1] pre-migration"], "pre"),
    (["module sale: Running migration [7.0.1.1>] post-migration"], "post"),
    (["module sale: Running migration [$8.0.1.1] end-migration"], "end"),
    # the module's own loading, after its pre scripts
    (["module sale: Running migration [>7.0.1.1] pre-migration",
      "module sale: creating or updating database tables"], "load"),
    (["Loading module sale (3/9)"], "load"),
    (["loading sale/views/sale_views.xml"], "load"),
])
def test_an_error_gets_the_stage_the_server_was_in(lines, stage):
    text = log(*(f"2019-05-02 10:01:0{i},000 77 INFO db12 odoo.modules.loading: {line}"
                 for i, line in enumerate(lines)),
               "2019-05-02 10:01:09,000 77 ERROR db12 odoo.sql_db: bad query: SELECT 1")
    (error,) = parse_log(text).errors
    assert (error.module, error.stage) == ("sale", stage)


def test_an_error_of_no_module_is_the_registry_s():
    (error,) = parse_log("2019-05-02 10:01:02,562 77 ERROR ? odoo.modules.registry: Failed to "
                         "load registry\n").errors
    assert (error.module, error.kind, error.stage) == (None, "init", "registry")


def test_a_script_error_takes_its_stage_from_the_script_path():
    report = parse_log(ODOO_12_CRITICAL)
    assert [e.stage for e in report.errors] == ["pre", "pre"]


# -- pasted logs ----------------------------------------------------------------------------------

# OpenUpgrade #3510 (16.0): headers pasted without timestamp and pid
HEADERLESS_16 = log(
    "INFO odoo odoo.modules.loading: Loading module l10n_es_facturae (386/490) ",
    "INFO odoo odoo.modules.migration: module l10n_es_facturae: Running migration [>16.0.1.7.0] "
    "pre-migration ",
    "WARNING odoo odoo.modules.loading: Transient module states were reset ",
    "ERROR odoo odoo.modules.registry: Failed to load registry ",
    "Traceback (most recent call last):",
    '  File "/opt/odoo/src/odoo/odoo/odoo/modules/registry.py", line 90, in new',
    "    odoo.modules.load_modules(registry, force_demo, status, update_module)",
    '  File "/opt/odoo/src/odoo/odoo/odoo/modules/loading.py", line 183, in load_module_graph',
    "    migrations.migrate_module(package, 'pre')",
    '  File "/opt/odoo/src/odoo/odoo/odoo/modules/migration.py", line 189, in migrate_module',
    "    migrate(self.cr, installed_version)",
    "TypeError: migrate() takes 1 positional argument but 2 were given",
)


def test_headers_without_timestamp_and_pid():
    report = parse_log(HEADERLESS_16)
    assert [r.level for r in report.records] == ["INFO", "INFO", "WARNING", "ERROR"]
    assert report.records[0].timestamp == "" and report.records[0].pid is None
    assert [(s.module, s.stage) for s in report.scripts_run] == [("l10n_es_facturae", "pre")]
    (error,) = report.errors
    assert (error.module, error.kind, error.stage) == ("l10n_es_facturae", "init", "pre")
    assert report.fatal


@pytest.mark.parametrize("line", [
    "ERROR: relation \"x\" does not exist",  # psycopg2's message, not a header
    "INFO something",
    "Error db logger: a capitalised word is no level",
])
def test_lines_that_only_look_like_headers(line):
    assert parse_line(line) is None


def test_an_indented_paste_keeps_its_traceback_indentation():
    # OCA/project#1795 (18.0): the whole paste indented by two, the top of the traceback cut
    pasted = log(
        "    File \"/odoo/src/odoo/modules/loading.py\", line 233, in load_module_graph",
        "      migrations.migrate_module(package, 'post')",
        "    File \"/odoo/src/odoo/modules/migration.py\", line 255, in exec_script",
        "      raise TypeError(msg)",
        "  TypeError: module project_task_default_stage: `migrate`'s signature should be "
        "`(cr, version)`, <function migrate at 0x7fbc8a8b7c40> is (env, version)",
        "  2026-08-24 16:25:44,862 92 INFO prod odoo.service.server: Initiating shutdown",
    )
    tidy = tidy_paste(pasted).splitlines()
    assert tidy[0].startswith('  File "/odoo') and tidy[1].startswith("    migrations.")
    assert tidy[4].startswith("TypeError: module project_task_default_stage")
    report = parse_paste(pasted)
    (error,) = report.errors
    assert (error.module, error.kind, error.stage) == ("project_task_default_stage",
                                                        "traceback", "post")
    assert error.message.startswith("TypeError: module project_task_default_stage")
    assert error.lineno == 1 and report.records[-1].lineno == 6


def test_quoted_and_fenced_paste():
    pasted = "```\n> 2019-01-20 19:40:42,562 5915 ERROR ? odoo.modules.registry: Failed to load " \
             "registry\n> Traceback (most recent call last):\n>   File \"x.py\", line 1, in f\n" \
             "> psycopg2.ProgrammingError: permission denied for relation ir_module_module\n```\n"
    (error,) = parse_paste(pasted).errors
    assert error.kind == "init" and error.lineno == 2
    assert error.excerpt.splitlines()[-1].startswith("psycopg2.ProgrammingError: permission")


def test_modules_loaded_in_8_0_and_later_wording():
    report = parse_log(log(
        "2016-12-11 11:08:44,458 24117 INFO sm_1 openerp.modules.loading: loading 1 modules...",
        "2016-12-11 11:08:44,674 24117 INFO sm_1 openerp.modules.module: module base: creating "
        "or updating database tables",
        "2016-12-11 11:08:45,729 24117 INFO sm_1 openerp.modules.loading: loading "
        "base/base_data.xml",
        "2020-11-22 10:00:00,000 7 INFO db13 odoo.modules.loading: loading mail/data/mail_data.xml",
    ))
    assert report.modules_loaded == ("base", "mail")


def test_the_addons_path_the_server_printed():
    report = parse_log(log(
        "2014-12-12 01:44:25,697 24913 INFO ? openerp: OpenERP version 8.0",
        "2014-12-12 01:44:25,697 24913 INFO ? openerp: addons paths: "
        "['/home/it/.local/share/Odoo/addons/8.0', u'/var/tmp/openupgrade/8.0/server/openerp/"
        "addons', u'/var/tmp/openupgrade/8.0/addons']",
    ))
    assert report.addons_paths == ("/home/it/.local/share/Odoo/addons/8.0",
                                   "/var/tmp/openupgrade/8.0/server/openerp/addons",
                                   "/var/tmp/openupgrade/8.0/addons")
    assert report.addons_paths_lineno == 2
