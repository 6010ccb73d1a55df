"""Analysis files: changes counted per module and kind, annotations, unknown lines."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ouhub.coverage.analysis import (
    AnalysisFile,
    Annotation,
    ModuleAnalysis,
    annotation_kind,
    era_convention,
    is_general_log,
    is_openupgrade_analysis_file,
    is_work,
    parse_analysis,
    preference,
)
from ouhub.coverage.analysis_lines import _HEADER, _NO_CHANGE, classify

# excerpts of real files (OCA/OpenUpgrade), shortened
BASE_61_70 = """---base---
base         / ir.actions.act_url       / help (text)                   : NEW 
base         / ir.actions.act_url       / target (selection)            : NEW required: required, selection_keys: ['new', 'self'], req_default: new
base         / ir.actions.client        / name (char)                   : NEW required: required
base         / ir.actions.todo          / action_id (many2one)          : relation is now 'ir.actions.actions' ('ir.actions.act_window')
base         / ir.actions.todo          / category_id (many2one)        : DEL relation: ir.actions.todo.category
base         / ir.property              / value_integer (integer_big)   : type is now 'integer' ('integer_big')
base         / res.partner              / city (char)                   : not a function anymore
base         / res.users                / _inherits (False)             : NEW 
deleted xml-id of model ir.ui.view: base.values_view_form
deleted xml-id of model ir.actions.act_window: base.res_widget_act_window
new xml-id of model res.country: base.ax
"""  # noqa: W291 (the trailing blanks after NEW are real)

ACCOUNT_18_WORK = """---Models in module 'account'---
obsolete model account.tour.upload.bill [transient]
new model account.autopost.bills.wizard [transient]
new model account.code.mapping [sql_view]
# NOTHING TO DO

---Fields in module 'account'---
account      / account.account          / _order                        : _order is now 'code, placeholder_code' ('code, company_id')
account      / account.account          / code_mapping_ids (one2many)   : NEW relation: account.code.mapping
# NOTHING TO DO

account      / account.account          / code_store (char)             : NEW
# DONE: post-migration: fill code_store from code and company_id

account      / account.move             / is_imported (boolean)         : NEW
# TODO

account      / res.currency             / fiscal_country_codes (char)   : not a function anymore
NOTHING TO DO (still store=False)

account      / account.tax              / description (char)            : type is now 'html' ('char')

---XML records in module 'account'---
NEW ir.actions.act_window: account.action_account_audit_trail_report [renamed from account_audit_trail module]
DEL ir.actions.act_window: account.action_account_unreconcile
NEW ir.model.access: account.access_account_code_mapping
DEL ir.rule: account.account_root_comp_rule (noupdate)
# DONE: post-migration: delete old rules safely
"""

# addons/sale/migrations/9.0.1.0/openupgrade_analysis_work.txt, shortened
SALE_90_WORK = """---Fields in module 'sale'---
sale         / account.analytic.line    / so_line (many2one)            : NEW relation: sale.order.line
#Nothing To Do : New Functionality added.

sale         / account.invoice          / section_id (many2one)         : DEL relation: crm.case.section
sale         / account.invoice          / team_id (many2one)            : NEW relation: crm.team
#TODO : section_id is now team_id
#Done : renamed the column to new column team_id.

sale         / sale.order               / fiscal_position (many2one)    : was renamed to fiscal_position_id [nothing to to]
#Nothing To Do : ORM will change the name automatically.

sale         / sale.order.line          / product_uos (many2one)        : DEL relation: product.uom
#TODO : Moved to product_uos module (so saved it for later use.)

sale         / sale.order               / state (selection)             : selection_keys is now '['cancel', 'done', 'draft', 'sale', 'sent']' ('['cancel', 'done', 'draft', 'invoice_except', 'manual', 'progress', 'sent', 'shipping_except', 'waiting_date']')
TODO : To map the state values as per new values.
#Done : Mapped the values as per new state values

---XML records in module 'sale'---
NEW web.tip: sale.sale_tip_2


DEL workflow: sale.wkf_sale
DEL workflow.activity: sale.act_cancel

