"""The check rules in Python: the shared vectors, module lists, and the report's JSON form.

The same vectors run through check.js in the browser (tests/site/test_check_js.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ouhub.check.data import check_data_js, load_check_data
from ouhub.check.modlist import ModuleListError, parse_module_list
from ouhub.check.render import markdown, reason_lines, table_rows
from ouhub.check.rules import CheckReport, decide_verdicts
from ouhub.errors import CheckError

VECTORS_PATH = Path(__file__).parent / "check_vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report a vector pins: verdicts, names followed and reason codes."""
    return {
        m["module"]: {
            "verdict": m["verdict"],
            "steps": [
                {
                    "release": s["release"], "name": s["name"], "verdict": s["verdict"],
                    "codes": [r["code"] for r in s["reasons"]],
                }
                for s in m["steps"]
            ],
        }
        for m in report["modules"]
    }


def check_vector(vector: dict[str, Any], report: dict[str, Any]) -> None:
    """Shared by the Python and the JavaScript tests."""
    expect = vector["expect"]
    assert summarize(report) == expect["modules"]
    assert report["exit_code"] == expect["exit_code"]
    if "order" in expect:
        assert [m["module"] for m in report["modules"]] == expect["order"]
    # every verdict says why
    for module in report["modules"]:
        for step in module["steps"]:
            assert step["reasons"] and all(r["text"] for r in step["reasons"])


DECIDE = [v for v in VECTORS["decide"] if "expect" in v]
ERRORS = [v for v in VECTORS["decide"] if "error" in v]


@pytest.mark.parametrize("vector", DECIDE, ids=[v["name"] for v in DECIDE])
def test_decide_vectors(vector: dict[str, Any]) -> None:
    data = VECTORS["data"][vector["data"]]
    report = decide_verdicts(vector["modules"], vector["source"], vector["target"], data,
                             now=vector.get("now"))
    check_vector(vector, report.to_dict())


@pytest.mark.parametrize("vector", ERRORS, ids=[v["name"] for v in ERRORS])
def test_decide_rejects_bad_releases(vector: dict[str, Any]) -> None:
    data = VECTORS["data"][vector["data"]]
    with pytest.raises(CheckError) as info:
        decide_verdicts(vector["modules"], vector["source"], vector["target"], data)
    assert vector["error"] in info.value.message
    assert info.value.hint and info.value.exit_code == 3


@pytest.mark.parametrize("vector", VECTORS["parse"], ids=[v["name"] for v in VECTORS["parse"]])
def test_parse_vectors(vector: dict[str, Any]) -> None:
    if "modules" in vector:
        assert list(parse_module_list(vector["text"])) == vector["modules"]
        return
    with pytest.raises(ModuleListError) as info:
        parse_module_list(vector["text"], "modules.txt")
    assert info.value.message.startswith("modules.txt: ")
    assert list(info.value.junk_lines) == vector.get("junk", [])
    if vector.get("empty"):
        assert "no module names" in info.value.message


def test_junk_message_shows_each_bad_line() -> None:
    with pytest.raises(ModuleListError) as info:
        parse_module_list("Installed modules:\naccount\naccount (7.0.1.1)\n", "list.txt")
    message = info.value.message
    assert "2 lines are not module names" in message
    assert "line 1: 'Installed modules:'" in message
    assert "line 3: 'account (7.0.1.1)'" in message
    assert "newlines, commas or spaces" in info.value.hint


