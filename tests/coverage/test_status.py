"""Status per module and step, with evidence and disagreements (pure decisions)."""

from __future__ import annotations

import pytest

from ouhub.coverage.analysis import parse_analysis
from ouhub.coverage.apriori import Apriori
from ouhub.coverage.declared import Declaration
from ouhub.coverage.scripts import ScriptFile
from ouhub.coverage.status import (
    APRIORI_TARGET_MISSING,
    DECLARED_ABSENT,
    DECLARED_DONE_WITHOUT_SCRIPTS,
    DECLARED_NOTHING_WITH_SCRIPTS,
    SCRIPTS_WITHOUT_DECLARATION,
    ModuleInfo,
    StepInputs,
    decide_statuses,
    totals,
)
from ouhub.vocab import COVERAGE_STATUSES

SRC = "doc/source/modules61-70.rst"


def mods(*names: str) -> dict[str, ModuleInfo]:
    return {n: ModuleInfo(n, f"openerp/addons/{n}", "1.0") for n in names}


def script(module: str, release: str = "7.0", stage: str = "post") -> ScriptFile:
    version = f"{release}.1.1"
    path = f"openerp/addons/{module}/migrations/{version}/{stage}-migration.py"
    return ScriptFile(module, version, release, stage, path, "module")


def decl(module: str, status: str | None, line: int = 10, **kw) -> Declaration:
    raw = {"done": "Done", "nothing_to_do": "Nothing to do", "partial": "Partial",
           None: ""}[status]
    return Declaration(module=module, status=status, status_raw=raw, extra="", line=line, **kw)


def by_module(inputs: StepInputs) -> dict:
    return {s.module: s for s in decide_statuses(inputs)}


def test_every_status_is_reached_with_its_evidence():
    inputs = StepInputs(
        release="7.0", previous="6.1",
        modules=mods("base", "account", "sale", "stock", "crm", "purchase", "new_mod",
                     "renamed_new", "mystery"),
        previous_modules=frozenset({"base", "account", "sale", "stock", "crm", "purchase",
                                    "old_mod", "renamed_old", "merged_old"}),
        scripts=[script("base", stage="pre"), script("base"), script("stock"),
                 script("purchase"), script("sale", release="6.1")],
        declarations=[decl("base", "done", 5), decl("sale", "nothing_to_do", 6),
                      decl("stock", "partial", 7), decl("crm", "done", 8),
                      decl("new_mod", None, 9, is_new=True)],
        declared_source=SRC,
        apriori=Apriori("apriori.py", renamed_modules={"renamed_old": "renamed_new"},
                        merged_modules={"merged_old": "base"}),
        apriori_source="openerp/addons/openupgrade_records/lib/apriori.py",
    )
    result = by_module(inputs)
    statuses = {m: s.status for m, s in result.items()}
    assert statuses == {
        "base": "done", "account": "todo", "sale": "nothing_to_do", "stock": "partial",
        "crm": "done", "purchase": "done", "new_mod": "new", "renamed_new": "new",
        "mystery": "new", "old_mod": "removed", "renamed_old": "renamed",
        "merged_old": "merged",
    }
    assert result["base"].evidence.scripts == (
        "openerp/addons/base/migrations/7.0.1.1/post-migration.py",
        "openerp/addons/base/migrations/7.0.1.1/pre-migration.py",
    )
    assert result["base"].evidence.declaration == f"{SRC}:5: base | Done"
    assert result["renamed_old"].target == "renamed_new"
    assert "renamed_modules['renamed_old'] = 'renamed_new'" in result["renamed_old"].evidence.apriori
    assert result["merged_old"].target == "base"
    # sale's script is for 6.1, not this step: the declaration decides
    assert result["sale"].evidence.scripts == ()
    counts = totals(list(result.values()))
    assert set(counts) == set(COVERAGE_STATUSES) and counts["unknown"] == 0


def test_todo_and_nothing_to_do_never_look_alike():
    inputs = StepInputs(
        release="7.0", previous="6.1", modules=mods("base", "account", "sale"),
        previous_modules=frozenset({"base", "account", "sale"}),
        declarations=[decl("sale", "nothing_to_do", 12)], declared_source=SRC,
    )
    result = by_module(inputs)
    todo, nothing = result["account"], result["sale"]
    assert (todo.status, nothing.status) == ("todo", "nothing_to_do")
    assert todo.evidence.declaration is None and todo.evidence.scripts == ()
    assert nothing.evidence.declaration == f"{SRC}:12: sale | Nothing to do"


