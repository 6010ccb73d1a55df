"""The site shows the work: release sections, todo chips, module history, contributions.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ouhub import config as config_mod
from ouhub.contributions.stage import run_contributions
from ouhub.site.build import build_site
from ouhub.store import Store
from tests.contributions.test_stage import NOW, TOKEN_ENV, fill
from tests.site.links import assert_valid_hrefs
from tests.support.config import make_config
from tests.support.fill import module, scan
from tests.support.github_server import GitHubServer

TOKEN = "ghp_S1teMustNeverShowThis"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store]]:
    """One site, built once for the module's tests (they only read it)."""
    tmp_path = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as monkeypatch, GitHubServer(token=TOKEN) as gh:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        fill(gh)
        hostile = gh.add_pull(5100, '[17.0][OU-ADD] mrp: <script>alert("x")</script>',
                              base="17.0", author="mallory", created_at="2024-08-15T00:00:00Z",
                              html_url="javascript:alert(1)", labels=["Blocked by dependency"])
        hostile.add_file("openupgrade_scripts/scripts/mrp/17.0.1.0/pre-migration.py")
        branch = "https://github.com/OCA/OpenUpgrade.git,branch={}"
        config: config_mod.Config = make_config(
            tmp_path, {"16.0": {"openupgrade": branch.format("16.0")},
                       "17.0": {"openupgrade": branch.format("17.0")}},
            contributions={"api": gh.api, "token_env": TOKEN_ENV, "stale_days": 3650},
            site={"output": str(tmp_path / "site")})
        with Store.open(config.store_path) as store:
            scan(store, "17.0", "16.0", [module("17.0", m, "todo", size=s) for m, s in
                                         (("project", 30), ("sale", 20), ("mrp", 10))])
            assert run_contributions(config, store, now=NOW).ok
            build_site(config, store)
            yield config.site.output, store


def test_release_page_sections_and_chips(site: tuple[Path, Store]) -> None:
    out, _store = site
    page = (out / "releases/17.0.html").read_text()
    assert 'id="in-progress"' in page and 'id="waiting-for-review"' in page
    assert 'id="duplicates"' in page and "project</a>: 2 open pull requests" in page
    chips = page.count('data-status="todo_in_progress"')
    assert chips == 4  # project and mrp, in the module table and in "needs scripts"
    assert "todo \u00b7 in progress" in page
    waiting = page.split('id="waiting-table"')[1].split("</table>")[0]
    # oldest first: #4950 (a typo fix, no module) is the only one ready since 20 Aug
    assert waiting.index(">#5010<") < waiting.index(">#5100<") < waiting.index(">#4950<")
    assert "Blocked by dependency" in waiting
    assert "sale: merged unticked (line 1: - [ ] sale - By @dave - #4900)" in page
    assert 'href="https://github.test/OCA/OpenUpgrade/issues/4124"' in page


def test_untrusted_text_stays_text(site: tuple[Path, Store]) -> None:
    out, _store = site
    page = (out / "releases/17.0.html").read_text()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "javascript:" not in page
    assert '<span class="inert">#5100</span>' in page  # its URL is not http(s): no link
    assert_valid_hrefs(out)


def test_module_page_lists_the_work_and_its_history(site: tuple[Path, Store]) -> None:
    out, _store = site
    page = (out / "modules/project.html").read_text()
    table = page.split('id="work-table"')[1].split("</table>")[0]
    assert table.index(">#5010<") < table.index(">#5002<")  # newest first
    assert "open, duplicate of #5010" in table and "@alice" in table
    sale = (out / "modules/sale.html").read_text()
    assert ">#4900<" in sale and "merged" in sale


def test_contributions_json(site: tuple[Path, Store]) -> None:
    out, _store = site
    data = json.loads((out / "api/17.0/contributions.json").read_text())
    assert data["schema_version"] == 1 and data["release"] == "17.0"
    assert data["tracking"]["number"] == 4124
    assert {w["ref"] for w in data["work"]} == {"#4900", "#4950", "#5002", "#5010", "#5100"}
    assert data["duplicates"] == {"project": ["#5002", "#5010"]}
    assert data["waiting_for_review"] == ["#5010", "#5100", "#4950"]
    assert [d["kind"] for d in data["drift"]] == ["merged_unticked", "ticked_unmerged"]
    # 16.0 is the first configured release: no step leads to it, no page nor JSON
    assert not (out / "api/16.0/contributions.json").exists()


def test_the_token_is_nowhere_in_the_site(site: tuple[Path, Store]) -> None:
    out, _store = site
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
