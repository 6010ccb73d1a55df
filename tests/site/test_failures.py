"""The site's failures: Failures pages, classes on run and module pages, failures.json, feeds."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from ouhub.site.atom import ATOM_NS
from ouhub.site.build import build_site
from ouhub.store import Store
from tests.site.links import assert_valid_hrefs
from tests.support import fill
from tests.support.config import make_config

CODE = "https://code.example/{release}/{branch}/{path}?rev={revision}"


def built(tmp_path: Path, summary: str = "[FIX] sale: rename the column", **site):
    config = make_config(tmp_path, ["6.1", "7.0"], site={
        "code_browser": CODE, "feeds": [["stock", "sale"]], **site})
    with Store.open(config.store_path) as store:
        runs = fill.failures_store(store, summary)
        build_site(config, store)
    return config.site.output, runs


@pytest.fixture
def site(tmp_path: Path):
    return built(tmp_path)


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_the_failures_page_of_a_release(site):
    out, runs = site
    html = (out / "failures/7.0.html").read_text()
    sale = section(html, f"f-{fill.SALE_BROKE.key}")
    stock = section(html, f"f-{fill.STOCK_FAILS.key}")
    assert html.index(sale) < html.index(stock)  # the regression comes first
    assert 'data-status="regression"' in sale and "post stage, ProgrammingError" in sale
    assert "demo61:" in sale and f"last failed in run {runs['third']}" in sale
    assert f"run {runs['first']}</a>, passed, and" in sale
    assert ('<a href="https://code.example/7.0/server/openerp/addons/sale?rev=11" '
            'rel="nofollow noopener">11</a>') in sale
    assert "Bob &lt;bob@example.org&gt;" in sale and "[FIX] sale: rename the column" in sale
    assert "addons did not change between these runs." in sale
    assert "ProgrammingError: sale broke" in sale  # the excerpt
    assert "4 in 1 sample" not in sale and "2 in 1 sample" in sale
    # stock: fixed in demo61, flaky in big61 (passed and failed at the same revisions)
    assert f"fixed in run {runs['third']}" in stock and 'data-status="flaky"' in stock
    assert "3 in 2 samples" in stock and "Suspect commits" not in stock
    overview = (out / "failures.html").read_text()
    assert 'href="failures/7.0.html"' in overview and 'data-status="regression"' in overview
    assert_valid_hrefs(out)


def test_classes_on_run_and_module_pages(site):
    out, runs = site
    second = (out / f"runs/{runs['second']}.html").read_text()
    assert 'sale</a> <span class="st solid" style="--c:#b71c1c" data-status="regression">' in \
        second
    assert f'failures/7.0.html#f-{fill.SALE_BROKE.key}"><code>{fill.SALE_BROKE.key}' in second
    assert 'data-status="always_failing"' in second  # stock, on its second failure
    first = (out / f"runs/{runs['first']}.html").read_text()
    assert 'data-status="new"' in first
    stock = (out / "modules/stock.html").read_text()
    rows = {line.split("</a></th>")[0].rsplit(">", 1)[-1]: line
            for line in stock.splitlines() if line.startswith("<tr><th scope=\"row\"><a")}
    assert 'data-status="fixed"' in rows["demo61"] and 'data-status="flaky"' in rows["big61"]
    assert f'href="../{fill_feed(["stock"])}"' in stock


def fill_feed(modules: list[str]) -> str:
    return f"feeds/modules/{hashlib.sha1(','.join(sorted(modules)).encode()).hexdigest()}.xml"


def test_failures_json(site):
    out, runs = site
    data = json.loads((out / "api/7.0/failures.json").read_text())
    assert data["schema_version"] == 1 and data["release"] == "7.0"
    sale, stock = data["failures"]
    assert sale["fingerprint"] == fill.SALE_BROKE.as_dict()
    assert sale["class"] == "regression" and sale["runs"] == 2
    suspects, unchanged = sorted(sale["suspects"], key=lambda b: b["branch"], reverse=True)
    assert unchanged["branch"] == "addons" and unchanged["commits"] == []
    assert (suspects["since_run"], suspects["until_run"]) == (runs["first"], runs["second"])
    assert suspects["commits"][0]["url"] == "https://code.example/7.0/server/openerp/addons/sale?rev=11"
    assert stock["class"] == "flaky"
    assert {s["sample"]: s["class"] for s in stock["samples"]} == {"demo61": "fixed",
                                                                   "big61": "flaky"}


def atom(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    root = ET.fromstring(path.read_bytes())
    assert root.tag == f"{{{ATOM_NS}}}feed"
    return parsed


def test_the_release_feed_tells_coverage_changes_new_failures_regressions_and_fixes(site):
    out, runs = site
    parsed = atom(out / "feeds/7.0.xml")
    titles = [e.title for e in parsed.entries]
    assert titles == [
        "stock fixed in demo61 (into 7.0)",
        "sale regressed in demo61 (into 7.0)",
        "sale: todo \u2192 done (6.1 \u2192 7.0)",
        "stock failed for the first time in demo61 (into 7.0)",
    ]
    regressed = parsed.entries[1]
    assert regressed.link.endswith(f"runs/{runs['second']}.html")
    assert "Suspect commits: 11 Bob <bob@example.org>: [FIX] sale: rename the column" in \
        regressed.summary
    assert [t.term for e in parsed.entries for t in e.tags] == [
        "fixed", "regression", "coverage", "new"]


def test_module_set_feeds(site):
    out, _ = site
    both = atom(out / fill_feed(["stock", "sale"]))
    assert len(both.entries) == 4 and both.feed.title.endswith(": sale, stock")
    sale = atom(out / fill_feed(["sale"]))
    assert [e.title for e in sale.entries] == ["sale regressed in demo61 (into 7.0)",
                                               "sale: todo \u2192 done (6.1 \u2192 7.0)"]
    index = (out / "index.html").read_text()
    assert f'<a href="{fill_feed(["sale", "stock"])}">sale, stock</a>' in index
    assert '<a href="feeds/7.0.xml">' in index


def test_feed_links_with_a_base_url(tmp_path):
    out, _ = built(tmp_path, base_url="https://ou.example/site/")
    parsed = atom(out / "feeds/7.0.xml")
    assert parsed.feed.links[0].href == "https://ou.example/site/feeds/7.0.xml"
    assert parsed.entries[0].link.startswith("https://ou.example/site/runs/")


def test_hostile_commit_text_stays_text(tmp_path):
    out, _ = built(tmp_path, summary=fill.HOSTILE)
    html = (out / "failures/7.0.html").read_text()
    assert "<script>window" not in html and "&lt;script&gt;window.__pwned=1" in html
    feed = (out / "feeds/7.0.xml").read_bytes()
    assert b"<script>" not in feed
    regressed = atom(out / "feeds/7.0.xml").entries[1]
    assert fill.HOSTILE in regressed.summary  # as text, whole
    assert_valid_hrefs(out)
