"""apriori.py is read with ast, never imported: literal parts count, the rest is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.coverage.apriori import Apriori, parse_apriori

# shaped like OCA/OpenUpgrade's 14.0 file (odoo/addons/openupgrade_records/lib/apriori.py)
APRIORI_14 = '''""" Encode any known changes to the database here
to help the matching process
"""

renamed_modules = {
    # Odoo
    'crm_reveal': 'crm_iap_lead',
    'document': 'attachment_indexation',
    # OCA/hr
    # TODO: Transform possible data
    'hr_skill': 'hr_skills',
}

merged_modules = {
    # Odoo
    'account_cancel': 'account',
    'decimal_precision': 'base',
    # OCA/web
    'web_widget_one2many_product_picker_sale_stock_available_info_popup': (
        'web_widget_one2many_product_picker_sale_stock'
    ),
}

# only used here for openupgrade_records analysis:
renamed_models = {
    'account.register.payments': 'account.payment.register',
    # OCA/...
}

# only used here for openupgrade_records analysis:
merged_models = {
    'account.invoice': 'account.move',
}
'''

# shaped like upgrade_analysis' apriori (16.0 on): imported names, then .update()
APRIORI_IMPORTED = """
import logging

_logger = logging.getLogger(__name__)

try:
    from odoo.addons.openupgrade_scripts.apriori import merged_modules, renamed_modules
except ImportError:
    renamed_modules = {}
    merged_modules = {}
    _logger.warning("no openupgrade_scripts")

renamed_modules.update({"x_old": "x_new"})
merged_modules.update({})

# only used here for upgrade_analysis
renamed_models = {}
merged_models = {}
"""


def test_real_shape() -> None:
    parsed = parse_apriori(APRIORI_14, "apriori.py")
    assert parsed.renamed_modules == {
        "crm_reveal": "crm_iap_lead",
        "document": "attachment_indexation",
        "hr_skill": "hr_skills",
    }
    assert parsed.merged_modules["decimal_precision"] == "base"
    assert (
        parsed.merged_modules["web_widget_one2many_product_picker_sale_stock_available_info_popup"]
        == "web_widget_one2many_product_picker_sale_stock"
    )
    assert parsed.renamed_models == {"account.register.payments": "account.payment.register"}
    assert parsed.merged_models == {"account.invoice": "account.move"}
    assert parsed.warnings == ()
    assert parsed.module_target("document") == ("renamed", "attachment_indexation")
    assert parsed.module_target("account_cancel") == ("merged", "account")
    assert parsed.module_target("sale") is None


def test_imported_names_are_a_warning_and_updates_count() -> None:
    parsed = parse_apriori(APRIORI_IMPORTED, "upgrade_analysis/apriori.py")
    assert parsed.renamed_modules == {"x_old": "x_new"}
    assert parsed.merged_modules == {}
    assert len(parsed.warnings) == 2
    assert all(
        "is imported from odoo.addons.openupgrade_scripts.apriori" in w for w in parsed.warnings
    )
    assert parsed.warnings[0].startswith("upgrade_analysis/apriori.py: line 7:")


@pytest.mark.parametrize(
    ("text", "renamed", "warned"),
    [
        (
            "renamed_modules = {'a': 'b'}\nrenamed_modules.update({'c': 'd'})",
            {"a": "b", "c": "d"},
            False,
        ),
        (
            "renamed_modules = {'a': 'b'}\nrenamed_modules.update(c='d')",
            {"a": "b", "c": "d"},
            False,
        ),
        ("renamed_modules = {'a': 'b'} | {'c': 'd'}", {"a": "b", "c": "d"}, False),
        (
            "renamed_modules = {'a': 'b'}\nrenamed_modules |= {'c': 'd'}",
            {"a": "b", "c": "d"},
            False,
        ),
        ("base = {'a': 'b'}\nrenamed_modules = {**base, 'c': 'd'}", {"c": "d"}, True),
        (
            "merged_modules = {'a': 'b'}\nrenamed_modules = {**merged_modules, 'c': 'd'}",
            {"a": "b", "c": "d"},
            False,
        ),
        ("renamed_modules = dict({'a': 'b'}, c='d')", {"a": "b", "c": "d"}, False),
        ("renamed_modules: dict[str, str] = {'a': 'b'}", {"a": "b"}, False),
        ("renamed_modules = [('a', 'b'), ('c', 'd')]", {"a": "b", "c": "d"}, False),
        ("renamed_modules = [('a', 'b'), 'junk']", {"a": "b"}, True),
        ("renamed_modules = {'a': 'b', 'c': compute()}", {"a": "b"}, True),
        ("renamed_modules = {'a': 'b', 1: 'x'}", {"a": "b"}, True),
        ("renamed_modules = load()", {}, True),
        ("renamed_modules = {'a': 'b'}\nrenamed_modules = {'c': 'd'}", {"c": "d"}, False),
        ("if True:\n    renamed_modules = {'a': 'b'}", {"a": "b"}, False),
        ("other = {'a': 'b'}", {}, False),
    ],
)
def test_forms(text: str, renamed: dict, warned: bool) -> None:
    parsed = parse_apriori(text, "apriori.py")
    assert parsed.renamed_modules == renamed
    assert bool(parsed.warnings) is warned


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("renamed_modules = {'a': 'b'", "syntax error"),
        ("renamed_modules = {'a': 'b'}\x00", "apriori.py"),
        (b"renamed_modules = {'\xe9': 'b'}", "not UTF-8"),
    ],
)
def test_unreadable_files_are_warnings(text: str | bytes, fragment: str) -> None:
    parsed = parse_apriori(text, "apriori.py")
    assert parsed == Apriori(source="apriori.py", warnings=parsed.warnings)
    assert fragment in parsed.warnings[0]
    assert parsed.warnings[0].startswith("apriori.py")


def test_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"open({str(marker)!r}, 'w').write('x')\nrenamed_modules = {{'a': 'b'}}\n"
    assert parse_apriori(text, "apriori.py").renamed_modules == {"a": "b"}
    assert not marker.exists()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    parsed = parse_apriori(text, "r.py")
    assert isinstance(parsed, Apriori)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=8),
    st.sampled_from(["renamed_modules", "merged_modules", "renamed_models", "merged_models"]),
)
def test_any_literal_mapping_is_read_back(mapping: dict, name: str) -> None:
    parsed = parse_apriori(f"# OCA/...\n{name} = {mapping!r}\n", "r.py")
    assert getattr(parsed, name) == mapping
    assert parsed.warnings == ()
