"""ouhub on the real OpenUpgrade trees (17.0, 18.0, 19.0 from the package index), checked
against what a maintainer counts from the files themselves (tests/support/real_trees.py).

The trees are downloaded once per machine; a failed download fails these tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from ouhub.coverage.analysis import parse_analysis, preference
from ouhub.coverage.scan import scan_path
from ouhub.coverage.status import analysis_says_nothing_to_do
from ouhub.errors import CoverageError
from ouhub.store import Store
from tests.site.links import assert_valid_hrefs
from tests.support.real_trees import SCRIPTS, VERSIONS, TreeDownloadError, count_truth, real_tree

pytestmark = pytest.mark.slow  # the first run downloads three wheels


@pytest.fixture(scope="session")
def trees() -> dict[str, Path]:
    try:
        return {release: real_tree(release) for release in VERSIONS}
    except TreeDownloadError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def scanned(trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the scans of 17.0, 18.0 and 19.0, each with the one before."""
    path = tmp_path_factory.mktemp("real") / "ouhub.sqlite"
    with Store.open(path) as store:
        for release in VERSIONS:
            previous = f"{int(release.split('.')[0]) - 1}.0"
            assert scan_path(store, trees[release], release, previous).ok
    return path


def by_module(store: Store, release: str) -> dict[str, object]:
    return {m.module: m for m in store.latest_coverage(release)}


def stored_rows(store: Store, scan_id: int, strip: str = "") -> dict[str, object]:
    """What a scan stored, as plain data: its totals and summary, each module's row and
    the warnings (``strip`` taken out of every path, to compare a mirror's with a
    directory's; the summary's account of what was read and parsed left out)."""
    scan = store.coverage_scan(scan_id)
    assert scan is not None
    summary = {k: v for k, v in scan.summary.items() if k not in ("parsed", "files_read")}
    modules = []
    for module in store.coverage_of_scan(scan_id):
        row = dataclasses.asdict(module)
        del row["scan_id"], row["scanned_at"]
        modules.append(row)
    rows = {"totals": scan.totals, "summary": summary, "modules": modules,
            "warnings": store.coverage_warnings(scan_id)}
    text = json.dumps(rows, sort_keys=True, default=list)
    return json.loads(text.replace(strip, "") if strip else text)


def rows_digest(rows: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


# sha256 of stored_rows of a first scan of each pinned tree, scanned 17.0 -> 18.0 -> 19.0
# in one store (`scanned`), when they were recorded (before the scan's speed work of issue
# 18): a change to any stored answer, evidence or warning shows here. When a change of
# answers is meant, check it against count_truth and record the new digests with
# `python -m tests.coverage.test_real_trees`.
RECORDED_ROWS = {
    "17.0.1.0.1.493": "325a5807be729e20401ebebdcfa15abee3858573428bd24acf31211f686f8e63",
    "18.0.1.0.0.554": "e403ee9b554d48f5b3284241e4b732fdea363fd8d61a7ab8a67deb5e7e5a63e1",
    "19.0.1.0.0.407": "7ac5fb2820c6ae24290ca1ae0c77dfed461dc8bcc84e8e71d74a85782eb08689",
}


def test_the_stored_rows_are_those_recorded(scanned: Path) -> None:
    with Store.open(scanned) as store:
        found = {VERSIONS[r]: rows_digest(stored_rows(store, store.latest_coverage_scan(r).id))
                 for r in VERSIONS}
    assert found == {VERSIONS[r]: RECORDED_ROWS.get(VERSIONS[r]) for r in VERSIONS}, (
        "the stored rows of a real tree changed: if that is meant, record them with "
        "`python -m tests.coverage.test_real_trees`")


def test_every_way_of_reading_a_real_tree_stores_the_same_rows(
    trees: dict[str, Path], scanned: Path, tmp_path: Path
) -> None:
    """A first scan, a rescan reusing every parse result and a rescan after one analysis
    was touched store the same rows; so do a first scan and a rescan of the same files
    read from a git mirror's object store."""
    from examples.demo.gitrepo import FastImport
    from ouhub.coverage.scan import scan_release
    from ouhub.sync.gitmirror import git_dir_for, synced_ref

    copies = {r: Path(shutil.copytree(root, tmp_path / r)) for r, root in trees.items()}
    with Store.open(scanned) as first, Store.open(tmp_path / "again.sqlite") as store:
        for release in VERSIONS:
            expected = stored_rows(first, first.latest_coverage_scan(release).id)
            previous = truth_previous(release)
            scan_path(store, copies[release], release, previous)
            again = scan_path(store, copies[release], release, previous, force=True)
            assert again.summary["parsed"]["analyses"] == 0
            assert stored_rows(store, again.scan_id) == expected, release
            touched = sorted(copies[release].rglob("upgrade_analysis_work.txt"))[0]
            os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1))
            once = scan_path(store, copies[release], release, previous)
            assert once.summary["parsed"]["analyses"] == 1
            assert stored_rows(store, once.scan_id) == expected, release

    config = real_config(tmp_path)  # 17.0 -> 18.0 -> 19.0, each a ref of one repository
    repository = git_dir_for(config, config.release("17.0").branch("openupgrade").url)
    repository.parent.mkdir(parents=True)
    with FastImport(repository) as fi:
        for release, root in trees.items():
            files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                     if p.is_file()}
            fi.commit(synced_ref(config.release(release).branch("openupgrade")), files, release)
    with Store.open(tmp_path / "mirrors.sqlite") as store:
        for release in VERSIONS:
            mirror = scan_release(config, store, release)
            rows = stored_rows(store, mirror.scan_id)
            assert mirror.summary["parsed"] == {"analyses": len(
                {m["analysis_source"] for m in rows["modules"] if m["analysis_source"]}),
                "reused": 0}
            again = scan_release(config, store, release, force=True)
            assert again.summary["parsed"]["analyses"] == 0
            assert stored_rows(store, again.scan_id) == rows, release


