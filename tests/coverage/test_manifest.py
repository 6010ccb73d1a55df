"""Manifests are read as dict literals, never executed; every failure names its file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ouhub.coverage.manifest import (
    Manifest,
    ManifestError,
    find_manifest_name,
    parse_manifest,
)
from ouhub.errors import CoverageError
from ouhub.vocab import MANIFEST_NAMES

# the shape of a real 6.1 addons manifest: licence block, coding cookie, u'' strings,
# a trailing comma, the old 'active' key
OPENERP_61 = '''# -*- coding: utf-8 -*-
##############################################################################
#
#    OpenERP, Open Source Management Solution
#    Copyright (C) 2004-2010 Tiny SPRL (<http://tiny.be>).
#
#    This program is free software: you can redistribute it and/or modify
#    it under the terms of the GNU Affero General Public License as
#
##############################################################################
{
    'name': 'Accounting and Financial Management',
    'version': '1.1',
    'author': u'OpenERP SA — Société',
    'depends': ['base_setup', 'product', 'analytic', 'process', 'board', 'edi'],
    'description': """
Accounting and Financial Management.
    """,
    'demo_xml': [],
    'installable': True,
    'active': False,
    'certificate': '0080331923549',
}
# vim:expandtab:smartindent:tabstop=4:softtabstop=4:shiftwidth=4:
'''

MANIFEST_17 = """# Copyright 2024 Someone
# License AGPL-3.0 or later (http://www.gnu.org/licenses/agpl).
{
    "name": "Sale Stock",
    "version": "17.0.1.0.0",
    "depends": ["sale", "stock_account",],
    "auto_install": ["sale", "stock_account"],
    "license": "LGPL-3",
}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            OPENERP_61,
            Manifest(
                source="x",
                name="Accounting and Financial Management",
                version="1.1",
                depends=("base_setup", "product", "analytic", "process", "board", "edi"),
                installable=True,
                auto_install=False,
            ),
        ),
        (
            MANIFEST_17,
            Manifest(
                source="x",
                name="Sale Stock",
                version="17.0.1.0.0",
                depends=("sale", "stock_account"),
                installable=True,
                auto_install=True,
            ),
        ),
        ("{'name': 'x', 'active': True}", Manifest("x", "x", None, (), True, True)),
        ("{'name': 'x', 'installable': False}", Manifest("x", "x", None, (), False, False)),
        ("{'version': 1.0}", Manifest("x", None, "1.0", (), True, False)),
        ("{}", Manifest("x", None, None, (), True, False)),
        ('"""A docstring first."""\n{"name": "d"}', Manifest("x", "d", None, (), True, False)),
        ("{'name': u'caf\u00e9', 'depends': ('base',)}", Manifest("x", "café", None, ("base",))),
        # auto_install wins over the old 'active' key when both are present
        ("{'active': True, 'auto_install': False}", Manifest("x", None, None, (), True, False)),
    ],
)
def test_valid_manifests(text: str, expected: Manifest) -> None:
    parsed = parse_manifest(text, "x")
    assert parsed == expected
    assert parsed.warnings == ()


def test_raw_keeps_every_key() -> None:
    parsed = parse_manifest(OPENERP_61, "account/__openerp__.py")
    assert parsed.raw["certificate"] == "0080331923549"
    assert parsed.source == "account/__openerp__.py"


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("{'depends': 'base'}", "'depends' is a string"),
        ("{'depends': None}", "'depends' is not a list"),
        ("{'depends': ['base', 3]}", "entry 3 is not a string"),
        ("{'installable': 'False'}", "'installable' is a string"),
        ("{'name': 7}", "'name' is not a string"),
        ("{'version': ['1']}", "'version' is not a string"),
    ],
)
def test_odd_values_are_warnings(text: str, warning: str) -> None:
    parsed = parse_manifest(text, "m/__manifest__.py")
    assert any(warning in w and "m/__manifest__.py" in w for w in parsed.warnings)