#Done : THE WORKFLOW IS REMOVED WITH THE DELETE WORKFLOW FUNCTION
"""

GENERAL_LOG_18 = """---Models in module 'general'---
obsolete model account.fr.fec [module l10n_fr_account]
obsolete model hr.applicant.skill (renamed to hr.candidate.skill) [module hr_recruitment_skills]
new model account.lock_exception [module account]
---Fields in module 'general'---
# 2911 fields matched,
# Direct match: 2872
---XML records in module 'general'---
ERROR: module not in list of installed modules:
---Models in module 'pos_mercury'---
obsolete model pos_mercury.configuration
---Fields in module 'project_stock'---
---nothing has changed in this module--
"""


def test_61_format() -> None:
    parsed = parse_analysis(BASE_61_70, "base/migrations/7.0.1.3/openupgrade_analysis.txt")
    base = parsed.modules["base"]
    assert base.fields == {"new": 4, "del": 1, "relation": 1, "type": 1, "not_function": 1}
    assert base.records == {"del": 2, "new": 1}
    assert base.models == {}
    assert (base.total, base.other, base.annotated) == (11, 0, 0)
    assert base.analysed_share == 0.0
    assert parsed.is_work is False
    assert parsed.warnings == ()


def test_work_file_counts_and_annotations() -> None:
    parsed = parse_analysis(ACCOUNT_18_WORK, "account/18.0.1.3/upgrade_analysis_work.txt")
    assert parsed.is_work
    account = parsed.modules["account"]
    assert account.models == {"del": 1, "new": 2}
    assert account.fields == {"changed": 1, "new": 3, "not_function": 1, "type": 1}
    assert account.records == {"new_renamed": 1, "del": 2, "new": 1}
    assert account.total == 13
    # the type change to html has no annotation; everything else has one
    assert account.annotated == 12
    assert account.annotation_kinds == {"nothing_to_do": 6, "done": 5, "todo": 1}
    # a bare TODO is an annotation but not an analysis
    assert account.analysed_share == pytest.approx(11 / 13)
    assert account.other == 0


def test_comment_runs_and_trailing_comments_90() -> None:
    sale = parse_analysis(SALE_90_WORK, "sale/9.0.1.0/openupgrade_analysis_work.txt").modules[
        "sale"
    ]
    assert sale.fields == {"new": 2, "del": 2, "renamed": 1, "selection": 1}
    assert sale.records == {"new": 1, "del": 2}
    # "#TODO" then "#Done" is done; a comment after a blank line answers the changes above
    assert sale.annotation_kinds == {"nothing_to_do": 2, "done": 5, "todo": 1}
    assert (sale.total, sale.annotated) == (9, 8)
    assert sale.analysed_share == pytest.approx(7 / 9)


def test_general_log() -> None:
    parsed = parse_analysis(GENERAL_LOG_18, "base/18.0.1.3/upgrade_general_log.txt")
    assert list(parsed.modules) == ["general", "pos_mercury", "project_stock"]
    assert parsed.modules["general"].models == {"del": 1, "renamed": 1, "new": 1}
    assert parsed.modules["pos_mercury"].models == {"del": 1}
    assert parsed.modules["project_stock"].total == 0
    assert parsed.modules["project_stock"].analysed_share == 1.0
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("line", "table", "kind"),
    [
        ("sale / sale.order.line / qty_delivered_manual (float)  : DEL", "fields", "del"),
        ("sale / sale.order / amount_total (monetary)       : is now stored", "fields", "stored"),
        (
            "sale / sale.order / show_update_pricelist (boolean): not stored anymore",
            "fields",
            "not_stored",
        ),
        (
            "sale / sale.order.line / price_unit (float)            : now a function",
            "fields",
            "function",
        ),
        (
            "sale / sale.order.line / product_template_id (many2one): not related anymore",
            "fields",
            "not_related",
        ),
        (
            "sale / account.move / partner_shipping_id (many2one): module is now 'account' ('sale')",
            "fields",
            "module",
        ),
        (
            "sale / sale.order.line / product_type (selection)      : previously in module sale_stock",
            "fields",
            "module",
        ),
        (
            "mail / mail.activity / state (selection) : selection_keys added: [planned] "
            "(most likely nothing to do)",
            "fields",
            "selection",
        ),
        (
            "account / res.partner / trust (selection) : needs conversion to v18-style company "
            "dependent",
            "fields",
            "company_dependent",
        ),
        ("stock / stock.move / x (many2many) : table is now 'a' ('b')", "fields", "changed"),
        ("base / res.partner / name (char) : now required", "fields", "required"),
        ("base / ir.ui.view / arch_db (text) : now translatable", "fields", "translate"),
        ("x / y.z / f (char) : something never seen before", "fields", "changed"),
        ("NEW account.payment.term: account.account_payment_term_15days", "records", "new"),
        ("DEL ir.ui.view: account.view_x (noupdate)", "records", "del"),
        ("DEL ir.ui.menu: a.m [moved to b module]", "records", "del_moved"),
        ("ir.model.access: foo (noupdate) (noupdate switched)", "records", "noupdate_switched"),
        ("ir.rule: base.res_partner_rule (deleted domain)", "records", "changed"),
        ("new xml-id of model res.country: base.ax", "records", "new"),
        ("deleted xml-id of model ir.ui.view: base.values_view_form", "records", "del"),
        ("new model account.code.mapping [sql_view]", "models", "new"),
        ("obsolete model base.update.translations [transient]", "models", "del"),
        (
            "obsolete model sale.payment.acquirer.onboarding.wizard (renamed to "
            "sale.payment.provider.onboarding.wizard) [transient]",
            "models",
            "renamed",
        ),
        (
            "obsolete model l10n_es_edi.certificate (merged to certificate.certificate)",
            "models",
            "merged",
        ),
        ("model stock.x (moved to stock_y)", "models", "moved"),
    ],
)
def test_line_kinds(line: str, table: str, kind: str) -> None:
    module = parse_analysis(f"---Fields in module 'm'---\n{line}\n").modules["m"]
    assert getattr(module, table) == {kind: 1}
    assert module.other == 0


@pytest.mark.parametrize(
    "line",
    [
        "this is not an analysis line",
        "DONE: post-migration: fill code_store",  # free text outside a _work file
        "model without a kind or a move",
        "NEW",
        "a / b",
    ],
)
def test_unknown_lines_are_other_with_a_warning(line: str) -> None:
    parsed = parse_analysis(
        f"---Fields in module 'sale'---\n{line}\n", "sale/x/upgrade_analysis.txt"
    )
    sale = parsed.modules["sale"]
    assert (sale.total, sale.other) == (0, 1)
    assert parsed.warnings == sale.warnings
    assert parsed.warnings[0].startswith(
        "sale/x/upgrade_analysis.txt:2: line matches no known form"
    )


def test_annotation_above_the_changes_applies_when_none_below() -> None:
    text = "---Fields in module 'm'---\n# DONE in pre\nm / a.b / f (char) : NEW\n\n"
    assert parse_analysis(text, work=True).modules["m"].annotation_kinds == {"done": 1}


def test_inline_annotation_in_a_work_file() -> None:
    text = "---Fields in module 'm'---\nm / a.b / f (char) : NEW  # done in post\n"
    module = parse_analysis(text, "upgrade_analysis_work.txt").modules["m"]
    assert (module.fields, module.annotated) == ({"new": 1}, 1)


def test_lines_before_any_header_belong_to_the_given_module() -> None:
    parsed = parse_analysis("NEW ir.ui.view: crm.v\n", module="crm")
    assert parsed.modules["crm"].records == {"new": 1}


def test_non_utf8_bytes_are_read_with_a_warning() -> None:
    data = b"---Fields in module 'm'---\nm / a.b / f (char) : NEW caf\xe9\n"
    parsed = parse_analysis(data, "m/upgrade_analysis.txt")
    assert parsed.modules["m"].fields == {"new": 1}
    assert parsed.warnings == (
        "m/upgrade_analysis.txt: not UTF-8 (invalid continuation byte at byte 55); "
        "read with replacement characters",
    )


def test_warnings_are_capped() -> None:
    parsed = parse_analysis("\n".join(f"junk {i}" for i in range(500)), "f.txt")
    assert len(parsed.warnings) == 51
    assert parsed.warnings[-1] == "f.txt: 450 more lines match no known form"
    assert parsed.other == 500


@pytest.mark.parametrize(
    ("name", "analysis", "work"),
    [
        ("openupgrade_analysis.txt", True, False),
        ("upgrade_analysis.txt", True, False),
        ("openupgrade_analysis_work.txt", True, True),
        ("upgrade_analysis_work.txt", True, True),
        ("upgrade_analysis work.txt", True, True),
        ("scripts/account/18.0.1.3/Upgrade_Analysis_Work.txt", True, True),
        ("openupgrade_analysis-work.txt", True, True),
        ("upgrade_analysis_old.txt", True, False),
        ("upgrade_general_log.txt", False, False),
        ("upgrade_analysis.py", False, False),
        ("analysis.txt", False, False),
        ("readme.txt", False, False),
    ],
)
def test_file_names(name: str, analysis: bool, work: bool) -> None:
    assert is_openupgrade_analysis_file(name) is analysis
    assert is_work(name) is work


def test_general_log_name() -> None:
    assert is_general_log("scripts/base/18.0.1.3/upgrade_general_log.txt")
    assert is_general_log("openupgrade_general_log.txt")
    assert not is_general_log("upgrade_analysis.txt")


def test_work_is_told_by_the_file_name() -> None:
    text = "---Fields in module 'm'---\nm / a.b / f (char) : NEW\nfree text note\n"
    assert parse_analysis(text, "m/upgrade_analysis_work.txt").modules["m"].annotated == 1
    plain = parse_analysis(text, "m/upgrade_analysis.txt").modules["m"]
    assert (plain.annotated, plain.other) == (0, 1)


# -- property-based ----------------------------------------------------------

KNOWN_LINES = [
    line for line in (BASE_61_70 + ACCOUNT_18_WORK).splitlines() if line and line[0] not in "#-N"
] + ["NEW ir.ui.view: m.v", "DEL res.groups: m.g"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500), st.booleans())
def test_random_text_never_raises(text: str, work: bool) -> None:
    parsed = parse_analysis(text, "r.txt", work=work)
    assert isinstance(parsed, AnalysisFile)
    non_blank = sum(1 for line in text.splitlines() if line.strip())
    assert sum(m.total + m.other for m in parsed.modules.values()) <= non_blank
    for module in parsed.modules.values():
        assert isinstance(module, ModuleAnalysis)
        assert 0.0 <= module.analysed_share <= 1.0
        assert module.annotated <= module.total


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert isinstance(parse_analysis(data, "r.txt"), AnalysisFile)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(KNOWN_LINES) | st.just(""), max_size=40))
def test_known_lines_are_never_other(lines: list[str]) -> None:
    parsed = parse_analysis("---Fields in module 'm'---\n" + "\n".join(lines), "r.txt")
    module = parsed.modules["m"]
    assert module.other == 0
    assert module.total == sum(1 for line in lines if line)


MIXED_LINES = KNOWN_LINES + [
    "",
    "# DONE: post-migration",
    "# TODO",
    "NOTHING TO DO",
    "NEW ir.ui.view: m.v [renamed from old module]",
    "DEL ir.ui.menu: m.x [moved to other module] (noupdate)",
    "NEW ir.ui.view: m.y [moved from a module] [renamed from b module]",
    "NEW  ir.ui.view:  m.spaced",
    "DEL res.groups: m.g # with a hash",
    "  DEL res.groups: m.indented",
    "m / a.b / f (char) : NEW relation: x # inline",
    "---XML records in module 'n'---",
    "free text",
]


def _reference_counts(text: str) -> dict[str, int]:
    """Changes per "<table>.<kind>", one line at a time through classify()."""
    counted: dict[str, int] = {}
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line or line[0] == "#" or _HEADER.match(line) or _NO_CHANGE.match(line):
            continue
        found = classify(line)
        if found is not None:
            key = ".".join(found)
            counted[key] = counted.get(key, 0) + 1
    return counted


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(MIXED_LINES) | st.text(max_size=30), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
)
@example(["\r", "NEW a.b: c"], "\r\n")  # "\r\r\n": a lone CR before a CRLF is two breaks
@example(["-5 / a.b / f : NEW", "---x---", "--y / a / b : DEL"], "\n")
def test_bulk_counting_equals_the_line_by_line_forms(lines: list[str], newline: str) -> None:
    """The combined pattern's runs count each line as classify() reads it alone."""
    text = newline.join(lines) + newline
    parsed = parse_analysis(text, "r.txt", module="m", work=False)
    counted: dict[str, int] = {}
    for module in parsed.modules.values():
        for table in ("fields", "models", "records"):
            for kind, number in getattr(module, table).items():
                key = f"{table}.{kind}"
                counted[key] = counted.get(key, 0) + number
    assert counted == _reference_counts(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(MIXED_LINES) | st.text(max_size=30), max_size=40),
       st.sampled_from(["before", "after"]))