@pytest.mark.parametrize("release", ["18.0", "19.0"])
def test_scan_counts_what_a_maintainer_counts(
    trees: dict[str, Path], scanned: Path, release: str
) -> None:
    truth = count_truth(trees[release], release)
    with Store.open(scanned) as store:
        found = by_module(store, release)
        before = {m for m, c in by_module(store, truth_previous(release)).items()
                  if c.status not in ("removed", "renamed", "merged")}
    status = {m: c.status for m, c in found.items()}
    assert {m for m, s in status.items() if s == "done"} == truth.with_scripts
    assert {m for m, s in status.items() if s == "nothing_to_do"} == truth.nothing_to_do
    assert {m: c.target for m, c in found.items() if c.status == "renamed"} == truth.renamed
    assert {m: c.target for m, c in found.items() if c.status == "merged"} == truth.merged
    # every module of the tree is there once, and none the previous scan holds is unknown
    assert truth.modules <= set(found)
    assert not {m for m, s in status.items() if s == "unknown"} & before
    # the evidence of an inferred nothing_to_do is the analysts' lines; script paths are
    # the repository's (as OCA's repository holds them, not the wheel's odoo/addons/)
    some = found[min(truth.all_nothing_to_do)]
    assert some.evidence.analysis and all(
        line.startswith(f"openupgrade_scripts/scripts/{some.module}/") and "NOTHING TO DO" in
        line.upper() for line in some.evidence.analysis)
    assert all(path.startswith("openupgrade_scripts/scripts/")
               for m in truth.with_scripts for path in found[m].evidence.scripts)


def truth_previous(release: str) -> str:
    return f"{int(release.split('.')[0]) - 1}.0"


def test_every_path_into_the_tree_gives_the_same_answer(
    trees: dict[str, Path], tmp_path: Path
) -> None:
    wheel = trees["19.0"]
    answers = []
    for path in (wheel, wheel / "odoo/addons", wheel / "odoo/addons/openupgrade_scripts",
                 wheel / SCRIPTS):
        with Store.open(tmp_path / f"{len(answers)}.sqlite") as store:
            result = scan_path(store, path, "19.0", "18.0")
            answers.append((result.totals, {
                m.module: (m.status, m.target, m.evidence, m.analysis_source)
                for m in store.latest_coverage("19.0")}))
    assert all(answer == answers[0] for answer in answers[1:])
    assert answers[0][0]["done"] == len(count_truth(wheel, "19.0").with_scripts)


def test_a_rescan_after_one_changed_module_parses_one_file(
    trees: dict[str, Path], tmp_path: Path
) -> None:
    copy = shutil.copytree(trees["19.0"] / "odoo/addons/openupgrade_scripts", tmp_path / "openupgrade_scripts")
    work = copy / "scripts/http_routing/19.0.1.0/upgrade_analysis_work.txt"
    with Store.open(tmp_path / "ouhub.sqlite") as store:
        first = scan_path(store, copy, "19.0", "18.0")
        assert first.summary["parsed"]["reused"] == 0
        assert by_module(store, "19.0")["http_routing"].status != "nothing_to_do"
        work.write_text(work.read_text() + "# NOTHING TO DO: new error pages\n")
        again = scan_path(store, copy, "19.0", "18.0")
        assert again.summary["parsed"] == {
            "analyses": 1, "reused": first.summary["parsed"]["analyses"] - 1}
        assert by_module(store, "19.0")["http_routing"].status == "nothing_to_do"
        assert again.totals["nothing_to_do"] == first.totals["nothing_to_do"] + 1