def test_unknown_when_nothing_tells_whether_the_module_existed_before():
    result = by_module(StepInputs(release="7.0", previous="6.1", modules=mods("account")))
    assert result["account"].status == "unknown"


def test_the_first_release_has_no_step_its_modules_are_new():
    # the chain starts at 6.1: its scripts, table and apriori speak of a step not configured
    inputs = StepInputs(
        release="6.1", previous=None, modules=mods("base", "account", "crm"),
        scripts=[script("account", release="6.1")], first_release=True,
        declarations=[decl("crm", "done"), decl("ghost", "done")], declared_source=SRC,
        apriori=Apriori("a.py", renamed_modules={"old": "nowhere"}),
    )
    result = decide_statuses(inputs)
    assert [(s.module, s.status) for s in result] == [
        ("account", "new"), ("base", "new"), ("crm", "new")]
    assert all(not s.disagreements and s.in_tree for s in result)
    assert result[0].evidence.scripts == (script("account", release="6.1").path,)
    assert totals(result)["unknown"] == 0


def test_analysis_changing_existing_things_means_the_module_existed():
    inputs = StepInputs(release="17.0", previous="16.0", modules={},
                        folder_modules=frozenset({"account", "fresh"}),
                        existed_modules=frozenset({"account"}))
    result = by_module(inputs)
    assert result["account"].status == "todo"
    assert result["fresh"].status == "unknown"


@pytest.mark.parametrize(
    ("inputs", "module", "expected"),
    [
        (StepInputs("7.0", "6.1", mods("base", "crm"), declarations=[decl("crm", "done")]),
         "crm", DECLARED_DONE_WITHOUT_SCRIPTS),
        (StepInputs("7.0", "6.1", mods("base", "crm"), scripts=[script("crm")],
                    declarations=[decl("base", "done")]),
         "crm", SCRIPTS_WITHOUT_DECLARATION),
        (StepInputs("7.0", "6.1", mods("base", "crm"), scripts=[script("crm")],
                    declarations=[decl("crm", None)]),
         "crm", SCRIPTS_WITHOUT_DECLARATION),
        (StepInputs("7.0", "6.1", mods("base"), declarations=[decl("ghost", "nothing_to_do")]),
         "ghost", DECLARED_ABSENT),
        (StepInputs("7.0", "6.1", mods("base"),
                    apriori=Apriori("a.py", renamed_modules={"old": "nowhere"})),
         "old", APRIORI_TARGET_MISSING),
        (StepInputs("7.0", "6.1", mods("base"),
                    apriori=Apriori("a.py", merged_modules={"old": "nowhere"})),
         "old", APRIORI_TARGET_MISSING),
    ],
)
def test_disagreements_are_flagged(inputs, module, expected):
    result = by_module(inputs)
    assert any(d.startswith(expected) for d in result[module].disagreements), result[module]


def test_no_false_disagreements_without_a_table_or_a_full_tree():
    # an addons checkout without base and without a declared table: nothing to compare
    inputs = StepInputs("7.0", "6.1", mods("crm"), scripts=[script("crm")],
                        apriori=Apriori("a.py", renamed_modules={"old": "nowhere"}))
    assert all(not s.disagreements for s in decide_statuses(inputs))


def test_declared_markers_and_targets():
    inputs = StepInputs(
        "7.0", "6.1", mods("base", "html_editor"),
        declarations=[decl("gone", None, is_del=True), decl("brand_new", None, is_new=True),
                      Declaration("web_editor", None, "", "Merged into html_editor", 30,
                                  target="html_editor", kind="merged")],
        declared_source=SRC,
    )
    result = by_module(inputs)
    assert result["gone"].status == "removed" and not result["gone"].disagreements
    assert result["brand_new"].status == "new"
    assert (result["web_editor"].status, result["web_editor"].target) == ("merged", "html_editor")


# -- what the analysis says (the analysts' annotations, or the comparison itself) ----------------

WORK = "scripts/{m}/19.0.1.0/upgrade_analysis_work.txt"


def analysed(module: str, text: str) -> tuple[str, object]:
    source = WORK.format(m=module)
    return source, parse_analysis(text, source, module=module).modules[module]