def test_annotations_add_up(lines: list[str], convention: str) -> None:
    """Every change is either answered by one annotation or open, never both or neither."""
    parsed = parse_analysis("\n".join(lines), "r.txt", module="m", work=True,
                            convention=convention)
    for module in parsed.modules.values():
        assert module.annotated + module.unannotated == module.total
        assert sum(module.annotation_kinds.values()) == module.annotated
        assert all(number > 0 for number in module.open.values())
        assert sum(a.covers for a in module.annotations) <= module.annotated
        assert module.open_changes <= module.unannotated


# -- the analysts' two conventions (excerpts written after real work files) ---------------------

# 7.0 era: a comment comes before the lines it covers, up to the next comment; in the XML
# section the groups follow each other without blank lines (as in 7.0's account work file)
WORK_70 = """---Fields in module 'account'---
### Ignore new fields
account      / account.journal          / cash_control (boolean)        : NEW
account      / account.journal          / loss_account_id (many2one)    : NEW relation: account.account

### Migrated address to partner
account      / account.invoice          / address_invoice_id (many2one) : DEL relation: res.partner.address

# Default values are set by the ORM for these fields
account      / res.company              / expects_chart_of_accounts (boolean): NEW

account      / account.invoice.line     / note (text)                   : DEL

---XML records in module 'account'---
### ignore template records, loaded by default now
NEW account.account.template: account.conf_a_pay
NEW account.account.template: account.conf_a_recv
### Ignore newly added account types
NEW account.account.type: account.conf_account_type_tax
### Ignore changes in default payment terms
### TODO: verify that dropped noupdate XML-IDs keep their records
DEL account.payment.term: account.account_payment_term
DEL account.payment.term.line: account.account_payment_term_line
"""