@pytest.mark.parametrize("release", list(VERSIONS))
def test_the_analysis_says_nothing_to_do_exactly_where_the_files_do(
    trees: dict[str, Path], release: str
) -> None:
    wheel = trees[release]
    truth = count_truth(wheel, release)
    said = set()
    for module in sorted(truth.modules - truth.with_scripts):
        folders = sorted(
            (p for p in (wheel / SCRIPTS / module).iterdir() if p.name.startswith(release)),
            key=lambda p: [int(x) for x in p.name.split(".")],
        )
        files = [p for p in folders[-1].iterdir() if preference(p.name) >= 0]
        if not files:
            continue
        best = max(files, key=lambda p: (preference(p.name), p.name))
        source = str(best.relative_to(wheel))
        analysis = parse_analysis(best.read_bytes(), source, module=module).modules.get(module)
        if analysis is not None and analysis_says_nothing_to_do(source, analysis):
            said.add(module)
    assert said == truth.nothing_to_do
    assert truth.nothing_to_do  # the trees hold such modules: the check is not empty


def test_a_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a package index that refuses connections (a closed loopback port): no registry asked
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(TreeDownloadError) as failed:
        real_tree("19.0", cache=tmp_path)
    message = str(failed.value)
    assert "cannot download the real 19.0 tree (odoo-addon-openupgrade-scripts==19.0" in message
    assert "need the package index" in message
    assert not any(tmp_path.glob("odoo-addon-*"))


TABLE_180_190 = """Module coverage 18.0 -> 19.0
============================

+-----------------------+----------------------+---------------------+
| Module                | Status               | Extra Information   |
+=======================+======================+=====================+
| account               | Nothing to do        |                     |
+-----------------------+----------------------+---------------------+
| utm                   | Partial              |                     |
+-----------------------+----------------------+---------------------+
| web                   | Done                 |                     |
+-----------------------+----------------------+---------------------+
"""


def test_a_wheel_is_given_its_declared_table(trees: dict[str, Path], tmp_path: Path) -> None:
    table = tmp_path / "modules180-190.rst"
    table.write_text(TABLE_180_190)
    with Store.open(tmp_path / "ouhub.sqlite") as store:
        bare = scan_path(store, trees["19.0"], "19.0", "18.0")
        given = scan_path(store, trees["19.0"], "19.0", "18.0", declared=table)
        assert not given.cached and given.summary["declared_table"] == "modules180-190.rst"
        found = by_module(store, "19.0")
        # the table wins over the analysis; what the tree contradicts is flagged
        assert found["utm"].status == "partial"
        assert found["utm"].evidence.declaration == "modules180-190.rst:9: utm | Partial"
        assert found["account"].status == "done"
        assert "declared Nothing to do but the tree has scripts" in found["account"].disagreements
        assert found["web"].disagreements == ("declared Done without scripts",)
        assert scan_path(store, trees["19.0"], "19.0", "18.0", declared=table).cached
        table.write_text(TABLE_180_190.replace("Partial ", "Done    "))
        changed = scan_path(store, trees["19.0"], "19.0", "18.0", declared=table)
        assert not changed.cached and by_module(store, "19.0")["utm"].status == "done"
        assert bare.totals != given.totals


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.rst", "cannot read the declared table"),
        ("modules170-180.rst", "modules170-180.rst is the declared table of 17.0 -> 18.0, "
                               "not of 18.0 -> 19.0"),
    ],
)
def test_a_wrong_declared_table_is_refused(
    trees: dict[str, Path], tmp_path: Path, name: str, message: str
) -> None:
    if name != "missing.rst":
        (tmp_path / name).write_text(TABLE_180_190)
    with Store.open(tmp_path / "ouhub.sqlite") as store:
        with pytest.raises(CoverageError) as error:
            scan_path(store, trees["19.0"], "19.0", "18.0", declared=tmp_path / name)
        assert message in str(error.value.message)
        assert store.latest_coverage_scan("19.0") is None


def real_config(tmp_path: Path) -> object:
    from ouhub.config import from_dict

    return from_dict({"data_dir": str(tmp_path), "releases": {
        release: {"previous": f"{int(release.split('.')[0]) - 1}.0" if release != "17.0" else None,
                  "branches": {"openupgrade": {
                      "url": f"https://github.com/OCA/OpenUpgrade.git,branch={release}"}}}
        for release in VERSIONS}})


