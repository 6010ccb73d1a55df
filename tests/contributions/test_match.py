"""match.py: pull requests and merge proposals to (release, module), from real titles,
paths, docsource rows and tracking issue lines of OCA/OpenUpgrade."""

from __future__ import annotations

import pytest

from ouhub.contributions.match import (
    docsource_rows,
    match_proposal,
    match_pull,
    parse_tracking,
    script_modules,
    superseded_by,
    supersedes,
    title_modules,
)
from ouhub.records import MatchEvidence, MergeProposal, Pull, PullFile

KNOWN = frozenset({
    "account", "base", "maintenance", "marketing", "mrp", "note", "portal", "project",
    "project_todo", "repair", "sale", "sale_stock", "stock", "website_slides",
})


@pytest.mark.parametrize("title, modules, named", [
    # real titles of OCA/OpenUpgrade pull requests
    ("[17.0][OU-ADD] project: Migration scripts", ["project"], True),
    ("[14.0][OU-ADD] repair: Migration scripts", ["repair"], True),
    ("[14.0][ADD] repair: Migration Script.", ["repair"], True),
    ("[MIG][14.0] website_slides: migration script", ["website_slides"], True),
    ("[MIG][15.0] maintenance: migration script", ["maintenance"], True),
    ("[ADD] website_slides: Migration scripts", ["website_slides"], True),
    ("[ADD] marketing: Migration scripts", ["marketing"], True),
    ("[15.0][MIG] portal: migration script", ["portal"], True),
    ("[17.0][OU-ADD] note > project_todo: Migration scripts", ["note", "project_todo"], True),
    ("[DOC] Describe how to propose a migration script to the community.", [], False),
    # the older style without a colon: known module tokens, as a fallback
    ("[12.0][MIG] mrp", ["mrp"], False),
    ("[13.0] [MIG] account", ["account"], False),
    # exact tokens only: sale_stock is not sale nor stock
    ("[17.0][OU-ADD] sale_stock: Migration scripts", ["sale_stock"], True),
    ("[18.0][OU-ADD] sale, sale_stock: migration scripts", ["sale", "sale_stock"], True),
    ("[16.0][OU-FIX] account: compute fields", ["account"], True),
    ("[17.0][OU-ADD] unknown_module: Migration scripts", [], True),
])
def test_title_modules(title: str, modules: list[str], named: bool) -> None:
    assert title_modules(title, KNOWN) == (modules, named)


def test_title_needs_the_module_list() -> None:
    assert title_modules("[17.0][OU-ADD] project: Migration scripts", None) == ([], True)


@pytest.mark.parametrize("path, release, module", [
    ("openupgrade_scripts/scripts/project/17.0.1.3/post-migration.py", "17.0", "project"),
    ("openupgrade_scripts/scripts/base/17.0.1.3/upgrade_analysis_work.txt", "17.0", "base"),
    ("openupgrade_scripts/scripts/account/14.0.1.1/pre-migration.py", "14.0", "account"),
    ("openupgrade_scripts/scripts/project/16.0.1.3/post-migration.py", "17.0", None),
    ("openupgrade_scripts/scripts/project/17.0.1.3/post-migration.py", "13.0", None),
    ("addons/stock/migrations/13.0.1.1/pre-migration.py", "13.0", "stock"),
    ("odoo/addons/base/migrations/13.0.1.3/end-migration.py", "13.0", "base"),
    ("openerp/addons/base/migrations/7.0.1.3/pre-migration.py", "7.0", "base"),
    ("account/migrations/7.0.1.1/post-migration.py", "7.0", "account"),
    ("addons/account/migrations/17.0.1.2/post-migration.py", "17.0", None),  # Odoo's own
    ("openupgrade_scripts/apriori.py", "17.0", None),
    ("docsource/modules160-170.rst", "17.0", None),
])
def test_script_modules(path: str, release: str, module: str | None) -> None:
    assert list(script_modules([path], release)) == ([module] if module else [])