def test_report_json_form_is_stable() -> None:
    data = VECTORS["data"]["chain"]
    report = decide_verdicts(["account", "my_custom", "users_ldap"], "6.1", "8.0", data).to_dict()
    assert set(report) == {
        "schema_version", "source", "target", "steps", "modules", "summary", "exit_code",
    }
    assert report["steps"] == [
        {"previous": "6.1", "release": "7.0"}, {"previous": "7.0", "release": "8.0"},
    ]
    summary = report["summary"]
    assert {k: summary[k] for k in ("modules", "ok", "at_risk", "blocked", "not_covered")} == {
        "modules": 3, "ok": 0, "at_risk": 1, "blocked": 1, "not_covered": 1,
    }
    assert summary["steps"][1] == {
        "previous": "7.0", "release": "8.0", "ok": 1, "at_risk": 0, "blocked": 1,
        "not_covered": 1,
    }
    step = report["modules"][0]["steps"][0]
    assert set(step) == {"previous", "release", "name", "status", "verdict", "target", "reasons"}
    assert step["target"] is None
    assert set(step["reasons"][0]) == {"code", "text", "evidence"}
    failed = step["reasons"][1]
    assert failed["code"] == "run_failed" and "sample demo61" in failed["text"]
    assert failed["evidence"] == ['ProgrammingError: column "currency_mode" does not exist']
    assert report["exit_code"] == 2
    json.dumps(report)  # plain data


def test_not_covered_says_what_ouhub_cannot_know() -> None:
    report = decide_verdicts(["my_custom"], "6.1", "7.0", VECTORS["data"]["chain"])
    text = report.modules[0].steps[0].reasons[0].text
    assert text.startswith("my_custom is unknown to ouhub")
    assert "custom or community (e.g. OCA)" in text and "migrate it yourself" in text


def test_a_module_unknown_in_every_step_is_said_once() -> None:
    report = decide_verdicts(["my_custom", "mrp"], "6.1", "9.0", VECTORS["data"]["chain"])
    assert [s.verdict for s in report.modules[1].steps] == ["not_covered"] * 3  # JSON: per step
    lines = reason_lines(report)
    start = lines.index("my_custom: not covered")
    assert lines[start + 1] == "  6.1 → 9.0, all 3 steps: not covered"
    assert lines[start + 2].startswith("    - my_custom is unknown to ouhub: it is not in "
                                       "OpenUpgrade's coverage of any step from 6.1 to 9.0")
    assert sum("my_custom is unknown" in line for line in lines) == 1
    assert "my_custom is unknown to ouhub" in markdown(report)


def test_renames_name_their_target_in_json_and_table() -> None:
    report = decide_verdicts(["users_ldap", "web_process"], "6.1", "8.0", VECTORS["data"]["chain"])
    users, web = report.modules
    assert users.steps[0].to_dict()["target"] == "auth_ldap"
    assert [s.name for s in users.steps] == ["users_ldap", "auth_ldap"]
    assert web.steps[0].target == "web" and web.steps[0].status == "merged"
    rows = dict((row[0], row[1:]) for row in table_rows(report))
    assert rows["users_ldap"][0] == "ok (renamed to auth_ldap) · not run yet"
    assert rows["users_ldap"][1].endswith(" as auth_ldap · not run yet")
    assert rows["web_process"][0].endswith("(merged into web) · not run yet")


def test_ok_says_whether_a_run_showed_it() -> None:
    report = decide_verdicts(["account", "sale"], "18.0", "19.0", VECTORS["data"]["real_190"])
    rows = dict((row[0], row[1:]) for row in table_rows(report))
    assert rows["account"] == ["ok (done) · upgraded in run #12 on sample s180", "ok"]
    assert rows["sale"] == ["ok (done) · not run yet", "ok"]
    chain = decide_verdicts(["account", "sale"], "6.1", "7.0", VECTORS["data"]["chain"])
    rows = dict((row[0], row[1:]) for row in table_rows(chain))
    assert rows["account"][0] == "at risk (done) · failed in run #7 on sample demo61"
    assert rows["sale"][0] == "ok (nothing_to_do) · not reached in run #7 on sample demo61"
    account = report.to_dict()["modules"][0]["steps"][0]["reasons"]
    assert account[-1] == {
        "code": "run_upgraded", "evidence": [],
        "text": "upgraded in run #12 on sample s180 (2026-11-29T02:00:00+00:00; the run passed)"}


