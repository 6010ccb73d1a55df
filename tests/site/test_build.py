"""build_site: pages, JSON API, incremental rebuilds, links, and untrusted text staying text."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub.cli import main
from ouhub.errors import SiteError
from ouhub.site import build, incremental
from ouhub.site.build import build_site
from ouhub.store import Store
from tests.site.links import assert_valid_hrefs, parse
from tests.support import fill
from tests.support.config import make_config, write_config

CODE = "https://code.example/{release}/{branch}/{path}"


@pytest.fixture
def site(tmp_path: Path):
    config = make_config(tmp_path, ["6.1", "7.0", "8.0"], site={"code_browser": CODE})
    store = Store.open(config.store_path)
    fill.small_store(store)
    yield config, store
    store.close()


def _mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.rglob("*") if p.is_file()}


def test_build_writes_pages_json_and_badges(site):
    config, store = site
    report = build_site(config, store)
    out = config.site.output
    assert report.index == out / "index.html" and report.written == report.pages
    for path in ("index.html", "releases/7.0.html", "releases/8.0.html", "modules/account.html",
                 "modules/hr_timesheet_old.html", "runs.html", "upstream.html",
                 "badges/7.0.svg", "badges/modules/sale.svg", "static/style.css",
                 "api/index.json", "api/7.0/coverage.json", "api/runs.json"):
        assert (out / path).is_file(), path
    index = (out / "index.html").read_text()
    assert "6.1 &rarr; 7.0" in index and "nothing to do" in index
    assert os.path.getsize(out / "index.html") < 100_000

    api = json.loads((out / "api/index.json").read_text())
    assert api["schema_version"] == 1
    step8 = next(s for s in api["steps"] if s["release"] == "8.0")
    assert step8["counts"] == {"done": 4, "merged": 1} and step8["share"] == 1.0  # merged: no decision
    step7 = next(s for s in api["steps"] if s["release"] == "7.0")
    assert step7["nightly"][0]["sample"] == "demo61" and step7["nightly"][0]["status"] == "failed"

    cov = json.loads((out / "api/7.0/coverage.json").read_text())
    assert cov["schema_version"] == 1 and cov["previous"] == "6.1"
    sale = next(m for m in cov["modules"] if m["module"] == "sale")
    assert sale == {"module": "sale", "status": "todo", "target": None, "analysis_size": 120,
                    "analysed_share": 0.0, "open_changes": 120, "disagreements": [],
                    "last_outcome": "failed",
                    "evidence": {"scripts": [], "declaration": None, "apriori": None,
                                 "analysis": []}}
    runs = json.loads((out / "api/runs.json").read_text())
    assert [r["status"] for r in runs["runs"]] == ["failed", "passed"]
    assert runs["runs"][0]["failed_modules"] == ["sale"]


def test_release_page_ranks_needs_scripts_and_links_code_browser(site):
    config, store = site
    build_site(config, store)
    html = (config.site.output / "releases/7.0.html").read_text()
    needs = html[html.index('id="needs-table"'):]
    assert needs.index(">stock<") < needs.index(">sale<")  # 300 changes before 120
    assert ('href="https://code.example/7.0/server/addons/account/migrations/7.0.1.1/'
            'post-migration.py"') in html
    assert "doc/modules61-70.rst:12: account | Done" in html


def test_module_page_follows_renames_and_merges(site):
    config, store = site
    build_site(config, store)
    html = (config.site.output / "modules/hr_timesheet_old.html").read_text()
    # renamed to hr_timesheet in 7.0, which is merged into hr in 8.0: both steps shown
    assert "6.1 &rarr; 7.0" in html and "7.0 &rarr; 8.0" in html
    assert 'href="../modules/hr_timesheet.html"' in html and "merged" in html
    target = (config.site.output / "modules/hr_timesheet.html").read_text()
    assert "Formerly" in target and "hr_timesheet_old" in target


def test_run_page_shows_failures_and_excerpts(site):
    config, store = site
    build_site(config, store)
    failed = max(r.id for r in store.runs())
    html = (config.site.output / f"runs/{failed}.html").read_text()
    assert "Traceback: KeyError &#39;x&#39;" in html
    assert "not reached" in html and "1 module failed" in html


def test_upstream_page_lists_unmerged_revisions(site):
    config, store = site
    build_site(config, store)
    out = config.site.output
    html = (out / "upstream.html").read_text()
    assert "[FIX] account: rounding" in html and "Jane Doe &lt;jane@example.org&gt;" in html
    assert 'href="modules/account.html"' in html
    assert 'href="modules/not_a_known_module.html"' not in html  # no page: plain text
    assert 'href="https://github.com/odoo/odoo"' in html
    api = json.loads((out / "api/index.json").read_text())
    assert {s["release"]: s["upstream_lag"] for s in api["steps"]} == {"7.0": 2, "8.0": None}


def test_every_link_resolves(site):
    config, store = site
    build_site(config, store)
    assert assert_valid_hrefs(config.site.output) > 50


def test_unchanged_rebuild_rewrites_nothing(site):
    config, store = site
    build_site(config, store)
    before = _mtimes(config.site.output)
    report = build_site(config, store)
    assert report.written == 0 and report.unchanged == report.pages
    assert _mtimes(config.site.output) == before


def test_unchanged_rebuild_reads_no_page_data(site, monkeypatch):
    config, store = site
    first = build_site(config, store)

    def no_gather(*args):
        raise AssertionError("an unchanged rebuild gathered the store's data")

    monkeypatch.setattr(build, "gather", no_gather)
    report = build_site(config, store)
    assert (report.pages, report.written, report.bytes_total) == (
        first.pages, 0, first.bytes_total)


def test_module_page_shows_nightly_history(site):
    config, store = site
    build_site(config, store)
    html = (config.site.output / "modules/sale.html").read_text()
    history = html[html.index("Nightly history"):]
    assert 'href="../runs/2.html"' in history and "failed" in history
    times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', history)
    assert times and all(text.endswith(" UTC") and "+00:00" not in text for _, text in times)


def test_changed_data_rewrites_only_its_pages(site):
    config, store = site
    build_site(config, store)
    out = config.site.output
    before = _mtimes(out)
    fill.run(store, "7.0", "6.1", "demo61", "passed", [("account", "upgraded", "")])
    report = build_site(config, store)
    after = _mtimes(out)
    changed = {p for p in after if after[p] != before.get(p)}
    assert "index.html" in changed and "runs.html" in changed
    assert "modules/account.html" in changed  # its nightly history grew
    assert "releases/8.0.html" not in changed and "modules/hr.html" not in changed
    assert report.written == len(changed - {incremental.STATUS_FILE})


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_worker_processes_write_the_same_site(site, tmp_path):
    """Pages rendered by forked workers are byte for byte those of one process, and their
    incremental rebuilds rewrite the same pages."""
    config, store = site
    one, two = tmp_path / "one", tmp_path / "two"
    first = build_site(config, store, one, workers=1)
    report = build_site(config, store, two, workers=2)
    assert _files(two) == _files(one)
    assert (report.pages, report.written, report.bytes_total) == (
        first.pages, first.pages, first.bytes_total)

    before = _mtimes(two)
    report = build_site(config, store, two, workers=2)
    assert report.written == 0 and _mtimes(two) == before

    fill.run(store, "7.0", "6.1", "demo61", "passed", [("account", "upgraded", "")])
    (two / "modules/hr.html").unlink()
    serial = build_site(config, store, one, workers=1)
    report = build_site(config, store, two, workers=2)
    after = _mtimes(two)
    changed = {p for p in after if after[p] != before.get(p)} - {incremental.STATUS_FILE}
    assert "modules/account.html" in changed and "modules/hr.html" in changed
    assert report.written == len(changed) == serial.written + 1
    assert _files(two) == _files(one)


def test_worker_write_error_is_a_clear_error(site, tmp_path):
    config, store = site
    out = tmp_path / "site"
    build_site(config, store, out, workers=2)
    (out / "modules/sale.html").unlink()
    (out / "modules/sale.html").mkdir()  # a directory where a page goes
    (out / incremental.STATUS_FILE).unlink()  # rebuild everything
    with pytest.raises(SiteError, match="cannot write the site"):
        build_site(config, store, out, workers=2)


@pytest.mark.parametrize("spoil", ["delete", "garbage", "format", "title"])
def test_any_doubt_rebuilds_everything(site, spoil, tmp_path):
    config, store = site
    build_site(config, store)
    status = config.site.output / incremental.STATUS_FILE
    if spoil == "delete":
        status.unlink()
    elif spoil == "garbage":
        status.write_text("{not json")
    elif spoil == "format":
        data = json.loads(status.read_text())
        data["format"] = 0
        status.write_text(json.dumps(data))
    else:  # a global input changed: every page shows the title
        config = make_config(tmp_path, ["6.1", "7.0", "8.0"],
                             site={"code_browser": CODE, "title": "Another title"})
    report = build_site(config, store)
    assert report.written == report.pages


def test_deleted_page_is_rebuilt_and_stale_pages_removed(site):
    config, store = site
    build_site(config, store)
    out = config.site.output
    (out / "modules/sale.html").unlink()
    (out / "unrelated.txt").write_text("keep me")
    assert build_site(config, store).written == 1
    assert (out / "modules/sale.html").is_file()
    # a module gone from every scan loses its page; files ouhub did not write stay
    fill.scan(store, "8.0", "7.0", [fill.module("8.0", "base", "done")], at="2026-02-01")
    fill.scan(store, "7.0", "6.1", [fill.module("7.0", "base", "done")], at="2026-02-01")
    report = build_site(config, store)
    assert report.removed > 0 and not (out / "modules/crm.html").exists()
    assert (out / "unrelated.txt").read_text() == "keep me"
    assert_valid_hrefs(out)


def test_an_edited_status_file_never_makes_the_build_remove_other_files(site):
    config, store = site
    build_site(config, store)
    out = config.site.output
    (out / "CNAME").write_text("openupgrade.example.org")  # the publisher's own files
    (out / ".git").mkdir()
    (out / ".git" / "config").write_text("[core]")
    status = out / incremental.STATUS_FILE
    data = json.loads(status.read_text())
    data["pages"].update({"CNAME": "0" * 64, ".git/config": "0" * 64})
    status.write_text(json.dumps(data))
    fill.scan(store, "8.0", "7.0", [fill.module("8.0", "base", "done")], at="2026-02-01")
    report = build_site(config, store)
    assert (out / "CNAME").read_text() == "openupgrade.example.org"
    assert (out / ".git" / "config").read_text() == "[core]"
    assert report.written == report.pages  # a status file in doubt rebuilds everything
    # and the next build, from a status file ouhub wrote, removes its own stale pages again
    fill.scan(store, "7.0", "6.1", [fill.module("7.0", "base", "done")], at="2026-02-01")
    assert build_site(config, store).removed > 0 and not (out / "modules/crm.html").exists()
    assert (out / "CNAME").exists()


def test_hostile_strings_stay_text(tmp_path):
    config = make_config(tmp_path, ["6.1", "7.0"],
                         site={"code_browser": fill.HOSTILE_URL + "{path}", "title": fill.HOSTILE})
    with Store.open(config.store_path) as store:
        fill.hostile_store(store)
        build_site(config, store)
    out = config.site.output
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "<script>window" not in text and "<img src=x" not in text, page
        for _tag, url in parse(page).refs:
            assert not url.strip().lower().startswith("javascript"), (page, url)
    for badge in out.rglob("*.svg"):
        assert "<script" not in badge.read_text()
    assert_valid_hrefs(out)


def test_unwritable_output_is_a_clear_error(site, tmp_path):
    config, store = site
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SiteError, match="cannot create the site directory"):
        build_site(config, store, blocker / "site")


def test_cli_site_build(site, tmp_path):
    config, store = site
    write_config(config.path.parent, ["6.1", "7.0"], data_dir=config.data_dir,
                 site={"output": str(tmp_path / "cli-site")})
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config.path), "site", "build"])
    assert result.exit_code == 0, result.output
    index = tmp_path / "cli-site" / "index.html"
    assert result.stdout.strip().splitlines()[-1] == str(index)
    result = runner.invoke(main, ["--config", str(config.path), "site", "build", "--json"])
    data = json.loads(result.stdout)
    assert data["written"] == 0 and data["index"] == str(index)
    assert store.last_stage_events()["site"].ok


def test_each_branch_may_have_its_own_code_browser(tmp_path: Path) -> None:
    lp = "https://bazaar.launchpad.net/~openupgrade/openupgrade-{branch}/{release}/view/head:/{path}"
    config = make_config(tmp_path, {
        "6.1": {"server": "/srv/6.1/server"},
        "7.0": {"server": {"url": "/srv/7.0/server", "code_browser": lp},
                "addons": "/srv/7.0/addons"},
    }, site={"code_browser": CODE})
    with Store.open(config.store_path) as store:
        fill.record_coverage(store, "7.0", "6.1", {
            "base": {"status": "done", "scripts": ["server/openerp/addons/base/migrations/7.0.1.3/"
                                                   "pre-migration.py"]},
            "sale": {"status": "done", "scripts": ["addons/sale/migrations/7.0.1.0/post-migration.py"]},
        })
        build_site(config, store)
    html = (config.site.output / "releases/7.0.html").read_text()
    assert ('href="https://bazaar.launchpad.net/~openupgrade/openupgrade-server/7.0/view/head:/'
            'openerp/addons/base/migrations/7.0.1.3/pre-migration.py"') in html
    # the addons branch has none of its own: the site-wide pattern
    assert 'href="https://code.example/7.0/addons/sale/migrations/7.0.1.0/post-migration.py"' in html


def test_one_scan_is_a_dot_not_a_line_over_time(site) -> None:
    config, store = site
    build_site(config, store)
    index = (config.site.output / "index.html").read_text()
    plots = index.split('<svg class="plot"')[1:]
    by_label = {p[p.index('aria-label="') + 12:p.index('"', p.index('aria-label="') + 12)]: p
                for p in plots}
    single = next(p for label, p in by_label.items() if "one scan so far" in label)
    assert "<polyline" not in single and "<circle" in single
    several = next(p for label, p in by_label.items() if "scans)" in label)
    assert "<polyline" in several


def test_published_pages_show_no_server_path(tmp_path: Path) -> None:
    config = make_config(tmp_path, ["6.1", "7.0"], site={"code_browser": CODE})
    excerpt = ('Traceback (most recent call last):\n  File "/tmp/run-7/tests/standin/'
               'openerp_server.py", line 116, in migrate\n  File "/srv/ou/7.0/addons/sale/'
               'migrations/7.0.1.0/post-migration.py", line 3\nKeyError: \'x\'')
    with Store.open(config.store_path) as store:
        fill.record_coverage(store, "7.0", "6.1", {"sale": {"status": "done"}})
        fill.record_run(store, "7.0", "6.1", "demo61", "failed", {"sale": "failed"},
                        excerpt=excerpt)
        fill.upstream(store, "7.0", [("a", "2026-01-01", "m", ("sale",))],
                      url="/home/me/upstream/7.0/server")
        build_site(config, store)
    published = {p: p.read_text() for p in config.site.output.rglob("*")
                 if p.suffix in (".html", ".json", ".js", ".xml")}
    leaks = [str(p) for p, text in published.items()
             if any(root in text for root in ("/tmp/", "/srv/", "/home/"))]
    assert leaks == []
    run_page = next(t for p, t in published.items() if p.parent.name == "runs" and "KeyError" in t)
    assert "addons/sale/migrations/7.0.1.0/post-migration.py" in run_page
    assert "openerp_server.py" in run_page


_PRODUCE = build._produce_share


def _dies_in_the_second_worker(share: int):
    if share == 1:
        os._exit(137)  # as a SIGKILL leaves it: no exception, no result
    return _PRODUCE(share)


def test_a_worker_that_dies_is_a_clear_error_not_a_wait(site, tmp_path, monkeypatch):
    """A forked worker killed mid-build (the out-of-memory killer) ends the build with an
    error that says so; multiprocessing.Pool waited forever for its share."""
    config, store = site
    monkeypatch.setattr(build, "_produce_share", _dies_in_the_second_worker)
    out = tmp_path / "site"
    with pytest.raises(SiteError, match="died before finishing its pages"):
        build_site(config, store, out, workers=2)
    assert not (out / incremental.STATUS_FILE).exists()  # the next build writes it all
    monkeypatch.setattr(build, "_produce_share", _PRODUCE)
    report = build_site(config, store, out, workers=2)
    assert report.written == report.pages