PATCH = """\
@@ -10,7 +10,7 @@
 +----------------------------------------------+-------------------------------------------------+
-|project                                       |                                                 |
+|project                                       |Done                                             |
 +----------------------------------------------+-------------------------------------------------+
-|project_todo                                  |                                                 |
+|project_todo                                  |Nothing to do                                    |
 +----------------------------------------------+-------------------------------------------------+
+| |new| project_sms                            |                                                 |
-|note                                          |                                                 |
+|                                              | continued cell                                  |
"""


def test_docsource_rows_give_the_status_once_merged() -> None:
    assert docsource_rows("docsource/modules160-170.rst", PATCH, "17.0") == {
        "project": "done", "project_todo": "nothing_to_do", "project_sms": None, "note": None,
    }


def test_docsource_rows_of_the_bzr_era_file() -> None:
    patch = "@@ -1 +1 @@\n-|hr_expense | |\n+|hr_expense |Done |"
    assert docsource_rows("doc/source/modules61-70.rst", patch, "7.0") == {"hr_expense": "done"}


@pytest.mark.parametrize("filename, release", [
    ("docsource/modules150-160.rst", "17.0"),  # another step's file
    ("docsource/modules160-170.rst", "16.0"),
    ("README.md", "17.0"),
])
def test_docsource_rows_of_other_files(filename: str, release: str) -> None:
    assert docsource_rows(filename, PATCH, release) == {}


TRACKING = """\
Full list of modules available here : https://github.com/OCA/OpenUpgrade/blob/17.0/docsource/modules160-170.rst

# Pending / done work
- [x] website_sale - By @pilarvargas-tecnativa - #4687
- [ ] website_sale_comparison - By @acpMicrocom - #4629
- [ ] website_twitter
- [x] ~~note~~ - By @pedrobaeza - https://github.com/OCA/OpenUpgrade/pull/4914
- [X] account - By @someone - #4167, #4200

**Not understood removal**
- ``spreadsheet_dashboard_sale_expense`` : ???
"""


def test_parse_tracking_lines() -> None:
    lines = parse_tracking(TRACKING)
    assert [(t.module, t.ticked, t.login, t.numbers, t.line) for t in lines] == [
        ("website_sale", True, "pilarvargas-tecnativa", (4687,), 4),
        ("website_sale_comparison", False, "acpMicrocom", (4629,), 5),
        ("website_twitter", False, None, (), 6),
        ("note", True, "pedrobaeza", (4914,), 7),
        ("account", True, "someone", (4167, 4200), 8),
    ]
    assert lines[0].text == "- [x] website_sale - By @pilarvargas-tecnativa - #4687"


@pytest.mark.parametrize("text, older, newer", [
    ("Supersedes #4469\n\nTT49321 @Tecnativa", [4469], None),
    ("Supersedes https://github.com/OCA/OpenUpgrade/pull/2781.", [2781], None),
    ("Replaces https://github.com/OCA/OpenUpgrade/pull/3276.", [3276], None),
    ("Superseded by https://github.com/OCA/OpenUpgrade/pull/2997.", [], 2997),
    ("superseded by #5100", [], 5100),
    ("This PR\n======\ndone migration", [], None),
])
def test_supersede_texts(text: str, older: list[int], newer: int | None) -> None:
    assert (supersedes(text), superseded_by(text)) == (older, newer)


def _pull(number: int = 5002, title: str = "[17.0][OU-ADD] project: Migration scripts",
          base: str = "17.0") -> Pull:
    return Pull(
        number=number, title=title, state="open", merged=False, draft=False, author="alice",
        author_is_bot=False, created_at="2024-01-01T00:00:00+00:00",
        updated_at="2024-01-01T00:00:00+00:00", closed_at=None, merged_at=None, base=base,
        head_sha="abc", head_ref="17.0-mig-project", url=f"https://github.com/x/pull/{number}",
    )