def test_check_verdicts_on_the_real_18_to_19_step(scanned: Path, tmp_path: Path) -> None:
    from ouhub.check.data import build_check_data
    from ouhub.check.rules import decide_verdicts

    with Store.open(scanned) as store:
        data = build_check_data(real_config(tmp_path), store)
    report = decide_verdicts(["web_editor", "account_payment_partner", "pos_viva_wallet",
                              "html_editor", "acount"], "18.0", "19.0", data)
    steps = {m.module: m.steps[0] for m in report.modules}
    verdicts = {m: (s.verdict, [r.code for r in s.reasons]) for m, s in steps.items()}
    # merged into html_editor, which its analysts answered "nothing to do" throughout
    assert verdicts["web_editor"] == ("ok", ["merged", "nothing_to_do", "not_run"])
    assert any(line.startswith("analysis: openupgrade_scripts/scripts/html_editor/")
               for line in steps["web_editor"].reasons[1].evidence)
    # merged into an OCA module OpenUpgrade does not cover: said plainly
    assert verdicts["account_payment_partner"] == (
        "not_covered", ["merged", "target_not_covered", "not_run"])
    # renamed into a module whose analysis leaves changes open (its old fields' DELs)
    assert verdicts["pos_viva_wallet"][0] == "blocked"
    assert steps["pos_viva_wallet"].reasons[1].text.startswith(
        "pos_viva_com, the new name of pos_viva_wallet, has no migration scripts")
    assert verdicts["acount"] == ("not_covered", ["not_in_openupgrade", "did_you_mean"])


def test_the_site_of_the_real_trees_has_no_dead_link(scanned: Path, tmp_path: Path) -> None:
    import html
    import re

    from ouhub.config import from_dict
    from ouhub.site.build import build_site

    config = from_dict({
        "data_dir": str(tmp_path), "site": {"output": str(tmp_path / "site"), "code_browser":
                                            "https://github.com/OCA/OpenUpgrade/blob/{release}/{path}"},
        "releases": {release: {"previous": truth_previous(release) if release != "17.0" else None,
                               "branches": {"openupgrade": "https://github.com/OCA/OpenUpgrade.git"}}
                     for release in VERSIONS}})
    with Store.open(scanned) as store:
        # one process: forking a test process that runs a browser's threads can deadlock
        build_site(config, store, workers=1)
        todo = [m for m in store.latest_coverage("19.0") if m.status == "todo"]
    site = tmp_path / "site"
    assert assert_valid_hrefs(site) > 5000  # every relative link and anchor resolves
    scripts = []
    for page in site.rglob("*.html"):
        text = page.read_text()
        scripts.extend(html.unescape(href) for href in re.findall(
            r'href="(https://[^"]*/openupgrade_scripts/[^"]*)"', text))
        assert str(tmp_path) not in text  # no server path is published
    script = re.compile(r"https://github\.com/OCA/OpenUpgrade/blob/(1[789])\.0/"
                        r"openupgrade_scripts/scripts/\w+/\1\.0\.[\d.]+/[\w. -]+")
    wrong = [href for href in scripts if not script.fullmatch(href.replace("%20", " "))]
    assert scripts and not wrong, wrong[:3]

    release = (site / "releases/19.0.html").read_text()
    assert 'account_payment_mode <span class="muted">(not in OpenUpgrade&#39;s coverage)' in release
    needs = release[release.index('id="needs-table"'):]
    first = max(todo, key=lambda m: (m.open_changes, m.analysis_size, [-ord(c) for c in m.module]))
    assert needs.index(f">{first.module}</a>") < needs.index("</tr>", needs.index("<tbody>") + 20)
    merged = (site / "modules/web_editor.html").read_text()
    assert re.search(r'merged</span> &rarr; <a href="../modules/html_editor.html">html_editor</a>'
                     r', which is <span class="st[^>]*data-status="nothing_to_do"', merged)
    target = (site / "modules/html_editor.html").read_text()
    assert "What the analysis says" in target and "NOTHING TO DO" in target
    assert 'html_editor/19.0.1.0/upgrade_analysis_work.txt" rel=' in target


if __name__ == "__main__":  # record the digests of the stored rows (see RECORDED_ROWS)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "s.sqlite") as store:
        for release, version in VERSIONS.items():
            result = scan_path(store, real_tree(release), release, truth_previous(release))
            print(f"    {version!r}: {rows_digest(stored_rows(store, result.scan_id))!r},")
