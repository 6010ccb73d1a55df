"""Reading tracebacks as servers print them and as people paste them."""

from __future__ import annotations

import pytest

from ouhub.runner import tracebacks
from ouhub.runner.tracebacks import RaisedException, ScriptPath
from tests.support.pastes import REGISTRY_11

# Odoo 11 (OpenUpgrade #2390): a script that could not be loaded, in the pre stage
ODOO_11_LOAD_SCRIPT = REGISTRY_11.splitlines()[1:11]

# Odoo 13+: "raise ImportError(...) from e": the cause first, then the wrapper
CHAINED_IMPORT = """\
Traceback (most recent call last):
  File "/opt/odoo/odoo/modules/migration.py", line 184, in migrate_module
    mod = load_script(pyfile, name)
  File "/opt/ou/addons/website/migrations/13.0.1.0/pre-migration.py", line 3, in <module>
    from openupgradelib import openupgrade
ModuleNotFoundError: No module named 'openupgradelib'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/opt/odoo/odoo/modules/loading.py", line 179, in load_module_graph
    migrations.migrate_module(package, 'pre')
  File "/opt/odoo/odoo/modules/migration.py", line 186, in migrate_module
    raise ImportError(msg) from e
ImportError: module website: Unable to load pre-migration file website/migrations/13.0.1.0/pre-migration.py""".splitlines()  # noqa: E501


@pytest.mark.parametrize("path, expected", [
    ("/opt/ou/addons/sale/migrations/7.0.1.1/post-migration.py",
     ("sale", "7.0.1.1", "post")),
    ("sale/migrations/12.0.1.1/pre-migration.py", ("sale", "12.0.1.1", "pre")),
    ("/var/tmp/openupgrade/8.0/server/openerp/addons/base/migrations/8.0.1.3/pre-migration.py",
     ("base", "8.0.1.3", "pre")),
    # 14.0 and later: openupgrade_scripts holds the scripts, without a migrations/ folder
    ("/ou/openupgrade_scripts/scripts/account/16.0.1.2/end-migration.py",
     ("account", "16.0.1.2", "end")),
    ("C:\\Odoo\\OpenUpgrade-12.0\\addons\\stock\\migrations\\12.0.1.1\\pre-migration.py",
     ("stock", "12.0.1.1", "pre")),
])
def test_script_path(path, expected):
    found = tracebacks.script_path(path)
    assert isinstance(found, ScriptPath)
    assert (found.module, found.version, found.stage) == expected


@pytest.mark.parametrize("path", [
    "/opt/odoo/odoo/modules/migration.py",
    "/opt/ou/addons/sale/models/sale.py",
    "/opt/ou/addons/sale/migrations/7.0.1.1/helpers.py",  # not a stage's script
    "",
])
def test_not_a_script_path(path):
    assert tracebacks.script_path(path) is None


def test_stage_from_the_frames_even_when_no_script_shows():
    assert tracebacks.stage_of(ODOO_11_LOAD_SCRIPT) == "pre"
    assert tracebacks.script_of(ODOO_11_LOAD_SCRIPT) is None
    assert tracebacks.exceptions(ODOO_11_LOAD_SCRIPT) == [
        RaisedException("ValueError", "load_module arg#2 should be a file or None")]


def test_a_chained_traceback_gives_the_cause():
    assert tracebacks.exceptions(CHAINED_IMPORT) == [
        RaisedException("ModuleNotFoundError", "No module named 'openupgradelib'"),
        RaisedException("ImportError", "module website: Unable to load pre-migration file "
                                       "website/migrations/13.0.1.0/pre-migration.py")]
    assert tracebacks.root_cause(CHAINED_IMPORT).name == "ModuleNotFoundError"
    assert tracebacks.script_of(CHAINED_IMPORT).module == "website"


def test_the_last_exception_when_one_was_raised_while_handling_another():
    lines = ["Traceback (most recent call last):", '  File "a.py", line 1, in f',
             "KeyError: 'x'", "", "During handling of the above exception, another exception "
             "occurred:", "", "Traceback (most recent call last):", '  File "a.py", line 3, in f',
             "psycopg2.errors.InFailedSqlTransaction: current transaction is aborted"]
    raised = tracebacks.root_cause(lines)
    assert (raised.cls, raised.name) == ("psycopg2.errors.InFailedSqlTransaction",
                                         "InFailedSqlTransaction")


@pytest.mark.parametrize("lines, expected", [
    # cut before its exception: nothing is invented
    (ODOO_11_LOAD_SCRIPT[:-1], None),
    # psycopg2's LINE and caret after the exception
    (["Traceback (most recent call last):", '  File "x.py", line 9, in migrate',
      '    cr.execute("SELECT foo FROM sale_order")',
      'ProgrammingError: column "foo" does not exist', "LINE 1: SELECT foo FROM sale_order",
      "               ^"], RaisedException("ProgrammingError", 'column "foo" does not exist')),
    # OpenUpgrade #108: code lines pasted without their indentation
    (["Traceback (most recent call last):",
      '  File "/var/tmp/ou/server/openerp/modules/registry.py", line 324, in new',
      "openerp.modules.load_modules(registry._db, force_demo, status, update_module)",
      '  File "/var/tmp/ou/server/openerp/modules/loading.py", line 295, in load_marked',
      "loaded, processed = load_module_graph(cr, graph, progressdict, report=report)",
      "raise",
      "TypeError: wrap() takes exactly 1 argument (2 given)"],
     RaisedException("TypeError", "wrap() takes exactly 1 argument (2 given)")),
    # no frames and no Traceback line: not a traceback
    (["ValueError: looks like one but is a log message"], None),
    # the first lines cut off: frames alone still make a traceback
    (['  File "/opt/ou/addons/sale/migrations/9.0.1.0/pre-migration.py", line 4, in migrate',
      "MemoryError"], RaisedException("MemoryError", "")),
    # OpenERP 7's except_orm, lowercase
    (["Traceback (most recent call last):", '  File "x.py", line 1, in f',
      "except_orm: (u'ValidateError', u'Error occurred while validating the field(s)')"],
     RaisedException("except_orm", "(u'ValidateError', u'Error occurred while validating the "
                                   "field(s)')")),
])
def test_the_exception_a_traceback_ends_with(lines, expected):
    assert (tracebacks.exceptions(lines)[-1] if tracebacks.exceptions(lines) else None) == expected


@pytest.mark.parametrize("message, expected", [
    # OpenUpgrade #1759 (7.0): openupgradelib logs the exception's repr
    ("TypeError('get() takes exactly 2 arguments (3 given)',)",
     RaisedException("TypeError", "get() takes exactly 2 arguments (3 given)")),
    ("ProgrammingError('syntax error at or near \"NOT\"\\nLINE 2: CREATE INDEX',)",
     RaisedException("ProgrammingError", 'syntax error at or near "NOT"')),
    ("column \"foo\" does not exist", None),
    ("print('x')", None),
])
def test_exception_from_a_repr_in_a_message(message, expected):
    assert tracebacks.exception_from_message(message) == expected
