from __future__ import annotations

import pytest

from ouhub.runner.logparse import parse_log
from ouhub.runner.outcome import decide_run
from ouhub.runner.pg import IrModule

T = "2024-01-02 03:04:05,678 4242 {level} db openerp.{logger}: {message}"


def line(message: str, level: str = "INFO", logger: str = "modules.loading") -> str:
    return T.format(level=level, logger=logger, message=message)


def state(**modules: tuple[str, str]) -> dict[str, IrModule]:
    return {name: IrModule(name, st, version) for name, (st, version) in modules.items()}


BEFORE = state(base=("installed", "6.1.1.3"), sale=("installed", "6.1.1.0"),
               stock=("installed", "6.1.1.1"))
ALL_UP = state(base=("installed", "7.0.1.3"), sale=("installed", "7.0.1.0"),
               stock=("installed", "7.0.1.1"))
LOADED = [line(f"Loading module {m} ({i}/3)") for i, m in enumerate(["base", "sale", "stock"], 1)]
SALE_SCRIPT = line("module sale: Running migration [7.0.1.0>] post-migration",
                   logger="modules.migration")
CLEAN = "\n".join([*LOADED[:2], SALE_SCRIPT, LOADED[2], line("Modules loaded.")])
SALE_ERROR = "\n".join([
    *LOADED[:2],
    line("sale: error in migration script /a/sale/migrations/7.0.1.0/post-migration.py: boom",
         level="ERROR", logger="OpenUpgrade").replace("openerp.OpenUpgrade", "OpenUpgrade"),
    line("boom", level="ERROR", logger="OpenUpgrade").replace("openerp.OpenUpgrade",
                                                              "OpenUpgrade"),
    "Traceback (most recent call last):",
    '  File "/a/sale/migrations/7.0.1.0/post-migration.py", line 3, in migrate',
    "ValueError: boom",
    "LINE 1: SELECT boom",  # psycopg2 puts the statement after the exception
    "       ^",
    line("Failed to initialize database `db`.", level="ERROR", logger="modules.loading"),
])
SALE_FAILED = state(base=("installed", "7.0.1.3"), sale=("to upgrade", "6.1.1.0"),
                    stock=("to upgrade", "6.1.1.1"))


@pytest.mark.parametrize("after, log, exit_code, timed_out, scripts, status, outcomes", [
    (ALL_UP, CLEAN, 0, False, {"sale"}, "passed",
     {"base": "upgraded", "sale": "upgraded", "stock": "upgraded"}),
    # only base migrated, exit 0: no evidence for the others
    (state(base=("installed", "7.0.1.3"), sale=("to upgrade", "6.1.1.0"),
           stock=("to upgrade", "6.1.1.1")),
     "\n".join([LOADED[0], line("Modules loaded.")]), 0, False, set(), "failed",
     {"base": "upgraded", "sale": "failed", "stock": "failed"}),
    # versions rose but sale's scripts never ran
    (ALL_UP, "\n".join([*LOADED, line("Modules loaded.")]), 0, False, {"sale"}, "failed",
     {"base": "upgraded", "sale": "failed", "stock": "upgraded"}),
    # a script error: exit 0 like OpenERP 7.0, the failing module named, the rest not reached
    (SALE_FAILED, SALE_ERROR, 0, False, {"sale"}, "failed",
     {"base": "upgraded", "sale": "failed", "stock": "not_reached"}),
    # a crash: non-zero exit, clean log
    (SALE_FAILED, "\n".join(LOADED[:2]), -9, False, set(), "error",
     {"base": "upgraded", "sale": "failed", "stock": "not_reached"}),
    # a hang: the module being loaded is the culprit
    (SALE_FAILED, "\n".join(LOADED[:2]), None, True, set(), "timeout",
     {"base": "upgraded", "sale": "failed", "stock": "not_reached"}),
    # a version that did not rise although the log looks fine
    (state(base=("installed", "7.0.1.3"), sale=("installed", "6.1.1.0"),
           stock=("installed", "7.0.1.1")), CLEAN, 0, False, set(), "failed",
     {"base": "upgraded", "sale": "failed", "stock": "upgraded"}),
])
def test_decide(after, log, exit_code, timed_out, scripts, status, outcomes):
    outcome = decide_run(BEFORE, after, parse_log(log), exit_code, timed_out, with_scripts=scripts)
    assert outcome.status == status, outcome.message
    assert {m.module: m.outcome for m in outcome.modules} == outcomes


def test_failed_module_carries_the_traceback_and_the_message_names_it():
    outcome = decide_run(BEFORE, SALE_FAILED, parse_log(SALE_ERROR), 0, False, {"sale"})
    sale = next(m for m in outcome.modules if m.module == "sale")
    assert "ValueError: boom" in sale.excerpt
    assert outcome.message.startswith("sale: ")


def test_uninstalled_modules_are_ignored_and_no_module_is_an_error():
    before = {**BEFORE, "crm": IrModule("crm", "uninstalled", None)}
    assert "crm" not in {m.module for m in decide_run(before, ALL_UP, parse_log(CLEAN), 0, False,
                                                  {"sale"}).modules}
    assert decide_run({}, {}, parse_log(""), 0, False).status == "error"


def test_why_is_one_line_naming_the_exception_or_the_reason():
    outcome = decide_run(BEFORE, SALE_FAILED, parse_log(SALE_ERROR), 0, False, {"sale"})
    why = {m.module: m.why for m in outcome.modules}
    assert why["sale"] == "ValueError: boom"
    assert why["stock"] == "stock was left in state 'to upgrade'"
    assert why["base"] == ""
