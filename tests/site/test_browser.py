"""The built site in headless Chromium: it renders, sorts, filters, checks, and runs nothing hostile."""

from __future__ import annotations

from pathlib import Path

import pytest

from ouhub.site.build import build_site
from ouhub.store import Store
from tests.support import fill
from tests.support.config import make_config


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("site")
    config = make_config(tmp, ["6.1", "7.0", "8.0"],
                         site={"code_browser": "https://code.example/{release}/{branch}/{path}"})
    with Store.open(config.store_path) as store:
        fill.small_store(store)
        build_site(config, store)
    return config.site.output


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    config = make_config(tmp, ["6.1", "7.0"],
                         site={"code_browser": fill.HOSTILE_URL + "{path}", "title": fill.HOSTILE})
    with Store.open(config.store_path) as store:
        fill.hostile_store(store)
        build_site(config, store)
    return config.site.output


def _open(page, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def test_index_renders(page, small_site):
    _open(page, small_site / "index.html")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 2
    first = rows.nth(0)
    assert "6.1 → 7.0" in first.locator("th").inner_text()
    assert "nothing to do 1" in first.inner_text()  # status by word, not only colour
    chips = {
        st: page.locator(f".legend .st[data-status='{st}']").evaluate(
            "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderColor,"
            " e.textContent]")
        for st in ("done", "nothing_to_do", "todo")
    }
    assert len({tuple(c[:2]) for c in chips.values()}) == 3  # never alike, on screen
    assert len({c[2][0] for c in chips.values()}) == 3  # nor by their symbols
    assert page.locator("svg.plot").count() == 2
    assert page.locator("img[src='badges/7.0.svg']").evaluate("img => img.naturalWidth") > 0
    assert page.errors == []


def test_pages_have_no_console_errors(page, small_site):
    for rel in ("index.html", "releases/7.0.html", "modules/hr_timesheet_old.html", "runs.html",
                "runs/2.html", "runs/series-7.0-demo61.html", "upstream.html", "check.html"):
        _open(page, small_site / rel)
        assert page.errors == [], rel


def test_release_table_filters_and_sorts(page, small_site):
    _open(page, small_site / "releases/7.0.html")
    rows = page.locator("#module-table tbody tr")
    visible = lambda: [r for r in rows.all() if r.is_visible()]  # noqa: E731
    assert len(visible()) == 9
    page.select_option("#filter-status", "todo")
    assert sorted(r.get_attribute("data-module") for r in visible()) == ["sale", "stock"]
    assert page.locator("#filter-count").inner_text() == "2 of 9 modules"
    page.select_option("#filter-status", "")
    page.fill("#filter-text", "HR_time")
    assert [r.get_attribute("data-module") for r in visible()] == [
        "hr_timesheet", "hr_timesheet_old"]
    page.fill("#filter-text", "")

    size = page.locator("#module-table thead th", has_text="open")
    size.click()
    order = [r.get_attribute("data-module") for r in rows.all()]
    assert order[-2:] == ["sale", "stock"] and size.get_attribute("aria-sort") == "ascending"
    size.click()
    order = [r.get_attribute("data-module") for r in rows.all()]
    assert order[:3] == ["stock", "sale", "crm"]  # open changes: 270, 120, 5
    page.locator("#module-table thead th", has_text="module").first.press("Enter")
    assert rows.first.get_attribute("data-module") == "account"
    assert page.errors == []


@pytest.mark.parametrize("page", [False], indirect=True)
def test_readable_without_javascript(page, small_site):
    _open(page, small_site / "releases/7.0.html")
    assert page.locator("#module-table tbody tr:visible").count() == 9
    assert not page.locator("form.filters").is_visible()  # filtering is all JS adds
    assert "1\tstock\t270\t300" in page.locator("#needs-table").inner_text()
    _open(page, small_site / "index.html")
    assert page.locator("svg.plot").first.is_visible()  # plots need no script
    _open(page, small_site / "check.html")
    assert "needs JavaScript" in page.locator("main").inner_text()


def _check(page, site: Path, modules: str, source: str, target: str):
    """The site's check page asked about ``modules`` from ``source`` to ``target``: its result."""
    _open(page, site / "check.html")
    page.fill("#check-modules", modules)
    page.select_option("#check-from", source)
    page.select_option("#check-to", target)
    page.click("#check-submit")
    result = page.locator("#check-result")
    result.locator("tr[data-module]").first.wait_for()
    return result


def test_check_page_gives_verdicts(page, small_site):
    result = _check(page, small_site, "account\nsale\nmy_custom_module\n", "6.1", "8.0")

    def verdict(module: str) -> str:
        return result.locator(f"tr[data-module='{module}'] [data-verdict]").first.get_attribute(
            "data-verdict")

    assert verdict("account") == "ok"
    assert verdict("sale") == "blocked"  # todo in 6.1 -> 7.0
    assert verdict("my_custom_module") == "not_covered"
    assert page.errors == []


@pytest.mark.slow
def test_hostile_strings_never_execute(page, hostile_site):
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) >= 6
    for path in pages:
        _open(page, path)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.locator("img[src='x']").count() == 0, path
        hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
        assert not [h for h in hrefs if h.strip().lower().startswith("javascript")], path
    assert page.dialogs == []
    # the hostile text is shown, as text
    _open(page, next(hostile_site.glob("runs/[0-9]*.html")))
    assert "<script>window.__pwned=1</script>" in page.locator("pre.log").first.inner_text()
    _open(page, hostile_site / "releases/7.0.html")
    inert = page.locator("#module-table .inert").all_inner_texts()
    assert fill.HOSTILE_URL in inert and fill.HOSTILE in inert  # shown, not linked


def test_hostile_check_page_stays_inert(page, hostile_site):
    _check(page, hostile_site, "account", "6.1", "7.0")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.dialogs == [] and page.errors == []


def test_pages_fit_a_phone(page, small_site):
    """On a 390 px screen the page never scrolls sideways: wide tables scroll in themselves."""
    page.set_viewport_size({"width": 390, "height": 800})
    pages = ["index.html", "releases/7.0.html", "modules/account.html", "modules/stock.html",
             "runs.html", "upstream.html", "check.html"]
    pages += [str(p.relative_to(small_site)) for p in sorted(small_site.glob("runs/*.html"))[:2]]
    for name in pages:
        _open(page, small_site / name)
        if name == "check.html":
            page.fill("#check-modules", "account sale stock crm my_custom_module_with_a_long_name")
            page.click("#check-submit")
            page.wait_for_selector("#check-summary")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width} px wide"
    assert page.errors == []
