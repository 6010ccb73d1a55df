"""check.js in the real browser: the shared vectors give the same reports as ouhub.check.rules.

check.js is loaded into a blank page (no site needed) and its pure functions are
called with each vector; the report must equal Python's ``CheckReport.to_dict()``
key for key, and both must match the vector's expected verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ouhub.check.data import check_data_js
from ouhub.check.modlist import ModuleListError, parse_module_list
from ouhub.check.rules import decide_verdicts
from tests.test_check import DECIDE, ERRORS, VECTORS, check_vector

CHECK_JS = Path(__file__).parents[2] / "ouhub" / "site" / "static" / "check.js"


@pytest.fixture(scope="module")
def js_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A blank page (file://) with check.js loaded, in the session's browser
    (tests/site/conftest.py); console or page errors fail the module."""
    blank = tmp_path_factory.mktemp("checkjs") / "blank.html"
    blank.write_text("<!doctype html><meta charset=utf-8><title>blank</title><body></body>")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(blank.as_uri())
    page.add_script_tag(path=str(CHECK_JS))
    yield page
    context.close()
    assert not errors, errors


def js_decide(page: Any, vector: dict[str, Any]) -> dict[str, Any]:
    return page.evaluate(
        """([modules, source, target, data, now]) => {
            try { return {report: OuhubCheck.decide(modules, source, target, data, now)}; }
            catch (e) { return {error: e.message, hint: e.hint, name: e.name}; }
        }""",
        [vector["modules"], vector["source"], vector["target"], VECTORS["data"][vector["data"]],
         vector.get("now")],
    )


@pytest.mark.parametrize("vector", DECIDE, ids=[v["name"] for v in DECIDE])
def test_js_decide_agrees_with_python(js_page: Any, vector: dict[str, Any]) -> None:
    result = js_decide(js_page, vector)
    assert "report" in result, result
    check_vector(vector, result["report"])
    python = decide_verdicts(vector["modules"], vector["source"], vector["target"],
                             VECTORS["data"][vector["data"]], now=vector.get("now")).to_dict()
    assert result["report"] == python


@pytest.mark.parametrize("vector", ERRORS, ids=[v["name"] for v in ERRORS])
def test_js_decide_rejects_bad_releases(js_page: Any, vector: dict[str, Any]) -> None:
    result = js_decide(js_page, vector)
    assert result.get("name") == "CheckError"
    assert vector["error"] in result["error"] and result["hint"]


@pytest.mark.parametrize("vector", VECTORS["parse"], ids=[v["name"] for v in VECTORS["parse"]])
def test_js_parse_agrees_with_python(js_page: Any, vector: dict[str, Any]) -> None:
    result = js_page.evaluate(
        """(text) => {
            try { return {modules: OuhubCheck.parseModuleList(text)}; }
            catch (e) { return {error: e.message, junk: e.junkLines, hint: e.hint}; }
        }""",
        vector["text"],
    )
    if "modules" in vector:
        assert result == {"modules": vector["modules"]}
        assert tuple(result["modules"]) == parse_module_list(vector["text"])
        return
    with pytest.raises(ModuleListError) as info:
        parse_module_list(vector["text"])
    assert result["junk"] == vector.get("junk", []) == list(info.value.junk_lines)
    assert result["error"].split(":")[1] == info.value.message.split(":")[1]
    assert result["hint"] == info.value.hint


def test_check_page_shows_verdicts_as_text(page: Any, tmp_path: Path) -> None:
    """The page part: paste a list, pick releases, read verdicts; hostile data stays text."""
    data = VECTORS["data"]["hostile"]
    (tmp_path / "check-data.js").write_text(check_data_js(data))
    (tmp_path / "check.html").write_text(
        "<!doctype html><meta charset=utf-8><title>check</title>"
        '<div id="ouhub-check"></div>'
        '<script src="check-data.js"></script>'
        f'<script src="{CHECK_JS.as_uri()}"></script>'
    )
    page.goto((tmp_path / "check.html").as_uri())
    assert page.input_value("#check-from") == "7.0"
    assert page.input_value("#check-to") == "8.0"
    page.fill("#check-modules", "base\n<script>alert(1)</script>\n")
    page.click("#check-submit")
    assert "not module names" in page.text_content("#check-error")
    page.fill("#check-modules", "base, my_custom  # mine\n")
    page.click("#check-submit")
    summary = page.text_content("#check-summary")
    assert summary == "2 modules from 7.0 to 8.0: 1 ok, 0 at risk, 0 blocked, 1 not covered."
    assert "7.0 → 8.0" in page.text_content("#check-steps")
    rows = page.eval_on_selector_all(
        "#check-table tbody tr",
        "rows => rows.map(r => [r.dataset.module, r.cells[1].textContent, r.cells[2].textContent])",
    )
    # the worst first; a module of the coverage links to its page, others are text
    assert rows == [["my_custom", "not covered", "not covered"], ["base", "ok", "ok"]]
    assert "javascript:alert(3)" in page.text_content("tr[data-module=base] .reasons")
    assert page.eval_on_selector_all("#check-table a", "a => a.map(x => x.getAttribute('href'))"
                                     ) == ["modules/base.html"]
    assert page.locator("#check-table img, #check-table script").count() == 0
    # uploading a file runs the check on its content
    listing = tmp_path / "modules.txt"
    listing.write_text("# from our server\nbase\n")
    page.fill("#check-modules", "")
    page.click("#check-submit")
    assert "no module names found" in page.text_content("#check-error")
    page.set_input_files("#check-file", str(listing))
    page.wait_for_selector("#check-summary")
    assert page.input_value("#check-modules") == listing.read_text()
    assert page.text_content("#check-summary") == (
        "1 module from 7.0 to 8.0: 1 ok, 0 at risk, 0 blocked, 0 not covered.")
    assert not page.dialogs and not page.errors


