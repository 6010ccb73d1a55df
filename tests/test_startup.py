"""Start-up: the commands people wait on import no heavy library they do not use.

Each case runs in a fresh interpreter (a subprocess) and reads its ``sys.modules`` at
exit: docutils, breezy, psycopg2, jinja2, rich, requests and celery each cost 25-200 ms
to import, more than these commands' whole work.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.config import write_config
from tests.support.fill import record_coverage
from tests.support.imports import probe


def test_importing_the_cli_imports_no_heavy_library():
    found = probe(None)
    assert found["heavy"] == []
    # nor the config and store, which `ouhub --help` does not read
    assert "ouhub.config" not in found["ouhub"] and "ouhub.store" not in found["ouhub"]


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