ALL_NOTHING = """---Fields in module 'utm'---
utm          / utm.campaign             / title (char)                  : DEL

# NOTHING TO DO: handled by ORM

---XML records in module 'utm'---
NEW ir.ui.view: utm.new_view
# NOTHING TO DO
"""
ONE_OPEN = """---Fields in module 'sale'---
sale         / sale.order               / state (selection)             : selection_keys is now '[a]' ('[b]')

---XML records in module 'sale'---
NEW ir.ui.view: sale.v
# NOTHING TO DO
"""
UNCHANGED = """---Models in module 'board'---
---Fields in module 'board'---
---XML records in module 'board'---
---nothing has changed in this module--
"""
DONE_BUT_NO_SCRIPT = """---Fields in module 'crm'---
crm          / crm.lead                 / x (char)                      : DEL
# DONE: post-migration: move x to y
"""


def test_nothing_to_do_is_inferred_from_the_analysis_with_its_lines_as_evidence():
    inputs = StepInputs(
        "19.0", "18.0", {}, folder_modules=frozenset({"utm", "sale", "board", "crm"}),
        seen_before=frozenset({"utm", "sale", "board", "crm"}),
        analyses={m: analysed(m, t) for m, t in (
            ("utm", ALL_NOTHING), ("sale", ONE_OPEN), ("board", UNCHANGED),
            ("crm", DONE_BUT_NO_SCRIPT))},
    )
    result = by_module(inputs)
    assert {m: s.status for m, s in result.items()} == {
        "utm": "nothing_to_do", "board": "nothing_to_do", "sale": "todo", "crm": "todo"}
    assert result["utm"].evidence.analysis == (
        f"{WORK.format(m='utm')}:4: # NOTHING TO DO: handled by ORM (1 change)",
        f"{WORK.format(m='utm')}:8: # NOTHING TO DO (1 change)",
    )
    assert result["board"].evidence.analysis == (
        f"{WORK.format(m='board')}:4: nothing has changed in this module",)
    assert result["sale"].evidence.analysis == ()


def test_presence_in_the_previous_scan_proves_existence_absence_does_not():
    inputs = StepInputs("19.0", "18.0", {}, folder_modules=frozenset({"analytic", "fresh"}),
                        seen_before=frozenset({"analytic", "elsewhere"}))
    result = by_module(inputs)
    assert (result["analytic"].status, result["fresh"].status) == ("todo", "unknown")
    assert "elsewhere" not in result  # a partial tree's absence says nothing of removal


def test_a_declared_table_wins_over_the_analysis_and_a_contradiction_is_flagged():
    inputs = StepInputs(
        "19.0", "18.0", mods("base", "utm", "sale", "crm"),
        previous_modules=frozenset({"base", "utm", "sale", "crm"}),
        scripts=[script("crm", release="19.0")],
        declarations=[decl("utm", "partial", 3), decl("sale", None, 4),
                      decl("crm", "nothing_to_do", 5)],
        declared_source=SRC,
        analyses={"utm": analysed("utm", ALL_NOTHING), "sale": analysed("sale", ALL_NOTHING
                  .replace("utm", "sale"))},
    )
    result = by_module(inputs)
    assert result["utm"].status == "partial"  # the table says so
    assert result["sale"].status == "nothing_to_do"  # an empty row says nothing
    assert result["sale"].evidence.declaration == f"{SRC}:4: sale"
    assert len(result["sale"].evidence.analysis) == 2
    assert result["crm"].status == "done"
    assert DECLARED_NOTHING_WITH_SCRIPTS in result["crm"].disagreements


def test_an_analysis_of_unreadable_lines_is_not_empty():
    source = WORK.format(m="odd")
    odd = parse_analysis("---Fields in module 'odd'---\nsomething else\n", source,
                         module="odd", work=False).modules["odd"]
    inputs = StepInputs("19.0", "18.0", {}, folder_modules=frozenset({"odd"}),
                        seen_before=frozenset({"odd"}), analyses={"odd": (source, odd)})
    assert by_module(inputs)["odd"].status == "todo"


def test_the_first_release_of_a_scripts_tree_records_its_folder_modules():
    # a wheel of openupgrade_scripts/scripts/ holds no manifest: its modules are its folders
    inputs = StepInputs("17.0", None, {}, folder_modules=frozenset({"account", "web"}),
                        first_release=True)
    result = decide_statuses(inputs)
    assert [(s.module, s.status, s.in_tree) for s in result] == [
        ("account", "new", False), ("web", "new", False)]