def _file(name: str, patch: str | None = None) -> PullFile:
    return PullFile(filename=name, status="added", additions=1, deletions=0, patch=patch)


def test_match_evidence_strongest_first() -> None:
    files = [_file("openupgrade_scripts/scripts/project/17.0.1.3/post-migration.py"),
             _file("docsource/modules160-170.rst", PATCH)]
    tracking = parse_tracking("- [ ] project - By @alice - #5002\n- [ ] note - By @x - #6000")
    matches = match_pull(_pull(), files, {"17.0": KNOWN, "16.0": KNOWN}, tracking)
    by_module = {m.module: m for m in matches}
    assert sorted(by_module) == ["note", "project", "project_sms", "project_todo"]
    project = by_module["project"]
    assert [e.kind for e in project.evidence] == ["base", "scripts", "docsource", "tracking",
                                                  "title"]
    assert project.evidence[1].detail.endswith("17.0.1.3/post-migration.py")
    assert project.evidence[3].detail == "line 1: - [ ] project - By @alice - #5002"
    assert project.declared_status == "done" and project.writing
    assert by_module["project_todo"].declared_status == "nothing_to_do"
    assert not by_module["project_todo"].writing  # only its docsource row changed


def test_a_pull_into_an_unconfigured_branch_matches_nothing() -> None:
    assert match_pull(_pull(base="master"), [], {"17.0": KNOWN}) == []


def test_a_pull_touching_no_module_is_listed_under_its_release() -> None:
    pull = _pull(title="[17.0][DOC] Fix a typo in the README")
    matches = match_pull(pull, [_file("README.md")], {"17.0": KNOWN})
    assert [(m.release, m.module, m.evidence) for m in matches] == [
        ("17.0", None, (MatchEvidence("base", "17.0"),))]


def test_free_text_title_is_only_a_fallback() -> None:
    pull = _pull(title="[17.0] improve stock handling")
    strong = match_pull(pull, [_file("openupgrade_scripts/scripts/sale_stock/17.0.1.0/x.py")],
                        {"17.0": KNOWN})
    assert [m.module for m in strong] == ["sale_stock"]
    assert [m.module for m in match_pull(pull, None, {"17.0": KNOWN})] == ["stock"]


def test_tracking_line_alone_ties_a_pull_to_a_module() -> None:
    pull = _pull(title="[17.0] Migration scripts")
    tracking = parse_tracking("- [x] project_todo - By @alice - #5002")
    matches = match_pull(pull, None, {"17.0": None}, tracking)
    assert [(m.module, [e.kind for e in m.evidence]) for m in matches] == [
        ("project_todo", ["base", "tracking"])]


def _proposal(source: str, paths: tuple[str, ...] = (), target: str = "7.0") -> MergeProposal:
    return MergeProposal(
        url="https://code.launchpad.net/~x/+merge/1", project="openupgrade-addons",
        source_branch=source, target_branch=f"~openupgrade-committers/openupgrade-addons/{target}",
        release=target if target in ("6.1", "7.0") else None, registrant="stefan",
        status="Merged", created_at="2013-01-01T00:00:00+00:00", merged_at=None, paths=paths,
    )


def test_merge_proposals_by_diff_paths_then_branch_name() -> None:
    known = {"7.0": KNOWN, "6.1": KNOWN}
    by_diff = match_proposal(_proposal(
        "~therp/openupgrade-addons/7.0-migrate-stock",
        ("stock/migrations/7.0.1.1/pre-migration.py", "README")), known)
    assert [(m.module, [e.kind for e in m.evidence]) for m in by_diff] == [
        ("stock", ["base", "scripts"])]
    by_name = match_proposal(_proposal("~bob/openupgrade-addons/7.0-sale_stock-mig"), known)
    assert [(m.module, [e.kind for e in m.evidence]) for m in by_name] == [
        ("sale_stock", ["base", "branch"])]
    assert match_proposal(_proposal("~bob/openupgrade-addons/fix", target="trunk"), known) == []