# 7.0 era too, written the other way round (comments after), as some 7.0 files are
WORK_70_AFTER = """---Fields in module 'account_analytic_plans'---
account_analytic_plans / account.analytic.plan.line / plan_id (many2one)            : now required
### -> Created script for filling it for empty values

---XML records in module 'account_analytic_plans'---
DEL account.journal.column: account.journal_col11
DEL ir.actions.todo: account_analytic_plans.account_analytic_plan_installer_todo
### -> Nothing to do
"""

# 7.0: a heading comment, then a comment above each line ("View : Nothing to do.")
WORK_70_STACKED = """---Fields in module 'stock'---
### For the following changes there is nothing to do: these are views, not tables
# Changed address to partner. View : Nothing to do.
stock        / report.stock.move        / partner_id (many2one)         : relation is now 'res.partner' ('res.partner.address')
# New feature. View : Nothing to do.
stock        / report.stock.inventory   / scrap_location (boolean)      : NEW
### Bad automatic analysis: the class only shares a table
#stock        / stock.picking.in         / note (text)                   : NEW
"""

# 19.0: the models section runs into the fields header; the comment after a blank line
# answers both (as in 19.0's bus work file)
WORK_190 = """---Models in module 'bus'---
obsolete model bus.presence
---Fields in module 'bus'---
bus          / bus.presence             / last_poll (datetime)          : DEL
bus          / bus.presence             / user_id (many2one)            : DEL relation: res.users

# NOTHING TO DO: obsolete model

bus          / res.partner              / im_status (char)              : module is now 'mail' ('bus')

# NOTHING TO DO: transient fields

---XML records in module 'bus'---
DEL ir.model.access: bus.access_bus_presence

# NOTHING TO DO
"""


