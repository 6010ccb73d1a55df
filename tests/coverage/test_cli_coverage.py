"""`ouhub coverage scan/show/diff` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from examples.demo.vcs import commit_files, make_branch
from ouhub.cli import main
from ouhub.store import Store
from tests.coverage.trees import ADDONS, tree_61, tree_70, write_tree
from tests.support.config import write_config


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, {r: {"server": f"lp:openupgrade-server/{r}"}
                                   for r in ("6.1", "7.0")})


def ouhub(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_scan_path_then_show_ranks_todo_by_analysis_size(tmp_path: Path, config_file: Path):
    old = write_tree(tmp_path / "61", tree_61())
    new = write_tree(tmp_path / "70", tree_70())
    first = ouhub(config_file, "coverage", "scan", "--path", str(old), "--release", "6.1")
    assert first.exit_code == 0, first.output
    assert "6.1 is the first configured release" in " ".join(first.stderr.split())
    listed = ouhub(config_file, "coverage", "show", "6.1")
    assert "first configured release" in listed.stdout
    assert re.search(r"│ unknown +│ 0 +│", listed.stdout)  # no module listed as unknown
    # the totals add up, and their legend says what each status means
    assert re.search(r"│ new +│ 10 +│ not in the previous release", listed.stdout)
    assert re.search(r"│ modules +│ 10 +│ all of the above", listed.stdout)
    result = ouhub(config_file, "coverage", "scan", "--path", str(new), "--release", "7.0",
                   "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data[0]["release"] == "7.0" and data[0]["previous"] == "6.1"  # from the config
    assert data[0]["cached"] is False and data[0]["totals"]["todo"] == 2

    shown = ouhub(config_file, "coverage", "show", "7.0", "--format", "json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    todo = [m for m in report["modules"] if m["status"] == "todo"]
    assert [m["module"] for m in todo] == ["account", "broken"]  # largest analysis first
    assert report["modules"][0]["module"] == "account"
    assert report["totals"]["done"] == 4 and sum(report["totals"].values()) == 15
    assert any("symlink" in w["message"] or "not run" in w["message"]
               for w in report["warnings"])

    table = ouhub(config_file, "coverage", "show", "7.0")
    assert table.exit_code == 0
    assert "account" in table.stdout and "totals" in table.stdout

    rows = list(csv.DictReader(io.StringIO(
        ouhub(config_file, "coverage", "show", "7.0", "--status", "done",
              "--format", "csv").stdout)))
    assert {r["module"] for r in rows} == {"base", "crm", "purchase", "ghost_declared"}
    crm = next(r for r in rows if r["module"] == "crm")
    assert "declared Done without scripts" in crm["disagreements"]

    with Store.open(tmp_path / "data" / "ouhub.sqlite") as store:
        event = store.last_stage_events()["coverage"]
        assert event.ok and event.summary["releases"] == 1


def test_scan_mirrors_rescan_cached_and_diff(tmp_path: Path, config_file: Path):
    data = tmp_path / "data" / "mirrors"
    make_branch(data / "6.1" / "server", [tree_61()])
    make_branch(data / "7.0" / "server", [tree_70()])
    first = ouhub(config_file, "coverage", "scan", "--json")
    assert first.exit_code == 0, first.output
    assert [r["cached"] for r in json.loads(first.stdout)] == [False, False]
    second = ouhub(config_file, "coverage", "scan", "--json")
    assert [r["cached"] for r in json.loads(second.stdout)] == [True, True]
    # the table's scan row: its legend says both words it may show
    third = " ".join(ouhub(config_file, "coverage", "scan").stdout.split())
    assert re.search(r"│ scan │ cached │ cached │ new: scanned now; cached: the tree had not "
                     r"changed since its last scan", third), third
    alone = ouhub(config_file, "coverage", "diff", "7.0")
    assert alone.exit_code == 0 and "has one scan so far" in alone.stdout

    forced = ouhub(config_file, "coverage", "scan", "--release", "7.0", "--force", "--json")
    assert json.loads(forced.stdout)[0]["cached"] is False
    diff = ouhub(config_file, "coverage", "diff", "7.0", "--json")
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.stdout)["changes"] == []  # same revisions, same statuses


def test_a_diff_where_no_status_changed_is_one_line(tmp_path: Path, config_file: Path):
    mirrors = tmp_path / "data" / "mirrors"
    make_branch(mirrors / "6.1" / "server", [tree_61()])
    make_branch(mirrors / "7.0" / "server", [tree_70()])
    assert ouhub(config_file, "coverage", "scan").exit_code == 0
    commit_files(mirrors / "7.0" / "server", {"README": "no module changes\n"}, "readme")
    assert ouhub(config_file, "coverage", "scan", "--release", "7.0").exit_code == 0
    diff = ouhub(config_file, "coverage", "diff", "7.0", "--json")
    data = json.loads(diff.stdout)
    assert data["changes"] == []  # for scripts, still an empty list
    before, after = data["from"]["scan_id"], data["to"]["scan_id"]
    assert before != after
    plain = ouhub(config_file, "coverage", "diff", "7.0")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout == (f"coverage 7.0: no module's status changed between scan {before} "
                            f"and scan {after}\n")


def test_errors_name_the_fix(tmp_path: Path, config_file: Path):
    never = ouhub(config_file, "coverage", "show", "7.0")
    assert never.exit_code == 1
    assert "never scanned" in never.output and "ouhub coverage scan --release 7.0" in never.output

    bad_status = ouhub(config_file, "coverage", "show", "7.0", "--status", "finished")
    assert bad_status.exit_code == 2 and "unknown status" in bad_status.output  # usage

    no_release = ouhub(config_file, "coverage", "scan", "--path", str(tmp_path))
    assert no_release.exit_code == 1 and "--path needs exactly one --release" in no_release.output

    # no mirrors yet: each release fails with the command that fixes it, exit 1
    unsynced = ouhub(config_file, "coverage", "scan")
    assert unsynced.exit_code == 1
    assert "ouhub sync" in unsynced.output
    with Store.open(tmp_path / "data" / "ouhub.sqlite") as store:
        assert store.last_stage_events()["coverage"].ok is False

    write_tree(tmp_path / "70", {f"{ADDONS}/base/__openerp__.py": "{'name': 'Base'}"})
    lone = ouhub(config_file, "coverage", "scan", "--path", str(tmp_path / "70"),
                 "--release", "7.0")
    assert "nothing tells whether they were in 6.1" in " ".join(lone.stderr.split())
    # a release the config does not know, without --previous: say what is missing
    odd = ouhub(config_file, "coverage", "scan", "--path", str(tmp_path / "70"),
                "--release", "8.0")
    assert odd.exit_code == 0 and "give --previous" in " ".join(odd.stderr.split())
    unknown = ouhub(config_file, "coverage", "diff", "7.0", "--from", "deadbeef")
    assert unknown.exit_code == 1 and "no scan matches" in unknown.output
    assert "coverage show 7.0 --format json" in " ".join(unknown.output.split())
    # a typo in the release is told from a release not scanned yet
    typo = ouhub(config_file, "coverage", "show", "70")
    assert typo.exit_code == 1 and "is not in the config" in typo.output
    assert "configured releases: 6.1, 7.0" in " ".join(typo.output.split())


def test_declared_goes_with_path(config_file: Path, tmp_path: Path):
    table = tmp_path / "modules61-70.rst"
    table.write_text("no table\n")
    result = ouhub(config_file, "coverage", "scan", "--release", "7.0", "--declared", str(table))
    assert result.exit_code != 0
    assert "--declared goes with --path" in " ".join(result.stderr.split())


def test_csv_cells_cannot_be_formulas(tmp_path: Path, config_file: Path):
    tree = tree_61()
    for name in ("=HYPERLINK(\"evil\")", "+1", "-2", "@SUM(A1)", "plain"):
        tree[f"{ADDONS}/{name}/__openerp__.py"] = "{'name': 'x', 'version': '1.0'}"
    write_tree(tmp_path / "61", tree)
    assert ouhub(config_file, "coverage", "scan", "--path", str(tmp_path / "61"),
                 "--release", "6.1").exit_code == 0
    text = ouhub(config_file, "coverage", "show", "6.1", "--format", "csv").stdout
    modules = {row["module"] for row in csv.DictReader(io.StringIO(text))}
    assert {"'=HYPERLINK(\"evil\")", "'+1", "'-2", "'@SUM(A1)", "plain"} <= modules
    assert not any(cell[:1] in "=+-@" for row in csv.reader(io.StringIO(text))
                   for cell in row if cell)


def test_an_empty_scan_reference_is_refused(tmp_path: Path, config_file: Path):
    data = tmp_path / "data" / "mirrors"
    make_branch(data / "6.1" / "server", [tree_61()])
    make_branch(data / "7.0" / "server", [tree_70()])
    assert ouhub(config_file, "coverage", "scan").exit_code == 0
    assert ouhub(config_file, "coverage", "scan", "--release", "7.0", "--force").exit_code == 0
    for ref in ("", " "):
        result = ouhub(config_file, "coverage", "diff", "7.0", "--from", ref)
        assert result.exit_code == 2, result.output
        assert "--from" in result.stderr and "empty" in result.stderr
        assert not result.stdout


def test_a_path_scan_never_replaces_the_mirrors_coverage_unless_published(tmp_path: Path,
                                                                          config_file: Path):
    data = tmp_path / "data" / "mirrors"
    make_branch(data / "6.1" / "server", [tree_61()])
    make_branch(data / "7.0" / "server", [tree_70()])
    assert ouhub(config_file, "coverage", "scan").exit_code == 0
    mirrors = json.loads(ouhub(config_file, "coverage", "show", "7.0", "--format", "json").stdout)

    local = tree_70()
    local[f"{ADDONS}/my_experiment/__openerp__.py"] = "{'name': 'x', 'version': '1.0'}"
    checkout = write_tree(tmp_path / "checkout", local)
    scanned = ouhub(config_file, "coverage", "scan", "--path", str(checkout), "--release",
                    "7.0", "--json")
    assert scanned.exit_code == 0, scanned.output
    assert json.loads(scanned.stdout)[0]["published"] is False
    told = ouhub(config_file, "coverage", "scan", "--path", str(checkout), "--release", "7.0")
    assert "not published" in " ".join(told.stderr.split())
    assert "--publish" in told.stderr

    def shown() -> set[str]:
        report = json.loads(ouhub(config_file, "coverage", "show", "7.0", "--format",
                                  "json").stdout)
        return {m["module"] for m in report["modules"]}

    assert shown() == {m["module"] for m in mirrors["modules"]}  # still the mirrors'
    again = ouhub(config_file, "coverage", "scan", "--json")  # nothing changed in the mirrors
    assert all(r["cached"] for r in json.loads(again.stdout))
    assert "my_experiment" not in shown()
    status = json.loads(ouhub(config_file, "status", "--json").stdout)
    seven = {r["name"]: r for r in status["releases"]}["7.0"]
    assert seven["last_scan"]["totals"] == {k: v for k, v in mirrors["totals"].items() if v}
    checked = ouhub(config_file, "check", "--from", "6.1", "--to", "7.0", "--modules",
                    "my_experiment", "--json")
    assert json.loads(checked.stdout)["modules"][0]["verdict"] == "not_covered"

    published = ouhub(config_file, "coverage", "scan", "--path", str(checkout), "--release",
                      "7.0", "--publish", "--json")
    assert json.loads(published.stdout)[0]["published"] is True
    assert "my_experiment" in shown()
    checked = ouhub(config_file, "check", "--from", "6.1", "--to", "7.0", "--modules",
                    "my_experiment", "--json")
    assert json.loads(checked.stdout)["modules"][0]["verdict"] != "not_covered"