def test_string_flag_read_by_meaning() -> None:
    assert parse_manifest("{'installable': 'False'}", "x").installable is False
    assert parse_manifest("{'depends': 'base'}", "x").depends == ("base",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("['name', 'x']", "not a dict"),
        ("'just a string'", "expected one dict literal, found nothing"),
        ("{'name': 'x'", "syntax error"),
        ("{'name': 'x'}\n{'name': 'y'}", "2 statements"),
        ("x = {'name': 'x'}", "assign statement"),
        ("dict(name='x')", "not a dict"),
        ("{'name': get_name()}", "other than literals"),
        ("{'name': __import__('os').getcwd()}", "other than literals"),
        ("{['a']: 1}", "other than literals"),
        ("", "found nothing"),
        ("{'a': 1}\x00", "manifest"),
        ("(" * 500 + ")" * 500, "manifest"),
    ],
)
def test_invalid_manifests_name_their_source(text: str, fragment: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "addons/foo/__manifest__.py")
    assert isinstance(caught.value, CoverageError)
    assert str(caught.value).startswith("addons/foo/__manifest__.py")
    assert fragment in str(caught.value)
    assert caught.value.hint


def test_syntax_error_gives_the_line() -> None:
    with pytest.raises(ManifestError, match=r"foo/__openerp__.py: line 3 syntax error"):
        parse_manifest("{\n 'name': 'x',\n 'depends': ['a' 'b',,],\n}", "foo/__openerp__.py")


def test_code_in_a_manifest_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"{{'name': open({str(marker)!r}, 'w').write('x')}}"
    with pytest.raises(ManifestError):
        parse_manifest(text, "evil/__manifest__.py")
    assert not marker.exists()


def test_bytes_in_utf8_with_bom() -> None:
    data = "\ufeff{'name': 'Comptabilité'}".encode()
    assert parse_manifest(data, "x").name == "Comptabilité"


def test_bytes_with_a_latin1_coding_cookie() -> None:
    data = "# -*- coding: latin-1 -*-\n{'name': 'Comptabilité'}".encode("latin-1")
    assert parse_manifest(data, "x").name == "Comptabilité"


def test_bytes_not_utf8_is_a_manifest_error() -> None:
    data = "{'name': 'Comptabilité'}".encode("latin-1")
    with pytest.raises(ManifestError, match=r"^l10n_fr/__terp__.py: not valid utf-8"):
        parse_manifest(data, "l10n_fr/__terp__.py")


def test_unknown_coding_cookie() -> None:
    with pytest.raises(ManifestError, match="^m/__terp__.py"):
        parse_manifest(b"# -*- coding: klingon -*-\n{}", "m/__terp__.py")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["__init__.py", "__openerp__.py", "__manifest__.py"], "__manifest__.py"),
        (["__terp__.py", "__openerp__.py"], "__openerp__.py"),
        (["__terp__.py"], "__terp__.py"),
        (["__init__.py", "models"], None),
    ],
)
def test_preferred_manifest_name(names: list[str], expected: str | None) -> None:
    assert find_manifest_name(names) == expected
    assert MANIFEST_NAMES[0] == "__manifest__.py"


# -- property-based: random input never escapes as anything but ManifestError --

literals = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_gives_a_manifest_or_a_manifest_error(text: str) -> None:
    try:
        parsed = parse_manifest(text, "r/__manifest__.py")
    except ManifestError as exc:
        assert "r/__manifest__.py" in str(exc)
    else:
        assert isinstance(parsed, Manifest)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_a_manifest_or_a_manifest_error(data: bytes) -> None:
    try:
        parse_manifest(data, "r/__manifest__.py")
    except ManifestError as exc:
        assert "r/__manifest__.py" in str(exc)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), literals, max_size=4))
def test_any_dict_literal_round_trips(data: dict) -> None:
    parsed = parse_manifest(repr(data), "x")
    assert dict(parsed.raw) == data
    name = data.get("name")
    assert parsed.name == (name if name is None or isinstance(name, str) else str(name))