def test_70_comments_cover_the_lines_below_them() -> None:
    account = parse_analysis(
        WORK_70, "addons/account/migrations/7.0.1.1/openupgrade_analysis_work.txt"
    ).modules["account"]
    assert account.total == 10
    # "Ignore ..." (2 + 2 + 1), the payment terms' Ignore over its TODO (2): nothing to do;
    # "Migrated ..." and the ORM sentence are notes; the last field has no comment
    assert account.annotation_kinds == {"nothing_to_do": 7, "note": 2}
    assert account.open == {"fields.del": 1}
    by_line = {a.line: (a.kind, a.covers) for a in account.annotations}
    assert by_line[2] == ("nothing_to_do", 2)
    assert by_line[15] == ("nothing_to_do", 2)  # the XML groups are not blank-separated
    assert by_line[18] == ("nothing_to_do", 1)
    assert by_line[20] == ("nothing_to_do", 2)


def test_70_file_written_after_its_lines_is_read_after() -> None:
    plans = parse_analysis(
        WORK_70_AFTER, "addons/account_analytic_plans/migrations/7.0.1.0/"
        "openupgrade_analysis_work.txt",
    ).modules["account_analytic_plans"]
    assert (plans.total, plans.annotated) == (3, 3)
    assert plans.annotation_kinds == {"note": 1, "nothing_to_do": 2}