def test_built_site_check_page_agrees_with_the_cli(page: Any, tmp_path: Path) -> None:
    """A site built from a store, the same module list in its check page and in
    `ouhub check`: the same verdict per module and step, the same steps spelled out."""
    from click.testing import CliRunner

    from ouhub.check.data import build_check_data
    from ouhub.cli import main
    from ouhub.site.build import build_site
    from ouhub.store import Store
    from tests.support import fill
    from tests.support.config import make_config

    config = make_config(tmp_path, ["6.1", "7.0", "8.0"])
    with Store.open(config.store_path) as store:
        fill.small_store(store)
        build_site(config, store)
        published = json.loads((config.site.output / "api" / "check-data.json").read_text())
        assert published == build_check_data(config, store)
    modules = "account\nbase sale, stock\ncrm\nold_mod\nhr_timesheet_old  # renamed, then merged\n"
    modules += "my_company_reports\n"
    cli = CliRunner().invoke(main, [
        "check", "--data", str(config.site.output / "api" / "check-data.json"),
        "--from", "6.1", "--to", "8.0", "--modules", modules.replace("\n", " ").replace(
            "# renamed, then merged", ""), "--format", "json"])
    assert cli.exit_code == 2, cli.output
    report = json.loads(cli.stdout)
    expected = {m["module"]: {s["release"]: s["verdict"] for s in m["steps"]} | {
        "verdict": m["verdict"]} for m in report["modules"]}

    page.goto((config.site.output / "check.html").as_uri())
    page.fill("#check-modules", modules)
    page.select_option("#check-from", "6.1")
    page.select_option("#check-to", "8.0")
    page.click("#check-submit")
    page.wait_for_selector("#check-summary")
    shown = page.eval_on_selector_all("#check-table tbody tr", """rows => rows.map(r => [
        r.dataset.module,
        Array.from(r.querySelectorAll('td')).slice(0, -1).map(
            td => td.dataset.verdict || null)])""")
    on_page = {name: dict(zip(["7.0", "8.0", "verdict"], cells, strict=True)) for name, cells
               in shown}
    for cells in on_page.values():  # a chain that stopped shows no verdict in later steps
        for key in [k for k, v in cells.items() if v is None]:
            del cells[key]
    assert on_page == expected
    severity = ["blocked", "not_covered", "at_risk", "ok"]
    order = [severity.index(on_page[name]["verdict"]) for name, _ in shown]
    assert order == sorted(order)  # the worst first
    links = page.eval_on_selector_all("#check-table tbody th a",
                                      "a => a.map(x => x.getAttribute('href'))")
    assert links and "modules/my_company_reports.html" not in links
    assert all((config.site.output / href).is_file() for href in links)
    assert expected["hr_timesheet_old"] == {"7.0": "ok", "8.0": "ok", "verdict": "ok"}
    assert expected["my_company_reports"]["verdict"] == "not_covered"
    assert "6.1 → 7.0, 7.0 → 8.0" in page.text_content("#check-steps")
    row = page.locator("tr[data-module=hr_timesheet_old]")
    assert "renamed to hr_timesheet" in row.locator("td").nth(0).text_content()
    assert "as hr_timesheet" in row.locator("td").nth(1).text_content()
    summary = report["summary"]
    assert page.text_content("#check-summary") == (
        f"{summary['modules']} modules from 6.1 to 8.0: {summary['ok']} ok, "
        f"{summary['at_risk']} at risk, {summary['blocked']} blocked, "
        f"{summary['not_covered']} not covered.")
    assert page.errors == []
