"""The task and the run record: JSON data both ways, every malformed field a clear error."""

from __future__ import annotations

import json

import pytest

from ouhub.records import Fingerprint
from ouhub.runner.outcome import ModuleOutcome
from ouhub.runner.task import PayloadError, RunRecord, RunTask

SHA = "ab" * 32
TASK = RunTask(run_id=7, release="7.0", previous="6.1", sample="s61", checksum=SHA,
               revisions={"server": "rev-70-3"}, timeout=600.0)
RECORD = RunRecord(
    run_id=7, release="7.0", previous="6.1", sample="s61", status="failed",
    message="1 of 3 modules failed: sale", duration=12.5, command_seconds=10.25, exit_code=0,
    host="worker-2", worker="ouhub-41@worker-2", revisions={"server": "3 (rev-70-3)"},
    modules=(
        ModuleOutcome("base", "upgraded", "6.1.1.3", "7.0.1.3", (), "", ""),
        ModuleOutcome("sale", "failed", "6.1.1.0", "6.1.1.0", ("7.0.1.0/post-migration.py",),
                      "Traceback ...\nKeyError: 'x'", "KeyError: 'x'",
                      Fingerprint("sale", "post", "KeyError", "'<str>'")),
    ),
    log="# ouhub: upgrade 6.1 -> 7.0\n...", losses=1,
)


def test_task_and_record_round_trip_through_json():
    assert RunTask.from_dict(json.loads(json.dumps(TASK.as_dict()))) == TASK
    assert RunRecord.from_dict(json.loads(json.dumps(RECORD.as_dict()))) == RECORD


def changed(base: dict, **fields) -> dict:
    return {**base, **fields}


def without(base: dict, key: str) -> dict:
    return {k: v for k, v in base.items() if k != key}


T, R = TASK.as_dict(), RECORD.as_dict()


@pytest.mark.parametrize("data, expected", [
    (["not", "an", "object"], "task: expected a JSON object, got list"),
    (without(T, "sample"), "task: field sample is missing"),
    (changed(T, run_id="7"), "task field run_id: expected int, got '7'"),
    (changed(T, run_id=True), "task field run_id: expected int, got True"),
    (changed(T, format=2), "task format 2 is not 1"),
    (changed(T, checksum="../../etc/passwd"), "task field checksum: expected a sha256"),
    (changed(T, timeout=-1), "task field timeout: expected a positive number"),
    (changed(T, revisions={"server": 3}), "task field revisions: expected an object of strings"),
    (changed(T, command="rm -rf /"), None),  # unknown fields are ignored, never run
])
def test_malformed_tasks_are_refused_by_name(data, expected):
    if expected is None:
        assert RunTask.from_dict(data) == TASK
        return
    with pytest.raises(PayloadError, match="^" + expected.replace("(", r"\(")):
        RunTask.from_dict(data)


@pytest.mark.parametrize("data, expected", [
    (changed(R, status="great"), "run record field status: 'great' is not one of passed"),
    (changed(R, duration=float("nan")), "run record field duration: expected a finite number"),
    (changed(R, exit_code="0"), "run record field exit_code: expected int"),
    (changed(R, modules=[{"module": "x"}]), "run record modules[0]: field outcome is missing"),
    (changed(R, modules=[changed(R["modules"][0], outcome="meh")]),
     "run record modules[0] field outcome: 'meh' is not one of upgraded"),
    (changed(R, modules=[changed(R["modules"][0], scripts=[1])]),
     "run record modules[0] field scripts: expected strings"),
    (changed(R, modules=[changed(R["modules"][1], fingerprint={"module": "sale"})]),
     "run record modules[0].fingerprint: field stage is missing"),
])
def test_malformed_records_are_refused_by_name(data, expected):
    with pytest.raises(PayloadError, match="^" + expected.replace("[", r"\[")):
        RunRecord.from_dict(data)


def test_optional_fields_may_be_null():
    record = RunRecord.from_dict(changed(R, command_seconds=None, exit_code=None))
    assert record.command_seconds is None and record.exit_code is None