def test_70_stacked_comments_and_commented_out_lines() -> None:
    stock = parse_analysis(
        WORK_70_STACKED, "addons/stock/migrations/7.0.1.1/openupgrade_analysis_work.txt"
    ).modules["stock"]
    # the commented-out line is the analysts' comment, not a change
    assert (stock.total, stock.annotated, stock.other) == (2, 2, 0)
    assert stock.annotation_kinds == {"nothing_to_do": 2}


def test_190_comment_after_a_blank_line_covers_the_group_above_across_headers() -> None:
    bus = parse_analysis(WORK_190, "scripts/bus/19.0.1.0/upgrade_analysis_work.txt").modules[
        "bus"
    ]
    assert bus.total == 5
    assert bus.annotation_kinds == {"nothing_to_do": 5}
    assert bus.open == {}
    assert [(a.line, a.text, a.covers) for a in bus.annotations] == [
        (7, "NOTHING TO DO: obsolete model", 3),
        (11, "NOTHING TO DO: transient fields", 1),
        (16, "NOTHING TO DO", 1),
    ]


def test_same_text_read_by_era_when_the_shape_does_not_tell() -> None:
    # a comment between two changes in one group: "after" answers the line above it,
    # "before" the line below it
    text = "---Fields in module 'm'---\nm / a.b / f (char) : DEL\n# TODO\nm / a.b / g (char) : DEL\n"
    after = parse_analysis(text, "m/8.0.1.0/openupgrade_analysis_work.txt").modules["m"]
    before = parse_analysis(text, "m/7.0.1.0/openupgrade_analysis_work.txt").modules["m"]
    assert [a.line for a in after.annotations] == [3]
    assert after.annotations[0].covers == before.annotations[0].covers == 1
    assert after.open == before.open == {"fields.del": 1}
    assert (after.annotation_kinds, before.annotation_kinds) == ({"todo": 1}, {"todo": 1})


def test_nothing_has_changed_is_told_apart_from_no_analysis() -> None:
    text = (
        "---Models in module 'web_tour'---\n---Fields in module 'web_tour'---\n"
        "---XML records in module 'web_tour'---\n---nothing has changed in this module--\n"
    )
    module = parse_analysis(text, "web_tour/18.0.1.0/upgrade_analysis.txt").modules["web_tour"]
    assert (module.unchanged, module.total) == (4, 0)
    other = parse_analysis("---Fields in module 'x'---\n", "x/upgrade_analysis.txt")
    assert other.modules["x"].unchanged is None


