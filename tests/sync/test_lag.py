"""The pure part of upstream lag: modules of paths, summaries, merge messages."""

from __future__ import annotations

import pytest

from ouhub.records import BranchLag, UnmergedRevision
from ouhub.sync.lag import (
    NO_MODULE,
    group_by_module,
    merge_message,
    module_of,
    module_roots,
)

TREE = [
    "addons/sale/__openerp__.py",
    "addons/sale/sale.py",
    "addons/sale/wizard/make_invoice.py",
    "addons/stock/__terp__.py",
    "openerp/addons/base/__openerp__.py",
    "openerp/addons/base/res/res_partner.py",
    "account/__manifest__.py",
    "account/models/move.py",
    "openerp/tools/misc.py",
    "README",
    "__openerp__.py",  # a manifest at the root is no module directory
]
ROOTS = module_roots(TREE)


def test_module_roots_are_directories_with_a_manifest() -> None:
    assert {"addons/sale", "addons/stock", "openerp/addons/base", "account"} == ROOTS


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("addons/sale/sale.py", "sale"),
        ("addons/sale/wizard/make_invoice.py", "sale"),
        ("addons/sale/__openerp__.py", "sale"),
        ("openerp/addons/base/res/res_partner.py", "base"),
        ("account/models/move.py", "account"),
        ("addons/stock/stock.py", "stock"),
        # not in the tree any more (a removed module): the directory after addons/
        ("addons/project_gtd/project_gtd.py", "project_gtd"),
        ("openerp/addons/web_old/static/x.js", "web_old"),
        # outside any module
        ("openerp/tools/misc.py", None),
        ("README", None),
        ("addons/README", None),
    ],
)
def test_module_of(path: str, module: str | None) -> None:
    assert module_of(path, ROOTS) == module


def test_group_by_module_puts_stray_files_last() -> None:
    groups = group_by_module(
        ["openerp/tools/misc.py", "addons/sale/sale.py", "openerp/addons/base/res/res_partner.py",
         "addons/sale/sale.py"], ROOTS,
    )
    assert groups == {
        "base": ["openerp/addons/base/res/res_partner.py"],
        "sale": ["addons/sale/sale.py"],
        NO_MODULE: ["openerp/tools/misc.py"],
    }


def _rev(n: int, author: str, date: str, modules: tuple[str, ...] = ()) -> UnmergedRevision:
    return UnmergedRevision(f"rev-{n}", str(n), author, date, f"change {n}\n\nbody", modules)


def test_lag_summary() -> None:
    lag = BranchLag("7.0", "server", "lp:openobject-server/7.0", unmerged=(
        _rev(2, "Bob <b@x>", "2013-02-01T00:00:00+00:00", ("sale",)),
        _rev(3, "Alice <a@x>", "2013-01-01T00:00:00+00:00", ("base", "sale")),
        _rev(4, "Alice <a@x>", "2013-03-01T00:00:00+00:00"),
    ))
    assert lag.count == 3
    assert lag.oldest == "2013-01-01T00:00:00+00:00"
    assert lag.authors == ("Alice <a@x>", "Bob <b@x>")
    assert lag.modules == ("base", "sale")
    assert lag.as_dict()["unmerged"][1]["modules"] == ["base", "sale"]
    empty = BranchLag("7.0", "server", "x")
    assert (empty.count, empty.oldest, empty.authors) == (0, None, ())


def test_merge_message_lists_each_revision() -> None:
    message = merge_message("lp:openobject-server/7.0", [
        _rev(2, "Bob <b@x>", "2013-02-01T00:00:00+00:00", ("sale",)),
        _rev(3, "Alice <a@x>", "2013-01-01T00:00:00+00:00"),
    ])
    assert message.splitlines() == [
        "Merge upstream lp:openobject-server/7.0 (2 revisions)",
        "",
        "- r2 2013-02-01 Bob <b@x>: change 2 [sale]",
        "- r3 2013-01-01 Alice <a@x>: change 3",
    ]
