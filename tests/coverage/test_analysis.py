"""Analysis files: changes counted per module and kind, annotations, unknown lines."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ouhub.coverage.analysis import (
    AnalysisFile,
    ModuleAnalysis,
    _Parser,
    is_general_log,
    is_openupgrade_analysis_file,
    is_work,
    parse_analysis,
)

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
    "NEW ir.ui.view: m.w  # done inline",
    "  DEL res.groups: m.indented",
    "---XML records in module 'n'---",
    "free text",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(MIXED_LINES) | st.text(max_size=30), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
@example(["\r", "0"], "\r\n", False)  # "\r\r\n": a lone CR before a CRLF is two breaks
def test_bulk_counting_equals_the_line_parser(lines: list[str], newline: str, work: bool) -> None:
    text = newline.join(lines) + newline
    fast = parse_analysis(text, "r.txt", module="m", work=work)
    slow_parser = _Parser("r.txt", "m", work)
    slow_parser.feed_lines(text, 1)
    slow = slow_parser.finish()
    assert fast == slow
    assert [dict(m.fields) for m in fast.modules.values()] == [
        dict(m.fields) for m in slow.modules.values()
    ]
    assert [(m.records, m.annotation_kinds) for m in fast.modules.values()] == [
        (m.records, m.annotation_kinds) for m in slow.modules.values()
    ]
