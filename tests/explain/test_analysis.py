"""`ouhub explain`'s analysis on logs as users paste them into OpenUpgrade's issues
(tests/support/pastes.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.explain.analysis import explain_text
from ouhub.explain.hints import MIGRATE_SIGNATURE, ONLY_BASE_SCRIPTS, REGISTRY_FAILED, SCRIPT_IMPORT
from tests.support.pastes import (
    ONLY_BASE_13,
    OPENERP_61,
    OPENUPGRADE_70,
    REGISTRY_11,
    SIGNATURE_16,
    SIGNATURE_18_INDENTED,
    UNABLE_TO_LOAD_10,
)


def causes(explanation) -> list[tuple[str, str | None]]:
    return [(h.cause, h.module) for h in explanation.hints]


def test_61_script_failure():
    explained = explain_text(OPENERP_61)
    (error,) = explained.errors
    assert (error.module, error.stage, error.exception) == ("account", "post", "ProgrammingError")
    assert error.message == 'column "company_id" of relation "account_journal" does not exist'
    assert error.lineno == 4 and not error.cut
    assert explained.modules_with_scripts == ("account",)
    assert explained.dbnames == ("acme61",)


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


def test_11_registry_failure_while_loading_a_script():
    explained = explain_text(REGISTRY_11)
    (error,) = explained.errors
    assert (error.module, error.stage, error.exception) == (None, "pre", "ValueError")
    assert error.repeats == 2  # the CRITICAL line repeats the same failure
    assert causes(explained) == [(SCRIPT_IMPORT, None), (REGISTRY_FAILED, None)]
    script, registry = explained.hints
    assert script.evidence[0].text.startswith("mod = load_script(")
    assert "during the pre stage" in registry.summary


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