def test_merges_and_renames_are_said_by_their_target() -> None:
    report = decide_verdicts(["account_payment_partner", "pos_viva_wallet", "web_editor",
                              "acount"], "18.0", "19.0", VECTORS["data"]["real_190"])
    texts = {m.module: [r.text for r in m.steps[0].reasons] for m in report.modules}
    assert texts["account_payment_partner"][1].startswith(
        "account_payment_mode is not in OpenUpgrade's coverage of 18.0 → 19.0")
    assert texts["pos_viva_wallet"][1] == (
        "pos_viva_com, the new name of pos_viva_wallet, has no migration scripts and no "
        "declared status for 18.0 → 19.0")  # not "exists in both releases"
    assert texts["web_editor"][1] == "html_editor needs nothing for 18.0 → 19.0: its analysis says so"
    assert texts["acount"][1] == (
        "did you mean account? account is in OpenUpgrade's coverage of 18.0 → 19.0")


@pytest.mark.parametrize(
    ("name", "close"),
    [("acount", "account"), ("accuont", "account"), ("accountt", "account"),
     ("sale_managment", "sale_management"), ("sael", "sale"), ("xyz", None),
     ("account", None), ("acc", None)],
)
def test_one_typo_away(name: str, close: str | None) -> None:
    from ouhub.check.rules import close_name

    known = ["account", "sale", "sale_management", "stock", "Account2", "acount-x"]
    assert close_name(name, known) == close


def test_long_reasons_wrap_at_the_width() -> None:
    report = decide_verdicts(["my_custom"], "6.1", "7.0", VECTORS["data"]["chain"])
    lines = reason_lines(report, width=60)
    assert all(len(line) <= 60 for line in lines)
    assert lines[2].startswith("    - my_custom is unknown") and lines[3].startswith("      ")
    assert len(reason_lines(report)) < len(lines)


def test_markdown_keeps_log_excerpts_as_blocks() -> None:
    data = json.loads(json.dumps(VECTORS["data"]["chain"]))
    run = data["steps"]["7.0"]["modules"]["account"]["run"]
    run["evidence"] = ["Traceback (most recent call last):\n  x ~~~ y\nKeyError: 'a|b'"]
    out = markdown(decide_verdicts(["account"], "6.1", "7.0", data))
    block = out[out.index("~~~~\n"):]
    assert block.splitlines()[:5] == [
        "~~~~", "      Traceback (most recent call last):", "        x ~~~ y",
        "      KeyError: 'a|b'", "      ~~~~"]


@pytest.mark.parametrize(
    ("counts", "code"),
    [({"ok": 2}, 0), ({"ok": 1, "at_risk": 1}, 1), ({"at_risk": 1, "blocked": 1}, 2),
     ({"not_covered": 1}, 2)],
)
def test_exit_code(counts: dict[str, int], code: int) -> None:
    from ouhub.check.rules import ModuleOutcome

    modules = tuple(
        ModuleOutcome(f"{verdict}{i}", verdict, ())
        for verdict, n in counts.items() for i in range(n)
    )
    assert CheckReport("6.1", "7.0", (("6.1", "7.0"),), modules).exit_code == code


def test_check_data_js_is_inert_script() -> None:
    data = VECTORS["data"]["hostile"]
    script = check_data_js(data)
    assert script.startswith("window.OUHUB_CHECK_DATA = ") and script.endswith(";\n")
    assert "<" not in script and ">" not in script
    body = script[len("window.OUHUB_CHECK_DATA = "):-2]
    assert json.loads(body) == data


def test_load_check_data_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match="not JSON"):
        load_check_data("<html>", "x.json")
    with pytest.raises(CheckError, match="schema version 1"):
        load_check_data('{"schema_version": 99}', "x.json")
    assert load_check_data(json.dumps(VECTORS["data"]["chain"]), "x")["steps"]


def test_excerpt_tail_keeps_whole_last_lines() -> None:
    from ouhub.check.data import excerpt_tail

    text = "\n".join(f"line {i} " + "x" * 40 for i in range(50)) + "\nKeyError: 'mail'\n"
    tail = excerpt_tail(text, limit=200)
    assert tail.endswith("KeyError: 'mail'") and tail.startswith("line ")
    assert len(tail) <= 200
    assert excerpt_tail("one line only") == "one line only"
    assert excerpt_tail("y" * 900, limit=100) == "y" * 100
