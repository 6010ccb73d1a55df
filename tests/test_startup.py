"""Start-up: the commands people wait on import no heavy library they do not use.

Each case runs in a fresh interpreter (a subprocess) and reads its ``sys.modules`` at
exit: docutils, breezy, psycopg2, jinja2, rich, requests and celery each cost 25-200 ms
to import, more than these commands' whole work.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.config import write_config
from tests.support.fill import record_coverage
from tests.support.imports import probe


def test_importing_the_cli_imports_no_heavy_library():
    found = probe(None)
    assert found["heavy"] == []
    # nor the config and store, which `ouhub --help` does not read, nor the commands
    assert "ouhub.config" not in found["ouhub"] and "ouhub.store" not in found["ouhub"]
    assert [name for name in found["ouhub"] if name.startswith("ouhub.cli.")] == [
        "ouhub.cli.group"]


def test_a_command_defines_itself_alone(project):
    found = probe(["--config", str(project), "status", "--json"])
    assert found["code"] == 0
    assert [name for name in found["ouhub"] if name.startswith("ouhub.cli.")] == [
        "ouhub.cli.config", "ouhub.cli.group"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("startup")
    path = write_config(root, {"7.0": {"server": "/srv/70"}, "8.0": {"server": "/srv/80"}})
    from ouhub import config as config_mod
    from ouhub.store import Store

    with Store.open(config_mod.load(path).store_path) as store:
        record_coverage(store, "8.0", "7.0", {"sale": {"status": "done"},
                                              "mrp": {"status": "todo"}})
    return path


@pytest.mark.parametrize("args", [
    ["--help"],
    ["check", "--help"],
    ["status", "--json"],
    ["check", "--from", "7.0", "--to", "8.0", "--modules", "sale,mrp,custom_x"],
    ["check", "--from", "7.0", "--to", "8.0", "--modules", "sale", "--format", "json"],
    ["config", "check", "--json"],
])
def test_commands_that_draw_nothing_and_touch_no_branch_import_no_heavy_library(project, args):
    argv = args if args[-1] == "--help" else ["--config", str(project), *args]
    first = probe(argv)
    assert first["code"] in (0, 1, 2), first
    assert first["heavy"] == [], f"`ouhub {' '.join(args)}` imported {first['heavy']}"
    if args[0] == "check" and "--help" not in args:
        # a check whose cached data is current reads the store's keys alone: none of the
        # stages' records (frozen dataclasses, ~0.3 ms each to create) is made
        again = probe(argv)
        assert again["code"] == first["code"]
        assert "ouhub.records" not in again["ouhub"], again["ouhub"]


@pytest.mark.parametrize(("args", "unused"), [
    # logging with its formatter: a fifth of the interpreter's start, and nothing to log
    (["--help"], {"logging", "json", "sqlite3", "tomllib", "hashlib", "signal"}),
    (["status"], {"logging", "hashlib", "shutil", "textwrap"}),
    # a check from its cached data, piped: no JSON, no terminal to measure
    (["check", "--from", "7.0", "--to", "8.0", "--modules", "sale,mrp,custom_x"],
     {"logging", "json", "hashlib", "shutil"}),
])
def test_commands_people_wait_on_import_no_module_they_need_only_sometimes(project, args, unused):
    argv = args if args == ["--help"] else ["--config", str(project), *args]
    probe(argv)  # a check's first run builds its cached data
    found = probe(argv)
    assert found["code"] in (0, 1, 2), found
    assert unused & set(found["modules"]) == set()

def test_a_piped_table_is_laid_out_without_rich(project):
    # rich costs more than `ouhub status`'s whole work; piped, its tables are plain text
    # (ouhub/plaintable.py; tests/test_plaintable.py compares the two)
    found = probe(["--config", str(project), "status"])
    assert found["code"] == 0 and found["heavy"] == [], found

@pytest.mark.parametrize("args", [["status"], ["status", "--json"]])
def test_status_makes_no_record(project, args):
    # it shows a few fields of four stages' records: it reads them from the store's rows
    found = probe(["--config", str(project), *args])
    assert found["code"] == 0, found
    assert [name for name in found["ouhub"] if name.startswith("ouhub.records.")] == []


def _imports_of(code: str) -> list[str]:
    """ouhub's modules in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True)
    return [name for name in done.stdout.split() if name.startswith("ouhub")]


def test_importing_one_record_creates_its_stage_records_alone():
    # some fifty frozen dataclasses, ~0.3 ms each: `from ouhub.records import X` makes X's
    # stage's records, not every stage's
    found = _imports_of("from ouhub.records import StageSummary")
    assert "ouhub.records.stages" in found
    assert not {"ouhub.records.runner", "ouhub.records.contributions", "ouhub.records.sync",
                "ouhub.records.coverage"} & set(found), found


def test_every_record_is_named_once_where_it_is_defined():
    import ouhub.records as records

    defined = {}  # what each stage's module defines at its top level, by name
    for stage in sorted({*records._STAGE_OF.values()}):
        module = importlib.import_module(f"ouhub.records.{stage}")
        for node in ast.parse(Path(module.__file__).read_text()).body:
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            for name in names or [getattr(node, "name", "_")]:
                if not name.startswith("_"):
                    defined[name] = (stage, getattr(module, name))
    assert sorted(records.__all__) == sorted(defined) == sorted(records._STAGE_OF)
    for name, (stage, value) in defined.items():
        assert records._STAGE_OF[name] == stage
        assert getattr(records, name) is value
    assert set(dir(records)) >= set(records.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Hop'"):
        records.Hop  # noqa: B018
    # what type checkers and editors read: the same names, each from its stage's module
    tree = ast.parse(Path(records.__file__).read_text())
    static = {alias.name: node.module.rsplit(".", 1)[1] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module.startswith("ouhub.records.")
              for alias in node.names}
    assert static == records._STAGE_OF