def test_open_changes_leave_additions_out() -> None:
    text = (
        "---Fields in module 'm'---\nm / a.b / f (char) : NEW\nm / a.b / g (char) : DEL\n"
        "m / a.b / h (char) : type is now 'text' ('char')\n\n"
        "---XML records in module 'm'---\nNEW ir.ui.view: m.v\nNEW ir.ui.view: m.w\n"
        "DEL ir.ui.view: m.old [renamed to n module]\n"
    )
    module = parse_analysis(text, "m/upgrade_analysis.txt").modules["m"]
    assert module.unannotated == 6
    assert module.open_changes == 3  # the DEL, the type change, the renamed record


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("NOTHING TO DO", "nothing_to_do"),
        ("NOTHING TO DO: Handled by ORM", "nothing_to_do"),
        ("Nothing to do : new model", "nothing_to_do"),
        ("Nothing To Do : New Functionality added.", "nothing_to_do"),
        ("-> Nothing to do", "nothing_to_do"),
        ("Ignore new fields", "nothing_to_do"),
        ("ignore custom template records", "nothing_to_do"),
        ("Ignored: obsolete", "nothing_to_do"),
        ("No changes needed", "nothing_to_do"),
        ("Changed address to partner. View : Nothing to do.", "nothing_to_do"),
        ("new field based on account_cashbox_line, Nothing to do for the object", "nothing_to_do"),
        ("DONE: post-migration: fill code_store", "done"),
        ("Done : renamed the column", "done"),
        ("TODO is there a way to initialize that field ?", "todo"),
        ("TO DO: check", "todo"),
        ("TODO: see whether there is nothing to do", "todo"),
        ("Kept as a legacy column", "note"),
        ("Migrated address to partner", "note"),
        ("donee", "note"),
    ],
)
def test_annotation_wordings(text: str, kind: str) -> None:
    assert annotation_kind(text) == kind


@pytest.mark.parametrize(
    ("source", "convention"),
    [
        ("addons/account/migrations/7.0.1.1/openupgrade_analysis_work.txt", "before"),
        ("openerp/addons/base/migrations/6.1.1.3/openupgrade_analysis.txt", "before"),
        ("addons/account/migrations/8.0.1.1/openupgrade_analysis_work.txt", "after"),
        ("openupgrade_scripts/scripts/bus/19.0.1.0/upgrade_analysis_work.txt", "after"),
        ("upgrade_analysis_work.txt", "after"),
    ],
)
def test_era_of_a_file(source: str, convention: str) -> None:
    assert era_convention(source) == convention


def test_parse_results_round_trip_through_plain_data() -> None:
    parsed = parse_analysis(WORK_70, "account/7.0.1.1/openupgrade_analysis_work.txt")
    again = AnalysisFile.from_dict(parsed.as_dict())
    assert again == parsed
    assert again.modules["account"].as_dict() == parsed.modules["account"].as_dict()
    assert isinstance(again.modules["account"].annotations[0], Annotation)


@pytest.mark.parametrize(
    ("name", "rank"),
    [
        ("scripts/m/19.0.1.0/upgrade_analysis_work.txt", 2),
        ("upgrade_analysis work.txt", 2),
        ("openupgrade_analysis_work.txt", 2),
        ("upgrade_analysis_done.txt", 1),  # hand-annotated copies, as the real trees hold
        ("upgrade_analysis copy.txt", 1),
        ("upgrade_analysis_rename.txt", 1),
        ("upgrade_analysis.txt", 0),
        ("openupgrade_analysis.txt", 0),
        ("upgrade_general_log.txt", -1),
        ("post-migration.py", -1),
    ],
)
def test_preference_of_analysis_files(name: str, rank: int) -> None:
    assert preference(name) == rank


def test_a_hand_annotated_copy_is_read_as_a_work_file() -> None:
    text = "---Fields in module 'm'---\nm / a.b / f (char) : DEL\nNOTHING TO DO\n"
    copy = parse_analysis(text, "m/19.0.1.0/upgrade_analysis copy.txt").modules["m"]
    tool = parse_analysis(text, "m/19.0.1.0/upgrade_analysis.txt").modules["m"]
    assert (copy.annotated, copy.other) == (1, 0)
    assert (tool.annotated, tool.other) == (0, 1)
